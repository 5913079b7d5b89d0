//! Starting a pod's PID 1: a sealed in-memory copy of the program, new namespaces, and the
//! signals `rkt run` forwards to it.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

use rustix::fs::{MemfdFlags, SealFlags};
use rustix::process::Signal;

/// `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)`, the bytes written, then
/// `F_ADD_SEALS(SEAL_WRITE | SEAL_GROW | SEAL_SHRINK | SEAL_SEAL)`: a file nobody (not even a
/// process that reaches it through `/proc/<pid>/exe`) can modify (CVE-2019-5736 class).
///
/// # References
///  - [memfd_create(2)](https://man7.org/linux/man-pages/man2/memfd_create.2.html)
pub(crate) fn sealed_memfd(name: &str, bytes: &[u8]) -> io::Result<OwnedFd> {
    let c =
        std::ffi::CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let fd = rustix::fs::memfd_create(&c, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)?;
    let fd = OwnedFd::from(file);
    rustix::fs::fcntl_add_seals(
        &fd,
        SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL,
    )?;
    Ok(fd)
}

/// Namespaces of the pod's PID 1 besides the PID namespace.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Namespaces {
    /// A fresh network namespace (`--net=none`).
    pub(crate) net: bool,
    /// A fresh IPC namespace (all but `--ipc=parent`).
    pub(crate) ipc: bool,
}

/// A pod's PID 1, as rkt waits for it.
#[derive(Debug)]
pub(crate) struct Pid1 {
    pid: i32,
    status: Option<std::process::ExitStatus>,
}

impl Pid1 {
    pub(crate) fn id(&self) -> u32 {
        self.pid as u32
    }

    /// Waits for it to exit (once; later calls return the same status).
    pub(crate) fn wait(&mut self) -> io::Result<std::process::ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        if let Some(s) = self.status {
            return Ok(s);
        }
        let mut status = 0;
        loop {
            // SAFETY: waitpid(2) writes the status into a local.
            let rc = unsafe { libc::waitpid(self.pid, &mut status, 0) };
            if rc == self.pid {
                let s = std::process::ExitStatus::from_raw(status);
                self.status = Some(s);
                return Ok(s);
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(e);
            }
        }
    }
}

/// Runs the program in `exe` (a sealed memfd) as PID 1 of new PID, mount, UTS and IPC
/// (and network) namespaces, with `argv` (argv[0] included), exactly the environment `env`,
/// `/dev/null`, `stdout` and `stderr` as fds 0-2 and the fds in `keep` passed (CLOEXEC cleared
/// in the child only), created in the cgroup v2 directory `cgroup` when given
/// (`CLONE_INTO_CGROUP`: created there, not moved, so no cgroup migration lock). The child
/// gets SIGKILL when this thread dies (the pod does not outlive `rkt run`, as when rkt exec'd
/// stage1 in rkt 1.30; DESIGN §3.3 point 5).
///
/// One `clone3(2)` (Linux 5.7 for `CLONE_INTO_CGROUP`): the namespaces come with the process,
/// and no thread of rkt ever changes its own.
pub(crate) fn spawn_pid1(
    exe: BorrowedFd<'_>,
    argv: &[String],
    env: &[(String, String)],
    keep: &[RawFd],
    (stdout, stderr): (OwnedFd, OwnedFd),
    cgroup: Option<BorrowedFd<'_>>,
    ns: Namespaces,
) -> io::Result<Pid1> {
    let args = super::exec::ExecArgs::new(argv, env)?;
    let null = std::fs::File::open("/dev/null")?;
    let (report_r, report_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let mut flags = (libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWUTS) as u64;
    if ns.ipc {
        flags |= libc::CLONE_NEWIPC as u64;
    }
    if ns.net {
        flags |= libc::CLONE_NEWNET as u64;
    }
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    // struct clone_args (linux/sched.h, 88 bytes): flags, pidfd, child_tid, parent_tid,
    // exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup.
    let mut clone_args = [0u64; 11];
    clone_args[4] = libc::SIGCHLD as u64;
    if let Some(cg) = cgroup {
        flags |= CLONE_INTO_CGROUP;
        clone_args[10] = cg.as_raw_fd() as u64;
    }
    clone_args[0] = flags;
    let (null_fd, out_fd, err_fd, report) = (
        null.as_raw_fd(),
        stdout.as_raw_fd(),
        stderr.as_raw_fd(),
        report_w.as_raw_fd(),
    );
    // SAFETY: clone3 without CLONE_VM gives the child a copy of this process with only the
    // calling thread; the child below makes raw syscalls only (dup2, fcntl, prctl, execveat,
    // write, _exit) on fds and memory prepared before, with no allocation and no locks.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            clone_args.as_ptr(),
            std::mem::size_of_val(&clone_args),
        )
    };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        let fail = |err: io::Error| -> ! {
            let errno = err.raw_os_error().unwrap_or(libc::EIO).to_ne_bytes();
            // SAFETY: a write of four bytes, then _exit, which runs nothing of the parent's.
            unsafe {
                libc::write(report, errno.as_ptr().cast(), errno.len());
                libc::_exit(127);
            }
        };
        // SAFETY: dup2 onto 0-2 from fds open in the parent (and so here).
        unsafe {
            for (from, to) in [(null_fd, 0), (out_fd, 1), (err_fd, 2)] {
                if libc::dup2(from, to) < 0 {
                    fail(io::Error::last_os_error());
                }
            }
        }
        for fd in keep {
            // SAFETY: the fd is open in the parent and so in this child.
            let fd = unsafe { BorrowedFd::borrow_raw(*fd) };
            if let Err(e) = rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty()) {
                fail(e.into());
            }
        }
        if let Err(e) = rustix::process::set_parent_process_death_signal(Some(Signal::KILL)) {
            fail(e.into());
        }
        fail(args.exec_fd(exe.as_raw_fd()));
    }
    drop(report_w);
    let mut errno = [0u8; 4];
    let got = loop {
        match rustix::io::read(&report_r, &mut errno) {
            Err(rustix::io::Errno::INTR) => continue,
            other => break other,
        }
    };
    let mut child = Pid1 {
        pid: pid as i32,
        status: None,
    };
    if let Ok(4) = got {
        // The exec failed: the child exits 127; reap it, report its errno.
        let _ = child.wait();
        return Err(io::Error::from_raw_os_error(i32::from_ne_bytes(errno)));
    }
    drop((null, stdout, stderr));
    Ok(child)
}

/// The process that received signals are forwarded to (0: none yet).
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int) {
    let pid = FORWARD_TO.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Forwards SIGTERM, SIGINT and SIGHUP received by rkt to `pid` from now on.
pub(crate) fn forward_signals(pid: i32) -> io::Result<()> {
    FORWARD_TO.store(pid, Ordering::Relaxed);
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction is valid; the handler only calls kill(2).
        let rc = unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = forward as extern "C" fn(libc::c_int) as usize;
            act.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
