//! The terminal of an interactive pod: a pty of the pod's own devpts instance.
//!
//! Why the pod's own and not the one rkt runs on: an app holding the user's terminal could
//! push input into it (TIOCSTI, CVE-2016-9016 class, security-checklist §5 case 42), change its
//! modes or read what the user types after rkt exits. With a pty of the pod's devpts
//! (`newinstance`), the app's terminal is a device no host process has open except through
//! the master, which rkt only copies bytes to and from.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{fchown, openat, Mode, OFlags, CWD};
use rustix::pty::{ioctl_tiocgptpeer, unlockpt, OpenptFlags};
use rustix::thread::Uid;

use crate::error::{Context, Error, Result};

/// A freshly opened pty.
pub struct Pty {
    /// For rkt, which relays it to its own stdin/stdout.
    pub master: OwnedFd,
    /// For the interactive app (fds 0-2 and controlling terminal); `None` once handed over.
    pub slave: Option<OwnedFd>,
    /// The slave's node in the pod's devpts (host view, before the pivot): `/dev/console`
    /// is bound to it.
    pub slave_path: PathBuf,
}

/// Opens a pty from the devpts mounted at `pts` (its `ptmx`), owned by the app's `uid` so that
/// the app can change its own terminal's modes as it would on a login terminal.
pub fn open(pts: &Path, uid: u32) -> Result<Pty> {
    let ptmx = pts.join("ptmx");
    // NOCTTY: PID 1 must never acquire the pty as its own controlling terminal.
    let how = OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC;
    let master = openat(CWD, &ptmx, how, Mode::empty()).ctx("open", &ptmx)?;
    unlockpt(&master).ctx("unlock pty", &ptmx)?;
    // TIOCGPTPEER opens the slave through the master (Linux 4.13): no path lookup, so it is
    // the master's own peer whatever the devpts directory holds.
    let slave = ioctl_tiocgptpeer(
        &master,
        OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC,
    )
    .ctx("open the slave of", &ptmx)?;
    let number = pty_number(&master).ctx("get the pty number of", &ptmx)?;
    let slave_path = pts.join(number.to_string());
    fchown(&slave, Some(Uid::from_raw(uid)), None).ctx("chown", &slave_path)?;
    Ok(Pty {
        master,
        slave: Some(slave),
        slave_path,
    })
}

/// `ioctl(master, TIOCGPTN)`: the slave's number in its devpts.
fn pty_number(master: &OwnedFd) -> std::result::Result<u32, rustix::io::Errno> {
    let name = rustix::pty::ptsname(master.as_fd(), Vec::new())?;
    // rustix builds "/dev/pts/N" from TIOCGPTN; only N is ours (the devpts is not at /dev/pts
    // before the pivot).
    let bytes = name.as_bytes();
    let digits = bytes.rsplit(|&b| b == b'/').next().unwrap_or_default();
    std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or(rustix::io::Errno::INVAL)
}

/// Output of the pty goes through as written (no `\n` to `\r\n`): rkt copies it to its own
/// terminal, which does that itself.
pub fn raw_output(slave: &OwnedFd) -> Result<()> {
    let mut t = rustix::termios::tcgetattr(slave).map_err(|e| Error::call("tcgetattr", e))?;
    t.output_modes.remove(rustix::termios::OutputModes::OPOST);
    rustix::termios::tcsetattr(slave, rustix::termios::OptionalActions::Now, &t)
        .map_err(|e| Error::call("tcsetattr", e))
}

/// Makes `fd` the calling process's fd `to` (1 or 2: an app's output terminal).
pub fn install_as(fd: &OwnedFd, to: i32) -> Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: `fd` is open; dup2 atomically replaces `to` in this single-threaded process.
    if unsafe { libc::dup2(fd.as_raw_fd(), to) } < 0 {
        return Err(Error::call(
            format!("dup2 the app's terminal onto fd {to}"),
            crate::error::last_errno(),
        ));
    }
    Ok(())
}

/// Makes `tty` the calling process's fds 0, 1 and 2. Called in the app's child, before
/// `setsid` + [`make_controlling`].
pub fn install(tty: &OwnedFd) -> Result<()> {
    use std::os::fd::AsRawFd;
    for fd in 0..3 {
        // SAFETY: `tty` is open; dup2 atomically replaces fd 0, 1 or 2 of this single-threaded
        // process, and the copy is not close-on-exec.
        if unsafe { libc::dup2(tty.as_raw_fd(), fd) } < 0 {
            return Err(Error::call(
                format!("dup2 the pod's terminal onto fd {fd}"),
                crate::error::last_errno(),
            ));
        }
    }
    Ok(())
}

/// `ioctl(0, TIOCSCTTY)`: the terminal on fd 0 becomes the controlling terminal of this
/// (new) session, so job control, ^C and `/dev/tty` work in the app.
pub fn make_controlling() -> Result<()> {
    // SAFETY: fd 0 stays open for the process's life.
    let stdin = unsafe { std::os::fd::BorrowedFd::borrow_raw(0) };
    rustix::process::ioctl_tiocsctty(stdin).map_err(|e| Error::call("ioctl(TIOCSCTTY)", e))
}
