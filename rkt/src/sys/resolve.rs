//! Opening a path that an image controls, as if a directory were `/`.
//!
//! Owns: [`open_in_root`], the one way rkt resolves untrusted paths inside a tree (an image
//! being extracted, an app rootfs). It uses `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`
//! and, where openat2 is missing (before Linux 5.6, or hidden by a seccomp filter), a
//! userspace walk with the same semantics.
//!
//! Must never: let a symlink or `..` lead outside the root, open `..` of any directory (the walk
//! keeps its own stack of directory fds instead, so a directory moved out of the tree by a
//! concurrent rename cannot take the walk with it), or follow procfs magic links. Every runc /
//! crun / Docker path CVE listed in security-checklist §1 is a path resolved as a string.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::{Errno, Result};

/// Set once openat2 turned out unusable; every later call goes straight to the walk.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// The kernel's limit on symlinks followed in one lookup (`MAXSYMLINKS`, path_resolution(7)).
const MAX_SYMLINKS: usize = 40;

/// openat2 with `RESOLVE_IN_ROOT` fails with EAGAIN when a rename anywhere on the system raced
/// with a `..` lookup (openat2(2) "EAGAIN"); the man page says to retry.
const EAGAIN_RETRIES: usize = 64;

#[cfg(test)]
thread_local! {
    /// Makes [`open_in_root`] take the userspace walk on this thread, as on a kernel without
    /// openat2, so tests cover both paths.
    pub(crate) static FORCE_WALK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `openat2(root, path, {flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS})` — opens
/// `path` as if `root` were the root directory.
///
/// Absolute symlinks and `..` resolve inside `root` (an image's `var/run -> /run` means
/// `<root>/run`), so nothing outside `root` can be reached. `flags` are open(2) flags;
/// `O_CLOEXEC` is always added, `O_NOFOLLOW` applies to the last component only (as in
/// openat2). `O_CREAT` is honoured (with `O_EXCL`, a final symlink gives `EEXIST`). An empty
/// `path` is `ENOENT`, as in open(2); `.` opens `root`.
///
/// Errors are the open(2) errnos; a symlink loop (more than 40 links) is `ELOOP`.
///
/// # References
///  - [openat2(2)](https://man7.org/linux/man-pages/man2/openat2.2.html)
///  - [path_resolution(7)](https://man7.org/linux/man-pages/man7/path_resolution.7.html)
pub(crate) fn open_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: OFlags,
    mode: Mode,
) -> Result<OwnedFd> {
    if !use_walk() {
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        let flags = flags | OFlags::CLOEXEC;
        for _ in 0..EAGAIN_RETRIES {
            match rustix::fs::openat2(root, path, flags, mode, resolve) {
                Err(Errno::AGAIN) => continue,
                // ENOSYS: before Linux 5.6. EPERM: a seccomp profile older than openat2
                // (container runtimes before 2020 answered EPERM for unknown syscalls); openat2
                // has no EPERM of its own for these flags, and the walk is as confined.
                Err(Errno::NOSYS | Errno::PERM) => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                    break;
                }
                other => return other,
            }
        }
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            return Err(Errno::AGAIN);
        }
    }
    walk_in_root(root, path.as_os_str().as_bytes(), flags, mode)
}

fn use_walk() -> bool {
    #[cfg(test)]
    if FORCE_WALK.with(|f| f.get()) {
        return true;
    }
    NO_OPENAT2.load(Ordering::Relaxed)
}

/// The components of a path, `.` and empty ones dropped, in reverse order (so that `pop`
/// yields the next one).
fn push_components(pending: &mut Vec<Vec<u8>>, path: &[u8]) {
    let parts = path
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".");
    let start = pending.len();
    pending.extend(parts.map(<[u8]>::to_vec));
    pending[start..].reverse();
}

