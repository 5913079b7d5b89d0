//! Signatures and trust: the keyring of an image name, detached OpenPGP signature checks with
//! rkt's trust layout (`trustedkeys/{root.d,prefix.d/<prefix>}/<fingerprint>` under the system
//! and local config dirs), and adding keys to the local store (`rkt trust`).
//!
//! rpgp's `verify` is purely cryptographic: expiry, revocation, key flags, digest strength and
//! signature time are enforced here ([`key`], [`verify`]). Prefixes are whole path components:
//! a key for `example.com/app` does not cover `example.com/apple`. Errors are returned, never
//! printed; [`Checked::report`] alone tells the user the outcome of a check (on stderr), once
//! the caller has stored the image, so that a refusal stays one line.

mod error;
pub(crate) mod key;
pub(crate) mod keyring;
pub(crate) mod store;
mod verify;

use std::path::{Path, PathBuf};

use error::io_err;
pub(crate) use error::Error;
pub(crate) use store::Scope;
pub(crate) use verify::Verified;

/// The two config dirs the keyring is read from.
#[derive(Debug, Clone)]
pub(crate) struct TrustDirs {
    pub(crate) system: PathBuf,
    pub(crate) local: PathBuf,
}

impl TrustDirs {
    pub(crate) fn new(config: &crate::config::Config) -> TrustDirs {
        TrustDirs {
            system: config.system_config.clone(),
            local: config.local_config.clone(),
        }
    }
}

fn now() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    u32::try_from(secs).unwrap_or(u32::MAX)
}

/// Verifies the detached `signature` over the file `image` for the image name `name` (the
/// manifest's, or the one discovery asked for) against the keyring of that name.
pub(crate) fn verify_image(
    config: &crate::config::Config,
    name: &str,
    image: &Path,
    signature: &[u8],
) -> Result<Verified, Error> {
    verify::verify_at(&TrustDirs::new(config), name, image, signature, now())
}

/// `<file>.aci.asc` beside `<file>.aci` (or `<file>.aci.asc` for a file without the suffix):
/// where a local image's signature is looked for without `--signature`.
pub(crate) fn default_signature_path(image: &Path) -> PathBuf {
    let mut s = image.as_os_str().to_os_string();
    if !image.as_os_str().as_encoded_bytes().ends_with(b".aci") {
        s.push(".aci");
    }
    s.push(".asc");
    PathBuf::from(s)
}

/// Verifies a local image file before it is imported: the signature from `signature` or beside
/// the file, the name from the image's own manifest. `--insecure-options=image` skips the
/// check (the caller reports it with a warning through [`Checked::report`]).
pub(crate) fn check_local_image(
    dirs: &TrustDirs,
    insecure_image: bool,
    image: &Path,
    signature: Option<&Path>,
) -> Result<Checked, Error> {
    if insecure_image {
        return Ok(Checked::Skipped(image.to_path_buf()));
    }
    let sig_path = match signature {
        Some(p) => p.to_path_buf(),
        None => default_signature_path(image),
    };
    let sig = match std::fs::read(&sig_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && signature.is_none() => {
            return Err(Error::NoSignature(sig_path))
        }
        Err(e) => return Err(io_err("read signature", sig_path)(e)),
    };
    let info = crate::image::aci::inspect(image).map_err(Error::Image)?;
    let name = info.manifest.name.as_str();
    let verified = verify::verify_at(dirs, name, image, &sig, now())?;
    crate::log::debug!(
        "`{}`: signed by key {} for {name:?}",
        image.display(),
        verified.fingerprint
    );
    Ok(Checked::Verified(verified))
}

/// The outcome of [`check_local_image`] that let the image in.
#[derive(Debug)]
pub(crate) enum Checked {
    Verified(Verified),
    /// `--insecure-options=image`: not checked.
    Skipped(PathBuf),
}

impl Checked {
    /// Tells the user on stderr (stdout carries image IDs): rkt's `signature verified:` and the
    /// key's identities, or the warning that verification was disabled.
    pub(crate) fn report(&self) {
        match self {
            Checked::Verified(v) => v.report(),
            Checked::Skipped(image) => crate::log::warning!(
                "signature verification has been disabled for `{}`",
                image.display()
            ),
        }
    }
}

/// The keys a `rkt trust` argument (a file or a URL) holds, each checked to be usable (a valid
/// self-signature, not revoked, not expired).
pub(crate) fn read_keys(
    config: &crate::config::Config,
    arg: &str,
    allow_http: bool,
) -> Result<Vec<key::Key>, Error> {
    let bytes = if is_url(arg) {
        fetch_key_url(config, arg, allow_http)?
    } else {
        std::fs::read(arg).map_err(io_err("read", arg))?
    };
    usable_keys(&bytes, &format!("`{arg}`"))
}

