//! Starting one app: fork, then in the child its own mount namespace with `/proc`, `/sys`,
//! `/dev`, a fresh session keyring, pivot_root into its rootfs, then the confinement of
//! [`crate::confine`] (capabilities, ids, no_new_privs, seccomp) and the exec. Event handlers
//! get the same confinement, as uid 0 (rkt ran them as root).
//!
//! PID 1 is single-threaded for its whole life, so the child of `fork()` may allocate and use
//! all of std (no lock can be held by another thread). Everything the exec needs (argv, envp)
//! is still built before the fork, so the only allocations after it are for error messages.
//!
//! Errors before exec travel back over a CLOEXEC pipe ([`spawn`]), so the user reads
//! ``start app `x`: exec `/bin/foo`: No such file or directory`` exactly once.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::io::Errno;
use rustix::mount::{mount, mount_bind_recursive, mount_change, MountFlags, MountPropagationFlags};
use rustix::pipe::{pipe_with, PipeFlags};
use rustix::process::Pid;
use rustix::thread::UnshareFlags;
use stage1_init::plan::{app_rootfs_rel, App, CgroupMount};

use crate::approot::AppRoot;
use crate::confine::{self, Filters, Ids};
use crate::error::{Context, Error, Result};
use crate::{cgroups, protect, rootfs};

/// Everything one app's child needs, computed before the fork.
pub struct Launch {
    name: String,
    root: PathBuf,
    argv: Vec<CString>,
    envp: Vec<CString>,
    uid: u32,
    gid: u32,
    groups: Vec<u32>,
    cwd: PathBuf,
    /// Capabilities to remove from the bounding set: every one the kernel knows that the plan
    /// does not list.
    drop_caps: Vec<u8>,
    protect_kernel: bool,
    /// A sysfs of the pod's at /sys: only when no volume is mounted at or under /sys (rkt
    /// 1.30, `TestVolumeSysfs`: such a volume is what the app gets there).
    sysfs: bool,
    no_new_privs: bool,
    filters: Filters,
    pre_start: Vec<CString>,
    post_stop: Vec<CString>,
    /// The slave of the pod's pty for the interactive app (fds 0-2, controlling terminal);
    /// `None` for the others, and once the app has started.
    tty: Option<std::os::fd::OwnedFd>,
    /// The app's stdout and stderr terminals (ptys of the pod), when the plan says so.
    stdout: Option<std::os::fd::OwnedFd>,
    stderr: Option<std::os::fd::OwnedFd>,
    /// The app's `tasks` in each v1 hierarchy and its v2 directory (opened before the pod's
    /// pivot).
    cgroup_fds: Vec<std::os::fd::OwnedFd>,
    cgroup_v2: Option<cgroups::V2Dir>,
    /// Its view of them at /sys/fs/cgroup.
    cgroup_mounts: Vec<CgroupMount>,
    oom_score_adj: Option<i32>,
}

/// What an app gets from the pod beside its own plan.
pub struct FromPod<'a> {
    /// /proc/sys/kernel/cap_last_cap.
    pub last_cap: u8,
    pub tty: Option<std::os::fd::OwnedFd>,
    pub stdout: Option<std::os::fd::OwnedFd>,
    pub stderr: Option<std::os::fd::OwnedFd>,
    pub cgroup_fds: Vec<std::os::fd::OwnedFd>,
    pub cgroup_v2: Option<cgroups::V2Dir>,
    pub cgroup_mounts: &'a [CgroupMount],
}

/// A started app.
pub struct Started {
    /// The app's main process.
    pub pid: Pid,
}

