//! Named networks (issue 15): confs of `<local-config>/net.d` run through Debian's CNI plugins
//! (`containernetworking-plugins`: `bridge` with `host-local`), ADD at the start with rkt
//! 1.30's environment and CNI_ARGS, DEL at gc, the namespace pinned at
//! `/var/run/netns/cni-<uuid>` until then; a missing plugin is named and leaves nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use e2e::require_root;
use e2e::store::{assert_fails, assert_ok, stderr, stdout, StoreDir};

/// What the plugins leave on the host by design (the bridge, host-local's directory, the
/// nf_tables tables `iptables` created for them, once empty), removed when the test ends. The
/// tests run one at a time, so that "created for them" is known.
struct PluginLeftovers {
    bridge: String,
    network: String,
    tables_before: Vec<String>,
    _serial: std::sync::MutexGuard<'static, ()>,
}

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn tables() -> Vec<String> {
    let out = Command::new("nft")
        .args(["list", "tables"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("table "))
        .map(String::from)
        .collect()
}

/// Whether `table` (`family name`) holds no rule: every line is a chain's or a brace.
fn empty_table(table: &str) -> bool {
    let mut args = vec!["list", "table"];
    args.extend(table.split(' '));
    let out = Command::new("nft").args(&args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().all(|l| {
        let l = l.trim();
        l.is_empty()
            || l.starts_with("table ")
            || l.starts_with("chain ")
            || l.starts_with("type ")
            || l == "}"
    })
}

impl Drop for PluginLeftovers {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
        let _ = std::fs::remove_dir_all(Path::new("/var/lib/cni/networks").join(&self.network));
        for table in tables() {
            if !self.tables_before.contains(&table) && empty_table(&table) {
                let mut args = vec!["delete", "table"];
                args.extend(table.split(' '));
                let _ = Command::new("nft").args(&args).output();
            }
        }
    }
}

/// A store with the probe and a net.d holding one bridge network `name` on 10.214.`n`.0/24.
/// The leftovers come first: dropped last, after the store's pods are gone.
fn setup(
    test: &str,
    name: &str,
    n: u8,
    plugin: &str,
    ip_masq: bool,
) -> (PluginLeftovers, StoreDir) {
    require_root();
    assert!(
        Path::new("/usr/lib/cni/bridge").is_file(),
        "Debian's containernetworking-plugins is missing: run scripts/setup.sh"
    );
    let t = StoreDir::new(test);
    t.probe_image();
    let netd = t.join("cfg/net.d");
    std::fs::create_dir_all(&netd).unwrap();
    let bridge = format!("cni-e2e{n}");
    std::fs::write(
        netd.join(format!("10-{name}.conf")),
        format!(
            r#"{{"cniVersion":"0.4.0","name":"{name}","type":"{plugin}","bridge":"{bridge}","isGateway":true,"ipMasq":{ip_masq},"ipam":{{"type":"host-local","subnet":"10.214.{n}.0/24","routes":[{{"dst":"0.0.0.0/0"}}]}}}}"#
        ),
    )
    .unwrap();
    let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let leftovers = PluginLeftovers {
        bridge,
        network: name.to_string(),
        tables_before: tables(),
        _serial: serial,
    };
    // A killed run of this test left its leases behind.
    let _ = std::fs::remove_dir_all(Path::new("/var/lib/cni/networks").join(name));
    (leftovers, t)
}

fn local_config(t: &StoreDir) -> String {
    format!("--local-config={}", t.join("cfg").display())
}

fn pinned(uuid: &str) -> PathBuf {
    PathBuf::from(format!("/var/run/netns/cni-{uuid}"))
}

/// Whether `path` is a mount point (mountinfo names it by its real path: /var/run is /run).
fn mounted(path: &Path) -> bool {
    let dir = std::fs::canonicalize(path.parent().unwrap()).unwrap();
    let real = dir.join(path.file_name().unwrap());
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(real.to_str().unwrap()))
}

