//! Joining a running pod's app: its namespaces through a pidfd, then a child confined as the
//! app is (bounding set, groups, ids, working directory, no_new_privs, no fds above 2).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command};

/// What makes a process "the app", computed before the fork (nothing is allocated after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Confinement {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) groups: Vec<u32>,
    pub(crate) cwd: PathBuf,
    /// Capabilities to remove from the bounding set.
    pub(crate) drop_caps: Vec<u8>,
    pub(crate) no_new_privs: bool,
}

/// `prctl(PR_SET_DUMPABLE, 0)`: from now on (and in children until they exec) no process of
/// the pod can ptrace this one or open its `/proc/<pid>/exe`, `mem` or `fd/*` (CVE-2019-5736).
///
/// # References
/// - prctl(2), PR_SET_DUMPABLE; proc(5), "ptrace access mode"
pub(crate) fn set_not_dumpable() -> io::Result<()> {
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)?;
    Ok(())
}

/// `setns(pidfd, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID)`:
/// moves the calling (single-threaded) process into the mount, UTS, IPC and network
/// namespaces of the process the pidfd pins, all at once or not at all, and its future
/// children into its PID namespace. The root and working directory become the root of that
/// mount namespace (for an app of a pod: its rootfs, which it pivoted into).
///
/// # References
/// - setns(2) (pidfd form, Linux 5.8)
pub(crate) fn join_namespaces(pidfd: &OwnedFd) -> io::Result<()> {
    let flags = libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWPID;
    // SAFETY: setns only reads the fd; a wrong fd or flags fail with an errno.
    if unsafe { libc::setns(pidfd.as_raw_fd(), flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The highest capability number this kernel knows (`/proc/sys/kernel/cap_last_cap`).
pub(crate) fn last_cap() -> io::Result<u8> {
    let text = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")?;
    text.trim()
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "cap_last_cap"))
}

/// Spawns `cmd` confined by `conf`: in the child, before exec, the bounding set is cut down
/// (first: that needs CAP_SETPCAP, which setuid may take away), ambient and inheritable
/// capabilities cleared, then groups, gid, uid, working directory, no_new_privs, and every fd
/// above 2 marked close-on-exec. Do not set uid, gid or current_dir on `cmd` itself: std
/// applies them before this hook runs.
pub(crate) fn spawn_confined(mut cmd: Command, conf: Confinement) -> io::Result<Child> {
    let cwd = std::ffi::CString::new(conf.cwd.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let groups: Vec<libc::gid_t> = conf.groups.clone();
    // Runs between fork and exec: raw syscalls on data built above, no allocation, no locks.
    let in_child = move || -> io::Result<()> {
        for &cap in &conf.drop_caps {
            // SAFETY: PR_CAPBSET_DROP takes a capability number and touches nothing else.
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            // EINVAL: a capability this kernel does not know; nothing to drop.
            if rc != 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
                return Err(io::Error::last_os_error());
            }
        }
        // SAFETY: as above; EINVAL on kernels without ambient capabilities.
        let rc = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
                0,
                0,
                0,
            )
        };
        if rc != 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
            return Err(io::Error::last_os_error());
        }
        let current = rustix::thread::capabilities(None)?;
        rustix::thread::set_capabilities(
            None,
            rustix::thread::CapabilitySets {
                effective: current.effective,
                permitted: current.permitted,
                inheritable: rustix::thread::CapabilitySet::empty(),
            },
        )?;
        // SAFETY: setgroups reads `groups.len()` gids from a live Vec; setgid/setuid take
        // plain numbers. The process is a fresh single-threaded fork, so the libc wrappers'
        // all-threads broadcast has nothing else to reach.
        unsafe {
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                || libc::setgid(conf.gid) != 0
                || libc::setuid(conf.uid) != 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        // After setuid, so that the app's own permissions decide (as stage1-init does).
        // SAFETY: a NUL-terminated path that outlives the call.
        if unsafe { libc::chdir(cwd.as_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if conf.no_new_privs {
            rustix::thread::set_no_new_privs(true)?;
        }
        cloexec_above_stderr()
    };
    // SAFETY: `in_child` only makes raw syscalls on data it owns (see above).
    unsafe { cmd.pre_exec(in_child) };
    cmd.spawn()
}

/// `close_range(3, ~0, CLOSE_RANGE_CLOEXEC)`: no fd of rkt beyond 0-2 reaches the command
/// (CVE-2024-21626 leaked a host directory fd into a container).
///
/// # References
/// - close_range(2) (CLOSE_RANGE_CLOEXEC: Linux 5.11)
fn cloexec_above_stderr() -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: with CLOSE_RANGE_CLOEXEC nothing is closed; only a flag is set on the fds.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
