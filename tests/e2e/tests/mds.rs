//! `rkt metadata-service` over its real sockets (issue 18): registration on the unix socket,
//! every public endpoint on TCP, hostile clients, and a restart that keeps the registrations.
//!
//! Each service runs in a mount namespace of its own whose /run/rkt is a directory of the
//! test, so nothing touches the host's /run/rkt; the test reaches its socket through
//! `/proc/<pid>/root`, and its TCP port (a free one) on loopback.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use e2e::require_root;
use e2e::store::StoreDir;

const UUID: &str = "6f1f0d3c-1a2b-4c5d-8e9f-0123456789ab";
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

struct Service {
    child: Child,
    port: u16,
}

impl Service {
    /// Starts the service with `run_dir` as its /run/rkt, and waits until it answers.
    fn start(run_dir: &Path) -> Service {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = format!(
            "mount --bind {} /run/rkt && exec {} --debug metadata-service --listen-port={port}",
            run_dir.display(),
            e2e::rkt_bin().display()
        );
        std::fs::create_dir_all("/run/rkt").unwrap();
        let child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "--", "sh", "-c", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s = Service { child, port };
        e2e::wait_until("the metadata service", || {
            UnixStream::connect(s.socket()).is_ok() && TcpStream::connect(s.addr()).is_ok()
        });
        s
    }

