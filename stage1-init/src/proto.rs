//! The sync protocol between `rkt` (stage0) and `stage1-init` (the pod's PID 1).
//!
//! This module owns the frames and the two typed endpoints; it does no other I/O and knows
//! nothing about mounts or apps. Transport: a `SOCK_SEQPACKET` unix socketpair, so every
//! `send` is one message (no framing, no partial reads) and the peer's death reads as EOF.
//!
//! ```text
//!   [ rkt: supervisor ]                                [ stage1-init: PID 1 of the pod ]
//!   pair() -> (ParentEnd, ChildEnd)  (both CLOEXEC)
//!   spawn in new PID/mount/UTS/IPC(/net) namespaces,
//!   child end passed as RKT_SYNC_FD (CLOEXEC cleared
//!   on exactly that fd); drop the ChildEnd  ──────▶     exec; ChildEnd::from_env_fd(RKT_SYNC_FD)
//!                                                       read plan; mounts; pivot_root; hostname
//!   ParentEnd::wait_ready()            ◀─── Ready       ChildEnd::ready()
//!                                      ◀─── Error       or ChildEnd::report(errno, msg); exit(254)
//!   write pid file; rename the pod dir to run/
//!   (state persisted BEFORE Go: runc process_linux.go)
//!   ParentEnd::go()                    ─── Go ───▶      ChildEnd::wait_go(); close the sync fd
//!   drop the ParentEnd; waitpid(PID 1)                  start apps; reap; exit(pod status)
//! ```
//!
//! Frames (first byte is the tag):
//!
//! | tag   | direction   | payload                                                     |
//! |-------|-------------|-------------------------------------------------------------|
//! | `R`   | init -> rkt | none; the pod's pty masters as SCM_RIGHTS (see below)       |
//! | `G`   | rkt -> init | none                                                        |
//! | `E`   | init -> rkt | `i32` errno (little endian) + UTF-8 message (<= 4 KiB)      |
//!
//! The pty masters ride on the `R` frame because they must exist before `Go` (rkt sets the
//! window size before the apps start) and after the pivot (they come from the pod's own
//! devpts), in the plan's order: the interactive app's terminal, then for each app in order
//! its stdout's and its stderr's terminal where the plan gives it one. At most [`MAX_FDS`].
//! rkt receives with `MSG_CMSG_CLOEXEC`, so no fd leaks into another child of rkt.
//!
//! The `E` message is the context ("mount `proc` on `/proc`"); the errno's text is *not* in it:
//! rkt rebuilds the error from both (crun `send_error_to_sync_socket_and_die`), so callers can
//! still match on the errno. An errno of 0 means "no syscall failed" (e.g. a malformed plan).

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use rustix::io::Errno;
use rustix::net::{
    recvmsg, sendmsg, socketpair, AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage,
    RecvFlags, ReturnFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketFlags,
    SocketType,
};

/// Name of the environment variable that carries the child end's fd number.
pub const ENV_SYNC_FD: &str = "RKT_SYNC_FD";
/// Name of the environment variable that carries the pod lock's fd number.
pub const ENV_LOCK_FD: &str = "RKT_LOCK_FD";

/// Most fds one `R` frame carries (the kernel's SCM_MAX_FD is 253).
pub const MAX_FDS: usize = 128;

/// Longest message an `E` frame carries; longer ones are cut at a char boundary (crun clamps
/// at 1024 for the same reason: a runaway message must not block the handshake).
pub const MAX_MSG: usize = 4096;
/// Receive buffer: one byte of tag, four of errno, the message, and room to detect oversize.
const BUF: usize = 1 + 4 + MAX_MSG + 1;

/// A frame tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// init -> rkt: setup done, waiting for `Go`.
    Ready,
    /// rkt -> init: state persisted, start the apps.
    Go,
    /// init -> rkt: setup failed; init exits 254 right after.
    Error,
}

impl Tag {
    fn byte(self) -> u8 {
        match self {
            Tag::Ready => b'R',
            Tag::Go => b'G',
            Tag::Error => b'E',
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tag::Ready => "ready",
            Tag::Go => "go",
            Tag::Error => "error",
        })
    }
}

