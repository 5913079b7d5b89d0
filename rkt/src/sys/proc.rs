//! Processes by PID, safely: a PID's start time (to tell a reused PID from the process it
//! once named) and signals through a pidfd, which cannot be retargeted once opened.

use std::io;
use std::os::fd::OwnedFd;

use rustix::process::{Pid, PidfdFlags, Signal};

/// The start time of process `pid` in clock ticks since boot: field 22 of `/proc/<pid>/stat`.
///
/// # References
/// - proc_pid_stat(5)
pub(crate) fn start_time(pid: i32) -> io::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_start_time(&stat)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/<pid>/stat"))
}

/// Field 22 of a stat line; the command name (field 2) may contain spaces and parentheses, so
/// the fields are counted from its last `)`.
fn parse_start_time(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    // Field 3 is the first after the name; field 22 is the 20th from there.
    after.split_whitespace().nth(19)?.parse().ok()
}

/// `pidfd_open(pid, 0)`: a handle on the process `pid` names now.
///
/// # References
/// - pidfd_open(2)
pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    let pid = Pid::from_raw(pid).ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))?;
    Ok(rustix::process::pidfd_open(pid, PidfdFlags::empty())?)
}

/// `pidfd_send_signal(fd, sig, NULL, 0)`: signals exactly the process the pidfd was opened
/// on, or fails with ESRCH once it has exited.
///
/// # References
/// - pidfd_send_signal(2)
pub(crate) fn pidfd_signal(fd: &OwnedFd, sig: i32) -> io::Result<()> {
    let sig =
        Signal::from_named_raw(sig).ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
    Ok(rustix::process::pidfd_send_signal(fd, sig)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_even_with_odd_names() {
        let line = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        assert_eq!(parse_start_time(line), Some(98765));
        assert_eq!(parse_start_time("42 (x"), None);
        let me = std::process::id() as i32;
        let t = start_time(me).unwrap();
        assert_eq!(start_time(me).unwrap(), t);
    }

    #[test]
    fn pidfd_signals_a_live_process_only() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let fd = pidfd_open(child.id() as i32).unwrap();
        pidfd_signal(&fd, libc::SIGKILL).unwrap();
        child.wait().unwrap();
        let err = pidfd_signal(&fd, libc::SIGTERM).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ESRCH));
    }
}
