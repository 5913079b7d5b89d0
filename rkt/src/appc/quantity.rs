//! Resource quantities (`"500m"`, `"1G"`, `"1Gi"`): Kubernetes' `resource.Quantity`, which the
//! appc resource isolators use for CPU cores and bytes.
//!
//! Grammar (k8s `parseQuantityString`): an optional sign, digits with an optional `.` and
//! fraction (`1.`, `.5`), then a suffix made of `eEinumkKMGTP` characters, an optional sign and
//! digits. The suffix must be a decimal SI one (`n u m "" k M G T P E`), a binary one
//! (`Ki Mi Gi Ti Pi Ei`), or an exponent (`e3`, `E-2`). `1GB` and `1K` are invalid.
//!
//! Values are kept exactly as integers in nano-units (never floats). As in Kubernetes, precision
//! below a nano-unit rounds up, away from zero. Magnitudes beyond 2^63-1 base units saturate (k8s
//! caps binary-suffixed values there and cannot express more as an int64 either). One deliberate
//! difference: a number must contain a digit, so `"+"` and `"."` are errors, not zero.

use super::error::{Error, Path};
use super::json::{FromJson, Json, ToJson};

/// The regular expression k8s quotes when the shape is wrong.
const FORMAT_MSG: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/// Nano-units per base unit.
const NANO: i128 = 1_000_000_000;
/// The largest magnitude, in nano-units: i64::MAX base units.
const CAP: i128 = i64::MAX as i128 * NANO;

/// A parsed quantity; it keeps its text for output, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Quantity {
    text: String,
    nanos: i128,
}

enum Suffix {
    /// Multiply by 10^n.
    Decimal(i64),
    /// Multiply by 2^n.
    Binary(u32),
}

impl Quantity {
    pub(crate) fn parse(s: &str) -> Result<Quantity, Error> {
        Quantity::parse_at(s, &Path::ROOT)
    }

    pub(crate) fn parse_at(s: &str, at: &Path<'_>) -> Result<Quantity, Error> {
        let (negative, int, frac, suffix) =
            split(s).ok_or_else(|| Error::invalid(at, s, FORMAT_MSG))?;
        let suffix = interpret(suffix)
            .ok_or_else(|| Error::invalid(at, s, "unable to parse quantity's suffix"))?;
        let magnitude = to_nanos(int, frac, &suffix);
        let nanos = if negative { -magnitude } else { magnitude };
        Ok(Quantity {
            text: s.to_owned(),
            nanos,
        })
    }

    /// The text as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The value in base units (cores, bytes), rounded up away from zero as k8s `Value()`.
    pub(crate) fn value(&self) -> i64 {
        round_away(self.nanos, NANO)
    }

    /// The value in thousandths (millicores), rounded up away from zero as k8s `MilliValue()`.
    pub(crate) fn milli_value(&self) -> i64 {
        round_away(self.nanos, NANO / 1000)
    }

    /// The exact value in billionths of a base unit.
    pub(crate) fn nano_value(&self) -> i128 {
        self.nanos
    }

    pub(crate) fn is_negative(&self) -> bool {
        self.nanos < 0
    }
}

fn round_away(nanos: i128, unit: i128) -> i64 {
    let q = nanos / unit;
    let q = if nanos % unit == 0 {
        q
    } else {
        q + nanos.signum()
    };
    // Whole units fit an i64 (|nanos| ≤ CAP); finer units may not and saturate.
    i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
}

/// Splits `s` into sign, integer digits, fraction digits and suffix; None if the shape is wrong.
fn split(s: &str) -> Option<(bool, &str, &str, &str)> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (int, rest) = rest.split_at(int_len);
    let (frac, rest) = match rest.strip_prefix('.') {
        Some(after) => {
            let n = after.bytes().take_while(u8::is_ascii_digit).count();
            after.split_at(n)
        }
        None => ("", rest),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    // The suffix: letters from the k8s set, then an optional sign and digits, then the end.
    let letters = rest
        .bytes()
        .take_while(|b| b"eEinumkKMGTP".contains(b))
        .count();
    let tail = &rest[letters..];
    let tail = tail.strip_prefix(['+', '-']).unwrap_or(tail);
    if !tail.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((negative, int, frac, rest))
}