/// The userspace equivalent of `openat2(RESOLVE_IN_ROOT)`: one `openat(O_PATH | O_NOFOLLOW)`
/// per component; a symlink is read and its target spliced into the remaining components (an
/// absolute one restarting at `root`); `..` pops our own stack of directory fds and stays at
/// `root` when the stack is empty, as `..` of `/` does.
fn walk_in_root(root: BorrowedFd<'_>, path: &[u8], flags: OFlags, mode: Mode) -> Result<OwnedFd> {
    if path.is_empty() {
        return Err(Errno::NOENT);
    }
    let mut pending = Vec::new();
    push_components(&mut pending, path);
    // Directories below `root` that we stand in; `root` itself when empty.
    let mut dirs: Vec<OwnedFd> = Vec::new();
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name == b".." {
            dirs.pop();
            continue;
        }
        let cur = dirs.last().map_or(root, |d| d.as_fd());
        let last = pending.is_empty();
        let probe = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(cur, &name[..], probe, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) if last && flags.contains(OFlags::CREATE) => {
                return open_last(cur, &name, flags, mode);
            }
            Err(e) => return Err(e),
        };
        if last && flags.contains(OFlags::CREATE | OFlags::EXCL) {
            // O_EXCL never follows a final symlink, and anything already there is EEXIST.
            return Err(Errno::EXIST);
        }
        let file_type = FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode);
        if file_type == FileType::Symlink && !(last && flags.contains(OFlags::NOFOLLOW)) {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Errno::LOOP);
            }
            // readlinkat(2) with an empty name reads the link an O_PATH fd refers to.
            let target = rustix::fs::readlinkat(&fd, c"", Vec::new())?;
            let target = target.as_bytes();
            if target.is_empty() {
                return Err(Errno::NOENT);
            }
            if target[0] == b'/' {
                dirs.clear();
            }
            push_components(&mut pending, target);
            continue;
        }
        if !last {
            if file_type != FileType::Directory {
                return Err(Errno::NOTDIR);
            }
            dirs.push(fd);
            continue;
        }
        if flags.contains(OFlags::PATH) {
            // Already what the caller asked for; reopening would only open a race.
            if flags.contains(OFlags::DIRECTORY) && file_type != FileType::Directory {
                return Err(Errno::NOTDIR);
            }
            return Ok(fd);
        }
        if file_type == FileType::Symlink {
            return Err(Errno::LOOP);
        }
        return open_last(cur, &name, flags, mode);
    }
    // The path ended at a directory through `..`, `.` or a symlink to one: open where we stand.
    let cur = dirs.last().map_or(root, |d| d.as_fd());
    let flags = flags & !(OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW);
    rustix::fs::openat(cur, c".", flags | OFlags::CLOEXEC, mode)
}

