//! `acVersion`: a semantic version as coreos/go-semver parses it (Go `schema/types/semver.go`).
//!
//! go-semver splits off `+build`, then `-pre`, wants exactly three dot-separated integers
//! (leading zeros allowed: `01.2.3` is 1.2.3) and checks the two tails against
//! `^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$`. appc refuses the zero version `0.0.0`. It accepts any
//! major version: a lower one than ours (0) cannot exist, and a higher one is accepted, as the
//! reference code does.

use std::fmt;

use super::error::{Error, Path};
use super::json::{string, FromJson, Json, ToJson};

/// A parsed, non-zero semantic version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SemVer {
    major: u64,
    minor: u64,
    patch: u64,
    pre_release: String,
    metadata: String,
}

impl SemVer {
    /// The spec version this module implements, which rkt writes into pod manifests.
    pub(crate) fn appc() -> SemVer {
        SemVer {
            major: 0,
            minor: 8,
            patch: 11,
            pre_release: String::new(),
            metadata: String::new(),
        }
    }

    pub(crate) fn parse(s: &str) -> Result<SemVer, Error> {
        SemVer::parse_at(s, &Path::ROOT)
    }

    pub(crate) fn parse_at(s: &str, at: &Path<'_>) -> Result<SemVer, Error> {
        let bad = || Error::invalid(at, s, "SemVer is bad");
        let (rest, metadata) = s.split_once('+').unwrap_or((s, ""));
        let (core, pre_release) = rest.split_once('-').unwrap_or((rest, ""));
        if !valid_tail(pre_release) || !valid_tail(metadata) {
            return Err(bad());
        }
        let mut numbers = [0u64; 3];
        let mut parts = core.splitn(3, '.');
        for n in &mut numbers {
            *n = parts.next().and_then(parse_go_int).ok_or_else(bad)?;
        }
        let v = SemVer {
            major: numbers[0],
            minor: numbers[1],
            patch: numbers[2],
            pre_release: pre_release.to_owned(),
            metadata: metadata.to_owned(),
        };
        if v.major == 0
            && v.minor == 0
            && v.patch == 0
            && v.pre_release.is_empty()
            && v.metadata.is_empty()
        {
            return Err(Error::invalid(at, s, "SemVer cannot be zero"));
        }
        Ok(v)
    }

    pub(crate) fn major(&self) -> u64 {
        self.major
    }

    pub(crate) fn minor(&self) -> u64 {
        self.minor
    }

    pub(crate) fn patch(&self) -> u64 {
        self.patch
    }
}

/// A pre-release or build tail: empty, or dot-separated non-empty `[0-9A-Za-z-]` identifiers.
fn valid_tail(s: &str) -> bool {
    s.is_empty()
        || s.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// `strconv.ParseInt(s, 10, 64)` for what can reach it here: ASCII digits, fitting an i64.
fn parse_go_int(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().and_then(|n| u64::try_from(n).ok())
}

impl fmt::Display for SemVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre_release.is_empty() {
            write!(f, "-{}", self.pre_release)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

impl FromJson for SemVer {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<SemVer, Error> {
        SemVer::parse_at(string(v, at)?, at)
    }
}

impl ToJson for SemVer {
    fn to_json(&self) -> Json {
        Json::String(self.to_string())
    }
}
