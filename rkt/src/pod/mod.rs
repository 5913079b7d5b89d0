//! Pods on disk: a pod's state is the directory its UUID sits in plus whether its flock is held
//! (rkt 1.30 `pkg/pod`, DESIGN §3.2). Moving between states is a rename under the pod's
//! exclusive lock; the lock of a running pod is held by its PID 1.
//!
//! Owns: UUIDs, the state directories, listing and resolving pods, [`remove`] (unmount and
//! delete without crossing filesystems) and [`gc`] (mark and sweep).

pub(crate) mod enter;
pub(crate) mod export;
pub(crate) mod gc;
pub(crate) mod info;
pub(crate) mod remove;
pub(crate) mod stop;
pub(crate) mod wait;

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::paths;
use crate::sys::lock::{Blocking, FileLock, LockKind};

/// The directory a pod sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Embryo,
    Prepare,
    Prepared,
    Run,
    ExitedGarbage,
    Garbage,
}

impl Dir {
    pub(crate) const ALL: [Dir; 6] = [
        Dir::Embryo,
        Dir::Prepare,
        Dir::Prepared,
        Dir::Run,
        Dir::ExitedGarbage,
        Dir::Garbage,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Dir::Embryo => "embryo",
            Dir::Prepare => "prepare",
            Dir::Prepared => "prepared",
            Dir::Run => "run",
            Dir::ExitedGarbage => "exited-garbage",
            Dir::Garbage => "garbage",
        }
    }
}

/// A pod's state as rkt reports it (rkt-behaviour §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Embryo,
    Preparing,
    AbortedPrepare,
    Prepared,
    Running,
    Exited,
    ExitedDeleting,
    ExitedGarbage,
    Deleting,
    Garbage,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Embryo => "embryo",
            State::Preparing => "preparing",
            State::AbortedPrepare => "aborted prepare",
            State::Prepared => "prepared",
            State::Running => "running",
            State::Exited => "exited",
            State::ExitedDeleting => "exited deleting",
            State::ExitedGarbage => "exited garbage",
            State::Deleting => "deleting",
            State::Garbage => "garbage",
        })
    }
}

/// What can go wrong with a pod.
#[derive(Debug)]
pub(crate) enum Error {
    /// A file-system operation failed; names the operation and the path.
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// No pod matches a UUID (prefix).
    NotFound(String),
    /// A UUID prefix matches several pods.
    Ambiguous(String),
    /// The pod is in a state that forbids the operation.
    Busy { uuid: String, state: State },
    /// Removal would cross into another filesystem (a mount that could not be unmounted).
    CrossDevice(PathBuf),
    /// The operation needs a running pod.
    NotRunning { uuid: String, state: State },
    /// The pod's lock is held, but its recorded PID 1 is gone or names another process.
    StalePid { uuid: String, pid: i32 },
    /// Waiting for the pod ran out of time, or the pod ended before what was awaited.
    Wait { uuid: String, what: String },
    /// `enter` or `export` refused: an ambiguous or unknown app, an app that exited, a pod in
    /// the wrong state, a bad plan.
    Refused { uuid: String, what: String },
    /// Writing an exported ACI failed.
    Image(Box<crate::image::Error>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, path, .. } => write!(f, "{op} `{}`", path.display()),
            // rkt 1.30's words (resolveUUID, appc's ErrNoEmptyUUID): scripts match them.
            Error::NotFound(p) if p.is_empty() => {
                f.write_str("cannot get pod: UUID cannot be empty")
            }
            Error::NotFound(p) => write!(f, "cannot get pod: no matches found for {p:?}"),
            Error::Ambiguous(p) => write!(f, "{p:?} matches several pods: give more of the UUID"),
            Error::Busy { uuid, state } => write!(f, "pod {uuid} is {state}"),
            Error::CrossDevice(p) => write!(
                f,
                "`{}` is on another filesystem (a mount still in use?): not removing through it",
                p.display()
            ),
            Error::NotRunning { uuid, state } => write!(f, "pod {uuid} is not running ({state})"),
            Error::StalePid { uuid, pid } => write!(
                f,
                "pod {uuid}: PID {pid} is no longer its PID 1: not signalling it"
            ),
            Error::Wait { uuid, what } | Error::Refused { uuid, what } => {
                write!(f, "pod {uuid}: {what}")
            }
            Error::Image(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Image(e) => e.source(),
            _ => None,
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

pub(crate) fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { op, path, source }
}

/// One pod: its UUID and the directory it was found in.
/// (Cloning copies the handle, not the pod.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pod {
    data_dir: PathBuf,
    pub(crate) uuid: String,
    pub(crate) dir: Dir,
}

