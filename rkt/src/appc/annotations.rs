//! Annotations: `[{name, value}]` metadata (spec aci.md "Image Manifest Schema"; Go
//! `schema/types/annotations.go`, `date.go`, `url.go`).
//!
//! Names are AC Identifiers and unique. Go checks three well-known values: `created` must parse
//! as Go's `time.RFC3339` (a literal `T`, fractional seconds allowed, `Z` or `±hh:mm`), and
//! `homepage` and `documentation` must be URLs that Go's `url.Parse` accepts with scheme http or
//! https.

use super::error::{Error, Path};
use super::json::{first_repeat, name_value_list, name_value_list_json, FromJson, Json, ToJson};
use super::name::AcIdentifier;

/// An ordered list of annotations with unique names and valid well-known values.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Annotations(Vec<(AcIdentifier, String)>);

impl Annotations {
    pub(crate) fn new(entries: Vec<(AcIdentifier, String)>) -> Result<Annotations, Error> {
        check(&entries, &Path::ROOT)?;
        Ok(Annotations(entries))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `name` to `value`, replacing in place or appending, and checks the well-known values.
    pub(crate) fn set(&mut self, name: AcIdentifier, value: &str) -> Result<(), Error> {
        check_value(name.as_str(), value, &Path::ROOT)?;
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value.to_owned(),
            None => self.0.push((name, value.to_owned())),
        }
        Ok(())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&AcIdentifier, &str)> + '_ {
        self.0.iter().map(|(n, v)| (n, v.as_str()))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn check(entries: &[(AcIdentifier, String)], at: &Path<'_>) -> Result<(), Error> {
    if let Some(i) = first_repeat(entries, |(n, _)| n.as_str()) {
        let name = entries[i].0.as_str();
        return Err(Error::rule(
            &at.index(i),
            format!("duplicate annotations of name {name:?}"),
        ));
    }
    for (i, (name, value)) in entries.iter().enumerate() {
        check_value(name.as_str(), value, &at.index(i).field("value"))?;
    }
    Ok(())
}

fn check_value(name: &str, value: &str, at: &Path<'_>) -> Result<(), Error> {
    let result = match name {
        "created" => check_date(value).map_err(|why| format!("bad Date: {why}")),
        "homepage" | "documentation" => check_url(value),
        _ => Ok(()),
    };
    result.map_err(|why| Error::invalid(at, value, why))
}

impl FromJson for Annotations {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Annotations, Error> {
        let entries = name_value_list(v, at)?;
        check(&entries, at)?;
        Ok(Annotations(entries))
    }
}

impl ToJson for Annotations {
    fn to_json(&self) -> Json {
        name_value_list_json(self.iter().map(|(n, v)| (n.as_str(), v)))
    }
}

/// Go's `time.Parse(time.RFC3339, s)`: `2006-01-02T15:04:05Z07:00`. The hour may have one digit
/// and fractional seconds may follow the seconds, as Go's parser allows.
pub(crate) fn check_date(s: &str) -> Result<(), String> {
    let mut p = Scanner(s.as_bytes());
    let year = p.digits(4, 4).ok_or("year must have 4 digits")?;
    p.literal(b'-')?;
    let month = p.digits(2, 2).ok_or("month must have 2 digits")?;
    p.literal(b'-')?;
    let day = p.digits(2, 2).ok_or("day must have 2 digits")?;
    p.literal(b'T')?;
    let hour = p.digits(1, 2).ok_or("hour must have 1 or 2 digits")?;
    p.literal(b':')?;
    let minute = p.digits(2, 2).ok_or("minute must have 2 digits")?;
    p.literal(b':')?;
    let second = p.digits(2, 2).ok_or("second must have 2 digits")?;
    if p.0.first() == Some(&b'.') && p.0.get(1).is_some_and(u8::is_ascii_digit) {
        p.0 = &p.0[1..];
        p.digits(1, usize::MAX);
    }
    if p.0 == b"Z" {
        p.0 = &[];
    } else {
        let sign = p.0.first().copied();
        if !matches!(sign, Some(b'+' | b'-')) {
            return Err("time zone must be Z or ±hh:mm".into());
        }
        p.0 = &p.0[1..];
        let hh = p.digits(2, 2).ok_or("time zone hour must have 2 digits")?;
        p.literal(b':')?;
        let mm = p
            .digits(2, 2)
            .ok_or("time zone minute must have 2 digits")?;
        // Go's own bounds: offsets of 24 hours or 60 minutes are written by some.
        if hh > 24 || mm > 60 {
            return Err("time zone offset out of range".into());
        }
    }
    if !p.0.is_empty() {
        return Err("extra text after the time".into());
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err("month out of range".into()),
    };
    if day == 0 || day > month_days {
        return Err("day out of range".into());
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err("time out of range".into());
    }
    Ok(())
}

struct Scanner<'a>(&'a [u8]);

