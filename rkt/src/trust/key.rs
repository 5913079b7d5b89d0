//! OpenPGP public keys as rkt trusts them: parsing (armored or binary, several per file),
//! fingerprints, identities, and the policy rpgp leaves to its caller (its `verify` is purely
//! cryptographic): a key must carry a valid self-signature, must not be expired or revoked, and
//! may sign data only with a key that has the sign flag (a subkey also needs its valid,
//! cross-certified binding).

use std::io::BufReader;

use pgp::composed::{Deserializable, SignedPublicKey, SignedPublicSubKey};
use pgp::packet::{Signature, SignatureType, SubpacketData};
use pgp::types::{KeyDetails, Tag};

use super::Error;

/// The armor line every public key block starts with.
const ARMOR_BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

/// A parsed public key.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) key: SignedPublicKey,
}

/// Parses every key in `bytes`: one binary stream, or any number of armor blocks (rpgp reads one
/// armor block per call, so the text is split at each block's first line).
pub(crate) fn parse_all(bytes: &[u8], what: &str) -> Result<Vec<Key>, Error> {
    let bad = |reason: String| Error::BadKey {
        what: what.to_string(),
        reason,
    };
    let mut keys = Vec::new();
    let text = std::str::from_utf8(bytes).ok();
    if let Some(block) = text.and_then(|t| t.trim_start().strip_prefix("-----BEGIN PGP ")) {
        if !text.is_some_and(|t| t.contains(ARMOR_BEGIN)) {
            let kind = block.split("-----").next().unwrap_or("");
            return Err(bad(format!("not a public key (an armored {kind})")));
        }
    }
    match text.filter(|t| t.contains(ARMOR_BEGIN)) {
        Some(text) => {
            let starts: Vec<usize> = text.match_indices(ARMOR_BEGIN).map(|(i, _)| i).collect();
            for (n, &start) in starts.iter().enumerate() {
                let end = starts.get(n + 1).copied().unwrap_or(text.len());
                let block = &text[start..end];
                let (iter, _) = SignedPublicKey::from_armor_many(block.as_bytes())
                    .map_err(|e| bad(format!("armor block {}: {e}", n + 1)))?;
                for key in iter {
                    keys.push(Key {
                        key: key.map_err(|e| bad(e.to_string()))?,
                    });
                }
            }
        }
        None => {
            let iter = SignedPublicKey::from_bytes_many(BufReader::new(bytes))
                .map_err(|e| bad(e.to_string()))?;
            for key in iter {
                keys.push(Key {
                    key: key.map_err(|e| bad(e.to_string()))?,
                });
            }
        }
    }
    if keys.is_empty() {
        return Err(bad("no OpenPGP public key found".into()));
    }
    Ok(keys)
}

/// A fingerprint as rkt names key files: lowercase hex.
pub(crate) fn fingerprint_hex(fp: &pgp::types::Fingerprint) -> String {
    fp.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A fingerprint as rkt shows it for review: `8B86 DE38 890D DB72 9186  7B02 5210 BD88 8818 2190`.
pub(crate) fn fingerprint_human(fp: &pgp::types::Fingerprint) -> String {
    let hex: String = fp.as_bytes().iter().map(|b| format!("{b:02X}")).collect();
    let groups: Vec<&str> = hex
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    let half = groups.len() / 2;
    if groups.len() == 10 {
        format!("{}  {}", groups[..half].join(" "), groups[half..].join(" "))
    } else {
        groups.join(" ")
    }
}

/// What a key says about itself, from its newest valid self-signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Validity {
    /// When the key stops being valid, if it expires.
    pub(crate) expires: Option<u32>,
    /// Why it is revoked, if it is (possibly an empty reason).
    pub(crate) revoked: Option<String>,
    /// Whether it may sign data; `None` when the self-signature carries no key flags (old keys).
    pub(crate) can_sign: Option<bool>,
}

fn newest<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Option<&'a Signature> {
    sigs.max_by_key(|s| s.created().map(|t| t.as_secs()).unwrap_or(0))
}

fn has_key_flags(sig: &Signature) -> bool {
    sig.config().is_some_and(|c| {
        c.hashed_subpackets()
            .any(|p| matches!(p.data, SubpacketData::KeyFlags(_)))
    })
}

fn expiry(created: u32, sig: &Signature) -> Option<u32> {
    match sig.key_expiration_time().map(|d| d.as_secs()) {
        None | Some(0) => None,
        Some(d) => Some(created.saturating_add(d)),
    }
}

