//! The pod's filesystem: mount propagation, the stage1 root, `/proc`, `/sys`, `/dev`, the app
//! rootfs mounts, and the pivot into the stage1 root.
//!
//! Plan, then apply (bubblewrap `SetupOp`): `ops()` is a pure function from the plan to an
//! exact list of `MountOp`s, unit-tested for order and flags; `apply()` is a thin loop over
//! rustix calls. Every path here is under the pod directory that stage0 created (trusted);
//! paths *inside an app's rootfs* are image-controlled and handled by `approot`, never here.

use std::path::{Path, PathBuf};

use rustix::fs::{chmodat, mkdirat, mknodat, AtFlags, FileType, Mode, CWD};
use rustix::io::Errno;
use rustix::mount::{
    mount, mount_bind, mount_bind_recursive, mount_change, mount_move, mount_remount, unmount,
    MountFlags, MountPropagationFlags, UnmountFlags,
};
use rustix::process::{chdir, chroot, pivot_root};
use stage1_init::plan::{app_rootfs_rel, Plan, RootfsMode};

use crate::copy::copy_tree;
use crate::error::{Context, Error, Result};

/// One step of the pod's filesystem setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountOp {
    /// `mkdir -p path` with `mode` for the directories it creates.
    Dir { path: PathBuf, mode: u32 },
    /// An empty regular file (to bind something onto), with exactly `mode`.
    File { path: PathBuf, mode: u32 },
    /// A character device node, mode 0666 (the /dev tmpfs is not `nodev`).
    CharDev {
        path: PathBuf,
        major: u32,
        minor: u32,
    },
    /// A bind mount (recursive when `rec`).
    Bind {
        src: PathBuf,
        dst: PathBuf,
        rec: bool,
    },
    /// `MS_REMOUNT|MS_BIND|flags`: change the per-mount flags of what is mounted on `dst`.
    Remount { dst: PathBuf, flags: MountFlags },
    /// A fresh filesystem.
    Fs {
        fstype: &'static str,
        dst: PathBuf,
        flags: MountFlags,
        data: &'static str,
    },
    /// `link -> target`.
    Symlink { target: &'static str, link: PathBuf },
    /// overlayfs on `dst`, `nodev`; falls back to a copy of `lower` when overlayfs refuses.
    Overlay {
        lower: PathBuf,
        upper: PathBuf,
        work: PathBuf,
        dst: PathBuf,
    },
    /// Copy `src` into `dst`, then bind `dst` onto itself `nodev` (so it is a mount point).
    Copy { src: PathBuf, dst: PathBuf },
}

