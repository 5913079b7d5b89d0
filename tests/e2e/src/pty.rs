//! A host terminal for `rkt run --interactive` tests (CI has none): a pty whose slave is the
//! stdin, stdout, stderr and controlling terminal of the command under test, as a shell's
//! job would have it; the test types into the master and reads what the command shows.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::pty::{ioctl_tiocgptpeer, openpt, unlockpt, OpenptFlags};
use rustix::termios::{self, Termios, Winsize};

/// Longest a step may take before the test fails instead of hanging (a guard, not a timing
/// assertion: a correct run takes a small fraction of it).
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// A host pty with a command running on it.
pub struct PtySession {
    master: OwnedFd,
    /// The test's own copy of the slave (`None` once dropped, so the reader sees EIO).
    slave: Option<OwnedFd>,
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    /// The terminal's modes and pending input when the command exited (the slave is closed
    /// then, so that the reader drains the output and sees EIO).
    at_exit: Option<(Termios, u64)>,
    host_dev: u64,
}

/// Opens a host pty pair (`/dev/ptmx`), the master for the test, the slave for the command.
pub fn open_pty(rows: u16, cols: u16) -> (OwnedFd, OwnedFd) {
    let master =
        openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
    unlockpt(&master).expect("unlockpt");
    let slave = ioctl_tiocgptpeer(
        &master,
        OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC,
    )
    .expect("open pty slave");
    set_size(&master, rows, cols);
    (master, slave)
}

/// TIOCSWINSZ on `fd` (the master: the kernel signals the slave's foreground job).
pub fn set_size(fd: impl AsFd, rows: u16, cols: u16) {
    termios::tcsetwinsize(
        fd,
        Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .expect("TIOCSWINSZ");
}

/// Runs `cmd` in a new session whose controlling terminal is `slave` (fds 0-2 too).
pub fn spawn_on(cmd: &mut Command, slave: &OwnedFd) -> Child {
    let fd = |f: &OwnedFd| Stdio::from(f.try_clone().expect("dup pty slave"));
    cmd.stdin(fd(slave)).stdout(fd(slave)).stderr(fd(slave));
    // SAFETY: setsid and ioctl(TIOCSCTTY) are async-signal-safe raw syscalls on fd 0, which
    // the Command has already set up as the slave.
    unsafe {
        cmd.pre_exec(|| {
            rustix::process::setsid()?;
            let stdin = std::os::fd::BorrowedFd::borrow_raw(0);
            rustix::process::ioctl_tiocsctty(stdin)?;
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    // The Command keeps its copies of the slave: drop them, or the master never reads EIO.
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    child
}

impl PtySession {
    /// Starts `cmd` on a fresh host pty of `rows`x`cols`.
    pub fn spawn(cmd: &mut Command, rows: u16, cols: u16) -> PtySession {
        let (master, slave) = open_pty(rows, cols);
        let host_dev = rustix::fs::fstat(&slave).expect("fstat pty slave").st_dev;
        let child = spawn_on(cmd, &slave);
        let output = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let master = master.try_clone().expect("dup pty master");
            let output = Arc::clone(&output);
            // Reads until EIO, which comes once the test drops its slave and the command's
            // processes are gone.
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = rustix::io::read(&master, &mut buf) {
                    output.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            })
        };
        PtySession {
            master,
            slave: Some(slave),
            child,
            output,
            reader: Some(reader),
            at_exit: None,
            host_dev,
        }
    }

    /// Everything shown on the terminal so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits until the terminal shows `needle` (panics after [`HANG_GUARD`] or if the command
    /// exits first).
    #[track_caller]
    pub fn wait_for(&mut self, needle: &str) {
        let start = Instant::now();
        while !self.output().contains(needle) {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "exited ({st}) before showing {needle:?}; terminal:\n{}",
                    self.output()
                );
            }
            assert!(
                start.elapsed() < HANG_GUARD,
                "no {needle:?} on the terminal; it shows:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `bytes` on the terminal.
    pub fn type_bytes(&self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = rustix::io::write(&self.master, rest).expect("write to the pty master");
            rest = &rest[n..];
        }
    }

    /// Resizes the terminal.
    pub fn resize(&self, rows: u16, cols: u16) {
        set_size(&self.master, rows, cols);
    }

    /// The terminal's current modes (as the command set them), or as it left them.
    pub fn modes(&self) -> Termios {
        match &self.at_exit {
            Some((t, _)) => t.clone(),
            None => termios::tcgetattr(self.slave()).expect("tcgetattr on the pty slave"),
        }
    }

    /// Complete lines waiting in the terminal's input queue (what a shell would read next),
    /// in bytes; after [`wait`](Self::wait), as the command left them.
    pub fn pending_input(&self) -> u64 {
        match &self.at_exit {
            Some((_, n)) => *n,
            None => rustix::io::ioctl_fionread(self.slave()).expect("FIONREAD on the pty slave"),
        }
    }

    /// The device number of the host's terminal (its devpts), to tell it from a pod's.
    pub fn host_dev(&self) -> u64 {
        self.host_dev
    }

    /// Waits for the command's exit (panics after [`HANG_GUARD`], killing it) and returns its
    /// code; the terminal's output is complete when this returns (the test's slave is closed,
    /// so the reader drains the master to EIO).
    pub fn wait(&mut self) -> i32 {
        let start = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                break st;
            }
            if start.elapsed() > HANG_GUARD {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the command hung; terminal:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.at_exit = Some((
            termios::tcgetattr(self.slave()).expect("tcgetattr on the pty slave"),
            rustix::io::ioctl_fionread(self.slave()).expect("FIONREAD on the pty slave"),
        ));
        self.slave = None;
        if let Some(r) = self.reader.take() {
            r.join().expect("pty reader");
        }
        status.code().unwrap_or(-1)
    }

    fn slave(&self) -> &OwnedFd {
        self.slave.as_ref().expect("the slave is open until wait")
    }
}

impl Drop for PtySession {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.slave = None;
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}
