//! Signed remote images end to end: `rkt fetch`/`rkt run` of `https://` URLs and discovered
//! names against the scripted HTTPS server in the test's own network namespace, with keys made
//! by GnuPG and by rpgp. Every refusal leaves the store byte-identical.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use e2e::gpg::rpgp::{self, now, Alg, Hash};
use e2e::https::{Cert, Response};
use e2e::pod::{probe_manifest, probe_tar, LINUX_AMD64};
use e2e::signed::{image, paths, Fx, Signer};
use e2e::store::{stderr, stdout};
use e2e::trust::Config;

const PAGE: &str = r#"<html><head>
<meta name="ac-discovery" content="localhost https://localhost/img/{name}-{version}.{ext}">
</head></html>"#;

#[test]
fn urls_and_names_verified_with_gpg_and_rpgp_keys() {
    let fx = Fx::new("signed-ok");
    let gpg = Signer::gpg("Gpg Signer <gpg@signed.example>", &fx.env.t.path);
    let rpgp = Signer::rpgp("Rpgp Signer <rpgp@signed.example>");
    for s in [&gpg, &rpgp] {
        fx.env.place_key(
            Config::Local,
            Some("localhost/app"),
            &s.fingerprint(),
            &s.public(),
        );
    }
    // 1.0 is signed with the gpg key, 2.0 with the rpgp one.
    let (v1, v2) = (
        image("localhost/app", "1.0", "one"),
        image("localhost/app", "2.0", "two"),
    );
    let (s1, s2) = (gpg.sign(&v1), rpgp.sign(&v2));
    fx.srv.handle(move |r| match r.target.as_str() {
        "/?ac-discovery=1" => Response::ok(PAGE),
        "/gpg/app.aci" | "/img/localhost/app-1.0.aci" => Response::ok(v1.clone()),
        "/gpg/app.aci.asc" | "/img/localhost/app-1.0.aci.asc" => Response::ok(s1.clone()),
        "/rpgp/app.aci" | "/img/localhost/app-2.0.aci" => Response::ok(v2.clone()),
        "/rpgp/app.aci.asc" | "/img/localhost/app-2.0.aci.asc" => Response::ok(s2.clone()),
        _ => Response::not_found(),
    });
    let (id1, _) = fx.accepted(&["https://localhost/gpg/app.aci"], "gpg@signed.example");
    assert_eq!(
        paths(&fx.srv.take_log()),
        vec!["https /gpg/app.aci.asc", "https /gpg/app.aci"],
        "the signature first, then the image"
    );
    let (id2, e) = fx.accepted(&["https://localhost/rpgp/app.aci"], "rpgp@signed.example");
    assert!(!e.contains("gpg@signed.example"), "{e}");
    assert_ne!(id1, id2);
    fx.srv.take_log();

    // By name: the signature comes from the discovery template.
    assert_ok_ids(&fx, &id1, &id2);
    fx.env.t.assert_consistent();
}

