//! AC Identifier and AC Name (spec types.md; Go `schema/types/acidentifier.go`, `acname.go`).
//!
//! The Go code checks characters and edges rather than the spec's regexes, so consecutive
//! separators (`a--b`, `a..b`) pass; we accept them too. One deliberate difference: an AC
//! Identifier may not contain an empty, `.` or `..` path component (`a//b`, `a/./b`,
//! `a/../b`). Image names become directory names under the trust store's `prefix.d`, where such
//! a component would climb out of, or alias, another image's prefix.

use std::fmt;

use super::error::{Error, Path};
use super::json::{string, FromJson, Json, ToJson};

/// An AC Identifier: image names, label, isolator and annotation names, dependency names.
/// Lower-case alphanumerics plus `-._~/`, with an alphanumeric at each end.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct AcIdentifier(String);

/// An AC Name: app names in a pod, volume, mount point and port names. Lower-case alphanumerics
/// plus `-`, with an alphanumeric at each end.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct AcName(String);

const IDENTIFIER_SEPARATORS: &[char] = &['-', '.', '_', '~', '/'];

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

impl AcIdentifier {
    pub(crate) fn parse(s: &str) -> Result<AcIdentifier, Error> {
        AcIdentifier::parse_at(s, &Path::ROOT)
    }

    pub(crate) fn parse_at(s: &str, at: &Path<'_>) -> Result<AcIdentifier, Error> {
        if s.is_empty() {
            return Err(Error::invalid(at, s, "ACIdentifier cannot be empty"));
        }
        if !s
            .chars()
            .all(|c| is_lower_alnum(c) || IDENTIFIER_SEPARATORS.contains(&c))
        {
            return Err(Error::invalid(
                at,
                s,
                r#"ACIdentifier must contain only lower case alphanumeric characters plus "-._~/""#,
            ));
        }
        if s.starts_with(IDENTIFIER_SEPARATORS) || s.ends_with(IDENTIFIER_SEPARATORS) {
            return Err(Error::invalid(
                at,
                s,
                "ACIdentifier must start and end with only lower case alphanumeric characters",
            ));
        }
        if s.split('/').any(|part| matches!(part, "" | "." | "..")) {
            return Err(Error::invalid(
                at,
                s,
                r#"ACIdentifier must not contain an empty, "." or ".." path component"#,
            ));
        }
        Ok(AcIdentifier(s.to_owned()))
    }

    /// Turns an arbitrary string into an AC Identifier as Go's `SanitizeACIdentifier` does:
    /// lower-case it, replace every invalid character with `_`, trim separators at both ends.
    pub(crate) fn sanitize(s: &str) -> Result<AcIdentifier, Error> {
        let replaced: String = s
            .chars()
            .map(go_to_lower)
            .map(|c| {
                if is_lower_alnum(c) || IDENTIFIER_SEPARATORS.contains(&c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let trimmed = replaced.trim_matches(IDENTIFIER_SEPARATORS);
        if trimmed.is_empty() {
            return Err(Error::invalid(
                &Path::ROOT,
                s,
                "must contain at least one valid character",
            ));
        }
        AcIdentifier::parse(trimmed)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl AcName {
    pub(crate) fn parse(s: &str) -> Result<AcName, Error> {
        AcName::parse_at(s, &Path::ROOT)
    }

    pub(crate) fn parse_at(s: &str, at: &Path<'_>) -> Result<AcName, Error> {
        if s.is_empty() {
            return Err(Error::invalid(at, s, "ACName cannot be empty"));
        }
        if !s.chars().all(|c| is_lower_alnum(c) || c == '-') {
            return Err(Error::invalid(
                at,
                s,
                r#"ACName must contain only lower case alphanumeric characters plus "-""#,
            ));
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err(Error::invalid(
                at,
                s,
                "ACName must start and end with only lower case alphanumeric characters",
            ));
        }
        Ok(AcName(s.to_owned()))
    }

    /// Turns an arbitrary string into an AC Name as Go's `SanitizeACName` does (rkt used it for
    /// default app names): lower-case it, replace every invalid character with `-`, trim `-` at
    /// both ends.
    pub(crate) fn sanitize(s: &str) -> Result<AcName, Error> {
        let replaced: String = s
            .chars()
            .map(go_to_lower)
            .map(|c| {
                if is_lower_alnum(c) || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let trimmed = replaced.trim_matches('-');
        if trimmed.is_empty() {
            return Err(Error::invalid(
                &Path::ROOT,
                s,
                "must contain at least one valid character",
            ));
        }
        AcName::parse(trimmed)
    }

    /// The app name rkt gives an image's app when the user names none: the last path component
    /// of the image name, sanitized (`coreos.com/ace-validator-main` → `ace-validator-main`).
    pub(crate) fn from_image_name(image: &AcIdentifier) -> Result<AcName, Error> {
        let last = image.as_str().rsplit('/').next().unwrap_or_default();
        AcName::sanitize(last)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Go's `unicode.ToLower`: the simple (one-to-one) mapping. It differs from Rust's full mapping
/// only for U+0130 (capital I with dot), which Go maps to a plain `i`.
fn go_to_lower(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    c.to_lowercase().next().unwrap_or(c)
}

impl fmt::Display for AcIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for AcName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromJson for AcIdentifier {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<AcIdentifier, Error> {
        AcIdentifier::parse_at(string(v, at)?, at)
    }
}

impl FromJson for AcName {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<AcName, Error> {
        AcName::parse_at(string(v, at)?, at)
    }
}

impl ToJson for AcIdentifier {
    fn to_json(&self) -> Json {
        Json::String(self.0.clone())
    }
}

impl ToJson for AcName {
    fn to_json(&self) -> Json {
        Json::String(self.0.clone())
    }
}