impl Launch {
    /// Prepares the launch of `app`.
    pub fn new(app: &App, pod: FromPod<'_>) -> Result<Self> {
        let last_cap = pod.last_cap;
        let cstr = |s: &[u8]| {
            CString::new(s)
                .map_err(|_| Error::sys("exec", &app.argv[0], Errno::INVAL).in_app(&app.name))
        };
        Ok(Launch {
            name: app.name.clone(),
            root: Path::new("/").join(app_rootfs_rel(&app.name)),
            argv: app
                .argv
                .iter()
                .map(|a| cstr(a.as_bytes()))
                .collect::<Result<_>>()?,
            envp: app
                .env
                .iter()
                .map(|(k, v)| cstr(format!("{k}={v}").as_bytes()))
                .collect::<Result<_>>()?,
            uid: app.uid,
            gid: app.gid,
            groups: app.supplementary_gids.clone(),
            cwd: PathBuf::from(&app.cwd),
            drop_caps: (0..=last_cap).filter(|c| !app.caps.contains(c)).collect(),
            protect_kernel: app.protect_kernel,
            sysfs: !app
                .mounts
                .iter()
                .any(|m| m.target == "/sys" || m.target.starts_with("/sys/")),
            no_new_privs: app.no_new_privs,
            filters: Filters::new(&app.seccomp),
            pre_start: app
                .pre_start
                .iter()
                .map(|a| cstr(a.as_bytes()))
                .collect::<Result<_>>()?,
            post_stop: app
                .post_stop
                .iter()
                .map(|a| cstr(a.as_bytes()))
                .collect::<Result<_>>()?,
            tty: pod.tty,
            stdout: pod.stdout,
            stderr: pod.stderr,
            cgroup_fds: pod.cgroup_fds,
            cgroup_v2: pod.cgroup_v2,
            cgroup_mounts: pod.cgroup_mounts.to_vec(),
            oom_score_adj: app.oom_score_adj,
        })
    }

    /// Closes PID 1's copies of the app's terminals (the app has its own).
    pub fn release_tty(&mut self) {
        self.tty = None;
        self.stdout = None;
        self.stderr = None;
    }

    /// The app's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Forks and execs the app; returns once the exec has succeeded.
    pub fn start(&self) -> Result<Started> {
        let pid =
            spawn(self.cgroup_v2.as_ref(), || self.child()).map_err(|e| e.in_app(&self.name))?;
        Ok(Started { pid })
    }

    /// The child's side; returns only on failure.
    fn child(&self) -> Result<Infallible> {
        self.enter_rootfs()?;
        if let Some(adj) = self.oom_score_adj {
            std::fs::write("/proc/self/oom_score_adj", adj.to_string())
                .ctx("write", "/proc/self/oom_score_adj")?;
        }
        match &self.tty {
            Some(tty) => crate::tty::install(tty)?,
            None => no_stdin()?,
        }
        for (fd, to) in [(&self.stdout, 1), (&self.stderr, 2)] {
            if let Some(fd) = fd {
                crate::tty::install_as(fd, to)?;
            }
        }
        confine::drop_privileges(&self.drop_caps)?;
        if self.tty.is_some() {
            // After drop_privileges' setsid (a session leader without a terminal may take
            // one) and before the pre-start handler, which then shares the app's terminal.
            crate::tty::make_controlling()?;
        }
        if !self.pre_start.is_empty() {
            // appc: the handler runs in the same rootfs instance and must succeed.
            let code = self.run_handler(&self.pre_start)?;
            if code != 0 {
                // As a systemd unit whose ExecStartPre failed (rkt 1.30): the app never runs,
                // its status is the handler's, and its exit stops the pod as any app's does
                // (post-stop still runs). Exiting without a word on the start pipe makes this
                // child the app as far as PID 1's reaper is concerned.
                eprintln!(
                    "stage1: app `{}`: pre-start `{}` exited with {code}; the app does not start",
                    self.name,
                    exe_path(&self.pre_start[0]).display()
                );
                // SAFETY: _exit in a fork of PID 1 skips the parent's atexit handlers and
                // stdio buffers (stderr is unbuffered, so the line above is out).
                unsafe { libc::_exit(code & 0xff) };
            }
        }
        self.ids(false).assume()?;
        Err(exec(&self.argv, &self.envp))
    }

