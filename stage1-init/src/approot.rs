//! Work inside an app's rootfs, where every path is image-controlled.
//!
//! An image may ship `/etc/hosts -> /host/etc/shadow`, `/etc -> ../../..` or `/dev -> /`
//! (security checklist case 12; runc CVE-2025-31133, crun CVE-2025-24965). So nothing here uses
//! a path string below the rootfs:
//! - directories are opened with `openat2(RESOLVE_IN_ROOT)` relative to an fd of the rootfs, so
//!   `..` and absolute symlinks resolve as if the rootfs were `/` (openat2(2), retried on EAGAIN);
//! - files we write are created under a temporary name with `O_EXCL|O_NOFOLLOW` and renamed over
//!   the final name: rename(2) replaces a symlink, it never writes through it;
//! - mounts target `/proc/self/fd/N` of an `O_PATH|O_NOFOLLOW` fd (runc's CVE-2021-30465 fix),
//!   so the kernel mounts on exactly the inode we checked.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{
    fchmod, fstat, fstatvfs, mkdirat, open, openat, renameat, stat, statat, symlinkat, unlinkat,
    AtFlags, FileType, Mode, OFlags, ResolveFlags, StatVfsMountFlags,
};
use rustix::io::Errno;
use rustix::mount::{mount_bind, mount_bind_recursive, mount_remount, MountFlags};
use stage1_init::plan::{App, EtcFile, Plan};

use crate::error::{Context, Error, Result};

/// An open app rootfs: the fd every lookup is relative to, and its path for messages.
pub struct AppRoot {
    fd: OwnedFd,
    path: PathBuf,
}

