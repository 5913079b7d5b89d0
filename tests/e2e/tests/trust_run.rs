//! `rkt run` of image files checks their signatures too: `--signature FILE` after the image
//! (per app, as rkt), or `<file>.aci.asc` beside it; a refusal happens before any pod exists
//! and leaves the store byte-identical.

use e2e::gpg::rpgp::{self, now, Alg, Hash};
use e2e::pod::{probe_manifest, probe_tar, LINUX_AMD64};
use e2e::store::{stderr, stdout};
use e2e::trust::{Config, TrustEnv};
use e2e::{aci, require_root, snapshot};

#[test]
fn run_verifies_image_files() {
    require_root();
    let env = TrustEnv::new("trust-run");
    let key = rpgp::generate(
        Alg::Ed25519,
        "Runner <run@trust.example>",
        now() - 60,
        true,
        None,
    );
    env.place_key(
        Config::Local,
        Some("example.com"),
        &key.fingerprint(),
        &key.armored(),
    );
    let img = env.t.join("probe.aci");
    aci::write(
        &img,
        &probe_tar(&probe_manifest("example.com/probe", LINUX_AMD64, ""), |t| t),
    );
    let bytes = std::fs::read(&img).unwrap();
    let sig = env.t.join("probe.sig");
    std::fs::write(&sig, key.sign(&bytes, false, Hash::Sha256, now(), false)).unwrap();
    let (i, s) = (img.to_str().unwrap(), sig.to_str().unwrap());

    // The per-app --signature follows its image.
    let out = env.rkt(&["run", i, "--signature", s]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("signature verified:"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("run@trust.example"));

    // Without it, <file>.asc beside the file is used: here by an untrusted key.
    let stranger = rpgp::generate(
        Alg::Ed25519,
        "Stranger <x@trust.example>",
        now() - 60,
        true,
        None,
    );
    env.sign_beside(
        &img,
        &stranger.sign(&bytes, false, Hash::Sha256, now(), true),
    );
    let before = snapshot::take(&env.t.store());
    let out = env.rkt(&["run", i]);
    assert_eq!(out.status.code(), Some(254), "{}", stdout(&out));
    let e = stderr(&out);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("openpgp: signature made by unknown entity")
            && e.contains("rkt trust --prefix example.com/probe"),
        "{e}"
    );
    snapshot::assert_same(&before, &snapshot::take(&env.t.store()), "run refused");

    // --signature must follow an image; in the store an image needs none.
    let out = env.rkt(&["run", "--signature", s, i]);
    assert_eq!(out.status.code(), Some(254));
    assert!(
        stderr(&out).contains("--signature must follow the image"),
        "{}",
        stderr(&out)
    );
    let out = env.rkt(&["run", "example.com/probe", "--signature", s]);
    assert_eq!(out.status.code(), Some(254));
    assert!(
        stderr(&out).contains("this image is in the store"),
        "{}",
        stderr(&out)
    );
    env.t.gc_all();
}
