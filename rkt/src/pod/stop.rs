//! `rkt stop`: a signal to a running pod's PID 1 (stage1-init forwards TERM to the apps and
//! kills them after its grace period; KILL ends the pod at once). The signal goes through a
//! pidfd opened before the PID is checked to still be the pod's PID 1 (its start time as
//! recorded at launch), so a reused PID never receives it.

use super::{io_err, Error, Pod, Result, State};
use crate::paths;
use crate::sys::proc;

/// What `stop` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// The signal was delivered to the pod's PID 1.
    Signalled,
    /// The pod had already exited: nothing to do.
    AlreadyStopped,
}

/// Sends SIGTERM (SIGKILL with `force`) to the pod's PID 1.
pub(crate) fn stop(pod: &Pod, force: bool) -> Result<Stopped> {
    let state = pod.state()?;
    if state.is_after_run() {
        return Ok(Stopped::AlreadyStopped);
    }
    if state != State::Running {
        return Err(Error::NotRunning {
            uuid: pod.uuid.clone(),
            state,
        });
    }
    let dir = pod.path();
    let pid_path = paths::pod_pid(&dir);
    let start_path = paths::pod_pid_starttime(&dir);
    let pid: i32 = read_number(&pid_path)?;
    let recorded: u64 = read_number(&start_path)?;
    let fd = match proc::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return gone(pod, pid),
        Err(e) => return Err(io_err("pidfd_open", &pid_path)(e)),
    };
    // The pidfd now pins whatever process `pid` names; it is the pod's PID 1 only if it was
    // started when PID 1 was. Read after the open, so a PID reused in between is caught.
    match proc::start_time(pid) {
        Ok(t) if t == recorded => {}
        Ok(_) => return gone(pod, pid),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return gone(pod, pid),
        Err(e) => return Err(io_err("read", &start_path)(e)),
    }
    let sig = if force { libc::SIGKILL } else { libc::SIGTERM };
    match proc::pidfd_signal(&fd, sig) {
        Ok(()) => Ok(Stopped::Signalled),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => gone(pod, pid),
        Err(e) => Err(io_err("signal PID 1 of", &dir)(e)),
    }
}

/// PID 1 is gone (or its PID names another process now): the pod has exited, or is exiting
/// right now; either way nothing is signalled.
fn gone(pod: &Pod, pid: i32) -> Result<Stopped> {
    let mut pod = pod.clone();
    if !pod.path().exists() && !pod.refresh()? {
        return Ok(Stopped::AlreadyStopped);
    }
    match pod.state()? {
        s if s.is_after_run() => Ok(Stopped::AlreadyStopped),
        // The lock is held but not by the recorded PID: refuse rather than guess.
        _ => Err(Error::StalePid {
            uuid: pod.uuid.clone(),
            pid,
        }),
    }
}

pub(super) fn read_number<T: std::str::FromStr>(path: &std::path::Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(io_err("read", path))?;
    text.trim().parse().map_err(|_| {
        io_err("parse", path)(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not a number: {:?}", text.trim()),
        ))
    })
}
