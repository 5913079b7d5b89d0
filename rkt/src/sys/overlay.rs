//! A read-only merged view of overlay layers, in a mount namespace of this process's own (it
//! goes away with the process: nothing to unmount, nothing left behind on a crash).

use std::io;
use std::path::Path;

use rustix::mount::{mount, mount_change, MountFlags, MountPropagationFlags};
use rustix::thread::UnshareFlags;

/// `unshare(CLONE_NEWNS)` and `mount --make-rslave /`: from now on this process's mounts are
/// its own and never propagate to the host. Call it while the process is single-threaded.
///
/// # References
/// - unshare(2), mount_namespaces(7)
pub(crate) fn private_mount_namespace() -> io::Result<()> {
    // SAFETY: CLONE_NEWNS without CLONE_FILES or CLONE_FS sharing concerns: the process is
    // single-threaded here (rkt starts no threads before this), so no other thread's view of
    // the file system changes under it.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }?;
    mount_change(
        "/",
        MountPropagationFlags::REC | MountPropagationFlags::DOWNSTREAM,
    )?;
    Ok(())
}

/// `mount -t overlay -o ro,lowerdir=<layers joined by :> overlay <target>`: `layers[0]` on
/// top. Without an upper layer the mount is read-only and whiteouts and opaque directories of
/// the upper layers hide what lies below, exactly as the pod saw it.
///
/// # References
/// - <https://docs.kernel.org/filesystems/overlayfs.html> ("Multiple lower layers")
pub(crate) fn mount_layers_ro(layers: &[&Path], target: &Path) -> io::Result<()> {
    let mut lower = String::from("lowerdir=");
    for (i, layer) in layers.iter().enumerate() {
        if i > 0 {
            lower.push(':');
        }
        lower.push_str(opt(layer)?);
    }
    let data = std::ffi::CString::new(lower).map_err(|_| io::ErrorKind::InvalidInput)?;
    mount(
        "overlay",
        target,
        "overlay",
        MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV,
        Some(data.as_c_str()),
    )?;
    Ok(())
}

/// `mount -t overlay -o lowerdir=L,upperdir=U,workdir=W overlay target`.
///
/// # References
/// - <https://docs.kernel.org/filesystems/overlayfs.html>
pub(crate) fn mount_overlay(
    lower: &Path,
    upper: &Path,
    work: &Path,
    target: &Path,
) -> io::Result<()> {
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        opt(lower)?,
        opt(upper)?,
        opt(work)?
    );
    let data = std::ffi::CString::new(data).map_err(|_| io::ErrorKind::InvalidInput)?;
    mount(
        "overlay",
        target,
        "overlay",
        MountFlags::empty(),
        Some(data.as_c_str()),
    )?;
    Ok(())
}

/// `p` as an overlay option value (which cannot hold `:`, `,` or `\`).
fn opt(p: &Path) -> io::Result<&str> {
    p.to_str()
        .filter(|s| !s.contains([':', ',', '\\']))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{}`: not usable in overlay options", p.display()),
            )
        })
}
