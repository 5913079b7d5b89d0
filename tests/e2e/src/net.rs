//! Helpers for the network tests: servers on the host, the host's links, a second "host" (a
//! network namespace the test creates, joined to this one by a veth pair of its own), the
//! `example.com/web` image (the probe serving TCP on port `http`), and a UDP receiver that
//! tells what arrived before a marker datagram.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::process::{Command, Output};

use crate::aci;
use crate::pod::{probe_manifest, probe_tar, LINUX_AMD64};
use crate::store::StoreDir;

/// Answers "pong" to every connection until the test ends.
pub fn serve(listener: TcpListener) {
    std::thread::spawn(move || {
        for mut c in listener.incoming().flatten() {
            let mut buf = [0u8; 4];
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"pong");
        }
    });
}

pub fn host_links() -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The host side's name for a pod (`rkt` + 12 hex digits of its UUID).
pub fn host_if(uuid: &str) -> String {
    let hex: String = uuid
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(12)
        .collect();
    format!("rkt{hex}")
}

fn sh(args: &[&str]) -> Output {
    Command::new(args[0]).args(&args[1..]).output().unwrap()
}

#[track_caller]
fn must(args: &[&str]) {
    let out = sh(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Another host: the network namespace `e2e-net-<n>` with `10.213.<n>.2/24` on its side of a
/// veth pair whose host side `e2eo<n>` has `10.213.<n>.1/24`, and a default route via the
/// host. Deleted (namespace, veth) when dropped.
pub struct Outside {
    pub netns: String,
    pub host_if: String,
    pub peer_if: String,
    pub host_ip: String,
    pub ip: String,
}

impl Outside {
    pub fn new(n: u8) -> Outside {
        let o = Outside {
            netns: format!("e2e-net-{n}"),
            host_if: format!("e2eo{n}"),
            peer_if: format!("e2ep{n}"),
            host_ip: format!("10.213.{n}.1"),
            ip: format!("10.213.{n}.2"),
        };
        // Left over by a test run that was killed.
        let _ = sh(&["ip", "netns", "del", &o.netns]);
        let _ = sh(&["ip", "link", "del", &o.host_if]);
        must(&["ip", "netns", "add", &o.netns]);
        must(&[
            "ip", "link", "add", &o.host_if, "type", "veth", "peer", "name", &o.peer_if, "netns",
            &o.netns,
        ]);
        must(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", o.host_ip),
            "dev",
            &o.host_if,
        ]);
        must(&["ip", "link", "set", &o.host_if, "up"]);
        let n = o.netns.as_str();
        must(&[
            "ip",
            "-n",
            n,
            "addr",
            "add",
            &format!("{}/24", o.ip),
            "dev",
            &o.peer_if,
        ]);
        must(&["ip", "-n", n, "link", "set", &o.peer_if, "up"]);
        must(&["ip", "-n", n, "link", "set", "lo", "up"]);
        must(&["ip", "-n", n, "route", "add", "default", "via", &o.host_ip]);
        o
    }

    /// Runs `args` in the other host's namespace.
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut all = vec!["ip", "netns", "exec", self.netns.as_str()];
        all.extend_from_slice(args);
        sh(&all)
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", &self.netns]);
        let _ = sh(&["ip", "link", "del", &self.host_if]);
    }
}

/// Writes and imports `example.com/web`: the probe with a `tcp` port named `http` (80); run it
/// with `-- serve 0.0.0.0:80`.
pub fn web_image(t: &StoreDir) {
    let aci = t.join("web.aci");
    let ports = r#","ports":[{"name":"http","protocol":"tcp","port":80}]"#;
    aci::write(
        &aci,
        &probe_tar(
            &probe_manifest("example.com/web", LINUX_AMD64, ports),
            |t| t,
        ),
    );
    t.fetch(&aci);
}

/// Reads the pod's stdout until the probe's `serve` says it listens.
pub fn wait_listening(stdout: impl Read) {
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.starts_with("listening ") => return,
            Some(Ok(_)) => {}
            other => panic!("the pod's server never listened: {other:?}"),
        }
    }
}

/// A UDP socket on all host addresses that collects datagrams until one says `marker`.
pub struct Receiver {
    pub socket: UdpSocket,
    pub port: u16,
}

impl Receiver {
    pub fn new() -> Receiver {
        let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
        socket.set_read_timeout(Some(crate::WAIT)).unwrap();
        let port = socket.local_addr().unwrap().port();
        Receiver { socket, port }
    }

    /// Every datagram (payload, source IP) that came before the marker.
    pub fn before_marker(&self) -> Vec<(String, String)> {
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            let (n, from) = self
                .socket
                .recv_from(&mut buf)
                .expect("the marker datagram never arrived");
            let payload = String::from_utf8_lossy(&buf[..n]).into_owned();
            if payload == "marker" {
                return got;
            }
            got.push((payload, from.ip().to_string()));
        }
    }
}

impl Default for Receiver {
    fn default() -> Self {
        Receiver::new()
    }
}

/// The pod's address on `prefix`, from its `/proc/net/fib_trie` (`|-- A` then
/// `/32 host LOCAL`).
pub fn pod_address(fib_trie: &str, prefix: &str) -> Option<String> {
    let lines: Vec<&str> = fib_trie.lines().collect();
    lines.windows(2).find_map(|w| {
        let ip = w[0].trim().strip_prefix("|-- ")?;
        (ip.starts_with(prefix) && w[1].trim() == "/32 host LOCAL").then(|| ip.to_string())
    })
}

/// The pod's `net-info.json` (a running pod's).
pub fn net_info(t: &StoreDir, uuid: &str) -> serde_json::Value {
    let info = std::fs::read_to_string(t.pod_dir("run", uuid).join("net-info.json")).unwrap();
    serde_json::from_str(&info).unwrap_or_else(|e| panic!("{e}: {info}"))
}

/// Only the lock file is left of the store's leases of the built-in network `net`.
#[track_caller]
pub fn assert_no_leases(t: &StoreDir, net: &str, why: &str) {
    let leases = t.store().join("networks").join(net);
    let left: Vec<_> = std::fs::read_dir(&leases)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["lock"], "{why}");
}

/// Runs `probe` (the command before it: how to reach it) with two `raw-udp` datagrams to
/// `port` out of `iface`: `(source, destination, payload)`, then `marker` from `marker_from`
/// to `marker_to`. One process pinned to CPU 0: the two stay in order on the way in, so a
/// [`Receiver`] that got the marker has got the first one too, unless it was dropped.
pub fn raw_pair<S: AsRef<str>>(
    probe: &[S],
    iface: &str,
    port: u16,
    first: (&str, &str, &str),
    marker: (&str, &str),
) -> Output {
    let port = port.to_string();
    let mut args = vec!["taskset", "-c", "0"];
    args.extend(probe.iter().map(AsRef::as_ref));
    args.extend(["raw-udp", iface, first.0, first.1, &port, first.2]);
    args.extend(["+", "raw-udp", iface, marker.0, marker.1, &port, "marker"]);
    sh(&args)
}

/// `nft list table ip rkt`, empty when the table is not there.
pub fn rkt_table() -> String {
    let out = sh(&["nft", "list", "table", "ip", "rkt"]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}
