//! `rkt run` of remote images (URLs and discovered names, per `--pull-policy`) and
//! `rkt config`, against the scripted HTTPS server of `e2e::https`.

use e2e::aci;
use e2e::https::{Cert, NetNs, Response, Server};
use e2e::pod::{probe_manifest, probe_tar, LINUX_AMD64};
use e2e::store::{assert_fails, assert_ok, stdout, StoreDir};

fn rkt(t: &StoreDir, srv: &Server, args: &[&str]) -> std::process::Output {
    std::process::Command::new("timeout")
        .arg("120")
        .arg(e2e::rkt_bin())
        .arg(format!("--dir={}", t.store().display()))
        .args(args)
        .envs(srv.env())
        .env_remove("RKT_FAILPOINT")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn run_fetches_urls_and_names_by_pull_policy() {
    let ns = NetNs::enter();
    let t = StoreDir::new("fetch-run");
    let srv = Server::start(&ns, &t.path, Cert::Good);
    let probe = aci::gzip(&probe_tar(
        &probe_manifest("localhost/probe", LINUX_AMD64, ""),
        |t| t,
    ));
    srv.handle(move |r| match r.target.as_str() {
        "/?ac-discovery=1" => Response::ok(
            r#"<meta name="ac-discovery" content="localhost https://localhost/{name}-{version}.{ext}">"#,
        ),
        "/probe.aci" | "/localhost/probe-1.aci" => Response::ok(probe.clone()),
        "/probe.aci.asc" => Response::ok("-----BEGIN PGP SIGNATURE-----\n"),
        _ => Response::not_found(),
    });
    let insecure = "--insecure-options=image";
    // Without the insecure option, a signature that is not one refuses the image.
    let out = rkt(
        &t,
        &srv,
        &["run", "https://localhost/probe.aci", "--", "exit", "3"],
    );
    assert_fails(&out, "bad signature");
    srv.take_log();
    let out = rkt(
        &t,
        &srv,
        &[
            insecure,
            "run",
            "https://localhost/probe.aci",
            "--",
            "exit",
            "3",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(srv.take_log().len(), 1);
    // `run` defaults to policy new: the stored image, no request.
    let out = rkt(
        &t,
        &srv,
        &[
            insecure,
            "run",
            "https://localhost/probe.aci",
            "--",
            "exit",
            "4",
        ],
    );
    assert_eq!(out.status.code(), Some(4));
    assert!(srv.take_log().is_empty());
    // --no-store (deprecated --pull-policy=update) asks the server again.
    let out = rkt(
        &t,
        &srv,
        &[
            insecure,
            "run",
            "--no-store",
            "https://localhost/probe.aci",
            "--",
            "exit",
            "5",
        ],
    );
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(srv.take_log().len(), 1);
    // By name: discovered, fetched, run; then found in the store.
    assert_ok(&rkt(&t, &srv, &["image", "rm", "localhost/probe"]));
    let out = rkt(
        &t,
        &srv,
        &[insecure, "run", "--store-only", "localhost/probe:1"],
    );
    assert_fails(&out, "unable to fetch image from localhost/probe:1");
    let out = rkt(
        &t,
        &srv,
        &[insecure, "run", "localhost/probe:1", "--", "exit", "6"],
    );
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(srv.take_log().len(), 3, "discovery walk and the image");
    let out = rkt(
        &t,
        &srv,
        &[insecure, "run", "--pull-policy=never", "localhost/probe:1"],
    );
    assert_ok(&out);
    assert!(srv.take_log().is_empty());
    t.gc_all();
}

#[test]
fn config_prints_merged_auth_and_paths() {
    e2e::require_root();
    let t = StoreDir::new("fetch-config");
    let (sys, local) = (t.join("sys"), t.join("local"));
    for (dir, token) in [(&sys, "system"), (&local, "local")] {
        std::fs::create_dir_all(dir.join("auth.d")).unwrap();
        std::fs::write(
            dir.join("auth.d/a.json"),
            format!(
                r#"{{"rktKind":"auth","rktVersion":"v1","domains":["example.com"],"type":"oauth","credentials":{{"token":"{token}"}}}}"#
            ),
        )
        .unwrap();
    }
    std::fs::write(
        sys.join("auth.d/b.json"),
        r#"{"rktKind":"auth","rktVersion":"v1","domains":["other.org"],"type":"basic","credentials":{"user":"u","password":"p"}}"#,
    )
    .unwrap();
    let out = t.rkt(&[
        &format!("--system-config={}", sys.display()),
        &format!("--local-config={}", local.display()),
        "config",
    ]);
    assert_ok(&out);
    let text = stdout(&out);
    let example = text.find("\"example.com\"").expect("example.com listed");
    let other = text.find("\"other.org\"").expect("other.org listed");
    assert!(example < other, "{text}");
    assert!(
        text.contains("\"token\": \"local\""),
        "local overrides system: {text}"
    );
    assert!(!text.contains("\"system\""), "{text}");
    assert!(text.contains("\"user\": \"u\""), "{text}");
    // rkt 1.30 printed what paths.d says (nothing here: empty), and always a stage1 entry.
    assert!(text.contains("\"data\": \"\""), "{text}");
    assert!(text.contains("\"rktKind\": \"paths\""), "{text}");
    assert!(text.contains("\"rktKind\": \"stage1\""), "{text}");
    // rkt's functional test ran `rkt config --pretty-print=false`: one line of JSON.
    let out = t.rkt(&[
        &format!("--local-config={}", local.display()),
        "config",
        "--pretty-print=false",
    ]);
    assert_ok(&out);
    let compact = stdout(&out);
    assert_eq!(compact.lines().count(), 1, "{compact}");
    assert!(compact.contains("\"rktKind\":\"paths\""), "{compact}");
    // A broken file is named.
    std::fs::write(local.join("auth.d/c.json"), "{").unwrap();
    let out = t.rkt(&[&format!("--local-config={}", local.display()), "config"]);
    assert_fails(&out, "c.json");
}
