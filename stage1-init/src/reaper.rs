//! PID 1's main loop: reap every child, forward signals to the apps, record each app's exit
//! status, and decide the pod's (bubblewrap `do_init` / `propagate_exit_status`).
//!
//! Policy (rkt 1.30, `tests/rkt_exit_test.go`): the pod's status is the first non-zero app
//! status; once an app fails the others get SIGTERM (and SIGKILL after a grace period), and
//! an app that dies of that stop reports 0, as rkt's stopped units did (`app-hello2=0`); when
//! every app has exited, whatever is left in the pod is killed and reaped, and PID 1 exits.
//! An app killed by signal N counts as 128+N, as in a shell.

use std::path::Path;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::{wait, Pid, WaitOptions, WaitStatus};

use crate::error::{Error, Result};
use crate::signals::{self, Blocked};

/// How long apps get between SIGTERM and SIGKILL once another app has failed.
const GRACE: Duration = Duration::from_secs(10);

/// An app's main process, as the reaper tracks it.
pub struct Tracked {
    /// Position of the app in the plan.
    pub index: usize,
    /// App name (names the status file).
    pub name: String,
    /// Its pid in the pod's namespace.
    pub pid: Pid,
    /// Its status once it has exited.
    pub status: Option<i32>,
}

/// How one reaped process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ended {
    code: i32,
    /// The signal that killed it (the code is then 128+N).
    signal: Option<i32>,
}

/// The status an app reports: its own, except that one killed by the stop the pod sent it
/// after another app failed reports 0.
fn reported(ended: Ended, stopped_by_pod: bool) -> i32 {
    let by_the_stop = matches!(ended.signal, Some(libc::SIGTERM | libc::SIGKILL));
    if stopped_by_pod && by_the_stop {
        0
    } else {
        ended.code
    }
}

/// The exit status of a process as a shell would show it.
pub fn status_code(st: WaitStatus) -> i32 {
    code_of(st.exit_status(), st.terminating_signal())
}

fn code_of(exit: Option<i32>, signal: Option<i32>) -> i32 {
    match (exit, signal) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 255,
    }
}

/// Runs until every app has exited; returns the pod's exit status. `post_stop` runs for each
/// app right after its status is recorded (its handler, synchronously: signals wait meanwhile).
pub fn supervise(
    apps: &mut [Tracked],
    signals: &Blocked,
    status_dir: &Path,
    mut post_stop: impl FnMut(&Tracked),
) -> Result<i32> {
    let mut pod_status = None;
    let mut kill_at: Option<Instant> = None;
    while apps.iter().any(|a| a.status.is_none()) {
        let timeout = kill_at.map(|t| t.saturating_duration_since(Instant::now()));
        match signals.wait(timeout)? {
            Some(libc::SIGCHLD) => {
                for (pid, ended) in reap()? {
                    let Some(i) = apps.iter().position(|a| a.pid == pid && a.status.is_none())
                    else {
                        // An orphan reparented to us: reaping it was the whole job.
                        continue;
                    };
                    let code = reported(ended, pod_status.is_some());
                    apps[i].status = Some(code);
                    crate::debug!(
                        "app {} exited with {} (status {code})",
                        apps[i].name,
                        ended.code
                    );
                    write_status(status_dir, &apps[i].name, code);
                    post_stop(&apps[i]);
                    if code != 0 && pod_status.is_none() {
                        pod_status = Some(code);
                        signal_running(apps, libc::SIGTERM);
                        kill_at = Some(Instant::now() + GRACE);
                    }
                }
            }
            Some(sig) => {
                signal_running(apps, sig);
                // `rkt stop` (or a TERM to rkt): apps that ignore it are killed after the
                // grace period, as systemd's stop timeout did for rkt's pods.
                if sig == libc::SIGTERM && kill_at.is_none() {
                    kill_at = Some(Instant::now() + GRACE);
                }
            }
            // The grace period is over.
            None => {
                signal_running(apps, libc::SIGKILL);
                kill_at = None;
            }
        }
    }
    Ok(pod_status.unwrap_or(0))
}

/// Kills every process left in the pod (daemons the apps started) and reaps them, so that when
/// PID 1 exits, and the pod lock with it, nothing of the pod is still running.
pub fn kill_remaining() {
    signals::kill_all_others();
    // Blocking waits until ECHILD: every process of the pod is gone.
    while let Ok(Some(_)) | Err(Errno::INTR) = wait(WaitOptions::empty()) {}
}

/// Collects every child that has exited (SIGCHLDs coalesce, so loop until none is left).
fn reap() -> Result<Vec<(Pid, Ended)>> {
    let mut done = Vec::new();
    loop {
        // wait(2), i.e. waitpid(-1): any child. rustix's `waitpid(None)` is waitpid(0), only
        // children in PID 1's own process group, which never reaps an app (or a daemon it
        // started) that called setsid or setpgid.
        match wait(WaitOptions::NOHANG) {
            Ok(Some((pid, st))) => done.push((
                pid,
                Ended {
                    code: status_code(st),
                    signal: st.terminating_signal(),
                },
            )),
            Ok(None) | Err(Errno::CHILD) => return Ok(done),
            Err(Errno::INTR) => {}
            Err(e) => return Err(Error::call("waitpid", e)),
        }
    }
}

fn signal_running(apps: &[Tracked], sig: i32) {
    for app in apps.iter().filter(|a| a.status.is_none()) {
        signals::send(app.pid, sig);
    }
}

/// Writes `rkt/status/<app>` (decimal, no newline, as rkt's reaper.sh did) via a temp file and
/// a rename, so `rkt status` never reads a half-written code. A failure is reported, not fatal:
/// the pod's exit status still carries the code.
fn write_status(dir: &Path, app: &str, code: i32) {
    let path = dir.join(app);
    if let Err(e) = crate::pod::write_atomic(&path, code.to_string().as_bytes()) {
        eprintln!("stage1: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_and_signal_codes() {
        assert_eq!(code_of(Some(7), None), 7);
        assert_eq!(code_of(Some(0), None), 0);
        assert_eq!(code_of(None, Some(9)), 137);
        assert_eq!(code_of(None, Some(11)), 139);
    }

    #[test]
    fn an_app_the_pod_stopped_reports_0_unless_it_chose_its_code() {
        let term = Ended {
            code: 143,
            signal: Some(libc::SIGTERM),
        };
        let own = Ended {
            code: 3,
            signal: None,
        };
        let crash = Ended {
            code: 139,
            signal: Some(libc::SIGSEGV),
        };
        assert_eq!(reported(crash, true), 139);
        assert_eq!(reported(term, true), 0);
        assert_eq!(reported(term, false), 143);
        assert_eq!(reported(own, true), 3);
        assert_eq!(reported(own, false), 3);
    }
}
