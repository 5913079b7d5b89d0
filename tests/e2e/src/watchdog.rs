//! A per-test deadline for tests that start pods: a hung PID 1 (or a hung `rkt`) fails that
//! test, by name, in bounded time instead of stalling the whole run.
//!
//! A thread sleeps until the deadline. If the test is still running then, it kills every
//! process whose command line mentions the test's directory: the `rkt` commands (`--dir=...`)
//! and each pod's stage1-init (its plan path is under the pod dir), which takes the pod's
//! whole PID namespace with it. The test's waits then return, and dropping the watchdog fails
//! the test with the reason, even if its own assertions happened to pass.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

/// The default deadline; `RKT_TEST_TIMEOUT` (seconds) overrides it for every test.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

pub struct Watchdog {
    test: String,
    limit: Duration,
    stop: Option<Sender<()>>,
    fired: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The timeout in effect: `RKT_TEST_TIMEOUT` seconds, else `default`.
pub fn timeout(default: Duration) -> Duration {
    std::env::var("RKT_TEST_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(default)
}

impl Watchdog {
    /// Watches the current test; `marker` is a path that every process of the test names on
    /// its command line (the test's directory).
    pub fn new(marker: &Path, limit: Duration) -> Watchdog {
        // libtest names each test's thread after the test.
        let test = std::thread::current()
            .name()
            .unwrap_or("<unnamed test>")
            .to_string();
        let (tx, rx) = channel::<()>();
        let fired = Arc::new(AtomicBool::new(false));
        let marker = marker.as_os_str().as_encoded_bytes().to_vec();
        let thread = {
            let (fired, test) = (fired.clone(), test.clone());
            std::thread::Builder::new()
                .name(format!("watchdog {test}"))
                .spawn(move || {
                    if let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                        fired.store(true, Ordering::SeqCst);
                        eprintln!(
                            "e2e: test `{test}` still running after {} s: killing its rkt \
                             processes and pods",
                            limit.as_secs()
                        );
                        // Until the test ends: a script may go on to start the next command.
                        loop {
                            kill_mentioning(&marker);
                            match rx.recv_timeout(Duration::from_millis(500)) {
                                Err(RecvTimeoutError::Timeout) => {}
                                _ => break,
                            }
                        }
                    }
                })
                .expect("spawn watchdog thread")
        };
        Watchdog {
            test,
            limit,
            stop: Some(tx),
            fired,
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if self.fired.load(Ordering::SeqCst) && !std::thread::panicking() {
            panic!(
                "test `{}` timed out after {} s (RKT_TEST_TIMEOUT): its processes were killed",
                self.test,
                self.limit.as_secs()
            );
        }
    }
}

/// SIGKILLs every process (but this one) whose command line contains `marker`.
fn kill_mentioning(marker: &[u8]) {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if cmdline.windows(marker.len()).any(|w| w == marker) {
            // SAFETY: kill(2) with a pid read from /proc; at worst the process is gone (ESRCH).
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
    }
}
