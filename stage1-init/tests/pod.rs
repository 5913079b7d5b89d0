//! End-to-end tests of stage1-init as the PID 1 of a real pod (root required; they fail rather
//! than skip when CI=true). Every run also asserts that no mount leaked (see `util`).

mod util;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use stage1_init::plan::{default_caps, EtcFile, Mount, Net, RootfsMode};
use stage1_init::proto::ProtoError;
use util::{assert_code, fact, require_root, run, run_chrooted, run_with, Fixture};

#[test]
fn exit_codes_and_status_files() {
    if !require_root() {
        return;
    }
    for (args, code) in [
        (&["true"][..], 0),
        (&["exit", "7"], 7),
        (&["kill-self", "9"], 137),
    ] {
        let fx = Fixture::new();
        let out = run(&fx, &fx.plan(args));
        assert!(out.ready.is_ok(), "{out:#?}");
        assert_code(&out, code);
        assert_eq!(
            fs::read_to_string(fx.stage1("rkt/status/p")).unwrap(),
            code.to_string()
        );
        for marker in ["rkt/status/p-created", "rkt/status/p-started"] {
            assert!(fx.stage1(marker).is_file(), "{marker} missing");
        }
        assert_eq!(
            fs::read_link(fx.stage1("rkt/supervisor-status")).unwrap(),
            Path::new("ready")
        );
        assert_eq!(
            fs::read_to_string(fx.stage1("rkt/env/p")).unwrap(),
            "PATH=/bin\nAC_APP_NAME=p\n"
        );
    }
}

#[test]
fn the_view_from_inside() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let plan = fx.plan(&[
        "pid",
        "+",
        "hostname",
        "+",
        "caps",
        "+",
        "signals",
        "+",
        "id",
        "+",
        "cwd",
        "+",
        "fds",
        "+",
        "env",
        "+",
        "cat",
        "/etc/hostname",
        "+",
        "ls",
        "/dev",
        "+",
        "ls",
        "/dev/pts",
    ]);
    let out = run(&fx, &plan);
    assert_code(&out, 0);
    // The first app is PID 2 of the pod's namespace; its parent is stage1-init, PID 1.
    assert_eq!(fact(&out, "pid"), "2");
    assert_eq!(fact(&out, "ppid"), "1");
    assert_eq!(fact(&out, "hostname"), plan.hostname);
    assert!(
        out.stdout.contains(&format!("\n{}\n", plan.hostname)),
        "/etc/hostname: {out:#?}"
    );
    // Exactly the 14 default capabilities in the bounding set; root gets them effective too.
    let mask: u64 = default_caps().iter().map(|c| 1u64 << c).sum();
    assert_eq!(fact(&out, "capbnd"), format!("{mask:016x}"));
    assert_eq!(fact(&out, "capeff"), format!("{mask:016x}"));
    assert_eq!(fact(&out, "capinh"), "0000000000000000");
    assert_eq!(fact(&out, "capamb"), "0000000000000000");
    assert_eq!(fact(&out, "nonewprivs"), "0");
    // Nothing blocked or ignored: PID 1 blocks the signals it forwards, and whoever started it
    // may have ignored some; neither may reach an app through exec. (The one ignored signal is
    // SIGPIPE, which the probe's own Rust runtime ignores at startup.)
    assert_eq!(fact(&out, "sigblk"), "0000000000000000");
    assert_eq!(fact(&out, "sigign"), "0000000000001000");
    assert_eq!(fact(&out, "uid"), "0 0 0 0");
    assert_eq!(fact(&out, "cwd"), "/");
    // Only 0-2: not the sync socket, not the lock, not anything of PID 1.
    let fds: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("fd "))
        .collect();
    assert_eq!(fds.len(), 3, "{fds:?}");
    assert!(
        fds[0].starts_with("fd 0 ") && fds[2].starts_with("fd 2 "),
        "{fds:?}"
    );
    // The environment is exactly the plan's.
    let env: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("env "))
        .collect();
    assert_eq!(env, ["env PATH=/bin", "env AC_APP_NAME=p"]);
    for dev in [
        "console", "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
        "stdout", "tty", "urandom", "zero",
    ] {
        assert!(
            out.stdout.contains(&format!("\n{dev}\n")),
            "/dev/{dev} missing: {out:#?}"
        );
    }
    // A new devpts instance: none of the host's ptys, only its ptmx.
    assert!(out.stdout.ends_with("zero\nptmx\n"), "{out:#?}");
}

