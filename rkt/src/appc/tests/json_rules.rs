//! Reading like rkt (Go's encoding/json) and writing Go's bytes (appc-spec.md §1.4 note, §7;
//! DESIGN.md §4).

use super::super::{ErrorKind, ImageManifest, PodManifest};
use super::{app_doc, expect_image, expect_pod, image_doc, image_table, pod_doc, OK};

#[test]
fn struct_field_names_match_case_insensitively() {
    let doc = r#"{"ACKIND":"ImageManifest","AcVersion":"0.8.11","NAME":"example.com/app",
        "Labels":[{"NAME":"os","Value":"linux"}],
        "APP":{"Exec":["/bin/x"],"USER":"0","group":"0","supplementaryGids":[1],
               "WorkingDirectory":"/w","ENVIRONMENT":[{"name":"A","VALUE":"1"}],
               "isolators":[{"Name":"resource/memory","VALUE":{"LIMIT":"1G","Default":false}}]},
        "DEPENDENCIES":[{"IMAGENAME":"example.com/base","ImageId":"sha512-ab","SIZE":1}],
        "PathWhiteList":["/x"],
        "ANNOTATIONS":[{"name":"authors","value":"me"}]}"#;
    let m = expect_image(doc, OK).unwrap();
    assert_eq!(m.name.as_str(), "example.com/app");
    assert_eq!(m.labels.get("os"), Some("linux"));
    let app = m.app.as_ref().unwrap();
    assert_eq!(
        (app.user.as_str(), app.supplementary_gids.as_slice()),
        ("0", &[1][..])
    );
    assert_eq!(app.environment.get("A"), Some("1"));
    assert_eq!(
        m.dependencies[0].image_id.as_ref().unwrap().as_str(),
        "sha512-ab"
    );
    assert_eq!(m.path_whitelist, ["/x"]);
    // Output uses the canonical spellings.
    let out = m.to_json();
    for key in [
        r#""acKind""#,
        r#""supplementaryGIDs""#,
        r#""imageID""#,
        r#""pathWhitelist""#,
        r#""limit""#,
    ] {
        assert!(out.contains(key), "{key} missing from {out}");
    }
    // Go's Unicode folding: U+017F (long s) matches s, U+212A (Kelvin sign) matches k.
    expect_image(app_doc(r#","\u017fupplementaryGIDs":[7]"#).as_str(), OK);
    let kelvin = r#"{"ac\u212aind":"ImageManifest","acVersion":"0.8.11","name":"a"}"#;
    expect_image(kelvin, OK);
    // Other non-ASCII look-alikes do not match, so the field stays missing.
    expect_image(
        r#"{"acKınd":"ImageManifest","acVersion":"0.8.11","name":"a"}"#,
        "missing or bad ACKind",
    );
}

#[test]
fn map_keys_stay_as_written() {
    let m = expect_image(
        &app_doc(
            r#","userLabels":{"Tier":"web","tier":"db"},"userAnnotations":{"X":"1"},
            "isolators":[{"name":"os/unix/sysctl","value":{"Net.Core.X":"1"}}]"#,
        ),
        OK,
    )
    .unwrap();
    let app = m.app.unwrap();
    assert_eq!(app.user_labels.get("Tier"), Some("web"));
    assert_eq!(app.user_labels.get("tier"), Some("db"));
    assert_eq!(app.user_annotations.get("x"), None);
    assert_eq!(
        app.user_annotations.iter().collect::<Vec<_>>(),
        [("X", "1")]
    );
}

#[test]
fn duplicate_fields_are_errors() {
    image_table(
        &[
            (
                r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","name":"b"}"#,
                r#"invalid JSON: duplicate key "name""#,
            ),
            (
                r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","NAME":"b"}"#,
                r#"duplicate field name ("name" and "NAME")"#,
            ),
            (
                r#"{"acKind":"ImageManifest","ACKind":"ImageManifest","acVersion":"0.8.11","name":"a"}"#,
                "duplicate field acKind",
            ),
            (
                app_doc(r#","User":"1""#).as_str(),
                r#"duplicate field app.user ("user" and "User")"#,
            ),
            (
                image_doc(r#","labels":[{"name":"os","Name":"arch","value":"linux"}]"#).as_str(),
                r#"duplicate field labels[0].name ("name" and "Name")"#,
            ),
            (
                app_doc(
                    r#","isolators":[{"name":"resource/cpu","value":{"limit":"1","Limit":"2"}}]"#,
                )
                .as_str(),
                "duplicate field app.isolators[0].value.limit",
            ),
            // Exact duplicates are refused anywhere, even in fields we ignore.
            (
                image_doc(r#","x-extra":{"k":1,"k":2}"#).as_str(),
                r#"duplicate key "k""#,
            ),
            // Unknown fields differing in case are not one field; both are ignored.
            (image_doc(r#","extra":1,"EXTRA":2"#).as_str(), OK),
        ],
        str::to_owned,
    );
}

#[test]
fn unknown_fields_are_ignored() {
    let m = expect_image(
        &image_doc(
            r#","comment":"hi","app":{"user":"0","group":"0","criLabels":{"a":"b"},"exec":["/x"],"nested":{"deep":[1,2,{"x":null}]}},
            "labels":[{"name":"os","value":"linux","note":"x"}],
            "dependencies":[{"imageName":"b","app":"ignored"}]"#,
        ),
        OK,
    )
    .unwrap();
    assert!(!m.to_json().contains("comment"));
    assert!(!m.to_json().contains("criLabels"));
    expect_pod(
        &pod_doc(r#","uuid":"6733C088-A507-4694-AABF-EDBE4FC5266F""#),
        OK,
    );
}

#[test]
fn null_is_absent() {
    image_table(
        &[
            (
                r#","labels":null,"app":null,"dependencies":null,"pathWhitelist":null,"annotations":null"#,
                OK,
            ),
            (
                r#","app":{"user":"0","group":"0","exec":null,"environment":null,"isolators":null,"eventHandlers":null}"#,
                OK,
            ),
        ],
        image_doc,
    );
    image_table(
        &[
            (
                r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":null}"#,
                "missing required field name",
            ),
            (
                r#"{"acKind":null,"acVersion":"0.8.11","name":"a"}"#,
                "missing or bad ACKind",
            ),
            (
                r#"{"acKind":"ImageManifest","acVersion":null,"name":"a"}"#,
                "missing required field acVersion",
            ),
        ],
        str::to_owned,
    );
    let m = expect_image(image_doc(r#","app":null"#).as_str(), OK).unwrap();
    assert!(m.app.is_none());
}

#[test]
fn wrong_json_types() {
    image_table(
        &[
            ("[]", "invalid value: must be an object, not an array"),
            ("\"ImageManifest\"", "must be an object, not a string"),
            ("null", "must be an object, not null"),
            ("1", "must be an object, not a number"),
            (
                r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":5}"#,
                "invalid name: must be a string, not a number",
            ),
            (
                r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":["a"]}"#,
                "invalid name: must be a string, not an array",
            ),
            (
                image_doc(r#","labels":true"#).as_str(),
                "invalid labels: must be an array, not a boolean",
            ),
            (
                image_doc(r#","dependencies":[1]"#).as_str(),
                "invalid dependencies[0]: must be an object, not a number",
            ),
            (
                app_doc(r#","environment":[{"name":"A","value":{}}]"#).as_str(),
                "invalid app.environment[0].value: must be a string, not an object",
            ),
        ],
        str::to_owned,
    );
}

#[test]
fn malformed_json() {
    for doc in [
        "",
        "{",
        "{}}",
        "{} x",
        "{\"a\":}",
        "{'a':1}",
        "{\"a\":1,}",
        "\u{feff}{}",
        "{\"a\":NaN}",
        "{\"a\":\"\\ud800\"}",
    ] {
        let err = ImageManifest::from_json(doc.as_bytes()).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Syntax(_)), "{doc:?}: {err}");
        assert!(err.to_string().starts_with("invalid JSON: "), "{err}");
        assert!(PodManifest::from_json(doc.as_bytes()).is_err());
    }
    let invalid_utf8 = b"{\"acKind\":\"ImageManifest\",\"acVersion\":\"0.8.11\",\"name\":\"\xff\"}";
    assert!(matches!(
        ImageManifest::from_json(invalid_utf8).unwrap_err().kind(),
        ErrorKind::Syntax(_)
    ));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for depth in [200, 100_000] {
        let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let err = ImageManifest::from_json(image_doc(&format!(r#","extra":{deep}"#)).as_bytes())
            .unwrap_err();
        assert!(
            err.to_string().contains("recursion limit exceeded"),
            "{err}"
        );
        let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        let doc = pod_doc(&format!(
            r#","isolators":[{{"name":"example.com/x","value":{objects}}}]"#
        ));
        let err = PodManifest::from_json(doc.as_bytes()).unwrap_err();
        assert!(
            err.to_string().contains("recursion limit exceeded"),
            "{err}"
        );
    }
    // Below the limit an opaque value is kept and written back.
    let nested = format!("{}{}", "[".repeat(100), "]".repeat(100));
    expect_pod(
        &pod_doc(&format!(
            r#","isolators":[{{"name":"example.com/x","value":{nested}}}]"#
        )),
        OK,
    );
}

#[test]
fn a_document_is_only_ever_one_kind() {
    // The type-confusion shape of CVE-2021-41190: one file valid as both kinds.
    let both = r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","apps":[]}"#;
    expect_image(
        both,
        "invalid apps: a pod manifest field; this document must be an image manifest",
    );
    expect_image(
        r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","APPS":null}"#,
        OK,
    );
    expect_image(
        r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","Apps":[]}"#,
        "invalid apps",
    );
    expect_pod(
        &pod_doc(r#","app":{"user":"0","group":"0"}"#),
        "invalid app: an image manifest field; this document must be a pod manifest",
    );
    expect_pod(
        r#"{"acKind":"ImageManifest","acVersion":"0.8.11","apps":[]}"#,
        "missing or bad ACKind",
    );
    expect_image(
        r#"{"acKind":"PodManifest","acVersion":"0.8.11","name":"a"}"#,
        r#"invalid acKind "PodManifest": missing or bad ACKind (must be "ImageManifest")"#,
    );
}

#[test]
fn error_messages() {
    let err = |doc: &str| {
        ImageManifest::from_json(doc.as_bytes())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err(&app_doc(
            r#","environment":[{"name":"A","value":"1"},{"name":"1X","value":"2"}]"#
        )),
        r#"invalid app.environment[1].name "1X": environment variable does not have valid identifier"#
    );
    assert_eq!(
        err(&app_doc(r#","userLabels":{"k":2}"#)),
        r#"invalid app.userLabels["k"]: must be a string, not a number"#
    );
    assert_eq!(
        err(r#"{"acKind":"ImageManifest","acVersion":"0.8.11"}"#),
        "missing required field name"
    );
    // Huge values are shortened in messages.
    let long = "X".repeat(10_000);
    let msg = err(&format!(
        r#"{{"acKind":"ImageManifest","acVersion":"0.8.11","name":"{long}"}}"#
    ));
    assert!(msg.len() < 300, "{msg}");
    assert!(msg.contains("XXX..."), "{msg}");
    // The error is a std error, lower-case, with no trailing period.
    let e: Box<dyn std::error::Error> = Box::new(ImageManifest::from_json(b"{").unwrap_err());
    let text = e.to_string();
    assert!(
        text.starts_with(char::is_lowercase) && !text.ends_with('.'),
        "{text}"
    );
}

#[test]
fn minimal_output_omits_empty_fields_like_go() {
    let m = expect_image(
        image_doc(r#","labels":[],"annotations":[],"dependencies":[]"#).as_str(),
        OK,
    )
    .unwrap();
    assert_eq!(
        m.to_json(),
        r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/app"}"#
    );
}

#[test]
fn strings_are_escaped_like_go() {
    let m = expect_image(
        &image_doc(r#","annotations":[{"name":"authors","value":"<a&b> \u2028\u2029 \"q\" \\ \n\r\t\b\f \u0001 \u007f é 😀"}]"#),
        OK,
    )
    .unwrap();
    assert!(
        m.to_json().contains(
            r#""value":"\u003ca\u0026b\u003e \u2028\u2029 \"q\" \\ \n\r\t\u0008\u000c \u0001 "#
        ),
        "{}",
        m.to_json()
    );
    assert!(m.to_json().contains("\u{7f} é 😀\"}]"));
}

#[test]
fn pretty_output_is_go_marshal_indent_with_tabs() {
    let m = expect_image(
        &app_doc(r#","exec":["/bin/x"],"userLabels":{},"environment":[]"#).replace(
            r#""name":"example.com/app""#,
            r#""name":"example.com/app","labels":[{"name":"os","value":"linux"}]"#,
        ),
        OK,
    )
    .unwrap();
    let want = "{\n\t\"acKind\": \"ImageManifest\",\n\t\"acVersion\": \"0.8.11\",\n\t\"name\": \"example.com/app\",\n\t\"labels\": [\n\t\t{\n\t\t\t\"name\": \"os\",\n\t\t\t\"value\": \"linux\"\n\t\t}\n\t],\n\t\"app\": {\n\t\t\"exec\": [\n\t\t\t\"/bin/x\"\n\t\t],\n\t\t\"user\": \"0\",\n\t\t\"group\": \"0\"\n\t}\n}";
    assert_eq!(m.to_json_pretty(), want);
    // Empty containers stay on one line, as in Go.
    let pod = expect_pod(
        &pod_doc(r#","isolators":[{"name":"example.com/x","value":{"a":[],"b":{}}}]"#),
        OK,
    )
    .unwrap();
    assert!(
        pod.to_json_pretty()
            .contains("\"value\": {\n\t\t\t\t\"a\": [],\n\t\t\t\t\"b\": {}\n\t\t\t}"),
        "{}",
        pod.to_json_pretty()
    );
}

#[test]
fn duplicates_in_long_lists_are_found_where_they_are() {
    // Duplicate checks are linear, so a hostile manifest with thousands of entries stays cheap;
    // the error still names the first repeated entry.
    let n = 20_000;
    let labels: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"name":"l{i}","value":"v"}}"#))
        .collect();
    let doc = image_doc(&format!(
        r#","labels":[{},{{"name":"l7","value":"again"}}]"#,
        labels.join(",")
    ));
    let err = ImageManifest::from_json(doc.as_bytes()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(r#"invalid labels[{n}]: duplicate labels of name "l7""#)
    );
    let vars: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"name":"V{i}","value":"x"}}"#))
        .collect();
    let doc = app_doc(&format!(r#","environment":[{}]"#, vars.join(",")));
    let m = expect_image(&doc, OK).unwrap();
    assert_eq!(m.app.unwrap().environment.get("V19999"), Some("x"));
}
