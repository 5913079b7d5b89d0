//! OpenPGP keys and signatures for the trust tests, made two ways: with real GnuPG
//! ([`Gpg`], `gpg --batch` in a throw-away home at a short path, its agent killed on drop) and
//! with rpgp ([`rpgp`]), which can also craft what gpg will not: signatures dated in the
//! future, a subkey signing without the sign flag, expiry and revocation at chosen times.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A GnuPG home for one test. Its path is short (`/tmp/g.XXXXXX`): the agent's socket path is
/// limited to about 100 bytes.
pub struct Gpg {
    home: PathBuf,
}

impl Default for Gpg {
    fn default() -> Self {
        Self::new()
    }
}

impl Gpg {
    pub fn new() -> Gpg {
        let out = Command::new("mktemp")
            .args(["-d", "/tmp/g.XXXXXX"])
            .output()
            .expect("mktemp");
        assert!(out.status.success(), "mktemp -d failed");
        let home = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        Gpg { home }
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("timeout");
        c.args(["60", "gpg", "--batch", "--no-tty", "--quiet"])
            .args(["--pinentry-mode", "loopback", "--passphrase", ""])
            .env("GNUPGHOME", &self.home)
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Vec<u8> {
        let out = self.cmd().args(args).output().expect("run gpg");
        assert!(
            out.status.success(),
            "gpg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// `gpg --quick-gen-key UID ALGO USAGE EXPIRE`; returns the primary fingerprint (upper hex).
    pub fn gen_key(&self, uid: &str, algo: &str, usage: &str, expire: &str) -> String {
        self.run(&["--quick-gen-key", uid, algo, usage, expire]);
        self.fingerprints(uid)[0].clone()
    }

    /// Adds a subkey to `fpr`; returns the new subkey's fingerprint.
    pub fn add_subkey(&self, fpr: &str, algo: &str, usage: &str, expire: &str) -> String {
        self.run(&["--quick-add-key", fpr, algo, usage, expire]);
        self.fingerprints(fpr).last().unwrap().clone()
    }

    /// The primary and subkey fingerprints of a key, in order.
    pub fn fingerprints(&self, spec: &str) -> Vec<String> {
        let out = self.run(&["--with-colons", "--fingerprint", "--fingerprint", spec]);
        String::from_utf8(out)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("fpr:"))
            .map(|l| l.split(':').nth(9).unwrap().to_string())
            .collect()
    }

    /// The public key, armored or binary.
    pub fn export(&self, spec: &str, armor: bool) -> Vec<u8> {
        let mut args = vec!["--export"];
        if armor {
            args.insert(0, "--armor");
        }
        args.push(spec);
        self.run(&args)
    }

    /// A detached signature of `file` by `key` (`FPR!` forces that exact subkey).
    pub fn sign(&self, file: &Path, key: &str, armor: bool, digest: Option<&str>) -> Vec<u8> {
        let mut args = vec!["--local-user", key, "--detach-sign", "--output", "-"];
        if armor {
            args.push("--armor");
        }
        if let Some(d) = digest {
            args.extend(["--digest-algo", d]);
        }
        args.push(file.to_str().unwrap());
        self.run(&args)
    }

    /// Revokes the primary key by importing the revocation certificate gpg made with it.
    pub fn revoke(&self, fpr: &str) {
        let rev = self
            .home
            .join("openpgp-revocs.d")
            .join(format!("{fpr}.rev"));
        let text = std::fs::read_to_string(&rev).expect("revocation certificate");
        // gpg guards the stored certificate with a leading ':' on the armor line.
        let cert = text.replace(
            ":-----BEGIN PGP PUBLIC KEY BLOCK-----",
            "-----BEGIN PGP PUBLIC KEY BLOCK-----",
        );
        let path = self.home.join("rev.asc");
        std::fs::write(&path, cert).unwrap();
        self.run(&["--import", path.to_str().unwrap()]);
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("timeout")
            .args(["20", "gpgconf", "--kill", "all"])
            .env("GNUPGHOME", &self.home)
            .status();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// Keys and signatures made with rpgp.
pub mod rpgp {
    use pgp::composed::{
        DetachedSignature, KeyType, SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey,
        SubkeyParamsBuilder,
    };
    use pgp::crypto::hash::HashAlgorithm;
    use pgp::packet::{KeyFlags, SignatureConfig, SignatureType, Subpacket, SubpacketData};
    use pgp::ser::Serialize;
    use pgp::types::{Duration, KeyDetails, Password, Tag, Timestamp};

    pub use pgp::crypto::hash::HashAlgorithm as Hash;

    /// The key algorithms the tests use.
    #[derive(Clone, Copy, Debug)]
    pub enum Alg {
        Rsa,
        Ed25519,
    }

    fn key_type(alg: Alg) -> KeyType {
        match alg {
            Alg::Rsa => KeyType::Rsa(2048),
            Alg::Ed25519 => KeyType::Ed25519Legacy,
        }
    }

    pub fn now() -> u32 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as u32
    }

    /// A subkey to add: its algorithm and whether it has the sign flag.
    #[derive(Clone, Copy, Debug)]
    pub struct Sub {
        pub alg: Alg,
        pub sign: bool,
    }

    /// A key and what it became (expired, revoked...): the secret half signs, the public half
    /// is what gets trusted.
    pub struct Key {
        pub secret: SignedSecretKey,
        pub public: SignedPublicKey,
    }

    /// A fresh key, created at `created`; the primary signs unless a subkey is the signer.
    pub fn generate(
        alg: Alg,
        uid: &str,
        created: u32,
        primary_signs: bool,
        sub: Option<Sub>,
    ) -> Key {
        let mut rng = rand::thread_rng();
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(key_type(alg))
            .can_certify(true)
            .can_sign(primary_signs)
            .primary_user_id(uid.to_string())
            .created_at(Timestamp::from_secs(created));
        if let Some(sub) = sub {
            params.subkey(
                SubkeyParamsBuilder::default()
                    .key_type(key_type(sub.alg))
                    .can_sign(sub.sign)
                    .can_authenticate(!sub.sign)
                    .created_at(Timestamp::from_secs(created))
                    .build()
                    .unwrap(),
            );
        }
        let secret = params.build().unwrap().generate(&mut rng).unwrap();
        let public = secret.to_public_key();
        Key { secret, public }
    }

    fn subpackets(created: u32, issuer: &impl KeyDetails) -> (Vec<Subpacket>, Vec<Subpacket>) {
        (
            vec![
                Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
                    created,
                )))
                .unwrap(),
                Subpacket::regular(SubpacketData::IssuerFingerprint(issuer.fingerprint())).unwrap(),
            ],
            vec![Subpacket::regular(SubpacketData::IssuerKeyId(issuer.legacy_key_id())).unwrap()],
        )
    }

