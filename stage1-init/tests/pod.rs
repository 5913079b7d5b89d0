//! End-to-end tests of stage1-init as the PID 1 of a real pod: handshake, exit statuses and
//! status files, the view from inside, reaping, signals, the pod lock, several apps, event
//! handlers, the chroot fallbacks. Root required (they fail rather than skip when CI=true);
//! every run also asserts that no mount leaked (see `util`). Confinement: `confinement.rs`.

mod util;

use std::fs;
use std::path::Path;

use stage1_init::plan::default_caps;
use stage1_init::proto::ProtoError;
use util::{assert_code, fact, require_root, run, run_chrooted, run_with, wait_until, Fixture};

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

    // A failing pre-start stops the app from starting: its code is the app's (and so the
    // pod's), as for a systemd unit whose ExecStartPre failed.
    let fx = Fixture::new();
    let mut plan = fx.plan(&["write", "/app-ran", "yes"]);
    plan.apps[0].pre_start = ["/bin/probe", "exit", "3"].map(String::from).to_vec();
    let out = run(&fx, &plan);
    assert_code(&out, 3);
    assert!(
        out.stderr.contains(
            "stage1: app `p`: pre-start `/bin/probe` exited with 3; the app does not start"
        ),
        "{out:#?}"
    );
    assert_eq!(fs::read_to_string(fx.stage1("rkt/status/p")).unwrap(), "3");
    assert!(!fx.pod.join("up/app-ran").exists());
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
    // `fails` fails only once PID 1 has recorded `ok`'s exit (the test then writes `go`): the
    // order is the test's, not the scheduler's.
    let fx = Fixture::new();
    let mut plan = fx.plan(&["sleep", "30"]);
    fx.add_app(
        &mut plan,
        "fails",
        &["wait-file", "/sync/go", "+", "exit", "5"],
    );
    fx.add_app(&mut plan, "ok", &["true"]);
    let (sync, mount) = fx.sync_mount();
    plan.apps[1].mounts = vec![mount];
    let out = run_with(&fx, &plan, |_| {
        let ok = fx.stage1("rkt/status/ok");
        wait_until("app ok to exit", || ok.exists());
        fs::write(sync.join("go"), "go").unwrap();
    });
    assert_code(&out, 5);
    let status = |app: &str| fs::read_to_string(fx.stage1(&format!("rkt/status/{app}"))).unwrap();
    assert_eq!(status("fails"), "5");
    assert_eq!(status("ok"), "0");
    // The sleeping app got the pod's SIGTERM and reports 0, as rkt 1.30's stopped apps did.
    assert_eq!(status("p"), "0");
}

#[test]
fn pod_lock_is_held_for_the_pods_life() {
    if !require_root() {
        return;
    }
    let fx = Fixture::new();
    let mut held = false;
    // The app runs until the test has looked at the lock (it writes `go` then).
    let mut plan = fx.plan(&["wait-file", "/sync/go", "+", "fds"]);
    let (sync, mount) = fx.sync_mount();
    plan.apps[0].mounts = vec![mount];
    let out = run_with(&fx, &plan, |_| {
        held = !fx.lock_is_free();
        fs::write(sync.join("go"), "go").unwrap();
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
        wait_until("the pod to be ready", || marker.symlink_metadata().is_ok());
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