#[test]
fn a_non_rust_app_gets_default_signal_state() {
    if !require_root() {
        return;
    }
    // busybox (a static C program, installed by scripts/setup.sh) shows what exec really
    // passed on, with no runtime of its own changing SIGPIPE.
    let Some(busybox) = ["/usr/bin/busybox", "/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "busybox is missing (scripts/setup.sh)"
        );
        eprintln!("skipped: no busybox");
        return;
    };
    let fx = Fixture::new();
    fs::copy(busybox, fx.lower.join("bin/busybox")).unwrap();
    let mut plan = fx.plan(&[]);
    plan.apps[0].argv = [
        "/bin/busybox",
        "grep",
        "-E",
        "^Sig(Blk|Ign)",
        "/proc/self/status",
    ]
    .map(String::from)
    .to_vec();
    let out = run(&fx, &plan);
    assert_code(&out, 0);
    assert_eq!(
        out.stdout,
        "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
    );
}

#[test]
fn user_groups_and_working_directory() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let mut plan = fx.plan(&["id", "+", "cwd", "+", "caps"]);
    let app = &mut plan.apps[0];
    (app.uid, app.gid, app.supplementary_gids) = (1000, 1001, vec![5, 7]);
    app.cwd = "/tmp".into();
    let out = run(&fx, &plan);
    assert_code(&out, 0);
    assert_eq!(fact(&out, "uid"), "1000 1000 1000 1000");
    assert_eq!(fact(&out, "gid"), "1001 1001 1001 1001");
    assert_eq!(fact(&out, "groups"), "5 7");
    assert_eq!(fact(&out, "cwd"), "/tmp");
    // A non-root app keeps the bounding set but has no capability to use.
    assert_eq!(fact(&out, "capeff"), "0000000000000000");
    assert_eq!(fact(&out, "capprm"), "0000000000000000");
}

#[test]
fn loopback_is_up_with_net_none() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let out = run(
        &fx,
        &fx.plan(&[
            "cat",
            "/sys/class/net/lo/flags",
            "+",
            "ls",
            "/sys/class/net",
        ]),
    );
    assert_code(&out, 0);
    let flags = out.stdout.lines().next().unwrap_or_default();
    let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & 1, 1, "IFF_UP not set on lo: {out:#?}");
    // A fresh network namespace: lo and nothing else.
    assert!(out.stdout.ends_with("\nlo\n"), "{out:#?}");
}

#[test]
fn orphans_are_reaped() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let out = run(&fx, &fx.plan(&["orphans", "1000"]));
    assert_code(&out, 0);
    assert_eq!(fact(&out, "orphaned"), "1000");
    assert_eq!(fact(&out, "zombies"), "0");
}

#[test]
fn pid1_cannot_be_opened_for_writing() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let out = run(
        &fx,
        &fx.plan(&["open-write", "/proc/1/exe", "+", "cat", "/proc/1/environ"]),
    );
    // PID 1 is not dumpable: even root in the pod (no CAP_SYS_PTRACE) gets EACCES.
    assert!(out.stdout.contains("open-write errno=13"), "{out:#?}");
    assert!(out.stdout.contains("error=Permission denied"), "{out:#?}");
}

#[test]
fn device_nodes_in_the_image_open_nothing() {
    if !require_root() {
        return;
    }
    for mode in [None, Some(RootfsMode::Copy)] {
        let fx = Fixture::new();
        // /dev/zero's numbers: harmless, and readable anywhere nodev is not in force.
        let node = fx.lower.join("evil");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &node,
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o666),
            rustix::fs::makedev(1, 5),
        )
        .unwrap();
        let mut plan = fx.plan(&["cat", "/evil"]);
        if let Some(m) = mode {
            plan.apps[0].mode = m;
        }
        let out = run(&fx, &plan);
        assert_code(&out, 1);
        assert!(out.stdout.contains("error=Permission denied"), "{out:#?}");
    }
}

