//! Checking a detached signature over an image file against the keyring of its name.
//!
//! Order: the signature's own checks (digest, creation time, expiry), then the key that made
//! it (trusted for this name? valid? allowed to sign?), then the bytes, streamed from the file
//! through rpgp's packet-level `Signature::verify` (the whole image is never in memory).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use pgp::composed::{Deserializable, DetachedSignature};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Signature, SignatureType};
use pgp::types::KeyDetails;

use super::key::{fingerprint_hex, Validity};
use super::keyring::{self, TrustedKey};
use super::{io_err, Error, TrustDirs};

/// A signature may be this many seconds "in the future" (clocks of signer and host differ).
pub(crate) const CLOCK_SKEW: u32 = 300;

/// A successful verification.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    /// The primary key's fingerprint, lowercase hex.
    pub(crate) fingerprint: String,
    /// Its user IDs.
    pub(crate) identities: Vec<String>,
}

impl Verified {
    /// rkt's `signature verified:` and the key's identities, on stderr (stdout carries image
    /// IDs, so scripts can capture them).
    pub(crate) fn report(&self) {
        eprintln!("image: signature verified:");
        for id in &self.identities {
            eprintln!("  {id}");
        }
    }
}

/// Parses a detached signature, armored or binary; exactly one signature packet.
pub(crate) fn parse_signature(bytes: &[u8]) -> Result<Signature, Error> {
    let (mut iter, _) = DetachedSignature::from_reader_many(bytes)
        .map_err(|e| Error::BadSignature(e.to_string()))?;
    let first = iter
        .next()
        .ok_or_else(|| Error::BadSignature("no signature packet".into()))?
        .map_err(|e| Error::BadSignature(e.to_string()))?;
    if iter.next().is_some() {
        return Err(Error::BadSignature(
            "more than one signature in a detached signature file".into(),
        ));
    }
    Ok(first.signature)
}

/// The checks of the signature packet alone, at time `now`.
pub(crate) fn check_signature(sig: &Signature, now: u32) -> Result<(), Error> {
    match sig.typ() {
        Some(SignatureType::Binary) | Some(SignatureType::Text) => {}
        other => {
            return Err(Error::BadSignature(format!(
                "not a data signature (type {other:?})"
            )))
        }
    }
    match sig.hash_alg() {
        Some(alg @ (HashAlgorithm::Sha1 | HashAlgorithm::Md5 | HashAlgorithm::Ripemd160)) => {
            return Err(Error::WeakDigest(alg.to_string()))
        }
        Some(_) => {}
        None => return Err(Error::BadSignature("unknown digest".into())),
    }
    let created = sig
        .created()
        .ok_or_else(|| Error::BadSignature("no creation time".into()))?
        .as_secs();
    if created > now.saturating_add(CLOCK_SKEW) {
        return Err(Error::FutureSignature { created, now });
    }
    if let Some(d) = sig.signature_expiration_time().map(|d| d.as_secs()) {
        let expired = created.saturating_add(d);
        if d != 0 && expired <= now {
            return Err(Error::SignatureExpired { expired });
        }
    }
    Ok(())
}

/// Which key of a trusted certificate made the signature.
enum Signer<'a> {
    Primary,
    Subkey(&'a pgp::composed::SignedPublicSubKey),
}

fn signer_of<'a>(sig: &Signature, key: &'a pgp::composed::SignedPublicKey) -> Option<Signer<'a>> {
    let matches = |k: &dyn KeyDetails| {
        let fp = k.fingerprint();
        let id = k.legacy_key_id();
        sig.issuer_fingerprint().iter().any(|f| **f == fp)
            || sig.issuer_key_id().iter().any(|i| **i == id)
    };
    if matches(&key.primary_key) {
        return Some(Signer::Primary);
    }
    key.public_subkeys
        .iter()
        .find(|s| matches(&s.key))
        .map(Signer::Subkey)
}

