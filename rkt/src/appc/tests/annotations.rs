//! Annotations and the three well-known values Go checks (appc-spec.md §1.3; Go
//! `types/annotations.go`, `date.go`, `url.go`).

use super::super::{AcIdentifier, Annotations};
use super::{image_doc, image_table, OK};

fn annotation_doc(name: &str, value: &str) -> String {
    image_doc(&format!(
        r#","annotations":[{{"name":{},"value":{}}}]"#,
        serde_json::json!(name),
        serde_json::json!(value)
    ))
}

#[test]
fn created_must_be_go_rfc3339() {
    image_table(
        &[
            ("2014-10-27T19:32:27.67021798Z", OK),
            ("2014-10-27T19:32:27Z", OK),
            ("2014-10-27T19:32:27+01:00", OK),
            ("2014-10-27T19:32:27.5-07:30", OK),
            ("2016-02-29T00:00:00Z", OK),
            ("2000-02-29T23:59:59Z", OK),
            // Go's parser takes a one-digit hour and offsets up to 24:60.
            ("2014-10-27T9:32:27Z", OK),
            ("2014-10-27T19:32:27+24:00", OK),
            ("2014-10-27 19:32:27Z", "bad Date"),
            ("2014-10-27t19:32:27Z", "bad Date"),
            ("2014-10-27T19:32:27", "bad Date"),
            ("2014-10-27T19:32:27z", "bad Date"),
            ("2014-10-27T19:32:27.Z", "bad Date"),
            ("2014-10-27T19:32:27+0100", "bad Date"),
            ("2014-10-27T19:32:27+25:00", "bad Date"),
            ("2014-10-27T19:32:27Z ", "bad Date"),
            ("2015-02-29T00:00:00Z", "day out of range"),
            ("1900-02-29T00:00:00Z", "day out of range"),
            ("2014-04-31T00:00:00Z", "day out of range"),
            ("2014-10-00T00:00:00Z", "day out of range"),
            ("2014-13-01T00:00:00Z", "month out of range"),
            ("2014-10-27T24:00:00Z", "time out of range"),
            ("2014-10-27T19:60:00Z", "time out of range"),
            ("2014-10-27T19:32:60Z", "time out of range"),
            ("14-10-27T19:32:27Z", "bad Date"),
            ("2014-1-27T19:32:27Z", "bad Date"),
            ("", "bad Date"),
            ("yesterday", "bad Date"),
        ],
        |v| annotation_doc("created", v),
    );
    let err = super::super::ImageManifest::from_json(annotation_doc("created", "now").as_bytes())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with(r#"invalid annotations[0].value "now": bad Date"#),
        "{err}"
    );
}

#[test]
fn homepage_and_documentation_must_be_http_urls() {
    let rows: &[(&str, &str)] = &[
        ("https://example.com", OK),
        ("http://example.com/docs?x=1&y=%zz#frag", OK),
        ("HTTPS://EXAMPLE.COM/", OK),
        ("https://user:pw@example.com:8080/path/%20x", OK),
        ("https://[::1]:8080/", OK),
        ("https://example.com:/", OK),
        ("http:opaque-form", OK),
        ("ftp://example.com", "bad URL scheme, must be http/https"),
        ("example.com", "bad URL scheme"),
        ("//example.com/x", "bad URL scheme"),
        ("", "bad URL scheme"),
        (":foo", "missing protocol scheme"),
        ("https://exa mple.com/", "invalid character in host name"),
        ("https://example.com:http/", "invalid port"),
        ("https://[::1/", "missing ']'"),
        ("https://example.com/%zz", "invalid URL escape"),
        ("https://example.com/#%g0", "invalid URL escape"),
        ("https://example.com/\n", "invalid control character"),
        ("https://us er@example.com/", "invalid userinfo"),
    ];
    image_table(rows, |v| annotation_doc("homepage", v));
    image_table(rows, |v| annotation_doc("documentation", v));
}

#[test]
fn other_annotations_are_free_text() {
    image_table(
        &[
            ("Carly Container <carly@example.com>", OK),
            ("not a url", OK),
            ("", OK),
        ],
        |v| annotation_doc("authors", v),
    );
    image_table(&[("true", OK), ("maybe", OK)], |v| {
        annotation_doc("appc.io/executor/supports-systemd-notify", v)
    });
}

#[test]
fn annotation_list_rules() {
    image_table(
        &[
            (r#"[]"#, OK),
            (r#"[{"name":"a","value":"1"},{"name":"b"}]"#, OK),
            (
                r#"[{"name":"authors","value":"a"},{"name":"authors","value":"b"}]"#,
                r#"invalid annotations[1]: duplicate annotations of name "authors""#,
            ),
            (
                r#"[{"name":"Authors","value":"a"}]"#,
                r#"invalid annotations[0].name "Authors""#,
            ),
            (
                r#"[{"value":"a"}]"#,
                "missing required field annotations[0].name",
            ),
            (
                r#"[{"name":"a","value":["x"]}]"#,
                "must be a string, not an array",
            ),
            (r#""authors""#, "invalid annotations: must be an array"),
        ],
        |list| image_doc(&format!(r#","annotations":{list}"#)),
    );
}

#[test]
fn annotations_api() {
    let id = |s: &str| AcIdentifier::parse(s).unwrap();
    let mut a = Annotations::new(vec![(id("authors"), "me".into())]).unwrap();
    assert_eq!(a.get("authors"), Some("me"));
    a.set(id("homepage"), "https://example.com").unwrap();
    a.set(id("authors"), "you").unwrap();
    let all: Vec<(&str, &str)> = a.iter().map(|(n, v)| (n.as_str(), v)).collect();
    assert_eq!(
        all,
        [("authors", "you"), ("homepage", "https://example.com")]
    );
    assert!(a.set(id("created"), "today").is_err());
    assert_eq!(a.get("created"), None);
    assert!(Annotations::new(vec![(id("documentation"), "file:///x".into())]).is_err());
    assert!(Annotations::new(vec![(id("a"), "1".into()), (id("a"), "1".into())]).is_err());
}