#[test]
fn etc_symlinks_in_the_image_cannot_reach_the_host() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let sentinel = fx.dir.join("sentinel");
    fs::write(&sentinel, "untouched").unwrap();
    fs::create_dir_all(fx.lower.join("etc")).unwrap();
    symlink(&sentinel, fx.lower.join("etc/hosts")).unwrap();
    symlink(
        format!("../../../../../../../..{}", sentinel.display()),
        fx.lower.join("etc/hostname"),
    )
    .unwrap();
    symlink(&sentinel, fx.lower.join("etc/resolv.conf")).unwrap();
    let host_hosts = fx.dir.join("host-hosts");
    fs::write(&host_hosts, "10.1.2.3 from-the-host\n").unwrap();
    let mut plan = fx.plan(&[
        "cat",
        "/etc/hosts",
        "+",
        "cat",
        "/etc/hostname",
        "+",
        "cat",
        "/etc/resolv.conf",
    ]);
    plan.hosts = EtcFile::Bind(host_hosts.clone());
    plan.resolv = EtcFile::Default("nameserver 127.0.0.1\n".into());
    plan.net = Net::Host;
    let out = run(&fx, &plan);
    assert_eq!(fs::read_to_string(&sentinel).unwrap(), "untouched");
    // hosts: the symlink was replaced by the bind mount point; hostname: by a file. resolv.conf
    // existed (as a symlink) so the default was not written; reading it resolves inside the
    // app's root, where the target does not exist.
    assert!(
        out.stdout.starts_with("10.1.2.3 from-the-host\n"),
        "{out:#?}"
    );
    assert!(
        out.stdout.contains(&format!("{}\n", plan.hostname)),
        "{out:#?}"
    );
    assert!(
        out.stdout.contains("error=No such file or directory"),
        "{out:#?}"
    );
    assert_eq!(
        fs::read_to_string(&host_hosts).unwrap(),
        "10.1.2.3 from-the-host\n"
    );
}

#[test]
fn bind_mounted_etc_files_are_read_only() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let host_hosts = fx.dir.join("host-hosts");
    fs::write(&host_hosts, "1.1.1.1 h\n").unwrap();
    let mut plan = fx.plan(&["open-write", "/etc/hosts", "+", "cat", "/etc/mtab"]);
    plan.hosts = EtcFile::Bind(host_hosts.clone());
    let out = run(&fx, &plan);
    assert_code(&out, 0);
    assert!(
        out.stdout.contains("open-write errno=30"),
        "EROFS expected: {out:#?}"
    );
    // /etc/mtab -> ../proc/self/mounts was added.
    assert!(out.stdout.contains(" / overlay "), "{out:#?}");
}

#[test]
fn missing_exec_and_working_directory_are_clear_errors() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let mut plan = fx.plan(&[]);
    plan.apps[0].argv = vec!["/bin/nope".into()];
    let out = run(&fx, &plan);
    assert_code(&out, 254);
    assert!(
        out.stderr
            .contains("stage1: start app `p`: exec `/bin/nope`: No such file or directory"),
        "{out:#?}"
    );
    let fx = Fixture::new();
    let mut plan = fx.plan(&["true"]);
    plan.apps[0].cwd = "/nope".into();
    let out = run(&fx, &plan);
    assert_code(&out, 254);
    assert!(
        out.stderr
            .contains("stage1: start app `p`: chdir `/nope`: No such file or directory"),
        "{out:#?}"
    );
    assert!(!fx.stage1("rkt/status/p").exists());
}

#[test]
fn setup_failure_is_one_error_frame() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let mut plan = fx.plan(&["true"]);
    plan.apps[0].lower = fx.dir.join("no-such-tree");
    let out = run(&fx, &plan);
    assert_code(&out, 254);
    match &out.ready {
        Err(ProtoError::Child { errno: 2, msg }) => {
            assert!(msg.starts_with("mount overlay on `"), "{msg}")
        }
        other => panic!("expected an error frame, got {other:?}"),
    }
    // Reported once, over the socket: nothing on stderr.
    assert_eq!(out.stderr, "");
}

