//! The crate-level error: one variant per module error, plus usage errors from the command line.
//! Nothing here prints; `main` reports an error once through [`chain`].

use std::error::Error as StdError;
use std::fmt;

/// rkt's exit code for its own failures (bad flags, bad images, failed setup), as rkt 1.30.
pub(crate) const EXIT_FAILURE: u8 = 254;
/// An unknown command exits 2, as cobra did for rkt.
pub(crate) const EXIT_UNKNOWN_COMMAND: u8 = 2;

/// At most the first 64 characters of a user's input, for an error that quotes it (a message
/// never echoes unbounded input).
pub(crate) fn bounded(input: &str) -> String {
    input.chars().take(64).collect()
}

#[derive(Debug)]
pub(crate) enum Error {
    /// A bad flag, value or argument; the message names it.
    Usage(String),
    /// A command name that rkt does not know.
    UnknownCommand(String),
    /// A command or flag of rkt 1.30 that this build does not implement yet.
    NotImplemented(String),
    /// Writing the command's output failed.
    Output(std::io::Error),
    Config(crate::config::Error),
    Store(crate::store::Error),
    Image(crate::image::Error),
    /// Fetching a remote image failed.
    Fetch(Box<crate::fetch::Error>),
    /// `rkt metadata-service` failed.
    Mds(crate::mds::Error),
    /// `rkt run` failed before the pod's apps started (displayed as `run: ...`).
    Run(crate::stage0::Error),
    /// `prepare` or `run-prepared` failed (displayed as `<command>: ...`).
    Launch(&'static str, Box<crate::stage0::Error>),
    /// A pod command failed as a whole (displayed as `<command>: ...`).
    PodOp(&'static str, Box<crate::pod::Error>),
    /// A pod operation (`rm`, `gc`) failed as a whole.
    Pod(crate::pod::Error),
    /// `rkt trust` failed (displayed as `trust: ...`).
    Trust(crate::trust::Error),
}

impl Error {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Error::UnknownCommand(_) => EXIT_UNKNOWN_COMMAND,
            _ => EXIT_FAILURE,
        }
    }

    /// A closed stdout (`rkt image list | head -1`) is not a failure.
    pub(crate) fn is_broken_pipe(&self) -> bool {
        let mut cur: Option<&(dyn StdError + 'static)> = Some(self);
        while let Some(e) = cur {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return true;
                }
            }
            cur = e.source();
        }
        false
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(msg) => f.write_str(msg),
            Error::UnknownCommand(cmd) => write!(f, "unknown command {cmd:?} for \"rkt\""),
            Error::NotImplemented(what) => write!(f, "{what}: not implemented yet in this rkt"),
            Error::Output(_) => f.write_str("write output"),
            Error::Config(e) => e.fmt(f),
            Error::Store(e) => e.fmt(f),
            Error::Image(e) => e.fmt(f),
            Error::Fetch(e) => e.fmt(f),
            Error::Mds(e) => write!(f, "metadata-service: {e}"),
            Error::Run(e) => write!(f, "run: {e}"),
            Error::Launch(cmd, e) => write!(f, "{cmd}: {e}"),
            Error::PodOp(cmd, e) => write!(f, "{cmd}: {e}"),
            Error::Pod(e) => e.fmt(f),
            Error::Trust(e) => write!(f, "trust: {e}"),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Output(e) => Some(e),
            Error::Config(e) => e.source(),
            Error::Store(e) => e.source(),
            Error::Image(e) => e.source(),
            Error::Fetch(e) => e.source(),
            Error::Mds(e) => e.source(),
            Error::Run(e) => e.source(),
            Error::Launch(_, e) => e.source(),
            Error::PodOp(_, e) => e.source(),
            Error::Pod(e) => e.source(),
            Error::Trust(e) => e.source(),
            _ => None,
        }
    }
}

impl From<crate::config::Error> for Error {
    fn from(e: crate::config::Error) -> Self {
        Error::Config(e)
    }
}

impl From<crate::store::Error> for Error {
    fn from(e: crate::store::Error) -> Self {
        Error::Store(e)
    }
}

impl From<crate::fetch::Error> for Error {
    fn from(e: crate::fetch::Error) -> Self {
        Error::Fetch(Box::new(e))
    }
}

impl From<crate::image::Error> for Error {
    fn from(e: crate::image::Error) -> Self {
        Error::Image(e)
    }
}

/// The error and its causes joined by ": ", each printed once.
pub(crate) fn chain(err: &dyn StdError) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        if !text.is_empty() && !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("open `/x`")
        }
    }
    impl StdError for Outer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn chain_joins_causes_once() {
        let e = Outer(std::io::Error::from_raw_os_error(2));
        assert_eq!(
            chain(&e),
            "open `/x`: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn unknown_command_exits_2_and_others_254() {
        assert_eq!(Error::UnknownCommand("x".into()).exit_code(), 2);
        assert_eq!(Error::Usage("x".into()).exit_code(), 254);
    }
}
