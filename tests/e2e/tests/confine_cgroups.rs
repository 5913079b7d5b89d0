//! Confinement II (cgroups, devices, read-only recursive volumes, resource isolators), end to
//! end on the static binary. Each attack is shown to work first (on the host, or with the
//! protection lifted: `--insecure-options=paths`, `--pids-limit=0`, no `--memory`), then
//! shown to fail in a default pod.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use e2e::pod::{probe_manifest, probe_tar, read_uuid, LINUX_AMD64};
use e2e::store::{assert_fails, assert_ok, stderr, stdout, StoreDir};
use e2e::{aci, require_root};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

fn probe(t: &StoreDir, flags: &[&str], args: &[&str]) -> String {
    let out = t.run_probe(flags, args);
    assert_ok(&out);
    stdout(&out)
}

/// Every cgroup directory on the host whose name is this pod's UUID.
fn pod_cgroups(uuid: &str) -> Vec<PathBuf> {
    let out = Command::new("find")
        .args([
            "/sys/fs/cgroup",
            "-maxdepth",
            "6",
            "-type",
            "d",
            "-name",
            uuid,
        ])
        .output()
        .unwrap();
    stdout(&out).lines().map(PathBuf::from).collect()
}

/// A loop device attached to a file of the test's, with a sentinel line: a host block device.
struct Loop {
    dev: String,
}

impl Loop {
    fn new(file: &Path) -> Loop {
        let mut data = b"host-loop-sentinel\n".to_vec();
        data.resize(1 << 20, 0);
        std::fs::write(file, data).unwrap();
        let out = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(file)
            .output()
            .unwrap();
        assert!(out.status.success(), "losetup: {}", stderr(&out));
        Loop {
            dev: stdout(&out).trim().to_string(),
        }
    }

    fn minor(&self) -> String {
        self.dev.trim_start_matches("/dev/loop").to_string()
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
    }
}

#[test]
fn host_devices_made_with_mknod_are_refused() {
    let t = setup("cg-devices");
    let lo = Loop::new(&t.join("disk.img"));
    let loop_node = ["mknod", "b", "7", &lo.minor(), "/dev/hostdisk", "read"];
    // Without the policy, the pod reads the host's disk through a node it made.
    let open = probe(&t, &["--insecure-options=paths"], &loop_node);
    assert!(
        open.contains("=ok open=ok data=host-loop-sentinel"),
        "{open}"
    );
    let closed = probe(&t, &[], &loop_node);
    assert!(closed.contains("mknod /dev/hostdisk=errno 1"), "{closed}");
    // rkt's TestDevices, and the other nodes of the attack.
    let out = probe(
        &t,
        &[],
        &[
            "mknod",
            "c",
            "1",
            "3",
            "/dev/n1",
            "+",
            "mknod",
            "c",
            "5",
            "2",
            "/dev/p",
            "+",
            "mknod",
            "c",
            "10",
            "237",
            "/dev/lc",
            "+",
            "mknod",
            "c",
            "10",
            "232",
            "/dev/kvm1",
            "+",
            "mknod",
            "c",
            "7",
            "1",
            "/dev/vcsa9",
            "+",
            "mknod",
            "c",
            "4",
            "64",
            "/dev/s0",
            "+",
            "mknod",
            "c",
            "10",
            "229",
            "/dev/f",
            "+",
            "mknod",
            "c",
            "1",
            "11",
            "/dev/km",
            "+",
            "open-dev",
            "/dev/ptmx",
            "+",
            "open-dev",
            "/dev/urandom",
        ],
    );
    assert!(out.contains("mknod /dev/n1=ok open=ok"), "{out}");
    for node in ["p", "lc", "kvm1", "vcsa9", "s0", "f", "km"] {
        assert!(
            out.contains(&format!("mknod /dev/{node}=errno 1")),
            "{node}: {out}"
        );
    }
    assert!(
        out.contains("open /dev/ptmx=ok") && out.contains("open /dev/urandom=ok"),
        "{out}"
    );
    let lifted = probe(
        &t,
        &["--insecure-options=paths"],
        &["mknod", "c", "10", "237", "/dev/lc"],
    );
    assert!(lifted.contains("=ok open=ok"), "{lifted}");
    t.gc_all();
}

