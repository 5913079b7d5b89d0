//! Starting `rkt enter`'s inside half: the embedded stage1-init, exec'd from a sealed memfd in
//! the namespaces of a running app (joined through a pidfd), where it forks the command with
//! the app's confinement (stage1-init's `enter` module).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

use super::exec::ExecArgs;

/// `prctl(PR_SET_DUMPABLE, 0)`: from now on (and in children until they exec) no process of
/// the pod can ptrace this one or open its `/proc/<pid>/exe`, `mem` or `fd/*` (CVE-2019-5736).
///
/// # References
/// - prctl(2), PR_SET_DUMPABLE; proc(5), "ptrace access mode"
pub(crate) fn set_not_dumpable() -> io::Result<()> {
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)?;
    Ok(())
}

/// Runs the program in `exe` (a sealed memfd) with exactly `argv` and `env`, in the cgroups
/// whose `cgroup.procs` fds are `cgroup_procs`, then in the mount, UTS, IPC, network (and
/// cgroup) namespaces of the process `pidfd` pins (its children in that PID namespace), with
/// `stdio` as its fds 0-2 and the fds `keep` passed (CLOEXEC cleared in the child only). rkt
/// itself never enters the pod.
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
    stdio: [OwnedFd; 3],
    keep: &[RawFd],
    cgroup_procs: &[RawFd],
) -> io::Result<Child> {
    let args = ExecArgs::new(argv, env)?;
    let keep = keep.to_vec();
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
            for fd in &keep {
                rustix::io::fcntl_setfd(BorrowedFd::borrow_raw(*fd), rustix::io::FdFlags::empty())?;
            }
        }
        Err(args.exec_fd(exe))
    };
    // std needs a program name; it is never exec'd (see above).
    let mut cmd = Command::new("stage1-init");
    let [stdin, stdout, stderr] = stdio;
    cmd.stdin(stdin).stdout(stdout).stderr(stderr);
    // SAFETY: `in_child` only makes raw syscalls on data it owns (see above).
    unsafe { cmd.pre_exec(in_child) };
    cmd.spawn()
}
