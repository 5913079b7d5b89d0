//! `rkt run --interactive` and `rkt enter` on a terminal: relays bytes between rkt's
//! stdin/stdout and the master of a pty that stage1-init opened in the pod's own devpts (it
//! arrives with `Ready`).
//!
//! Bytes only: the app can set any mode on its terminal, and none of it reaches rkt's terminal,
//! which rkt puts in raw mode for the pod's life and always restores. The loop ends when the
//! master reads EIO, i.e. when the last process holding the slave is gone (everything the app
//! wrote has been read by then: the kernel flushes the pty's buffer before reporting EIO). EOF
//! on rkt's stdin does not end the pod: the app gets the terminal's EOF (VEOF) instead, as a
//! user typing ^D would give it, and rkt stops reading stdin.
//!
//! The decisions are pure ([`Relay`]) and unit-tested; [`run`] is the thin poll loop.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use crate::sys::tty::{self as systty, Ready};

/// Input rkt holds for the pod before it stops reading its stdin (backpressure: an app that
/// never reads its terminal must not make rkt buffer without bound).
const MAX_PENDING: usize = 64 * 1024;

/// What the relay knows between polls.
#[derive(Debug)]
struct Relay {
    /// Bytes read from stdin, not yet written to the master.
    pending: Vec<u8>,
    /// stdin is still read (no EOF or error yet).
    stdin_open: bool,
    /// The last byte that went towards the app, to decide how many VEOFs make an EOF.
    last_input: Option<u8>,
    /// The master has not reported EIO yet.
    running: bool,
}

impl Relay {
    fn new() -> Self {
        Relay {
            pending: Vec::new(),
            stdin_open: true,
            last_input: None,
            running: true,
        }
    }

    /// What to poll for: (stdin, master).
    fn interest(&self) -> (Ready, Ready) {
        let stdin = Ready {
            read: self.stdin_open && self.pending.len() < MAX_PENDING,
            ..Ready::default()
        };
        let master = Ready {
            read: true,
            write: !self.pending.is_empty(),
            hangup: false,
        };
        (stdin, master)
    }

    /// Input from stdin.
    fn input(&mut self, bytes: &[u8]) {
        if let Some(&b) = bytes.last() {
            self.last_input = Some(b);
        }
        self.pending.extend_from_slice(bytes);
    }

    /// stdin reached EOF (or failed): queue the terminal's EOF for the app. In canonical mode
    /// VEOF ends `read` with what the line holds, so a partial last line takes two: one to
    /// deliver it, one to read as EOF.
    fn stdin_closed(&mut self, veof: u8) {
        if !self.stdin_open {
            return;
        }
        self.stdin_open = false;
        let partial_line = self.last_input.is_some_and(|b| b != b'\n');
        self.pending.push(veof);
        if partial_line {
            self.pending.push(veof);
        }
    }

    /// `n` pending bytes were written to the master.
    fn wrote(&mut self, n: usize) {
        self.pending.drain(..n.min(self.pending.len()));
    }
}

/// The pod's terminal as rkt holds it between `Ready` and the pod's end.
#[derive(Debug)]
pub(crate) struct Terminal {
    master: OwnedFd,
}

impl Terminal {
    /// Takes the master and gives the pod's terminal rkt's window size (before `Go`, so the
    /// app starts with the right size).
    ///
    /// When rkt's stdin is not a terminal (input piped in), the pod's terminal does not echo:
    /// nobody is typing, and the output should be the app's, not the input twice. The app may
    /// turn echo on again, as on any terminal.
    pub(crate) fn attach(master: OwnedFd) -> io::Result<Terminal> {
        systty::set_nonblocking(master.as_fd())?;
        if let Some(tty) = systty::controlling_std_fd() {
            systty::copy_winsize(tty, master.as_fd())?;
        }
        if !systty::stdin_is_tty() {
            systty::set_echo(master.as_fd(), false)?;
        }
        Ok(Terminal { master })
    }

    /// Relays until the pod's terminal is gone, with rkt's terminal (if any) in raw mode for
    /// exactly that long.
    pub(crate) fn relay(self) -> io::Result<()> {
        self.relay_until(None)
    }