    /// The app's ids, or (`handler`) uid and gid 0 with the app's working directory, filter
    /// and no_new_privs: rkt ran event handlers as root; ours keep the app's confinement.
    fn ids(&self, handler: bool) -> Ids<'_> {
        Ids {
            uid: if handler { 0 } else { self.uid },
            gid: if handler { 0 } else { self.gid },
            groups: if handler { &[] } else { &self.groups },
            cwd: &self.cwd,
            no_new_privs: self.no_new_privs,
            filters: &self.filters,
        }
    }

    /// In a fork of PID 1: a mount namespace of its own whose root is the app's rootfs, with
    /// /proc, /sys and /dev. The app and its post-stop handler each get one; the rootfs itself
    /// is mounted in PID 1's namespace, so the handler sees what the app left there.
    fn enter_rootfs(&self) -> Result<()> {
        // Its cgroups first, then a cgroup namespace rooted at them (an app that makes cgroup
        // namespaces of its own can never see above its cgroup: no host cgroup to freeze or
        // throttle). Its own mount namespace: the app's /proc, /sys and /dev mounts, and
        // anything the app mounts itself, stay out of PID 1's view and out of the other apps'.
        cgroups::join(&self.cgroup_fds)?;
        let mut ns = UnshareFlags::NEWNS;
        if !self.cgroup_fds.is_empty() || self.cgroup_v2.is_some() {
            ns |= UnshareFlags::NEWCGROUP;
        }
        // SAFETY: this process is single-threaded (a fresh fork of PID 1).
        unsafe { rustix::thread::unshare_unsafe(ns) }
            .map_err(|e| Error::call("unshare mount and cgroup namespaces", e))?;
        confine::join_session_keyring()?;
        mount_change(
            "/",
            MountPropagationFlags::REC | MountPropagationFlags::DOWNSTREAM,
        )
        .ctx("make mounts slave under", "/")?;
        let root = AppRoot::open(&self.root)?;
        let proc = Path::new("/proc");
        let base = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
        // The targets are opened inside the rootfs (an image's `/dev -> /` cannot turn this
        // into a mount on the pod's own /dev) and mounted through their /proc/self/fd links.
        let dev = root.dir("dev", false)?;
        mount_bind_recursive("/dev", AppRoot::fd_path(proc, &dev))
            .ctx("bind mount /dev onto", root.shown("dev"))?;
        if self.sysfs {
            let sys = root.dir("sys", false)?;
            mount(
                "sysfs",
                AppRoot::fd_path(proc, &sys),
                "sysfs",
                base | MountFlags::RDONLY,
                None,
            )
            .ctx("mount sysfs on", root.shown("sys"))?;
        }
        let procdir = root.dir("proc", false)?;
        mount("proc", AppRoot::fd_path(proc, &procdir), "proc", base, None)
            .ctx("mount proc on", root.shown("proc"))?;
        if self.protect_kernel {
            protect::apply(&root, proc, !self.cgroup_mounts.is_empty())?;
        }
        // Without the pod's sysfs, the view goes only where the volume has a place for it.
        if self.sysfs || root.lookup("sys/fs/cgroup").is_ok() {
            cgroups::mount_view(&root, proc, &self.cgroup_mounts)?;
        }
        drop((dev, procdir, root));
        rootfs::pivot(&self.root)
    }

    /// Runs the post-stop handler (if any) in the app's rootfs after the app exited; waits for
    /// it. A failure is reported, not fatal: the app's status is already recorded.
    ///
    /// The handler gets a fresh namespace like the app's rather than the app's own: once the
    /// app's last process has exited, its namespace is gone (a zombie's /proc/<pid>/ns links
    /// already are), and holding it open from PID 1 raced with a quickly exiting app.
    pub fn post_stop(&self) {
        if self.post_stop.is_empty() {
            return;
        }
        // SAFETY: as in `start`: PID 1 is single-threaded.
        let pid = unsafe { cgroups::fork_into(self.cgroup_v2.as_ref()) };
        if pid == 0 {
            let err = match self
                .enter_rootfs()
                .and_then(|()| confine::drop_privileges(&self.drop_caps))
                .and_then(|()| self.ids(true).assume())
            {
                Ok(()) => exec(&self.post_stop, &self.envp),
                Err(e) => e,
            };
            eprintln!("stage1: post-stop of app `{}`: {err}", self.name);
            // SAFETY: see `start`.
            unsafe { libc::_exit(127) };
        }
        if pid < 0 {
            eprintln!(
                "stage1: post-stop of app `{}`: fork: {}",
                self.name,
                crate::error::last_errno()
            );
            return;
        }
        match wait_for(pid) {
            Ok(0) => {}
            Ok(code) => eprintln!(
                "stage1: post-stop of app `{}` exited with {code}",
                self.name
            ),
            Err(e) => eprintln!("stage1: post-stop of app `{}`: {e}", self.name),
        }
    }

    /// Runs the handler `argv` in a child of this process (its own session keyring, uid 0,
    /// the app's filter) and returns its status.
    fn run_handler(&self, argv: &[CString]) -> Result<i32> {
        // SAFETY: this process is single-threaded (a fork of PID 1).
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let err = match confine::join_session_keyring().and_then(|()| self.ids(true).assume()) {
                Ok(()) => exec(argv, &self.envp),
                Err(e) => e,
            };
            eprintln!("stage1: {}", err.in_app(&self.name));
            // SAFETY: see `start`.
            unsafe { libc::_exit(127) };
        }
        if pid < 0 {
            return Err(Error::call("fork", crate::error::last_errno()));
        }
        wait_for(pid)
    }
}