#[test]
fn copy_mode_and_overlay_fallback() {
    if !require_root() {
        return;
    }
    // Copy mode; then an overlay the kernel refuses (upper and work on different filesystems:
    // EINVAL), which must fall back to the copy.
    let shm = Path::new("/dev/shm").join(format!("s1-it-upper-{}", std::process::id()));
    fs::create_dir_all(&shm).unwrap();
    for mode in [
        RootfsMode::Copy,
        RootfsMode::Overlay {
            upper: shm.clone(),
            work: Path::new("/tmp").to_path_buf(),
        },
    ] {
        let fx = Fixture::new();
        fs::write(fx.lower.join("data"), "from the image\n").unwrap();
        let mut plan = fx.plan(&["cat", "/data", "+", "write", "/new", "x", "+", "mounts"]);
        if let RootfsMode::Overlay { .. } = mode {
            plan.apps[0].mode = RootfsMode::Overlay {
                upper: shm.clone(),
                work: fx.pod.join("work"),
            };
        } else {
            plan.apps[0].mode = mode;
        }
        let out = run(&fx, &plan);
        assert_code(&out, 0);
        assert!(
            out.stdout.starts_with("from the image\nwrote /new\n"),
            "{out:#?}"
        );
        let root_line = out
            .stdout
            .lines()
            .find(|l| l.split(' ').nth(4) == Some("/"))
            .unwrap();
        assert!(!root_line.contains(" overlay "), "{root_line}");
        assert!(root_line.contains("nodev"), "{root_line}");
        // The copy is the app's rootfs, on disk in the pod; the image is untouched.
        assert!(fx.stage1("opt/stage2/p/rootfs/new").is_file());
        assert!(!fx.lower.join("new").exists());
    }
    fs::remove_dir_all(&shm).unwrap();
}

#[test]
fn volumes_are_mounted_inside_the_rootfs() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let (rw, ro, conf) = (
        fx.dir.join("vol-rw"),
        fx.dir.join("vol-ro"),
        fx.dir.join("app.conf"),
    );
    fs::create_dir_all(&rw).unwrap();
    fs::create_dir_all(&ro).unwrap();
    fs::write(rw.join("f"), "host data\n").unwrap();
    fs::write(ro.join("r"), "").unwrap();
    fs::write(&conf, "conf\n").unwrap();
    // Image symlinks to host directories: a volume below one lands inside the rootfs (`/tmp`
    // exists in the image), or fails when it resolves to nothing there; never on the host.
    let unique = format!("s1-it-vol-{}", std::process::id());
    symlink("/tmp", fx.lower.join("link")).unwrap();
    let sentinel = fx.dir.join("sentinel-dir");
    fs::create_dir_all(&sentinel).unwrap();
    let mut plan = fx.plan(&[
        "cat",
        "/data/vol/f",
        "+",
        "write",
        "/data/vol/new",
        "x",
        "+",
        "cat",
        "/etc/app.conf",
        "+",
        "ls",
        &format!("/link/{unique}"),
        "+",
        "write",
        "/ro/x",
        "y",
    ]);
    let mount = |source: &Path, target: &str, readonly| Mount {
        source: source.to_path_buf(),
        target: target.into(),
        readonly,
        recursive: false,
    };
    plan.apps[0].mounts = vec![
        mount(&rw, "/data/vol", false),
        mount(&conf, "/etc/app.conf", true),
        mount(&ro, &format!("/link/{unique}"), false),
        mount(&ro, "/ro", true),
    ];
    let out = run(&fx, &plan);
    assert!(
        out.stdout
            .starts_with("host data\nwrote /data/vol/new\nconf\nr\n"),
        "{out:#?}"
    );
    assert!(
        out.stdout.contains("error=Read-only file system"),
        "{out:#?}"
    );
    assert_code(&out, 1);
    assert_eq!(fs::read_to_string(rw.join("new")).unwrap(), "x");
    assert_eq!(
        fs::read_dir(&sentinel).unwrap().count(),
        0,
        "a mount point escaped the rootfs"
    );
    assert_eq!(fs::read_dir(&ro).unwrap().count(), 1);
}

