//! What a long-running service needs from the kernel: its stop signals as a file descriptor
//! to poll, the uid of a unix-socket peer, and room for many connections.

use std::io;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

/// Blocks SIGINT and SIGTERM for this (single-threaded) process and returns a signalfd that
/// becomes readable when one arrives, so a poll loop sees its stop request among its sockets.
///
/// # References
///  - [signalfd(2)](https://man7.org/linux/man-pages/man2/signalfd.2.html)
pub(crate) fn stop_signals() -> io::Result<OwnedFd> {
    // SAFETY: sigset_t is plain data; sigemptyset/sigaddset initialise it before any use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t; the signal numbers are valid.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
    }
    // SAFETY: `set` is initialised; the old mask is not wanted (NULL).
    if unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: -1 asks for a new signalfd for the initialised `set`.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: signalfd returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The uid of the process at the other end of a connected unix socket (SO_PEERCRED).
pub(crate) fn peer_uid(socket: impl AsFd) -> io::Result<u32> {
    Ok(rustix::net::sockopt::socket_peercred(socket)?.uid.as_raw())
}

/// Raises the soft limit on open files to the hard one (a service holding hundreds of idle
/// connections must still accept one more).
pub(crate) fn raise_open_files() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}
