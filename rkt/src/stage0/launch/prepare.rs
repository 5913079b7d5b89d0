//! Prepare: the pod dir (`prepare/`, locked) with the pod manifest, `appsinfo/`, the overlay
//! and empty-volume dirs and the record of prepare-time options; and reading it back at start.

use std::path::{Path, PathBuf};

use super::super::{io_err, volumes, Error, RunOptions};
use super::resolve::{resolve_app, resolve_runtime_app, Resolved};
use crate::appc::{
    AcName, App, ImageId, Mount, PodManifest, RuntimeApp, RuntimeImage, Volume, VolumeKind,
};
use crate::paths;
use crate::pod::Pod;
use crate::store::Store;
use crate::sys::fs::{write_atomic, Durability};
use crate::sys::lock::{FileLock, LockKind};

/// `statfs.f_type` of overlayfs, which refuses an upper dir on overlayfs.
const OVERLAYFS_SUPER_MAGIC: u64 = 0x794c_7630;

/// The prepare phase: resolves the images, creates the pod (`prepare/`, locked) and writes the
/// pod manifest, `appsinfo/`, the overlay and empty-volume dirs and what [`start`] needs
/// besides (`stage0-prepared`). Returns the pod, still in `prepare/`, and its lock.
pub(crate) fn prepare(data_dir: &Path, opts: &RunOptions) -> Result<(Pod, FileLock), Error> {
    // The plan carries host paths that stage1-init resolves after chdir: make them absolute.
    let data_dir = &std::path::absolute(data_dir).map_err(io_err("resolve", data_dir))?;
    let store = Store::open(data_dir)?;
    // Held until the pod's manifest names its images (image gc takes it exclusively).
    let prepare = crate::pod::prepare_lock(data_dir, LockKind::Shared)?;
    let mut resolved = Vec::new();
    for arg in &opts.apps {
        let r = resolve_app(&store, arg, opts)?;
        // rkt 1.30 `apps.Validate`: app names are unique in a pod.
        if resolved.iter().any(|o: &Resolved| o.name == r.name) {
            return Err(Error::Apps(format!(
                "multiple apps with same name {:?} (use --name)",
                r.name
            )));
        }
        resolved.push(r);
    }
    let mut volumes = opts.volumes.clone();
    if let Some(pm) = &opts.pod_manifest {
        // Refused now, not when the pod starts: an isolator of the pod this rkt cannot apply.
        crate::stage0::cgroups::pod_resources(&pm.isolators, opts.pids_limit)?;
        volumes.clone_from(&pm.volumes);
        for ra in &pm.apps {
            // An app's inline volume (appVolume) joins the pod's unless one has its name.
            for m in &ra.mounts {
                if let Some(v) = &m.app_volume {
                    if !volumes.iter().any(|o| o.name == v.name) {
                        volumes.push(v.clone());
                    }
                }
            }
            resolved.push(resolve_runtime_app(&store, ra)?);
        }
    }
    let overlay = !opts.no_overlay && overlay_usable(data_dir);
    check_host_sources(&volumes)?;
    // rkt checks the forwarded ports against the apps before the pod exists.
    let ports = match &opts.pod_manifest {
        Some(pm) => &pm.ports,
        None => &opts.ports,
    };
    let app_ports: Vec<&[crate::appc::Port]> =
        resolved.iter().map(|r| r.app.ports.as_slice()).collect();
    crate::net::ports::resolve(ports, &app_ports).map_err(Error::Ports)?;

    let (pod, lock) = Pod::create(data_dir)?;
    if let Some(file) = &opts.uuid_file_save {
        write_atomic(file, pod.uuid.as_bytes(), Durability::NoFsync)
            .map_err(io_err("write", file))?;
    }
    let dir = pod.path();
    let per_app: Vec<volumes::AppMounts<'_>> = resolved
        .iter()
        .map(|r| {
            (
                r.app.mount_points.as_slice(),
                r.cli_mounts.as_slice(),
                volumes::converted_from_docker(&r.manifest),
            )
        })
        .collect();
    // The pod manifest keeps the volumes the user gave; the implicit empty ones for image
    // mount points are made again at every start (rkt's stage1 made them), which is how a
    // start knows which ones Docker's semantics fill.
    let mut with_implicit = volumes.clone();
    let (_, empties) =
        volumes::plan_mounts(&dir, &mut with_implicit, &per_app).map_err(Error::Apps)?;
    for e in &empties {
        create_empty_volume(e)?;
    }
    write_pod_files(
        &dir,
        &resolved,
        &volumes,
        opts.pod_manifest.as_ref(),
        ports,
        overlay,
    )?;
    let record = PreparedRecord {
        overlay,
        protect_kernel: !opts.insecure_paths,
        insecure: opts.insecure_run,
        pids_limit: opts.pids_limit,
        fly: opts.fly,
        ipc: opts.ipc,
        inherit_env: opts.inherit_env.clone(),
        set_env_file: opts.set_env_file.clone(),
        set_env: opts.set_env.clone(),
        cli_env: resolved.iter().map(|r| r.cli_env.clone()).collect(),
        from_docker: resolved
            .iter()
            .map(|r| volumes::converted_from_docker(&r.manifest))
            .collect(),
    };
    let path = paths::pod_stage0_prepared(&dir);
    let bytes = serde_json::to_vec(&record).map_err(|e| Error::Apps(e.to_string()))?;
    write_atomic(&path, &bytes, Durability::NoFsync).map_err(io_err("write", &path))?;
    drop(prepare);
    crate::store::failpoint::hit("pod-prepared");
    Ok((pod, lock))
}

