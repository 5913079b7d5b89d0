//! Key lifecycle and signature policy with keys made by rpgp (RSA and Ed25519, signing
//! subkeys): what rpgp's purely cryptographic `verify` accepts, rkt must refuse with its own
//! message (security-checklist.md §5 case 22). Every refusal leaves the store byte-identical.

use e2e::gpg::rpgp::{self, now, Alg, Hash, Sub};
use e2e::trust::{Config, TrustEnv};

const APP: &str = "example.com/app";

/// Trusts `key` for APP, writes an image signed as told beside it, and returns the image.
fn signed(
    env: &TrustEnv,
    key: &rpgp::Key,
    file: &str,
    subkey: bool,
    hash: Hash,
    created: u32,
) -> std::path::PathBuf {
    env.place_key(Config::Local, Some(APP), &key.fingerprint(), &key.armored());
    let img = env.image(APP, file);
    let bytes = std::fs::read(&img).unwrap();
    env.sign_beside(&img, &key.sign(&bytes, subkey, hash, created, true));
    img
}

#[test]
fn rsa_primary_and_ed25519_subkey_sign() {
    let env = TrustEnv::new("rpgp-ok");
    let rsa = rpgp::generate(Alg::Rsa, "RSA <rsa@rpgp.example>", now() - 60, true, None);
    let img = signed(&env, &rsa, "rsa.aci", false, Hash::Sha256, now());
    env.accepted(&img, None, "RSA <rsa@rpgp.example>");

    let ed = rpgp::generate(
        Alg::Ed25519,
        "Ed <ed@rpgp.example>",
        now() - 60,
        false,
        Some(Sub {
            alg: Alg::Ed25519,
            sign: true,
        }),
    );
    let img = signed(&env, &ed, "ed.aci", true, Hash::Sha512, now());
    env.accepted(&img, None, "Ed <ed@rpgp.example>");

    // A binary key file, and a binary signature given with --signature.
    let env = TrustEnv::new("rpgp-bin");
    env.place_key(Config::Local, Some(APP), &ed.fingerprint(), &ed.binary());
    let img = env.image(APP, "bin.aci");
    let sig = env.t.join("bin.sig");
    std::fs::write(
        &sig,
        ed.sign(
            &std::fs::read(&img).unwrap(),
            true,
            Hash::Sha256,
            now(),
            false,
        ),
    )
    .unwrap();
    env.accepted(&img, Some(&sig), "ed@rpgp.example");
}

#[test]
fn expired_primary_and_expired_subkey() {
    let env = TrustEnv::new("rpgp-expired");
    let mut key = rpgp::generate(
        Alg::Ed25519,
        "Old <old@rpgp.example>",
        now() - 1000,
        true,
        None,
    );
    key.expire_primary(100);
    let img = signed(&env, &key, "exp.aci", false, Hash::Sha256, now() - 950);
    env.refused(&img, None, "the primary key");
    env.refused(&img, None, "expired on");

    let mut key = rpgp::generate(
        Alg::Ed25519,
        "Sub <sub@rpgp.example>",
        now() - 1000,
        false,
        Some(Sub {
            alg: Alg::Ed25519,
            sign: true,
        }),
    );
    key.expire_subkey(100);
    let img = signed(&env, &key, "subexp.aci", true, Hash::Sha256, now() - 950);
    env.refused(&img, None, "the signing subkey");
    env.refused(&img, None, "expired on");
}

#[test]
fn revoked_primary_and_revoked_subkey() {
    let env = TrustEnv::new("rpgp-revoked");
    let mut key = rpgp::generate(Alg::Rsa, "Gone <gone@rpgp.example>", now() - 60, true, None);
    key.revoke_primary();
    let img = signed(&env, &key, "rev.aci", false, Hash::Sha256, now());
    env.refused(&img, None, "the primary key");
    env.refused(&img, None, "is revoked");

    let mut key = rpgp::generate(
        Alg::Ed25519,
        "Sub <sub@rpgp.example>",
        now() - 60,
        false,
        Some(Sub {
            alg: Alg::Ed25519,
            sign: true,
        }),
    );
    key.revoke_subkey();
    let img = signed(&env, &key, "subrev.aci", true, Hash::Sha256, now());
    env.refused(&img, None, "the signing subkey");
    env.refused(&img, None, "is revoked");
}

#[test]
fn subkey_without_the_sign_flag_and_primary_without_it() {
    let env = TrustEnv::new("rpgp-flags");
    let key = rpgp::generate(
        Alg::Ed25519,
        "Auth <auth@rpgp.example>",
        now() - 60,
        true,
        Some(Sub {
            alg: Alg::Ed25519,
            sign: false,
        }),
    );
    let img = signed(&env, &key, "auth.aci", true, Hash::Sha256, now());
    env.refused(&img, None, "may not sign images");
    env.refused(&img, None, "lacks the sign flag");

    let key = rpgp::generate(
        Alg::Ed25519,
        "Cert <cert@rpgp.example>",
        now() - 60,
        false,
        Some(Sub {
            alg: Alg::Ed25519,
            sign: true,
        }),
    );
    let img = signed(&env, &key, "cert.aci", false, Hash::Sha256, now());
    env.refused(&img, None, "the primary key lacks the sign flag");
}

#[test]
fn future_signatures_beyond_the_skew_and_sha1() {
    let env = TrustEnv::new("rpgp-time");
    let key = rpgp::generate(
        Alg::Ed25519,
        "Clock <clock@rpgp.example>",
        now() - 60,
        true,
        None,
    );
    let img = signed(&env, &key, "future.aci", false, Hash::Sha256, now() + 3600);
    env.refused(&img, None, "made in the future");
    // A minute ahead is clock skew, not the future.
    let img = signed(&env, &key, "skew.aci", false, Hash::Sha256, now() + 60);
    env.accepted(&img, None, "clock@rpgp.example");
    // rpgp itself will not make an Ed25519 signature over SHA-1; RSA it will.
    let rsa = rpgp::generate(Alg::Rsa, "Sha1 <sha1@rpgp.example>", now() - 60, true, None);
    let img = signed(&env, &rsa, "sha1.aci", false, Hash::Sha1, now());
    env.refused(&img, None, "broken digest SHA1");
}
