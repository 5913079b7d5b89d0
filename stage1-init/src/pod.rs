//! The two phases of PID 1: `setup` (before `Ready`: namespaces' contents, pivot, hostname,
//! network, `rkt/` files) and `run` (after `Go`: start the apps, supervise, exit status).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use rustix::io::{fcntl_getfd, fcntl_setfd, Errno, FdFlags};
use rustix::process::{getpid, set_dumpable_behavior, DumpableBehavior};
use stage1_init::plan::{app_rootfs_rel, Net, Plan};

use crate::app::Launch;
use crate::approot::{self, AppRoot};
use crate::error::{Context, Error, Result};
use crate::reaper::{self, Tracked};
use crate::signals::Blocked;
use crate::{net, rootfs, tty};

/// Inside the pivoted stage1 root: where the status and env files go.
const STATUS_DIR: &str = "/rkt/status";
const ENV_DIR: &str = "/rkt/env";

/// A pod whose setup is done: what `run` needs.
pub struct Pod {
    launches: Vec<Launch>,
    /// The pty masters for rkt (the interactive app's, then each app's stdout and stderr
    /// terminals, in plan order), until they are handed over with `Ready`.
    masters: Vec<OwnedFd>,
    /// stage1-init's own cgroups, joined right before the apps start.
    cgroup_fds: Vec<OwnedFd>,
}

impl Pod {
    /// The pty masters to hand to rkt.
    pub fn masters(&self) -> Vec<BorrowedFd<'_>> {
        self.masters.iter().map(AsFd::as_fd).collect()
    }

    /// Closes PID 1's copy of the master once rkt has its own: the only reader of the app's
    /// terminal is then rkt, and rkt sees EIO exactly when the pod's last slave fd is gone.
    pub fn drop_masters(&mut self) {
        self.masters.clear();
    }
}

/// Everything before `Ready`. Any error here becomes the one `E` frame.
pub fn setup(plan_path: &Path) -> Result<Pod> {
    // Refuse to run anywhere but as a namespace's init: run by mistake on the host, the
    // mounts below would land in the host's mount namespace.
    if getpid().as_raw_nonzero().get() != 1 {
        return Err(Error::other(
            "start",
            "stage1-init",
            "must run as PID 1 of a new PID namespace (rkt starts it)".into(),
        ));
    }
    // Non-dumpable: a process of the pod (even root, lacking CAP_SYS_PTRACE) can then neither
    // ptrace PID 1 nor open /proc/1/exe, /proc/1/mem or /proc/1/fd/* (ptrace access mode
    // checks, proc(5)); CVE-2019-5736 went through /proc/<runc>/exe. The binary itself is a
    // sealed memfd, so even an open would not allow a write.
    set_dumpable_behavior(DumpableBehavior::NotDumpable)
        .map_err(|e| Error::call("prctl(PR_SET_DUMPABLE)", e))?;
    let bytes = std::fs::read(plan_path).ctx("read plan", plan_path)?;
    let plan =
        Plan::decode(&bytes).map_err(|e| Error::other("decode plan", plan_path, e.to_string()))?;
    crate::debug!(
        "plan {} read: {} app(s)",
        plan_path.display(),
        plan.apps.len()
    );

    let root = plan.stage1_rootfs();
    rootfs::isolate_propagation(&root)?;
    rootfs::apply(&rootfs::ops(&plan))?;
    let interactive = plan.apps.iter().find(|a| a.interactive);
    let mut pty = match interactive {
        Some(app) => Some(tty::open(&root.join("dev/pts"), app.uid)?),
        None => None,
    };
    rootfs::apply_one(&rootfs::console_op(
        &plan,
        pty.as_ref().map(|p| p.slave_path.as_path()),
    ))?;
    // Every app's stdout and stderr that is to be a terminal: a pty of the pod's devpts each.
    let mut output = Vec::with_capacity(plan.apps.len());
    for app in &plan.apps {
        let one = |on: bool| -> Result<Option<tty::Pty>> {
            if !on || app.interactive {
                return Ok(None);
            }
            let p = tty::open(&root.join("dev/pts"), app.uid)?;
            tty::raw_output(p.slave.as_ref().expect("a new pty has its slave"))?;
            Ok(Some(p))
        };
        output.push((one(plan.output.stdout_tty)?, one(plan.output.stderr_tty)?));
    }
    let own_cgroups = crate::cgroups::open(&plan.stage1_cgroup_procs)?;
    let mut cgroup_fds = Vec::with_capacity(plan.apps.len());
    for app in &plan.apps {
        let app_root = AppRoot::open(&root.join(app_rootfs_rel(&app.name)))?;
        approot::prepare(&plan, &app_root, &root.join("proc"))?;
        approot::mount_volumes(app, &app_root, &root.join("proc"), plan.devices_by_cgroup)?;
        // Host paths: open while the host's cgroup filesystems are still in view.
        let v2 = app
            .cgroup_dir
            .as_deref()
            .map(crate::cgroups::open_v2)
            .transpose()?;
        cgroup_fds.push((crate::cgroups::open(&app.cgroup_procs)?, v2));
    }
    rootfs::apply(&rootfs::final_ops(&plan))?;
    rootfs::pivot(&root)?;
    crate::debug!("pivoted into {}", root.display());

    rustix::system::sethostname(plan.hostname.as_bytes())
        .map_err(|e| Error::call("sethostname", e))?;
    if plan.net == Net::None {
        net::loopback_up()?;
    }
    let last_cap = last_cap()?;
    let mut launches = Vec::with_capacity(plan.apps.len());
    let mut masters: Vec<OwnedFd> = Vec::new();
    let mut output_slaves = Vec::with_capacity(plan.apps.len());
    for (out, err) in output {
        let mut slave = |p: Option<tty::Pty>| {
            p.map(|mut p| {
                masters.push(p.master);
                p.slave.take().expect("a new pty has its slave")
            })
        };
        output_slaves.push((slave(out), slave(err)));
    }
    if let Some(p) = &mut pty {
        // The interactive app's terminal comes first.
        masters.insert(
            0,
            rustix::io::dup(&p.master).map_err(|e| Error::call("dup", e))?,
        );
    }
    for ((app, (cgroup_fds, cgroup_v2)), (stdout, stderr)) in
        plan.apps.iter().zip(cgroup_fds).zip(output_slaves)
    {
        // rkt's env file format (WriteEnvFile): one KEY=VALUE per line; `rkt enter` reads it.
        let env: String = app.env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        write_atomic(&Path::new(ENV_DIR).join(&app.name), env.as_bytes())?;
        touch(&status_marker(&app.name, "created"))?;
        let tty = match &mut pty {
            Some(p) if app.interactive => p.slave.take(),
            _ => None,
        };
        launches.push(Launch::new(
            app,
            crate::app::FromPod {
                last_cap,
                tty,
                stdout,
                stderr,
                cgroup_fds,
                cgroup_v2,
                cgroup_mounts: &plan.cgroup_mounts,
            },
        )?);
    }
    Ok(Pod {
        launches,
        masters,
        cgroup_fds: own_cgroups,
    })
}