fn usable_keys(bytes: &[u8], what: &str) -> Result<Vec<key::Key>, Error> {
    let keys = key::parse_all(bytes, what)?;
    let now = now();
    for k in &keys {
        let v = k.primary_validity()?;
        if let Some(reason) = v.revoked {
            return Err(Error::KeyRevoked {
                which: "key",
                fingerprint: k.fingerprint(),
                reason,
            });
        }
        if let Some(expired) = v.expires.filter(|e| *e <= now) {
            return Err(Error::KeyExpired {
                which: "key",
                fingerprint: k.fingerprint(),
                expired,
            });
        }
    }
    Ok(keys)
}

/// A public key is a few KiB; anything this large is not one.
const KEY_LIMIT: u64 = 1 << 20;

/// The configuration keys are fetched with: `--insecure-allow-http` (rkt trust's own flag)
/// allows plain http for them as `--insecure-options=http` does for images.
fn key_fetch_config(config: &crate::config::Config, allow_http: bool) -> crate::config::Config {
    let mut c = config.clone();
    if allow_http {
        c.insecure = c.insecure.with(crate::config::Insecure::HTTP);
    }
    c
}

/// A key given as a URL, by the fetch module's transport rules (https unless allowed).
fn fetch_key_url(
    config: &crate::config::Config,
    url: &str,
    allow_http: bool,
) -> Result<Vec<u8>, Error> {
    crate::fetch::get_small(&key_fetch_config(config, allow_http), url, KEY_LIMIT).map_err(|e| {
        Error::KeyUrl {
            url: url.to_string(),
            source: Box::new(e),
        }
    })
}

/// The keys of `prefix` from its `ac-discovery-pubkeys` meta tags, each with the URL it came
/// from (shown in the fingerprint review).
pub(crate) fn discover_keys(
    config: &crate::config::Config,
    prefix: &str,
    allow_http: bool,
) -> Result<Vec<(String, Vec<key::Key>)>, Error> {
    let c = key_fetch_config(config, allow_http);
    let urls = crate::fetch::discover_pubkeys(&c, prefix).map_err(|e| Error::KeyDiscovery {
        prefix: prefix.to_string(),
        source: Some(Box::new(e)),
    })?;
    if urls.is_empty() {
        return Err(Error::KeyDiscovery {
            prefix: prefix.to_string(),
            source: None,
        });
    }
    urls.into_iter()
        .map(|url| {
            let bytes = fetch_key_url(config, &url, allow_http)?;
            let keys = usable_keys(&bytes, &url)?;
            Ok((url, keys))
        })
        .collect()
}

/// `--trust-keys-from-https` during the fetch of `name` (rkt's trust on first use): when no
/// key is trusted yet for `name` or a prefix of it, the keys at the discovered `key_urls` are
/// stored for the prefix `name` without review, each with a warning. Only keys found on an
/// https discovery page and fetched over https (no redirect to http) qualify; others are
/// skipped with a warning and the image is then refused as signed by an unknown key.
pub(crate) fn trust_keys_from_https(
    config: &crate::config::Config,
    name: &str,
    page: &str,
    key_urls: &[String],
) -> Result<(), Error> {
    let dirs = TrustDirs::new(config);
    if keyring::prefix_has_keys(&dirs, name)? {
        crate::log::debug!("keys already exist for prefix {name:?}, not fetching again");
        return Ok(());
    }
    if !page.starts_with("https://") {
        crate::log::warning!(
            "not trusting the keys of {name:?}: its discovery page {page} is not https"
        );
        return Ok(());
    }
    let scope = Scope::prefix(name)?;
    for url in key_urls {
        if !url.starts_with("https://") {
            crate::log::warning!("not trusting key {url} for prefix {name:?}: not https");
            continue;
        }
        let bytes =
            crate::fetch::get_small_https(config, url, KEY_LIMIT).map_err(|e| Error::KeyUrl {
                url: url.clone(),
                source: Box::new(e),
            })?;
        for key in usable_keys(&bytes, url)? {
            let path = store::store_key(&config.local_config, &scope, &key)?;
            crate::log::warning!(
                "trusting key {} from {url} for prefix {name:?} without fingerprint review \
                 (--trust-keys-from-https); added at `{}`",
                key.fingerprint(),
                path.display()
            );
        }
    }
    Ok(())
}

/// Whether a `rkt trust` argument is a URL rather than a file.
fn is_url(arg: &str) -> bool {
    arg.starts_with("https://") || arg.starts_with("http://")
}
