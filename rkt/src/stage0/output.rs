//! The pod's output, relayed by rkt: stage1-init gets a pipe as stdout and one as stderr (not
//! rkt's own fds, which may be the user's terminal), and each app's stdout and stderr is that
//! pipe, or a pty of the pod's own devpts when rkt's own stream is a terminal (so `isatty()`
//! stays true and libc keeps line buffering). No process of the pod ever holds a host
//! terminal: it could read what the user types, change the terminal's modes or push input into
//! it (security-checklist §5 case 42).

use std::os::fd::{AsFd, OwnedFd};
use std::thread::JoinHandle;

use stage1_init::plan;

use super::Error;
use crate::sys::relay;

/// Which of rkt's stdout and stderr are terminals.
pub(super) fn mode() -> plan::Output {
    let tty = |fd: i32| {
        // SAFETY: fds 1 and 2 are only queried.
        rustix::termios::isatty(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
    };
    plan::Output {
        stdout_tty: tty(1),
        stderr_tty: tty(2),
    }
}

/// The relays of one pod.
pub(super) struct Relays(Vec<JoinHandle<()>>);

/// stage1-init's stdout and stderr: the write ends go to it, the read ends are relayed now
/// (before `Ready`, so that nothing it writes can fill a pipe and stall it).
pub(super) fn pipes() -> Result<(Relays, OwnedFd, OwnedFd), Error> {
    let mut relays = Relays(Vec::new());
    let mut ends = Vec::new();
    for to in [1, 2] {
        let (relay, w) = relay::pipe_to(to).map_err(Error::Spawn)?;
        relays.0.push(relay);
        ends.push(w);
    }
    let err = ends.pop().expect("two pipes");
    let out = ends.pop().expect("two pipes");
    Ok((relays, out, err))
}

impl Relays {
    /// Relays the apps' output terminals, which came with `Ready` in the plan's order: for
    /// each app that is not interactive, its stdout's then its stderr's where `mode` made them
    /// terminals. Each gets rkt's window size.
    pub(super) fn add_terminals(
        &mut self,
        masters: Vec<OwnedFd>,
        apps: &[plan::App],
        mode: plan::Output,
    ) -> Result<(), Error> {
        let mut masters = masters.into_iter();
        for app in apps.iter().filter(|a| !a.interactive) {
            for (on, to) in [(mode.stdout_tty, 1), (mode.stderr_tty, 2)] {
                if !on {
                    continue;
                }
                let Some(m) = masters.next() else {
                    return Err(Error::Apps(format!(
                        "stage1-init sent too few terminals (app {:?})",
                        app.name
                    )));
                };
                // SAFETY: fd `to` (rkt's stdout or stderr) is only queried.
                let own = unsafe { std::os::fd::BorrowedFd::borrow_raw(to) };
                if let Ok(ws) = rustix::termios::tcgetwinsize(own) {
                    let _ = rustix::termios::tcsetwinsize(m.as_fd(), ws);
                }
                self.0.push(relay::forward(m, to).map_err(Error::Spawn)?);
            }
        }
        Ok(())
    }

    /// Waits until every stream has ended: the pod's processes are gone (PID 1 has exited,
    /// and the kernel killed the rest of its PID namespace), so all its write ends are closed.
    pub(super) fn finish(self) {
        for r in self.0 {
            let _ = r.join();
        }
    }
}
