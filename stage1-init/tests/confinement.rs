//! End-to-end tests of what confines an app: rootfs assembly (overlay, copy, read-only,
//! volumes), image content that tries to reach the host (symlinks, device nodes), PID 1's
//! exe, kernel-tunable protection and the signal state given to apps. Root required (they
//! fail rather than skip when CI=true); every run also asserts that no mount leaked.

mod util;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use stage1_init::plan::{EtcFile, Mount, Net, RootfsMode};
use util::{assert_code, fact, require_root, run, Fixture};

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
        fill: false,
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
