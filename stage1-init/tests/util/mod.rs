//! Harness for running the static stage1-init as a real pod, without rkt's stage0.
//!
//! Each run happens inside its own `unshare -m --propagation shared` namespace (so a
//! propagation bug shows up as a diff of that namespace's mountinfo, never on the host), in
//! which `unshare --pid --fork --mount --uts --ipc [--net] --propagation unchanged` creates the
//! pod's namespaces the way rkt will: stage1-init then sees *shared* mounts and must cut the
//! propagation itself. The test holds the parent end of the sync socket and drives Ready/Go.
//!
//! The binaries are the static musl builds: `STAGE1_INIT_BIN`/`PROBE_BIN` when set (see
//! `scripts/fixtures.sh`), else built here once per test process with the same cargo command
//! rkt's build script uses (same target dir, so it is usually a no-op).

#![allow(dead_code)]

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use stage1_init::plan::{default_caps, App, EtcFile, Mount, Net, Plan, RootfsMode};
use stage1_init::proto::{self, ProtoError};

/// How long a test waits for something the pod does before failing: generous, since a loaded
/// machine is slow, never wrong (a guard against a hang, not a timing assertion).
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(100);

/// Polls `done` until it holds; fails naming `what` once [`WAIT`] has passed.
#[track_caller]
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(
            start.elapsed() < WAIT,
            "timed out after {} s waiting for {what}",
            WAIT.as_secs()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Skips (locally) or fails (CI=true) a test that cannot run here.
pub fn require_root() -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("this test needs root, and CI=true forbids skipping it");
    }
    eprintln!("skipped: needs root (run as root, or CI=true to make this a failure)");
    false
}

/// (stage1-init, probe): static binaries.
pub fn binaries() -> &'static (PathBuf, PathBuf) {
    static BINS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BINS.get_or_init(|| {
        if let (Some(s), Some(p)) = (
            std::env::var_os("STAGE1_INIT_BIN"),
            std::env::var_os("PROBE_BIN"),
        ) {
            return (s.into(), p.into());
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf();
        let target_dir = root.join("target/stage1");
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.current_dir(&root)
            .arg("--config")
            .arg(root.join("musl.toml"))
            .args([
                "build",
                "--release",
                "--locked",
                "-p",
                "stage1-init",
                "-p",
                "probe",
            ])
            .args(["--target", "x86_64-unknown-linux-musl", "--target-dir"])
            .arg(&target_dir);
        for var in [
            "CARGO_ENCODED_RUSTFLAGS",
            "RUSTFLAGS",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_TARGET",
        ] {
            cmd.env_remove(var);
        }
        let status = cmd
            .status()
            .expect("run cargo to build the static binaries");
        assert!(
            status.success(),
            "building stage1-init and probe failed: {status}"
        );
        let out = target_dir.join("x86_64-unknown-linux-musl/release");
        (out.join("stage1-init"), out.join("probe"))
    })
}

/// A pod's worth of directories, removed on drop.
pub struct Fixture {
    pub dir: PathBuf,
    pub lower: PathBuf,
    pub pod: PathBuf,
}