/// k8s `suffixHandler.interpret`.
fn interpret(suffix: &str) -> Option<Suffix> {
    let decimal = match suffix {
        "n" => -9,
        "u" => -6,
        "m" => -3,
        "" => 0,
        "k" => 3,
        "M" => 6,
        "G" => 9,
        "T" => 12,
        "P" => 15,
        "E" => 18,
        "Ki" => return Some(Suffix::Binary(10)),
        "Mi" => return Some(Suffix::Binary(20)),
        "Gi" => return Some(Suffix::Binary(30)),
        "Ti" => return Some(Suffix::Binary(40)),
        "Pi" => return Some(Suffix::Binary(50)),
        "Ei" => return Some(Suffix::Binary(60)),
        _ => {
            // An exponent: `e` or `E` then what Go's strconv.ParseInt(_, 10, 64) accepts.
            let exp = suffix.strip_prefix(['e', 'E'])?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() {
                return None;
            }
            exp.parse::<i64>().ok()?
        }
    };
    Some(Suffix::Decimal(decimal))
}

/// The magnitude in nano-units, rounded up and capped; exact for any input length.
fn to_nanos(int: &str, frac: &str, suffix: &Suffix) -> i128 {
    // The number as decimal digits (most significant first) times 10^exp10.
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
    let mut exp10 = 9 - i128::try_from(frac.len()).unwrap_or(i128::MAX);
    match suffix {
        Suffix::Decimal(e) => exp10 += i128::from(*e),
        Suffix::Binary(e) => digits = multiply(&digits, 1u64 << e),
    }
    let first = digits.iter().position(|&d| d != 0).unwrap_or(digits.len());
    let digits = &digits[first..];
    if digits.is_empty() {
        return 0;
    }
    // u128 holds 38 full decimal digits; anything longer is beyond the cap.
    const MAX_DIGITS: i128 = 38;
    let len = i128::try_from(digits.len()).unwrap_or(i128::MAX);
    if exp10 >= 0 {
        if len.saturating_add(exp10) > MAX_DIGITS {
            return CAP;
        }
        let mut v = to_u128(digits);
        for _ in 0..exp10 {
            v *= 10;
        }
        return clamp(v);
    }
    // Drop the digits below a nano-unit, rounding up if any of them is non-zero.
    let keep = len.saturating_add(exp10).max(0);
    if keep > MAX_DIGITS {
        return CAP;
    }
    let keep = usize::try_from(keep).unwrap_or(0);
    let (kept, dropped) = digits.split_at(keep);
    let up = u128::from(dropped.iter().any(|&d| d != 0));
    clamp(to_u128(kept) + up)
}

/// `digits × m` in decimal digits; `m` < 2^61, so each step fits a u128.
fn multiply(digits: &[u8], m: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(digits.len() + 20);
    let mut carry: u128 = 0;
    for &d in digits.iter().rev() {
        let v = u128::from(d) * u128::from(m) + carry;
        out.push((v % 10) as u8);
        carry = v / 10;
    }
    while carry > 0 {
        out.push((carry % 10) as u8);
        carry /= 10;
    }
    out.reverse();
    out
}

/// At most 38 digits: always fits.
fn to_u128(digits: &[u8]) -> u128 {
    digits
        .iter()
        .fold(0u128, |acc, &d| acc * 10 + u128::from(d))
}

fn clamp(v: u128) -> i128 {
    i128::try_from(v).map_or(CAP, |v| v.min(CAP))
}

impl FromJson for Quantity {
    /// A JSON string, trimmed of white space as k8s does. k8s also takes a bare JSON number and
    /// parses its text; so do we (numbers with a fraction or exponent go through their decimal
    /// form).
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Quantity, Error> {
        match v {
            Json::String(s) => Quantity::parse_at(s.trim(), at),
            Json::Number(n) => Quantity::parse_at(&n.to_string(), at),
            other => Err(Error::wrong_type(at, "a quantity string", other)),
        }
    }
}

impl ToJson for Quantity {
    fn to_json(&self) -> Json {
        Json::String(self.text.clone())
    }
}
