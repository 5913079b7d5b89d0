//! Starting `rkt enter`'s inside half: the embedded stage1-init, exec'd from a sealed memfd in
//! the namespaces of a running app (joined through a pidfd), where it forks the command with
//! the app's confinement (stage1-init's `enter` module).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

/// `prctl(PR_SET_DUMPABLE, 0)`: from now on (and in children until they exec) no process of
/// the pod can ptrace this one or open its `/proc/<pid>/exe`, `mem` or `fd/*` (CVE-2019-5736).
///
/// # References
/// - prctl(2), PR_SET_DUMPABLE; proc(5), "ptrace access mode"
pub(crate) fn set_not_dumpable() -> io::Result<()> {
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)?;
    Ok(())
}

/// NULL-terminated arrays of pointers into `CString`s that the same value owns.
struct ExecArgs {
    _strings: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
}

// SAFETY: the pointers point into `_strings`, owned by the same value and never changed; the
// value is only read, by the forked child.
unsafe impl Send for ExecArgs {}
// SAFETY: as above: shared reads of immutable data.
unsafe impl Sync for ExecArgs {}

impl ExecArgs {
    fn new(argv: &[String], env: &[(String, String)]) -> io::Result<ExecArgs> {
        let c =
            |s: String| CString::new(s).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
        let mut strings = Vec::new();
        for a in argv {
            strings.push(c(a.clone())?);
        }
        let n = strings.len();
        for (k, v) in env {
            strings.push(c(format!("{k}={v}"))?);
        }
        let mut ptrs: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        let envp: Vec<_> = ptrs
            .split_off(n)
            .into_iter()
            .chain([std::ptr::null()])
            .collect();
        ptrs.push(std::ptr::null());
        Ok(ExecArgs {
            _strings: strings,
            argv: ptrs,
            envp,
        })
    }

    /// `execveat(dirfd, "", argv, envp, AT_EMPTY_PATH)`; returns only on failure.
    fn exec_fd(&self, fd: RawFd) -> io::Error {
        // SAFETY: both arrays are NULL-terminated and point into `_strings`, which lives as
        // long as `self`.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                fd,
                c"".as_ptr(),
                self.argv.as_ptr(),
                self.envp.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        };
        io::Error::last_os_error()
    }
}

/// Runs the program in `exe` (a sealed memfd) with exactly `argv` and `env`, in the cgroups
/// whose `cgroup.procs` fds are `cgroup_procs`, then in the mount, UTS, IPC, network (and
/// cgroup) namespaces of the process `pidfd` pins (its children in that PID namespace), with
/// fd `keep` passed (CLOEXEC cleared in the child only). rkt itself never enters the pod.
///
/// `setns` with a pidfd joins every namespace at once or none (Linux 5.8); after it, the
/// root and working directory are the app's (it pivoted into its rootfs). `/proc` is then the
/// pod's, where this process has no pid, so the program is exec'd by fd: `execveat(fd, "",
/// AT_EMPTY_PATH)`.
///
/// # References
/// - setns(2), execveat(2)
pub(crate) fn spawn_inside(
    pidfd: &OwnedFd,
    exe: BorrowedFd<'_>,
    argv: &[String],
    env: &[(String, String)],
    keep: RawFd,
    cgroup_procs: &[RawFd],
) -> io::Result<Child> {
    let args = ExecArgs::new(argv, env)?;
    let cgroup_procs = cgroup_procs.to_vec();
    let (pidfd, exe) = (pidfd.as_raw_fd(), exe.as_raw_fd());
    let flags = libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWPID
        | if cgroup_procs.is_empty() {
            0
        } else {
            libc::CLONE_NEWCGROUP
        };
    // Runs between fork and exec: raw syscalls on data built above, no allocation, no locks.
    // It execs itself, so std's own exec never runs; on failure its error is spawn's.
    let in_child = move || -> io::Result<()> {
        super::cgroup::join_with(&cgroup_procs)?;
        // SAFETY: setns only reads the fd; fcntl takes an fd number open in the parent and
        // so in this fork.
        unsafe {
            if libc::setns(pidfd, flags) != 0 {
                return Err(io::Error::last_os_error());
            }
            rustix::io::fcntl_setfd(BorrowedFd::borrow_raw(keep), rustix::io::FdFlags::empty())?;
        }
        Err(args.exec_fd(exe))
    };
    // std needs a program name; it is never exec'd (see above).
    let mut cmd = Command::new("stage1-init");
    // SAFETY: `in_child` only makes raw syscalls on data it owns (see above).
    unsafe { cmd.pre_exec(in_child) };
    cmd.spawn()
}
