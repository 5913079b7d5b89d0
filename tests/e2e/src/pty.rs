//! A host terminal for `rkt run --interactive` tests (CI has none): a pty whose slave is the
//! stdin, stdout, stderr and controlling terminal of the command under test, as a shell's
//! job would have it; the test types into the master and reads what the command shows.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::pty::{ioctl_tiocgptpeer, openpt, unlockpt, OpenptFlags};
use rustix::termios::{self, Termios, Winsize};

/// Longest a step may take before the test fails instead of hanging (a guard, not a timing
/// assertion: a correct run takes a small fraction of it, even on a loaded machine).
pub const HANG_GUARD: Duration = crate::WAIT;

/// A host pty with a command running on it.
pub struct PtySession {
    master: OwnedFd,
    /// The test's own copy of the slave (`None` once dropped, so the reader sees EIO).
    slave: Option<OwnedFd>,
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    /// The command's exit status, the terminal's modes and pending input when it exited (the
    /// slave is closed then, so that the reader drains the output and sees EIO).
    at_exit: Option<(ExitStatus, Termios, u64)>,
    /// The terminal's modes before the command started.
    initial: Termios,
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
        Self::spawn_typed(cmd, rows, cols, b"")
    }

    /// As [`spawn`](Self::spawn), with `typed` waiting in the terminal's input before the
    /// command starts (what the user typed ahead: a hostile app must not get it).
    pub fn spawn_typed(cmd: &mut Command, rows: u16, cols: u16, typed: &[u8]) -> PtySession {
        let (master, slave) = open_pty(rows, cols);
        let mut rest = typed;
        while !rest.is_empty() {
            let n = rustix::io::write(&master, rest).expect("type ahead on the pty master");
            rest = &rest[n..];
        }
        let host_dev = rustix::fs::fstat(&slave).expect("fstat pty slave").st_dev;
        // Read before the command runs: once it does, it may change them at any moment.
        let initial = termios::tcgetattr(&slave).expect("tcgetattr on the pty slave");
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
            initial,
            host_dev,
        }
    }

    /// The command's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The terminal's modes as they were before the command started.
    pub fn initial_modes(&self) -> Termios {
        self.initial.clone()
    }

    /// Everything shown on the terminal so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits until the terminal shows `needle` (panics after [`HANG_GUARD`] or if the command
    /// exits without showing it).
    #[track_caller]
    pub fn wait_for(&mut self, needle: &str) {
        self.wait_for_from(0, needle);
    }

    /// Waits until the terminal shows `needle` at or after byte `from` of its output (what
    /// came after an earlier step); returns the byte offset just past it.
    #[track_caller]
    pub fn wait_for_from(&mut self, from: usize, needle: &str) -> usize {
        assert!(!needle.is_empty(), "wait_for an empty needle");
        let find = |out: &[u8]| {
            out.get(from..)?
                .windows(needle.len())
                .position(|w| w == needle.as_bytes())
                .map(|at| from + at + needle.len())
        };
        let start = Instant::now();
        loop {
            let found = find(&self.output.lock().unwrap()[..]);
            if let Some(end) = found {
                return end;
            }
            if self.exit_status().is_some() {
                // The command may have shown it just before exiting, and the reader not have
                // copied it yet: look once more at the complete output.
                let status = self.finish();
                let found = find(&self.output.lock().unwrap()[..]);
                match found {
                    Some(end) => return end,
                    None => panic!(
                        "exited ({status}) before showing {needle:?}; terminal:\n{}",
                        self.output()
                    ),
                }
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

    /// Resizes the terminal, and waits until the command has taken the SIGWINCH the kernel
    /// sent it (no longer pending): its handler runs then, before the thread that took it does
    /// anything else (rkt relays on one thread, with a handler), so whatever the test types
    /// next reaches the command after it saw the change. Without this wait, the order in which
    /// the command notices the signal and the typed bytes is the scheduler's.
    pub fn resize(&self, rows: u16, cols: u16) {
        set_size(&self.master, rows, cols);
        let status = format!("/proc/{}/status", self.child.id());
        let winch_pending = || {
            let Ok(text) = std::fs::read_to_string(&status) else {
                return false; // gone: nothing pending any more
            };
            text.lines()
                .filter_map(|l| {
                    l.strip_prefix("SigPnd:")
                        .or_else(|| l.strip_prefix("ShdPnd:"))
                })
                .filter_map(|v| u64::from_str_radix(v.trim(), 16).ok())
                .any(|mask| mask & (1 << (libc::SIGWINCH - 1)) != 0)
        };
        let start = Instant::now();
        while winch_pending() {
            assert!(
                start.elapsed() < HANG_GUARD,
                "the command never took its SIGWINCH"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The terminal's current modes (as the command set them), or as it left them.
    pub fn modes(&self) -> Termios {
        match &self.at_exit {
            Some((_, t, _)) => t.clone(),
            None => termios::tcgetattr(self.slave()).expect("tcgetattr on the pty slave"),
        }
    }

    /// Complete lines waiting in the terminal's input queue (what a shell would read next),
    /// in bytes; after [`wait`](Self::wait), as the command left them.
    pub fn pending_input(&self) -> u64 {
        match &self.at_exit {
            Some((_, _, n)) => *n,
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
        while self.exit_status().is_none() {
            if start.elapsed() > HANG_GUARD {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the command hung; terminal:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.finish().code().unwrap_or(-1)
    }

    /// The command's exit status, once it has exited.
    fn exit_status(&mut self) -> Option<ExitStatus> {
        match &self.at_exit {
            Some((st, _, _)) => Some(*st),
            None => self.child.try_wait().expect("try_wait"),
        }
    }

    /// After the command exited: records the terminal's state, closes the test's slave and
    /// lets the reader drain the output to EIO (once; later calls return the same status).
    fn finish(&mut self) -> ExitStatus {
        if let Some((st, _, _)) = &self.at_exit {
            return *st;
        }
        let status = self.child.wait().expect("wait");
        self.at_exit = Some((
            status,
            termios::tcgetattr(self.slave()).expect("tcgetattr on the pty slave"),
            rustix::io::ioctl_fionread(self.slave()).expect("FIONREAD on the pty slave"),
        ));
        self.slave = None;
        if let Some(r) = self.reader.take() {
            r.join().expect("pty reader");
        }
        status
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

/// Runs `cmd` on a fresh 24x80 terminal and answers its questions as a user would: for each
/// `(prompt, answer)` in turn, waits until the terminal shows `prompt` (after the previous
/// one) and only then types `answer`. Typing before the question is asked would make the
/// terminal's echo of the answer race with the command's own output. Returns the transcript
/// (CRLF read as LF) and the exit code.
#[track_caller]
pub fn answer_prompts(cmd: &mut Command, dialogue: &[(&str, &str)]) -> (String, i32) {
    let mut s = PtySession::spawn(cmd, 24, 80);
    let mut at = 0;
    for (prompt, answer) in dialogue {
        at = s.wait_for_from(at, prompt);
        s.type_bytes(answer.as_bytes());
    }
    let code = s.wait();
    (s.output().replace("\r\n", "\n"), code)
}

/// Sets `dev.tty.legacy_tiocsti` (Linux >= 6.2) to 1 while alive, and back on drop: with it at
/// 0, TIOCSTI fails for everyone and case 42 could not fail.
pub struct LegacyTiocsti(Option<String>);

const LEGACY_TIOCSTI: &str = "/proc/sys/dev/tty/legacy_tiocsti";

impl LegacyTiocsti {
    /// Enables it, remembering the value to restore.
    pub fn enable() -> Self {
        let saved = std::fs::read_to_string(LEGACY_TIOCSTI).ok();
        if saved.is_some() {
            std::fs::write(LEGACY_TIOCSTI, "1").expect("enable dev.tty.legacy_tiocsti");
        }
        LegacyTiocsti(saved)
    }
}

impl Drop for LegacyTiocsti {
    fn drop(&mut self) {
        if let Some(v) = &self.0 {
            let _ = std::fs::write(LEGACY_TIOCSTI, v.trim());
        }
    }
}