fn issuer_name(sig: &Signature) -> String {
    if let Some(fp) = sig.issuer_fingerprint().first() {
        return fingerprint_hex(fp);
    }
    match sig.issuer_key_id().first() {
        Some(id) => id.as_ref().iter().map(|b| format!("{b:02x}")).collect(),
        None => "(no issuer named)".into(),
    }
}

fn check_validity(v: &Validity, which: &'static str, fp: &str, now: u32) -> Result<(), Error> {
    if let Some(reason) = &v.revoked {
        return Err(Error::KeyRevoked {
            which,
            fingerprint: fp.to_string(),
            reason: reason.clone(),
        });
    }
    if let Some(expired) = v.expires.filter(|e| *e <= now) {
        return Err(Error::KeyExpired {
            which,
            fingerprint: fp.to_string(),
            expired,
        });
    }
    Ok(())
}

/// An I/O error of the image stream, kept aside: rpgp would report it as a failed signature.
struct Recording<R> {
    inner: R,
    error: Option<std::io::Error>,
}

impl<R: Read> Read for Recording<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let kind = e.kind();
            self.error = Some(e);
            std::io::Error::from(kind)
        })
    }
}

/// Verifies `signature` over the file `image` for the image name `name` at time `now`.
pub(crate) fn verify_at(
    dirs: &TrustDirs,
    name: &str,
    image: &Path,
    signature: &[u8],
    now: u32,
) -> Result<Verified, Error> {
    let sig = parse_signature(signature)?;
    check_signature(&sig, now)?;
    let keys = keyring::for_name(dirs, name)?;
    let found = keys
        .iter()
        .find_map(|t| signer_of(&sig, &t.key.key).map(|s| (t, s)));
    let Some((trusted, signer)) = found else {
        return Err(not_trusted(dirs, &sig, name));
    };
    let TrustedKey { key, .. } = trusted;
    let fingerprint = key.fingerprint();
    check_validity(&key.primary_validity()?, "primary key", &fingerprint, now)?;
    let file = File::open(image).map_err(io_err("open", image))?;
    let mut reader = Recording {
        inner: BufReader::with_capacity(1 << 20, file),
        error: None,
    };
    let checked = match signer {
        Signer::Primary => {
            if key.primary_validity()?.can_sign == Some(false) {
                return Err(Error::NotSigningKey {
                    fingerprint,
                    reason: "the primary key lacks the sign flag".into(),
                });
            }
            sig.verify(&key.key.primary_key, &mut reader)
        }
        Signer::Subkey(sub) => {
            let sub_fp = fingerprint_hex(&sub.key.fingerprint());
            let v = key.subkey_validity(sub)?;
            check_validity(&v, "signing subkey", &sub_fp, now)?;
            if v.can_sign != Some(true) {
                return Err(Error::NotSigningKey {
                    fingerprint: sub_fp,
                    reason: "the subkey lacks the sign flag or its cross-certification".into(),
                });
            }
            sig.verify(&sub.key, &mut reader)
        }
    };
    if let Some(e) = reader.error {
        return Err(io_err("read", image)(e));
    }
    if checked.is_err() {
        return Err(Error::Modified {
            name: name.to_string(),
            fingerprint,
        });
    }
    Ok(Verified {
        fingerprint,
        identities: key.identities(),
    })
}

