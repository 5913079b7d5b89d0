//! `rkt export`: an exited pod's app rootfs, with the changes the app made, as an ACI with the
//! app's image manifest (rkt 1.30 `export`).
//!
//! With overlay the changes are the app's upper dir over the image's rendered tree: both are
//! mounted read-only as the layers of one overlay, in a mount namespace of rkt's own, so the
//! kernel applies whiteouts and opaque directories exactly as the pod saw them. Without
//! overlay (or when stage1-init fell back to copying) the copied rootfs is the app's rootfs.
//! The archive is written by `image build`'s writer, which never follows a symlink.

use std::path::{Path, PathBuf};

use stage1_init::plan::{app_rootfs_rel, Plan, RootfsMode};

use super::{io_err, Error, Pod, Result, State};
use crate::image::build::{self, Options};
use crate::image::ImageId;
use crate::paths;
use crate::sys::overlay;

/// Where the app's files are once its pod has exited.
#[derive(Debug, PartialEq, Eq)]
enum Rootfs {
    /// The upper dir over the tree.
    Layers { upper: PathBuf, lower: PathBuf },
    /// A directory holding the whole rootfs.
    Dir(PathBuf),
}

/// Writes app `app` (or the pod's only app) of exited pod `pod` to `out` as an ACI.
pub(crate) fn export(pod: &Pod, app: Option<&str>, out: &Path, overwrite: bool) -> Result<ImageId> {
    let state = pod.state()?;
    if !state.is_after_run() {
        return Err(Error::Refused {
            uuid: pod.uuid.clone(),
            what: format!("pod is {state}: only exited pods can be exported"),
        });
    }
    // Held while reading, so that gc does not remove the pod meanwhile.
    let Some(_lock) = pod.try_lock()? else {
        return Err(Error::Busy {
            uuid: pod.uuid.clone(),
            state: State::Deleting,
        });
    };
    let dir = pod.path();
    let plan_path = stage1_init::plan::plan_file(&dir);
    let bytes = std::fs::read(&plan_path).map_err(io_err("read", &plan_path))?;
    let plan = Plan::decode(&bytes).map_err(|e| Error::Refused {
        uuid: pod.uuid.clone(),
        what: format!("invalid plan `{}`: {e}", plan_path.display()),
    })?;
    let names: Vec<&str> = plan.apps.iter().map(|a| a.name.as_str()).collect();
    let name = super::enter::choose_app(&names, app).map_err(|what| Error::Refused {
        uuid: pod.uuid.clone(),
        what,
    })?;
    let app = plan
        .apps
        .iter()
        .find(|a| a.name == name)
        .expect("choose_app returns one of the names");
    let mountpoint = stage1_init::plan::stage1_rootfs(&dir).join(app_rootfs_rel(name));
    let copied = std::fs::read_dir(&mountpoint)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    let rootfs = source(&app.mode, &app.lower, &dir, &mountpoint, copied);
    let manifest = paths::pod_app_manifest(&dir, name);
    let options = Options {
        compress: false,
        owner_root: false,
        overwrite,
    };
    let image_err = |e| Error::Image(Box::new(e));
    match rootfs {
        Rootfs::Dir(d) => build::build_from(&manifest, &d, out, &options).map_err(image_err),
        Rootfs::Layers { upper, lower } => {
            overlay::private_mount_namespace()
                .map_err(io_err("make a private mount namespace for", &dir))?;
            overlay::mount_layers_ro(&[&upper, &lower], &mountpoint)
                .map_err(io_err("mount the app's layers on", &mountpoint))?;
            build::build_from(&manifest, &mountpoint, out, &options).map_err(image_err)
        }
    }
}

/// The app's files: the copy if there is one, else the overlay layers.
fn source(
    mode: &RootfsMode,
    lower: &Path,
    pod_dir: &Path,
    mountpoint: &Path,
    copied: bool,
) -> Rootfs {
    match mode {
        RootfsMode::Overlay { upper, .. } if !copied => Rootfs::Layers {
            upper: paths::relocate_to_pod(upper, pod_dir),
            lower: lower.to_path_buf(),
        },
        _ => Rootfs::Dir(mountpoint.to_path_buf()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_layers_unless_stage1_copied() {
        let mode = RootfsMode::Overlay {
            upper: "/d/prepare/u/up".into(),
            work: "/d/prepare/u/work".into(),
        };
        let (lower, dir, mp) = (
            Path::new("/tree"),
            Path::new("/d/run/u"),
            Path::new("/p/rootfs"),
        );
        assert_eq!(
            source(&mode, lower, dir, mp, false),
            Rootfs::Layers {
                upper: "/d/run/u/up".into(),
                lower: "/tree".into()
            }
        );
        assert_eq!(source(&mode, lower, dir, mp, true), Rootfs::Dir(mp.into()));
        assert_eq!(
            source(&RootfsMode::Copy, lower, dir, mp, false),
            Rootfs::Dir(mp.into())
        );
    }
}
