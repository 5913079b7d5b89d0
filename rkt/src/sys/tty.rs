//! Terminal calls for `rkt run --interactive`: raw mode on rkt's own terminal (always
//! restored), window sizes, a SIGWINCH self-pipe, and `poll(2)`.
//!
//! Owns: every termios/ioctl/signal call the relay (`stage0::tty`) needs. Knows nothing of
//! pods; the relay's logic lives there.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

use rustix::termios::{self, OptionalActions, Termios};

/// The first of fds 0, 1, 2 that is a terminal: whose window size the pod's terminal copies.
pub(crate) fn controlling_std_fd() -> Option<BorrowedFd<'static>> {
    (0..3).find_map(|fd| {
        // SAFETY: fds 0-2 stay open for rkt's whole life (std guarantees them at startup).
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        termios::isatty(fd).then_some(fd)
    })
}

/// `TIOCGWINSZ` on `from`, `TIOCSWINSZ` on `to`. The kernel sends SIGWINCH to the foreground
/// process group of `to` when the size changes.
///
/// # References
///  - [ioctl_tty(2)](https://man7.org/linux/man-pages/man2/ioctl_tty.2.html)
pub(crate) fn copy_winsize(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    let size = termios::tcgetwinsize(from)?;
    termios::tcsetwinsize(to, size)?;
    Ok(())
}

/// A terminal in raw mode; dropping it puts the saved settings back.
#[derive(Debug)]
pub(crate) struct RawMode {
    fd: BorrowedFd<'static>,
    saved: Termios,
}

impl RawMode {
    /// `cfmakeraw` on fd 0 when it is a terminal (`None` otherwise): every byte the user types
    /// (^C, ^Z, ^D included) reaches the pod's terminal, whose own line discipline then does
    /// what a terminal does, for the app.
    pub(crate) fn stdin() -> io::Result<Option<RawMode>> {
        // SAFETY: fd 0 stays open for rkt's whole life.
        let fd = unsafe { BorrowedFd::borrow_raw(0) };
        if !termios::isatty(fd) {
            return Ok(None);
        }
        let saved = termios::tcgetattr(fd)?;
        let mut raw = saved.clone();
        raw.make_raw();
        termios::tcsetattr(fd, OptionalActions::Now, &raw)?;
        Ok(Some(RawMode { fd, saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // Drain: output rkt already wrote is shown with the modes it was written under.
        let _ = termios::tcsetattr(self.fd, OptionalActions::Drain, &self.saved);
    }
}

/// The write end of the SIGWINCH self-pipe (-1: none).
static WINCH_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_winch(_: libc::c_int) {
    let fd = WINCH_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the pipe is non-blocking, so a full pipe
        // (a resize already pending) just drops this byte.
        unsafe {
            libc::write(fd, b"w".as_ptr().cast(), 1);
        }
    }
}

/// Installs a SIGWINCH handler that makes the returned fd readable on each window change (the
/// classic self-pipe: the relay's `poll` wakes up whichever thread the signal hit).
///
/// # References
///  - [sigaction(2)](https://man7.org/linux/man-pages/man2/sigaction.2.html)
pub(crate) fn winch_pipe() -> io::Result<OwnedFd> {
    use rustix::pipe::{pipe_with, PipeFlags};
    let (read, write) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
    // The write end lives as long as the process: the handler may run at any time.
    WINCH_PIPE.store(write.as_raw_fd(), Ordering::Relaxed);
    std::mem::forget(write);
    // SAFETY: a zeroed sigaction is valid; the handler only calls write(2).
    let rc = unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = on_winch as extern "C" fn(libc::c_int) as usize;
        act.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut act.sa_mask);
        libc::sigaction(libc::SIGWINCH, &act, std::ptr::null_mut())
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(read)
}

/// Readiness asked of and reported by [`poll`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ready {
    pub(crate) read: bool,
    pub(crate) write: bool,
    /// POLLHUP or POLLERR: the other end is gone (a read then says how).
    pub(crate) hangup: bool,
}

/// `poll(2)` on `fds` with what each wants; blocks until one is ready, retrying EINTR.
/// Returns what each is ready for.
pub(crate) fn poll(fds: &[(RawFd, Ready)]) -> io::Result<Vec<Ready>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|(fd, want)| libc::pollfd {
            fd: *fd,
            events: if want.read { libc::POLLIN } else { 0 }
                | if want.write { libc::POLLOUT } else { 0 },
            revents: 0,
        })
        .collect();
    loop {
        // SAFETY: `pfds` is a valid array of `pfds.len()` pollfd structs for the call.
        let rc = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, -1) };
        if rc >= 0 {
            break;
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
    Ok(pfds
        .iter()
        .map(|p| Ready {
            read: p.revents & libc::POLLIN != 0,
            write: p.revents & libc::POLLOUT != 0,
            hangup: p.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0,
        })
        .collect())
}

/// Sets `O_NONBLOCK` on `fd` (rkt's own copy of the pty master: no other process shares its
/// open file description, unlike rkt's stdin, which is never made non-blocking).
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
    let flags = fcntl_getfl(fd)?;
    fcntl_setfl(fd, flags | OFlags::NONBLOCK)?;
    Ok(())
}

/// Whether fd 0 is a terminal.
pub(crate) fn stdin_is_tty() -> bool {
    // SAFETY: fd 0 stays open for rkt's whole life.
    termios::isatty(unsafe { BorrowedFd::borrow_raw(0) })
}

/// Turns ECHO (and the echo of erase/kill/newline) on or off. On a pty master, termios calls
/// act on the slave's settings (Linux `tty_mode_ioctl`), which are the ones the app sees.
pub(crate) fn set_echo(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    use termios::LocalModes;
    let mut t = termios::tcgetattr(fd)?;
    let echo = LocalModes::ECHO | LocalModes::ECHOE | LocalModes::ECHOK | LocalModes::ECHONL;
    if on {
        t.local_modes |= LocalModes::ECHO | LocalModes::ECHOE | LocalModes::ECHOK;
    } else {
        t.local_modes -= echo;
    }
    termios::tcsetattr(fd, OptionalActions::Now, &t)?;
    Ok(())
}

/// The VEOF character of the terminal `fd` (normally ^D; on a pty master, the slave's).
pub(crate) fn eof_char(fd: impl AsFd) -> io::Result<u8> {
    let t = termios::tcgetattr(fd.as_fd())?;
    Ok(t.special_codes[termios::SpecialCodeIndex::VEOF])
}