/// What can go wrong on the sync socket.
#[derive(Debug)]
pub enum ProtoError {
    /// stage1-init reported a setup failure (`E` frame).
    Child {
        /// The errno of the failed call (0 when no syscall failed).
        errno: i32,
        /// What was being done, e.g. ``mount `proc` on `/proc` ``.
        msg: String,
    },
    /// A frame other than the one expected (runc `readSync`: "expected X, got Y").
    Unexpected {
        /// The frame this endpoint waited for.
        expected: Tag,
        /// The first byte of what arrived.
        got: u8,
    },
    /// A frame with the right tag but a wrong length.
    Malformed {
        /// The tag of the malformed frame.
        tag: Tag,
        /// Its length in bytes.
        len: usize,
    },
    /// EOF while rkt waited for `Ready`: stage1-init died (the caller waitpid()s for why).
    ChildDied,
    /// EOF while stage1-init waited for `Go`: rkt died or gave up.
    ParentDied,
    /// send/recv failed.
    Io {
        /// "send" or "recv".
        op: &'static str,
        /// The errno.
        source: Errno,
    },
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtoError::Child { errno: 0, msg } => f.write_str(msg),
            ProtoError::Child { errno, msg } => write!(f, "{msg}: {}", errno_text(*errno)),
            ProtoError::Unexpected { expected, got } => {
                write!(
                    f,
                    "sync socket: expected {expected}, got {:?}",
                    *got as char
                )
            }
            ProtoError::Malformed { tag, len } => {
                write!(f, "sync socket: malformed {tag} frame of {len} bytes")
            }
            ProtoError::ChildDied => f.write_str("stage1-init exited before signalling ready"),
            ProtoError::ParentDied => f.write_str("rkt closed the sync socket before go"),
            ProtoError::Io { op, source } => {
                write!(
                    f,
                    "sync socket: {op}: {}",
                    errno_text(source.raw_os_error())
                )
            }
        }
    }
}

impl std::error::Error for ProtoError {}

impl ProtoError {
    /// The errno behind this error, when there is one (`Child` and `Io`).
    pub fn errno(&self) -> Option<i32> {
        match self {
            ProtoError::Child { errno, .. } if *errno != 0 => Some(*errno),
            ProtoError::Io { source, .. } => Some(source.raw_os_error()),
            _ => None,
        }
    }
}

/// The text of an errno without std's " (os error N)" suffix: `No such file or directory`.
pub fn errno_text(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

/// Creates the socketpair: `SOCK_SEQPACKET`, both ends `CLOEXEC`. rkt clears CLOEXEC on the
/// child end only in the spawned child (`pre_exec`), so no other child of rkt inherits it.
pub fn pair() -> io::Result<(ParentEnd, ChildEnd)> {
    let (a, b) = socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )?;
    Ok((ParentEnd { fd: a }, ChildEnd { fd: b }))
}

/// rkt's end: may only wait for `Ready` and send `Go`.
#[derive(Debug)]
pub struct ParentEnd {
    fd: OwnedFd,
}

/// stage1-init's end: may only send `Ready`/`Error` and wait for `Go`.
#[derive(Debug)]
pub struct ChildEnd {
    fd: OwnedFd,
}

impl ParentEnd {
    /// Wraps an fd that is a SEQPACKET socket connected to a `ChildEnd`.
    pub fn from_fd(fd: OwnedFd) -> Self {
        ParentEnd { fd }
    }

    /// Blocks until stage1-init says `Ready`. An `E` frame becomes `ProtoError::Child`, EOF
    /// becomes `ProtoError::ChildDied`. Returns the fds that came with `Ready` (the pod's pty
    /// masters), in order.
    pub fn wait_ready(&self) -> Result<Vec<OwnedFd>, ProtoError> {
        let (frame, fd) = recv_frame(self.fd.as_fd(), ProtoError::ChildDied)?;
        match frame.first().copied() {
            Some(b'R') if frame.len() == 1 => Ok(fd),
            Some(b'R') => Err(ProtoError::Malformed {
                tag: Tag::Ready,
                len: frame.len(),
            }),
            Some(b'E') => Err(decode_error(&frame)),
            Some(got) => Err(ProtoError::Unexpected {
                expected: Tag::Ready,
                got,
            }),
            // A zero-length datagram is not EOF on SEQPACKET only when sent on purpose; we
            // never send one, so treat it like a malformed frame.
            None => Err(ProtoError::Malformed {
                tag: Tag::Ready,
                len: 0,
            }),
        }
    }