/// Device nodes every pod gets (appc OS-SPEC, OCI runtime spec "Default Devices").
const DEVICES: [(&str, u32, u32); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// In the stage1 root (PID 1's view only): the dev-enabled tmpfs holding the nodes that a
/// `nodev` `/dev` gets bound in, when no cgroup enforces the device policy.
const PRIVATE_DEV: &str = "rkt-dev";

/// The mounts of a pod, in order, before the per-app `/etc` work and the pivot. `/dev/console`
/// is only created here: what it becomes ([`console_op`]) depends on a pty that can only be
/// opened once the pod's devpts is mounted.
pub fn ops(plan: &Plan) -> Vec<MountOp> {
    use MountOp::*;
    let root = plan.stage1_rootfs();
    let at = |rel: &str| root.join(rel);
    let nosuid_noexec = MountFlags::NOSUID | MountFlags::NOEXEC;
    let mut ops = vec![
        Dir {
            path: root.clone(),
            mode: 0o755,
        },
        // The stage1 root must be a mount point for pivot_root(2) ("new_root must be a mount
        // point"); binding it onto itself makes it one, in this namespace only.
        Bind {
            src: root.clone(),
            dst: root.clone(),
            rec: false,
        },
    ];
    for d in ["proc", "sys", "dev", "rkt/status", "rkt/env", "etc"] {
        ops.push(Dir {
            path: at(d),
            mode: 0o755,
        });
    }
    // What masked /proc files become in apps (`protect`): empty, mode 000, as rkt's
    // InaccessiblePaths showed them. Outside every app's view, so no app can swap it.
    ops.push(File {
        path: at(crate::protect::INACCESSIBLE.trim_start_matches('/')),
        mode: 0,
    });
    ops.extend([
        // A fresh procfs: it shows this PID namespace only.
        Fs {
            fstype: "proc",
            dst: at("proc"),
            flags: nosuid_noexec | MountFlags::NODEV,
            data: "",
        },
        // sysfs read-only: the kernel's knobs are not the pod's to turn.
        Fs {
            fstype: "sysfs",
            dst: at("sys"),
            flags: nosuid_noexec | MountFlags::NODEV | MountFlags::RDONLY,
            data: "",
        },
        // A fresh /dev, not the host's: only the nodes below exist (runc/moby options).
        // Without a device cgroup it is `nodev` (an app's mknod there opens nothing), and the
        // nodes are bound in from a private tmpfs no app can see.
        Fs {
            fstype: "tmpfs",
            dst: at("dev"),
            flags: nosuid_noexec
                | MountFlags::STRICTATIME
                | if plan.devices_by_cgroup {
                    MountFlags::empty()
                } else {
                    MountFlags::NODEV
                },
            data: "mode=755,size=65536k",
        },
    ]);
    if plan.devices_by_cgroup {
        for (name, major, minor) in DEVICES {
            ops.push(CharDev {
                path: at("dev").join(name),
                major,
                minor,
            });
        }
    } else {
        ops.extend([
            Dir {
                path: at(PRIVATE_DEV),
                mode: 0o700,
            },
            Fs {
                fstype: "tmpfs",
                dst: at(PRIVATE_DEV),
                flags: nosuid_noexec,
                data: "mode=700,size=4k",
            },
        ]);
        for (name, major, minor) in DEVICES {
            ops.push(CharDev {
                path: at(PRIVATE_DEV).join(name),
                major,
                minor,
            });
            ops.push(File {
                path: at("dev").join(name),
                mode: 0o666,
            });
            ops.push(Bind {
                src: at(PRIVATE_DEV).join(name),
                dst: at("dev").join(name),
                rec: false,
            });
        }
    }
    ops.extend([
        File {
            path: at("dev/console"),
            mode: 0o600,
        },
        Dir {
            path: at("dev/pts"),
            mode: 0o755,
        },
        // newinstance: the pod's ptys are its own (no access to the host's /dev/pts/N);
        // ptmxmode=0666 so that /dev/ptmx -> pts/ptmx is usable by non-root apps.
        Fs {
            fstype: "devpts",
            dst: at("dev/pts"),
            flags: nosuid_noexec,
            data: "newinstance,ptmxmode=0666,mode=0620,gid=5",
        },
        Symlink {
            target: "pts/ptmx",
            link: at("dev/ptmx"),
        },
        Dir {
            path: at("dev/shm"),
            mode: 0o755,
        },
        Fs {
            fstype: "tmpfs",
            dst: at("dev/shm"),
            flags: nosuid_noexec | MountFlags::NODEV,
            data: "mode=1777,size=65536k",
        },
        Symlink {
            target: "/proc/self/fd",
            link: at("dev/fd"),
        },
        Symlink {
            target: "/proc/self/fd/0",
            link: at("dev/stdin"),
        },
        Symlink {
            target: "/proc/self/fd/1",
            link: at("dev/stdout"),
        },
        Symlink {
            target: "/proc/self/fd/2",
            link: at("dev/stderr"),
        },
    ]);
    for app in &plan.apps {
        let dst = root.join(app_rootfs_rel(&app.name));
        ops.push(Dir {
            path: dst.clone(),
            mode: 0o755,
        });
        ops.push(match &app.mode {
            RootfsMode::Overlay { upper, work } => Overlay {
                lower: app.lower.clone(),
                upper: upper.clone(),
                work: work.clone(),
                dst,
            },
            RootfsMode::Copy => Copy {
                src: app.lower.clone(),
                dst,
            },
        });
    }
    ops
}

/// What `/dev/console` becomes: the interactive app's terminal (`pty`, a slave of the pod's
/// own devpts), else the pod's `/dev/null`. Never the terminal rkt runs on: a host tty inside
/// the pod would let any app write to the user's terminal, and read from it or push input
/// into it (TIOCSTI, security-checklist §5 case 42) wherever the kernel allows that.
pub fn console_op(plan: &Plan, pty: Option<&Path>) -> MountOp {
    let root = plan.stage1_rootfs();
    MountOp::Bind {
        src: pty.map_or_else(|| root.join("dev/null"), Path::to_path_buf),
        dst: root.join("dev/console"),
        rec: false,
    }
}

/// The mounts that must come after the per-app `/etc` work: read-only app roots.
pub fn final_ops(plan: &Plan) -> Vec<MountOp> {
    let root = plan.stage1_rootfs();
    plan.apps
        .iter()
        .filter(|a| a.readonly_rootfs)
        .map(|a| MountOp::Remount {
            dst: root.join(app_rootfs_rel(&a.name)),
            flags: MountFlags::RDONLY | MountFlags::NODEV,
        })
        .collect()
}

/// Carries out `ops` in order; the first failure stops it.
pub fn apply(ops: &[MountOp]) -> Result<()> {
    ops.iter().try_for_each(apply_one)
}

/// Carries out one op.
pub fn apply_one(op: &MountOp) -> Result<()> {
    match op {
        MountOp::Dir { path, mode } => mkdir_p(path, *mode),
        MountOp::File { path, mode } => {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .ctx("create", path)?;
            chmodat(CWD, path, Mode::from_raw_mode(*mode), AtFlags::empty()).ctx("chmod", path)
        }
        MountOp::CharDev { path, major, minor } => {
            let dev = rustix::fs::makedev(*major, *minor);
            mknodat(
                CWD,
                path,
                FileType::CharacterDevice,
                Mode::from_raw_mode(0o666),
                dev,
            )
            .ctx("mknod", path)?;
            // mknod applies the umask; the nodes must be 0666 whatever it is.
            chmodat(CWD, path, Mode::from_raw_mode(0o666), AtFlags::empty()).ctx("chmod", path)
        }
        MountOp::Bind {
            src,
            dst,
            rec: false,
        } => mount_bind(src, dst).ctx("bind mount onto", dst),
        MountOp::Bind {
            src,
            dst,
            rec: true,
        } => mount_bind_recursive(src, dst).ctx("bind mount onto", dst),
        MountOp::Remount { dst, flags } => {
            mount_remount(dst, MountFlags::BIND | *flags, "").ctx("remount", dst)
        }
        MountOp::Fs {
            fstype,
            dst,
            flags,
            data,
        } => {
            let data = std::ffi::CString::new(*data)
                .map_err(|_| Error::sys("mount", dst, Errno::INVAL))?;
            mount(*fstype, dst, *fstype, *flags, data.as_c_str())
                .map_err(|e| Error::sys(format!("mount {fstype} on"), dst, e))
        }
        MountOp::Symlink { target, link } => {
            rustix::fs::symlinkat(*target, CWD, link).ctx("symlink", link)
        }
        MountOp::Overlay {
            lower,
            upper,
            work,
            dst,
        } => match overlay(lower, upper, work, dst) {
            // The kernel refuses some uppers (upper on overlayfs: EINVAL; no overlay module:
            // ENODEV; some LSMs: EPERM). A copy gives the same view, slower: rkt --no-overlay.
            Err(e)
                if matches!(
                    e.errno,
                    Some(Errno::INVAL | Errno::NODEV | Errno::PERM | Errno::OPNOTSUPP)
                ) =>
            {
                crate::debug!(
                    "overlay on {} refused ({e}); copying {}",
                    dst.display(),
                    lower.display()
                );
                apply_one(&MountOp::Copy {
                    src: lower.clone(),
                    dst: dst.clone(),
                })
            }
            other => other,
        },
        MountOp::Copy { src, dst } => {
            copy_tree(src, dst)?;
            apply_one(&MountOp::Bind {
                src: dst.clone(),
                dst: dst.clone(),
                rec: false,
            })?;
            apply_one(&MountOp::Remount {
                dst: dst.clone(),
                flags: MountFlags::NODEV,
            })
        }
    }
}

/// `mount -t overlay -o lowerdir=..,upperdir=..,workdir=..,volatile overlay dst` with
/// `nodev`. The upper dir keeps everything the app writes, on disk in the pod (rkt 1.30
/// layout).
///
/// `volatile` (Linux 5.10): the overlay never syncs its upper filesystem, in particular not
/// when it is unmounted, which without it is a `syncfs` of the whole disk filesystem the data
/// dir is on, each time a pod exits (it made PID 1's exit wait for the journal; tens of ms
/// with other writers on the disk). Pods are not fsync'd on the run path (DESIGN §3.3 point
/// 6): after a crash, gc cleans up. The kernel leaves `work/work/incompat/volatile`, which
/// refuses a later mount of the same upper/work pair; a pod's overlay is mounted once. Kernels
/// without the option refuse it (EINVAL): then mount without it.
fn overlay(lower: &Path, upper: &Path, work: &Path, dst: &Path) -> Result<()> {
    // Plan validation refused ',', ':' and '\' in these paths, so the option string cannot be
    // redirected by a path. nodev: a device node shipped in an image never opens a host device.
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    let mount_with = |data: String| {
        let data = std::ffi::CString::new(data)
            .map_err(|_| Error::sys("mount overlay on", dst, Errno::INVAL))?;
        mount(
            "overlay",
            dst,
            "overlay",
            MountFlags::NODEV,
            data.as_c_str(),
        )
        .ctx("mount overlay on", dst)
    };
    match mount_with(format!("{data},volatile")) {
        Err(e) if e.errno == Some(Errno::INVAL) => mount_with(data),
        other => other,
    }
}

/// `mkdir -p`; directories that exist are fine, whatever their mode.
fn mkdir_p(path: &Path, mode: u32) -> Result<()> {
    match mkdirat(CWD, path, Mode::from_raw_mode(mode)) {
        Ok(()) | Err(Errno::EXIST) => Ok(()),
        Err(Errno::NOENT) => {
            if let Some(parent) = path.parent() {
                mkdir_p(parent, mode)?;
            }
            match mkdirat(CWD, path, Mode::from_raw_mode(mode)) {
                Ok(()) | Err(Errno::EXIST) => Ok(()),
                Err(e) => Err(Error::sys("mkdir", path, e)),
            }
        }
        Err(e) => Err(Error::sys("mkdir", path, e)),
    }
}

/// Cuts mount propagation from the host: `/` and everything below become slaves, so nothing
/// mounted in the pod reaches the host (and the host's unmounts still reach us: runc PR 1500
/// prefers SLAVE over PRIVATE for that reason). This must precede every mount.
///
/// Where `/` is not a mount point (rkt run chroot'ed into a plain directory) `mount(2)` gives
/// EINVAL, and the mount that holds `/`, the one pod mounts would propagate through, is not
/// reachable by any path: see `isolate_from_chroot`. `stage1_root` is a directory that
/// fallback may use (it is created anyway).
pub fn isolate_propagation(stage1_root: &Path) -> Result<()> {
    let flags = MountPropagationFlags::REC | MountPropagationFlags::DOWNSTREAM;
    match mount_change("/", flags) {
        Ok(()) => Ok(()),
        Err(Errno::INVAL) => {
            crate::debug!("`/` is not a mount point; changing propagation outside the chroot");
            isolate_from_chroot(stage1_root, flags)
        }
        Err(e) => Err(Error::sys("make mounts slave under", "/", e)),
    }
}

/// Steps out of the chroot, makes the namespace's real root a recursive slave, and steps back.
///
/// We are root in a mount namespace of our own, so this changes nothing outside the pod: it is
/// the classic chroot walk (chroot(2) NOTES: chroot does not change the cwd, so after
/// `chroot(subdir)` the cwd lies outside the root and `..` climbs to the real root), used here
/// to reach the one mount whose propagation matters. The original root is kept as an fd and
/// restored with fchdir + chroot(".") before anything else happens.
fn isolate_from_chroot(escape: &Path, flags: MountPropagationFlags) -> Result<()> {
    use rustix::fs::{open, stat, OFlags};
    let old_root = open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ctx("open", "/")?;
    mkdir_p(escape, 0o755)?;
    chdir("/").ctx("chdir", "/")?;
    chroot(escape).ctx("chroot", escape)?;
    // `..` of the real root is the real root itself: climb until "." and ".." agree.
    let mut result = Err(Error::sys("find the namespace root from", "/", Errno::LOOP));
    for _ in 0..4096 {
        let (here, up) = (stat(".").ctx("stat", ".")?, stat("..").ctx("stat", "..")?);
        if (here.st_dev, here.st_ino) == (up.st_dev, up.st_ino) {
            result = chroot(".")
                .ctx("chroot", "/")
                .and_then(|()| mount_change("/", flags).ctx("make mounts slave under", "/"));
            break;
        }
        chdir("..").ctx("chdir", "..")?;
    }
    // Back into the original root, whatever happened above.
    rustix::process::fchdir(&old_root).ctx("fchdir", "/")?;
    chroot(".").ctx("chroot", "/")?;
    chdir("/").ctx("chdir", "/")?;
    result
}

/// Makes `root` the root of this mount namespace (crun `do_pivot`).
///
/// `pivot_root(".", ".")` stacks the old root on top of the new one at `/`, and
/// `umount2(".", MNT_DETACH)` then drops it: no `put_old` directory is needed, so this works on
/// a read-only new root (pivot_root(2) NOTES). The old root is detached, not just hidden, so
/// nothing of the host's tree stays reachable. Where pivot_root is impossible (the root is the
/// initramfs rootfs, or not a mount point: EINVAL), fall back to MS_MOVE + chroot, as crun does
/// for `--no-pivot`; that is weaker (chroot can be escaped with CAP_SYS_CHROOT and a second
/// chroot), so it is used only then.
pub fn pivot(root: &Path) -> Result<()> {
    chdir(root).ctx("chdir", root)?;
    match pivot_root(".", ".") {
        Ok(()) => {
            // Exactly one detach, as crun and bubblewrap do: a second one would detach the
            // new root itself, which "." also names once the old root is gone.
            unmount(".", UnmountFlags::DETACH).ctx("detach the old root from", root)?;
            chdir("/").ctx("chdir", "/")
        }
        Err(Errno::INVAL) => {
            crate::debug!(
                "pivot_root into {} refused; moving the mount and chroot'ing",
                root.display()
            );
            mount_move(".", "/").ctx("move mount to / from", root)?;
            chroot(".").ctx("chroot", root)?;
            chdir("/").ctx("chdir", "/")
        }
        Err(e) => Err(Error::sys("pivot_root", root, e)),
    }
}

#[cfg(test)]
mod tests;
