//! Signed local images with keys and signatures made by real GnuPG: accepted when a trusted key
//! for a path-component prefix of the manifest's name signed these bytes, refused (store
//! byte-identical) otherwise. security-checklist.md §5 cases 20-23.

use e2e::gpg::Gpg;
use e2e::store::stderr;
use e2e::trust::{Config, TrustEnv};

const APP: &str = "example.com/app";

/// An RSA key that signs, and its fingerprint.
fn rsa(gpg: &Gpg, uid: &str) -> String {
    gpg.gen_key(uid, "rsa2048", "sign", "never")
}

#[test]
fn rsa_armored_and_binary_keys_and_signatures() {
    let env = TrustEnv::new("gpg-rsa");
    let gpg = Gpg::new();
    let fpr = rsa(&gpg, "RSA Signer <rsa@example.com>");
    env.place_key(Config::Local, Some(APP), &fpr, &gpg.export(&fpr, true));

    // Armored signature beside the file: <file>.aci.asc.
    let img = env.image(APP, "a.aci");
    env.sign_beside(&img, &gpg.sign(&img, &fpr, true, None));
    env.accepted(&img, None, "RSA Signer <rsa@example.com>");

    // Binary signature through --signature, binary key file.
    let env2 = TrustEnv::new("gpg-rsa-bin");
    env2.place_key(Config::Local, Some(APP), &fpr, &gpg.export(&fpr, false));
    let img = env2.image(APP, "b.aci");
    let sig = env2.t.join("b.sig");
    std::fs::write(&sig, gpg.sign(&img, &fpr, false, None)).unwrap();
    env2.accepted(&img, Some(&sig), "rsa@example.com");
}

#[test]
fn ed25519_signing_subkey_of_a_certify_only_primary() {
    let env = TrustEnv::new("gpg-ed");
    let gpg = Gpg::new();
    let fpr = gpg.gen_key("Ed Signer <ed@example.com>", "ed25519", "cert", "never");
    let sub = gpg.add_subkey(&fpr, "ed25519", "sign", "never");
    env.place_key(
        Config::Local,
        Some("example.com"),
        &fpr,
        &gpg.export(&fpr, true),
    );
    let img = env.image(APP, "sub.aci");
    env.sign_beside(&img, &gpg.sign(&img, &format!("{sub}!"), true, None));
    env.accepted(&img, None, "Ed Signer <ed@example.com>");
}

#[test]
fn modified_image_and_signature_of_another_image() {
    let env = TrustEnv::new("gpg-mod");
    let gpg = Gpg::new();
    let fpr = rsa(&gpg, "Signer <s@example.com>");
    env.place_key(Config::Local, Some(APP), &fpr, &gpg.export(&fpr, true));
    // Case 20: a valid signature by a trusted key over different bytes.
    let img = env.image(APP, "one.aci");
    let other = env.image(APP, "two.aci");
    env.sign_beside(&img, &gpg.sign(&other, &fpr, true, None));
    env.refused(&img, None, "does not match the image");
    // One byte of a file's content changed after signing (a plain tar, so still valid).
    let img = env.image_plain(APP, "three.aci");
    env.sign_beside(&img, &gpg.sign(&img, &fpr, true, None));
    let mut bytes = std::fs::read(&img).unwrap();
    let at = bytes.windows(9).position(|w| w == b"three.aci").unwrap();
    bytes[at + 8] = b'j';
    std::fs::write(&img, bytes).unwrap();
    env.refused(&img, None, "does not match the image");
}

#[test]
fn unknown_key_and_wrong_prefixes() {
    let env = TrustEnv::new("gpg-prefix");
    let gpg = Gpg::new();
    let fpr = rsa(&gpg, "App Signer <app@example.com>");
    // Case 21: unknown key, with the hint to trust it.
    let img = env.image(APP, "u.aci");
    env.sign_beside(&img, &gpg.sign(&img, &fpr, true, None));
    env.refused(&img, None, "openpgp: signature made by unknown entity");
    env.refused(&img, None, "rkt trust --prefix example.com/app");

    // A key for example.com/app does not cover example.com/apple (a string prefix).
    env.place_key(Config::Local, Some(APP), &fpr, &gpg.export(&fpr, true));
    let apple = env.image("example.com/apple", "apple.aci");
    env.sign_beside(&apple, &gpg.sign(&apple, &fpr, true, None));
    env.refused(&apple, None, "trusted only for prefix \"example.com/app\"");
    // A key for a.com does not cover b.com/x.
    env.place_key(Config::Local, Some("a.com"), &fpr, &gpg.export(&fpr, true));
    let b = env.image("b.com/x", "b.aci");
    env.sign_beside(&b, &gpg.sign(&b, &fpr, true, None));
    env.refused(&b, None, "not for \"b.com/x\"");
    // But it covers a deeper name under its prefix, and a root key covers everything.
    let deep = env.image("example.com/app/sub", "deep.aci");
    env.sign_beside(&deep, &gpg.sign(&deep, &fpr, true, None));
    env.accepted(&deep, None, "app@example.com");
    env.place_key(Config::System, None, &fpr, &gpg.export(&fpr, true));
    env.accepted(&b, None, "app@example.com");
}