fn reason(sig: &Signature) -> String {
    sig.revocation_reason_string()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

impl Key {
    pub(crate) fn fingerprint(&self) -> String {
        fingerprint_hex(&self.key.primary_key.fingerprint())
    }

    /// The primary and then each subkey's fingerprint, as shown for review.
    pub(crate) fn human_fingerprints(&self) -> (String, Vec<String>) {
        let subs = self
            .key
            .public_subkeys
            .iter()
            .map(|s| fingerprint_human(&s.key.fingerprint()))
            .collect();
        (fingerprint_human(&self.key.primary_key.fingerprint()), subs)
    }

    /// The user IDs bound by a valid self-signature.
    pub(crate) fn identities(&self) -> Vec<String> {
        let primary = &self.key.primary_key;
        self.key
            .details
            .users
            .iter()
            .filter(|u| {
                u.signatures
                    .iter()
                    .any(|s| s.verify_certification(primary, Tag::UserId, &u.id).is_ok())
            })
            .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
            .collect()
    }

    /// The primary key's own state. A key without any valid self-signature is refused: nothing
    /// binds its identities, flags or expiry to it.
    pub(crate) fn primary_validity(&self) -> Result<Validity, Error> {
        let primary = &self.key.primary_key;
        let details = &self.key.details;
        let certs = details.users.iter().flat_map(|u| {
            u.signatures
                .iter()
                .filter(move |s| s.verify_certification(primary, Tag::UserId, &u.id).is_ok())
        });
        let direct = details
            .direct_signatures
            .iter()
            .filter(|s| s.typ() == Some(SignatureType::Key) && s.verify_key(primary).is_ok());
        let Some(self_sig) = newest(certs.chain(direct)) else {
            return Err(Error::BadKey {
                what: self.fingerprint(),
                reason: "no valid self-signature".into(),
            });
        };
        let revoked = details
            .revocation_signatures
            .iter()
            .find(|s| {
                s.typ() == Some(SignatureType::KeyRevocation) && s.verify_key(primary).is_ok()
            })
            .map(reason);
        Ok(Validity {
            expires: expiry(primary.created_at().as_secs(), self_sig),
            revoked,
            can_sign: has_key_flags(self_sig).then(|| self_sig.key_flags().sign()),
        })
    }

    /// A subkey's state: from its newest valid binding; a sign flag counts only with a valid
    /// back-signature (the subkey's consent to sign for this primary).
    pub(crate) fn subkey_validity(&self, sub: &SignedPublicSubKey) -> Result<Validity, Error> {
        let primary = &self.key.primary_key;
        let bindings = sub.signatures.iter().filter(|s| {
            s.typ() == Some(SignatureType::SubkeyBinding)
                && s.verify_subkey_binding(primary, &sub.key).is_ok()
        });
        let Some(binding) = newest(bindings) else {
            return Err(Error::NotSigningKey {
                fingerprint: fingerprint_hex(&sub.key.fingerprint()),
                reason: "the subkey has no valid binding signature".into(),
            });
        };
        let revoked = sub
            .signatures
            .iter()
            .find(|s| {
                s.typ() == Some(SignatureType::SubkeyRevocation)
                    && s.verify_subkey_binding(primary, &sub.key).is_ok()
            })
            .map(reason);
        let cross_certified = binding
            .embedded_signature()
            .is_some_and(|b| b.verify_primary_key_binding(&sub.key, primary).is_ok());
        Ok(Validity {
            expires: expiry(sub.key.created_at().as_secs(), binding),
            revoked,
            can_sign: Some(binding.key_flags().sign() && cross_certified),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_as_rkt_shows_them() {
        let fp = pgp::types::Fingerprint::V4([
            0x8b, 0x86, 0xde, 0x38, 0x89, 0x0d, 0xdb, 0x72, 0x91, 0x86, 0x7b, 0x02, 0x52, 0x10,
            0xbd, 0x88, 0x88, 0x18, 0x21, 0x90,
        ]);
        assert_eq!(
            fingerprint_human(&fp),
            "8B86 DE38 890D DB72 9186  7B02 5210 BD88 8818 2190"
        );
        assert_eq!(
            fingerprint_hex(&fp),
            "8b86de38890ddb7291867b025210bd8888182190"
        );
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert!(matches!(
            parse_all(b"hello", "x"),
            Err(Error::BadKey { .. })
        ));
        let armored = format!("{ARMOR_BEGIN}\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n");
        assert!(parse_all(armored.as_bytes(), "x").is_err());
        let sig = "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n";
        let err = parse_all(sig.as_bytes(), "x").unwrap_err().to_string();
        assert!(
            err.contains("not a public key (an armored SIGNATURE)"),
            "{err}"
        );
    }
}