/// A random UUIDv4 (RFC 4122) from the kernel's CSPRNG, lowercase 8-4-4-4-12.
pub(crate) fn new_uuid() -> io::Result<String> {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(format_uuid(b))
}

fn format_uuid(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

impl Pod {
    /// Creates a new pod: `embryo/<uuid>` (0750), locked exclusively, renamed to `prepare/`.
    /// Returns the pod and its lock (held while preparing; handed to PID 1 by `run`).
    pub(crate) fn create(data_dir: &Path) -> Result<(Pod, FileLock)> {
        for d in Dir::ALL {
            let p = paths::pods_in(data_dir, d.name());
            std::fs::create_dir_all(&p).map_err(io_err("create", &p))?;
        }
        let uuid = new_uuid().map_err(io_err("read", Path::new("/dev/urandom")))?;
        let mut pod = Pod {
            data_dir: data_dir.to_path_buf(),
            uuid,
            dir: Dir::Embryo,
        };
        let path = pod.path();
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .mode(0o750)
                .create(&path)
                .map_err(io_err("create", &path))?;
        }
        let lock = FileLock::open(&path, LockKind::Exclusive, Blocking::NoWait)
            .map_err(io_err("lock", &path))?;
        pod.move_to(Dir::Prepare)?;
        Ok((pod, lock))
    }

    /// The pod's directory now.
    pub(crate) fn path(&self) -> PathBuf {
        paths::pod_dir(&self.data_dir, self.dir.name(), &self.uuid)
    }

    /// Renames the pod into another state directory. The caller holds the pod's lock.
    pub(crate) fn move_to(&mut self, to: Dir) -> Result<()> {
        let from = self.path();
        let dest = paths::pod_dir(&self.data_dir, to.name(), &self.uuid);
        std::fs::rename(&from, &dest).map_err(io_err("rename", &from))?;
        self.dir = to;
        Ok(())
    }

    /// Takes the pod's lock without waiting; `None` when someone holds it.
    pub(crate) fn try_lock(&self) -> Result<Option<FileLock>> {
        let path = self.path();
        match FileLock::open(&path, LockKind::Exclusive, Blocking::NoWait) {
            Ok(l) => Ok(Some(l)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(io_err("lock", &path)(e)),
        }
    }

    /// The pod's state: its directory plus whether its lock is held.
    pub(crate) fn state(&self) -> Result<State> {
        let locked = self.try_lock()?.is_none();
        Ok(match (self.dir, locked) {
            (Dir::Embryo, _) => State::Embryo,
            (Dir::Prepare, true) => State::Preparing,
            (Dir::Prepare, false) => State::AbortedPrepare,
            (Dir::Prepared, _) => State::Prepared,
            (Dir::Run, true) => State::Running,
            (Dir::Run, false) => State::Exited,
            (Dir::ExitedGarbage, true) => State::ExitedDeleting,
            (Dir::ExitedGarbage, false) => State::ExitedGarbage,
            (Dir::Garbage, true) => State::Deleting,
            (Dir::Garbage, false) => State::Garbage,
        })
    }

    /// Every pod, in every state directory.
    pub(crate) fn list(data_dir: &Path) -> Result<Vec<Pod>> {
        let mut pods = Vec::new();
        for d in Dir::ALL {
            pods.extend(Pod::list_in(data_dir, d)?);
        }
        Ok(pods)
    }

    /// The pods in one state directory (missing directory: none).
    pub(crate) fn list_in(data_dir: &Path, dir: Dir) -> Result<Vec<Pod>> {
        let path = paths::pods_in(data_dir, dir.name());
        let entries = match std::fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        let mut pods = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err("read", &path))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_uuid(&name) {
                pods.push(Pod {
                    data_dir: data_dir.to_path_buf(),
                    uuid: name,
                    dir,
                });
            }
        }
        pods.sort_by(|a, b| a.uuid.cmp(&b.uuid));
        Ok(pods)
    }

    /// The one pod whose UUID starts with `prefix` (rkt `resolveUUID`; surrounding whitespace,
    /// as a UUID file may have, is ignored).
    pub(crate) fn resolve(data_dir: &Path, prefix: &str) -> Result<Pod> {
        let prefix = prefix.trim().to_ascii_lowercase();
        if prefix.is_empty() {
            return Err(Error::NotFound(prefix));
        }
        let mut found: Vec<Pod> = Pod::list(data_dir)?
            .into_iter()
            .filter(|p| p.uuid.starts_with(&prefix))
            .collect();
        found.dedup_by(|a, b| a.uuid == b.uuid);
        match found.len() {
            0 => Err(Error::NotFound(prefix)),
            1 => Ok(found.remove(0)),
            _ => Err(Error::Ambiguous(prefix)),
        }
    }

    /// Finds the pod again after it may have moved (another rkt renamed it meanwhile).
    pub(crate) fn refresh(&mut self) -> Result<bool> {
        for d in Dir::ALL {
            if paths::pod_dir(&self.data_dir, d.name(), &self.uuid).exists() {
                self.dir = d;
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The UUID in a `--uuid-file-save` file (trailing whitespace allowed, rkt `pkg/pod/uuid.go`).
pub(crate) fn read_uuid_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(io_err("read", path))?;
    Ok(text.trim().to_string())
}

/// Takes the prepare lock (see `paths::prepare_lock`), waiting for it: `Shared` while a pod
/// is prepared, `Exclusive` while image gc runs.
pub(crate) fn prepare_lock(data_dir: &Path, kind: LockKind) -> Result<FileLock> {
    let path = paths::prepare_lock(data_dir);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_err("create", parent))?;
    }
    FileLock::create(&path, kind, Blocking::Wait).map_err(io_err("lock", &path))
}

