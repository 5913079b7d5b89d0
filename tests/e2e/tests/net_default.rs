//! The built-in `default` network, rkt 1.30's default (issue 15): `eth0` on 172.16.28.0/24
//! behind a veth pair, a default route and masquerade out, `--port` forwards in, all over
//! rtnetlink and nf_tables with nothing installed on the host; the attacks a pod could make
//! from it (the host's loopback, raw packets, spoofed sources) fail.

use std::net::TcpListener;
use std::process::{Command, Stdio};

use e2e::net::{
    host_if, host_links, net_info, pod_address, raw_pair, rkt_table, serve, wait_listening,
    web_image, Outside, Receiver,
};
use e2e::require_root;
use e2e::store::{assert_fails, assert_ok, stderr, stdout, StoreDir};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

/// `rkt enter UUID /bin/probe`, the way into a running pod for [`raw_pair`].
fn in_pod(t: &StoreDir, uuid: &str) -> Vec<String> {
    vec![
        e2e::rkt_bin().display().to_string(),
        format!("--dir={}", t.store().display()),
        "enter".into(),
        uuid.to_string(),
        "/bin/probe".into(),
    ]
}

#[track_caller]
fn assert_no_leases(t: &StoreDir, why: &str) {
    e2e::net::assert_no_leases(t, "default", why);
}

/// Nothing of the pod is left on the host: its veth, its nf_tables elements (named by its
/// veth; its address may be another test's pod's by now).
fn assert_pod_gone(uuid: &str) {
    let link = host_if(uuid);
    assert!(!host_links().contains(&link), "{link} is left");
    let table = rkt_table();
    assert!(!table.contains(&link), "{table}");
}

#[test]
fn a_default_pod_routes_out_through_masquerade_and_never_reaches_the_hosts_loopback() {
    let t = setup("net-default");
    let outside = Outside::new(1);
    // A server on the other host, which sees the address a pod's connection comes from.
    let mut server = Command::new("ip")
        .args(["netns", "exec", &outside.netns])
        .arg(e2e::pod::probe_bin())
        .args(["serve", &format!("{}:9000", outside.ip)])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_listening(server.stdout.take().unwrap());
    let local = TcpListener::bind("127.0.0.1:0").unwrap();
    let local_port = local.local_addr().unwrap().port();
    serve(local);
    let to_outside = format!("{}:9000", outside.ip);
    let to_loopback = format!("127.0.0.1:{local_port}");
    let to_local_via_gw = format!("172.16.28.1:{local_port}");
    // No --net: rkt 1.30's default is the contained `default` network.
    let out = t.run_probe(
        &[],
        &[
            "ls",
            "/sys/class/net",
            "+",
            "cat",
            "/proc/net/route",
            "+",
            "cat",
            "/proc/net/fib_trie",
            "+",
            "tcp",
            &to_outside,
            "+",
            "tcp",
            &to_loopback,
            "+",
            "tcp",
            &to_local_via_gw,
        ],
    );
    let _ = server.kill();
    let _ = server.wait();
    assert_ok(&out);
    let s = stdout(&out);
    assert!(s.starts_with("eth0\nlo\n"), "{s}");
    // The default route: destination 0, gateway 172.16.28.1 (little-endian hex), on eth0.
    assert!(s.contains("eth0\t00000000\t011C10AC\t0003"), "{s}");
    let ip = pod_address(&s, "172.16.28.").expect("an address in 172.16.28.0/24");
    // Masquerade: the other host sees the host's address on its link, not the pod's.
    assert!(
        s.contains(&format!("tcp {to_outside}=peer={}\n", outside.host_ip)),
        "{s}"
    );
    assert!(s.contains(&format!("tcp {to_loopback} errno=111\n")), "{s}");
    assert!(
        s.contains(&format!("tcp {to_local_via_gw} errno=111\n")),
        "{s}"
    );
    let uuid = t.pods_in("run").pop().unwrap();
    let v = net_info(&t, &uuid);
    assert_eq!(v[0]["netName"], "default", "{v}");
    assert_eq!(v[0]["ip"], ip.as_str(), "{v}");
    assert_eq!(v[0]["mask"], "255.255.255.0", "{v}");
    assert_eq!(
        std::fs::read_to_string(t.pod_dir("run", &uuid).join("net/default.conf")).unwrap(),
        r#"{"name":"default","type":"ptp","ipMasq":true,"ipam":{"type":"host-local","subnet":"172.16.28.0/24","routes":[{"dst":"0.0.0.0/0"}]}}"#
    );
    t.gc_all();
    assert_no_leases(&t, "gc freed the lease");
    assert_pod_gone(&uuid);
}

