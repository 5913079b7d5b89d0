//! The built-in `default-restricted` network (issue 15, first part): a network namespace of
//! the pod's own with `eth0` on 172.31.0.0/16 joined to the host by a veth pair, set up over
//! rtnetlink with nothing installed on the host; the pod reaches the host side and nothing of
//! the host's loopback; status, list and net-info.json show the address; rm and gc free the
//! lease, and the veth goes with the pod.

use std::net::TcpListener;
use std::process::Stdio;

use e2e::net::{host_if, host_links, net_info, pod_address, serve};
use e2e::require_root;
use e2e::store::{assert_ok, stderr, stdout, StoreDir};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

#[track_caller]
fn assert_no_leases(t: &StoreDir, why: &str) {
    e2e::net::assert_no_leases(t, "default-restricted", why);
}

#[test]
fn a_restricted_pod_has_its_own_eth0_reaches_the_host_side_and_not_its_loopback() {
    let t = setup("net-restricted");
    // Reachable on every host address, so on the host side of the pod's veth too.
    let open = TcpListener::bind("0.0.0.0:0").unwrap();
    let open_port = open.local_addr().unwrap().port();
    serve(open);
    // Only on the host's loopback: what a pod must never reach.
    let local = TcpListener::bind("127.0.0.1:0").unwrap();
    let local_port = local.local_addr().unwrap().port();
    serve(local);
    let to_host = format!("172.31.0.1:{open_port}");
    let to_loopback = format!("127.0.0.1:{local_port}");
    let to_local_via_gw = format!("172.31.0.1:{local_port}");
    let out = t.run_probe(
        &["--net=default-restricted"],
        &[
            "ls",
            "/sys/class/net",
            "+",
            "tcp",
            &to_host,
            "+",
            "tcp",
            &to_loopback,
            "+",
            "tcp",
            &to_local_via_gw,
        ],
    );
    assert_ok(&out);
    let s = stdout(&out);
    // Only the pod's own interfaces: none of the host's.
    assert!(s.starts_with("eth0\nlo\n"), "{s}");
    assert!(s.contains(&format!("tcp {to_host}=pong\n")), "{s}");
    // ECONNREFUSED: the pod's 127.0.0.1 is its own; the host's loopback-only server is not
    // on the gateway address.
    assert!(s.contains(&format!("tcp {to_loopback} errno=111\n")), "{s}");
    assert!(
        s.contains(&format!("tcp {to_local_via_gw} errno=111\n")),
        "{s}"
    );
    t.gc_all();
    assert_no_leases(&t, "gc freed the lease");
}

#[test]
fn status_list_and_net_info_show_the_address_and_cleanup_leaves_nothing() {
    let t = setup("net-status");
    let pod = t.start(
        &[
            "--net=default-restricted",
            "example.com/probe",
            "--",
            "sleep",
            "3600",
        ],
        Stdio::null(),
    );
    let uuid = pod.uuid.clone();
    let v = net_info(&t, &uuid);
    let info = v.to_string();
    let ip = v[0]["ip"].as_str().unwrap().to_string();
    assert!(ip.starts_with("172.31."), "{info}");
    assert_eq!(v[0]["netName"], "default-restricted", "{info}");
    assert_eq!(v[0]["ifName"], "eth0", "{info}");
    assert_eq!(v[0]["mask"], "255.255.0.0", "{info}");
    let status = t.rkt(&["status", &uuid]);
    assert_ok(&status);
    assert!(
        stdout(&status).contains(&format!("\nnetworks=default-restricted:ip4={ip}\n")),
        "{}",
        stdout(&status)
    );
    let list = t.rkt(&["list", "--no-legend", "--full"]);
    assert!(
        stdout(&list).contains(&format!("default-restricted:ip4={ip}")),
        "{}",
        stdout(&list)
    );
    let json = t.rkt(&["list", "--format=json"]);
    let pods: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        pods[0]["networks"][0]["ip"],
        ip.as_str(),
        "{}",
        stderr(&json)
    );
    let link = host_if(&uuid);
    assert!(host_links().contains(&link), "{link} on the host");
    // No IPv6 on the host side: no link-local address for the pod to reach host services by.
    let inet6 = std::fs::read_to_string("/proc/net/if_inet6").unwrap_or_default();
    assert!(
        !inet6.lines().any(|l| l.ends_with(&format!(" {link}"))),
        "{inet6}"
    );
    // A second pod gets another address while the first holds its lease.
    let out = t.run_probe(
        &["--net=default-restricted"],
        &["cat", "/proc/self/net/fib_trie"],
    );
    assert_ok(&out);
    assert!(
        !stdout(&out).contains(&format!("|-- {ip}\n")),
        "{}",
        stdout(&out)
    );
    t.finish(pod);
    assert!(!host_links().contains(&link), "{link} went with the pod");
    assert_no_leases(&t, "gc freed the leases");
}

