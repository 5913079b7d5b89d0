//! Signals of PID 1: the tini/catatonit pattern, single-threaded, no handlers.
//!
//! A namespace's init only receives signals it has a handler for, except SIGKILL/SIGSTOP from an
//! ancestor namespace (pid_namespaces(7)). Blocking a signal counts: a blocked signal is queued
//! and `sigwaitinfo` takes it, so SIGTERM from `rkt stop` (or from the host) reaches us and we
//! forward it to the apps. SIGCHLD is blocked too, so reaping happens in the same loop with no
//! async-signal-safety concerns at all.
//!
//! rustix has no sigprocmask/sigwaitinfo (deps-notes §2), hence libc, in this file only.

use std::mem::MaybeUninit;
use std::time::Duration;

use rustix::io::Errno;

use crate::error::{Error, Result};

/// Signals forwarded to the apps (security checklist §4.2).
pub const FORWARDED: [i32; 7] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

/// The blocked set that `wait` takes signals from.
pub struct Blocked(libc::sigset_t);

/// Restores the default disposition of SIGCHLD and the forwarded signals (an inherited SIG_IGN
/// on SIGCHLD would make the kernel reap children itself and lose their exit status), then
/// blocks them all.
pub fn block() -> Result<Blocked> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given; sigaddset/signal/sigprocmask take
    // valid signal numbers and pointers to that initialised set.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        for sig in FORWARDED.into_iter().chain([libc::SIGCHLD]) {
            libc::signal(sig, libc::SIG_DFL);
            libc::sigaddset(set.as_mut_ptr(), sig);
        }
        if libc::sigprocmask(libc::SIG_BLOCK, set.as_ptr(), std::ptr::null_mut()) != 0 {
            return Err(Error::call("sigprocmask", crate::error::last_errno()));
        }
        Ok(Blocked(set.assume_init()))
    }
}

impl Blocked {
    /// Waits for the next blocked signal, or until `timeout` passes (`None` then). EINTR (a
    /// stop/continue) just waits again.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<Option<i32>> {
        loop {
            let sig = match timeout {
                // SAFETY: the set is initialised; a null siginfo pointer is allowed.
                None => unsafe { libc::sigwaitinfo(&self.0, std::ptr::null_mut()) },
                Some(t) => {
                    let ts = libc::timespec {
                        tv_sec: t.as_secs() as _,
                        tv_nsec: t.subsec_nanos() as _,
                    };
                    // SAFETY: as above, plus a valid timespec.
                    unsafe { libc::sigtimedwait(&self.0, std::ptr::null_mut(), &ts) }
                }
            };
            if sig > 0 {
                return Ok(Some(sig));
            }
            match crate::error::last_errno() {
                Errno::INTR => {}
                Errno::AGAIN if timeout.is_some() => return Ok(None),
                errno => return Err(Error::call("sigwaitinfo", errno)),
            }
        }
    }
}

/// Sends `sig` to `pid` (an app's main process, not yet reaped, so the pid cannot have been
/// reused: ESRCH cannot happen and any other error leaves nothing to do).
pub fn send(pid: rustix::process::Pid, sig: i32) {
    // SAFETY: kill(2) with integer arguments touches no memory.
    unsafe { libc::kill(pid.as_raw_nonzero().get(), sig) };
}

/// SIGKILL to every process of the pod but PID 1: kill(-1) from a namespace's init reaches
/// every other process in the namespace (kill(2), pid_namespaces(7)). rustix has no kill(-1).
pub fn kill_all_others() {
    // SAFETY: as above.
    unsafe { libc::kill(-1, libc::SIGKILL) };
}

/// In an app's child before exec: an empty signal mask and default dispositions for every
/// signal. exec(2) keeps both the mask and SIG_IGN dispositions, and Rust's runtime set SIGPIPE
/// to SIG_IGN, which would otherwise leak into every app (a classic `yes | head` hang).
///
/// The raw `rt_sigaction` syscall is used because musl's `signal()` refuses the realtime
/// signals it reserves for itself (32-34), and an ignored one inherited from whoever started
/// rkt must not reach the app either.
pub fn reset_for_exec() {
    /// The kernel's `struct sigaction` on x86_64 (`arch/x86/include/uapi/asm/signal.h`).
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    let default = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: rt_sigaction reads one KernelSigaction (the layout above, with the 8-byte
    // sigset size the kernel expects) and writes nothing (null old action). Failures for
    // SIGKILL/SIGSTOP are expected and harmless.
    unsafe {
        for sig in 1..=64 {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &default as *const KernelSigaction,
                0usize,
                8usize,
            );
        }
        let mut empty = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(empty.as_mut_ptr());
        libc::sigprocmask(libc::SIG_SETMASK, empty.as_ptr(), std::ptr::null_mut());
    }
}