#[test]
fn two_default_pods_reach_each_other_and_neither_can_send_as_the_other() {
    let t = setup("net-pods");
    web_image(&t);
    let mut a = t.start(
        &["example.com/web", "--", "serve", "0.0.0.0:80"],
        Stdio::piped(),
    );
    wait_listening(a.child.stdout.take().unwrap());
    let v = net_info(&t, &a.uuid);
    let a_ip = v[0]["ip"].as_str().unwrap().to_string();
    let to_a = format!("{a_ip}:80");
    let out = t.run_probe(&[], &["cat", "/proc/net/fib_trie", "+", "tcp", &to_a]);
    assert_ok(&out);
    let s = stdout(&out);
    let b_ip = pod_address(&s, "172.16.28.").unwrap();
    assert_ne!(a_ip, b_ip);
    assert!(s.contains(&format!("tcp {to_a}=peer={b_ip}\n")), "{s}");

    // Spoofing works on a plain veth of the test's own: the host takes any source there.
    let rx = Receiver::new();
    let outside = Outside::new(2);
    let spoofed = "10.213.2.77".to_string();
    let probe = e2e::pod::probe_bin();
    let in_outside = [
        "ip",
        "netns",
        "exec",
        &outside.netns,
        probe.to_str().unwrap(),
    ];
    let out = raw_pair(
        &in_outside,
        &outside.peer_if,
        rx.port,
        (&spoofed, &outside.host_ip, "spoofed"),
        (&outside.ip, &outside.host_ip),
    );
    assert_ok(&out);
    assert_eq!(
        rx.before_marker(),
        [("spoofed".to_string(), spoofed.clone())],
        "the attack, reproduced"
    );
    // From a pod (one process on one CPU: the two datagrams stay in order), with pod A's
    // address as the source: dropped; the marker from its own address arrives.
    let out = raw_pair(
        &in_pod(&t, &a.uuid),
        "eth0",
        rx.port,
        (&b_ip, "172.16.28.1", "spoofed"),
        (&a_ip, "172.16.28.1"),
    );
    assert_ok(&out);
    assert_eq!(rx.before_marker(), Vec::<(String, String)>::new());
    let uuid = a.uuid.clone();
    t.finish(a);
    assert_pod_gone(&uuid);
}

#[test]
fn fifty_parallel_starts_get_distinct_addresses_and_gc_frees_them_for_reuse() {
    let t = setup("net-fifty");
    let pods = e2e::soak_count("PARALLEL_PODS", 50);
    let addresses: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..pods)
            .map(|_| s.spawn(|| t.run_probe(&["--net=default"], &["cat", "/proc/net/fib_trie"])))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let out = h.join().unwrap();
                assert_ok(&out);
                pod_address(&stdout(&out), "172.16.28.").unwrap()
            })
            .collect()
    });
    let mut unique = addresses.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), pods, "{addresses:?}");
    t.gc_all();
    assert_no_leases(&t, "gc freed every lease");
    // Freed for reuse: the next pod gets the store's lowest free address again, at most the
    // highest the 50 had (the lowest ones may be other tests' pods' just now: the host's
    // routes are shared, the leases per store).
    let out = t.run_probe(&[], &["cat", "/proc/net/fib_trie"]);
    assert_ok(&out);
    let again = pod_address(&stdout(&out), "172.16.28.").unwrap();
    let last = |ip: &str| ip.rsplit('.').next().unwrap().parse::<u8>().unwrap();
    let highest = addresses.iter().map(|a| last(a)).max().unwrap();
    assert!(last(&again) <= highest, "{again} after {addresses:?}");
    t.gc_all();
}