/// Why no key of the name's keyring made `sig`: trusted for other prefixes only, or unknown.
fn not_trusted(dirs: &TrustDirs, sig: &Signature, name: &str) -> Error {
    let unknown = Error::UnknownKey {
        issuer: issuer_name(sig),
        name: name.to_string(),
    };
    let Ok(prefixes) = keyring::all_prefixes(dirs) else {
        return unknown;
    };
    let mut trusted_for = Vec::new();
    let mut fingerprint = None;
    for prefix in prefixes {
        // A broken file elsewhere in the store does not change this answer.
        let Ok(keys) = keyring::for_prefix_only(dirs, &prefix) else {
            continue;
        };
        for t in keys {
            if signer_of(sig, &t.key.key).is_some() {
                fingerprint = Some(t.key.fingerprint());
                trusted_for.push(prefix.clone());
            }
        }
    }
    match fingerprint {
        Some(fingerprint) => Error::WrongPrefix {
            fingerprint,
            name: name.to_string(),
            prefixes: trusted_for,
        },
        None => unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgp::composed::{KeyType, SecretKeyParamsBuilder, SignedSecretKey};
    use pgp::packet::{SignatureConfig, Subpacket, SubpacketData};
    use pgp::types::{Password, Timestamp};

    const NOW: u32 = 1_800_000_000;

    fn key(uid: &str) -> SignedSecretKey {
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(uid.to_string())
            .created_at(Timestamp::from_secs(NOW - 1000));
        params
            .build()
            .unwrap()
            .generate(rand::thread_rng())
            .unwrap()
    }

    fn sign(key: &SignedSecretKey, data: &[u8], created: u32) -> Vec<u8> {
        let k = &key.primary_key;
        let mut config =
            SignatureConfig::v4(SignatureType::Binary, k.algorithm(), HashAlgorithm::Sha256);
        config.hashed_subpackets = vec![
            Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
                created,
            )))
            .unwrap(),
            Subpacket::regular(SubpacketData::IssuerFingerprint(k.fingerprint())).unwrap(),
        ];
        let sig = config.sign(k, &Password::empty(), data).unwrap();
        DetachedSignature::new(sig)
            .to_armored_bytes(Default::default())
            .unwrap()
    }

    struct Scratch(std::path::PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn trust(dirs: &TrustDirs, prefix: &str, key: &SignedSecretKey) {
        let public = key.to_public_key();
        let fp = fingerprint_hex(&public.primary_key.fingerprint());
        let dir = crate::paths::trusted_prefix_keys(&dirs.local, prefix);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(fp),
            public.to_armored_bytes(Default::default()).unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn signature_time_checks_allow_clock_skew() {
        let k = key("T <t@x>");
        let sig = |created| parse_signature(&sign(&k, b"data", created)).unwrap();
        assert!(check_signature(&sig(NOW), NOW).is_ok());
        assert!(check_signature(&sig(NOW + CLOCK_SKEW), NOW).is_ok());
        assert!(matches!(
            check_signature(&sig(NOW + CLOCK_SKEW + 1), NOW),
            Err(Error::FutureSignature { .. })
        ));
        assert!(matches!(
            parse_signature(b"garbage"),
            Err(Error::BadSignature(_))
        ));
    }

    #[test]
    fn verify_by_prefix_and_bytes() {
        let base = std::env::temp_dir().join(format!("rkt-verify-{}", std::process::id()));
        let _guard = Scratch(base.clone());
        let dirs = TrustDirs {
            system: base.join("sys"),
            local: base.join("local"),
        };
        std::fs::create_dir_all(&base).unwrap();
        let image = base.join("img.aci");
        std::fs::write(&image, b"image bytes").unwrap();
        let k = key("Signer <s@x>");
        let sig = sign(&k, b"image bytes", NOW);

        assert!(matches!(
            verify_at(&dirs, "example.com/app", &image, &sig, NOW),
            Err(Error::UnknownKey { .. })
        ));
        trust(&dirs, "example.com/app", &k);
        let ok = verify_at(&dirs, "example.com/app/x", &image, &sig, NOW).unwrap();
        assert_eq!(ok.identities, vec!["Signer <s@x>".to_string()]);
        assert!(matches!(
            verify_at(&dirs, "example.com/apple", &image, &sig, NOW),
            Err(Error::WrongPrefix { .. })
        ));
        std::fs::write(&image, b"image bytez").unwrap();
        assert!(matches!(
            verify_at(&dirs, "example.com/app", &image, &sig, NOW),
            Err(Error::Modified { .. })
        ));
    }
}