#[test]
fn a_device_given_as_a_volume_has_the_volumes_access() {
    let t = setup("cg-devvol");
    let vol = |ro: bool| format!("--volume=lc,kind=host,source=/dev/loop-control,readOnly={ro}");
    let run = |ro: bool| {
        let out = t.rkt(&[
            "run",
            &vol(ro),
            "example.com/probe",
            "--mount=volume=lc,target=/lc",
            "--",
            "open-dev",
            "/lc",
            "read",
        ]);
        assert_ok(&out);
        stdout(&out)
    };
    // rkt's TestDevices: opened, and read(2) of loop-control is EINVAL, not EPERM.
    assert_eq!(run(false), "open /lc=ok read=errno 22\n");
    assert_eq!(run(true), "open /lc=read-only read=errno 22\n");
    t.gc_all();
}

/// A freezer cgroup of the host with a process in it; thawed and removed on drop.
struct Victim {
    dir: PathBuf,
    child: std::process::Child,
}

impl Victim {
    fn new(name: &str) -> Victim {
        let dir = Path::new("/sys/fs/cgroup/freezer").join(name);
        std::fs::create_dir(&dir).unwrap();
        let child = Command::new("sleep").arg("3600").spawn().unwrap();
        std::fs::write(dir.join("cgroup.procs"), child.id().to_string()).unwrap();
        Victim { dir, child }
    }

    fn state(&self) -> String {
        std::fs::read_to_string(self.dir.join("freezer.state"))
            .unwrap()
            .trim()
            .to_string()
    }
}

impl Drop for Victim {
    fn drop(&mut self) {
        let _ = std::fs::write(self.dir.join("freezer.state"), "THAWED");
        let _ = self.child.kill();
        let _ = self.child.wait();
        e2e::wait_until("the victim cgroup to empty", || {
            std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists()
        });
    }
}

#[test]
fn host_cgroups_are_out_of_reach_even_without_the_filter() {
    let t = setup("cg-escape");
    let name = format!("rkt-e2e-victim-{}", std::process::id());
    let victim = Victim::new(&name);
    let file = format!("{name}/freezer.state");
    let attack = ["cgroup-escape", "freezer", &file, "FROZEN"];
    // The attack, from a process in the host's root freezer cgroup (where every pod stayed).
    let out = Command::new(e2e::pod::probe_bin())
        .args(attack)
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "cgroup-escape write=ok\n");
    assert_eq!(victim.state(), "FROZEN");
    std::fs::write(victim.dir.join("freezer.state"), "THAWED").unwrap();
    // From a pod, with seccomp off so that only the cgroup namespace stands in the way: the
    // hierarchy it can mount is its own subtree, where no host cgroup exists.
    let pod = probe(&t, &["--insecure-options=seccomp"], &attack);
    assert_eq!(pod, "cgroup-escape write=errno 2\n");
    assert_eq!(victim.state(), "THAWED");
    // Nor throttle a host cgroup's CPU (shown working from the host first).
    let cpu = Path::new("/sys/fs/cgroup/cpu").join(&name);
    std::fs::create_dir(&cpu).unwrap();
    let quota = format!("{name}/cpu.cfs_quota_us");
    let throttle = ["cgroup-escape", "cpu", &quota, "1000"];
    let host = Command::new(e2e::pod::probe_bin())
        .args(throttle)
        .output()
        .unwrap();
    let pod = probe(&t, &["--insecure-options=seccomp"], &throttle);
    let set = std::fs::read_to_string(cpu.join("cpu.cfs_quota_us")).unwrap();
    std::fs::remove_dir(&cpu).unwrap();
    assert_eq!(stdout(&host), "cgroup-escape write=ok\n");
    assert_eq!(set.trim(), "1000", "the host's own write");
    assert_eq!(pod, "cgroup-escape write=errno 2\n");
    drop(victim);
    t.gc_all();
}

#[test]
fn the_app_sees_its_own_cgroups_read_only() {
    let t = setup("cg-view");
    let out = probe(
        &t,
        &[],
        &[
            "cat",
            "/proc/self/cgroup",
            "+",
            "try-write",
            "/sys/fs/cgroup/cpu/cpu.shares",
            "/sys/fs/cgroup/memory/x",
            "+",
            "ls",
            "/sys/fs/cgroup",
        ],
    );
    // Its namespace root is its own cgroup, in every hierarchy.
    for line in out.lines().filter(|l| l.matches(':').count() == 2) {
        assert!(line.ends_with(":/"), "{line}\n{out}");
    }
    assert!(
        out.contains("try-write /sys/fs/cgroup/cpu/cpu.shares errno 30"),
        "{out}"
    );
    assert!(
        out.contains("try-write /sys/fs/cgroup/memory/x errno 30"),
        "{out}"
    );
    for h in ["cpu", "memory", "pids", "devices", "unified"] {
        assert!(out.lines().any(|l| l == h), "{h} missing:\n{out}");
    }
    t.gc_all();
}

