//! AC Identifier, AC Name, image IDs and acVersion (spec types.md; appc-spec.md §1.2, §1.6).

use super::super::{AcIdentifier, AcName, ImageId, SemVer};
use super::{full_hex, image_doc, image_table, OK};

#[test]
fn ac_identifier_rules() {
    let rows: &[(&str, &str)] = &[
        // From the Go tests.
        ("database", OK),
        ("my~database", OK),
        ("example.com/~bob/database", OK),
        ("example.com/ourapp-1.0.0", OK),
        (
            "sub-domain.example.com/org/product/~alice/release-1.0.0",
            OK,
        ),
        ("example.com/app_1", OK),
        ("0", OK),
        // CODE: consecutive separators pass (the spec regex would refuse them).
        ("a--b", OK),
        ("a..b", OK),
        ("a~_.b", OK),
        ("a/..b/c", OK),
        ("", "ACIdentifier cannot be empty"),
        (
            "BAR",
            "must contain only lower case alphanumeric characters plus \"-._~/\"",
        ),
        ("foo#", "must contain only lower case"),
        ("EXAMPLE.com", "must contain only lower case"),
        ("a b", "must contain only lower case"),
        ("caf\u{e9}", "must contain only lower case"),
        (
            "/app",
            "must start and end with only lower case alphanumeric characters",
        ),
        ("app/", "must start and end"),
        ("-app", "must start and end"),
        ("app-", "must start and end"),
        (".app", "must start and end"),
        ("app.", "must start and end"),
        ("_app", "must start and end"),
        ("app_", "must start and end"),
        ("~app", "must start and end"),
        ("app~", "must start and end"),
        // Ours: components that would climb out of or alias a trust-store directory.
        (
            "a//b",
            r#"must not contain an empty, "." or ".." path component"#,
        ),
        ("a/./b", "path component"),
        ("example.com/../../etc", "path component"),
    ];
    for (s, expect) in rows {
        match AcIdentifier::parse(s) {
            Ok(id) if expect.is_empty() => assert_eq!(id.as_str(), *s),
            Ok(_) => panic!("{s:?} accepted, expected {expect:?}"),
            Err(e) if expect.is_empty() => panic!("{s:?} rejected: {e}"),
            Err(e) => assert!(e.to_string().contains(expect), "{s:?}: {e}"),
        }
    }
    // The same rules apply to the image name, with the field in the message.
    image_table(rows, |name| {
        format!(
            r#"{{"acKind":"ImageManifest","acVersion":"0.8.11","name":{}}}"#,
            serde_json::json!(name)
        )
    });
}

#[test]
fn ac_identifier_error_message_names_field_and_value() {
    let doc = r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"Foo_bar"}"#;
    let err = super::super::ImageManifest::from_json(doc.as_bytes()).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid name "Foo_bar": ACIdentifier must contain only lower case alphanumeric characters plus "-._~/""#
    );
    assert_eq!(err.path(), "name");
    let standalone = AcIdentifier::parse("Foo").unwrap_err().to_string();
    assert!(
        standalone.starts_with(r#"invalid "Foo": ACIdentifier"#),
        "{standalone}"
    );
}

#[test]
fn ac_name_rules() {
    let rows: &[(&str, &str)] = &[
        ("a", OK),
        ("database", OK),
        ("my-app-2", OK),
        ("0", OK),
        ("a--b", OK), // CODE: consecutive dashes pass
        ("", "ACName cannot be empty"),
        (
            "A",
            "ACName must contain only lower case alphanumeric characters plus \"-\"",
        ),
        ("a_b", "must contain only"),
        ("a.b", "must contain only"),
        ("a/b", "must contain only"),
        ("\u{fc}ber", "must contain only"),
        (
            "-a",
            "ACName must start and end with only lower case alphanumeric characters",
        ),
        ("a-", "must start and end"),
    ];
    for (s, expect) in rows {
        match AcName::parse(s) {
            Ok(n) if expect.is_empty() => assert_eq!(n.as_str(), *s),
            Ok(_) => panic!("{s:?} accepted, expected {expect:?}"),
            Err(e) if expect.is_empty() => panic!("{s:?} rejected: {e}"),
            Err(e) => assert!(e.to_string().contains(expect), "{s:?}: {e}"),
        }
    }
}