impl Fixture {
    /// A fresh dir with `lower/bin/probe`, `lower/tmp` and an empty `pod/`.
    pub fn new() -> Fixture {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("s1-it-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (lower, pod) = (dir.join("lower"), dir.join("pod"));
        for d in [
            lower.join("bin"),
            lower.join("tmp"),
            pod.join("up"),
            pod.join("work"),
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::copy(&binaries().1, lower.join("bin/probe")).unwrap();
        Fixture { dir, lower, pod }
    }

    /// A plan for one app `p` running `/bin/probe args...` as root, overlay, net=none.
    pub fn plan(&self, args: &[&str]) -> Plan {
        let mut argv = vec!["/bin/probe".to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        Plan {
            uuid: "6f1f0d3c-1a2b-4c5d-8e9f-0123456789ab".into(),
            hostname: "rkt-6f1f0d3c-1a2b-4c5d-8e9f-0123456789ab".into(),
            pod_dir: self.pod.clone(),
            net: Net::None,
            hosts: EtcFile::Default("127.0.0.1 localhost\n".into()),
            resolv: EtcFile::Keep,
            cgroup_mounts: vec![],
            stage1_cgroup_procs: vec![],
            output: Default::default(),
            devices_by_cgroup: true,
            apps: vec![App {
                name: "p".into(),
                lower: self.lower.clone(),
                mode: RootfsMode::Overlay {
                    upper: self.pod.join("up"),
                    work: self.pod.join("work"),
                },
                argv,
                env: vec![
                    ("PATH".into(), "/bin".into()),
                    ("AC_APP_NAME".into(), "p".into()),
                ],
                uid: 0,
                gid: 0,
                supplementary_gids: vec![],
                cwd: "/".into(),
                caps: default_caps(),
                readonly_rootfs: false,
                protect_kernel: true,
                no_new_privs: false,
                seccomp: vec![],
                cgroup_procs: vec![],
                cgroup_dir: None,
                oom_score_adj: None,
                interactive: false,
                pre_start: vec![],
                post_stop: vec![],
                mounts: vec![],
            }],
        }
    }

    /// Adds app `name` running `/bin/probe args...` on the same image, with its own overlay.
    pub fn add_app(&self, plan: &mut Plan, name: &str, args: &[&str]) {
        let mut app = self.plan(args).apps.remove(0);
        app.name = name.into();
        let (upper, work) = (
            self.pod.join(format!("up-{name}")),
            self.pod.join(format!("work-{name}")),
        );
        std::fs::create_dir_all(&upper).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        app.mode = RootfsMode::Overlay { upper, work };
        plan.apps.push(app);
    }

    /// Whether the pod lock is free (a new open file description can take it).
    pub fn lock_is_free(&self) -> bool {
        let fd = rustix::fs::open(
            self.dir.join("lock"),
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        rustix::fs::flock(&fd, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_ok()
    }

    /// `plan` with every path relative to the fixture dir, for `run_chrooted`.
    pub fn chrooted(&self, mut plan: Plan) -> Plan {
        let rel = |p: &Path| Path::new("/").join(p.strip_prefix(&self.dir).unwrap());
        plan.pod_dir = rel(&plan.pod_dir);
        for app in &mut plan.apps {
            app.lower = rel(&app.lower);
            if let RootfsMode::Overlay { upper, work } = &mut app.mode {
                (*upper, *work) = (rel(upper), rel(work));
            }
        }
        plan
    }

    /// A host directory mounted at `/sync` in an app (add the returned mount to its plan): the
    /// test orders the pod's steps by writing files there (the probe's `wait-file`), instead
    /// of guessing with sleeps.
    pub fn sync_mount(&self) -> (PathBuf, Mount) {
        let dir = self.dir.join("sync");
        std::fs::create_dir_all(&dir).unwrap();
        let mount = Mount {
            source: dir.clone(),
            target: "/sync".into(),
            readonly: false,
            recursive: false,
            fill: false,
        };
        (dir, mount)
    }

    /// Path of a file in the pod's stage1 root, on disk.
    pub fn stage1(&self, rel: &str) -> PathBuf {
        self.pod.join("stage1/rootfs").join(rel)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a pod run produced.
#[derive(Debug)]
pub struct Outcome {
    pub ready: Result<(), ProtoError>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `plan` as a pod and waits for it; asserts that the mount table of the namespace it
/// ran in is the same before and after. `during` runs after `Go` with the launcher's pid.
pub fn run_with(fx: &Fixture, plan: &Plan, during: impl FnOnce(u32)) -> Outcome {
    launch(fx, plan, false, during)
}

/// Runs `plan` with the pod's namespaces entered chroot'ed into the fixture dir (a plain
/// directory, not a mount point), as when rkt itself runs in a chroot. The plan's paths must
/// be relative to that root (`Fixture::chrooted`).
pub fn run_chrooted(fx: &Fixture, plan: &Plan) -> Outcome {
    launch(fx, plan, true, |_| {})
}

fn launch(fx: &Fixture, plan: &Plan, chroot: bool, during: impl FnOnce(u32)) -> Outcome {
    let mut stage1 = binaries().0.clone();
    let mut plan_path = stage1_init::plan::plan_file(&fx.pod);
    std::fs::write(&plan_path, plan.encode().unwrap()).unwrap();
    if chroot {
        std::fs::copy(&stage1, fx.dir.join("stage1-init")).unwrap();
        stage1 = "/stage1-init".into();
        plan_path = "/pod/stage1-plan".into();
    }
    let (parent, child) = proto::pair().unwrap();
    let child_fd: OwnedFd = child_fd(child);
    let raw = child_fd.as_raw_fd();
    let script = r#"m="$0"; cat /proc/self/mountinfo >"$m.before"
unshare --pid --fork --mount --uts --ipc ${POD_NET:+--net} ${POD_ROOT:+--root=$POD_ROOT} \
  --propagation unchanged --kill-child "$@"
rc=$?; cat /proc/self/mountinfo >"$m.after"; exit $rc"#;
    // timeout(1) kills its whole process group (the shell, both unshares, the pod) if a run
    // hangs, so a broken stage1-init fails the test instead of wedging the suite.
    let mut cmd = Command::new("timeout");
    cmd.args([
        "-s",
        "KILL",
        "120",
        "unshare",
        "--mount",
        "--propagation",
        "shared",
    ])
    .args(["sh", "-c", script])
    .arg(fx.dir.join("mountinfo"))
    .arg(&stage1)
    .arg(&plan_path)
    .env("RKT_SYNC_FD", raw.to_string())
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if plan.net == Net::None {
        cmd.env("POD_NET", "1");
    }
    if chroot {
        cmd.env("POD_ROOT", &fx.dir);
    }
    // The pod lock, as rkt will pass it: an exclusive flock whose open file description
    // PID 1 inherits; the test's own copy is closed right after the spawn.
    let lock = rustix::fs::open(
        fx.dir.join("lock"),
        rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CREATE | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
    let lock_raw = lock.as_raw_fd();
    cmd.env("RKT_LOCK_FD", lock_raw.to_string());
    // SAFETY: the closure only calls fcntl(2) on fd numbers, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            for fd in [raw, lock_raw] {
                let fd = std::os::fd::BorrowedFd::borrow_raw(fd);
                rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
            }
            Ok(())
        });
    }
    let proc = cmd.spawn().expect("spawn unshare");
    drop((child_fd, lock));
    // A non-interactive plan never sends an fd with Ready.
    let ready = parent.wait_ready().map(|fds| assert!(fds.is_empty()));
    if ready.is_ok() {
        parent.go().unwrap();
        during(proc.id());
    }
    drop(parent);
    let out = proc.wait_with_output().unwrap();
    let before = std::fs::read_to_string(fx.dir.join("mountinfo.before")).unwrap_or_default();
    let after = std::fs::read_to_string(fx.dir.join("mountinfo.after")).unwrap_or_default();
    assert!(
        !before.is_empty(),
        "no mountinfo snapshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        before, after,
        "the pod's mounts leaked into the namespace it ran in"
    );
    Outcome {
        ready,
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `run_with` and nothing during the run.
pub fn run(fx: &Fixture, plan: &Plan) -> Outcome {
    run_with(fx, plan, |_| {})
}

/// The child end as a plain fd (the test passes it down by number).
fn child_fd(child: proto::ChildEnd) -> OwnedFd {
    // ChildEnd owns exactly one fd; dup it so that the endpoint can be dropped normally.
    let fd = rustix::io::fcntl_dupfd_cloexec(&child, 3).unwrap();
    drop(child);
    fd
}

/// Asserts `code` and dumps the outcome when it differs.
pub fn assert_code(out: &Outcome, code: i32) {
    assert_eq!(out.code, code, "{out:#?}");
}

/// The value of `key=` in the probe's output.
pub fn fact<'a>(out: &'a Outcome, key: &str) -> &'a str {
    let prefix = format!("{key}=");
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {key}= in {out:#?}"))
}