/// Removes both images and fetches them again by name.
fn assert_ok_ids(fx: &Fx, id1: &str, id2: &str) {
    let out = fx.rkt(&["image", "rm", id1, id2]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (got, _) = fx.accepted(&["localhost/app:1.0"], "gpg@signed.example");
    assert_eq!(got, id1);
    let log = paths(&fx.srv.take_log());
    assert_eq!(
        &log[log.len() - 2..],
        [
            "https /img/localhost/app-1.0.aci.asc",
            "https /img/localhost/app-1.0.aci"
        ],
        "{log:?}"
    );
    let (got, _) = fx.accepted(&["localhost/app:2.0"], "rpgp@signed.example");
    assert_eq!(got, id2);
}

#[test]
fn refusals_leave_the_store_unchanged() {
    let fx = Fx::new("signed-refusals");
    let key = Signer::rpgp("Trusted <trusted@signed.example>");
    let stranger = Signer::rpgp("Stranger <stranger@signed.example>");
    fx.env.place_key(
        Config::Local,
        Some("localhost/app"),
        &key.fingerprint(),
        &key.public(),
    );
    let app = image("localhost/app", "1.0", "app");
    let apple = image("localhost/apple", "1.0", "apple");
    let changed = image("localhost/app", "1.0", "app, changed");
    // A key that expired: made 1000 s ago, valid for 100 s, trusted for localhost/old.
    let mut old = rpgp::generate(
        Alg::Ed25519,
        "Old <old@signed.example>",
        now() - 1000,
        true,
        None,
    );
    old.expire_primary(100);
    fx.env.place_key(
        Config::Local,
        Some("localhost/old"),
        &old.fingerprint(),
        &old.armored(),
    );
    let old_img = image("localhost/old", "1.0", "old");
    let old_sig = old.sign(&old_img, false, Hash::Sha256, now() - 950, true);

    let good_sig = key.sign(&app);
    let by_stranger = stranger.sign(&app);
    let apple_sig = key.sign(&apple);
    let other_bytes = key.sign(b"some other bytes");
    fx.srv.handle(move |r| match r.path() {
        "/stranger.aci" | "/modified.aci" | "/other.aci" => Response::ok(app.clone()),
        "/stranger.aci.asc" => Response::ok(by_stranger.clone()),
        "/apple.aci" => Response::ok(apple.clone()),
        "/apple.aci.asc" => Response::ok(apple_sig.clone()),
        // The signature of the image as published; the bytes served changed since.
        "/changed.aci" => Response::ok(changed.clone()),
        "/changed.aci.asc" => Response::ok(good_sig.clone()),
        "/other.aci.asc" => Response::ok(other_bytes.clone()),
        "/old.aci" => Response::ok(old_img.clone()),
        "/old.aci.asc" => Response::ok(old_sig.clone()),
        // Checklist case 25: a signature never comes over plain http behind a redirect.
        "/down.aci.asc" => Response::redirect("http://localhost/changed.aci.asc"),
        _ => Response::not_found(),
    });
    fx.refused(
        &["https://localhost/stranger.aci"],
        &[
            "openpgp: signature made by unknown entity",
            &stranger.fingerprint(),
            "rkt trust --prefix localhost/app",
        ],
    );
    // A key for localhost/app does not cover localhost/apple.
    fx.refused(
        &["https://localhost/apple.aci"],
        &[
            "trusted only for prefix \"localhost/app\"",
            "localhost/apple",
        ],
    );
    fx.refused(
        &["https://localhost/changed.aci"],
        &["does not match the image \"localhost/app\""],
    );
    fx.refused(
        &["https://localhost/other.aci"],
        &["does not match the image \"localhost/app\""],
    );
    fx.refused(
        &["https://localhost/old.aci"],
        &["the primary key", "expired on"],
    );
    // Each refusal downloaded the image, checked it, and threw it away.
    let log = paths(&fx.srv.take_log());
    assert!(log.contains(&"https /old.aci".to_string()), "{log:?}");
    fx.refused(
        &["https://localhost/down.aci"],
        &["redirect from https to http"],
    );
    assert_eq!(paths(&fx.srv.take_log()), vec!["https /down.aci.asc"]);
    assert_eq!(
        std::fs::read_dir(fx.env.t.store().join("cas/tmp"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

#[test]
fn deferred_signature_insecure_option_and_signature_file() {
    let fx = Fx::new("signed-202");
    let key = Signer::gpg("Deferred <later@signed.example>", &fx.env.t.path);
    fx.env.place_key(
        Config::Local,
        Some("localhost"),
        &key.fingerprint(),
        &key.public(),
    );
    let app = image("localhost/app", "1.0", "202");
    let sig = key.sign(&app);
    let asked = Arc::new(AtomicUsize::new(0));
    let asked2 = asked.clone();
    let (served, served_sig) = (app.clone(), sig.clone());
    fx.srv.handle(move |r| match r.target.as_str() {
        "/?ac-discovery=1" => Response::ok(PAGE),
        "/app.aci" | "/img/localhost/app-1.0.aci" => Response::ok(served.clone()),
        // 202 first: "ask again after the image".
        "/app.aci.asc" if asked2.fetch_add(1, Ordering::SeqCst) == 0 => Response::new(202, ""),
        "/app.aci.asc" => Response::ok(served_sig.clone()),
        // What discovery points at is no signature at all: only --signature can help.
        "/img/localhost/app-1.0.aci.asc" => Response::ok("garbage"),
        _ => Response::not_found(),
    });
    let (id, _) = fx.accepted(&["https://localhost/app.aci"], "later@signed.example");
    assert_eq!(
        paths(&fx.srv.take_log()),
        vec!["https /app.aci.asc", "https /app.aci", "https /app.aci.asc"]
    );
    assert_eq!(fx.rkt(&["image", "rm", &id]).status.code(), Some(0));

    // --insecure-options=image: no signature asked, a warning.
    let out = fx.rkt(&[
        "--insecure-options=image",
        "fetch",
        "--full",
        "https://localhost/app.aci",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), id);
    assert!(
        stderr(&out).contains("signature verification has been disabled"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("signature verified"));
    assert_eq!(paths(&fx.srv.take_log()), vec!["https /app.aci"]);
    assert_eq!(fx.rkt(&["image", "rm", &id]).status.code(), Some(0));

    // --signature FILE after a name or a URL replaces the download of the .aci.asc.
    fx.refused(&["localhost/app:1.0"], &["bad signature"]);
    fx.srv.take_log();
    let file = fx.env.t.join("app.sig");
    std::fs::write(&file, &sig).unwrap();
    let f = file.to_str().unwrap();
    let (got, _) = fx.accepted(
        &["localhost/app:1.0", "--signature", f],
        "later@signed.example",
    );
    assert_eq!(got, id);
    let log = paths(&fx.srv.take_log());
    assert!(!log.iter().any(|p| p.ends_with(".asc")), "{log:?}");
    assert_eq!(fx.rkt(&["image", "rm", &id]).status.code(), Some(0));
    let with_sig = format!("--signature={f}");
    let (got, _) = fx.accepted(
        &["https://localhost/app.aci", &with_sig],
        "later@signed.example",
    );
    assert_eq!(got, id);
    assert_eq!(paths(&fx.srv.take_log()), vec!["https /app.aci"]);
    // A --signature file that is not the image's signature, or does not exist.
    let wrong = fx.env.t.join("wrong.sig");
    std::fs::write(&wrong, key.sign(b"something else")).unwrap();
    assert_eq!(fx.rkt(&["image", "rm", &id]).status.code(), Some(0));
    fx.refused(
        &[
            "https://localhost/app.aci",
            "--signature",
            wrong.to_str().unwrap(),
        ],
        &["does not match the image"],
    );
    let missing = fx.env.t.join("missing.sig");
    fx.refused(
        &[
            "https://localhost/app.aci",
            "--signature",
            missing.to_str().unwrap(),
        ],
        &["missing.sig"],
    );
}

#[test]
fn dependencies_have_their_own_signatures_checked() {
    let fx = Fx::new("signed-deps");
    let key = Signer::rpgp("Deps <deps@signed.example>");
    let stranger = Signer::rpgp("Stranger <x@signed.example>");
    fx.env.place_key(
        Config::Local,
        Some("localhost"),
        &key.fingerprint(),
        &key.public(),
    );
    let base = image("localhost/base", "1.0", "base");
    let manifest = r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"localhost/app","labels":[{"name":"version","value":"1.0"}],"dependencies":[{"imageName":"localhost/base","labels":[{"name":"version","value":"1.0"}]}]}"#;
    let app = e2e::aci::gzip(
        &e2e::aci::base(manifest)
            .file("rootfs/app", 0o644, b"app\n")
            .finish(),
    );
    let app_sig = key.sign(&app);
    let base_good = key.sign(&base);
    let base_bad = stranger.sign(&base);
    let good = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let good2 = good.clone();
    fx.srv.handle(move |r| match r.target.as_str() {
        "/?ac-discovery=1" => Response::ok(PAGE),
        "/app.aci" => Response::ok(app.clone()),
        "/app.aci.asc" => Response::ok(app_sig.clone()),
        "/img/localhost/base-1.0.aci" => Response::ok(base.clone()),
        "/img/localhost/base-1.0.aci.asc" if good2.load(Ordering::SeqCst) => {
            Response::ok(base_good.clone())
        }
        "/img/localhost/base-1.0.aci.asc" => Response::ok(base_bad.clone()),
        _ => Response::not_found(),
    });
    // The image itself is fine; its dependency is signed by an unknown key.
    fx.refused(
        &["https://localhost/app.aci"],
        &[
            "dependency of",
            "localhost/base",
            "openpgp: signature made by unknown entity",
        ],
    );
    assert_eq!(fx.env.t.list_ids().len(), 1, "only the unrelated image");
    fx.srv.take_log();
    good.store(true, Ordering::SeqCst);
    let (_, e) = fx.accepted(&["https://localhost/app.aci"], "deps@signed.example");
    assert_eq!(
        e.matches("signature verified:").count(),
        2,
        "the image and its dependency: {e}"
    );
    assert_eq!(
        paths(&fx.srv.take_log()),
        vec![
            "https /app.aci.asc",
            "https /app.aci",
            "https /base?ac-discovery=1",
            "https /?ac-discovery=1",
            "https /img/localhost/base-1.0.aci.asc",
            "https /img/localhost/base-1.0.aci",
        ]
    );
    assert_eq!(fx.env.t.list_ids().len(), 3);
    fx.env.t.assert_consistent();
}

#[test]
fn run_of_a_signed_url() {
    let fx = Fx::new("signed-run");
    let key = Signer::rpgp("Runner <run@signed.example>");
    fx.env.place_key(
        Config::Local,
        Some("localhost"),
        &key.fingerprint(),
        &key.public(),
    );
    let probe = probe_tar(&probe_manifest("localhost/probe", LINUX_AMD64, ""), |t| t);
    let stranger = Signer::rpgp("Stranger <x@signed.example>");
    let (sig, bad) = (key.sign(&probe), stranger.sign(&probe));
    let sig_file = fx.env.t.join("probe.sig");
    std::fs::write(&sig_file, &sig).unwrap();
    fx.srv.handle(move |r| match r.path() {
        "/probe.aci" | "/stranger.aci" | "/unsigned.aci" => Response::ok(probe.clone()),
        "/probe.aci.asc" => Response::ok(sig.clone()),
        "/stranger.aci.asc" => Response::ok(bad.clone()),
        _ => Response::not_found(),
    });
    let out = fx.rkt(&["run", "https://localhost/probe.aci"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("signature verified:"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("run@signed.example"));
    assert_eq!(
        paths(&fx.srv.take_log()),
        ["https /probe.aci.asc", "https /probe.aci"]
    );
    let before = fx.snapshot();
    let out = fx.rkt(&["run", "https://localhost/stranger.aci"]);
    assert_eq!(out.status.code(), Some(254), "{}", stdout(&out));
    let e = stderr(&out);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("openpgp: signature made by unknown entity")
            && e.contains("rkt trust --prefix localhost/probe"),
        "{e}"
    );
    e2e::snapshot::assert_same(&before, &fx.snapshot(), "run refused");
    // The per-app --signature after a URL: used instead of the (missing) .aci.asc.
    fx.srv.take_log();
    let out = fx.rkt(&[
        "run",
        "https://localhost/unsigned.aci",
        "--signature",
        sig_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("signature verified:"),
        "{}",
        stderr(&out)
    );
    assert_eq!(paths(&fx.srv.take_log()), ["https /unsigned.aci"]);
    fx.env.t.gc_all();
}

/// Checklist case 24: an expired certificate, or no CA that knows the server, stops every
/// request (image, signature, discovery, key) before anything is sent; the plain-http twin
/// on port 80 is never asked instead.
#[test]
fn tls_failures_never_fall_back_to_http() {
    let fx = Fx::with_cert("signed-tls", Cert::Expired);
    let key = Signer::rpgp("Tls <tls@signed.example>");
    let (app, public) = (image("localhost/app", "1.0", "tls"), key.public());
    let sig = key.sign(&app);
    fx.srv.handle(move |r| match r.path() {
        "/" => Response::ok(PAGE),
        "/app.aci" => Response::ok(app.clone()),
        "/app.aci.asc" => Response::ok(sig.clone()),
        "/key.gpg" => Response::ok(public.clone()),
        _ => Response::not_found(),
    });
    let e = fx.refused(
        &["https://localhost/app.aci"],
        &["https://localhost/app.aci.asc"],
    );
    assert!(e.to_lowercase().contains("expired"), "{e}");
    fx.refused(&["localhost/app:1.0"], &["discovery of localhost/app"]);
    let out = fx.rkt(&[
        "trust",
        "--prefix=localhost/app",
        "--skip-fingerprint-review",
        "https://localhost/key.gpg",
    ]);
    assert_eq!(out.status.code(), Some(254));
    assert!(
        stderr(&out).contains("https://localhost/key.gpg"),
        "{}",
        stderr(&out)
    );
    // No CA bundle at all that knows the test CA (the host's roots only).
    let out = fx.env.t.rkt_env(
        &[
            &format!("--system-config={}", fx.env.system.display()),
            &format!("--local-config={}", fx.env.local.display()),
            "fetch",
            "https://localhost/app.aci",
        ],
        &[
            ("SSL_CERT_FILE", "/nonexistent"),
            ("SSL_CERT_DIR", "/nonexistent"),
        ],
    );
    assert_eq!(out.status.code(), Some(254), "{}", stderr(&out));
    assert!(
        fx.srv.take_log().is_empty(),
        "no request was served, on either port"
    );
    assert!(!fx.env.local.join("trustedkeys").exists());
}