#[test]
fn ac_name_sanitize_like_go() {
    let rows: &[(&str, Option<&str>)] = &[
        ("Foo_Bar", Some("foo-bar")),
        ("  web server!! ", Some("web-server")),
        ("coreos.com/etcd", Some("coreos-com-etcd")),
        ("a__b", Some("a--b")),
        ("ace-validator-main", Some("ace-validator-main")),
        // Go's simple lower-casing maps U+0130 to a plain i.
        ("\u{130}stanbul", Some("istanbul")),
        ("\u{212a}elvin", Some("kelvin")),
        ("caf\u{e9}", Some("caf")),
        ("___", None),
        ("", None),
        ("\u{e9}", None),
    ];
    for (input, want) in rows {
        let got = AcName::sanitize(input);
        match want {
            Some(w) => assert_eq!(
                got.map(|n| n.as_str().to_owned()).ok().as_deref(),
                Some(*w),
                "{input:?}"
            ),
            None => {
                let msg = got.unwrap_err().to_string();
                assert!(
                    msg.contains("must contain at least one valid character"),
                    "{msg}"
                );
            }
        }
    }
}

#[test]
fn ac_identifier_sanitize_like_go() {
    let rows: &[(&str, Option<&str>)] = &[
        ("Example.com/My App", Some("example.com/my_app")),
        ("--a--", Some("a")),
        ("a#b", Some("a_b")),
        ("!!!", None),
        ("", None),
        // Sanitizing keeps a ".." component; parsing then refuses it.
        ("a/../b", None),
    ];
    for (input, want) in rows {
        let got = AcIdentifier::sanitize(input)
            .map(|n| n.as_str().to_owned())
            .ok();
        assert_eq!(got.as_deref(), *want, "{input:?}");
    }
}

#[test]
fn default_app_name_is_last_component_sanitized() {
    let rows = [
        ("coreos.com/ace-validator-main", "ace-validator-main"),
        ("example.com/my_app", "my-app"),
        ("etcd", "etcd"),
        ("example.com/app.v2", "app-v2"),
    ];
    for (image, want) in rows {
        let image = AcIdentifier::parse(image).unwrap();
        assert_eq!(AcName::from_image_name(&image).unwrap().as_str(), want);
    }
    let only_separators = AcIdentifier::parse("a/b_c").unwrap();
    assert_eq!(
        AcName::from_image_name(&only_separators).unwrap().as_str(),
        "b-c"
    );
}

#[test]
fn image_id_rules() {
    let full = format!("sha512-{}", full_hex());
    let too_long = format!("sha512-{}0", full_hex());
    let rows: Vec<(String, &str)> = vec![
        (full.clone(), OK),
        (format!("sha512-{}", &full_hex()[..64]), OK),
        ("sha512-a".into(), OK),
        ("".into(), "badly formatted hash string"),
        ("sha512".into(), "badly formatted hash string"),
        ("sha512-a-b".into(), "badly formatted hash string"),
        ("-abc".into(), "unexpected empty hash type"),
        ("sha256-abc".into(), "unrecognized hash type: sha256"),
        ("SHA512-abc".into(), "unrecognized hash type: SHA512"),
        ("sha512-".into(), "unexpected empty hash value"),
        // Ours: the value names a store file, so only lower-case hex of at most 128 digits.
        ("sha512-zzzz".into(), "lower case hexadecimal"),
        ("sha512-ABCD".into(), "lower case hexadecimal"),
        ("sha512-../../etc/passwd".into(), "lower case hexadecimal"),
        (too_long, "at most 128 digits"),
    ];
    for (s, expect) in &rows {
        match ImageId::parse(s) {
            Ok(id) if expect.is_empty() => assert_eq!(id.as_str(), s),
            Ok(_) => panic!("{s:?} accepted"),
            Err(e) if expect.is_empty() => panic!("{s:?}: {e}"),
            Err(e) => assert!(e.to_string().contains(expect), "{s:?}: {e}"),
        }
    }
    // In a document: a dependency's imageID.
    let rows: Vec<(&str, &str)> = rows.iter().map(|(s, e)| (s.as_str(), *e)).collect();
    image_table(&rows, |id| {
        image_doc(&format!(
            r#","dependencies":[{{"imageName":"example.com/base","imageID":{}}}]"#,
            serde_json::json!(id)
        ))
    });
}