/// What a prepared pod needs at start that its manifest does not say: the prepare-time
/// options that enter the plan (rkt kept these in the pod dir too, e.g. `overlay-prepared`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct PreparedRecord {
    pub(super) overlay: bool,
    pub(super) protect_kernel: bool,
    /// `--insecure-options=capabilities,seccomp` at prepare time.
    #[serde(default)]
    pub(super) insecure: crate::stage0::confinement::Insecure,
    /// `--pids-limit` (`None`: the default; 0: none).
    #[serde(default)]
    pub(super) pids_limit: Option<u64>,
    /// Prepared for rkt's fly stage1 (`--stage1-name`, `--stage1-from-dir`).
    #[serde(default)]
    pub(super) fly: bool,
    /// `prepare --ipc`: the default of `run-prepared --ipc`.
    #[serde(default)]
    pub(super) ipc: crate::stage0::Ipc,
    pub(super) inherit_env: Vec<(String, String)>,
    pub(super) set_env_file: Vec<(String, String)>,
    pub(super) set_env: Vec<(String, String)>,
    /// Each app's `--environment`, in manifest order.
    pub(super) cli_env: Vec<Vec<(String, String)>>,
    /// Per app: its image was converted from Docker (its implicit volumes are filled).
    #[serde(default)]
    pub(super) from_docker: Vec<bool>,
}

/// One app as [`start`] rebuilds it from the pod dir.
pub(super) struct Prepared {
    pub(super) name: String,
    pub(super) app: App,
    pub(super) rootfs: PathBuf,
    pub(super) tree: String,
    pub(super) readonly_rootfs: bool,
    pub(super) cli_env: Vec<(String, String)>,
    pub(super) cli_mounts: Vec<(String, String)>,
    /// Its image was converted from Docker (recorded at prepare).
    pub(super) from_docker: bool,
}

/// rkt refuses a host volume whose source is missing before anything is created.
pub(super) fn check_host_sources(volumes: &[Volume]) -> Result<(), Error> {
    for v in volumes {
        if let VolumeKind::Host { source } = &v.kind {
            if std::fs::symlink_metadata(source).is_err() {
                return Err(Error::Apps(format!(
                    "volume {:?}: source `{source}` does not exist",
                    v.name.as_str()
                )));
            }
        }
    }
    Ok(())
}

/// Reads back what [`prepare`] wrote: the manifest's apps and volumes, and the record.
/// What [`start`] reads back from the pod dir.
pub(super) struct Loaded {
    pub(super) apps: Vec<Prepared>,
    pub(super) volumes: Vec<Volume>,
    pub(super) record: PreparedRecord,
    /// The pod manifest's own isolators (`--pod-manifest`).
    pub(super) pod_isolators: Vec<crate::appc::Isolator>,
    /// The pod manifest's forwarded ports (`--port`).
    pub(super) ports: Vec<crate::appc::ExposedPort>,
}

