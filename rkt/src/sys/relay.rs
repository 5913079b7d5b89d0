//! Copying a pod's output to rkt's own stdout and stderr: each stream on a thread of its own,
//! so that its order is kept and a slow or closed sink only stops that stream.
//!
//! A stream ends at EOF (every writer of a pipe gone) or EIO (the last slave fd of a pty
//! closed), and when its sink refuses more (EPIPE: `rkt run ... | head -1`): the source is
//! then closed, so the app writing to it gets EPIPE (or SIGPIPE) on a pipe, EIO on a pty,
//! and the pod goes on, or ends, by its own exit policy.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::thread::JoinHandle;

use rustix::io::Errno;

/// Starts copying `from` to the fd `to` (1 or 2, or any fd that outlives the copy).
pub(crate) fn forward(from: OwnedFd, to: RawFd) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("rkt-relay".into())
        .spawn(move || {
            // SAFETY: `to` is rkt's stdout or stderr (or another fd the caller keeps open for
            // the whole copy); it is only written to.
            let sink = unsafe { BorrowedFd::borrow_raw(to) };
            copy(from.as_fd(), sink);
        })
}

/// A pipe whose read end is relayed to `to` from now on: returns the relay and the write end
/// (close-on-exec), for a process of the pod.
pub(crate) fn pipe_to(to: RawFd) -> std::io::Result<(JoinHandle<()>, OwnedFd)> {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    Ok((forward(r, to)?, w))
}

/// Starts copying rkt's stdin to `to` (the write end of a pipe); `to` is closed at stdin's
/// EOF, so the reader gets EOF too. Nobody waits for this copy: it may block on stdin for as
/// long as rkt lives.
pub(crate) fn feed_stdin(to: OwnedFd) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("rkt-stdin".into())
        .spawn(move || {
            // SAFETY: fd 0 stays open for rkt's whole life; it is only read.
            let stdin = unsafe { BorrowedFd::borrow_raw(0) };
            copy(stdin, to.as_fd());
        })
}

/// The copy itself: `splice(2)` into a pipe or socket (pages move, no copy through
/// userspace), else read and write. Never splice into a file: splice(2) reads the shared
/// file offset when it starts waiting for the pipe and writes it back when it returns, even
/// with nothing spliced, so with `> log 2>&1` the other stream's relay (or the shell after
/// rkt) would write over what this one wrote.
fn copy(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    const CHUNK: usize = 1 << 16;
    let mut spliced = rustix::fs::fstat(to).is_ok_and(|st| {
        matches!(
            rustix::fs::FileType::from_raw_mode(st.st_mode),
            rustix::fs::FileType::Fifo | rustix::fs::FileType::Socket
        )
    });
    let mut buf = vec![0u8; CHUNK];
    loop {
        if spliced {
            match rustix::pipe::splice(from, None, to, None, CHUNK, rustix::pipe::SpliceFlags::MORE)
            {
                Ok(0) => return,
                Ok(_) => continue,
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => {
                    wait_writable(to);
                    continue;
                }
                // Not a pipe (a pty master), or a sink splice cannot write to (a terminal).
                Err(Errno::INVAL | Errno::BADF | Errno::NOSYS | Errno::OPNOTSUPP) => {
                    spliced = false;
                }
                Err(_) => return,
            }
        }
        let n = match rustix::io::read(from, &mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            // EIO: a pty whose last slave fd closed.
            Err(_) => return,
        };
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            match rustix::io::write(to, rest) {
                Ok(w) => rest = &rest[w..],
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => wait_writable(to),
                Err(_) => return,
            }
        }
    }
}

/// A sink someone else made non-blocking (the open file description of a terminal is shared):
/// wait until it takes more.
fn wait_writable(fd: BorrowedFd<'_>) {
    use std::os::fd::AsRawFd;
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: poll(2) on one pollfd that lives across the call.
    unsafe { libc::poll(&mut p, 1, -1) };
}