/// Opens the last component in a directory already resolved inside the root. `O_NOFOLLOW`:
/// if a concurrent writer swapped in a symlink since we looked, this fails rather than follows.
fn open_last(dir: BorrowedFd<'_>, name: &[u8], flags: OFlags, mode: Mode) -> Result<OwnedFd> {
    let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::openat(dir, name, flags, mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn id(fd: &OwnedFd) -> (u64, u64) {
        let st = rustix::fs::fstat(fd).unwrap();
        (st.st_dev, st.st_ino)
    }

    fn open_both(root: &OwnedFd, path: &str, flags: OFlags) -> (Result<OwnedFd>, Result<OwnedFd>) {
        let kernel = rustix::fs::openat2(
            root,
            path,
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        );
        let walk = walk_in_root(root.as_fd(), path.as_bytes(), flags, Mode::empty());
        (kernel, walk)
    }

    /// The walk agrees with the kernel's RESOLVE_IN_ROOT on every path of a tree full of
    /// escaping links: same inode, or same errno.
    #[test]
    fn walk_matches_openat2() {
        let base = std::env::temp_dir().join(format!("rkt-resolve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root_dir = base.join("root");
        std::fs::create_dir_all(root_dir.join("a/b/c")).unwrap();
        std::fs::create_dir_all(base.join("outside")).unwrap();
        std::fs::write(root_dir.join("a/b/file"), b"x").unwrap();
        std::fs::write(base.join("outside/secret"), b"s").unwrap();
        let links: &[(&str, &str)] = &[
            ("abs", "/a/b"),
            ("up", "../../../.."),
            ("out", "../outside"),
            ("outabs", "/../outside/secret"),
            ("a/rel", "b/c"),
            ("a/b/c/back", "../../.."),
            ("loop1", "loop2"),
            ("loop2", "loop1"),
            ("dangling", "/nonexistent"),
            ("tofile", "a/b/file"),
            ("empty_dots", "./././a"),
            ("slash", "/"),
            ("proc", "/proc/self/root"),
        ];
        for (name, target) in links {
            symlink(target, root_dir.join(name)).unwrap();
        }
        let root =
            rustix::fs::open(&root_dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let paths = [
            ".",
            "a",
            "a/b",
            "a/b/file",
            "a/b/file/x",
            "abs",
            "abs/c",
            "abs/file",
            "up",
            "up/a",
            "out",
            "out/secret",
            "outabs",
            "a/rel",
            "a/rel/back",
            "a/rel/back/a/b/file",
            "a/b/c/back/abs/../..",
            "loop1",
            "dangling",
            "tofile",
            "empty_dots/b",
            "slash",
            "slash/a",
            "..",
            "../..",
            "../../etc/passwd",
            "/etc/passwd",
            "a/../..",
            "proc",
            "a/b/c/../../b/./file",
            "nonexistent/x",
        ];
        let flag_sets = [
            OFlags::PATH,
            OFlags::PATH | OFlags::DIRECTORY,
            OFlags::PATH | OFlags::NOFOLLOW,
            OFlags::RDONLY,
            OFlags::RDONLY | OFlags::NOFOLLOW,
        ];
        for path in paths {
            for flags in flag_sets {
                let (kernel, walk) = open_both(&root, path, flags);
                match (&kernel, &walk) {
                    (Ok(k), Ok(w)) => assert_eq!(id(k), id(w), "{path} {flags:?}"),
                    (Err(k), Err(w)) => assert_eq!(k, w, "{path} {flags:?}"),
                    _ => panic!("{path} {flags:?}: openat2 {kernel:?} vs walk {walk:?}"),
                }
            }
        }
        // O_CREAT through an absolute link creates inside the root, never in `outside`.
        let flags = OFlags::WRONLY | OFlags::CREATE;
        let fd = walk_in_root(root.as_fd(), b"out/new", flags, Mode::from_raw_mode(0o600));
        assert_eq!(fd.err(), Some(Errno::NOENT), "root/outside does not exist");
        std::fs::create_dir(root_dir.join("outside")).unwrap();
        walk_in_root(root.as_fd(), b"out/new", flags, Mode::from_raw_mode(0o600)).unwrap();
        assert!(root_dir.join("outside/new").exists());
        assert!(!base.join("outside/new").exists());
        let excl = flags | OFlags::EXCL;
        let err = walk_in_root(root.as_fd(), b"tofile", excl, Mode::empty()).unwrap_err();
        assert_eq!(err, Errno::EXIST);
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// The one observable difference: openat2 refuses procfs magic links (ELOOP), the walk
    /// reads their text like any symlink's and resolves it inside the root.
    #[test]
    fn forced_walk_is_used() {
        let root = rustix::fs::open("/", OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let magic = Path::new("proc/self/cwd");
        let kernel = open_in_root(root.as_fd(), magic, OFlags::PATH, Mode::empty());
        assert_eq!(kernel.unwrap_err(), Errno::LOOP);
        FORCE_WALK.with(|f| f.set(true));
        let walk = open_in_root(root.as_fd(), magic, OFlags::PATH, Mode::empty());
        let empty = open_in_root(root.as_fd(), Path::new(""), OFlags::PATH, Mode::empty());
        FORCE_WALK.with(|f| f.set(false));
        let cwd = rustix::fs::open(".", OFlags::PATH, Mode::empty()).unwrap();
        assert_eq!(id(&walk.unwrap()), id(&cwd));
        assert_eq!(empty.unwrap_err(), Errno::NOENT);
    }
}