#[test]
fn sha1_data_signature_is_refused() {
    let env = TrustEnv::new("gpg-sha1");
    let gpg = Gpg::new();
    let fpr = rsa(&gpg, "Old <old@example.com>");
    env.place_key(Config::Local, Some(APP), &fpr, &gpg.export(&fpr, true));
    let img = env.image(APP, "sha1.aci");
    env.sign_beside(&img, &gpg.sign(&img, &fpr, true, Some("SHA1")));
    env.refused(&img, None, "broken digest SHA1");
}

#[test]
fn expired_and_revoked_gpg_keys_are_refused() {
    let env = TrustEnv::new("gpg-life");
    let gpg = Gpg::new();
    // A key made "in 2020" that expired a day later, and a signature dated then.
    let fpr = {
        let out = std::process::Command::new("timeout")
            .args([
                "60",
                "gpg",
                "--batch",
                "--quiet",
                "--pinentry-mode",
                "loopback",
            ])
            .args([
                "--passphrase",
                "",
                "--faked-system-time",
                "20200101T000000!",
            ])
            .args([
                "--quick-gen-key",
                "Expired <exp@example.com>",
                "rsa2048",
                "sign",
                "1d",
            ])
            .env("GNUPGHOME", gpg.home())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        gpg.fingerprints("exp@example.com")[0].clone()
    };
    env.place_key(Config::Local, Some(APP), &fpr, &gpg.export(&fpr, true));
    let img = env.image(APP, "exp.aci");
    let sig = std::process::Command::new("timeout")
        .args([
            "60",
            "gpg",
            "--batch",
            "--quiet",
            "--faked-system-time",
            "20200101T060000!",
        ])
        .args([
            "--local-user",
            &fpr,
            "--armor",
            "--detach-sign",
            "--output",
            "-",
        ])
        .arg(&img)
        .env("GNUPGHOME", gpg.home())
        .output()
        .unwrap();
    assert!(
        sig.status.success(),
        "{}",
        String::from_utf8_lossy(&sig.stderr)
    );
    env.sign_beside(&img, &sig.stdout);
    env.refused(&img, None, "primary key");
    env.refused(&img, None, "expired on 2020-01-02");

    // Revoked: gpg's own revocation certificate, imported, then the key exported again.
    let fpr = rsa(&gpg, "Revoked <rev@example.com>");
    let img = env.image(APP, "rev.aci");
    env.sign_beside(&img, &gpg.sign(&img, &fpr, true, None));
    gpg.revoke(&fpr);
    env.place_key(Config::Local, Some(APP), &fpr, &gpg.export(&fpr, true));
    env.refused(&img, None, "is revoked");
}

#[test]
fn missing_signature_and_insecure_option() {
    let env = TrustEnv::new("gpg-nosig");
    let img = env.image(APP, "nosig.aci");
    env.refused(&img, None, "error opening signature file");
    env.refused(&img, None, "use --insecure-options=image");
    let out = env.rkt(&["fetch", "--insecure-options=image", img.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("signature verification has been disabled"));
    // A signature for an image already in the store (by ID) makes no sense: refused.
    let id = e2e::store::stdout(&out).trim().to_string();
    let sig = env.t.join("x.asc");
    std::fs::write(&sig, b"x").unwrap();
    let out = env.rkt(&["fetch", &id, "--signature", sig.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(254));
    assert!(
        stderr(&out).contains("this image is in the store"),
        "{}",
        stderr(&out)
    );
    // An explicit --signature that does not exist is an error naming it.
    let missing = env.t.join("missing.asc");
    env.refused(&img, Some(&missing), "missing.asc");
}

#[test]
fn key_files_named_by_fingerprint_masking_and_appended_keys() {
    let env = TrustEnv::new("gpg-files");
    let gpg = Gpg::new();
    let k1 = rsa(&gpg, "First <one@example.com>");
    let k2 = gpg.gen_key("Second <two@example.com>", "ed25519", "sign", "never");
    let img = env.image(APP, "k2.aci");
    env.sign_beside(&img, &gpg.sign(&img, &k2, true, None));

    // Case 23: K2 appended to K1's file (armored blocks, then binary packets) is not trusted.
    let mut both = gpg.export(&k1, true);
    both.extend(gpg.export(&k2, true));
    env.place_key(Config::Local, Some(APP), &k1, &both);
    env.refused(&img, None, "openpgp: signature made by unknown entity");
    let mut both = gpg.export(&k1, false);
    both.extend(gpg.export(&k2, false));
    env.place_key(Config::Local, Some(APP), &k1, &both);
    env.refused(&img, None, "openpgp: signature made by unknown entity");

    // A file whose name is not its key's fingerprint fails loudly.
    let env = TrustEnv::new("gpg-names");
    env.place_key(Config::Local, Some(APP), &k1, &gpg.export(&k2, true));
    env.refused(&img, None, "the file name must be its fingerprint");

    // A system key works; an empty local file of the same name masks it.
    let env = TrustEnv::new("gpg-mask");
    env.place_key(Config::System, Some(APP), &k2, &gpg.export(&k2, true));
    env.accepted(&img, None, "two@example.com");
    let img2 = env.image(APP, "k2b.aci");
    env.sign_beside(&img2, &gpg.sign(&img2, &k2, true, None));
    env.place_key(Config::Local, Some(APP), &k2, b"");
    env.refused(&img2, None, "openpgp: signature made by unknown entity");
}