#[test]
fn resource_isolators_and_flags_are_applied() {
    let t = setup("cg-limits");
    // No limit: the allocation lands on the host; with --memory the app is killed (137).
    assert!(probe(&t, &[], &["alloc", "96"]).contains("alloc=96MiB ok"));
    let uuid_file = t.join("uuid");
    let save = format!("--uuid-file-save={}", uuid_file.display());
    let out = t.rkt(&[
        "run",
        &save,
        "example.com/probe",
        "--memory=32Mi",
        "--",
        "alloc",
        "8",
        "+",
        "alloc",
        "96",
    ]);
    assert_eq!(out.status.code(), Some(137), "{}", stdout(&out));
    assert!(stdout(&out).contains("alloc=8MiB ok"));
    let status = stdout(&t.rkt(&["status", &read_uuid(&uuid_file)]));
    assert!(status.contains("app-probe=137"), "{status}");
    // The knobs, as the app reads them in its own view.
    let out = t.rkt(&[
        "run",
        "example.com/probe",
        "--memory=42Mi",
        "--cpu=900m",
        "--cpu-shares=12345",
        "--oom-score-adj=42",
        "--",
        "cat",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "+",
        "cat",
        "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
        "+",
        "cat",
        "/sys/fs/cgroup/cpu/cpu.shares",
        "+",
        "cat",
        "/proc/self/oom_score_adj",
    ]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "44040192\n90000\n12345\n42\n");
    // Image isolators (rkt's inspect image: 25Mi memory, 800m cpu); the flag replaces them.
    let extra = r#","isolators":[{"name":"resource/memory","value":{"request":"25Mi","limit":"25Mi"}},
        {"name":"resource/cpu","value":{"request":"50m","limit":"800m"}},
        {"name":"os/linux/oom-score-adj","value":99}]"#;
    let img = t.join("iso.aci");
    aci::write(
        &img,
        &probe_tar(
            &probe_manifest("example.com/iso", LINUX_AMD64, extra),
            |t| t,
        ),
    );
    t.fetch(&img);
    let args = [
        "cat",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
        "+",
        "cat",
        "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
        "+",
        "cat",
        "/proc/self/oom_score_adj",
    ];
    let run = |flags: &[&str]| {
        let mut v = vec!["run", "example.com/iso"];
        v.extend(flags);
        v.push("--");
        v.extend(args);
        let out = t.rkt(&v);
        assert_ok(&out);
        stdout(&out)
    };
    assert_eq!(run(&[]), "26214400\n80000\n99\n");
    assert_eq!(
        run(&["--memory=42Mi", "--cpu=900m", "--oom-score-adj=7"]),
        "44040192\n90000\n7\n"
    );
    t.gc_all();
}

#[test]
fn the_default_pids_limit_stops_a_fork_loop() {
    let t = setup("cg-pids");
    // The loop is bounded by the test: 2500 children, more than the default 2048 per pod.
    let open = probe(&t, &["--pids-limit=0"], &["forks", "2500"]);
    assert_eq!(open, "forked=2500 fork-errno=0\n");
    let closed = probe(&t, &[], &["forks", "2500"]);
    let forked: u32 = closed
        .strip_prefix("forked=")
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{closed}"));
    assert!(
        forked < 2048 && closed.ends_with("fork-errno=11\n"),
        "{closed}"
    );
    assert!(probe(&t, &["--pids-limit=50"], &["forks", "100"]).ends_with("fork-errno=11\n"));
    // The host is unaffected: it forks as before.
    assert!(Command::new("true").status().unwrap().success());
    let out = t.rkt(&["run", "--pids-limit=x", "example.com/probe"]);
    assert_fails(&out, "--pids-limit");
    t.gc_all_with(&["--expire-prepared=0s"]);
}