#[test]
fn kernel_tunables_are_protected() {
    if !require_root() {
        return;
    }
    // Kernels differ in what /proc has (no kcore or sysrq-trigger here): pick what exists.
    let masked = ["/proc/kallsyms", "/proc/keys", "/proc/timer_list"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("no maskable /proc file on this kernel");
    let fx = Fixture::new();
    let mut plan = fx.plan(&[
        "open-write",
        "/proc/sys/kernel/hostname",
        "+",
        "cat",
        masked,
        "+",
        "ls",
        "/sys/module",
        "+",
        "caps",
    ]);
    plan.apps[0].no_new_privs = true;
    let out = run(&fx, &plan);
    assert_code(&out, 0);
    // /proc/sys is read-only; the masked file reads as empty, the masked dir lists nothing.
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0], "open-write errno=30 (Read-only file system (os error 30))",
        "{out:#?}"
    );
    assert!(lines[1].starts_with("capinh="), "{out:#?}");
    assert_eq!(fact(&out, "nonewprivs"), "1");

    // --insecure-options=paths: none of it (opening for write changes nothing by itself).
    let fx = Fixture::new();
    let mut plan = fx.plan(&["open-write", "/proc/sys/kernel/hostname", "+", "caps"]);
    plan.apps[0].protect_kernel = false;
    let out = run(&fx, &plan);
    assert!(out.stdout.starts_with("open-write ok\n"), "{out:#?}");
    assert_eq!(fact(&out, "nonewprivs"), "0");
}

#[test]
fn event_handlers_run_in_the_apps_rootfs() {
    if !require_root() {
        return;
    }
    // appc: pre-start before the app, post-stop after it, both in the same rootfs instance
    // (checked with marker files, as the conformance tooling does) and as the app's user.
    let fx = Fixture::new();
    let mut plan = fx.plan(&["cat", "/pre-started", "+", "id"]);
    let app = &mut plan.apps[0];
    app.pre_start = ["/bin/probe", "write", "/pre-started", "yes"]
        .map(String::from)
        .to_vec();
    app.post_stop = ["/bin/probe", "write", "/post-stopped", "done"]
        .map(String::from)
        .to_vec();
    let out = run(&fx, &plan);
    assert_code(&out, 0);
    assert!(
        out.stdout.starts_with("wrote /pre-started\nyes"),
        "{out:#?}"
    );
    // The overlay's upper dir holds what the handlers wrote into the app's rootfs.
    assert_eq!(
        fs::read_to_string(fx.pod.join("up/post-stopped")).unwrap(),
        "done"
    );

    // A failing pre-start stops the app from starting.
    let fx = Fixture::new();
    let mut plan = fx.plan(&["true"]);
    plan.apps[0].pre_start = ["/bin/probe", "exit", "3"].map(String::from).to_vec();
    let out = run(&fx, &plan);
    assert_code(&out, 254);
    assert!(
        out.stderr
            .contains("stage1: start app `p`: pre-start `/bin/probe`: exited with 3"),
        "{out:#?}"
    );
}

#[test]
fn readonly_rootfs() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let mut plan = fx.plan(&["cat", "/etc/hostname", "+", "write", "/new", "x"]);
    plan.apps[0].readonly_rootfs = true;
    let out = run(&fx, &plan);
    // /etc/hostname was written before the read-only remount; nothing can be written after.
    assert!(
        out.stdout.starts_with(&format!("{}\n", plan.hostname)),
        "{out:#?}"
    );
    assert!(
        out.stdout.contains("error=Read-only file system"),
        "{out:#?}"
    );
    assert_code(&out, 1);
}

#[test]
fn runs_chrooted_in_a_plain_directory() {
    if !require_root() {
        return;
    }
    // `/` is then not a mount point: propagation and pivot_root both need their fallbacks, and
    // the leak check in `run_chrooted` proves the first one works.
    let fx = Fixture::new();
    let plan = fx.chrooted(fx.plan(&["pid", "+", "hostname", "+", "exit", "3"]));
    let out = run_chrooted(&fx, &plan);
    assert_code(&out, 3);
    assert_eq!(fact(&out, "pid"), "2");
    assert_eq!(fact(&out, "hostname"), plan.hostname);
    assert_eq!(fs::read_to_string(fx.stage1("rkt/status/p")).unwrap(), "3");
}