    fn sign_flags() -> KeyFlags {
        let mut f = KeyFlags::default();
        f.set_sign(true);
        f.set_certify(true);
        f
    }

    impl Key {
        pub fn fingerprint(&self) -> String {
            self.public
                .primary_key
                .fingerprint()
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        }

        pub fn armored(&self) -> Vec<u8> {
            self.public.to_armored_bytes(Default::default()).unwrap()
        }

        pub fn binary(&self) -> Vec<u8> {
            self.public.to_bytes().unwrap()
        }

        /// A new, newer self-signature saying the primary key expires `secs` after creation.
        pub fn expire_primary(&mut self, secs: u32) {
            let pk = self.secret.primary_key.public_key();
            let mut config = SignatureConfig::v4(
                SignatureType::CertPositive,
                pk.algorithm(),
                HashAlgorithm::Sha256,
            );
            let (mut hashed, unhashed) = subpackets(now(), pk);
            hashed.push(
                Subpacket::regular(SubpacketData::KeyExpirationTime(Duration::from_secs(secs)))
                    .unwrap(),
            );
            hashed.push(Subpacket::regular(SubpacketData::KeyFlags(sign_flags())).unwrap());
            config.hashed_subpackets = hashed;
            config.unhashed_subpackets = unhashed;
            let user = &self.public.details.users[0];
            let sig = config
                .sign_certification(
                    &self.secret.primary_key,
                    pk,
                    &Password::empty(),
                    Tag::UserId,
                    &user.id,
                )
                .unwrap();
            self.public.details.users[0].signatures.push(sig);
        }

