//! Starting a pod's PID 1: a sealed in-memory copy of the program, new namespaces, and the
//! signals `rkt run` forwards to it.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicI32, Ordering};

use rustix::fs::{MemfdFlags, SealFlags};
use rustix::process::Signal;
use rustix::thread::UnshareFlags;

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
}

/// Runs the program in `exe` (a sealed memfd) as PID 1 of new PID, mount, UTS and IPC
/// (and network) namespaces, with `argv` (argv[0] included), exactly the environment `env`,
/// `/dev/null`, `stdout` and `stderr` as fds 0-2 and the fds in `keep` passed (CLOEXEC cleared in the child only), in the
/// cgroups whose `cgroup.procs` fds are `cgroup_procs`. The
/// child gets SIGKILL when this thread dies (the pod does not outlive `rkt run`, as when rkt
/// exec'd stage1 in rkt 1.30; DESIGN §3.3 point 5).
///
/// The PID namespace is unshared on the calling thread, so it is where every later child of
/// this thread would land: call this once, from the thread that will wait for the child
/// (PDEATHSIG follows the creating *thread*).
pub(crate) fn spawn_pid1(
    exe: BorrowedFd<'_>,
    argv: &[String],
    env: &[(String, String)],
    keep: &[RawFd],
    cgroup_procs: &[RawFd],
    (stdout, stderr): (OwnedFd, OwnedFd),
    ns: Namespaces,
) -> io::Result<Child> {
    // The PID namespace of this thread's later children and threads, restored after the spawn:
    // a thread cannot be created while it differs from the caller's own (clone(2), EINVAL).
    let own_pid_ns = std::fs::File::open("/proc/thread-self/ns/pid")?;
    // SAFETY: CLONE_NEWPID only changes the PID namespace of this thread's future children;
    // it does not touch file descriptor tables (the hazard unshare_unsafe warns about).
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWPID) }?;
    let mut cmd = Command::new(format!("/proc/self/fd/{}", exe.as_raw_fd()));
    cmd.arg0(argv.first().map_or("stage1-init", String::as_str));
    cmd.args(argv.iter().skip(1));
    cmd.env_clear();
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    // Never rkt's own fds (the user's terminal, perhaps): /dev/null, and pipes rkt relays.
    cmd.stdin(std::process::Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    let mut flags = UnshareFlags::NEWNS | UnshareFlags::NEWUTS | UnshareFlags::NEWIPC;
    if ns.net {
        flags |= UnshareFlags::NEWNET;
    }
    let keep = keep.to_vec();
    let cgroup_procs = cgroup_procs.to_vec();
    // Runs between fork and exec: only raw syscalls (write, unshare, fcntl, prctl) on fd
    // numbers and flags it owns; no allocation, no locks.
    let in_child = move || -> io::Result<()> {
        // Into the pod's cgroups before anything else, so nothing of the pod runs outside.
        super::cgroup::join_with(&cgroup_procs)?;
        // SAFETY: CLONE_FILES is not among the flags.
        unsafe { rustix::thread::unshare_unsafe(flags) }?;
        for fd in &keep {
            // SAFETY: the fd is open in the parent and so in this fork.
            let fd = unsafe { BorrowedFd::borrow_raw(*fd) };
            rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
        }
        rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
        Ok(())
    };
    // SAFETY: `in_child` is async-signal-safe (see above).
    unsafe { cmd.pre_exec(in_child) };
    // /proc/self/fd/N of a CLOEXEC memfd works for a static ELF: the kernel opens the file
    // before it closes CLOEXEC fds (a script would need the fd afterwards).
    let child = cmd.spawn();
    rustix::thread::move_into_link_name_space(
        own_pid_ns.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::ProcessID),
    )?;
    child
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
