//! Resource quantities, Kubernetes style (appc-spec.md §3.7).

use super::super::Quantity;

const NANO: i128 = 1_000_000_000;
const CAP: i128 = i64::MAX as i128 * NANO;

#[test]
fn quantity_values() {
    let rows: &[(&str, i128)] = &[
        ("0", 0),
        ("1", NANO),
        ("+1", NANO),
        ("-1", -NANO),
        ("500m", NANO / 2),
        ("1.5", 3 * NANO / 2),
        ("1.", NANO),
        (".5", NANO / 2),
        ("1.G", NANO * NANO),
        ("1n", 1),
        ("1u", 1_000),
        ("1k", 1_000 * NANO),
        ("1M", 1_000_000 * NANO),
        ("1G", NANO * NANO),
        ("1T", 1_000 * NANO * NANO),
        ("1P", 1_000_000 * NANO * NANO),
        ("1E", NANO * NANO * NANO),
        ("1Ki", 1024 * NANO),
        ("1Mi", (1 << 20) * NANO),
        ("1Gi", (1 << 30) * NANO),
        ("1Ti", (1 << 40) * NANO),
        ("1Pi", (1 << 50) * NANO),
        ("1Ei", (1 << 60) * NANO),
        ("1.5Gi", 1_610_612_736 * NANO),
        ("0.1Ki", 102_400_000_000),
        ("1e3", 1_000 * NANO),
        ("1E3", 1_000 * NANO),
        ("1e+3", 1_000 * NANO),
        ("1E-2", NANO / 100),
        ("129e6", 129_000_000 * NANO),
        ("000000000000000000000000000000000000000000000001", NANO),
        ("1.000000000000000000000000000000000000000000000000", NANO),
        // Precision below a nano-unit rounds up, away from zero.
        ("0.5n", 1),
        ("1e-100", 1),
        ("-1e-100", -1),
        ("0.0000000001", 1),
        ("1.0000000001", NANO + 1),
        // Beyond 2^63-1 base units the value saturates.
        ("9223372036854775807", CAP),
        ("9223372036854775808", CAP),
        ("10Ei", CAP),
        ("1e100", CAP),
        ("1e9223372036854775807", CAP),
        ("-1e100", -CAP),
        ("99999999999999999999999999999999999999999999999999", CAP),
    ];
    for (text, nanos) in rows {
        let q = Quantity::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(q.nano_value(), *nanos, "{text:?}");
        assert_eq!(q.as_str(), *text);
    }
}

#[test]
fn quantity_forms_of_one_value_agree() {
    // The spec's example: these all mean the same number of bytes.
    for text in [
        "128974848",
        "125952Ki",
        "123Mi",
        "128974848000m",
        "128.974848M",
        "1.28974848e8",
    ] {
        assert_eq!(
            Quantity::parse(text).unwrap().value(),
            128_974_848,
            "{text}"
        );
    }
}

#[test]
fn quantity_rounding_accessors() {
    let q = |s: &str| Quantity::parse(s).unwrap();
    assert_eq!(q("250m").value(), 1);
    assert_eq!(q("250m").milli_value(), 250);
    assert_eq!(q("1.5").milli_value(), 1500);
    assert_eq!(q("0.1m").milli_value(), 1);
    assert_eq!(q("-250m").value(), -1);
    assert_eq!(q("2").milli_value(), 2000);
    assert_eq!(q("1Ei").value(), 1 << 60);
    assert_eq!(q("10Ei").value(), i64::MAX);
    assert_eq!(q("10Ei").milli_value(), i64::MAX);
    assert_eq!(q("-10Ei").value(), -i64::MAX);
    assert!(q("-1").is_negative());
    assert!(!q("0").is_negative());
}

#[test]
fn quantity_errors() {
    let format = "quantities must match the regular expression";
    let suffix = "unable to parse quantity's suffix";
    let rows: &[(&str, &str)] = &[
        ("", format),
        ("1GB", format),
        ("1 ", format),
        (" 1", format),
        ("abc", format),
        ("0x10", format),
        ("1.2.3", format),
        ("1e3.5", format),
        ("1Gi ", format),
        // Ours: a number needs a digit (k8s reads these as zero).
        ("+", format),
        ("-", format),
        (".", format),
        ("+.", format),
        ("1K", suffix),
        ("1i", suffix),
        ("1e", suffix),
        ("1e-", suffix),
        ("1ee3", suffix),
        ("1Mi5", suffix),
        ("1m5", suffix),
        ("1EE", suffix),
        ("1e99999999999999999999", suffix),
        ("e3", format),
    ];
    for (text, expect) in rows {
        let err = Quantity::parse(text).expect_err(text).to_string();
        assert!(err.contains(expect), "{text:?}: {err}");
    }
}