pub(super) fn load_prepared(store: &Store, dir: &Path) -> Result<Loaded, Error> {
    let mpath = paths::pod_manifest(dir);
    let bytes = std::fs::read(&mpath).map_err(io_err("read", &mpath))?;
    let manifest = PodManifest::from_json(&bytes).map_err(|e| Error::Image {
        image: mpath.display().to_string(),
        reason: e.to_string(),
    })?;
    let rpath = paths::pod_stage0_prepared(dir);
    let bytes = std::fs::read(&rpath).map_err(io_err("read", &rpath))?;
    let record: PreparedRecord = serde_json::from_slice(&bytes).map_err(|e| Error::Image {
        image: rpath.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut apps = Vec::with_capacity(manifest.apps.len());
    for (i, ra) in manifest.apps.iter().enumerate() {
        let name = ra.name.as_str().to_string();
        let image = ra.image.id.to_string();
        let app = ra.app.clone().ok_or_else(|| Error::Image {
            image: image.clone(),
            reason: format!("app {name:?} has no app section in the pod manifest"),
        })?;
        let tpath = paths::pod_app_tree(dir, &name);
        let tree = std::fs::read_to_string(&tpath)
            .map_err(io_err("read", &tpath))?
            .trim()
            .to_string();
        // The tree the pod was prepared with, as rkt 1.30 (its treeStoreID): the image may
        // have been removed since, `image rm` keeps the trees of pods.
        let rootfs = store
            .pod_tree_rootfs(&image, &tree)
            .ok_or_else(|| Error::Image {
                image: image.clone(),
                reason: format!("the pod's tree {tree:?} is no longer in the store"),
            })?;
        let from_docker = record.from_docker.get(i).copied().unwrap_or(false);
        apps.push(Prepared {
            from_docker,
            name,
            app,
            rootfs,
            tree,
            readonly_rootfs: ra.read_only_root_fs,
            cli_env: record.cli_env.get(i).cloned().unwrap_or_default(),
            cli_mounts: ra
                .mounts
                .iter()
                .map(|m| (m.volume.as_str().to_string(), m.path.clone()))
                .collect(),
        });
    }
    Ok(Loaded {
        apps,
        volumes: manifest.volumes,
        record,
        pod_isolators: manifest.isolators,
        ports: manifest.ports,
    })
}

/// `<pod>/sharedVolumes/<name>` with the volume's mode and owner (the mode set explicitly, so
/// the umask does not narrow it).
fn create_empty_volume(e: &volumes::EmptyDir) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = e.path.parent() {
        std::fs::create_dir_all(parent).map_err(io_err("create", parent))?;
    }
    std::fs::create_dir(&e.path).map_err(io_err("create", &e.path))?;
    std::os::unix::fs::chown(&e.path, Some(e.uid), Some(e.gid))
        .map_err(io_err("chown", &e.path))?;
    std::fs::set_permissions(&e.path, std::fs::Permissions::from_mode(e.mode))
        .map_err(io_err("chmod", &e.path))?;
    Ok(())
}

/// overlayfs is in the kernel and the data dir is not itself on overlayfs (an upper dir on
/// overlayfs is refused). stage1-init falls back to copying on any other refusal.
fn overlay_usable(data_dir: &Path) -> bool {
    let in_kernel = std::fs::read_to_string("/proc/filesystems").is_ok_and(|s| {
        s.lines()
            .any(|l| l.split_whitespace().last() == Some("overlay"))
    });
    let on_overlay =
        rustix::fs::statfs(data_dir) // f_type's integer type differs between targets.
            .is_ok_and(|st| u64::try_from(st.f_type).ok() == Some(OVERLAYFS_SUPER_MAGIC));
    in_kernel && !on_overlay
}

/// The reified pod manifest, `pod-created`, `appsinfo/` and the overlay dirs.
fn write_pod_files(
    dir: &Path,
    apps: &[Resolved],
    volumes: &[Volume],
    base: Option<&PodManifest>,
    ports: &[crate::appc::ExposedPort],
    overlay: bool,
) -> Result<(), Error> {
    // A --pod-manifest's pod-level fields (annotations, isolators, ...) are kept as given.
    let mut manifest = base.cloned().unwrap_or_else(PodManifest::new);
    manifest.apps.clear();
    manifest.ports = ports.to_vec();
    manifest.volumes = volumes.to_vec();
    for r in apps {
        let id = ImageId::parse(r.key.as_str()).map_err(|e| Error::Image {
            image: r.key.to_string(),
            reason: e.to_string(),
        })?;
        manifest.apps.push(RuntimeApp {
            name: AcName::parse(&r.name).map_err(|e| Error::Image {
                image: r.key.to_string(),
                reason: e.to_string(),
            })?,
            image: RuntimeImage {
                name: Some(r.manifest.name.clone()),
                id,
                labels: r.manifest.labels.clone(),
            },
            app: Some(r.app.clone()),
            read_only_root_fs: r.readonly_rootfs,
            mounts: r
                .cli_mounts
                .iter()
                .filter_map(|(v, t)| {
                    Some(Mount {
                        volume: AcName::parse(v).ok()?,
                        path: t.clone(),
                        app_volume: None,
                    })
                })
                .collect(),
            annotations: r.annotations.clone(),
        });
    }
    let path = paths::pod_manifest(dir);
    // rkt 1.30's stage0 debug line (its tests grep for it).
    crate::log::debug!("stage0: Writing pod manifest");
    write_atomic(&path, manifest.to_json().as_bytes(), Durability::NoFsync)
        .map_err(io_err("write", &path))?;
    let created = paths::pod_created(dir);
    std::fs::write(&created, b"").map_err(io_err("write", &created))?;
    for r in apps {
        let info = paths::pod_appinfo(dir, &r.name);
        std::fs::create_dir_all(&info).map_err(io_err("create", &info))?;
        let m = paths::pod_app_manifest(dir, &r.name);
        write_atomic(&m, r.manifest.to_json().as_bytes(), Durability::NoFsync)
            .map_err(io_err("write", &m))?;
        let t = paths::pod_app_tree(dir, &r.name);
        write_atomic(&t, r.tree.as_bytes(), Durability::NoFsync).map_err(io_err("write", &t))?;
        if overlay {
            for d in [
                paths::pod_overlay_upper(dir, &r.tree, &r.name),
                paths::pod_overlay_work(dir, &r.tree, &r.name),
            ] {
                std::fs::create_dir_all(&d).map_err(io_err("create", &d))?;
            }
        }
    }
    Ok(())
}
