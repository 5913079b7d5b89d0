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

/// The children of process `pid` (its main thread's, which for a single-threaded PID 1 is all
/// of them), as host PIDs: `/proc/<pid>/task/<pid>/children`.
///
/// # References
/// - proc_pid_task_children(5)
pub(crate) fn children(pid: i32) -> io::Result<Vec<i32>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))?;
    Ok(text
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect())
}

/// The parent PID of `pid` and its PID in its innermost PID namespace (`PPid:` and the last
/// field of `NSpid:` in `/proc/<pid>/status`).
pub(crate) fn parent_and_ns_pid(pid: i32) -> io::Result<(i32, i32)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_parent_and_ns_pid(&status)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/<pid>/status"))
}

fn parse_parent_and_ns_pid(status: &str) -> Option<(i32, i32)> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
    };
    let ppid = field("PPid")?.trim().parse().ok()?;
    let ns_pid = field("NSpid")?.split_whitespace().last()?.parse().ok()?;
    Some((ppid, ns_pid))
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
    fn status_gives_parent_and_innermost_pid() {
        let status = "Name:\tsh\nPid:\t4242\nPPid:\t4200\nNSpid:\t4242\t7\n";
        assert_eq!(parse_parent_and_ns_pid(status), Some((4200, 7)));
        assert_eq!(parse_parent_and_ns_pid("PPid:\t1\n"), None);
        let me = std::process::id() as i32;
        let (ppid, ns) = parent_and_ns_pid(me).unwrap();
        assert_eq!(ppid, std::os::unix::process::parent_id() as i32);
        assert!(ns > 0);
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
