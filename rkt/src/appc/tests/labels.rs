//! Labels and the os/arch table (appc-spec.md §1.3; Go `types/labels.go`).

use super::super::{AcIdentifier, Labels, VALID_OS_ARCH};
use super::{expect_image, image_doc, image_table, OK};

fn labels_doc(labels: &str) -> String {
    image_doc(&format!(r#","labels":{labels}"#))
}

#[test]
fn label_list_rules() {
    image_table(
        &[
            ("[]", OK),
            ("null", OK),
            (r#"[{"name":"version","value":"1.0.0"}]"#, OK),
            (r#"[{"name":"version"}]"#, OK),
            (
                r#"[{"name":"channel","value":"any text at all / \u00e9"}]"#,
                OK,
            ),
            (r#"[{"name":"example.com/custom~label","value":"x"}]"#, OK),
            (
                r#"[{"name":"name","value":"x"}]"#,
                r#"invalid labels[0]: invalid label name: "name""#,
            ),
            (
                r#"[{"name":"version","value":"1"},{"name":"version","value":"2"}]"#,
                r#"invalid labels[1]: duplicate labels of name "version""#,
            ),
            (
                r#"[{"name":"Version","value":"1"}]"#,
                r#"invalid labels[0].name "Version": ACIdentifier"#,
            ),
            (
                r#"[{"value":"1"}]"#,
                "missing required field labels[0].name",
            ),
            (
                r#"[{"name":"version","value":1}]"#,
                "invalid labels[0].value: must be a string, not a number",
            ),
            (
                r#"{"version":"1"}"#,
                "invalid labels: must be an array, not an object",
            ),
            (
                r#"["version"]"#,
                "invalid labels[0]: must be an object, not a string",
            ),
        ],
        labels_doc,
    );
}

#[test]
fn every_os_arch_pair_of_the_table_is_valid() {
    for (os, archs) in VALID_OS_ARCH {
        expect_image(
            &labels_doc(&format!(r#"[{{"name":"os","value":"{os}"}}]"#)),
            OK,
        );
        for arch in *archs {
            let doc = labels_doc(&format!(
                r#"[{{"name":"os","value":"{os}"}},{{"name":"arch","value":"{arch}"}}]"#
            ));
            expect_image(&doc, OK);
        }
    }
}

#[test]
fn os_arch_rules() {
    let pair = |os: &str, arch: &str| {
        format!(r#"[{{"name":"os","value":"{os}"}},{{"name":"arch","value":"{arch}"}}]"#)
    };
    let rows = [
        (pair("linux", "amd64"), OK),
        (pair("linux", "aarch64"), OK),
        (pair("linux", "s390x"), OK),
        (pair("freebsd", "arm"), OK),
        (pair("darwin", "x86_64"), OK),
        // arch means something only next to os; alone it is not checked.
        (r#"[{"name":"arch","value":"anything"}]"#.to_owned(), OK),
        (
            r#"[{"name":"os","value":"windows"}]"#.to_owned(),
            r#"invalid labels: bad os "windows" (must be one of: [darwin freebsd linux])"#,
        ),
        (
            pair("linux", "x86_64"),
            r#"bad arch "x86_64" for linux (must be one of: [amd64 i386 aarch64 aarch64_be armv6l armv7l armv7b ppc64 ppc64le s390x])"#,
        ),
        (
            pair("darwin", "amd64"),
            r#"bad arch "amd64" for darwin (must be one of: [x86_64 i386])"#,
        ),
        (
            pair("freebsd", "aarch64"),
            r#"bad arch "aarch64" for freebsd"#,
        ),
        (pair("Linux", "amd64"), r#"bad os "Linux""#),
        (pair("linux", "AMD64"), r#"bad arch "AMD64""#),
        (pair("linux", ""), r#"bad arch "" for linux"#),
    ];
    for (labels, expect) in &rows {
        expect_image(&labels_doc(labels), expect);
    }
}

#[test]
fn labels_api() {
    let id = |s: &str| AcIdentifier::parse(s).unwrap();
    let labels = Labels::new(vec![
        (id("version"), "1.0".into()),
        (id("os"), "linux".into()),
        (id("arch"), "amd64".into()),
    ])
    .unwrap();
    assert_eq!(labels.get("os"), Some("linux"));
    assert_eq!(labels.get("OS"), None);
    assert_eq!(labels.get("channel"), None);
    assert_eq!(labels.len(), 3);
    let names: Vec<&str> = labels.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["version", "os", "arch"]);
    assert!(Labels::default().is_empty());

    let err = Labels::new(vec![(id("os"), "plan9".into())]).unwrap_err();
    assert!(err.to_string().contains(r#"bad os "plan9""#), "{err}");
    assert!(Labels::new(vec![(id("name"), "x".into())]).is_err());
    assert!(Labels::new(vec![(id("a"), "1".into()), (id("a"), "2".into())]).is_err());
}

#[test]
fn labels_keep_their_order_on_output() {
    let doc = labels_doc(
        r#"[{"name":"version","value":"1"},{"name":"arch","value":"amd64"},{"name":"os","value":"linux"}]"#,
    );
    let m = expect_image(&doc, OK).unwrap();
    assert!(m.to_json().contains(
        r#""labels":[{"name":"version","value":"1"},{"name":"arch","value":"amd64"},{"name":"os","value":"linux"}]"#
    ));
}