impl Scanner<'_> {
    /// Between `min` and `max` ASCII digits, as a number (saturating).
    fn digits(&mut self, min: usize, max: usize) -> Option<u64> {
        let n = self
            .0
            .iter()
            .take(max)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if n < min {
            return None;
        }
        let value = self.0[..n].iter().fold(0u64, |acc, b| {
            acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        });
        self.0 = &self.0[n..];
        Some(value)
    }

    fn literal(&mut self, c: u8) -> Result<(), String> {
        match self.0.split_first() {
            Some((first, rest)) if *first == c => {
                self.0 = rest;
                Ok(())
            }
            _ => Err(format!("expected {:?}", char::from(c))),
        }
    }
}

/// Go's `url.Parse(s)` followed by appc's scheme check (http or https, any case).
pub(crate) fn check_url(s: &str) -> Result<(), String> {
    if s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err("bad URL: invalid control character in URL".into());
    }
    let (s, fragment) = s.split_once('#').unwrap_or((s, ""));
    check_escapes(fragment)?;
    let scheme_len = s
        .bytes()
        .enumerate()
        .take_while(|(i, b)| {
            b.is_ascii_alphabetic() || (*i > 0 && (b.is_ascii_digit() || b"+-.".contains(b)))
        })
        .count();
    let (scheme, rest) = match s.as_bytes().get(scheme_len) {
        Some(b':') if scheme_len == 0 => return Err("bad URL: missing protocol scheme".into()),
        Some(b':') => (&s[..scheme_len], &s[scheme_len + 1..]),
        _ => ("", s),
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err("bad URL scheme, must be http/https".into());
    }
    // Go keeps the query raw; an opaque URL (`http:foo`) is accepted as is.
    let rest = rest.split_once('?').map_or(rest, |(before, _)| before);
    let Some(after) = rest.strip_prefix("//") else {
        return if rest.starts_with('/') {
            check_escapes(rest)
        } else {
            Ok(())
        };
    };
    let (authority, path) = after.find('/').map_or((after, ""), |i| after.split_at(i));
    let host = match authority.rfind('@') {
        Some(i) => {
            let userinfo = &authority[..i];
            let ok = |b: u8| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b);
            if !userinfo.bytes().all(ok) {
                return Err("bad URL: invalid userinfo".into());
            }
            &authority[i + 1..]
        }
        None => authority,
    };
    check_host(host)?;
    check_escapes(path)
}

fn check_host(host: &str) -> Result<(), String> {
    let (name, port) = if let Some(literal) = host.strip_prefix('[') {
        let Some(end) = literal.find(']') else {
            return Err("bad URL: missing ']' in host".into());
        };
        ("", &literal[end + 1..])
    } else {
        host.rfind(':').map_or((host, ""), |i| host.split_at(i))
    };
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if !(port.is_empty() || port.strip_prefix(':').is_some_and(digits)) {
        return Err(format!("bad URL: invalid port {port:?} after host"));
    }
    let ok =
        |b: u8| b >= 0x80 || b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:[]<>\"%".contains(&b);
    if !name.bytes().all(ok) {
        return Err("bad URL: invalid character in host name".into());
    }
    check_escapes(name)
}

/// Every `%` starts a two-hex-digit escape.
fn check_escapes(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
        if !hex(i + 1) || !hex(i + 2) {
            return Err("bad URL: invalid URL escape".into());
        }
    }
    Ok(())
}
