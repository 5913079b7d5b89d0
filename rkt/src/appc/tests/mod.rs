//! Tests of the appc module: one table row per rule of reference/appc-spec.md §1-3 (good and
//! bad), the spec's example manifests round-tripped, and property tests.
//!
//! Table rows are `(document fragment, expectation)`: [`OK`] or a substring of the error
//! message. Every accepted document is also written back and re-read, which must give the same
//! value.

mod annotations;
mod app;
mod examples;
mod isolators;
mod json_rules;
mod labels;
mod names;
mod pod;
mod props;
mod quantity;

use super::{Error, ImageManifest, PodManifest};

/// The expectation "parses".
pub(super) const OK: &str = "";

/// A valid image manifest plus `extra` top-level fields (text starting with `,`).
pub(super) fn image_doc(extra: &str) -> String {
    format!(r#"{{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/app"{extra}}}"#)
}

/// A valid image manifest whose app has `fields` (text starting with `,`) after user and group.
pub(super) fn app_doc(fields: &str) -> String {
    image_doc(&format!(r#","app":{{"user":"0","group":"0"{fields}}}"#))
}

/// A valid pod manifest plus `extra` top-level fields.
pub(super) fn pod_doc(extra: &str) -> String {
    format!(r#"{{"acVersion":"0.8.11","acKind":"PodManifest"{extra}}}"#)
}

/// A pod with one app `a` of image `sha512-aa`, plus `fields` in that app.
pub(super) fn pod_app_doc(fields: &str) -> String {
    pod_doc(&format!(
        r#","apps":[{{"name":"a","image":{{"id":"sha512-aa"}}{fields}}}]"#
    ))
}

/// Parses `doc` as an image manifest and checks the result against `expect`; an accepted
/// manifest must survive a write and re-read, compact and pretty.
pub(super) fn expect_image(doc: &str, expect: &str) -> Option<ImageManifest> {
    check(
        doc,
        expect,
        ImageManifest::from_json,
        ImageManifest::to_json,
        ImageManifest::to_json_pretty,
    )
}

/// As [`expect_image`] for pod manifests.
pub(super) fn expect_pod(doc: &str, expect: &str) -> Option<PodManifest> {
    check(
        doc,
        expect,
        PodManifest::from_json,
        PodManifest::to_json,
        PodManifest::to_json_pretty,
    )
}

fn check<T: PartialEq + std::fmt::Debug>(
    doc: &str,
    expect: &str,
    parse: fn(&[u8]) -> Result<T, Error>,
    compact: fn(&T) -> String,
    pretty: fn(&T) -> String,
) -> Option<T> {
    match parse(doc.as_bytes()) {
        Ok(value) if expect == OK => {
            let out = compact(&value);
            assert_eq!(
                parse(out.as_bytes()).as_ref(),
                Ok(&value),
                "compact round trip of {doc}\nwrote {out}"
            );
            let out = pretty(&value);
            assert_eq!(
                parse(out.as_bytes()).as_ref(),
                Ok(&value),
                "pretty round trip of {doc}\nwrote {out}"
            );
            Some(value)
        }
        Ok(value) => panic!("accepted, expected an error containing {expect:?}:\n{doc}\n{value:?}"),
        Err(err) if expect == OK => panic!("rejected, expected success:\n{doc}\n{err}"),
        Err(err) => {
            let msg = err.to_string();
            assert!(
                msg.contains(expect),
                "error {msg:?} lacks {expect:?} for\n{doc}"
            );
            None
        }
    }
}

/// Runs every row: `build` turns the fragment into a document.
pub(super) fn image_table(rows: &[(&str, &str)], build: impl Fn(&str) -> String) {
    for (fragment, expect) in rows {
        expect_image(&build(fragment), expect);
    }
}

/// Runs every row against pod manifests.
pub(super) fn pod_table(rows: &[(&str, &str)], build: impl Fn(&str) -> String) {
    for (fragment, expect) in rows {
        expect_pod(&build(fragment), expect);
    }
}

/// 128 hex digits.
pub(super) fn full_hex() -> String {
    "0123456789abcdef".repeat(8)
}

/// The harness itself: a wrong expectation fails the test.
#[test]
#[should_panic(expected = "rejected, expected success")]
fn harness_catches_a_wrong_success_expectation() {
    expect_image(&image_doc(r#","labels":[{"name":"name","value":"x"}]"#), OK);
}

#[test]
#[should_panic(expected = "lacks")]
fn harness_catches_a_wrong_error_expectation() {
    expect_image(
        &image_doc(r#","labels":[{"name":"name","value":"x"}]"#),
        "some other error",
    );
}

#[test]
#[should_panic(expected = "accepted, expected an error")]
fn harness_catches_a_missed_error() {
    expect_pod(&pod_doc(""), "missing");
}