/// The images and trees used by pods in `prepare/`, `prepared/`, `run/` and
/// `exited-garbage/`, which image gc and image rm must keep (rkt-behaviour §2.3). Call it
/// under the exclusive prepare lock.
pub(crate) fn in_use(data_dir: &Path) -> Result<crate::store::Keep> {
    let mut keep = crate::store::Keep::default();
    for dir in [Dir::Prepare, Dir::Prepared, Dir::Run, Dir::ExitedGarbage] {
        for pod in Pod::list_in(data_dir, dir)? {
            let path = pod.path();
            let manifest = paths::pod_manifest(&path);
            if let Ok(bytes) = std::fs::read(&manifest) {
                if let Ok(m) = crate::appc::PodManifest::from_json(&bytes) {
                    for app in &m.apps {
                        keep.images.insert(app.image.id.store_key().to_string());
                    }
                }
            }
            let apps = path.join("appsinfo");
            let Ok(entries) = std::fs::read_dir(&apps) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Ok(tree) = std::fs::read_to_string(paths::pod_app_tree(&path, &name)) {
                    keep.trees.insert(tree.trim().to_string());
                }
            }
        }
    }
    Ok(keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_v4_and_lowercase() {
        let u = format_uuid([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert!(is_uuid(&u));
        let u = new_uuid().unwrap();
        assert!(is_uuid(&u), "{u}");
        assert_eq!(&u[14..15], "4");
        assert!(!is_uuid("FFFFFFFF-ffff-4fff-bfff-ffffffffffff"));
        assert!(!is_uuid("x"));
    }

    #[test]
    fn create_moves_to_prepare_and_state_follows_the_lock() {
        let tmp = std::env::temp_dir().join(format!("rkt-pod-test-{}", std::process::id()));
        let (pod, lock) = Pod::create(&tmp).unwrap();
        assert_eq!(pod.dir, Dir::Prepare);
        assert!(pod.path().is_dir());
        assert_eq!(pod.state().unwrap(), State::Preparing);
        drop(lock);
        assert_eq!(pod.state().unwrap(), State::AbortedPrepare);
        let found = Pod::resolve(&tmp, &pod.uuid[..6]).unwrap();
        assert_eq!(found.uuid, pod.uuid);
        assert!(matches!(Pod::resolve(&tmp, "zz"), Err(Error::NotFound(_))));
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