    fn socket(&self) -> PathBuf {
        PathBuf::from(format!(
            "/proc/{}/root/run/rkt/metadata-svc.sock",
            self.child.id()
        ))
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// One request on the registration socket: (status, body).
    fn register(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut s = UnixStream::connect(self.socket()).unwrap();
        exchange(&mut s, method, path, "", body)
    }

    /// One request on the public API: (status, content type, body).
    fn get(&self, route: &str) -> (u16, String, String) {
        let mut s = TcpStream::connect(self.addr()).unwrap();
        let path = format!("/{TOKEN}/acMetadata/v1/{route}");
        let raw = raw_exchange(&mut s, "GET", &path, "", "");
        parse(&raw)
    }

    fn post(&self, token: &str, route: &str, form: &str) -> (u16, String, String) {
        let mut s = TcpStream::connect(self.addr()).unwrap();
        let path = format!("/{token}/acMetadata/v1/{route}");
        let ct = "Content-Type: application/x-www-form-urlencoded\r\n";
        parse(&raw_exchange(&mut s, "POST", &path, ct, form))
    }

    /// SIGTERM, and the exit it must make.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        // The shell exec'd rkt: the child's pid is rkt's.
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        assert!(self.child.wait().unwrap().success());
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn raw_exchange(
    s: &mut impl ReadWrite,
    method: &str,
    path: &str,
    extra: &str,
    body: &str,
) -> Vec<u8> {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn exchange(
    s: &mut impl ReadWrite,
    method: &str,
    path: &str,
    extra: &str,
    body: &str,
) -> (u16, String) {
    let (status, _, body) = parse(&raw_exchange(s, method, path, extra, body));
    (status, body)
}

/// (status, content type, body) of a reply.
fn parse(raw: &[u8]) -> (u16, String, String) {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let ct = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap_or("")
        .to_string();
    (status, ct, body.to_string())
}

fn pod_manifest() -> String {
    format!(
        r#"{{"acKind":"PodManifest","acVersion":"0.8.11","apps":[{{"name":"web","image":{{"name":"example.com/web","id":"sha512-{}"}},"annotations":[{{"name":"b","value":"pod"}}]}}],"annotations":[{{"name":"example.com/p","value":"v"}}]}}"#,
        "a".repeat(128)
    )
}

const IMAGE: &str = r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/web","annotations":[{"name":"a","value":"1"},{"name":"b","value":"image"}]}"#;

fn register_pod(s: &Service) {
    let (status, body) = s.register(
        "PUT",
        &format!("/pods/{UUID}?token={TOKEN}"),
        &pod_manifest(),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = s.register("PUT", &format!("/pods/{UUID}/web"), IMAGE);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn registration_then_every_endpoint_over_the_sockets() {
    require_root();
    let t = StoreDir::new("mds-endpoints");
    let run = t.join("run-rkt");
    std::fs::create_dir(&run).unwrap();
    let s = Service::start(&run);
    assert_eq!(
        s.register("PUT", &format!("/pods/{UUID}"), &pod_manifest()),
        (400, "token missing".into())
    );
    register_pod(&s);
    let text = "text/plain; charset=us-ascii";
    let json = "application/json";
    for (route, status, ct, body) in [
        ("pod/uuid", 200, text, UUID.to_string()),
        (
            "pod/annotations",
            200,
            json,
            r#"[{"name":"example.com/p","value":"v"}]"#.into(),
        ),
        ("pod/annotations/example.com/p", 200, text, "v".into()),
        (
            "apps/web/image/id",
            200,
            text,
            format!("sha512-{}", "a".repeat(128)),
        ),
        (
            "apps/web/annotations",
            200,
            json,
            r#"[{"name":"a","value":"1"},{"name":"b","value":"pod"}]"#.into(),
        ),
        (
            "apps/db/annotations",
            404,
            "text/plain; charset=utf-8",
            "app not found\n".into(),
        ),
    ] {
        assert_eq!(s.get(route), (status, ct.to_string(), body), "{route}");
    }
    let (status, ct, manifest) = s.get("pod/manifest");
    assert_eq!((status, ct.as_str()), (200, json));
    assert!(manifest.contains(r#""name":"web""#), "{manifest}");
    let (status, _, sig) = s.post(TOKEN, "pod/hmac/sign", "content=Old+MacDonald+Had+A+Farm");
    assert_eq!((status, sig.len()), (200, 88));
    let sig_form = sig
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let verify = |content: &str| {
        let form = format!("content={content}&uuid={UUID}&signature={sig_form}");
        s.post("whatever", "pod/hmac/verify", &form).0
    };
    assert_eq!(verify("Old+MacDonald+Had+A+Farm"), 200);
    assert_eq!(verify("Old+MacDonald+Had+A+Cow"), 403);
    // An unknown token is 401; unregistering ends the pod's access.
    let (status, _, _) = s.post("not-a-token", "pod/hmac/sign", "content=x");
    assert_eq!(status, 401);
    assert_eq!(s.register("DELETE", &format!("/pods/{UUID}"), "").0, 200);
    assert_eq!(s.get("pod/uuid").0, 401);
    s.stop();
    assert!(
        !run.join("metadata-svc.sock").exists(),
        "the socket stays after exit"
    );
}

#[test]
fn hostile_clients_never_stop_it_answering_and_a_restart_keeps_the_pods() {
    require_root();
    let t = StoreDir::new("mds-hostile");
    let run = t.join("run-rkt");
    std::fs::create_dir(&run).unwrap();
    let s = Service::start(&run);
    register_pod(&s);
    // 500 idle connections and 50 that trickle half a request head.
    let mut held: Vec<TcpStream> = (0..500)
        .map(|_| TcpStream::connect(s.addr()).unwrap())
        .collect();
    for _ in 0..50 {
        let mut c = TcpStream::connect(s.addr()).unwrap();
        c.write_all(b"GET /x/acMetadata/v1/pod/uuid HTTP/1.1\r\nHost: sl")
            .unwrap();
        held.push(c);
    }
    // While they are held, a request is answered.
    assert_eq!(s.get("pod/uuid").0, 200);
    // Garbage, an oversized body and an oversized head: refused, one line each.
    let mut g = TcpStream::connect(s.addr()).unwrap();
    g.write_all(b"\x00\x01garbage\r\n\r\n").unwrap();
    let mut out = Vec::new();
    g.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let _ = g.read_to_end(&mut out);
    assert_eq!(parse(&out).0, 400, "{}", String::from_utf8_lossy(&out));
    let mut big = TcpStream::connect(s.addr()).unwrap();
    let head = format!(
        "POST /{TOKEN}/acMetadata/v1/pod/hmac/sign HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        10 << 20
    );
    big.write_all(head.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = big.read_to_end(&mut out);
    assert_eq!(parse(&out).0, 413);
    assert_eq!(s.get("pod/uuid").0, 200);
    drop(held);

    // A restart (SIGTERM, then a new service on the same /run/rkt) serves the pod again.
    s.stop();
    let s = Service::start(&run);
    assert_eq!(
        s.get("pod/uuid"),
        (200, "text/plain; charset=us-ascii".into(), UUID.into())
    );
    assert_eq!(s.register("DELETE", &format!("/pods/{UUID}"), "").0, 200);
    s.stop();
}

/// `rkt run --mds-register`: the pod and its apps are registered before they start, the apps
/// reach the service at `AC_METADATA_URL` (loopback on the host's network, the gateway on the
/// default one), and the pod is unregistered when it exits. Runs in a network and mount
/// namespace of its own: its port 18112 and its /run/rkt are the test's.
#[test]
fn run_mds_register_gives_the_apps_the_service() {
    require_root();
    let t = StoreDir::new("mds-run");
    t.probe_image();
    let run = t.join("run-rkt");
    std::fs::create_dir(&run).unwrap();
    std::fs::create_dir_all("/run/rkt").unwrap();
    let script = format!(
        r#"
        ip link set lo up
        mount --bind "{run}" /run/rkt
        RKT="{rkt} --dir={dir}"
        rc=0; $RKT run --mds-register --net=host example.com/probe -- true 2> "$T/no-service.err" || rc=$?
        echo "no-service-rc=$rc"
        {rkt} metadata-service 2> "$T/mds.err" &
        mds=$!
        wait_until 120 test -S /run/rkt/metadata-svc.sock
        for net in host default; do
            $RKT run --mds-register --net=$net --uuid-file-save="$T/uuid-$net" example.com/probe \
                -- mds-get pod/uuid + mds-get apps/probe/image/id + mds-sign hello + env \
                > "$T/out-$net"
            echo "registered-after-$net=$(ls /run/rkt/mds | wc -l)"
        done
        rc=0; $RKT run --mds-register --net=none example.com/probe 2> "$T/none.err" || rc=$?
        echo "none-rc=$rc"
        kill -TERM $mds; wait $mds
        "#,
        run = run.display(),
        rkt = e2e::rkt_bin().display(),
        dir = t.store().display(),
    );
    let out = Command::new("unshare")
        .args(["-m", "-n", "--propagation", "private", "--"])
        .args(["bash", "-euc", &format!("{}\n{script}", e2e::SH_WAIT_UNTIL)])
        .env("T", &t.path)
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{s}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let no_service = std::fs::read_to_string(t.join("no-service.err")).unwrap();
    assert!(s.contains("no-service-rc=254\n"), "{s}");
    assert!(
        no_service.contains("could not reach the metadata service"),
        "{no_service}"
    );
    for net in ["host", "default"] {
        let app = std::fs::read_to_string(t.join(&format!("out-{net}"))).unwrap();
        let uuid = std::fs::read_to_string(t.join(&format!("uuid-{net}"))).unwrap();
        assert!(
            app.contains(&format!("mds 200 {}\n", uuid.trim())),
            "{net}: {app}"
        );
        assert!(app.contains("mds 200 sha512-"), "{net}: {app}");
        let sig = app
            .lines()
            .find(|l| l.starts_with("mds 200 ") && l.ends_with("=="))
            .unwrap_or("");
        assert_eq!(sig.len(), "mds 200 ".len() + 88, "{net}: {app}");
        let host = if net == "host" {
            "127.0.0.1"
        } else {
            "172.16.28.1"
        };
        let want = format!("env AC_METADATA_URL=http://{host}:18112/");
        let line = app
            .lines()
            .find(|l| l.starts_with(&want))
            .unwrap_or_else(|| panic!("{app}"));
        assert_eq!(line.len(), want.len() + 32, "{line}");
        assert!(s.contains(&format!("registered-after-{net}=0\n")), "{s}");
    }
    let none = std::fs::read_to_string(t.join("none.err")).unwrap();
    assert!(s.contains("none-rc=254\n"), "{s}");
    assert!(
        none.contains("--mds-register flag does not work with --net=none"),
        "{none}"
    );
    t.gc_all();
}

/// Only root registers pods: a peer of another uid is not served, whatever the socket's mode
/// (SO_PEERCRED), and two pods registering at once are both registered.
#[test]
fn only_root_registers_and_concurrent_registrations_all_land() {
    require_root();
    let t = StoreDir::new("mds-peers");
    let run = t.join("run-rkt");
    std::fs::create_dir(&run).unwrap();
    let s = Service::start(&run);
    // The bind mount shares the directory: the socket is reachable at the test's path too.
    let socket = run.join("metadata-svc.sock");
    e2e::store::set_mode(&socket, 0o666);
    let body = t.join("pod.json");
    std::fs::write(&body, pod_manifest()).unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "curl",
            "-s",
        ])
        .args(["-o", "/dev/null", "-w", "%{http_code}", "--unix-socket"])
        .arg(&socket)
        .args(["-X", "PUT", "--data-binary"])
        .arg(format!("@{}", body.display()))
        .arg(format!("http://x/pods/{UUID}?token={TOKEN}"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "000",
        "a non-root peer was answered"
    );
    assert_eq!(s.get("pod/uuid").0, 401, "a non-root peer registered a pod");

    let uuids: Vec<String> = (0..8)
        .map(|i| format!("6f1f0d3c-1a2b-4c5d-8e9f-{i:012x}"))
        .collect();
    std::thread::scope(|scope| {
        for (i, uuid) in uuids.iter().enumerate() {
            let s = &s;
            scope.spawn(move || {
                let path = format!("/pods/{uuid}?token=token{i}");
                assert_eq!(s.register("PUT", &path, &pod_manifest()).0, 200);
            });
        }
    });
    for (i, uuid) in uuids.iter().enumerate() {
        let mut c = TcpStream::connect(s.addr()).unwrap();
        let path = format!("/token{i}/acMetadata/v1/pod/uuid");
        let (status, _, body) = parse(&raw_exchange(&mut c, "GET", &path, "", ""));
        assert_eq!((status, body.as_str()), (200, uuid.as_str()));
        assert_eq!(s.register("DELETE", &format!("/pods/{uuid}"), "").0, 200);
    }
    s.stop();
}
