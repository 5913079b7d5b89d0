//! The one error type of `trust`: every refusal of a signature has its own variant and message.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub(crate) enum Error {
    /// A file operation on a key, the image or the trust store.
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Key data that does not parse or holds no usable key; `what` names the file or argument.
    BadKey { what: String, reason: String },
    /// A trusted key file whose name is not the fingerprint of the key in it.
    KeyFileName { path: PathBuf, fingerprint: String },
    /// A detached signature that does not parse.
    BadSignature(String),
    /// A data signature over a broken digest (SHA-1, MD5, RIPEMD-160).
    WeakDigest(String),
    /// A signature whose creation time is later than now (beyond the allowed clock skew).
    FutureSignature { created: u32, now: u32 },
    /// A signature past its own expiration time.
    SignatureExpired { expired: u32 },
    /// No key in the whole trust store made the signature.
    UnknownKey { issuer: String, name: String },
    /// The key is trusted, but only for prefixes that do not cover the name.
    WrongPrefix {
        fingerprint: String,
        name: String,
        prefixes: Vec<String>,
    },
    /// The primary key or the signing subkey expired.
    KeyExpired {
        which: &'static str,
        fingerprint: String,
        expired: u32,
    },
    /// The primary key or the signing subkey is revoked.
    KeyRevoked {
        which: &'static str,
        fingerprint: String,
        reason: String,
    },
    /// The key that signed is not allowed to sign data (no sign flag, or no cross-certification).
    NotSigningKey { fingerprint: String, reason: String },
    /// The signature is well formed and made by a trusted key, but not over these bytes.
    Modified { name: String, fingerprint: String },
    /// A `--prefix` that is not an AC Identifier.
    BadPrefix { prefix: String, reason: String },
    /// A local image without a signature beside it (and no `--signature`).
    NoSignature(PathBuf),
    /// The image itself is unreadable or invalid (so it has no name to check).
    Image(crate::image::Error),
    /// A key given as a URL could not be downloaded.
    KeyUrl {
        url: String,
        source: Box<crate::fetch::Error>,
    },
    /// `rkt trust --prefix P` without a key: its `ac-discovery-pubkeys` could not be found or
    /// fetched.
    KeyDiscovery {
        prefix: String,
        source: Option<Box<crate::fetch::Error>>,
    },
}

/// A Unix time as `YYYY-MM-DD hh:mm:ss UTC`.
pub(crate) fn show_time(secs: u32) -> String {
    let secs = i64::from(secs);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, path, .. } => write!(f, "{op} `{}`", path.display()),
            Error::BadKey { what, reason } => write!(f, "key {what}: {reason}"),
            Error::KeyFileName { path, fingerprint } => write!(
                f,
                "trusted key file `{}` holds key {fingerprint}: the file name must be its \
                 fingerprint",
                path.display()
            ),
            Error::BadSignature(why) => write!(f, "bad signature: {why}"),
            Error::WeakDigest(alg) => write!(
                f,
                "signature uses the broken digest {alg}; only SHA-2 (or stronger) data \
                 signatures are accepted"
            ),
            Error::FutureSignature { created, now } => write!(
                f,
                "signature was made in the future ({}, now {})",
                show_time(*created),
                show_time(*now)
            ),
            Error::SignatureExpired { expired } => {
                write!(f, "signature expired on {}", show_time(*expired))
            }
            // rkt 1.30's (x/crypto's) words first: scripts and rkt's tests match them.
            Error::UnknownKey { issuer, name } => write!(
                f,
                "openpgp: signature made by unknown entity (key {issuer}); if you trust it \
                 for {name:?}, add it with: rkt trust --prefix {name} KEY_FILE"
            ),
            Error::WrongPrefix {
                fingerprint,
                name,
                prefixes,
            } => write!(
                f,
                "signed by key {fingerprint}, which is trusted only for prefix {} and not for \
                 {name:?}",
                prefixes
                    .iter()
                    .map(|p| format!("{p:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Error::KeyExpired {
                which,
                fingerprint,
                expired,
            } => write!(
                f,
                "the {which} {fingerprint} expired on {}",
                show_time(*expired)
            ),
            Error::KeyRevoked {
                which,
                fingerprint,
                reason,
            } => {
                write!(f, "the {which} {fingerprint} is revoked")?;
                if !reason.is_empty() {
                    write!(f, " ({reason})")?;
                }
                Ok(())
            }
            Error::NotSigningKey {
                fingerprint,
                reason,
            } => write!(f, "key {fingerprint} may not sign images: {reason}"),
            Error::Modified { name, fingerprint } => write!(
                f,
                "signature by {fingerprint} does not match the image {name:?}: the image was \
                 modified or the signature is for another image"
            ),
            Error::BadPrefix { prefix, reason } => {
                write!(f, "invalid --prefix {prefix:?}: {reason}")
            }
            Error::NoSignature(path) => write!(
                f,
                "error opening signature file `{}`: not found; give one with --signature \
                 FILE, or use --insecure-options=image to skip verification",
                path.display()
            ),
            Error::Image(e) => e.fmt(f),
            Error::KeyDiscovery {
                prefix,
                source: Some(_),
            } => write!(
                f,
                "discovering the keys of {prefix:?} (ac-discovery-pubkeys)"
            ),
            Error::KeyDiscovery {
                prefix,
                source: None,
            } => write!(
                f,
                "discovering the keys of {prefix:?}: no ac-discovery-pubkeys meta tag found; \
                 give the key file or URL"
            ),
            Error::KeyUrl { url, .. } => write!(f, "fetching key {url}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Image(e) => e.source(),
            Error::KeyUrl { source, .. }
            | Error::KeyDiscovery {
                source: Some(source),
                ..
            } => Some(source.as_ref()),
            _ => None,
        }
    }
}

pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { op, path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_civil_utc() {
        assert_eq!(show_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(show_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(show_time(1_799_999_999), "2027-01-15 07:59:59 UTC");
    }
}