#[test]
fn pod_manifest_isolators_bound_the_pod() {
    let t = setup("cg-podmanifest");
    let id = stdout(&t.rkt(&["image", "list", "--full", "--no-legend", "--fields=id"]))
        .trim()
        .to_string();
    let pm = t.join("pod.json");
    std::fs::write(
        &pm,
        format!(
            r#"{{"acVersion":"0.8.11","acKind":"PodManifest","apps":[{{"name":"p","image":{{"id":"{id}"}},
            "app":{{"exec":["/bin/probe","cat","/sys/fs/cgroup/memory/memory.limit_in_bytes"],"user":"0","group":"0",
            "isolators":[{{"name":"resource/memory","value":{{"request":"4194304","limit":"4194304"}}}}]}}}}],
            "isolators":[{{"name":"resource/memory","value":{{"limit":"64Mi"}}}}]}}"#
        ),
    )
    .unwrap();
    let uuid_file = t.join("uuid");
    let out = t.rkt(&[
        "run",
        &format!("--uuid-file-save={}", uuid_file.display()),
        &format!("--pod-manifest={}", pm.display()),
    ]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "4194304\n");
    let uuid = read_uuid(&uuid_file);
    let pod_limit = pod_cgroups(&uuid)
        .into_iter()
        .find(|d| d.starts_with("/sys/fs/cgroup/memory"))
        .map(|d| std::fs::read_to_string(d.join("memory.limit_in_bytes")).unwrap())
        .unwrap();
    assert_eq!(pod_limit.trim(), (64 << 20).to_string());
    t.gc_all();
}

#[test]
fn read_only_recursive_volumes_are_read_only_all_the_way_down() {
    let t = setup("cg-rovol");
    // In a namespace whose mounts propagate (what systemd makes of /), so that a mount made
    // under the source after the start would reach the pod.
    let script = format!(
        r#"{wait}
        mkdir -p "$T/src/sub" "$T/src/late" "$T/sync"
        mount -t tmpfs tmpfs "$T/src/sub"
        $RKT run --uuid-file-save="$T/uuid" \
            --volume=v,kind=host,source="$T/src",readOnly=true,recursive=true \
            --volume=s,kind=host,source="$T/sync" example.com/probe \
            --mount=volume=v,target=/v --mount=volume=s,target=/sync -- \
            try-write /v/top /v/sub/inner + wait-file /sync/go + try-write /v/late/x > "$T/app.out" &
        pid=$!
        wait_until 120 test -s "$T/uuid"
        $RKT status --wait-ready=120s --uuid-file="$T/uuid" >/dev/null
        mount -t tmpfs tmpfs "$T/src/late"
        echo go > "$T/sync/go"
        wait $pid
        umount "$T/src/late" "$T/src/sub"
        "#,
        wait = e2e::SH_WAIT_UNTIL
    );
    let out = Command::new("unshare")
        .args([
            "-m",
            "--propagation",
            "shared",
            "--",
            "bash",
            "-euc",
            &script,
        ])
        .env(
            "RKT",
            format!("{} --dir={}", e2e::rkt_bin().display(), t.store().display()),
        )
        .env("T", &t.path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let app = std::fs::read_to_string(t.join("app.out")).unwrap();
    assert_eq!(
        app,
        "try-write /v/top errno 30\ntry-write /v/sub/inner errno 30\ntry-write /v/late/x errno 30\n"
    );
    t.gc_all();
}

#[test]
fn cgroups_are_removed_by_rm_gc_and_after_kill_9() {
    let t = setup("cg-cleanup");
    let uuid_file = t.join("uuid");
    let save = format!("--uuid-file-save={}", uuid_file.display());
    // rm.
    assert_ok(&t.rkt(&["run", &save, "example.com/probe"]));
    let uuid = read_uuid(&uuid_file);
    assert!(
        !pod_cgroups(&uuid).is_empty(),
        "the pod's cgroups stay until rm or gc (rkt's TestRmCgroup)"
    );
    assert_ok(&t.rkt(&["rm", &uuid]));
    assert_eq!(pod_cgroups(&uuid), Vec::<PathBuf>::new());
    // kill -9 of rkt (then stop), then of PID 1: gc sweeps what they left.
    for victim in ["rkt", "pid1"] {
        let _ = std::fs::remove_file(&uuid_file);
        let mut child = t
            .command(
                &["run", &save, "example.com/probe", "--", "sleep", "3600"],
                &[],
            )
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        e2e::wait_until("the uuid file", || {
            uuid_file.is_file() && !read_uuid(&uuid_file).is_empty()
        });
        let uuid = read_uuid(&uuid_file);
        assert_ok(&t.rkt(&["status", "--wait-ready=120s", &uuid]));
        let pid1 = std::fs::read_to_string(t.pod_dir("run", &uuid).join("pid")).unwrap();
        let target = if victim == "rkt" {
            child.id().to_string()
        } else {
            pid1.trim().to_string()
        };
        assert!(Command::new("kill")
            .args(["-9", &target])
            .status()
            .unwrap()
            .success());
        let _ = child.wait();
        if victim == "rkt" {
            // The pod outlives rkt once started (as under rkt 1.30's nspawn): stop it.
            assert!(
                Path::new(&format!("/proc/{}", pid1.trim())).exists(),
                "PID 1 lives on after kill -9 of rkt"
            );
            assert_ok(&t.rkt(&["stop", "--force", &uuid]));
        }
        e2e::wait_until("PID 1 to die", || {
            !Path::new(&format!("/proc/{}", pid1.trim())).exists()
        });
        assert_ok(&t.rkt(&["gc", "--grace-period=0s"]));
        assert_eq!(
            pod_cgroups(&uuid),
            Vec::<PathBuf>::new(),
            "after kill -9 of {victim}"
        );
    }
    t.gc_all();
}

/// A shell command in a private mount namespace whose `/sys/fs/cgroup` is `setup`'s.
fn in_private(t: &StoreDir, setup: &str, rkt_args: &str) -> std::process::Output {
    let script = format!(
        "{setup}\n{} --dir={} {rkt_args}",
        e2e::rkt_bin().display(),
        t.store().display()
    );
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "--", "sh", "-ec", &script])
        .output()
        .unwrap()
}