    /// Tells stage1-init to start the apps. Call only after the pod's state is persisted.
    pub fn go(&self) -> Result<(), ProtoError> {
        send_frame(self.fd.as_fd(), &[Tag::Go.byte()])
    }

    /// After `Go`, for `rkt enter`: blocks until stage1-init closes its end (the command has
    /// started) or reports that starting it failed (`E`, as [`ProtoError::Child`]).
    pub fn wait_closed(&self) -> Result<(), ProtoError> {
        match recv_frame(self.fd.as_fd(), ProtoError::ChildDied) {
            Err(ProtoError::ChildDied) => Ok(()),
            Err(e) => Err(e),
            Ok((frame, _)) => match frame.first().copied() {
                Some(b'E') => Err(decode_error(&frame)),
                Some(got) => Err(ProtoError::Unexpected {
                    expected: Tag::Error,
                    got,
                }),
                None => Err(ProtoError::Malformed {
                    tag: Tag::Error,
                    len: 0,
                }),
            },
        }
    }
}

impl AsFd for ParentEnd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl ChildEnd {
    /// Wraps an fd that is a SEQPACKET socket connected to a `ParentEnd`.
    pub fn from_fd(fd: OwnedFd) -> Self {
        ChildEnd { fd }
    }

    /// Takes ownership of the inherited fd named by `RKT_SYNC_FD`.
    ///
    /// # Safety
    ///
    /// `raw` must be an open fd that nothing else in this process owns or closes.
    pub unsafe fn from_raw_fd(raw: RawFd) -> Self {
        // SAFETY: the caller guarantees `raw` is open and owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        ChildEnd { fd }
    }