#[test]
fn a_port_answers_from_another_host_and_from_the_hosts_loopback() {
    let t = setup("net-port");
    web_image(&t);
    let outside = Outside::new(3);
    let mut pod = t.start(
        &[
            "--port=http:18083",
            "example.com/web",
            "--",
            "serve",
            "0.0.0.0:80",
        ],
        Stdio::piped(),
    );
    wait_listening(pod.child.stdout.take().unwrap());
    let v = net_info(&t, &pod.uuid);
    let ip = v[0]["ip"].as_str().unwrap().to_string();
    let manifest = std::fs::read_to_string(t.pod_dir("run", &pod.uuid).join("pod")).unwrap();
    assert!(
        manifest.contains(r#""ports":[{"name":"http","hostPort":18083}]"#),
        "{manifest}"
    );
    let probe = e2e::pod::probe_bin();
    let probe = probe.to_str().unwrap();
    // From the other host, to this host's address on its link: the client's own address.
    let out = outside.exec(&[probe, "tcp", &format!("{}:18083", outside.host_ip)]);
    assert!(
        stdout(&out).contains(&format!("=peer={}", outside.ip)),
        "{}",
        stdout(&out)
    );
    // From the host itself, to 127.0.0.1 and to the gateway.
    for to in ["127.0.0.1:18083", "172.16.28.1:18083"] {
        let out = Command::new(probe).args(["tcp", to]).output().unwrap();
        assert!(
            stdout(&out).contains(&format!("tcp {to}=peer=172.16.28.1")),
            "{}",
            stdout(&out)
        );
    }
    // Orchestrators read the address: status, list, list --format=json.
    let status = t.rkt(&["status", &pod.uuid]);
    assert!(
        stdout(&status).contains(&format!("\nnetworks=default:ip4={ip}\n")),
        "{}",
        stdout(&status)
    );
    let json = t.rkt(&["list", "--format=json"]);
    let pods: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(pods[0]["networks"][0]["ip"], ip.as_str());

    // A host port another pod forwards already: refused, and nothing of the second pod stays.
    let out = t.rkt(&["run", "--port=http:18083", "example.com/web", "--", "true"]);
    assert_fails(
        &out,
        "stage1: failed to setup network: port tcp-0.0.0.0:18083 is already forwarded to another pod",
    );
    assert_eq!(out.status.code(), Some(254));
    // rkt 1.30's refusals, before any pod exists.
    let cases: [(&[&str], &str); 4] = [
        (
            &["--net=host", "--port=http:18084"],
            "--port flag does not work with 'host' networking",
        ),
        (
            &["--net=none", "--port=http:18084"],
            "--port flag does not work with 'none' networking",
        ),
        (
            &["--port=nope:18084"],
            r#"port name "nope" could not be found in any apps"#,
        ),
        (
            &["--port=http"],
            r#""http" is not in name:[ip:]port format"#,
        ),
    ];
    let before = t.pods_in("run").len();
    for (flags, message) in cases {
        let mut args = vec!["run"];
        args.extend_from_slice(flags);
        args.extend(["example.com/web", "--", "true"]);
        let out = t.rkt(&args);
        assert_fails(&out, message);
        assert_eq!(out.status.code(), Some(254), "{}", stderr(&out));
    }
    assert_eq!(t.pods_in("run").len(), before);
    let uuid = pod.uuid.clone();
    t.finish(pod);
    assert_pod_gone(&uuid);
    assert!(!rkt_table().contains("18083"), "{}", rkt_table());
}

#[test]
fn with_a_port_forwarded_a_pods_raw_packets_to_the_hosts_loopback_are_dropped() {
    let t = setup("net-localnet");
    web_image(&t);
    let rx = Receiver::new();
    // The attack, reproduced on a veth of the test's own with route_localnet set (what a
    // 127.0.0.1 port forward needs): a raw packet to 127.0.0.1 reaches the host's socket.
    let outside = Outside::new(4);
    std::fs::write(
        format!("/proc/sys/net/ipv4/conf/{}/route_localnet", outside.host_if),
        "1",
    )
    .unwrap();
    let probe = e2e::pod::probe_bin();
    let probe = probe.to_str().unwrap();
    let in_outside = ["ip", "netns", "exec", &outside.netns, probe];
    let out = raw_pair(
        &in_outside,
        &outside.peer_if,
        rx.port,
        (&outside.ip, "127.0.0.1", "attack"),
        (&outside.ip, &outside.host_ip),
    );
    assert_ok(&out);
    assert_eq!(
        rx.before_marker(),
        [("attack".to_string(), outside.ip.clone())],
        "the attack, reproduced"
    );
    // A pod with a forward from the host's 127.0.0.1 (route_localnet on its veth): dropped.
    let mut pod = t.start(
        &[
            "--port=http:127.0.0.1:18085",
            "example.com/web",
            "--",
            "serve",
            "0.0.0.0:80",
        ],
        Stdio::piped(),
    );
    wait_listening(pod.child.stdout.take().unwrap());
    let link = host_if(&pod.uuid);
    assert_eq!(
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{link}/route_localnet"))
            .unwrap()
            .trim(),
        "1"
    );
    let v = net_info(&t, &pod.uuid);
    let ip = v[0]["ip"].as_str().unwrap().to_string();
    let out = raw_pair(
        &in_pod(&t, &pod.uuid),
        "eth0",
        rx.port,
        (&ip, "127.0.0.1", "attack"),
        (&ip, "172.16.28.1"),
    );
    assert_ok(&out);
    assert_eq!(rx.before_marker(), Vec::<(String, String)>::new());
    // The forward itself works, from the host's loopback only.
    let out = Command::new(probe)
        .args(["tcp", "127.0.0.1:18085"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("=peer=172.16.28.1"),
        "{}",
        stdout(&out)
    );
    let uuid = pod.uuid.clone();
    t.finish(pod);
    assert_pod_gone(&uuid);
}

#[test]
fn the_default_network_needs_no_cni_plugins_and_no_ip_tools() {
    let t = setup("net-bare");
    let open = TcpListener::bind("0.0.0.0:0").unwrap();
    let open_port = open.local_addr().unwrap().port();
    serve(open);
    // A private mount namespace without /usr/lib/cni, /opt/cni, /usr/sbin (= /sbin), and with
    // ip, nft and iptables elsewhere on PATH replaced by /dev/null.
    let script = format!(
        r#"set -e
for d in /usr/lib/cni /opt/cni /usr/sbin /usr/lib/rkt; do
    [ -d "$d" ] && mount -t tmpfs none "$d"
done
for tool in ip nft iptables iptables-nft; do
    for p in $(which -a $tool 2>/dev/null); do mount --bind /dev/null "$p"; done
done
if ip link >/dev/null 2>&1; then echo "ip still works" >&2; exit 1; fi
exec {rkt} --dir={dir} run example.com/probe -- tcp 172.16.28.1:{open_port}
"#,
        rkt = e2e::rkt_bin().display(),
        dir = t.store().display(),
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "bash", "-c", &script])
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(
        stdout(&out).contains(&format!("tcp 172.16.28.1:{open_port}=pong")),
        "{}",
        stdout(&out)
    );
    t.gc_all();
    assert_no_leases(&t, "gc freed the lease");
}

#[test]
fn a_contained_pod_gets_the_hosts_nameservers_or_the_stubs_upstream_ones() {
    let t = setup("net-dns");
    let fake = t.join("fake-resolv");
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::write(
        fake.join("stub"),
        "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.test\n",
    )
    .unwrap();
    std::fs::write(
        fake.join("upstream"),
        "nameserver 10.53.0.1\nnameserver 10.53.0.2\n",
    )
    .unwrap();
    // A host whose resolv.conf points at a systemd-resolved stub on its loopback.
    let script = format!(
        r#"set -e
mount --bind {stub} /etc/resolv.conf
mkdir -p /run/systemd/resolve
mount -t tmpfs none /run/systemd/resolve
cp {upstream} /run/systemd/resolve/resolv.conf
{rkt} --dir={dir} run example.com/probe -- cat /etc/resolv.conf
echo ---
{rkt} --dir={dir} run --net=host example.com/probe -- cat /etc/resolv.conf
echo ---
{rkt} --dir={dir} run --dns=10.9.9.9 example.com/probe -- cat /etc/resolv.conf
"#,
        stub = fake.join("stub").display(),
        upstream = fake.join("upstream").display(),
        rkt = e2e::rkt_bin().display(),
        dir = t.store().display(),
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "bash", "-c", &script])
        .output()
        .unwrap();
    assert_ok(&out);
    let s = stdout(&out);
    let parts: Vec<&str> = s.split("---\n").collect();
    assert_eq!(
        parts[0],
        "# Generated by rkt from the host's /etc/resolv.conf\noptions edns0 trust-ad\n\
         search example.test\nnameserver 10.53.0.1\nnameserver 10.53.0.2\n"
    );
    // --net=host: the host's file as it is; --dns: only what the flags say.
    assert!(parts[1].starts_with("nameserver 127.0.0.53\n"), "{s}");
    assert!(parts[2].contains("nameserver 10.9.9.9\n"), "{s}");
    assert!(!parts[2].contains("10.53.0.1"), "{s}");
    t.gc_all();
}

