//! Fly mode (DESIGN §3.3 point 7), rkt's stage1-fly for CoreOS's systemd wrappers (kubelet,
//! etcd): one app in the host's namespaces, the mount namespace included, so its volume mounts
//! reach the host; chrooted into its rootfs with the host's /proc, /sys and /dev bound in; and
//! `rkt` execs into the app, so its PID, signals and exit code are the app's. The pod lock's fd
//! is passed through the exec: the pod reads as running exactly as long as the app lives.
//! Its mounts live under the pod dir, where gc unmounts them.
//!
//! As rkt's fly, this is not isolation: the app keeps rkt's capabilities and sees the host.

use std::convert::Infallible;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use stage1_init::plan::{app_rootfs_rel, Net, Plan, RootfsMode};

use super::{io_err, Error};
use crate::paths;
use crate::pod::{Dir, Pod};
use crate::sys::fly::{self as sys_fly, Exec};
use crate::sys::fs::{write_atomic, Durability};
use crate::sys::lock::FileLock;

/// The stage1 flags of `run`, as given.
#[derive(Debug, Default, Clone)]
pub(crate) struct Stage1Flags {
    pub(crate) url: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) hash: Option<String>,
    pub(crate) from_dir: Option<String>,
}

/// The name of rkt's fly stage1 image (any version).
const FLY_NAME: &str = "coreos.com/rkt/stage1-fly";
/// The file name the wrappers give `--stage1-from-dir`.
const FLY_FILE: &str = "stage1-fly.aci";

/// Whether the stage1 flags ask for fly mode; `Err` for any stage1 this build does not have
/// (its stage1 is built in; the only other one it provides is fly).
pub(crate) fn wants_fly(f: &Stage1Flags) -> Result<bool, String> {
    let refuse = |flag: &str, value: &str| {
        Err(format!(
            "--{flag}={value}: this rkt has its stage1 built in; the only other stage1 it \
             provides is fly (--stage1-name={FLY_NAME}:VERSION or --stage1-from-dir={FLY_FILE})"
        ))
    };
    for (flag, value) in [
        ("stage1-url", &f.url),
        ("stage1-path", &f.path),
        ("stage1-hash", &f.hash),
    ] {
        if let Some(v) = value {
            return refuse(flag, v);
        }
    }
    if f.name.is_some() && f.from_dir.is_some() {
        return Err("--stage1-name and --stage1-from-dir: give only one stage1".into());
    }
    if let Some(name) = &f.name {
        let image = name.split_once(':').map_or(name.as_str(), |(n, _)| n);
        return if image == FLY_NAME {
            Ok(true)
        } else {
            refuse("stage1-name", name)
        };
    }
    if let Some(file) = &f.from_dir {
        return if file == FLY_FILE {
            Ok(true)
        } else {
            refuse("stage1-from-dir", file)
        };
    }
    Ok(false)
}

/// Checks that `plan` can fly: one app, the host network, no terminal of its own.
pub(super) fn check(plan: &Plan) -> Result<(), Error> {
    let refuse = |what: &str| Err(Error::Apps(format!("fly stage1: {what}")));
    if plan.apps.len() != 1 {
        return refuse("runs exactly one app");
    }
    if plan.net != Net::Host {
        return refuse("runs in the host's network namespace only (--net=host)");
    }
    if plan.apps[0].interactive {
        return refuse("--interactive is not supported (the app uses rkt's own terminal)");
    }
    if matches!(plan.apps[0].mode, RootfsMode::Copy) {
        return refuse("--no-overlay is not supported (its rootfs is an overlay on the tree)");
    }
    Ok(())
}

