//! `rkt metadata-service`: the appc metadata service (appc spec, "App Container Metadata
//! Service"), as rkt 1.30 ran it: a public HTTP API on TCP port 18112 that apps reach with the
//! token of their pod, and a registration API on a unix socket that only root reaches.
//!
//! Owns: the HTTP subset ([`http`]), the two APIs as pure functions ([`api`]), the registered
//! pods and their persistence ([`registry`]), and the poll loop ([`server`]).

mod api;
pub(crate) mod client;
mod http;
mod registry;
mod server;

use std::fmt;
use std::io;
use std::os::fd::FromRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// rkt 1.30's `common.MetadataServicePort`.
pub(crate) const PORT: u16 = 18112;

/// Where the service listens and keeps its state.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) port: u16,
    pub(crate) socket: PathBuf,
    pub(crate) state: PathBuf,
    pub(crate) log: bool,
}

#[derive(Debug)]
pub(crate) enum Error {
    Io {
        op: &'static str,
        what: String,
        source: io::Error,
    },
    /// Another service answers on the socket.
    Running(PathBuf),
    /// `LISTEN_FDS` is not what systemd passes.
    ListenFds(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, what, .. } => write!(f, "{op} {what}"),
            Error::Running(p) => write!(
                f,
                "{}: a metadata service is already running (it answers on this socket)",
                p.display()
            ),
            Error::ListenFds(why) => write!(f, "LISTEN_FDS: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io_err(op: &'static str, what: impl fmt::Display) -> impl FnOnce(io::Error) -> Error {
    let what = what.to_string();
    move |source| Error::Io { op, what, source }
}

/// Runs the service until SIGINT or SIGTERM.
pub(crate) fn serve(opts: &Options) -> Result<(), Error> {
    crate::sys::service::raise_open_files();
    let stop =
        crate::sys::service::stop_signals().map_err(io_err("block", "SIGINT and SIGTERM"))?;
    eprintln!("rkt: metadata-service: metadata service starting...");
    let (registration, made) = registration_listener(&opts.socket)?;
    let public = std::net::TcpListener::bind(("0.0.0.0", opts.port))
        .map_err(io_err("listen on port", opts.port))?;
    let registry = registry::Registry::open(&opts.state)
        .map_err(io_err("open the registrations in", opts.state.display()))?;
    let mut key = [0u8; 64];
    crate::sys::random::fill(&mut key).map_err(io_err("draw", "the HMAC key"))?;
    eprintln!(
        "rkt: metadata-service: metadata service running... (port {}, registrations on {})",
        opts.port,
        opts.socket.display()
    );
    let served = server::Service {
        public,
        registration,
        stop,
        registry,
        key,
        log: opts.log,
    }
    .run()
    .map_err(io_err("serve", "requests"));
    if made {
        let _ = std::fs::remove_file(&opts.socket);
    }
    eprintln!("rkt: metadata-service: metadata service exiting...");
    served
}

/// The registration socket: systemd's (fd 3, `LISTEN_FDS`), else one made here, mode 0600
/// (true: made here, so removed at exit). A socket file nobody answers on is stale.
fn registration_listener(path: &Path) -> Result<(UnixListener, bool), Error> {
    if let Ok(n) = std::env::var("LISTEN_FDS") {
        let n: i16 = n.parse().map_err(|_| {
            Error::ListenFds(format!("{:?} is not a count", crate::error::bounded(&n)))
        })?;
        if n < 1 {
            return Err(Error::ListenFds("LISTEN_FDS < 1".into()));
        }
        // SAFETY: systemd's socket activation passes the listening socket as fd 3 and
        // nothing else in this process owns it.
        return Ok((unsafe { UnixListener::from_raw_fd(3) }, false));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err("create", dir.display()))?;
    }
    if std::fs::symlink_metadata(path).is_ok() {
        if UnixStream::connect(path).is_ok() {
            return Err(Error::Running(path.to_path_buf()));
        }
        std::fs::remove_file(path).map_err(io_err("remove the stale socket", path.display()))?;
    }
    let listener = UnixListener::bind(path).map_err(io_err("listen on", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(io_err("chmod", path.display()))?;
    Ok((listener, true))
}