#[test]
fn pure_cgroup_v2_view_uses_the_device_program() {
    let t = setup("cg-v2");
    // This host's unified hierarchy alone at /sys/fs/cgroup: what a pure v2 host looks like
    // to rkt (it has no memory controller here; the device program needs none).
    let v2 = "umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup";
    let out = in_private(
        &t,
        v2,
        "run example.com/probe -- mknod c 1 3 /dev/n + mknod c 10 237 /dev/lc + mknod b 7 0 /dev/l + ls /sys/fs/cgroup",
    );
    assert_ok(&out);
    let s = stdout(&out);
    assert!(s.contains("mknod /dev/n=ok open=ok"), "{s}");
    assert!(
        s.contains("mknod /dev/lc=errno 1") && s.contains("mknod /dev/l=errno 1"),
        "{s}"
    );
    assert!(
        s.contains("cgroup.procs"),
        "cgroup2 itself at /sys/fs/cgroup: {s}"
    );
    let out = in_private(&t, v2, "run example.com/probe --memory=32Mi");
    assert_fails(
        &out,
        "resource/memory for probe cannot be applied: this host has no memory cgroup controller",
    );
    // Removed from the host's view too: the record names hierarchies, not mount points.
    assert_ok(&t.rkt(&["gc", "--grace-period=0s", "--expire-prepared=0s"]));
    t.gc_all();
}

#[test]
fn without_cgroups_every_writable_mount_is_nodev() {
    let t = setup("cg-nodev");
    let vol = t.join("vol");
    std::fs::create_dir(&vol).unwrap();
    let out = in_private(
        &t,
        "umount -R /sys/fs/cgroup",
        &format!(
            "run --volume=v,kind=host,source={} example.com/probe --mount=volume=v,target=/v -- \
             mknod c 1 3 /dev/n + mknod b 7 0 /dev/l + mknod c 1 3 /v/n + mknod c 1 3 /tmp/n + \
             open-dev /dev/null read + open-dev /dev/urandom",
            vol.display()
        ),
    );
    assert_ok(&out);
    let s = stdout(&out);
    // mknod works (CAP_MKNOD, no cgroup), but nothing made opens: every mount is nodev.
    for node in ["/dev/n", "/dev/l", "/v/n", "/tmp/n"] {
        assert!(
            s.contains(&format!("mknod {node}=ok open=errno 13")),
            "{node}: {s}"
        );
    }
    assert!(
        s.contains("open /dev/null=ok") && s.contains("open /dev/urandom=ok"),
        "{s}"
    );
    t.gc_all();
}
