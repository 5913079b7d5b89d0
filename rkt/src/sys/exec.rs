//! What an exec from a forked child needs, built before the fork: no allocation after it.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;

/// NULL-terminated arrays of pointers into `CString`s that the same value owns.
pub(crate) struct ExecArgs {
    _strings: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
}

// SAFETY: the pointers point into `_strings`, owned by the same value and never changed; the
// value is only read, by the forked child.
unsafe impl Send for ExecArgs {}
// SAFETY: as above: shared reads of immutable data.
unsafe impl Sync for ExecArgs {}

impl ExecArgs {
    pub(crate) fn new(argv: &[String], env: &[(String, String)]) -> io::Result<ExecArgs> {
        let c =
            |s: String| CString::new(s).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
        let mut strings = Vec::new();
        for a in argv {
            strings.push(c(a.clone())?);
        }
        let n = strings.len();
        for (k, v) in env {
            strings.push(c(format!("{k}={v}"))?);
        }
        let mut ptrs: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        let envp: Vec<_> = ptrs
            .split_off(n)
            .into_iter()
            .chain([std::ptr::null()])
            .collect();
        ptrs.push(std::ptr::null());
        Ok(ExecArgs {
            _strings: strings,
            argv: ptrs,
            envp,
        })
    }

    /// `execveat(dirfd, "", argv, envp, AT_EMPTY_PATH)`; returns only on failure.
    pub(crate) fn exec_fd(&self, fd: RawFd) -> io::Error {
        // SAFETY: both arrays are NULL-terminated and point into `_strings`, which lives as
        // long as `self`.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                fd,
                c"".as_ptr(),
                self.argv.as_ptr(),
                self.envp.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        };
        io::Error::last_os_error()
    }
}
