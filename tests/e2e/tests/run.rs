//! `rkt run` end to end: the static rkt runs the static probe in a pod, as root.

use e2e::pod::{probe_manifest, probe_tar, read_uuid, LINUX_AMD64};
use e2e::store::{assert_fails, assert_ok, stderr, stdout, StoreDir};
use e2e::{aci, require_root};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

#[test]
fn exit_codes_are_the_apps() {
    let t = setup("run-exit");
    assert_eq!(t.run_probe(&[], &["true"]).status.code(), Some(0));
    assert_eq!(t.run_probe(&[], &["exit", "7"]).status.code(), Some(7));
    assert_eq!(
        t.run_probe(&[], &["kill-self", "9"]).status.code(),
        Some(137)
    );
    // The image's own exec (`/bin/probe true`) when no args are given.
    assert_ok(&t.rkt(&["run", "example.com/probe"]));
    t.gc_all();
}

#[test]
fn hostname_default_and_flag() {
    let t = setup("run-hostname");
    let uuid_file = t.join("uuid");
    let out = t.run_probe(
        &[&format!("--uuid-file-save={}", uuid_file.display())],
        &["hostname"],
    );
    assert_ok(&out);
    let uuid = read_uuid(&uuid_file);
    assert!(
        stdout(&out).contains(&format!("hostname=rkt-{uuid}")),
        "{}",
        stdout(&out)
    );
    let out = t.run_probe(&["--hostname=web1"], &["hostname"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("hostname=web1\n"));
    t.gc_all();
}

#[test]
fn net_none_has_lo_up_and_unknown_nets_are_refused() {
    let t = setup("run-net");
    let out = t.run_probe(
        &["--net=none"],
        &[
            "ls",
            "/sys/class/net",
            "+",
            "cat",
            "/sys/class/net/lo/flags",
        ],
    );
    assert_ok(&out);
    // Only lo, and IFF_UP (0x1) set: 0x9 = UP | LOOPBACK.
    assert_eq!(stdout(&out), "lo\n0x9\n");
    // rkt 1.30's words (TestRktEnsureErrors matches "stage1: failed to setup network").
    let out = t.run_probe(&["--net=notavalidnetwork"], &["true"]);
    assert_fails(
        &out,
        "stage1: failed to setup network: networks not found: notavalidnetwork",
    );
    assert_eq!(out.status.code(), Some(254));
    t.gc_all();
}

#[test]
fn confinement_caps_fds_dev() {
    let t = setup("run-confine");
    let out = t.run_probe(&[], &["caps", "+", "fds", "+", "ls", "/dev"]);
    assert_ok(&out);
    let s = stdout(&out);
    // The 14 default capabilities (Docker's set): bits 0 1 3 4 5 6 7 8 10 13 18 27 29 31.
    assert!(s.contains("capbnd=00000000a80425fb"), "{s}");
    let mut fds: Vec<&str> = s
        .lines()
        .filter_map(|l| l.strip_prefix("fd "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    fds.sort();
    assert_eq!(fds, ["0", "1", "2"], "{s}");
    for dev in [
        "console", "full", "null", "ptmx", "pts", "random", "shm", "tty", "urandom", "zero",
    ] {
        assert!(s.lines().any(|l| l == dev), "/dev/{dev} missing: {s}");
    }
    t.gc_all();
}

#[test]
fn app_cannot_write_pid1_exe_or_read_a_device_node() {
    let t = setup("run-proc-exe");
    let out = t.run_probe(&[], &["open-write", "/proc/1/exe"]);
    assert_ok(&out);
    assert!(!stdout(&out).contains("open-write ok"), "{}", stdout(&out));
    // A device node shipped in the image (1,1 = /dev/mem) cannot be opened: nodev.
    let aci = t.join("dev.aci");
    let tar = probe_tar(
        &probe_manifest("example.com/devnode", LINUX_AMD64, ""),
        |tar| {
            tar.raw(aci::Entry {
                name: "rootfs/mem",
                typeflag: b'3',
                mode: 0o666,
                dev: (1, 1),
                ..aci::Entry::default()
            })
        },
    );
    aci::write(&aci, &tar);
    t.fetch(&aci);
    let out = t.rkt(&[
        "run",
        "example.com/devnode",
        "--",
        "ls",
        "/",
        "+",
        "cat",
        "/mem",
    ]);
    let s = stdout(&out);
    assert!(
        s.lines().any(|l| l == "mem"),
        "the node is in the rootfs: {s}"
    );
    assert!(s.contains("error=Permission denied"), "{s}");
    assert_eq!(out.status.code(), Some(1));
    t.gc_all();
}

#[test]
fn etc_symlinks_in_the_image_leave_the_host_alone() {
    let t = setup("run-etc-symlinks");
    let sentinel = t.join("sentinel");
    std::fs::write(&sentinel, b"host\n").unwrap();
    let target = sentinel.to_str().unwrap().to_string();
    let aci = t.join("evil.aci");
    let tar = probe_tar(
        &probe_manifest("example.com/evil", LINUX_AMD64, ""),
        |tar| {
            tar.symlink("rootfs/etc/hosts", &target)
                .symlink("rootfs/etc/hostname", &target)
                .symlink("rootfs/etc/resolv.conf", &target)
        },
    );
    aci::write(&aci, &tar);
    t.fetch(&aci);
    for net in ["--net=host", "--net=none"] {
        let out = t.rkt(&[
            "run",
            net,
            "example.com/evil",
            "--",
            "write",
            "/etc/hosts",
            "x",
        ]);
        let _ = out;
        assert_eq!(std::fs::read(&sentinel).unwrap(), b"host\n");
    }
    t.gc_all();
}

#[test]
fn setup_errors_are_clear_and_leave_a_removable_pod() {
    let t = setup("run-errors");
    let cases: [(&str, &str, &str); 3] = [
        ("example.com/noexec", "", "\"/bin/nope\" not found"),
        (
            "example.com/nowd",
            r#","workingDirectory":"/nope""#,
            "working directory \"/nope\"",
        ),
        ("example.com/baduser", "", "\"nobody\" user not found"),
    ];
    for (name, extra, needle) in cases {
        let manifest = probe_manifest(name, LINUX_AMD64, extra);
        let manifest = match name {
            "example.com/noexec" => manifest.replace("\"/bin/probe\",\"true\"", "\"/bin/nope\""),
            "example.com/baduser" => manifest.replace("\"user\":\"0\"", "\"user\":\"nobody\""),
            _ => manifest,
        };
        let aci = t.join(&format!("{}.aci", name.replace('/', "_")));
        aci::write(&aci, &probe_tar(&manifest, |t| t));
        t.fetch(&aci);
        let uuid_file = t.join("uuid");
        let out = t.rkt(&[
            "run",
            &format!("--uuid-file-save={}", uuid_file.display()),
            name,
        ]);
        assert_eq!(out.status.code(), Some(254), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{name}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        // The pod is an aborted prepare, and rm cleans it.
        let uuid = read_uuid(&uuid_file);
        assert_eq!(t.pods_in("prepare"), vec![uuid.clone()]);
        let out = t.rkt(&["rm", &format!("--uuid-file={}", uuid_file.display())]);
        assert_ok(&out);
        assert!(t.pods_in("prepare").is_empty());
        assert!(t.pods_in("garbage").is_empty());
    }
    t.gc_all();
}

#[test]
fn orphans_are_reaped() {
    let t = setup("run-orphans");
    let out = t.run_probe(&[], &["orphans", "1000"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("zombies=0\n"), "{}", stdout(&out));
    t.gc_all();
}

#[test]
fn image_file_needs_insecure_and_os_arch_must_match() {
    require_root();
    let t = StoreDir::new("run-file");
    let aci = t.join("probe.aci");
    aci::write(
        &aci,
        &probe_tar(&probe_manifest("example.com/probe", LINUX_AMD64, ""), |t| t),
    );
    let path = aci.to_str().unwrap();
    assert_fails(&t.rkt(&["run", path]), "--insecure-options=image");
    assert_ok(&t.rkt(&["run", "--insecure-options=image", path]));
    // Missing and foreign os/arch labels are refused before any pod exists.
    for (name, labels) in [
        ("example.com/nolabels", ""),
        (
            "example.com/arm",
            r#",{"name":"os","value":"linux"},{"name":"arch","value":"aarch64"}"#,
        ),
    ] {
        let aci = t.join("other.aci");
        aci::write(&aci, &probe_tar(&probe_manifest(name, labels, ""), |t| t));
        let out = t.rkt(&["run", "--insecure-options=image", aci.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(254));
        assert!(
            stderr(&out).contains("missing os label in the image manifest")
                || stderr(&out).contains("bad arch \"aarch64\" for linux"),
            "{}",
            stderr(&out)
        );
    }
    t.gc_all();
}

#[test]
fn unimplemented_flags_fail_naming_themselves() {
    let t = setup("run-flags");
    for (args, needle) in [
        (
            vec!["run", "--private-users", "example.com/probe"],
            "--private-users",
        ),
        (vec!["run", "example.com/probe", "--stdin=x"], "--stdin"),
        (vec!["run", "example.com/probe", "--bogus"], "--bogus"),
    ] {
        let out = t.rkt(&args);
        assert_eq!(out.status.code(), Some(254), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    assert!(t.pods_in("prepare").is_empty());
}

#[test]
fn exec_and_name_flags() {
    let t = setup("run-exec");
    let uuid_file = t.join("uuid");
    let out = t.rkt(&[
        "run",
        &format!("--uuid-file-save={}", uuid_file.display()),
        "example.com/probe",
        "--exec=/bin/probe",
        "--name=other",
        "--",
        "env",
    ]);
    assert_ok(&out);
    let s = stdout(&out);
    assert!(s.contains("env AC_APP_NAME=other\n"), "{s}");
    assert!(s.contains("env container=rkt\n"), "{s}");
    assert!(s.contains("env HOME=/root\n"), "{s}");
    let uuid = read_uuid(&uuid_file);
    // The pod's files: exit status of the app, manifests, pid.
    let pod = t.pod_dir("run", &uuid);
    assert_eq!(
        std::fs::read_to_string(pod.join("stage1/rootfs/rkt/status/other"))
            .unwrap()
            .trim(),
        "0"
    );
    assert!(pod.join("pod").is_file() && pod.join("pid").is_file());
    assert!(pod.join("appsinfo/other/manifest").is_file());
    t.gc_all();
}

#[test]
fn isolators_that_cannot_be_applied_are_refused_by_name() {
    // rkt 1.30 warned and ran the pod without it; a pod that claims a confinement it does
    // not have is refused instead.
    let t = setup("run-isolators");
    let aci = t.join("iso.aci");
    let extra = r#","isolators":[{"name":"os/linux/apparmor-profile","value":{"profile":"p"}}]"#;
    aci::write(
        &aci,
        &probe_tar(
            &probe_manifest("example.com/iso", LINUX_AMD64, extra),
            |t| t,
        ),
    );
    t.fetch(&aci);
    let out = t.rkt(&["run", "example.com/iso"]);
    assert_fails(
        &out,
        "isolator os/linux/apparmor-profile cannot be applied by this rkt",
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert_eq!(t.pods_in("run"), Vec::<String>::new());
    t.gc_all_with(&["--expire-prepared=0s"]);
}

#[test]
fn stage1_setup_errors_print_once_and_leave_an_aborted_prepare() {
    let t = setup("run-stage1-error");
    // `/proc` a file in the image: stage1-init cannot mount proc there, before Ready.
    let aci = t.join("badproc.aci");
    let tar = probe_tar(
        &probe_manifest("example.com/badproc", LINUX_AMD64, ""),
        |tar| tar.file("rootfs/proc", 0o644, b"x"),
    );
    aci::write(&aci, &tar);
    t.fetch(&aci);
    let uuid_file = t.join("uuid");
    let out = t.rkt(&[
        "run",
        &format!("--uuid-file-save={}", uuid_file.display()),
        "example.com/badproc",
    ]);
    assert_eq!(out.status.code(), Some(254));
    let err = stderr(&out);
    assert!(err.starts_with("rkt: run: stage1: "), "{err}");
    assert!(err.contains("Not a directory"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let uuid = read_uuid(&uuid_file);
    assert_eq!(t.pods_in("prepare"), vec![uuid.clone()]);
    assert!(!t.pod_dir("prepare", &uuid).join("pid").exists());
    assert_ok(&t.rkt(&["rm", &uuid]));
    t.gc_all();
}

/// security-checklist §5 case 12: `/dev`, `/proc` and `/sys` in the image are symlinks to a
/// host directory (absolute and `..`-relative): the pod's own /dev, /proc and /sys are mounted
/// inside the rootfs, nothing is created in or mounted over the host directory.
#[test]
fn special_dir_symlinks_in_the_image_leave_the_host_alone() {
    let t = setup("run-special-symlinks");
    let sentinel = t.join("sentinel");
    std::fs::create_dir(&sentinel).unwrap();
    std::fs::write(sentinel.join("keep"), b"host\n").unwrap();
    let abs = sentinel.to_str().unwrap().to_string();
    let rel = format!("../../../../../../../../..{abs}");
    let aci = t.join("evil-dirs.aci");
    let tar = probe_tar(
        &probe_manifest("example.com/evil-dirs", LINUX_AMD64, ""),
        |tar| {
            tar.symlink("rootfs/dev", &abs)
                .symlink("rootfs/proc", &rel)
                .symlink("rootfs/sys", &abs)
        },
    );
    aci::write(&aci, &tar);
    t.fetch(&aci);
    let listing = |dir: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    for net in ["--net=host", "--net=none"] {
        let out = t.rkt(&["run", net, "example.com/evil-dirs", "--", "ls", "/dev"]);
        // Running confined or refusing are both fine; the host must not see a thing.
        assert!(
            out.status.success() || out.status.code() == Some(254),
            "{:?}: {}",
            out.status,
            stderr(&out)
        );
        assert_eq!(listing(&sentinel), ["keep"], "{}", stdout(&out));
        assert_eq!(std::fs::read(sentinel.join("keep")).unwrap(), b"host\n");
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(&abs),
        "a mount landed on the host sentinel"
    );
    t.gc_all();
}

/// security-checklist §5 case 42: even when rkt runs on a terminal, an app has no controlling
/// terminal (a session of its own, so TIOCSTI cannot type into the user's shell) and no stdin
/// (rkt's default without `--interactive`).
#[test]
fn apps_get_no_controlling_terminal_and_no_stdin() {
    let t = setup("run-no-tty");
    // `script` runs rkt with a pseudo-terminal as its controlling terminal, as a shell would.
    let line = format!(
        "echo secret | {} --dir={} run example.com/probe -- cat /proc/self/stat + cat /dev/stdin",
        e2e::rkt_bin().display(),
        t.store().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = stdout(&out).replace('\r', "");
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    let stat = text
        .lines()
        .find(|l| l.contains(") "))
        .expect("a stat line");
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    let (pid, session, tty_nr) = (stat.split(' ').next().unwrap(), fields[3], fields[4]);
    assert_eq!(tty_nr, "0", "the app has a controlling terminal: {stat}");
    assert_eq!(session, pid, "the app leads a session of its own: {stat}");
    assert!(!text.contains("secret"), "the app read rkt's stdin: {text}");
    t.gc_all();
}