#[test]
fn first_failing_app_decides_and_stops_the_others() {
    if !require_root() {
        return;
    }
    // rkt 1.30 (tests/rkt_exit_test.go): when an app fails the pod stops with its status.
    let fx = Fixture::new();
    let mut plan = fx.plan(&["sleep", "30"]);
    fx.add_app(&mut plan, "fails", &["sleep", "0.3", "+", "exit", "5"]);
    fx.add_app(&mut plan, "ok", &["true"]);
    let out = run(&fx, &plan);
    assert_code(&out, 5);
    let status = |app: &str| fs::read_to_string(fx.stage1(&format!("rkt/status/{app}"))).unwrap();
    assert_eq!(status("fails"), "5");
    assert_eq!(status("ok"), "0");
    assert_eq!(status("p"), "143", "the sleeping app gets SIGTERM");
}

#[test]
fn pod_lock_is_held_for_the_pods_life() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let mut held = false;
    let out = run_with(&fx, &fx.plan(&["sleep", "0.5", "+", "fds"]), |_| {
        held = !fx.lock_is_free()
    });
    assert_code(&out, 0);
    assert!(held, "the lock was free while the pod ran");
    assert!(fx.lock_is_free(), "the lock outlived PID 1");
    // ...and it never reached the app.
    assert_eq!(
        out.stdout.lines().filter(|l| l.starts_with("fd ")).count(),
        3,
        "{out:#?}"
    );
}

#[test]
fn sigterm_to_pid1_reaches_the_app() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let plan = fx.plan(&["sleep", "30"]);
    let plan_path = stage1_init::plan::plan_file(&fx.pod);
    let out = run_with(&fx, &plan, |_| {
        // Find stage1-init (by its plan argument) once the app runs, and SIGTERM it.
        let marker = fx.stage1("rkt/supervisor-status");
        for _ in 0..500 {
            if marker.symlink_metadata().is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let pid = pid_of_cmdline(plan_path.to_str().unwrap()).expect("stage1-init not found");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    });
    // The app died of SIGTERM: 128 + 15.
    assert_code(&out, 143);
    assert_eq!(
        fs::read_to_string(fx.stage1("rkt/status/p")).unwrap(),
        "143"
    );
}

/// The pid (host view) of the stage1-init whose last argument is `plan`.
fn pid_of_cmdline(plan: &str) -> Option<rustix::process::Pid> {
    for e in fs::read_dir("/proc").ok()? {
        let e = e.ok()?;
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmd = fs::read(e.path().join("cmdline")).unwrap_or_default();
        let args: Vec<&[u8]> = cmd.split(|&b| b == 0).filter(|a| !a.is_empty()).collect();
        if args.len() == 2 && args[0].ends_with(b"stage1-init") && args[1] == plan.as_bytes() {
            return rustix::process::Pid::from_raw(pid);
        }
    }
    None
}

#[test]
fn refuses_to_run_outside_a_pid_namespace() {
    // No root needed: it must stop before touching anything.
    let (stage1, _) = util::binaries();
    let (parent, child) = stage1_init::proto::pair().unwrap();
    let fx = Fixture::new();
    let plan = fx.plan(&["true"]);
    let plan_path = fx.dir.join("plan");
    fs::write(&plan_path, plan.encode().unwrap()).unwrap();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&std::os::fd::AsFd::as_fd(&child));
    let mut cmd = std::process::Command::new(stage1);
    cmd.arg(&plan_path).env("RKT_SYNC_FD", raw.to_string());
    // SAFETY: fcntl(2) on an fd number only.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            let fd = std::os::fd::BorrowedFd::borrow_raw(raw);
            rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
            Ok(())
        });
    }
    let status = cmd.status().unwrap();
    drop(child);
    assert_eq!(status.code(), Some(254));
    match parent.wait_ready() {
        Err(ProtoError::Child { errno: 0, msg }) => {
            assert!(msg.contains("must run as PID 1"), "{msg}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!fx.pod.join("stage1").exists());
}