#[test]
fn an_unknown_network_is_refused_before_the_pod_starts() {
    let t = setup("net-unknown");
    let out = t.run_probe(&["--net=nosuchnet"], &["true"]);
    assert_eq!(out.status.code(), Some(254), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("stage1: failed to setup network: networks not found: nosuchnet"),
        "{}",
        stderr(&out)
    );
    assert_eq!(t.pods_in("run"), Vec::<String>::new());
}

/// Pods of two data dirs start at once: every start succeeds, the pods of one store get
/// distinct addresses (the leases are per data dir, the host's routes are not: a clash with a
/// running pod of the other store is retried), and gc of both leaves no lease.
#[test]
fn parallel_starts_from_two_stores_get_distinct_addresses() {
    let stores = [setup("net-par-a"), setup("net-par-b")];
    let per_store = e2e::soak_count("NET_PARALLEL", 10);
    let addresses: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = stores
            .iter()
            .flat_map(|t| {
                (0..per_store).map(move |_| {
                    s.spawn(move || {
                        let out = t.run_probe(
                            &["--net=default-restricted"],
                            &["cat", "/proc/net/fib_trie"],
                        );
                        assert_ok(&out);
                        pod_address(&stdout(&out), "172.31.").expect("the pod's address")
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // A store keeps its pods' leases until gc: its pods never share an address. Across
    // stores an address comes back once the other store's pod has ended (and every start
    // above succeeded, clashes with running pods of the other store retried).
    for half in addresses.chunks(per_store) {
        let mut unique = half.to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), half.len(), "{addresses:?}");
    }
    for t in &stores {
        t.gc_all();
        assert_no_leases(t, "gc freed the leases");
    }
}

/// kill -9 of PID 1 while the pod runs, and of rkt right after the start: gc frees the lease
/// and no veth stays on the host.
#[test]
fn kill_9_then_gc_leaves_no_lease_and_no_veth() {
    let t = setup("net-kill9");
    for victim in ["pid1", "rkt"] {
        let pod = t.start(
            &[
                "--net=default-restricted",
                "example.com/probe",
                "--",
                "sleep",
                "3600",
            ],
            Stdio::null(),
        );
        let link = host_if(&pod.uuid);
        assert!(host_links().contains(&link), "{link}");
        let pid1 = std::fs::read_to_string(t.pod_dir("run", &pod.uuid).join("pid")).unwrap();
        let target = match victim {
            "pid1" => pid1.trim().to_string(),
            _ => pod.child.id().to_string(),
        };
        assert!(std::process::Command::new("kill")
            .args(["-9", &target])
            .status()
            .unwrap()
            .success());
        if victim == "rkt" {
            // The started pod outlives rkt: stop it.
            assert_ok(&t.rkt(&["stop", "--force", &pod.uuid]));
        }
        e2e::wait_until("PID 1 to die", || {
            !std::path::Path::new(&format!("/proc/{}", pid1.trim())).exists()
        });
        drop(pod);
        t.gc_all();
        assert!(!host_links().contains(&link), "after kill -9 of {victim}");
        assert_no_leases(&t, &format!("after kill -9 of {victim}"));
    }
}

/// CNI_ARGS a built-in network does not take are refused before the pod starts: no lease,
/// no cgroups, no PID 1; the pod is an aborted prepare that gc removes.
#[test]
fn bad_cni_args_are_refused_before_the_pod_starts() {
    let t = setup("net-badargs");
    for (net, needle) in [
        ("--net=default-restricted:FOO=1", "unknown keys [\"FOO\"]"),
        (
            "--net=default-restricted:IP=nope",
            "\"nope\" is not an IPv4 address",
        ),
    ] {
        let uuid_file = t.join("uuid");
        let save = format!("--uuid-file-save={}", uuid_file.display());
        let out = t.run_probe(&[net, &save], &["true"]);
        assert_eq!(out.status.code(), Some(254), "{}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{}", stderr(&out));
        assert_eq!(t.pods_in("run"), Vec::<String>::new());
        // Refused before the start made anything: no cgroups, no PID 1.
        let pod = t.pod_dir("prepare", &e2e::pod::read_uuid(&uuid_file));
        assert!(pod.is_dir());
        assert!(!pod.join("cgroups").exists() && !pod.join("pid").exists());
    }
    assert!(!t.store().join("networks/default-restricted").exists());
    t.gc_all_with(&["--expire-prepared=0s"]);
}
