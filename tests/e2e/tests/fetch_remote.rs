//! Remote fetch end to end: `rkt fetch https://...` and appc names against a scripted HTTPS
//! server in the test's own network namespace (see `e2e::https`). Every refusal leaves the
//! store byte-identical.

use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use e2e::aci;
use e2e::https::{Cert, NetNs, Request, Response, Server};
use e2e::snapshot;
use e2e::store::{assert_fails, assert_ok, sha512_id, stderr, stdout, StoreDir};

struct Fx {
    t: StoreDir,
    srv: Server,
    _ns: NetNs,
}

fn setup(name: &str, cert: Cert) -> Fx {
    let ns = NetNs::enter();
    let t = StoreDir::new(name);
    let srv = Server::start(&ns, &t.path, cert);
    Fx { t, srv, _ns: ns }
}

impl Fx {
    /// `rkt --dir=STORE ARGS...` trusting the test CA, bounded by `timeout`, with rkt's own
    /// (generous) stall timeout: a transfer that pauses on a loaded machine is not a stall.
    fn rkt(&self, args: &[&str]) -> Output {
        self.rkt_env(args, &[])
    }

    fn rkt_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        std::process::Command::new("timeout")
            .arg("120")
            .arg(e2e::rkt_bin())
            .arg(format!("--dir={}", self.t.store().display()))
            .args(args)
            .envs(self.srv.env())
            .envs(env.iter().copied())
            .env_remove("RKT_FAILPOINT")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }

    /// `rkt fetch --insecure-options=image --full ARGS...`, which must succeed; the one
    /// stdout line, the image ID.
    fn fetch(&self, args: &[&str]) -> String {
        let mut all = vec!["--insecure-options=image", "fetch", "--full"];
        all.extend_from_slice(args);
        let out = self.rkt(&all);
        assert_ok(&out);
        let s = stdout(&out);
        assert_eq!(s.lines().count(), 1, "stdout carries only the ID: {s}");
        assert!(s.starts_with("sha512-"), "{s}");
        s.trim().to_string()
    }

    fn snapshot(&self) -> snapshot::Snapshot {
        snapshot::take(&self.t.store())
    }

    fn remotes(&self) -> usize {
        std::fs::read_dir(self.t.store().join("cas/remote"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    fn tmp_entries(&self) -> usize {
        std::fs::read_dir(self.t.store().join("cas/tmp"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

fn image(name: &str, version: &str) -> (Vec<u8>, String) {
    let tar = aci::simple(name, version).finish();
    let id = sha512_id(&tar)[..71].to_string();
    (aci::gzip(&tar), id)
}

fn paths(log: &[Request]) -> Vec<String> {
    log.iter()
        .map(|r| format!("{} {}", r.scheme, r.target))
        .collect()
}

#[test]
fn url_fetch_imports_then_revalidates_with_etag() {
    let fx = setup("fetch-url", Cert::Good);
    let (body, id) = image("localhost/app", "1.0");
    fx.srv.handle(move |r| match r.path() {
        "/app.aci" if r.header("if-none-match") == Some("\"v1\"") => Response::new(304, ""),
        "/app.aci" => Response::ok(body.clone()).header("ETag", "\"v1\""),
        _ => Response::not_found(),
    });
    let out = fx.rkt(&[
        "--insecure-options=image",
        "fetch",
        "--full",
        "https://localhost/app.aci",
    ]);
    assert_ok(&out);
    let got = stdout(&out).trim().to_string();
    assert_eq!(got[..71], id);
    // stderr is no terminal: the warning, and no progress bar.
    assert_eq!(
        stderr(&out).trim(),
        "rkt: warning: https://localhost/app.aci: signature verification has been disabled"
    );
    let log = fx.srv.take_log();
    assert_eq!(
        paths(&log),
        vec!["https /app.aci"],
        "no signature asked with image insecure"
    );
    assert!(log[0].header("if-none-match").is_none());
    assert_eq!(fx.remotes(), 1);
    assert_eq!(fx.tmp_entries(), 0);
    // Policy update (fetch's default): asks again, gets 304, reuses the image.
    assert_eq!(fx.fetch(&["https://localhost/app.aci"]), got);
    let log = fx.srv.take_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].header("if-none-match"), Some("\"v1\""));
    // Policy new: the store has it; no request at all.
    assert_eq!(
        fx.fetch(&["--pull-policy=new", "https://localhost/app.aci"]),
        got
    );
    assert!(fx.srv.take_log().is_empty());
    fx.t.assert_consistent();
}

#[test]
fn a_signature_that_is_not_one_refuses_the_image() {
    let fx = setup("fetch-sig", Cert::Good);
    let (body, _) = image("localhost/app", "1.0");
    let asked = Arc::new(AtomicUsize::new(0));
    let asked2 = asked.clone();
    fx.srv.handle(move |r| match r.path() {
        "/app.aci" => Response::ok(body.clone()),
        // 202 first: "ask again after the image".
        "/app.aci.asc" if asked2.fetch_add(1, Ordering::SeqCst) == 0 => Response::new(202, ""),
        "/app.aci.asc" => Response::ok("-----BEGIN PGP SIGNATURE-----\n"),
        _ => Response::not_found(),
    });
    assert_ok(&fx.t.rkt(&["image", "list"]));
    let before = fx.snapshot();
    let out = fx.rkt(&["fetch", "https://localhost/app.aci"]);
    assert_fails(&out, "bad signature");
    assert_eq!(stdout(&out), "");
    assert_eq!(
        paths(&fx.srv.take_log()),
        vec!["https /app.aci.asc", "https /app.aci", "https /app.aci.asc"]
    );
    snapshot::assert_same(&before, &fx.snapshot(), "refused unsigned fetch");
    // A signature that never comes: still 404 -> refused before the image is downloaded.
    fx.srv.handle(|_| Response::not_found());
    assert_fails(
        &fx.rkt(&["fetch", "https://localhost/app.aci"]),
        "bad HTTP status code: 404",
    );
    assert_eq!(paths(&fx.srv.take_log()), vec!["https /app.aci.asc"]);
    // A huge "signature" is cut off.
    fx.srv.handle(|_| Response::ok(vec![b'x'; 2 << 20]));
    assert_fails(
        &fx.rkt(&["fetch", "https://localhost/app.aci"]),
        "signature larger than",
    );
    snapshot::assert_same(&before, &fx.snapshot(), "refused signatures");
}

#[test]
fn explicit_http_urls_are_fetched_and_bad_redirects_refused() {
    let fx = setup("fetch-http", Cert::Good);
    let (body, id) = image("localhost/app", "1.0");
    fx.srv.handle(move |r| match r.path() {
        "/app.aci" => Response::ok(body.clone()),
        "/down" => Response::redirect("http://localhost/app.aci"),
        "/loop" => Response::redirect("/loop"),
        p if p.starts_with("/hop") => {
            let n: usize = p[4..].parse().unwrap();
            if n == 0 {
                Response::redirect("/app.aci")
            } else {
                Response::redirect(&format!("/hop{}", n - 1))
            }
        }
        _ => Response::not_found(),
    });
    assert_ok(&fx.t.rkt(&["image", "list"]));
    let before = fx.snapshot();
    let insecure = "--insecure-options=image";
    let out = fx.rkt(&[insecure, "fetch", "https://localhost/down"]);
    assert_fails(&out, "redirect from https to http");
    assert_eq!(paths(&fx.srv.take_log()), vec!["https /down"]);
    // Discovery pages obey the same rule.
    let out = fx.rkt(&[insecure, "fetch", "localhost/down"]);
    assert_fails(&out, "redirect from https to http");
    assert!(fx.srv.take_log().iter().all(|r| r.scheme == "https"));
    let out = fx.rkt(&[insecure, "fetch", "https://localhost/loop"]);
    assert_fails(&out, "more than 10 redirects");
    assert_eq!(fx.srv.take_log().len(), 11);
    let out = fx.rkt(&[insecure, "fetch", "https://localhost/hop10"]);
    assert_fails(&out, "more than 10 redirects");
    fx.srv.take_log();
    snapshot::assert_same(&before, &fx.snapshot(), "refused transports");
    // An image URL written as http:// is fetched as rkt 1.30 did (`http` gates only what rkt
    // finds by itself); without `image`, its signature is looked for beside it, over http.
    let out = fx.rkt(&["fetch", "http://localhost/app.aci"]);
    assert_fails(&out, "app.aci.asc");
    assert_eq!(paths(&fx.srv.take_log()), vec!["http /app.aci.asc"]);
    assert_eq!(fx.fetch(&["http://localhost/app.aci"])[..71], id);
    assert_eq!(paths(&fx.srv.take_log()), vec!["http /app.aci"]);
    // Ten redirects are fine; plain http is fine once allowed.
    assert_eq!(fx.fetch(&["https://localhost/hop9"])[..71], id);
    fx.srv.take_log();
    let out = fx.rkt(&[
        "--insecure-options=image,http",
        "fetch",
        "https://localhost/down",
    ]);
    assert_ok(&out);
    assert_eq!(
        paths(&fx.srv.take_log()),
        vec!["https /down", "http /app.aci"]
    );
}

#[test]
fn credentials_go_only_to_their_domain() {
    let fx = setup("fetch-auth", Cert::Good);
    let (body, _) = image("localhost/app", "1.0");
    fx.srv.handle(move |r| match r.path() {
        "/a.aci" => Response::redirect("https://127.0.0.1/b.aci"),
        "/b.aci" => Response::ok(body.clone()),
        "/private.aci" if r.header("authorization") == Some("Basic dXNlcjpwYXNz") => {
            Response::ok(body.clone())
        }
        "/private.aci" => Response::new(401, "no"),
        _ => Response::not_found(),
    });
    let conf = fx.t.join("conf");
    // A domain with a port matches that host and port only (rkt 1.30): not localhost:443's
    // URL written without the port; the server's refusal in rkt's words (TestAuth*).
    std::fs::create_dir_all(conf.join("auth.d")).unwrap();
    std::fs::write(
        conf.join("auth.d/test.json"),
        r#"{"rktKind":"auth","rktVersion":"v1","domains":["localhost:443"],"type":"basic","credentials":{"user":"user","password":"pass"}}"#,
    )
    .unwrap();
    let out = fx.rkt(&[
        &format!("--local-config={}", conf.display()),
        "--insecure-options=image",
        "fetch",
        "https://localhost/private.aci",
    ]);
    assert_fails(&out, "bad HTTP status code: 401");
    assert_eq!(fx.srv.take_log()[0].header("authorization"), None);
    let out = fx.rkt(&[
        &format!("--local-config={}", conf.display()),
        "--insecure-options=image",
        "fetch",
        "https://localhost:443/private.aci",
    ]);
    assert_ok(&out);
    fx.srv.take_log();
    std::fs::create_dir_all(conf.join("auth.d")).unwrap();
    std::fs::write(
        conf.join("auth.d/test.json"),
        r#"{"rktKind":"auth","rktVersion":"v1","domains":["localhost"],"type":"basic","credentials":{"user":"user","password":"pass"}}"#,
    )
    .unwrap();
    let local = format!("--local-config={}", conf.display());
    let out = fx.rkt(&[
        &local,
        "--insecure-options=image",
        "fetch",
        "https://localhost/a.aci",
    ]);
    assert_ok(&out);
    let log = fx.srv.take_log();
    assert_eq!(paths(&log), vec!["https /a.aci", "https /b.aci"]);
    assert_eq!(log[0].header("authorization"), Some("Basic dXNlcjpwYXNz"));
    assert_eq!(
        log[1].header("authorization"),
        None,
        "not sent to another host"
    );
    // A broken auth file is named.
    std::fs::write(conf.join("auth.d/bad.json"), r#"{"rktKind":"auth"}"#).unwrap();
    let out = fx.rkt(&[
        &local,
        "--insecure-options=image",
        "fetch",
        "https://localhost/a.aci",
    ]);
    assert_fails(&out, "bad.json");
}

#[test]
fn certificate_errors_are_refused_unless_tls_is_insecure() {
    let fx = setup("fetch-tls", Cert::WrongHost);
    let (body, id) = image("localhost/app", "1.0");
    fx.srv.handle(move |_| Response::ok(body.clone()));
    assert_ok(&fx.t.rkt(&["image", "list"]));
    let before = fx.snapshot();
    let out = fx.rkt(&[
        "--insecure-options=image",
        "fetch",
        "https://localhost/app.aci",
    ]);
    assert_fails(&out, "https://localhost/app.aci");
    assert!(stderr(&out).contains("certificate"), "{}", stderr(&out));
    assert!(fx.srv.take_log().is_empty());
    snapshot::assert_same(&before, &fx.snapshot(), "bad certificate");
    let out = fx.rkt(&[
        "--insecure-options=image,tls",
        "fetch",
        "--full",
        "https://localhost/app.aci",
    ]);
    assert_ok(&out);
    assert_eq!(stdout(&out)[..71], id);
}

#[test]
fn unknown_ca_is_refused() {
    let fx = setup("fetch-ca", Cert::Good);
    fx.srv.handle(|_| Response::ok("x"));
    // The host's roots (or the compiled-in ones), which do not include the test CA.
    let out = fx.t.rkt_env(
        &[
            "--insecure-options=image",
            "fetch",
            "https://localhost/app.aci",
        ],
        &[],
    );
    assert_fails(&out, "https://localhost/app.aci");
    assert!(stderr(&out).contains("UnknownIssuer"), "{}", stderr(&out));
    assert!(fx.srv.take_log().is_empty());
}

fn discovery_page(template: &str) -> String {
    format!(
        r#"<html><head>
<meta name="ac-discovery" content="localhost/other https://localhost/wrong/{{name}}.{{ext}}">
<meta name="ac-discovery" content="localhost {template}">
<meta name="ac-discovery-pubkeys" content="localhost https://localhost/pubkeys.gpg">
</head></html>"#
    )
}

#[test]
fn names_are_discovered_and_must_match() {
    let fx = setup("fetch-name", Cert::Good);
    let (v1, id1) = image("localhost/app", "1.0");
    // Served as 2.0, but its manifest says another name.
    let (wrong_name, _) = image("localhost/impostor", "2.0");
    // Served as 3.0, but its manifest says version 9.
    let (wrong_version, _) = image("localhost/app", "9");
    let page = discovery_page("https://localhost/img/{name}-{version}-{os}-{arch}.{ext}");
    fx.srv.handle(move |r| match r.target.as_str() {
        "/?ac-discovery=1" => Response::ok(page.clone()),
        "/img/localhost/app-1.0-linux-amd64.aci" | "/img/localhost/app-latest-linux-amd64.aci" => {
            Response::ok(v1.clone())
        }
        "/img/localhost/app-2.0-linux-amd64.aci" => Response::ok(wrong_name.clone()),
        "/img/localhost/app-3.0-linux-amd64.aci" => Response::ok(wrong_version.clone()),
        _ => Response::not_found(),
    });
    assert_eq!(fx.fetch(&["localhost/app:1.0"])[..71], id1);
    assert_eq!(
        paths(&fx.srv.take_log()),
        vec![
            "https /app?ac-discovery=1",
            "https /?ac-discovery=1",
            "https /img/localhost/app-1.0-linux-amd64.aci",
        ]
    );
    let latest = |t: &StoreDir| {
        let out = t.rkt(&["image", "list", "--no-legend", "--fields=latest"]);
        assert_ok(&out);
        stdout(&out).trim().to_string()
    };
    assert_eq!(latest(&fx.t), "false");
    // Without a version: the `latest` template, and the image is marked latest.
    assert_eq!(fx.fetch(&["localhost/app"])[..71], id1);
    assert_eq!(
        paths(&fx.srv.take_log()).last().unwrap(),
        "https /img/localhost/app-latest-linux-amd64.aci"
    );
    assert_eq!(latest(&fx.t), "true");
    // `run`'s default policy: the store has it, nothing is asked.
    assert_eq!(
        fx.fetch(&["--pull-policy=new", "localhost/app:1.0"])[..71],
        id1
    );
    assert!(fx.srv.take_log().is_empty());
    let before = fx.snapshot();
    let out = fx.rkt(&["--insecure-options=image", "fetch", "localhost/app:2.0"]);
    assert_fails(
        &out,
        "image name \"localhost/impostor\" is not the requested \"localhost/app\"",
    );
    let out = fx.rkt(&["--insecure-options=image", "fetch", "localhost/app:3.0"]);
    // rkt 1.30's words (TestDifferentDiscoveryLabels).
    assert_fails(
        &out,
        "requested value for label \"version\": \"3.0\" differs from fetched aci label value: \"9\"",
    );
    // Label values are escaped into the URL, never interpreted.
    let out = fx.rkt(&[
        "--insecure-options=image",
        "fetch",
        "localhost/app:1.0/..?y#z",
    ]);
    assert_fails(&out, "bad HTTP status code: 404");
    let log = paths(&fx.srv.take_log());
    assert!(
        log.contains(&"https /img/localhost/app-1.0%2F..%3Fy%23z-linux-amd64.aci".to_string()),
        "{log:?}"
    );
    // Nothing matches: a clear error naming the name.
    let out = fx.rkt(&["--insecure-options=image", "fetch", "example.invalid/app"]);
    assert_fails(&out, "discovery of example.invalid/app");
    snapshot::assert_same(&before, &fx.snapshot(), "refused name fetches");
}

#[test]
fn hostile_discovery_pages_are_bounded() {
    let fx = setup("fetch-hostile", Cert::Good);
    fx.srv.handle(|r| match r.target.as_str() {
        "/big?ac-discovery=1" => Response::ok(vec![b'<'; 2 << 20]),
        "/?ac-discovery=1" => Response::ok("<meta name=a content=b>".repeat(100_000 / 23)),
        _ => Response::not_found(),
    });
    assert_ok(&fx.t.rkt(&["image", "list"]));
    let before = fx.snapshot();
    let out = fx.rkt(&["--insecure-options=image", "fetch", "localhost/big"]);
    assert_fails(&out, "discovery page larger than");
    let out = fx.rkt(&["--insecure-options=image", "fetch", "localhost/many"]);
    assert_fails(&out, "no ac-discovery meta tag matches");
    snapshot::assert_same(&before, &fx.snapshot(), "hostile discovery");
}

#[test]
fn cache_max_age_no_store_and_removed_images() {
    let fx = setup("fetch-cache", Cert::Good);
    let (body, _) = image("localhost/app", "1.0");
    fx.srv.handle(move |r| match r.path() {
        _ if r.header("if-none-match").is_some() => Response::new(304, ""),
        "/fresh.aci" => Response::ok(body.clone())
            .header("Cache-Control", "max-age=3600")
            .header("ETag", "\"f\""),
        "/nostore.aci" => Response::ok(body.clone()).header("Cache-Control", "no-store"),
        "/etag.aci" => Response::ok(body.clone()).header("ETag", "\"e\""),
        _ => Response::not_found(),
    });
    let id = fx.fetch(&["https://localhost/fresh.aci"]);
    fx.srv.take_log();
    assert_eq!(fx.fetch(&["https://localhost/fresh.aci"]), id);
    assert!(fx.srv.take_log().is_empty(), "fresh by max-age: no request");
    assert_eq!(fx.remotes(), 1);
    assert_eq!(fx.fetch(&["https://localhost/nostore.aci"]), id);
    assert_eq!(fx.remotes(), 1, "no-store: no record");
    assert_eq!(fx.fetch(&["https://localhost/etag.aci"]), id);
    assert_eq!(fx.remotes(), 2);
    fx.srv.take_log();
    // The image is removed: its records go, and the next fetch downloads it again rather
    // than trusting a 304.
    assert_ok(&fx.t.rkt(&["image", "rm", &id]));
    assert_eq!(fx.remotes(), 0);
    assert_eq!(fx.fetch(&["https://localhost/etag.aci"]), id);
    let log = fx.srv.take_log();
    assert_eq!(log.len(), 1);
    assert!(log[0].header("if-none-match").is_none());
    // --store-only / --pull-policy=never: the store only.
    assert_eq!(
        fx.fetch(&["--store-only", "https://localhost/etag.aci"]),
        id
    );
    let out = fx.rkt(&[
        "--insecure-options=image",
        "fetch",
        "--pull-policy=never",
        "https://localhost/nostore.aci",
    ]);
    assert_fails(
        &out,
        "unable to fetch image from https://localhost/nostore.aci",
    );
    assert!(fx.srv.take_log().is_empty());
    let out = fx.rkt(&["fetch", "--pull-policy=often", "https://localhost/x.aci"]);
    assert_fails(&out, "--pull-policy");
}

#[test]
fn interrupted_downloads_resume_or_restart() {
    let fx = setup("fetch-resume", Cert::Good);
    let tar = aci::simple("localhost/big", "1.0")
        .file("rootfs/noise", 0o644, &aci::noise(3 << 20, 7))
        .finish();
    let id = sha512_id(&tar)[..71].to_string();
    let body = aci::gzip(&tar);
    let half = body.len() / 2;
    let tag = Arc::new(std::sync::Mutex::new(("\"e1\"".to_string(), true)));
    let state = tag.clone();
    let served = body.clone();
    fx.srv.handle(move |r| {
        let (etag, truncate) = state.lock().unwrap().clone();
        let range_ok = r.header("if-range") == Some(etag.as_str());
        match r.header("range").and_then(|v| v.strip_prefix("bytes=")) {
            Some(from) if range_ok => {
                let start: usize = from.trim_end_matches('-').parse().unwrap();
                let mut resp = Response::new(206, served[start..].to_vec())
                    .header("ETag", &etag)
                    .header(
                        "Content-Range",
                        &format!("bytes {start}-{}/{}", served.len() - 1, served.len()),
                    );
                if truncate {
                    resp.truncate_at = Some(10);
                }
                resp
            }
            _ => {
                let mut resp = Response::ok(served.clone()).header("ETag", &etag);
                if truncate {
                    resp.truncate_at = Some(half);
                }
                resp
            }
        }
    });
    let insecure = "--insecure-options=image";
    let url = "https://localhost/big.aci";
    assert_fails(&fx.rkt(&[insecure, "fetch", url]), url);
    assert_eq!(fx.tmp_entries(), 1, "the partial download is kept");
    assert_eq!(fx.t.list_ids(), Vec::<String>::new());
    let log = fx.srv.take_log();
    assert!(log[0].header("range").is_none());
    // Resumed with Range + If-Range, completed: the same image as a whole download.
    tag.lock().unwrap().1 = false;
    assert_eq!(fx.fetch(&[url])[..71], id);
    let log = fx.srv.take_log();
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0].header("range"),
        Some(format!("bytes={half}-").as_str())
    );
    assert_eq!(fx.tmp_entries(), 0);
    assert_ok(&fx.t.rkt(&["image", "rm", &id]));
    // Interrupted again, then the content changes (ETag flip): the server ignores the
    // range and the download restarts from zero.
    *tag.lock().unwrap() = ("\"e1\"".to_string(), true);
    assert_fails(&fx.rkt(&[insecure, "fetch", url]), url);
    *tag.lock().unwrap() = ("\"e2\"".to_string(), false);
    assert_eq!(fx.fetch(&[url])[..71], id);
    let log = fx.srv.take_log();
    assert_eq!(log.last().unwrap().header("if-range"), Some("\"e1\""));
    assert_ok(&fx.t.rkt(&["image", "rm", &id]));
    // A weak ETag never justifies a range.
    *tag.lock().unwrap() = ("W/\"w\"".to_string(), true);
    assert_fails(&fx.rkt(&[insecure, "fetch", url]), url);
    tag.lock().unwrap().1 = false;
    assert_eq!(fx.fetch(&[url])[..71], id);
    let log = fx.srv.take_log();
    assert!(log.last().unwrap().header("range").is_none());
    fx.t.assert_consistent();
}

#[test]
fn stalled_transfers_time_out() {
    let fx = setup("fetch-stall", Cert::Good);
    let (body, _) = image("localhost/app", "1.0");
    fx.srv.handle(move |_| {
        let mut r = Response::ok(body.clone());
        r.truncate_at = Some(100);
        r.stall = true;
        r
    });
    // A short stall timeout here only: the server really stops sending, so however loaded
    // the machine, the transfer can only end by timing out.
    let out = fx.rkt_env(
        &[
            "--insecure-options=image",
            "fetch",
            "https://localhost/app.aci",
        ],
        &[("RKT_FETCH_STALL_TIMEOUT", "2")],
    );
    assert_fails(&out, "https://localhost/app.aci");
    assert!(
        stderr(&out).contains("timed out") || stderr(&out).contains("interrupted"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fx.t.list_ids(), Vec::<String>::new());
}

#[test]
fn dependencies_are_fetched_by_name() {
    let fx = setup("fetch-deps", Cert::Good);
    let (base, base_id) = image("localhost/base", "1.0");
    let app_manifest = r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"localhost/app","labels":[{"name":"version","value":"1.0"},{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],"dependencies":[{"imageName":"localhost/base","labels":[{"name":"version","value":"1.0"}]}]}"#;
    let app_tar = aci::base(app_manifest)
        .file("rootfs/app", 0o644, b"app\n")
        .finish();
    let app = aci::gzip(&app_tar);
    // The same dependency pinned to another imageID, or announced with another size.
    let dep_variant = |name: &str, extra: &str| {
        let manifest = format!(
            r#"{{"acKind":"ImageManifest","acVersion":"0.8.11","name":"{name}","dependencies":[{{"imageName":"localhost/base","labels":[{{"name":"version","value":"1.0"}}]{extra}}}]}}"#
        );
        aci::gzip(&aci::base(&manifest).finish())
    };
    let pinned = dep_variant(
        "localhost/pinned",
        &format!(r#","imageID":"sha512-{}""#, "ab".repeat(64)),
    );
    let sized = dep_variant("localhost/sized", r#","size":1"#);
    let page = discovery_page("https://localhost/img/{name}-{version}.{ext}");
    fx.srv.handle(move |r| match r.target.as_str() {
        "/?ac-discovery=1" => Response::ok(page.clone()),
        "/img/localhost/base-1.0.aci" => Response::ok(base.clone()),
        "/app.aci" => Response::ok(app.clone()),
        "/pinned.aci" => Response::ok(pinned.clone()),
        "/sized.aci" => Response::ok(sized.clone()),
        _ => Response::not_found(),
    });
    // A dependency fetched for an image must have the size the image announces.
    let out = fx.rkt(&[
        "--insecure-options=image",
        "fetch",
        "https://localhost/sized.aci",
    ]);
    assert_fails(&out, "the manifest says 1");
    assert_eq!(fx.t.list_ids().len(), 1, "only the dependency");
    let id = fx.fetch(&["https://localhost/app.aci"]);
    let mut ids = fx.t.list_ids();
    ids.sort();
    let mut want = vec![
        id.clone(),
        fx.t.list_ids()
            .into_iter()
            .find(|i| i.starts_with(&base_id))
            .unwrap(),
    ];
    want.sort();
    assert_eq!(ids, want);
    // Rendered with the dependency under it.
    let out = fx.t.join("rendered");
    assert_ok(&fx.t.rkt(&[
        "image",
        "render",
        "--rootfs-only",
        &id,
        out.to_str().unwrap(),
    ]));
    assert!(out.join("etc/hello").is_file() && out.join("app").is_file());
    let insecure = "--insecure-options=image";
    let out = fx.rkt(&[insecure, "fetch", "https://localhost/pinned.aci"]);
    assert_fails(&out, "does not match the required sha512-abab");
    assert_eq!(fx.t.list_ids().len(), 2, "neither dependent was imported");
    fx.t.assert_consistent();
}

#[test]
fn progress_bar_when_stderr_is_a_terminal() {
    let fx = setup("fetch-progress", Cert::Good);
    let (body, _) = image("localhost/app", "1.0");
    fx.srv.handle(move |_| Response::ok(body.clone()));
    // `script` gives rkt a terminal; the progress line and the ID both land in its output.
    let cmd = format!(
        "{} --dir={} --insecure-options=image fetch https://localhost/app.aci",
        e2e::rkt_bin().display(),
        fx.t.store().display()
    );
    let out = std::process::Command::new("timeout")
        .args(["120", "script", "-qec", &cmd, "/dev/null"])
        .envs(fx.srv.env())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains("Downloading ACI: ["), "{text}");
    assert!(text.contains("B/s"), "rate shown: {text}");
    assert!(text.contains("sha512-"), "{text}");
}