impl AppRoot {
    /// Opens the rootfs directory itself (a path we mounted, so trusted).
    pub fn open(path: &Path) -> Result<Self> {
        let fd = open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ctx("open app rootfs", path)?;
        Ok(AppRoot {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The path of `rel` for messages: `<rootfs>/<rel>`.
    pub fn shown(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    /// Opens directory `rel` resolved inside the rootfs (`O_PATH`). With `create`, a missing
    /// *last* component is created 0755; one that is a dangling symlink is created where the
    /// link points, resolved inside the rootfs (rkt 1.30 made a mount target's missing
    /// directories through the image's symlinks, `TestMountSymlink`).
    pub fn dir(&self, rel: &str, create: bool) -> Result<OwnedFd> {
        self.dir_hops(rel, create, 0)
    }

    fn dir_hops(&self, rel: &str, create: bool, hops: u32) -> Result<OwnedFd> {
        let how = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        match openat2_retry(&self.fd, rel, how, Mode::empty(), resolve) {
            Err(Errno::NOENT) if create => {
                let (parent_rel, name) = rel.rsplit_once('/').unwrap_or(("", rel));
                let parent = match parent_rel {
                    "" => None,
                    p => Some(self.dir(p, false)?),
                };
                let at = parent.as_ref().map_or(self.fd.as_fd(), |p| p.as_fd());
                match mkdirat(at, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) => {}
                    // A dangling symlink: make what it names, inside the rootfs.
                    Err(Errno::EXIST) => {
                        let through = self.dangling_target(at, parent_rel, name, rel, hops)?;
                        return self.dir_all_hops(&through, hops + 1);
                    }
                    Err(e) => return Err(Error::sys("mkdir", self.shown(rel), e)),
                }
                openat2_retry(&self.fd, rel, how, Mode::empty(), resolve)
                    .ctx("open", self.shown(rel))
            }
            other => other.ctx("open", self.shown(rel)),
        }
    }

    /// Where the dangling symlink `name` in the directory `at` (the rootfs's `parent_rel`)
    /// points, relative to the rootfs. At most 40 links are followed, as the kernel does.
    fn dangling_target(
        &self,
        at: BorrowedFd<'_>,
        parent_rel: &str,
        name: &str,
        rel: &str,
        hops: u32,
    ) -> Result<String> {
        if hops >= 40 {
            return Err(Error::sys("resolve", self.shown(rel), Errno::LOOP));
        }
        let target = rustix::fs::readlinkat(at, name, Vec::new())
            .ctx("read the symlink", self.shown(rel))?;
        let Ok(target) = target.into_string() else {
            return Err(Error::other(
                "follow the symlink",
                self.shown(rel),
                "its target is not UTF-8".into(),
            ));
        };
        Ok(match target.strip_prefix('/') {
            Some(abs) => abs.to_string(),
            None if parent_rel.is_empty() => target,
            None => format!("{parent_rel}/{target}"),
        })
    }

    /// Opens `rel` (any type) inside the rootfs as `O_PATH`, without creating anything.
    pub fn lookup(&self, rel: &str) -> std::result::Result<OwnedFd, Errno> {
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        openat2_retry(
            &self.fd,
            rel,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            resolve,
        )
    }

    /// Opens directory `rel` inside the rootfs, creating every missing component (0755), each
    /// one relative to its already-resolved parent.
    pub fn dir_all(&self, rel: &str) -> Result<OwnedFd> {
        self.dir_all_hops(rel, 0)
    }

    fn dir_all_hops(&self, rel: &str, hops: u32) -> Result<OwnedFd> {
        let comps: Vec<&str> = rel
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        let mut fd = self.dir(".", false)?;
        for i in 0..comps.len() {
            fd = self.dir_hops(&comps[..=i].join("/"), true, hops)?;
        }
        Ok(fd)
    }

    /// Opens regular file `rel` inside the rootfs (`O_PATH`), creating it empty (0644) and its
    /// missing parents when it does not exist; for a file volume's mount point.
    pub fn file(&self, rel: &str) -> Result<OwnedFd> {
        self.file_hops(rel, 0)
    }

    fn file_hops(&self, rel: &str, hops: u32) -> Result<OwnedFd> {
        let rel = rel.trim_start_matches('/');
        let (parent_rel, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let parent = self.dir_all_hops(parent_rel, hops)?;
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        let how = OFlags::PATH | OFlags::CLOEXEC;
        let fd = match openat2_retry(&self.fd, rel, how, Mode::empty(), resolve) {
            Err(Errno::NOENT) => {
                // EXCL|NOFOLLOW: a dangling symlink at `name` fails here instead of creating
                // its target somewhere.
                let create = OFlags::WRONLY
                    | OFlags::CREATE
                    | OFlags::EXCL
                    | OFlags::NOFOLLOW
                    | OFlags::CLOEXEC;
                match openat(&parent, name, create, Mode::from_raw_mode(0o644)) {
                    Ok(fd) => drop(fd),
                    // A dangling symlink: create the file it names, inside the rootfs.
                    Err(Errno::EXIST) => {
                        let through =
                            self.dangling_target(parent.as_fd(), parent_rel, name, rel, hops)?;
                        return self.file_hops(&through, hops + 1);
                    }
                    Err(e) => return Err(Error::sys("create", self.shown(rel), e)),
                }
                openat2_retry(&self.fd, rel, how, Mode::empty(), resolve)
            }
            other => other,
        }
        .ctx("open", self.shown(rel))?;
        if FileType::from_raw_mode(fstat(&fd).ctx("stat", self.shown(rel))?.st_mode)
            == FileType::Directory
        {
            return Err(Error::sys(
                "mount a file volume onto",
                self.shown(rel),
                Errno::ISDIR,
            ));
        }
        Ok(fd)
    }

    /// The magic link naming `fd` under the procfs at `proc`, to mount onto.
    pub fn fd_path(proc: &Path, fd: &OwnedFd) -> PathBuf {
        proc.join("self/fd").join(fd.as_raw_fd().to_string())
    }
}

/// `openat2(2)`, retried a few times on EAGAIN: with RESOLVE_IN_ROOT the kernel gives EAGAIN
/// when a rename anywhere raced with a `..` it resolved ("the caller may choose to retry"). A
/// racer that keeps it up still gets a refusal, never a wrong answer.
fn openat2_retry<Fd: AsFd>(
    dir: Fd,
    path: &str,
    how: OFlags,
    mode: Mode,
    resolve: ResolveFlags,
) -> std::result::Result<OwnedFd, Errno> {
    let mut tries = 0;
    loop {
        match rustix::fs::openat2(dir.as_fd(), path, how, mode, resolve) {
            Err(Errno::AGAIN) if tries < 8 => tries += 1,
            other => return other,
        }
    }
}

/// Prepares one app's rootfs before the pivot: the mount points `/proc`, `/sys`, `/dev` (the
/// app's mounts happen later, in its own namespace), `/etc/hostname`, `/etc/hosts`,
/// `/etc/resolv.conf` and `/etc/mtab`. `proc` is a procfs to find `self/fd` in.
pub fn prepare(plan: &Plan, root: &AppRoot, proc: &Path) -> Result<()> {
    for d in ["proc", "sys", "dev"] {
        root.dir(d, true)?;
    }
    let etc = root.dir("etc", true)?;
    let shown = |name: &str| root.shown(&format!("etc/{name}"));
    let hostname = format!("{}\n", plan.hostname);
    write_replace(&etc, "hostname", hostname.as_bytes(), &shown("hostname"))?;
    for (name, policy) in [("hosts", &plan.hosts), ("resolv.conf", &plan.resolv)] {
        match policy {
            EtcFile::Keep => {}
            EtcFile::Write(text) => write_replace(&etc, name, text.as_bytes(), &shown(name))?,
            // "Has none" means not even a symlink: an image's own choice is left alone, and a
            // symlink is only ever replaced, never written through.
            EtcFile::Default(text) => match statat(&etc, name, AtFlags::SYMLINK_NOFOLLOW) {
                Err(Errno::NOENT) => write_replace(&etc, name, text.as_bytes(), &shown(name))?,
                Ok(_) => {}
                Err(e) => return Err(Error::sys("stat", shown(name), e)),
            },
            EtcFile::Bind(src) => bind_file(&etc, name, src, proc, &shown(name))?,
        }
    }
    // rkt (stage0, tests/rkt_mtab_test.go): /etc/mtab -> ../proc/self/mounts when missing.
    match statat(&etc, "mtab", AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => {
            symlinkat("../proc/self/mounts", &etc, "mtab").ctx("symlink", shown("mtab"))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(Error::sys("stat", shown("mtab"), e)),
    }
}

/// Bind-mounts the app's volumes, in order, before the pivot (their sources are host paths).
/// Targets resolve inside the rootfs; a read-only volume keeps the source mount's nosuid,
/// nodev and noexec (a bind remount sets all per-mount flags at once).
pub fn mount_volumes(
    app: &App,
    root: &AppRoot,
    proc: &Path,
    devices_by_cgroup: bool,
) -> Result<()> {
    // Docker's fills first, while the rootfs is only the image (no volume mounted into it
    // yet, so the copy never reaches a host directory of another volume).
    for m in app.mounts.iter().filter(|m| m.fill) {
        let source = stat(&m.source).ctx("stat volume source", &m.source)?;
        if FileType::from_raw_mode(source.st_mode) == FileType::Directory {
            fill_from_image(root, m.target.trim_start_matches('/'), &m.source, proc)?;
        }
    }
    for m in &app.mounts {
        let rel = m.target.trim_start_matches('/');
        let shown = root.shown(rel);
        let source = stat(&m.source).ctx("stat volume source", &m.source)?;
        let is_dir = FileType::from_raw_mode(source.st_mode) == FileType::Directory;
        let target = if is_dir {
            root.dir_all(rel)?
        } else {
            root.file(rel)?
        };
        // Plan validation refuses `/` as a target, so only a symlink on the way (`..`s that
        // climb to the top, which RESOLVE_IN_ROOT stops at the rootfs) leads here: a volume
        // over the whole rootfs would hide the image, so refuse rather than follow.
        let (t, r) = (
            fstat(&target).ctx("stat", &shown)?,
            fstat(&root.fd).ctx("stat", &root.path)?,
        );
        if (t.st_dev, t.st_ino) == (r.st_dev, r.st_ino) {
            return Err(Error::other(
                "mount volume onto",
                &shown,
                "the target resolves to the app's root directory".into(),
            ));
        }
        let at = AppRoot::fd_path(proc, &target);
        if m.recursive {
            mount_bind_recursive(&m.source, &at).ctx("mount volume onto", &shown)?;
        } else {
            mount_bind(&m.source, &at).ctx("mount volume onto", &shown)?;
        }
        // Verify, through the new mount, that the target still names it: the read-only remount
        // goes through this fd, so it can only ever hit the volume just mounted.
        let mounted = verify_mounted(root, rel, &source, &shown)?;
        // Without a device cgroup, nothing the app can write may hold a usable device node;
        // a device node given as the volume itself is the exception the user asked for.
        let is_device = matches!(
            FileType::from_raw_mode(source.st_mode),
            FileType::CharacterDevice | FileType::BlockDevice
        );
        let nodev = !devices_by_cgroup && !is_device;
        if m.readonly || nodev {
            restrict(&mounted, proc, &shown, m.readonly, nodev, m.recursive)?;
        }
    }
    Ok(())
}

/// Docker's volume semantics: an empty volume directory `source` gets a copy of what the
/// image has at `rel` (a directory), the first time it is mounted. Nothing is followed: the
/// target is resolved inside the rootfs and copied as it is, less what does not belong in a
/// host directory (device nodes, set-id bits, other mounts: `copy::INTO_VOLUME`).
fn fill_from_image(root: &AppRoot, rel: &str, source: &Path, proc: &Path) -> Result<()> {
    let empty = std::fs::read_dir(source)
        .ctx("read directory", source)?
        .next()
        .is_none();
    let Ok(content) = root.lookup(rel) else {
        return Ok(());
    };
    let is_dir = FileType::from_raw_mode(fstat(&content).ctx("stat", root.shown(rel))?.st_mode)
        == FileType::Directory;
    if empty && is_dir {
        // `/.`: the directory the magic link names, not the link (copy_tree takes the top
        // directory's owner and mode from an lstat).
        let from = AppRoot::fd_path(proc, &content).join(".");
        crate::copy::copy_tree_with(&from, source, crate::copy::INTO_VOLUME)?;
    }
    Ok(())
}

/// Makes the volume mounted at `mounted` read-only and/or `nodev`: with `recursive`, every
/// submount too, and no mount propagates into it any more (a host mount made under the source
/// later would otherwise arrive writable): one `mount_setattr(2)` with `AT_RECURSIVE`
/// (Linux 5.12), which a plain remount cannot do (it changes the top mount only).
fn restrict(
    mounted: &std::os::fd::OwnedFd,
    proc: &Path,
    shown: &Path,
    readonly: bool,
    nodev: bool,
    recursive: bool,
) -> Result<()> {
    use std::os::fd::AsRawFd;
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    const MOUNT_ATTR_NODEV: u64 = 0x4;
    const AT_RECURSIVE: libc::c_uint = 0x8000;
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let mut attr = MountAttr {
        attr_set: 0,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    if readonly {
        attr.attr_set |= MOUNT_ATTR_RDONLY;
    }
    if nodev {
        attr.attr_set |= MOUNT_ATTR_NODEV;
    }
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= AT_RECURSIVE;
        if readonly {
            attr.propagation = libc::MS_PRIVATE;
        }
    }
    // SAFETY: mount_setattr(fd, "", AT_EMPTY_PATH[|AT_RECURSIVE], &attr, sizeof attr) reads
    // `attr`, which lives across the call, and changes only the mounts at the open fd.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            mounted.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let errno = crate::error::last_errno();
    if errno != Errno::NOSYS || recursive {
        return Err(Error::sys(
            "make the volume read-only/nodev at",
            shown,
            errno,
        ));
    }
    // Before Linux 5.12, a plain bind has no submounts: a remount of it is the same.
    let have = fstatvfs(mounted).ctx("statfs", shown)?.f_flag;
    let mut ms = MountFlags::BIND;
    if readonly {
        ms |= MountFlags::RDONLY;
    }
    if nodev {
        ms |= MountFlags::NODEV;
    }
    for (st, f) in [
        (StatVfsMountFlags::NOSUID, MountFlags::NOSUID),
        (StatVfsMountFlags::NODEV, MountFlags::NODEV),
        (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
    ] {
        if have.contains(st) {
            ms |= f;
        }
    }
    mount_remount(AppRoot::fd_path(proc, mounted), ms, "").ctx("remount read-only", shown)
}

/// Opens `rel` again after a volume was bound onto it and checks that it is the root of a
/// mount of `source` (security-checklist §5 case 41, CVE-2021-30465). The bind itself went
/// onto the dentry opened beforehand (inside the rootfs, RESOLVE_IN_ROOT), but a process
/// sharing a host volume on the path can swap a directory and a symlink there
/// (RENAME_EXCHANGE) between that open and the mount: the volume then sits on a renamed
/// dentry, or on the rootfs itself when the symlink climbed to `/`, and `rel` shows
/// something else. Such a pod is refused; its mount namespace, and the misplaced mount with
/// it, goes away with PID 1.
fn verify_mounted(
    root: &AppRoot,
    rel: &str,
    source: &rustix::fs::Stat,
    shown: &Path,
) -> Result<OwnedFd> {
    use rustix::fs::{statx, StatxAttributes, StatxFlags};
    let fd = root.lookup(rel).ctx("open", shown)?;
    let st = statx(&fd, "", AtFlags::EMPTY_PATH, StatxFlags::BASIC_STATS).ctx("statx", shown)?;
    let dev = rustix::fs::makedev(st.stx_dev_major, st.stx_dev_minor);
    let same_file = dev == source.st_dev && st.stx_ino == source.st_ino;
    // STATX_ATTR_MOUNT_ROOT (Linux 5.8); where the kernel cannot tell, the identity check
    // alone decides.
    let mount_root = !st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
        || st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT);
    if same_file && mount_root {
        return Ok(fd);
    }
    Err(Error::other(
        "mount volume onto",
        shown,
        "the target changed while the volume was mounted (swapped for a symlink?)".into(),
    ))
}

/// Writes `data` to `dir/name` through a temporary file and a rename: whatever `name` was (a
/// symlink to the host, a hard link), only the name is replaced.
fn write_replace(dir: &OwnedFd, name: &str, data: &[u8], shown: &Path) -> Result<()> {
    let tmp = format!(".{name}.rkt-tmp");
    // An image may ship an entry with our temporary name (even a symlink): unlinkat removes
    // the name itself and never follows it, and O_EXCL below refuses anything left.
    match unlinkat(dir, tmp.as_str(), AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => return Err(Error::sys("unlink", shown.with_file_name(&tmp), e)),
    }
    let how = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = openat(dir, tmp.as_str(), how, Mode::from_raw_mode(0o644)).ctx("create", shown)?;
    let mut rest = data;
    while !rest.is_empty() {
        match rustix::io::write(&fd, rest) {
            Ok(n) => rest = &rest[n..],
            Err(Errno::INTR) => {}
            Err(e) => return Err(Error::sys("write", shown, e)),
        }
    }
    // The umask must not decide whether non-root apps can read /etc/hosts.
    fchmod(&fd, Mode::from_raw_mode(0o644)).ctx("chmod", shown)?;
    renameat(dir, tmp.as_str(), dir, name).ctx("rename onto", shown)
}

/// Bind-mounts the host file `src` read-only onto `dir/name`, first replacing a symlink or a
/// missing file with an empty regular file (the mount point).
fn bind_file(dir: &OwnedFd, name: &str, src: &Path, proc: &Path, shown: &Path) -> Result<()> {
    match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => {}
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
            return Err(Error::sys("bind mount onto", shown, Errno::ISDIR))
        }
        Ok(_) | Err(Errno::NOENT) => write_replace(dir, name, b"", shown)?,
        Err(e) => return Err(Error::sys("stat", shown, e)),
    }
    // Check the inode we are about to mount on, not the name: NOFOLLOW plus fstat on the very
    // fd that the mount then targets leaves no window for a swap (CVE-2021-30465's lesson).
    let how = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let target = openat(dir, name, how, Mode::empty()).ctx("open", shown)?;
    if FileType::from_raw_mode(fstat(&target).ctx("stat", shown)?.st_mode) != FileType::RegularFile
    {
        return Err(Error::sys("bind mount onto", shown, Errno::INVAL));
    }
    mount_bind(src, AppRoot::fd_path(proc, &target)).ctx("bind mount onto", shown)?;
    // Re-open: the new fd names the bind mount's root, so the remount hits the bind mount,
    // not the file underneath it.
    let mounted = openat(dir, name, how, Mode::empty()).ctx("open", shown)?;
    let flags = MountFlags::BIND
        | MountFlags::RDONLY
        | MountFlags::NOSUID
        | MountFlags::NODEV
        | MountFlags::NOEXEC;
    mount_remount(AppRoot::fd_path(proc, &mounted), flags, "").ctx("remount read-only", shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{symlink, MetadataExt};

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("s1-approot-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn writes_replace_symlinks_and_never_leave_the_root() {
        let base = tmp("etc");
        let (root, outside) = (base.join("root"), base.join("outside"));
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("sentinel"), "keep").unwrap();
        symlink(outside.join("sentinel"), root.join("etc/hostname")).unwrap();
        symlink("../../../../../../outside/sentinel", root.join("etc/hosts")).unwrap();
        let r = AppRoot::open(&root).unwrap();
        let etc = r.dir("etc", false).unwrap();
        write_replace(&etc, "hostname", b"pod\n", Path::new("x")).unwrap();
        write_replace(&etc, "hosts", b"127.0.0.1 localhost\n", Path::new("x")).unwrap();
        assert_eq!(
            fs::read_to_string(outside.join("sentinel")).unwrap(),
            "keep"
        );
        assert_eq!(
            fs::read_to_string(root.join("etc/hostname")).unwrap(),
            "pod\n"
        );
        assert!(fs::symlink_metadata(root.join("etc/hosts"))
            .unwrap()
            .is_file());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn dirs_resolve_inside_the_root() {
        let base = tmp("dirs");
        let root = base.join("root");
        fs::create_dir_all(root.join("real")).unwrap();
        // An absolute symlink and a `..` escape both land inside the root.
        symlink("/real", root.join("abs")).unwrap();
        symlink("../../../../real", root.join("up")).unwrap();
        symlink("/nowhere", root.join("dangling")).unwrap();
        let r = AppRoot::open(&root).unwrap();
        let real = fstat(r.dir("real", false).unwrap()).unwrap().st_ino;
        assert_eq!(fstat(r.dir("abs", false).unwrap()).unwrap().st_ino, real);
        assert_eq!(fstat(r.dir("up", false).unwrap()).unwrap().st_ino, real);
        r.dir("new", true).unwrap();
        assert!(root.join("new").is_dir());
        // A dangling symlink is made where it points, inside the root, never outside it.
        symlink("../../../outside/deeper", root.join("dangling-up")).unwrap();
        symlink("loop-b", root.join("loop-a")).unwrap();
        symlink("loop-a", root.join("loop-b")).unwrap();
        let made = fstat(r.dir("dangling", true).unwrap()).unwrap().st_ino;
        assert_eq!(fs::metadata(root.join("nowhere")).unwrap().ino(), made);
        r.dir_all("dangling-up/more").unwrap();
        assert!(root.join("outside/deeper/more").is_dir());
        let file = r.file("dangling/new-dir/file").unwrap();
        assert!(fstat(&file).is_ok() && root.join("nowhere/new-dir/file").is_file());
        assert!(r.dir("loop-a", true).is_err());
        assert!(!base.join("outside").exists() && !Path::new("/nowhere").exists());
        fs::remove_dir_all(&base).unwrap();
    }
}