/// Forks (into the v2 cgroup `v2`, when given); the child runs `child`, which returns only on failure (its last step is an exec).
/// Returns the child's pid once the exec has succeeded, or the child's error.
///
/// Errors before exec travel back over a CLOEXEC pipe (EOF means the exec succeeded), as
/// `i32 errno` + the error's context; the failed child is reaped here, so a reaper never
/// mistakes it for an app.
pub fn spawn(
    v2: Option<&cgroups::V2Dir>,
    child: impl FnOnce() -> Result<Infallible>,
) -> Result<Pid> {
    let (read_end, write_end) =
        pipe_with(PipeFlags::CLOEXEC).map_err(|e| Error::call("pipe", e))?;
    // SAFETY: stage1-init never starts a thread, so the child is a complete copy of a
    // single-threaded process and may run arbitrary code before exec or _exit.
    let pid = unsafe { cgroups::fork_into(v2) };
    if pid < 0 {
        return Err(Error::call("fork", crate::error::last_errno()));
    }
    if pid == 0 {
        drop(read_end);
        let err = match child() {
            Err(e) => e,
            Ok(never) => match never {},
        };
        let mut msg = err.raw_errno().to_le_bytes().to_vec();
        msg.extend_from_slice(err.context().as_bytes());
        // Best effort: if even this fails, the parent sees exit code 127 and no message.
        let _ = rustix::io::write(&write_end, &msg);
        // SAFETY: _exit skips atexit handlers and stdio flushing, which belong to the parent.
        unsafe { libc::_exit(127) };
    }
    drop(write_end);
    let mut msg = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match rustix::io::read(&read_end, &mut buf) {
            Ok(0) => break,
            Ok(n) => msg.extend_from_slice(&buf[..n]),
            Err(Errno::INTR) => {}
            Err(e) => return Err(Error::call("read the start status", e)),
        }
    }
    // SAFETY: fork returned a positive pid.
    let pid = unsafe { Pid::from_raw_unchecked(pid) };
    if msg.is_empty() {
        return Ok(pid);
    }
    let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
    let errno = msg
        .get(..4)
        .map_or(0, |b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let context = String::from_utf8_lossy(msg.get(4..).unwrap_or_default()).into_owned();
    Err(Error {
        op: context.into(),
        path: None,
        errno: (errno != 0).then(|| Errno::from_raw_os_error(errno)),
        detail: None,
        app: None,
    })
}

/// `execve(argv[0], argv, envp)`; returns the error.
pub fn exec(argv: &[CString], envp: &[CString]) -> Error {
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let mut env: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    env.push(std::ptr::null());
    // SAFETY: both are NULL-terminated arrays of pointers to NUL-terminated strings that
    // outlive the call (execve only returns on failure).
    unsafe { libc::execve(ptrs[0], ptrs.as_ptr(), env.as_ptr()) };
    Error::sys("exec", exe_path(&argv[0]), crate::error::last_errno())
}

fn exe_path(exe: &CString) -> &Path {
    Path::new(std::ffi::OsStr::from_bytes(exe.as_bytes()))
}

/// Waits for one child and returns its status as a shell would show it.
fn wait_for(pid: libc::pid_t) -> Result<i32> {
    // SAFETY: fork returned a positive pid.
    let pid = unsafe { Pid::from_raw_unchecked(pid) };
    loop {
        match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()) {
            Ok(Some((_, st))) => return Ok(crate::reaper::status_code(st)),
            Ok(None) | Err(Errno::INTR) => {}
            Err(e) => return Err(Error::call("waitpid", e)),
        }
    }
}

/// Replaces stdin with the pod's /dev/null: as rkt, apps read no input unless `--interactive`
/// (then `tty::install` gives the app the pod's pty), so a pod never competes with the user's
/// shell for the terminal.
fn no_stdin() -> Result<()> {
    use std::os::fd::AsRawFd;
    let how = rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC;
    let null =
        rustix::fs::open("/dev/null", how, rustix::fs::Mode::empty()).ctx("open", "/dev/null")?;
    // SAFETY: both are valid descriptors of this single-threaded process; dup2 replaces fd 0
    // atomically and the new fd 0 is not close-on-exec.
    if unsafe { libc::dup2(null.as_raw_fd(), 0) } < 0 {
        return Err(Error::call(
            "dup2 /dev/null onto stdin",
            crate::error::last_errno(),
        ));
    }
    Ok(())
}