#[test]
fn run_and_gc_cycles_kill_9_and_a_crash_at_start_up_leave_no_veth_rule_or_lease() {
    let t = setup("net-cycles");
    web_image(&t);
    let cycles = e2e::soak_count("NET_CYCLES", 20);
    let uuid_file = t.join("cycle.uuid");
    let save = format!("--uuid-file-save={}", uuid_file.display());
    for i in 0..cycles {
        let port = format!("--port=http:{}", 19000 + i);
        let out = t.rkt(&["run", &save, &port, "example.com/web", "--", "true"]);
        assert_ok(&out);
        let uuid = e2e::pod::read_uuid(&uuid_file);
        assert_ok(&t.rkt(&["gc", "--grace-period=0s"]));
        assert_pod_gone(&uuid);
    }
    assert_no_leases(&t, "after the cycles");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(&t.path.display().to_string()),
        "{mountinfo}"
    );

    // kill -9 of rkt while the pod runs, then of PID 1, then gc.
    let mut pod = t.start(
        &[
            "--port=http:19999",
            "example.com/web",
            "--",
            "serve",
            "0.0.0.0:80",
        ],
        Stdio::piped(),
    );
    wait_listening(pod.child.stdout.take().unwrap());
    let uuid = pod.uuid.clone();
    assert!(rkt_table().contains("19999"));
    pod.child.kill().unwrap();
    let _ = pod.child.wait();
    let pid: i32 = std::fs::read_to_string(t.pod_dir("run", &uuid).join("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    e2e::wait_until("PID 1 exits", || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
    });
    t.gc_all();
    assert_no_leases(&t, "gc after kill -9");
    assert_pod_gone(&uuid);
    assert!(!rkt_table().contains("19999"), "{}", rkt_table());
    // rkt dies between the network setup and Go: gc frees what the pod dir records.
    let uuid_file = t.join("crashed.uuid");
    let save = format!("--uuid-file-save={}", uuid_file.display());
    let out = t.rkt_env(
        &[
            "run",
            &save,
            "--port=http:19998",
            "example.com/web",
            "--",
            "true",
        ],
        &[("RKT_FAILPOINT", "pod-ready")],
    );
    assert!(!out.status.success());
    // PID 1 dies with rkt: wait until the pod's lock is free.
    let crashed = e2e::pod::read_uuid(&uuid_file);
    assert_ok(&t.rkt(&["status", &format!("--wait={}", e2e::WAIT_FLAG), &crashed]));
    t.gc_all_with(&["--expire-prepared=0s"]);
    assert_no_leases(&t, "gc after a crash at start-up");
    assert!(!rkt_table().contains("19998"), "{}", rkt_table());
}