/// Everything after `Go`: returns the pod's exit status. An error here is printed by `main`
/// (there is no sync socket any more); apps already started are killed with the pod.
pub fn run(mut pod: Pod, signals: &Blocked) -> Result<i32> {
    cloexec_all()?;
    crate::cgroups::join(&pod.cgroup_fds)?;
    pod.cgroup_fds.clear();
    let mut apps = Vec::with_capacity(pod.launches.len());
    for (index, launch) in pod.launches.iter_mut().enumerate() {
        let started = launch.start()?;
        // The app has its terminals; PID 1 keeps no fd of them (see `Pod::drop_masters`).
        launch.release_tty();
        let pid = started.pid.as_raw_nonzero().get().to_string();
        write_atomic(&status_marker(launch.name(), "pid"), pid.as_bytes())?;
        touch(&status_marker(launch.name(), "started"))?;
        apps.push(Tracked {
            index,
            name: launch.name().to_string(),
            pid: started.pid,
            status: None,
        });
    }
    // `rkt status --wait-ready` polls for this link (rkt's supervisor-status -> ready).
    rustix::fs::symlinkat("ready", rustix::fs::CWD, "/rkt/supervisor-status")
        .ctx("symlink", "/rkt/supervisor-status")?;
    let post_stop = |app: &Tracked| pod.launches[app.index].post_stop();
    reaper::supervise(&mut apps, signals, Path::new(STATUS_DIR), post_stop)
}

/// `rkt/status/<app>-<what>`: empty files whose mtimes are the app's created/started times.
fn status_marker(app: &str, what: &str) -> PathBuf {
    Path::new(STATUS_DIR).join(format!("{app}-{what}"))
}

/// The highest capability number this kernel knows.
pub fn last_cap() -> Result<u8> {
    let path = "/proc/sys/kernel/cap_last_cap";
    let text = std::fs::read_to_string(path).ctx("read", path)?;
    text.trim()
        .parse()
        .map_err(|_| Error::sys("parse", path, Errno::INVAL))
}

/// Marks every fd above 2 close-on-exec, so that nothing of PID 1 (the pod lock, a stray fd
/// from rkt) reaches an app (CVE-2024-21626 leaked a host directory fd into runc containers).
/// The lock stays open in PID 1 itself for the pod's life.
pub fn cloexec_all() -> Result<()> {
    // One syscall where the kernel has close_range(2) with CLOSE_RANGE_CLOEXEC (Linux 5.11).
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC closes nothing; it only sets a flag on the
    // fds in the range, whatever they are.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    // ENOSYS or EINVAL (an older kernel): walk /proc/self/fd.
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .ctx("read directory", "/proc/self/fd")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: only flags of a possibly-stale fd number are touched: EBADF (the fd
        // read_dir itself used, closed since) is the only expected failure.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        match fcntl_getfd(fd) {
            Ok(flags) => fcntl_setfd(fd, flags | FdFlags::CLOEXEC)
                .ctx("set close-on-exec on fd", fd.as_raw_fd().to_string())?,
            Err(Errno::BADF) => {}
            Err(e) => return Err(Error::sys("get flags of fd", fd.as_raw_fd().to_string(), e)),
        }
    }
    Ok(())
}

/// Creates the empty file `path` (a status marker: only its existence and mtime count, so
/// there is no content to write atomically and no temp file and rename to pay for).
fn touch(path: &Path) -> Result<()> {
    std::fs::File::create(path).map(drop).ctx("create", path)
}

/// Writes `data` to `path` via `path.tmp` and a rename (DESIGN §3.3 point 6: pod files are
/// renamed into place, not fsync'd).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, data).ctx("write", &tmp)?;
    std::fs::rename(&tmp, path).ctx("rename onto", path)
}