        /// A key revocation signature.
        pub fn revoke_primary(&mut self) {
            let pk = self.secret.primary_key.public_key();
            let mut config = SignatureConfig::v4(
                SignatureType::KeyRevocation,
                pk.algorithm(),
                HashAlgorithm::Sha256,
            );
            let (hashed, unhashed) = subpackets(now(), pk);
            config.hashed_subpackets = hashed;
            config.unhashed_subpackets = unhashed;
            let sig = config
                .sign_key(&self.secret.primary_key, &Password::empty(), pk)
                .unwrap();
            self.public.details.revocation_signatures.push(sig);
        }

        /// A subkey revocation signature for the first subkey.
        pub fn revoke_subkey(&mut self) {
            let pk = self.secret.primary_key.public_key();
            let sub = self.secret.secret_subkeys[0].key.public_key();
            let mut config = SignatureConfig::v4(
                SignatureType::SubkeyRevocation,
                pk.algorithm(),
                HashAlgorithm::Sha256,
            );
            let (hashed, unhashed) = subpackets(now(), pk);
            config.hashed_subpackets = hashed;
            config.unhashed_subpackets = unhashed;
            let sig = config
                .sign_subkey_binding(&self.secret.primary_key, pk, &Password::empty(), sub)
                .unwrap();
            self.public.public_subkeys[0].signatures.push(sig);
        }

        /// A new binding for the first subkey: signing, cross-certified, expiring `secs` after
        /// the subkey's creation.
        pub fn expire_subkey(&mut self, secs: u32) {
            let pk = self.secret.primary_key.public_key();
            let sub_secret = &self.secret.secret_subkeys[0].key;
            let sub = sub_secret.public_key();
            let mut back = SignatureConfig::v4(
                SignatureType::KeyBinding,
                sub.algorithm(),
                HashAlgorithm::Sha256,
            );
            let (hashed, unhashed) = subpackets(now(), sub);
            back.hashed_subpackets = hashed;
            back.unhashed_subpackets = unhashed;
            let backsig = back
                .sign_primary_key_binding(sub_secret, sub, &Password::empty(), pk)
                .unwrap();
            let mut config = SignatureConfig::v4(
                SignatureType::SubkeyBinding,
                pk.algorithm(),
                HashAlgorithm::Sha256,
            );
            let (mut hashed, mut unhashed) = subpackets(now(), pk);
            let mut flags = KeyFlags::default();
            flags.set_sign(true);
            hashed.push(Subpacket::regular(SubpacketData::KeyFlags(flags)).unwrap());
            hashed.push(
                Subpacket::regular(SubpacketData::KeyExpirationTime(Duration::from_secs(secs)))
                    .unwrap(),
            );
            unhashed.push(
                Subpacket::regular(SubpacketData::EmbeddedSignature(Box::new(backsig))).unwrap(),
            );
            config.hashed_subpackets = hashed;
            config.unhashed_subpackets = unhashed;
            let sig = config
                .sign_subkey_binding(&self.secret.primary_key, pk, &Password::empty(), sub)
                .unwrap();
            self.public.public_subkeys[0].signatures.push(sig);
        }

        /// A detached signature over `data` by the primary (`subkey: false`) or the first
        /// subkey, with the given digest and creation time.
        pub fn sign(
            &self,
            data: &[u8],
            subkey: bool,
            hash: HashAlgorithm,
            created: u32,
            armor: bool,
        ) -> Vec<u8> {
            let sig = if subkey {
                let key = &self.secret.secret_subkeys[0].key;
                let mut config = SignatureConfig::v4(SignatureType::Binary, key.algorithm(), hash);
                let (hashed, unhashed) = subpackets(created, key.public_key());
                config.hashed_subpackets = hashed;
                config.unhashed_subpackets = unhashed;
                config.sign(key, &Password::empty(), data).unwrap()
            } else {
                let key = &self.secret.primary_key;
                let mut config = SignatureConfig::v4(SignatureType::Binary, key.algorithm(), hash);
                let (hashed, unhashed) = subpackets(created, key.public_key());
                config.hashed_subpackets = hashed;
                config.unhashed_subpackets = unhashed;
                config.sign(key, &Password::empty(), data).unwrap()
            };
            let detached = DetachedSignature::new(sig);
            if armor {
                detached.to_armored_bytes(Default::default()).unwrap()
            } else {
                detached.to_bytes().unwrap()
            }
        }
    }
}
