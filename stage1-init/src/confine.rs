//! What makes a process of the pod "the app": capabilities, keyring, ids, no_new_privs and the
//! seccomp filter, applied in one order for the app, its event handlers and `rkt enter`.
//!
//! The order, and why:
//!
//! 1. (before this module) the app's own mount namespace, its mounts and the pivot: they need
//!    CAP_SYS_ADMIN, which nothing here gives up.
//! 2. [`join_session_keyring`]: a fresh anonymous session keyring, so the pod never shares
//!    the host's (`keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)`, as runc and crun do). It must
//!    come before the filter, which refuses `keyctl`.
//! 3. [`drop_privileges`]: `setsid`, then the bounding set down to the app's capabilities
//!    (dropping needs CAP_SETPCAP, which a later `setuid` may take away), and empty inheritable
//!    and ambient sets. The effective set stays full: CAP_SYS_ADMIN is what lets a process
//!    without no_new_privs load a seccomp filter (seccomp(2)).
//! 4. [`Ids::assume`]: groups, gid, uid (a non-root uid loses every capability here,
//!    capabilities(7) "Effect of user ID changes on capabilities"), the working directory, the
//!    default signal state, then no_new_privs where it applies, then the filter, last. Only the
//!    `execve` that follows runs under the filter; it then gives a root app exactly its
//!    bounding set and a non-root app nothing (capabilities(7), "Transformation of
//!    capabilities during execve()"). A non-root app under seccomp always has no_new_privs
//!    (stage0 sets it: rkt's rule), which is also what allows it to load the filter without
//!    CAP_SYS_ADMIN.

use std::path::PathBuf;

use rustix::io::Errno;
use rustix::thread::{
    capabilities, clear_ambient_capability_set, remove_capability_from_bounding_set,
    set_capabilities, set_thread_gid, set_thread_groups, set_thread_uid, CapabilitySet,
    CapabilitySets, Gid, Uid,
};

use crate::error::{Context, Error, Result};
use crate::signals;

/// `KEYCTL_JOIN_SESSION_KEYRING` (linux/keyctl.h).
const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
/// `SECCOMP_SET_MODE_FILTER` (linux/seccomp.h).
const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;

/// A fresh, empty, anonymous session keyring for the calling process (keyctl(2)): keys of the
/// host's session keyring, which rkt's own process had, are out of reach from now on.
pub fn join_session_keyring() -> Result<()> {
    // SAFETY: keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL) reads no memory (a NULL name makes an
    // anonymous keyring) and only changes this process's keyrings.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    if rc < 0 {
        return Err(Error::call(
            "keyctl(KEYCTL_JOIN_SESSION_KEYRING)",
            crate::error::last_errno(),
        ));
    }
    Ok(())
}

/// A session of its own (no controlling terminal: an app cannot push input into the
/// terminal rkt runs on with TIOCSTI, CVE-2016-9016 class), the bounding set without
/// `drop_caps`, and empty inheritable and ambient sets; the effective set is kept (see the
/// module doc).
pub fn drop_privileges(drop_caps: &[u8]) -> Result<()> {
    rustix::process::setsid().map_err(|e| Error::call("setsid", e))?;
    for cap in drop_caps {
        let set = CapabilitySet::from_bits_retain(1 << cap);
        match remove_capability_from_bounding_set(set) {
            // EINVAL: a capability this kernel does not know; nothing to drop.
            Ok(()) | Err(Errno::INVAL) => {}
            Err(e) => return Err(Error::call(format!("drop capability {cap}"), e)),
        }
    }
    match clear_ambient_capability_set() {
        Ok(()) | Err(Errno::INVAL) => {}
        Err(e) => return Err(Error::call("clear ambient capabilities", e)),
    }
    let current = capabilities(None).map_err(|e| Error::call("capget", e))?;
    set_capabilities(
        None,
        CapabilitySets {
            effective: current.effective,
            permitted: current.permitted,
            inheritable: CapabilitySet::empty(),
        },
    )
    .map_err(|e| Error::call("capset", e))
}

/// Seccomp programs ready to install: `struct sock_filter` arrays, aligned.
pub struct Filters(Vec<Vec<libc::sock_filter>>);

impl Filters {
    /// From the plan's byte form (validated there: whole instructions, at most 4096).
    pub fn new(programs: &[Vec<u8>]) -> Filters {
        let decode = |bytes: &Vec<u8>| {
            bytes
                .chunks_exact(8)
                .map(|c| libc::sock_filter {
                    code: u16::from_ne_bytes([c[0], c[1]]),
                    jt: c[2],
                    jf: c[3],
                    k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
                })
                .collect()
        };
        Filters(programs.iter().map(decode).collect())
    }

    /// Installs every program, in order (the last one installed runs first: seccomp(2)).
    fn install(&self) -> Result<()> {
        for prog in &self.0 {
            let fprog = libc::sock_fprog {
                len: prog.len() as libc::c_ushort,
                filter: prog.as_ptr().cast_mut(),
            };
            // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER, 0, &fprog) reads `fprog` and the `len`
            // instructions it points to, which live across the call; the kernel copies them.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    SECCOMP_SET_MODE_FILTER,
                    0 as libc::c_ulong,
                    &fprog as *const libc::sock_fprog,
                )
            };
            if rc < 0 {
                return Err(Error::call(
                    "install the seccomp filter",
                    crate::error::last_errno(),
                ));
            }
        }
        Ok(())
    }
}

/// Who a process becomes right before its exec.
pub struct Ids<'a> {
    pub uid: u32,
    pub gid: u32,
    pub groups: &'a [u32],
    pub cwd: &'a PathBuf,
    pub no_new_privs: bool,
    pub filters: &'a Filters,
}

impl Ids<'_> {
    /// Step 4 of the module doc. After it, the caller's next syscall must be the `execve`.
    pub fn assume(&self) -> Result<()> {
        // Groups before gid before uid: after setuid we could no longer change the others.
        // These rustix calls are per-thread raw syscalls, which is exact for one thread.
        let groups: Vec<Gid> = self.groups.iter().map(|g| Gid::from_raw(*g)).collect();
        set_thread_groups(&groups).map_err(|e| Error::call("setgroups", e))?;
        set_thread_gid(Gid::from_raw(self.gid))
            .map_err(|e| Error::call(format!("setgid {}", self.gid), e))?;
        set_thread_uid(Uid::from_raw(self.uid))
            .map_err(|e| Error::call(format!("setuid {}", self.uid), e))?;
        // After setuid, so that the app's own permissions decide (runc does the same).
        rustix::process::chdir(self.cwd).ctx("chdir", self.cwd)?;
        signals::reset_for_exec();
        if self.no_new_privs {
            rustix::thread::set_no_new_privs(true)
                .map_err(|e| Error::call("prctl(PR_SET_NO_NEW_PRIVS)", e))?;
        }
        self.filters.install()
    }
}