    /// As [`Terminal::relay`], and also ends once `done` (a pidfd) reads as exited: what the
    /// terminal holds then is copied out, and a process of the pod still holding the slave
    /// (a background job of an entered shell) no longer keeps rkt attached.
    pub(crate) fn relay_until(self, done: Option<BorrowedFd<'_>>) -> io::Result<()> {
        let winch = match systty::controlling_std_fd() {
            Some(_) => Some(systty::winch_pipe()?),
            None => None,
        };
        let raw = systty::RawMode::stdin()?;
        // SAFETY: fd 0 stays open for rkt's whole life.
        let stdin = unsafe { BorrowedFd::borrow_raw(0) };
        let result = run(
            self.master.as_fd(),
            stdin,
            &mut io::stdout().lock(),
            winch.as_ref().map(AsFd::as_fd),
            done,
        );
        drop(raw);
        result
    }
}

/// The poll loop: `input` to `master`, `master` to `output`, and window changes signalled on
/// `winch` copied from rkt's terminal, until the master hangs up or `done` is readable.
fn run(
    master: BorrowedFd<'_>,
    input: BorrowedFd<'_>,
    output: &mut dyn Write,
    winch: Option<BorrowedFd<'_>>,
    done: Option<BorrowedFd<'_>>,
) -> io::Result<()> {
    let veof = systty::eof_char(master).unwrap_or(0x04);
    let mut relay = Relay::new();
    let mut buf = vec![0u8; 16 * 1024];
    // Once rkt's stdout is gone (EPIPE), output is read and dropped so the app never blocks.
    let mut output_ok = true;
    while relay.running {
        let (want_in, want_master) = relay.interest();
        let mut fds = vec![(master.as_raw_fd(), want_master)];
        if want_in.read {
            fds.push((input.as_raw_fd(), want_in));
        }
        if let Some(w) = winch {
            fds.push((
                w.as_raw_fd(),
                Ready {
                    read: true,
                    ..Ready::default()
                },
            ));
        }
        if let Some(d) = done {
            fds.push((
                d.as_raw_fd(),
                Ready {
                    read: true,
                    ..Ready::default()
                },
            ));
        }
        let ready = systty::poll(&fds)?;
        // The last entry: done. Its output is drained below, then the loop ends.
        if done.is_some() && ready.last().is_some_and(|r| r.read || r.hangup) {
            relay.running = false;
        }
        let mut next = 1;
        if want_in.read {
            let r = ready[next];
            next += 1;
            if r.read || r.hangup {
                match rustix::io::read(input, &mut buf) {
                    Ok(0) | Err(_) => relay.stdin_closed(veof),
                    Ok(n) => relay.input(&buf[..n]),
                }
            }
        }
        if let Some(w) = winch {
            if ready[next].read {
                let _ = rustix::io::read(w, &mut [0u8; 64]);
                if let Some(tty) = systty::controlling_std_fd() {
                    let _ = systty::copy_winsize(tty, master);
                }
            }
        }
        let m = ready[0];
        if m.write || (m.hangup && !relay.pending.is_empty()) {
            match rustix::io::write(master, &relay.pending) {
                Ok(n) => relay.wrote(n),
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
                // EIO: the slave is gone; the read below ends the loop.
                Err(_) => relay.pending.clear(),
            }
        }
        if m.read || m.hangup || !relay.running {
            // Drain what is there; EIO (or EOF) means no process holds the slave any more.
            loop {
                match rustix::io::read(master, &mut buf) {
                    Ok(0) => {
                        relay.running = false;
                        break;
                    }
                    Ok(n) => {
                        if output_ok {
                            output_ok = output
                                .write_all(&buf[..n])
                                .and_then(|()| output.flush())
                                .is_ok();
                        }
                    }
                    Err(rustix::io::Errno::AGAIN) => break,
                    Err(rustix::io::Errno::INTR) => {}
                    Err(rustix::io::Errno::IO) => {
                        relay.running = false;
                        break;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pty master (non-blocking later, as `attach` makes it) and its slave.
    fn pty_pair() -> (OwnedFd, OwnedFd) {
        use rustix::pty::{openpt, unlockpt, OpenptFlags};
        let master =
            openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
        unlockpt(&master).unwrap();
        let slave = rustix::pty::ioctl_tiocgptpeer(
            &master,
            OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC,
        )
        .unwrap();
        (master, slave)
    }

    #[test]
    fn eof_after_a_full_line_is_one_veof() {
        let mut r = Relay::new();
        r.input(b"hello\n");
        r.stdin_closed(4);
        assert_eq!(r.pending, b"hello\n\x04");
        assert!(!r.stdin_open);
        assert!(!r.interest().0.read, "stdin is not read after EOF");
        // A second EOF report changes nothing.
        r.stdin_closed(4);
        assert_eq!(r.pending, b"hello\n\x04");
    }

    #[test]
    fn eof_after_a_partial_line_is_two_veofs() {
        let mut r = Relay::new();
        r.input(b"no newline");
        r.stdin_closed(4);
        assert_eq!(r.pending, b"no newline\x04\x04");
    }

    #[test]
    fn eof_with_no_input_is_one_veof() {
        let mut r = Relay::new();
        r.stdin_closed(0x1a);
        assert_eq!(r.pending, b"\x1a");
    }

    #[test]
    fn backpressure_stops_reading_stdin_and_writes_resume_it() {
        let mut r = Relay::new();
        let (i, m) = r.interest();
        assert!(i.read && m.read && !m.write);
        r.input(&vec![b'x'; MAX_PENDING]);
        let (i, m) = r.interest();
        assert!(!i.read, "a full buffer stops stdin");
        assert!(m.write);
        r.wrote(10);
        assert_eq!(r.pending.len(), MAX_PENDING - 10);
        assert!(r.interest().0.read);
        r.wrote(usize::MAX);
        assert!(r.pending.is_empty() && !r.interest().1.write);
    }

    #[test]
    fn echo_set_through_the_master_is_the_slaves() {
        use rustix::termios::LocalModes;
        let (master, slave) = pty_pair();
        let echo = |fd: &OwnedFd| {
            rustix::termios::tcgetattr(fd)
                .unwrap()
                .local_modes
                .contains(LocalModes::ECHO)
        };
        assert!(echo(&slave));
        systty::set_echo(master.as_fd(), false).unwrap();
        assert!(!echo(&slave));
        systty::set_echo(master.as_fd(), true).unwrap();
        assert!(echo(&slave));
    }

    /// The real loop on a host pty: piped input reaches the slave, the slave's output reaches
    /// the output, stdin EOF arrives as the terminal's EOF, and closing the slave ends it.
    #[test]
    fn relays_both_ways_until_the_slave_is_gone() {
        let (master, slave) = pty_pair();
        // No echo, so the output is only what the "app" writes.
        let mut t = rustix::termios::tcgetattr(&slave).unwrap();
        t.local_modes -= rustix::termios::LocalModes::ECHO;
        rustix::termios::tcsetattr(&slave, rustix::termios::OptionalActions::Now, &t).unwrap();
        systty::set_nonblocking(master.as_fd()).unwrap();
        let (in_r, in_w) = rustix::pipe::pipe().unwrap();
        rustix::io::write(&in_w, b"ping\n").unwrap();
        drop(in_w);
        let app = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            // Canonical mode: "ping\n", then VEOF reads as 0 bytes.
            loop {
                let n = rustix::io::read(&slave, &mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            rustix::io::write(&slave, b"pong:").unwrap();
            rustix::io::write(&slave, &got).unwrap();
            drop(slave);
        });
        let mut out = Vec::new();
        run(master.as_fd(), in_r.as_fd(), &mut out, None, None).unwrap();
        app.join().unwrap();
        // ONLCR: the terminal turns the app's "\n" into "\r\n", as on any terminal.
        assert_eq!(String::from_utf8_lossy(&out), "pong:ping\r\n");
    }

    /// `rkt enter` stops when its command exits even if something it started still holds the
    /// slave open (a daemon the command left behind): what the command wrote is not lost.
    #[test]
    fn relay_stops_when_done_fires_and_keeps_what_was_written() {
        let (master, slave) = pty_pair();
        systty::set_nonblocking(master.as_fd()).unwrap();
        rustix::io::write(&slave, b"bye\n").unwrap();
        let (in_r, _in_w) = rustix::pipe::pipe().unwrap();
        let (done_r, done_w) = rustix::pipe::pipe().unwrap();
        rustix::io::write(&done_w, b"x").unwrap();
        let mut out = Vec::new();
        run(
            master.as_fd(),
            in_r.as_fd(),
            &mut out,
            None,
            Some(done_r.as_fd()),
        )
        .unwrap();
        assert_eq!(String::from_utf8_lossy(&out), "bye\r\n");
        drop(slave);
    }
}