    /// Setup is done; stage1-init now waits for `Go`. `fds` (the pod's pty masters) travel
    /// with the frame; the caller may close its copies afterwards.
    pub fn ready(&self, fds: &[BorrowedFd<'_>]) -> Result<(), ProtoError> {
        send_frame_with(self.fd.as_fd(), &[Tag::Ready.byte()], fds)
    }

    /// Blocks until rkt says `Go`. EOF becomes `ProtoError::ParentDied`.
    pub fn wait_go(&self) -> Result<(), ProtoError> {
        // rkt never sends an fd; one that came anyway is closed right here.
        let (frame, _) = recv_frame(self.fd.as_fd(), ProtoError::ParentDied)?;
        match frame.first().copied() {
            Some(b'G') if frame.len() == 1 => Ok(()),
            Some(b'G') | None => Err(ProtoError::Malformed {
                tag: Tag::Go,
                len: frame.len(),
            }),
            Some(got) => Err(ProtoError::Unexpected {
                expected: Tag::Go,
                got,
            }),
        }
    }

    /// Sends the one `E` frame of this pod: the errno and what was being done. The caller
    /// exits 254 right after and prints nothing more (report an error once: runc init_linux.go).
    /// Only if this fails should the caller fall back to stderr.
    pub fn report(&self, errno: i32, msg: &str) -> Result<(), ProtoError> {
        send_frame(self.fd.as_fd(), &encode_error(errno, msg))
    }
}

impl AsFd for ChildEnd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Builds an `E` frame, cutting the message to `MAX_MSG` bytes at a char boundary.
fn encode_error(errno: i32, msg: &str) -> Vec<u8> {
    let mut cut = msg.len().min(MAX_MSG);
    while !msg.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut frame = Vec::with_capacity(5 + cut);
    frame.push(Tag::Error.byte());
    frame.extend_from_slice(&errno.to_le_bytes());
    frame.extend_from_slice(&msg.as_bytes()[..cut]);
    frame
}

fn decode_error(frame: &[u8]) -> ProtoError {
    let Some(errno) = frame.get(1..5) else {
        return ProtoError::Malformed {
            tag: Tag::Error,
            len: frame.len(),
        };
    };
    let errno = i32::from_le_bytes([errno[0], errno[1], errno[2], errno[3]]);
    let msg = String::from_utf8_lossy(&frame[5..]).into_owned();
    ProtoError::Child { errno, msg }
}

fn send_frame(fd: BorrowedFd<'_>, frame: &[u8]) -> Result<(), ProtoError> {
    send_frame_with(fd, frame, &[])
}

/// Sends one frame, with `pass` as SCM_RIGHTS.
fn send_frame_with(
    fd: BorrowedFd<'_>,
    frame: &[u8],
    pass: &[BorrowedFd<'_>],
) -> Result<(), ProtoError> {
    if pass.len() > MAX_FDS {
        return Err(ProtoError::Io {
            op: "send",
            source: Errno::TOOMANYREFS,
        });
    }
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    // NOSIGNAL: a peer that died must give EPIPE here, not kill PID 1 (or rkt) with SIGPIPE.
    loop {
        let mut control = SendAncillaryBuffer::new(&mut space);
        if !pass.is_empty() {
            // Cannot fail: the buffer is sized for MAX_FDS fds.
            control.push(SendAncillaryMessage::ScmRights(pass));
        }
        match sendmsg(
            fd,
            &[IoSlice::new(frame)],
            &mut control,
            SendFlags::NOSIGNAL,
        ) {
            Ok(_) => return Ok(()),
            Err(Errno::INTR) => continue,
            Err(source) => return Err(ProtoError::Io { op: "send", source }),
        }
    }
}

/// Receives one frame and the fds that came with it; `eof` is the error for a closed peer.
/// TRUNC makes recv return the real datagram length, so an oversized frame is caught instead
/// of silently cut. Received fds are CLOEXEC.
fn recv_frame(fd: BorrowedFd<'_>, eof: ProtoError) -> Result<(Vec<u8>, Vec<OwnedFd>), ProtoError> {
    let mut buf = vec![0u8; BUF];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    loop {
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let got = recvmsg(
            fd,
            &mut [IoSliceMut::new(&mut buf[..])],
            &mut control,
            RecvFlags::TRUNC | RecvFlags::CMSG_CLOEXEC,
        );
        let mut passed = Vec::new();
        for msg in control.drain() {
            if let RecvAncillaryMessage::ScmRights(fds) = msg {
                passed.extend(fds);
            }
        }
        match got {
            // SEQPACKET reports an orderly shutdown of the peer as a 0-byte read.
            Ok(m) if m.bytes == 0 => return Err(eof),
            Ok(m) if m.bytes > BUF - 1 || m.flags.contains(ReturnFlags::CTRUNC) => {
                let tag = match buf[0] {
                    b'R' => Tag::Ready,
                    b'G' => Tag::Go,
                    _ => Tag::Error,
                };
                return Err(ProtoError::Malformed { tag, len: m.bytes });
            }
            Ok(m) => {
                buf.truncate(m.bytes);
                return Ok((buf, passed));
            }
            Err(Errno::INTR) => continue,
            // ECONNRESET: the peer died with unread data queued; that is EOF too.
            Err(Errno::CONNRESET) => return Err(eof),
            Err(source) => return Err(ProtoError::Io { op: "recv", source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_then_go() {
        let (parent, child) = pair().unwrap();
        child.ready(&[]).unwrap();
        assert!(parent.wait_ready().unwrap().is_empty());
        parent.go().unwrap();
        child.wait_go().unwrap();
    }

    #[test]
    fn ready_carries_fds_in_order() {
        let (parent, child) = pair().unwrap();
        let pipes: Vec<(OwnedFd, OwnedFd)> =
            (0..3).map(|_| rustix::pipe::pipe().unwrap()).collect();
        let ends: Vec<BorrowedFd<'_>> = pipes.iter().map(|(_, w)| w.as_fd()).collect();
        child.ready(&ends).unwrap();
        let got = parent.wait_ready().unwrap();
        assert_eq!(got.len(), 3);
        for (i, fd) in got.iter().enumerate() {
            let flags = rustix::io::fcntl_getfd(fd).unwrap();
            assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
            rustix::io::write(fd, format!("fd {i}").as_bytes()).unwrap();
        }
        drop(got);
        for (i, (r, _)) in pipes.iter().enumerate() {
            let mut buf = [0u8; 32];
            let n = rustix::io::read(r, &mut buf).unwrap();
            assert_eq!(&buf[..n], format!("fd {i}").as_bytes());
        }
    }

    #[test]
    fn error_frame_carries_errno_and_message() {
        let (parent, child) = pair().unwrap();
        child.report(1, "mount `proc` on `/proc`").unwrap();
        let err = parent.wait_ready().unwrap_err();
        assert!(
            matches!(&err, ProtoError::Child { errno: 1, msg } if msg == "mount `proc` on `/proc`")
        );
        assert_eq!(err.errno(), Some(1));
        assert_eq!(
            err.to_string(),
            "mount `proc` on `/proc`: Operation not permitted"
        );
    }

    #[test]
    fn errno_zero_prints_message_only() {
        let (parent, child) = pair().unwrap();
        child.report(0, "decode plan: bad").unwrap();
        let err = parent.wait_ready().unwrap_err();
        assert_eq!(err.to_string(), "decode plan: bad");
        assert_eq!(err.errno(), None);
    }

    #[test]
    fn long_message_is_clamped_at_char_boundary() {
        let (parent, child) = pair().unwrap();
        let msg = "é".repeat(MAX_MSG); // 2 bytes each: the cut lands mid-char if naive
        child.report(2, &msg).unwrap();
        match parent.wait_ready().unwrap_err() {
            ProtoError::Child { errno: 2, msg } => {
                assert!(msg.len() <= MAX_MSG && msg.len() >= MAX_MSG - 1);
                assert!(msg.chars().all(|c| c == 'é'));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn eof_is_child_died_or_parent_died() {
        let (parent, child) = pair().unwrap();
        drop(child);
        assert!(matches!(parent.wait_ready(), Err(ProtoError::ChildDied)));
        let (parent, child) = pair().unwrap();
        drop(parent);
        assert!(matches!(child.wait_go(), Err(ProtoError::ParentDied)));
    }

    #[test]
    fn unexpected_and_malformed_frames_are_rejected() {
        let (parent, child) = pair().unwrap();
        // A child that (wrongly) sends Go.
        send_frame(child.fd.as_fd(), b"G").unwrap();
        let err = parent.wait_ready().unwrap_err();
        assert!(matches!(
            err,
            ProtoError::Unexpected {
                expected: Tag::Ready,
                got: b'G'
            }
        ));
        assert_eq!(err.to_string(), "sync socket: expected ready, got 'G'");
        send_frame(child.fd.as_fd(), b"Rx").unwrap();
        assert!(matches!(
            parent.wait_ready(),
            Err(ProtoError::Malformed {
                tag: Tag::Ready,
                len: 2
            })
        ));
        send_frame(child.fd.as_fd(), b"E\x01").unwrap();
        assert!(matches!(
            parent.wait_ready(),
            Err(ProtoError::Malformed {
                tag: Tag::Error,
                len: 2
            })
        ));
        let huge = vec![b'E'; BUF + 10];
        send_frame(child.fd.as_fd(), &huge).unwrap();
        assert!(matches!(
            parent.wait_ready(),
            Err(ProtoError::Malformed {
                tag: Tag::Error,
                ..
            })
        ));
        send_frame(parent.fd.as_fd(), b"R").unwrap();
        assert!(matches!(
            child.wait_go(),
            Err(ProtoError::Unexpected {
                expected: Tag::Go,
                got: b'R'
            })
        ));
    }

    #[test]
    fn send_to_dead_peer_is_an_error_not_sigpipe() {
        let (parent, child) = pair().unwrap();
        drop(parent);
        assert!(matches!(
            child.ready(&[]),
            Err(ProtoError::Io {
                op: "send",
                source: Errno::PIPE
            })
        ));
    }
}