#[test]
fn prepare_stores_the_ports_and_run_prepared_takes_the_network() {
    let t = setup("net-prepared");
    web_image(&t);
    let out = t.rkt(&[
        "prepare",
        "--quiet",
        "--port=http:127.0.0.1:18087",
        "example.com/web",
        "--",
        "serve",
        "0.0.0.0:80",
    ]);
    assert_ok(&out);
    let uuid = stdout(&out).trim().to_string();
    let manifest = std::fs::read_to_string(t.pod_dir("prepared", &uuid).join("pod")).unwrap();
    assert!(
        manifest.contains(r#""ports":[{"name":"http","hostPort":18087,"hostIP":"127.0.0.1"}]"#),
        "{manifest}"
    );
    // run-prepared without --net: rkt's default network, the stored forward with it.
    let mut child = t
        .command(&["run-prepared", &uuid], &[])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_listening(child.stdout.take().unwrap());
    let out = Command::new(e2e::pod::probe_bin())
        .args(["tcp", "127.0.0.1:18087"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("=peer=172.16.28.1"),
        "{}",
        stdout(&out)
    );
    assert_ok(&t.rkt(&["stop", &uuid]));
    let _ = child.wait();
    // run-prepared --net=default-restricted: that network (rkt 1.30's run-prepared --net).
    let out = t.rkt(&[
        "prepare",
        "--quiet",
        "example.com/probe",
        "--",
        "cat",
        "/proc/net/fib_trie",
    ]);
    assert_ok(&out);
    let second = stdout(&out).trim().to_string();
    let out = t.rkt(&["run-prepared", "--net=default-restricted", &second]);
    assert_ok(&out);
    assert!(
        pod_address(&stdout(&out), "172.31.").is_some(),
        "{}",
        stdout(&out)
    );
    t.gc_all();
    assert_pod_gone(&uuid);
}
