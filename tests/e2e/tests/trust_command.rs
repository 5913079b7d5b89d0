//! `rkt trust`: fingerprint review through a pty (`script`), `--skip-fingerprint-review`,
//! `--root`, files holding several keys, and `--prefix` validation (nothing is ever written
//! outside `trustedkeys`).

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::gpg::rpgp::{self, now, Alg};
use e2e::gpg::Gpg;
use e2e::store::{stderr, stdout};
use e2e::trust::TrustEnv;

const APP: &str = "example.com/app";

fn ed(uid: &str) -> rpgp::Key {
    rpgp::generate(Alg::Ed25519, uid, now() - 60, true, None)
}

fn write(env: &TrustEnv, name: &str, bytes: &[u8]) -> PathBuf {
    let p = env.t.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(base, &e.path(), out);
            } else {
                out.push(e.path().strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

/// rkt's question after showing a key.
const PROMPT: &str = "Are you sure you want to trust this key (yes/no)? ";

/// `rkt trust ARGS` on a terminal the test drives, typing each answer once the question is
/// asked (see `e2e::pty::answer_prompts`); returns the whole terminal transcript and the exit
/// code.
fn trust_on_pty(env: &TrustEnv, args: &[&str], answers: &[&str]) -> (String, i32) {
    let mut cmd = Command::new(e2e::rkt_bin());
    cmd.arg(format!("--dir={}", env.t.store().display()))
        .arg(format!("--system-config={}", env.system.display()))
        .arg(format!("--local-config={}", env.local.display()))
        .arg("trust")
        .args(args);
    let dialogue: Vec<(&str, &str)> = answers.iter().map(|a| (PROMPT, *a)).collect();
    e2e::pty::answer_prompts(&mut cmd, &dialogue)
}

#[test]
fn review_on_a_terminal_yes_stores_no_declines() {
    let env = TrustEnv::new("trust-pty");
    let key = ed("Reviewed <rev@trust.example>");
    let file = write(&env, "k.asc", &key.armored());
    let fpr = key.fingerprint();

    let (out, code) = trust_on_pty(&env, &["--prefix", APP, file.to_str().unwrap()], &["no\n"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("Prefix: \"{APP}\"")), "{out}");
    assert!(out.contains("GPG key fingerprint is: "), "{out}");
    assert!(out.contains("\tReviewed <rev@trust.example>"), "{out}");
    assert!(
        out.contains("Are you sure you want to trust this key (yes/no)?"),
        "{out}"
    );
    assert!(out.contains("Not trusting"), "{out}");
    assert!(files(&env.local).is_empty(), "declined key stored");

    // A wrong answer asks again; then yes.
    let (out, code) = trust_on_pty(
        &env,
        &["--prefix", APP, file.to_str().unwrap()],
        &["maybe\n", "yes\n"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Please enter 'yes' or 'no'"), "{out}");
    assert!(out.contains("after fingerprint review."), "{out}");
    let stored = format!("trustedkeys/prefix.d/{APP}/{fpr}");
    assert!(
        out.contains(&format!(
            "Added key for prefix \"{APP}\" at \"{}\"",
            env.local.join(&stored).display()
        )),
        "{out}"
    );
    assert_eq!(files(&env.local), vec![stored]);

    // The stored key now verifies images of the prefix.
    let img = env.image(APP, "a.aci");
    let bytes = std::fs::read(&img).unwrap();
    env.sign_beside(
        &img,
        &key.sign(&bytes, false, rpgp::Hash::Sha256, now(), true),
    );
    env.accepted(&img, None, "rev@trust.example");
}

#[test]
fn skip_review_prefix_and_root() {
    let env = TrustEnv::new("trust-skip");
    let key = ed("Skipped <skip@trust.example>");
    let file = write(&env, "k.gpg", &key.binary());
    let out = env.rkt(&[
        "trust",
        "--prefix=example.com",
        "--skip-fingerprint-review",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("without fingerprint review."),
        "{}",
        stderr(&out)
    );
    let rel = format!("trustedkeys/prefix.d/example.com/{}", key.fingerprint());
    assert_eq!(
        stdout(&out),
        format!(
            "Added key for prefix \"example.com\" at \"{}\"\n",
            env.local.join(&rel).display()
        )
    );

    let root = ed("Root <root@trust.example>");
    let file = write(&env, "r.asc", &root.armored());
    let out = env.rkt(&[
        "trust",
        "--root",
        "--skip-fingerprint-review",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let root_rel = format!("trustedkeys/root.d/{}", root.fingerprint());
    assert_eq!(
        stdout(&out),
        format!(
            "Added root key at \"{}\"\n",
            env.local.join(&root_rel).display()
        )
    );
    let mut want = vec![rel, root_rel];
    want.sort();
    assert_eq!(files(&env.local), want);

    // A root key verifies any name.
    let img = env.image("other.org/thing", "t.aci");
    let bytes = std::fs::read(&img).unwrap();
    env.sign_beside(
        &img,
        &root.sign(&bytes, false, rpgp::Hash::Sha256, now(), true),
    );
    env.accepted(&img, None, "root@trust.example");
}

#[test]
fn a_file_with_several_keys_is_stored_one_file_per_key() {
    let env = TrustEnv::new("trust-multi");
    let gpg = Gpg::new();
    let k1 = gpg.gen_key("One <one@trust.example>", "ed25519", "sign", "never");
    let k2 = gpg.gen_key("Two <two@trust.example>", "ed25519", "sign", "never");
    // One armor block holding both keys.
    let out = Command::new("timeout")
        .args(["60", "gpg", "--batch", "--armor", "--export", &k1, &k2])
        .env("GNUPGHOME", gpg.home())
        .output()
        .unwrap();
    assert!(out.status.success());
    let file = write(&env, "both.asc", &out.stdout);
    let run = env.rkt(&[
        "trust",
        "--prefix",
        APP,
        "--skip-fingerprint-review",
        file.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(stdout(&run).lines().count(), 2, "{}", stdout(&run));
    let dir = format!("trustedkeys/prefix.d/{APP}");
    let mut want = vec![
        format!("{dir}/{}", k1.to_lowercase()),
        format!("{dir}/{}", k2.to_lowercase()),
    ];
    want.sort();
    assert_eq!(files(&env.local), want);

    // Two armor blocks one after the other: the same.
    let env = TrustEnv::new("trust-multi2");
    let mut cat = gpg.export(&k1, true);
    cat.extend(gpg.export(&k2, true));
    let file = write(&env, "cat.asc", &cat);
    let run = env.rkt(&[
        "trust",
        "--prefix",
        APP,
        "--skip-fingerprint-review",
        file.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(files(&env.local), want);

    // Each stored file holds one key: an image signed by K2 verifies through K2's file.
    let img = env.image(APP, "k2.aci");
    env.sign_beside(&img, &gpg.sign(&img, &k2, true, None));
    env.accepted(&img, None, "two@trust.example");
}

#[test]
fn prefixes_are_validated_and_nothing_escapes_trustedkeys() {
    let env = TrustEnv::new("trust-prefix");
    let key = ed("P <p@trust.example>");
    let file = write(&env, "k.asc", &key.armored());
    let parent: Vec<String> = files(&env.t.path);
    for bad in [
        "a/../../x",
        "/etc/evil",
        "..",
        "a/./b",
        "Example.com",
        "a//b",
        "",
    ] {
        let out = env.rkt(&[
            "trust",
            &format!("--prefix={bad}"),
            "--skip-fingerprint-review",
            file.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(254), "{bad:?}: {}", stderr(&out));
        let e = stderr(&out);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(
            e.starts_with("rkt: trust: invalid --prefix"),
            "{bad:?}: {e}"
        );
    }
    assert_eq!(files(&env.t.path), parent, "something was written");
}

#[test]
fn usage_errors_are_clear() {
    let env = TrustEnv::new("trust-usage");
    let key = ed("U <u@trust.example>");
    let file = write(&env, "k.asc", &key.armored());
    let f = file.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["trust", "--prefix", APP, f], "needs a terminal"),
        (
            &["trust", "--skip-fingerprint-review", f],
            "--prefix or --root is required",
        ),
        (
            &[
                "trust",
                "--root",
                "--prefix",
                APP,
                "--skip-fingerprint-review",
                f,
            ],
            "mutually exclusive",
        ),
        (
            &["trust", "--root", "--skip-fingerprint-review"],
            "--root needs a key file",
        ),
        (
            // Refused before any connection: keys come over https unless allowed.
            &[
                "trust",
                "--prefix",
                APP,
                "--skip-fingerprint-review",
                "http://127.0.0.1:9/key.gpg",
            ],
            "plain http is refused",
        ),
        (
            &[
                "trust",
                "--prefix",
                APP,
                "--skip-fingerprint-review",
                "/nonexistent/key",
            ],
            "/nonexistent/key",
        ),
    ];
    for (args, needle) in cases {
        let out = env.rkt(args);
        let e = stderr(&out);
        assert_eq!(out.status.code(), Some(254), "{args:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{args:?}: {e}");
        assert!(e.contains(needle), "{args:?}: {e}");
    }
    // A file that is not a key at all.
    let junk = write(&env, "junk", b"not a key\n");
    let out = env.rkt(&[
        "trust",
        "--root",
        "--skip-fingerprint-review",
        junk.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(254));
    assert!(
        stderr(&out).contains("no OpenPGP public key found") || stderr(&out).contains("key `"),
        "{}",
        stderr(&out)
    );
    assert!(files(&env.local).is_empty());
}