/// Mounts the app's rootfs and volumes on the host, records the pod as running with this
/// process as its PID, and execs the app. Returns only on failure (the pod then reads as
/// exited, and gc unmounts what was mounted).
pub(super) fn exec(mut pod: Pod, lock: FileLock, plan: &Plan) -> Result<Infallible, Error> {
    check(plan)?;
    let app = &plan.apps[0];
    // This process becomes the app: its PID and start time are the pod's. Recorded and in
    // `run/` before anything is mounted, so that a failure leaves an exited pod whose mounts
    // gc removes (the mounts are made at their final place, never renamed under).
    let dir = pod.path();
    let pid = std::process::id() as i32;
    let start = crate::sys::proc::start_time(pid)
        .map_err(io_err("read start time of", Path::new("/proc/self")))?;
    let start_path = paths::pod_pid_starttime(&dir);
    write_atomic(
        &start_path,
        format!("{start}\n").as_bytes(),
        Durability::NoFsync,
    )
    .map_err(io_err("write", &start_path))?;
    let pid_path = paths::pod_pid(&dir);
    write_atomic(
        &pid_path,
        format!("{pid}\n").as_bytes(),
        Durability::NoFsync,
    )
    .map_err(io_err("write", &pid_path))?;
    pod.move_to(Dir::Run).map_err(Error::Pod)?;

    let dir = pod.path();
    let root = stage1_init::plan::stage1_rootfs(&dir).join(app_rootfs_rel(&app.name));
    std::fs::create_dir_all(&root).map_err(io_err("create", &root))?;
    if let RootfsMode::Overlay { upper, work } = &app.mode {
        // The plan names the upper and work dirs where the pod was when it was planned.
        let (upper, work) = (
            paths::relocate_to_pod(upper, &dir),
            paths::relocate_to_pod(work, &dir),
        );
        crate::sys::overlay::mount_overlay(&app.lower, &upper, &work, &root)
            .map_err(io_err("mount the overlay rootfs on", &root))?;
    }
    let root_fd: OwnedFd = std::fs::File::open(&root)
        .map_err(io_err("open", &root))?
        .into();
    // Before the host's /dev, /proc and /sys are bound in: an image's `/etc -> /dev/shm`
    // then resolves to the image's own directory, never to the host's filesystem.
    etc_files(root_fd.as_fd(), plan, &root)?;
    for host in ["/dev", "/proc", "/sys"] {
        sys_fly::bind_into(
            root_fd.as_fd(),
            Path::new(host),
            Path::new(host),
            true,
            false,
        )
        .map_err(io_err("bind mount into the rootfs", Path::new(host)))?;
    }
    for m in &app.mounts {
        sys_fly::bind_into(
            root_fd.as_fd(),
            // kind=empty volumes are directories under the pod dir.
            &paths::relocate_to_pod(&m.source, &dir),
            Path::new(&m.target),
            m.recursive,
            m.readonly,
        )
        .map_err(io_err(
            "mount volume onto",
            &root.join(m.target.trim_start_matches('/')),
        ))?;
    }
    drop(root_fd);
    // `status --wait-ready`: the app is started by the exec below.
    let ready = paths::pod_supervisor_status(&dir);
    if let Some(parent) = ready.parent() {
        std::fs::create_dir_all(parent).map_err(io_err("create", parent))?;
    }
    std::os::unix::fs::symlink("ready", &ready).map_err(io_err("symlink", &ready))?;
    let argv0 = Path::new(&app.argv[0]).to_path_buf();
    let err = sys_fly::chroot_exec(&Exec {
        root: &root,
        cwd: Path::new(&app.cwd),
        uid: app.uid,
        gid: app.gid,
        groups: &app.supplementary_gids,
        argv: &app.argv,
        env: &app.env,
        keep: lock.as_fd(),
    });
    match err {
        Ok(never) => match never {},
        Err(e) => Err(io_err("execute", &argv0)(e)),
    }
}

/// The app's `/etc/resolv.conf` and `/etc/hosts` as the plan says, written into its rootfs
/// (rkt's fly copied a generated resolv.conf in and bound host files read-only); fly keeps
/// the host's host name, so there is no `/etc/hostname`.
fn etc_files(root: std::os::fd::BorrowedFd<'_>, plan: &Plan, shown: &Path) -> Result<(), Error> {
    use stage1_init::plan::EtcFile;
    for (name, file) in [("resolv.conf", &plan.resolv), ("hosts", &plan.hosts)] {
        let target = Path::new("/etc").join(name);
        let err = io_err("write", &shown.join("etc").join(name));
        match file {
            EtcFile::Keep => {}
            EtcFile::Bind(src) => {
                sys_fly::bind_into(root, src, &target, false, true).map_err(err)?
            }
            EtcFile::Write(text) => sys_fly::write_into(
                root,
                Path::new("etc"),
                name.as_ref(),
                text.as_bytes(),
                false,
            )
            .map_err(err)?,
            EtcFile::Default(text) => {
                sys_fly::write_into(root, Path::new("etc"), name.as_ref(), text.as_bytes(), true)
                    .map_err(err)?
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(name: Option<&str>, from_dir: Option<&str>) -> Stage1Flags {
        Stage1Flags {
            name: name.map(Into::into),
            from_dir: from_dir.map(Into::into),
            ..Stage1Flags::default()
        }
    }

    #[test]
    fn only_fly_is_another_stage1() {
        assert_eq!(wants_fly(&Stage1Flags::default()), Ok(false));
        assert_eq!(
            wants_fly(&flags(Some("coreos.com/rkt/stage1-fly:1.30.0"), None)),
            Ok(true)
        );
        assert_eq!(
            wants_fly(&flags(Some("coreos.com/rkt/stage1-fly"), None)),
            Ok(true)
        );
        assert_eq!(wants_fly(&flags(None, Some("stage1-fly.aci"))), Ok(true));
        for f in [
            flags(Some("coreos.com/rkt/stage1-coreos:1.30.0"), None),
            flags(None, Some("stage1-coreos.aci")),
            Stage1Flags {
                url: Some("https://x/s1.aci".into()),
                ..Stage1Flags::default()
            },
            Stage1Flags {
                path: Some("/s1.aci".into()),
                ..Stage1Flags::default()
            },
            Stage1Flags {
                hash: Some("sha512-00".into()),
                ..Stage1Flags::default()
            },
        ] {
            let e = wants_fly(&f).unwrap_err();
            assert!(e.contains("built in") && e.contains("stage1-fly"), "{e}");
        }
        assert!(wants_fly(&flags(
            Some("coreos.com/rkt/stage1-fly"),
            Some("stage1-fly.aci")
        ))
        .is_err());
    }
}
