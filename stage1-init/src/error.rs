//! The one error type of PID 1: every failure here is a syscall on a path.
//!
//! `Error { op, path, errno }` maps 1:1 onto the sync socket's `E` frame: `context()` is the
//! message, `errno` travels as a number, and rkt appends the errno's text. After `Go` there is
//! no frame to send any more, so `main` prints `stage1: <context>: <strerror>` to stderr once.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;

use rustix::io::Errno;

/// A failed step of the pod setup or of starting an app.
#[derive(Debug)]
pub struct Error {
    /// What was being done, e.g. "mount proc on" or "exec".
    pub op: Cow<'static, str>,
    /// The path or name it was done to, shown in backticks.
    pub path: Option<String>,
    /// Why it failed; `None` for failures that are not a syscall (a malformed plan).
    pub errno: Option<Errno>,
    /// Extra detail for non-syscall failures (the plan decoder's message).
    pub detail: Option<String>,
    /// The app being started, when the failure is specific to one.
    pub app: Option<String>,
}

/// The module-wide result alias.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A failed syscall `op` on `path`.
    pub fn sys(op: impl Into<Cow<'static, str>>, path: impl AsRef<Path>, errno: Errno) -> Self {
        Error {
            op: op.into(),
            path: Some(path.as_ref().display().to_string()),
            errno: Some(errno),
            detail: None,
            app: None,
        }
    }

    /// A failed syscall that has no path (sethostname, sigprocmask, fork).
    pub fn call(op: impl Into<Cow<'static, str>>, errno: Errno) -> Self {
        Error {
            op: op.into(),
            path: None,
            errno: Some(errno),
            detail: None,
            app: None,
        }
    }

    /// A failure that is not a syscall: `op` on `path`, then `detail`.
    pub fn other(op: &'static str, path: impl AsRef<Path>, detail: String) -> Self {
        Error {
            op: op.into(),
            path: Some(path.as_ref().display().to_string()),
            errno: None,
            detail: Some(detail),
            app: None,
        }
    }

    /// Tags the error with the app it happened for.
    pub fn in_app(mut self, app: &str) -> Self {
        self.app = Some(app.to_string());
        self
    }

    /// The raw errno for the wire (0 when no syscall failed).
    pub fn raw_errno(&self) -> i32 {
        self.errno.map_or(0, |e| e.raw_os_error())
    }

    /// Everything but the errno's text: ``start app `x`: exec `/bin/foo` ``.
    pub fn context(&self) -> String {
        let mut s = String::new();
        if let Some(app) = &self.app {
            s.push_str(&format!("start app `{app}`: "));
        }
        s.push_str(&self.op);
        if let Some(p) = &self.path {
            s.push_str(&format!(" `{p}`"));
        }
        if let Some(d) = &self.detail {
            s.push_str(&format!(": {d}"));
        }
        s
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context())?;
        if let Some(e) = self.errno {
            write!(f, ": {}", stage1_init::proto::errno_text(e.raw_os_error()))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// The errno of the last failed libc call (rustix's own calls return it directly).
pub fn last_errno() -> Errno {
    Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

/// Adds `op` and `path` to a rustix result: `mkdir("/x").ctx("mkdir", "/x")?`.
pub trait Context<T> {
    /// Wraps the errno as `Error::sys(op, path, errno)`.
    fn ctx(self, op: &'static str, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, Errno> {
    fn ctx(self, op: &'static str, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::sys(op, path, e))
    }
}

impl<T> Context<T> for std::io::Result<T> {
    fn ctx(self, op: &'static str, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::sys(op, path, Errno::from_io_error(&e).unwrap_or(Errno::IO)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_context_then_strerror() {
        let e = Error::sys("exec", "/bin/foo", Errno::NOENT).in_app("x");
        assert_eq!(e.context(), "start app `x`: exec `/bin/foo`");
        assert_eq!(
            e.to_string(),
            "start app `x`: exec `/bin/foo`: No such file or directory"
        );
        assert_eq!(e.raw_errno(), 2);
        let e = Error::other("decode plan", "/p", "missing uuid".into());
        assert_eq!(e.to_string(), "decode plan `/p`: missing uuid");
        assert_eq!(e.raw_errno(), 0);
        assert_eq!(
            Error::call("sethostname", Errno::PERM).to_string(),
            "sethostname: Operation not permitted"
        );
    }
}