#[test]
fn image_id_forms() {
    let id = ImageId::parse(&format!("sha512-{}", full_hex())).unwrap();
    assert!(id.is_full());
    assert_eq!(id.hex(), full_hex());
    assert_eq!(id.short(), &format!("sha512-{}", &full_hex()[..32]));
    assert_eq!(id.short().len(), 39);
    assert_eq!(id.store_key(), &format!("sha512-{}", &full_hex()[..64]));
    assert_eq!(id.store_key().len(), 71);
    let key = ImageId::parse(id.store_key()).unwrap();
    assert!(!key.is_full());
    assert_eq!(key.store_key(), key.as_str());
    let tiny = ImageId::parse("sha512-ab").unwrap();
    assert_eq!((tiny.short(), tiny.store_key()), ("sha512-ab", "sha512-ab"));

    let mut digest = [0u8; 64];
    digest[0] = 0xab;
    digest[63] = 0x01;
    let from = ImageId::from_digest(&digest);
    assert!(from.is_full());
    assert!(from.as_str().starts_with("sha512-ab00"));
    assert!(from.as_str().ends_with("0001"));
    assert_eq!(ImageId::parse(from.as_str()).unwrap(), from);
    assert_eq!(from.to_string(), from.as_str());
}

#[test]
fn semver_rules() {
    let rows: &[(&str, Result<&str, &str>)] = &[
        ("0.8.11", Ok("0.8.11")),
        ("1.0.0", Ok("1.0.0")),
        // CODE: a higher major than ours is accepted.
        ("2.0.0", Ok("2.0.0")),
        ("0.8.11+git", Ok("0.8.11+git")),
        ("1.0.0-alpha.1+build.5", Ok("1.0.0-alpha.1+build.5")),
        ("1.0.0-x-y", Ok("1.0.0-x-y")),
        ("01.2.3", Ok("1.2.3")),
        ("0.0.1", Ok("0.0.1")),
        ("0.0.0-a", Ok("0.0.0-a")),
        ("1.2.3-", Ok("1.2.3")),
        ("", Err("SemVer is bad")),
        ("0.8", Err("SemVer is bad")),
        ("1.2.3.4", Err("SemVer is bad")),
        ("v1.2.3", Err("SemVer is bad")),
        ("1.2.x", Err("SemVer is bad")),
        (" 1.2.3", Err("SemVer is bad")),
        ("-1.2.3", Err("SemVer is bad")),
        ("1.2.3-a..b", Err("SemVer is bad")),
        ("1.2.3+a_b", Err("SemVer is bad")),
        ("99999999999999999999.0.0", Err("SemVer is bad")),
        ("0.0.0", Err("SemVer cannot be zero")),
    ];
    for (s, want) in rows {
        let got = SemVer::parse(s)
            .map(|v| v.to_string())
            .map_err(|e| e.to_string());
        match (got, want) {
            (Ok(g), Ok(w)) => assert_eq!(g, *w, "{s:?}"),
            (Err(g), Err(w)) => assert!(g.contains(w), "{s:?}: {g}"),
            (g, w) => panic!("{s:?}: got {g:?}, want {w:?}"),
        }
    }
    let v = SemVer::parse("3.14.15").unwrap();
    assert_eq!((v.major(), v.minor(), v.patch()), (3, 14, 15));
    assert_eq!(SemVer::appc().to_string(), "0.8.11");

    let rows: Vec<(String, &str)> = rows
        .iter()
        .map(|(s, w)| {
            (
                serde_json::json!(s).to_string(),
                if w.is_ok() { OK } else { "acVersion" },
            )
        })
        .collect();
    for (version, expect) in &rows {
        let doc = format!(r#"{{"acKind":"ImageManifest","acVersion":{version},"name":"a"}}"#);
        super::expect_image(&doc, expect);
    }
}
