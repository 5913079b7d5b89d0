//! `rkt trust` with key URLs and with `ac-discovery-pubkeys`, and `--trust-keys-from-https`
//! during a fetch, against the scripted HTTPS (and plain HTTP) server in the test's own
//! network namespace.

use e2e::https::Response;
use e2e::signed::{image, paths, Fx, Signer};
use e2e::store::{stderr, stdout};

/// Every file under `dir`, relative, sorted.
fn files(dir: &std::path::Path) -> Vec<String> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
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

#[test]
fn key_urls_over_https_and_http_only_when_allowed() {
    let fx = Fx::new("trust-url");
    let key = Signer::rpgp("Url Key <url@trust.example>");
    let public = key.public();
    fx.srv.handle(move |r| match r.path() {
        "/key.gpg" => Response::ok(public.clone()),
        "/down.gpg" => Response::redirect("http://localhost/key.gpg"),
        // Checklist case 28: a "key" of 2 MiB is cut off at the limit.
        "/huge.gpg" => Response::ok(vec![b'k'; 2 << 20]),
        _ => Response::not_found(),
    });
    let fpr = key.fingerprint();
    let out = fx.rkt(&[
        "trust",
        "--prefix=localhost/app",
        "--skip-fingerprint-review",
        "https://localhost/key.gpg",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stored = fx.local_key("localhost/app", &fpr);
    assert_eq!(
        stdout(&out).trim(),
        format!(
            "Added key for prefix \"localhost/app\" at \"{}\"",
            stored.display()
        )
    );
    assert!(
        stderr(&out).contains(
            "Trusting \"https://localhost/key.gpg\" for prefix \"localhost/app\" without \
             fingerprint review."
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&stored).unwrap(), key.public());
    assert_eq!(paths(&fx.srv.take_log()), vec!["https /key.gpg"]);

    // Plain http: refused unless --insecure-allow-http, and then nothing is asked at all.
    let out = fx.rkt(&[
        "trust",
        "--prefix=localhost/plain",
        "--skip-fingerprint-review",
        "http://localhost/key.gpg",
    ]);
    assert_eq!(out.status.code(), Some(254), "{}", stdout(&out));
    let e = stderr(&out);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("http://localhost/key.gpg") && e.contains("plain http is refused"),
        "{e}"
    );
    // A redirect from https to http is the same (checklist case 25).
    let out = fx.rkt(&[
        "trust",
        "--prefix=localhost/plain",
        "--skip-fingerprint-review",
        "https://localhost/down.gpg",
    ]);
    assert_eq!(out.status.code(), Some(254), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("redirect from https to http"),
        "{}",
        stderr(&out)
    );
    assert_eq!(paths(&fx.srv.take_log()), vec!["https /down.gpg"]);
    assert!(!fx.local_key("localhost/plain", &fpr).exists());
    // A key URL that is not there is named.
    let out = fx.rkt(&[
        "trust",
        "--prefix=localhost/plain",
        "--skip-fingerprint-review",
        "https://localhost/nokey.gpg",
    ]);
    assert_eq!(out.status.code(), Some(254));
    assert!(
        stderr(&out).contains("https://localhost/nokey.gpg") && stderr(&out).contains("404"),
        "{}",
        stderr(&out)
    );
    let out = fx.rkt(&[
        "trust",
        "--prefix=localhost/plain",
        "--skip-fingerprint-review",
        "https://localhost/huge.gpg",
    ]);
    assert_eq!(out.status.code(), Some(254));
    assert!(
        stderr(&out).contains("https://localhost/huge.gpg")
            && stderr(&out).contains("larger than 1048576 bytes"),
        "{}",
        stderr(&out)
    );
    fx.srv.take_log();
    let out = fx.rkt(&[
        "trust",
        "--prefix=localhost/plain",
        "--skip-fingerprint-review",
        "--insecure-allow-http",
        "http://localhost/key.gpg",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(paths(&fx.srv.take_log()), vec!["http /key.gpg"]);
    assert!(fx.local_key("localhost/plain", &fpr).is_file());

    // --trust-keys-from-https: a key fetched over https needs no review (no terminal here),
    // one over http still does.
    let out = fx.rkt(&[
        "--trust-keys-from-https",
        "trust",
        "--prefix=localhost/auto",
        "https://localhost/key.gpg",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("for prefix \"localhost/auto\" without fingerprint review."),
        "{}",
        stderr(&out)
    );
    assert!(fx.local_key("localhost/auto", &fpr).is_file());
    let out = fx.rkt(&[
        "--trust-keys-from-https",
        "trust",
        "--prefix=localhost/auto2",
        "--insecure-allow-http",
        "http://localhost/key.gpg",
    ]);
    assert_eq!(out.status.code(), Some(254));
    assert!(
        stderr(&out).contains("needs a terminal"),
        "{}",
        stderr(&out)
    );
    assert!(!fx.local_key("localhost/auto2", &fpr).exists());
}

/// rkt's question after showing a discovered key.
const PROMPT: &str = "Are you sure you want to trust this key (yes/no)? ";

const PAGE: &str = r#"<html><head>
<meta name="ac-discovery" content="localhost https://localhost/img/{name}-{version}.{ext}">
<meta name="ac-discovery-pubkeys" content="localhost/app https://localhost/pubkeys.gpg">
</head></html>"#;

const PAGE_NO_KEYS: &str = r#"<html><head>
<meta name="ac-discovery" content="localhost https://localhost/img/{name}-{version}.{ext}">
</head></html>"#;

#[test]
fn discovered_keys_are_reviewed_on_a_terminal() {
    let fx = Fx::new("trust-discover");
    let key = Signer::gpg("Discovered <disc@trust.example>", &fx.env.t.path);
    let public = key.public();
    fx.srv.handle(move |r| match r.target.as_str() {
        "/app?ac-discovery=1" => Response::ok(PAGE),
        "/nokeys?ac-discovery=1" => Response::ok(PAGE_NO_KEYS),
        "/pubkeys.gpg" => Response::ok(public.clone()),
        _ => Response::not_found(),
    });
    let fpr = key.fingerprint();
    let stored = fx.local_key("localhost/app", &fpr);

    let (out, code) = fx.rkt_on_pty(&["trust", "--prefix", "localhost/app"], PROMPT, &["no\n"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Prefix: \"localhost/app\""), "{out}");
    assert!(
        out.contains("Key: \"https://localhost/pubkeys.gpg\""),
        "{out}"
    );
    assert!(out.contains("GPG key fingerprint is: "), "{out}");
    assert!(out.contains("\tDiscovered <disc@trust.example>"), "{out}");
    assert!(out.contains("Not trusting"), "{out}");
    assert!(files(&fx.env.local).is_empty(), "declined key stored");
    assert_eq!(
        paths(&fx.srv.take_log()),
        vec!["https /app?ac-discovery=1", "https /pubkeys.gpg"]
    );

    let (out, code) = fx.rkt_on_pty(&["trust", "--prefix", "localhost/app"], PROMPT, &["yes\n"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "Trusting \"https://localhost/pubkeys.gpg\" for prefix \"localhost/app\" after \
             fingerprint review."
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Added key for prefix \"localhost/app\" at \"{}\"",
            stored.display()
        )),
        "{out}"
    );
    assert!(stored.is_file());
    std::fs::remove_file(&stored).unwrap();

    // Without a terminal, only with --skip-fingerprint-review.
    let out = fx.rkt(&["trust", "--prefix=localhost/app"]);
    assert_eq!(out.status.code(), Some(254));
    assert!(stderr(&out).contains("--skip-fingerprint-review"));
    let out = fx.rkt(&[
        "trust",
        "--prefix=localhost/app",
        "--skip-fingerprint-review",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stored.is_file());
    assert_eq!(
        files(&fx.env.local),
        vec![format!("trustedkeys/prefix.d/localhost/app/{fpr}")]
    );

    // A page without the pubkeys tag, or no page at all: a clear error, nothing stored.
    let out = fx.rkt(&[
        "trust",
        "--prefix=localhost/nokeys",
        "--skip-fingerprint-review",
    ]);
    assert_eq!(out.status.code(), Some(254));
    let e = stderr(&out);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("\"localhost/nokeys\": no ac-discovery-pubkeys meta tag found"),
        "{e}"
    );
    let out = fx.rkt(&[
        "trust",
        "--prefix=elsewhere.invalid/app",
        "--skip-fingerprint-review",
    ]);
    assert_eq!(out.status.code(), Some(254));
    assert!(
        stderr(&out).contains("discovering the keys of \"elsewhere.invalid/app\""),
        "{}",
        stderr(&out)
    );
    assert_eq!(files(&fx.env.local).len(), 1);
}

#[test]
fn trust_keys_from_https_on_first_use() {
    let fx = Fx::new("trust-tofu");
    let key = Signer::rpgp("Tofu <tofu@trust.example>");
    let fpr = key.fingerprint();
    let (v1, v2) = (
        image("localhost/app", "1.0", "one"),
        image("localhost/app", "2.0", "two"),
    );
    let plain = image("localhost/plain", "1.0", "plain");
    let redir = image("localhost/redir", "1.0", "redir");
    let (s1, s2, sp, sr) = (
        key.sign(&v1),
        key.sign(&v2),
        key.sign(&plain),
        key.sign(&redir),
    );
    let public = key.public();
    let page_for = |name: &str, keys: &str| {
        format!(
            r#"<meta name="ac-discovery" content="localhost/{name} https://localhost/img/{{name}}-{{version}}.{{ext}}">
<meta name="ac-discovery-pubkeys" content="localhost/{name} {keys}">"#
        )
    };
    let plain_page = page_for("plain", "http://localhost/pubkeys.gpg");
    let redir_page = page_for("redir", "https://localhost/down.gpg");
    fx.srv.handle(move |r| match r.target.as_str() {
        "/app?ac-discovery=1" => Response::ok(PAGE),
        "/plain?ac-discovery=1" => Response::ok(plain_page.clone()),
        "/redir?ac-discovery=1" => Response::ok(redir_page.clone()),
        "/pubkeys.gpg" => Response::ok(public.clone()),
        "/down.gpg" => Response::redirect("http://localhost/pubkeys.gpg"),
        "/img/localhost/app-1.0.aci" => Response::ok(v1.clone()),
        "/img/localhost/app-1.0.aci.asc" => Response::ok(s1.clone()),
        "/img/localhost/app-2.0.aci" => Response::ok(v2.clone()),
        "/img/localhost/app-2.0.aci.asc" => Response::ok(s2.clone()),
        "/img/localhost/plain-1.0.aci" => Response::ok(plain.clone()),
        "/img/localhost/plain-1.0.aci.asc" => Response::ok(sp.clone()),
        "/img/localhost/redir-1.0.aci" => Response::ok(redir.clone()),
        "/img/localhost/redir-1.0.aci.asc" => Response::ok(sr.clone()),
        _ => Response::not_found(),
    });

    // Without the flag: the key is not fetched; the image is refused with the hint.
    fx.refused(
        &["localhost/app:1.0"],
        &[
            "openpgp: signature made by unknown entity",
            "rkt trust --prefix localhost/app",
        ],
    );
    assert!(!paths(&fx.srv.take_log()).contains(&"https /pubkeys.gpg".to_string()));
    assert!(files(&fx.env.local).is_empty());

    // With it: fetched over https, stored for the name without review, used.
    let (_, e) = fx.accepted(
        &["--trust-keys-from-https", "localhost/app:1.0"],
        "tofu@trust.example",
    );
    assert!(
        e.contains(&format!(
            "rkt: warning: trusting key {fpr} from https://localhost/pubkeys.gpg for prefix \
             \"localhost/app\" without fingerprint review (--trust-keys-from-https)"
        )),
        "{e}"
    );
    assert_eq!(
        paths(&fx.srv.take_log()),
        vec![
            "https /app?ac-discovery=1",
            "https /pubkeys.gpg",
            "https /img/localhost/app-1.0.aci.asc",
            "https /img/localhost/app-1.0.aci",
        ]
    );
    assert_eq!(
        std::fs::read(fx.local_key("localhost/app", &fpr)).unwrap(),
        key.public()
    );
    // Keys exist for the prefix now: not fetched again.
    let (_, e) = fx.accepted(
        &["--trust-keys-from-https", "localhost/app:2.0"],
        "tofu@trust.example",
    );
    assert!(!e.contains("warning"), "{e}");
    assert!(!paths(&fx.srv.take_log()).contains(&"https /pubkeys.gpg".to_string()));

    // Never over http, even with http allowed: the key is skipped, the image refused.
    let before = fx.snapshot();
    let out = fx.rkt(&[
        "--trust-keys-from-https",
        "--insecure-options=http",
        "fetch",
        "localhost/plain:1.0",
    ]);
    assert_eq!(out.status.code(), Some(254), "{}", stdout(&out));
    let e = stderr(&out);
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines,
        vec![
            "rkt: warning: not trusting key http://localhost/pubkeys.gpg for prefix \
             \"localhost/plain\": not https",
            lines[1],
        ],
        "{e}"
    );
    assert!(
        // Signed by the key trusted for localhost/app only: nothing was added for this name.
        lines[1].starts_with("rkt: fetch localhost/plain:1.0: ")
            && lines[1].contains("trusted only for prefix \"localhost/app\""),
        "{e}"
    );
    e2e::snapshot::assert_same(&before, &fx.snapshot(), "http key");
    // Nor through a redirect from https to http.
    fx.refused(
        &[
            "--trust-keys-from-https",
            "--insecure-options=http",
            "localhost/redir:1.0",
        ],
        &[
            "https://localhost/down.gpg",
            "redirect to http://localhost/pubkeys.gpg refused: keys trusted without review \
             come over https only",
        ],
    );
    let log = fx.srv.take_log();
    assert!(log.iter().all(|r| r.scheme == "https"), "{:?}", paths(&log));
    assert_eq!(
        files(&fx.env.local),
        vec![format!("trustedkeys/prefix.d/localhost/app/{fpr}")]
    );
}