fn nat_rules() -> String {
    let out = Command::new("iptables")
        .args(["-t", "nat", "-S"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_bridge_network_honours_cni_args_and_gc_deletes_what_its_plugins_made() {
    let (_left, t) = setup("cni-bridge", "e2ecni", 1, "bridge", true);
    let cfg = local_config(&t);
    let pod = t.start(
        &[
            &cfg,
            // IgnoreUnknown: the bridge plugin refuses keys it does not know itself.
            "--net=e2ecni:IP=10.214.1.50;IgnoreUnknown=1",
            "example.com/probe",
            "--",
            "sleep",
            "3600",
        ],
        Stdio::null(),
    );
    let uuid = pod.uuid.clone();
    let dir = t.pod_dir("run", &uuid);
    let v = e2e::net::net_info(&t, &uuid);
    let info = v.to_string();
    // The named network first, then default-restricted, as rkt 1.30 added it.
    assert_eq!(v[0]["netName"], "e2ecni", "{info}");
    assert_eq!(v[0]["ip"], "10.214.1.50", "{info}");
    assert_eq!(v[0]["ifName"], "eth0", "{info}");
    assert_eq!(v[0]["args"], "IP=10.214.1.50;IgnoreUnknown=1", "{info}");
    assert_eq!(v[0]["pluginPath"], "/usr/lib/cni/bridge", "{info}");
    assert_eq!(v[0]["netConf"], "net/10-e2ecni.conf", "{info}");
    assert_eq!(v[1]["netName"], "default-restricted", "{info}");
    assert_eq!(v[1]["ifName"], "eth1", "{info}");
    let restricted_ip = v[1]["ip"].as_str().unwrap().to_string();
    let status = t.rkt(&["status", &uuid]);
    assert!(
        stdout(&status).contains(&format!(
            "\nnetworks=e2ecni:ip4=10.214.1.50, default-restricted:ip4={restricted_ip}\n"
        )),
        "{}",
        stdout(&status)
    );
    // rkt 1.30's netns file: the pinned path, no newline; the namespace mounted there.
    assert_eq!(
        std::fs::read_to_string(dir.join("netns")).unwrap(),
        pinned(&uuid).to_str().unwrap()
    );
    assert!(mounted(&pinned(&uuid)));
    // The plugins' state: host-local's lease, the bridge plugin's masquerade chain.
    let lease = Path::new("/var/lib/cni/networks/e2ecni/10.214.1.50");
    assert!(lease.is_file());
    assert!(nat_rules().contains(&uuid), "{}", nat_rules());
    // The host reaches the pod on the named network (ping-free: a TCP refusal is an answer).
    let out = Command::new(e2e::pod::probe_bin())
        .args(["tcp", "10.214.1.50:9"])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("errno=111"), "{}", stdout(&out));
    // Another pod asking for the same address: host-local's refusal, exit 254, nothing left.
    let out = t.rkt(&[
        &cfg,
        "run",
        "--net=e2ecni:IP=10.214.1.50;IgnoreUnknown=1",
        "example.com/probe",
        "--",
        "true",
    ]);
    assert_fails(&out, "10.214.1.50");
    assert_eq!(out.status.code(), Some(254));
    t.finish(pod);
    assert!(!lease.exists(), "DEL freed host-local's lease");
    assert!(!nat_rules().contains(&uuid), "{}", nat_rules());
    assert!(!mounted(&pinned(&uuid)));
    assert!(!pinned(&uuid).exists());
    let lock = t.store().join("networks/default-restricted");
    let left: Vec<_> = std::fs::read_dir(lock)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["lock"]);
}

#[test]
fn a_missing_plugin_is_named_with_the_path_searched_and_nothing_is_left() {
    let (_left, t) = setup("cni-missing", "e2emiss", 2, "nosuchplugin", false);
    let cfg = local_config(&t);
    let out = t.rkt(&[
        &cfg,
        "run",
        "--net=e2emiss",
        "example.com/probe",
        "--",
        "true",
    ]);
    let netd = t.join("cfg/net.d");
    assert_fails(
        &out,
        &format!(
            "stage1: failed to setup network: Could not find plugin \"nosuchplugin\" (searched {}:/usr/lib/rkt/plugins/net:/usr/lib/cni:/opt/cni/bin)",
            netd.display()
        ),
    );
    assert_eq!(out.status.code(), Some(254));
    assert_eq!(t.pods_in("run"), Vec::<String>::new());
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(&t.path.display().to_string()),
        "{mountinfo}"
    );
    // An unknown name: rkt 1.30's words.
    let out = t.rkt(&[&cfg, "run", "--net=e2emiss,other", "example.com/probe"]);
    assert_fails(&out, "networks not found: other");
    t.gc_all_with(&["--expire-prepared=0s"]);
}

#[test]
fn gc_of_a_pod_whose_plugin_is_gone_frees_what_is_rkts_and_says_the_rest_once() {
    let (_left, t) = setup("cni-gone", "e2egone", 3, "e2ebridge", false);
    // The plugin lives in net.d (searched first), so the test can take it away.
    let plugin = t.join("cfg/net.d/e2ebridge");
    std::fs::copy("/usr/lib/cni/bridge", &plugin).unwrap();
    let cfg = local_config(&t);
    let pod = t.start(
        &[
            &cfg,
            "--net=e2egone",
            "example.com/probe",
            "--",
            "sleep",
            "3600",
        ],
        Stdio::null(),
    );
    let uuid = pod.uuid.clone();
    assert!(mounted(&pinned(&uuid)));
    std::fs::remove_file(&plugin).unwrap();
    assert_ok(&t.rkt(&["stop", "--force", &uuid]));
    let mut pod = pod;
    let _ = pod.child.wait();
    let out = t.rkt(&[&cfg, "gc", "--grace-period=0s"]);
    assert_ok(&out);
    let said = stderr(&out).matches("network \"e2egone\": DEL").count();
    assert_eq!(said, 1, "{}", stderr(&out));
    assert_eq!(t.pods_in("exited-garbage"), Vec::<String>::new());
    assert!(!mounted(&pinned(&uuid)));
    assert!(!pinned(&uuid).exists());
    // Said once: the next gc has nothing of it left.
    let out = t.rkt(&[&cfg, "gc", "--grace-period=0s"]);
    assert!(!stderr(&out).contains("e2egone"), "{}", stderr(&out));
    t.gc_all();
}
