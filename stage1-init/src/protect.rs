//! Kernel-tunable protection for an app, applied in its own mount namespace before the pivot:
//! the union of rkt's `protectKernelTunables` (stage1/init/common/app.go) and moby's masked
//! and read-only paths (security checklist §2.1). Disabled by `--insecure-options=paths`.
//!
//! Paths are opened inside the app's rootfs (through the /proc and /sys just mounted there)
//! and mounted on via their `/proc/self/fd` links, like every other mount into a rootfs.

use std::path::Path;

use rustix::fs::{fstat, FileType};
use rustix::io::Errno;
use rustix::mount::{mount, mount_bind, mount_remount, MountFlags};

use crate::approot::AppRoot;
use crate::error::{Context, Error, Result};

/// The empty mode-000 file bound over masked files, in the stage1 root's view (`rootfs::ops`
/// creates it).
pub const INACCESSIBLE: &str = "/rkt/inaccessible";

/// Read-only: writing these reconfigures the host kernel (sysctls, IRQ affinity, SysRq).
const READ_ONLY: [&str; 5] = [
    "proc/bus",
    "proc/fs",
    "proc/irq",
    "proc/sys",
    "proc/sysrq-trigger",
];

/// Masked files: kernel memory, keys, symbol addresses and timing side channels.
const MASKED_FILES: [&str; 11] = [
    "proc/config.gz",
    "proc/interrupts",
    "proc/kallsyms",
    "proc/kcore",
    "proc/keys",
    "proc/kmem",
    "proc/latency_stats",
    "proc/mem",
    "proc/sched_debug",
    "proc/timer_list",
    "proc/timer_stats",
];

/// Masked directories: an empty read-only tmpfs of mode 000 (rkt's `d---------`).
const MASKED_DIRS: [&str; 9] = [
    "proc/acpi",
    "proc/asound",
    "proc/scsi",
    "sys/devices/virtual/powercap",
    "sys/firmware",
    "sys/fs",
    "sys/hypervisor",
    "sys/module",
    "sys/power",
];

/// Applies the protection inside `root`; `proc` is the procfs to find `self/fd` in. A path
/// this kernel does not have is skipped. With `cgroup_dir`, the `/sys/fs` mask keeps an empty
/// `cgroup` directory, where the app's cgroup view goes (`cgroups::mount_view`).
pub fn apply(root: &AppRoot, proc: &Path, cgroup_dir: bool) -> Result<()> {
    let locked = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    for rel in READ_ONLY {
        let Some(fd) = existing(root, rel)? else {
            continue;
        };
        let at = AppRoot::fd_path(proc, &fd);
        mount_bind(&at, &at).ctx("bind mount onto", root.shown(rel))?;
        // Re-open through the new bind mount, so that the remount hits it, not procfs itself.
        let Some(fd) = existing(root, rel)? else {
            continue;
        };
        mount_remount(
            AppRoot::fd_path(proc, &fd),
            MountFlags::BIND | MountFlags::RDONLY | locked,
            "",
        )
        .ctx("remount read-only", root.shown(rel))?;
    }
    for rel in MASKED_FILES {
        let Some(fd) = existing(root, rel)? else {
            continue;
        };
        mount_bind(INACCESSIBLE, AppRoot::fd_path(proc, &fd)).ctx("mask", root.shown(rel))?;
    }
    for rel in MASKED_DIRS {
        let Some(fd) = existing(root, rel)? else {
            continue;
        };
        if FileType::from_raw_mode(fstat(&fd).ctx("stat", root.shown(rel))?.st_mode)
            != FileType::Directory
        {
            return Err(Error::sys("mask", root.shown(rel), Errno::NOTDIR));
        }
        if rel == "sys/fs" && cgroup_dir {
            let at = AppRoot::fd_path(proc, &fd);
            mount("tmpfs", &at, "tmpfs", locked, c"mode=755,size=4k")
                .ctx("mask", root.shown(rel))?;
            let fs = root.dir(rel, false)?;
            rustix::fs::mkdirat(&fs, "cgroup", rustix::fs::Mode::from_raw_mode(0o755))
                .ctx("mkdir", root.shown("sys/fs/cgroup"))?;
            mount_remount(
                AppRoot::fd_path(proc, &fs),
                MountFlags::BIND | MountFlags::RDONLY | locked,
                "",
            )
            .ctx("remount read-only", root.shown(rel))?;
            continue;
        }
        mount(
            "tmpfs",
            AppRoot::fd_path(proc, &fd),
            "tmpfs",
            MountFlags::RDONLY | locked,
            c"mode=000,size=4k",
        )
        .ctx("mask", root.shown(rel))?;
    }
    Ok(())
}

/// `rel` opened inside the rootfs, or `None` when it does not exist.
fn existing(root: &AppRoot, rel: &str) -> Result<Option<std::os::fd::OwnedFd>> {
    match root.lookup(rel) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(Error::sys("open", root.shown(rel), e)),
    }
}
