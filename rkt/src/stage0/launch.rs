//! The steps of `rkt run`, in order. Each step's failure leaves the pod in a truthful state:
//! before `Ready` the pod stays in `prepare/` and, once rkt exits, reads as "aborted prepare"
//! (removable by `rm` and gc); after `Go` it is in `run/` with its lock held by PID 1.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use stage1_init::plan::{Net, RootfsMode};
use stage1_init::proto;

use super::applist::AppArg;
use super::plan::{self, AppInput, PodInput, RootfsView};
use super::rootfs::TreeView;
use super::volumes;
use super::{check_os_arch, io_err, Error, RunOptions, StartOptions};
use crate::appc::{
    AcIdentifier, AcName, App, Exec, ImageId, Mount, PodManifest, RuntimeApp, RuntimeImage, Volume,
    VolumeKind,
};
use crate::paths;
use crate::pod::{Dir, Pod};
use crate::store::{ImageKey, Store};
use crate::sys::fs::{write_atomic, Durability};
use crate::sys::lock::{FileLock, LockKind};
use crate::sys::spawn;
use crate::terminal::Terminal;

/// `statfs.f_type` of overlayfs, which refuses an upper dir on overlayfs.
const OVERLAYFS_SUPER_MAGIC: u64 = 0x794c_7630;

/// One app, resolved against the store.
struct Resolved {
    name: String,
    key: ImageKey,
    manifest: crate::appc::ImageManifest,
    app: App,
    tree: String,
    readonly_rootfs: bool,
    annotations: crate::appc::Annotations,
    cli_env: Vec<(String, String)>,
    cli_mounts: Vec<(String, String)>,
}

/// Runs the pod and returns its exit status (the app's; 128+N for signal N): [`prepare`] and
/// [`start`] back to back, the pod lock held throughout.
pub(crate) fn run(data_dir: &Path, opts: &RunOptions) -> Result<u8, Error> {
    let (pod, lock) = prepare(data_dir, opts)?;
    start(data_dir, pod, lock, &opts.start_options())
}

/// `rkt prepare`: [`prepare`], then the pod moves to `prepared/` and its lock is released.
pub(crate) fn prepare_only(data_dir: &Path, opts: &RunOptions) -> Result<String, Error> {
    let (mut pod, lock) = prepare(data_dir, opts)?;
    pod.move_to(Dir::Prepared)?;
    drop(lock);
    Ok(pod.uuid)
}

/// `rkt run-prepared`: takes a `prepared` pod's lock (refusing one another rkt is starting)
/// and [`start`]s it.
pub(crate) fn run_prepared(data_dir: &Path, uuid: &str, opts: &StartOptions) -> Result<u8, Error> {
    // The pod's paths go into the plan, which stage1-init reads after chdir: absolute ones.
    let data_dir = &std::path::absolute(data_dir).map_err(io_err("resolve", data_dir))?;
    let pod = Pod::resolve(data_dir, uuid)?;
    let state = pod.state()?;
    if state != crate::pod::State::Prepared {
        return Err(Error::Pod(crate::pod::Error::Busy {
            uuid: pod.uuid,
            state,
        }));
    }
    let Some(lock) = pod.try_lock()? else {
        return Err(Error::Apps(format!(
            "pod {} is being started by another rkt",
            pod.uuid
        )));
    };
    // Moved between the check and the lock (another run-prepared, or gc)?
    if !pod.path().exists() {
        return Err(Error::Pod(crate::pod::Error::NotFound(pod.uuid)));
    }
    start(data_dir, pod, lock, opts)
}

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
        super::cgroups::pod_resources(&pm.isolators, opts.pids_limit)?;
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

    let (pod, lock) = Pod::create(data_dir)?;
    if let Some(file) = &opts.uuid_file_save {
        write_atomic(file, pod.uuid.as_bytes(), Durability::NoFsync)
            .map_err(io_err("write", file))?;
    }
    let dir = pod.path();
    let per_app: Vec<volumes::AppMounts<'_>> = resolved
        .iter()
        .map(|r| (r.app.mount_points.as_slice(), r.cli_mounts.as_slice()))
        .collect();
    let (_, empties) = volumes::plan_mounts(&dir, &mut volumes, &per_app).map_err(Error::Apps)?;
    for e in &empties {
        create_empty_volume(e)?;
    }
    write_pod_files(
        &dir,
        &resolved,
        &volumes,
        opts.pod_manifest.as_ref(),
        overlay,
    )?;
    let record = PreparedRecord {
        overlay,
        protect_kernel: !opts.insecure_paths,
        insecure: opts.insecure_run,
        pids_limit: opts.pids_limit,
        inherit_env: opts.inherit_env.clone(),
        set_env_file: opts.set_env_file.clone(),
        set_env: opts.set_env.clone(),
        cli_env: resolved.iter().map(|r| r.cli_env.clone()).collect(),
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
struct PreparedRecord {
    overlay: bool,
    protect_kernel: bool,
    /// `--insecure-options=capabilities,seccomp` at prepare time.
    #[serde(default)]
    insecure: super::confinement::Insecure,
    /// `--pids-limit` (`None`: the default; 0: none).
    #[serde(default)]
    pids_limit: Option<u64>,
    inherit_env: Vec<(String, String)>,
    set_env_file: Vec<(String, String)>,
    set_env: Vec<(String, String)>,
    /// Each app's `--environment`, in manifest order.
    cli_env: Vec<Vec<(String, String)>>,
}

/// One app as [`start`] rebuilds it from the pod dir.
struct Prepared {
    name: String,
    app: App,
    rootfs: PathBuf,
    tree: String,
    readonly_rootfs: bool,
    cli_env: Vec<(String, String)>,
    cli_mounts: Vec<(String, String)>,
}

/// rkt refuses a host volume whose source is missing before anything is created.
fn check_host_sources(volumes: &[Volume]) -> Result<(), Error> {
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
struct Loaded {
    apps: Vec<Prepared>,
    volumes: Vec<Volume>,
    record: PreparedRecord,
    /// The pod manifest's own isolators (`--pod-manifest`).
    pod_isolators: Vec<crate::appc::Isolator>,
}

fn load_prepared(store: &Store, dir: &Path) -> Result<Loaded, Error> {
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
        let key = store.resolve(&image)?;
        let rootfs = store.rendered_rootfs(&key)?;
        let tpath = paths::pod_app_tree(dir, &name);
        let tree = std::fs::read_to_string(&tpath)
            .map_err(io_err("read", &tpath))?
            .trim()
            .to_string();
        apps.push(Prepared {
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
    })
}

/// The start phase: computes the plan from the pod dir and the start options, starts
/// stage1-init, persists `pid` and moves the pod to `run/` between `Ready` and `Go`, hands the
/// pod lock to PID 1 and waits for the pod's exit status.
pub(crate) fn start(
    data_dir: &Path,
    mut pod: Pod,
    lock: FileLock,
    opts: &StartOptions,
) -> Result<u8, Error> {
    let data_dir = &std::path::absolute(data_dir).map_err(io_err("resolve", data_dir))?;
    let store = Store::open(data_dir)?;
    let dir = pod.path();
    let Loaded {
        apps: prepared,
        mut volumes,
        record,
        pod_isolators,
    } = load_prepared(&store, &dir)?;
    check_host_sources(&volumes)?;
    let per_app: Vec<volumes::AppMounts<'_>> = prepared
        .iter()
        .map(|r| (r.app.mount_points.as_slice(), r.cli_mounts.as_slice()))
        .collect();
    // The empty volumes were created by prepare; only the mounts are needed again.
    let (mut app_mounts, _) =
        volumes::plan_mounts(&dir, &mut volumes, &per_app).map_err(Error::Apps)?;
    let views: Vec<TreeView> = prepared
        .iter()
        .map(|r| TreeView::open(&r.rootfs).map_err(io_err("open", &r.rootfs)))
        .collect::<Result<_, _>>()?;
    let inputs: Vec<(AppInput, &dyn RootfsView)> = prepared
        .iter()
        .zip(&views)
        .zip(app_mounts.iter_mut())
        .map(|((r, v), mounts)| {
            let mode = if record.overlay {
                RootfsMode::Overlay {
                    upper: paths::pod_overlay_upper(&dir, &r.tree, &r.name),
                    work: paths::pod_overlay_work(&dir, &r.tree, &r.name),
                }
            } else {
                RootfsMode::Copy
            };
            let input = AppInput {
                name: r.name.clone(),
                app: r.app.clone(),
                lower: r.rootfs.clone(),
                mode,
                cli_env: r.cli_env.clone(),
                readonly_rootfs: r.readonly_rootfs,
                mounts: std::mem::take(mounts),
            };
            (input, v as &dyn RootfsView)
        })
        .collect();
    let pod_input = PodInput {
        uuid: pod.uuid.clone(),
        hostname: opts.hostname.clone(),
        pod_dir: dir.clone(),
        net: opts.net,
        host_hosts: Path::new("/etc/hosts").is_file(),
        host_resolv: Path::new("/etc/resolv.conf").is_file(),
        protect_kernel: record.protect_kernel,
        insecure: record.insecure,
        inherit_env: record.inherit_env,
        set_env_file: record.set_env_file,
        set_env: record.set_env,
        dns: opts.dns.clone(),
        hosts: opts.hosts.clone(),
        interactive: opts.interactive,
        output: super::output::mode(),
    };
    let plan::Planned {
        plan: mut planned,
        resources,
    } = plan::compute(&pod_input, &inputs).map_err(Error::Plan)?;
    let plan_path = stage1_init::plan::plan_file(&dir);
    let write_plan = |p: &stage1_init::plan::Plan| {
        let bytes = p
            .encode()
            .map_err(|e| Error::Plan(plan::PlanError::Invalid(e.to_string())))?;
        write_atomic(&plan_path, &bytes, Durability::NoFsync).map_err(io_err("write", &plan_path))
    };
    if opts.fly {
        // rkt's fly: the host's namespaces and cgroups, none of a pod's confinement.
        write_plan(&planned)?;
        return super::fly::exec(pod, lock, &planned).map(|never| match never {});
    }
    let pod_limits = super::cgroups::pod_resources(&pod_isolators, record.pids_limit)?;
    let cgroups = super::cgroups::create(
        &dir,
        &planned,
        &resources,
        pod_limits,
        record.pids_limit.is_some_and(|n| n > 0),
        record.protect_kernel,
    )?;
    plan::attach_cgroups(&mut planned, &cgroups, record.protect_kernel);
    write_plan(&planned)?;

    // Launch: the plan path is in the pod dir, which moves to run/ before Go; stage1-init
    // reads the plan before Ready, so the path it is given now is the one it needs.
    let exe =
        spawn::sealed_memfd("stage1-init", crate::stage1::STAGE1_INIT).map_err(Error::Spawn)?;
    let (parent, child_end) = proto::pair().map_err(Error::Spawn)?;
    let sync_fd = child_end.as_fd().as_raw_fd();
    let lock_fd = lock.as_fd().as_raw_fd();
    let mut argv = vec!["stage1-init".to_string()];
    if opts.debug {
        argv.push("--debug".into());
    }
    argv.push(plan_path.to_string_lossy().into_owned());
    let env = vec![
        (proto::ENV_SYNC_FD.to_string(), sync_fd.to_string()),
        (proto::ENV_LOCK_FD.to_string(), lock_fd.to_string()),
    ];
    let (mut relays, out_w, err_w) = super::output::pipes()?;
    // Created in its cgroup v2 leaf; it joins its v1 leaves itself, right before the apps.
    let stage1_v2 = match &cgroups.stage1_v2 {
        Some(dir) => Some(std::fs::File::open(dir).map_err(io_err("open", dir))?),
        None => None,
    };
    let mut child = spawn::spawn_pid1(
        exe.as_fd(),
        &argv,
        &env,
        &[sync_fd, lock_fd],
        (out_w, err_w),
        stage1_v2.as_ref().map(AsFd::as_fd),
        spawn::Namespaces {
            net: opts.net == Net::None,
        },
    )
    .map_err(Error::Spawn)?;
    drop(child_end);
    drop(exe);
    let pid = child.id();
    // From here a TERM to rkt reaches the pod; before Go, stage1-init's apps do not exist yet.
    spawn::forward_signals(pid as i32).map_err(Error::Spawn)?;
    // A prepared pod that fails from here on ends up `exited` (in `run/`, unlocked), as in rkt,
    // which moved it there before starting stage1: its stage1 dir is no longer pristine.
    let fail = |mut pod: Pod, e: Error| {
        if pod.dir == Dir::Prepared {
            let _ = pod.move_to(Dir::Run);
        }
        e
    };

    let mut masters = match parent.wait_ready() {
        Ok(masters) => masters,
        Err(e) => {
            // stage1-init exits 254 after an E frame; reap it before reporting.
            let _ = child.wait();
            relays.finish();
            return Err(fail(pod, Error::Stage1(e)));
        }
    };
    // --interactive: the pod's terminal (the first pty master that came with Ready), relayed
    // below; then the apps' output terminals.
    let interactive = (opts.interactive && !masters.is_empty()).then(|| masters.remove(0));
    let terminal = expect_terminal(opts.interactive, interactive).and_then(|t| {
        relays.add_terminals(masters, &planned.apps, planned.output)?;
        Ok(t)
    });
    let terminal = match terminal {
        Ok(t) => t,
        Err(e) => {
            drop(parent);
            let _ = child.wait();
            relays.finish();
            return Err(fail(pod, e));
        }
    };
    crate::store::failpoint::hit("pod-ready");
    let pid_path = paths::pod_pid(&dir);
    let start_path = paths::pod_pid_starttime(&dir);
    // The start time tells `rkt stop` whether the process behind this PID is still the
    // pod's PID 1 (PIDs are reused).
    let persisted = crate::sys::proc::start_time(pid as i32)
        .map_err(io_err(
            "read start time of",
            Path::new(&format!("/proc/{pid}")),
        ))
        .and_then(|t| {
            write_atomic(
                &start_path,
                format!("{t}\n").as_bytes(),
                Durability::NoFsync,
            )
            .map_err(io_err("write", &start_path))
        })
        .and_then(|()| {
            write_atomic(
                &pid_path,
                format!("{pid}\n").as_bytes(),
                Durability::NoFsync,
            )
            .map_err(io_err("write", &pid_path))
        })
        .and_then(|()| pod.move_to(Dir::Run).map_err(Error::Pod));
    if let Err(e) = persisted {
        // No Go: closing the socket makes stage1-init exit without starting anything.
        drop(parent);
        let _ = child.wait();
        relays.finish();
        return Err(fail(pod, e));
    }
    crate::store::failpoint::hit("pod-running");
    // PID 1 holds the pod lock from now on; rkt's copy of the fd can go.
    drop(lock);
    if let Err(e) = parent.go() {
        let _ = child.wait();
        relays.finish();
        return Err(Error::Stage1(e));
    }
    drop(parent);
    if let Some(t) = terminal {
        t.relay().map_err(Error::Tty)?;
    }
    let status = child.wait().map_err(Error::Spawn)?;
    // Everything the pod wrote is out before rkt exits.
    relays.finish();
    Ok(exit_code(status))
}

/// The terminal of a pod that is (`interactive`) or is not supposed to have one: a master
/// must come with `Ready` exactly when rkt asked for a terminal.
fn expect_terminal(interactive: bool, master: Option<OwnedFd>) -> Result<Option<Terminal>, Error> {
    match (interactive, master) {
        (true, Some(m)) => Terminal::attach(m).map(Some).map_err(Error::Tty),
        (false, None) => Ok(None),
        (true, None) => Err(Error::Tty(std::io::Error::other(
            "stage1-init sent no terminal",
        ))),
        (false, Some(_)) => Err(Error::Tty(std::io::Error::other(
            "stage1-init sent a terminal that was not asked for",
        ))),
    }
}

/// The pod's status as rkt's exit code: the code, or 128+N when PID 1 died of signal N.
fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => c as u8,
        (None, Some(s)) => (128 + s) as u8,
        _ => stage1_init::EXIT_FAILED,
    }
}

/// rkt's rule for an image argument that names a file (fetch does the same).
fn is_file_arg(arg: &str) -> Option<&str> {
    if crate::fetch::is_url(arg) {
        return None;
    }
    if let Some(p) = arg.strip_prefix("file://") {
        return Some(p);
    }
    let path = Path::new(arg);
    (path.is_absolute() || path.is_file() || arg.contains("./") || arg.ends_with(".aci"))
        .then_some(arg)
}

/// An image that is not a file: a URL or a name (fetched per `--pull-policy`), or an ID.
fn fetch_app(
    store: &Store,
    image: &str,
    signature: Option<&Path>,
    opts: &RunOptions,
) -> Result<ImageKey, crate::fetch::Error> {
    let (config, policy) = &opts.fetch;
    let fetcher = crate::fetch::Fetcher::new(store, config, *policy);
    if crate::fetch::is_url(image) {
        fetcher.fetch_url(image, signature)
    } else {
        fetcher.fetch_name(image, signature)
    }
}

fn resolve_app(store: &Store, arg: &AppArg, opts: &RunOptions) -> Result<Resolved, Error> {
    let image_err = |reason: String| Error::Image {
        image: arg.image.clone(),
        reason,
    };
    let key = match is_file_arg(&arg.image) {
        Some(path) => {
            let checked = crate::trust::check_local_image(
                &opts.trust,
                opts.insecure_image,
                Path::new(path),
                arg.signature.as_deref().map(Path::new),
            )
            .map_err(|e| Error::Trust {
                image: arg.image.clone(),
                source: Box::new(e),
            })?;
            let key = store.import(Path::new(path))?.key;
            checked.report();
            key
        }
        None => fetch_app(
            store,
            &arg.image,
            arg.signature.as_deref().map(Path::new),
            opts,
        )
        .map_err(|e| image_err(crate::error::chain(&e)))?,
    };
    let manifest = store.manifest(&key)?;
    check_os_arch(&manifest.labels).map_err(image_err)?;
    let name = match &arg.name {
        Some(n) => AcName::parse(n).map_err(|e| image_err(format!("--name: {e}")))?,
        None => AcName::from_image_name(&manifest.name).map_err(|e| image_err(e.to_string()))?,
    };
    let mut app = match (&manifest.app, &arg.exec) {
        (Some(app), _) => app.clone(),
        (None, Some(_)) => App::new(Exec::default(), "0", "0"),
        (None, None) => {
            return Err(image_err(
                "the image has no app section: give one with --exec".into(),
            ))
        }
    };
    let mut argv: Vec<String> = app.exec.args().to_vec();
    if let Some(exec) = &arg.exec {
        match argv.first_mut() {
            Some(first) => *first = exec.clone(),
            None => argv.push(exec.clone()),
        }
    }
    if let Some(args) = &arg.args {
        argv.truncate(1);
        argv.extend(args.iter().cloned());
    }
    app.exec = Exec::new(argv).map_err(|e| image_err(e.to_string()))?;
    if let Some(u) = &arg.user {
        app.user.clone_from(u);
    }
    if let Some(g) = &arg.group {
        app.group.clone_from(g);
    }
    if let Some(gids) = &arg.supplementary_gids {
        app.supplementary_gids.clone_from(gids);
    }
    if let Some(dir) = &arg.working_dir {
        if !dir.starts_with('/') {
            return Err(image_err(format!(
                "--working-dir {dir:?} is not an absolute path"
            )));
        }
        app.working_directory = Some(dir.clone());
    }
    // The pod manifest shows the app as it runs: --environment over the image's env.
    for (k, v) in &arg.environment {
        app.environment
            .set(k, v)
            .map_err(|e| image_err(format!("--environment: {e}")))?;
    }
    override_isolators(&mut app, arg).map_err(image_err)?;
    for (k, v) in &arg.user_annotations {
        app.user_annotations.insert(k, v);
    }
    for (k, v) in &arg.user_labels {
        app.user_labels.insert(k, v);
    }
    let mut annotations = crate::appc::Annotations::default();
    for (k, v) in &arg.annotations {
        let key =
            AcIdentifier::parse(k).map_err(|e| image_err(format!("--annotation {k:?}: {e}")))?;
        annotations
            .set(key, v)
            .map_err(|e| image_err(format!("--annotation {k:?}: {e}")))?;
    }
    // Checks the tree is there and records the image as used; start reads it again.
    store.rendered_rootfs(&key)?;
    let tree = store.record(&key)?.tree;
    Ok(Resolved {
        name: name.as_str().to_string(),
        key,
        manifest,
        app,
        tree,
        readonly_rootfs: arg.readonly_rootfs.unwrap_or(false),
        annotations,
        cli_env: arg.environment.clone(),
        cli_mounts: arg.mounts.clone(),
    })
}

/// `--caps-retain`, `--caps-remove` and `--seccomp` replace the image's isolators of their
/// kind (rkt 1.30 `prepareIsolators`), so the pod manifest shows what the app runs with.
fn override_isolators(app: &mut App, arg: &AppArg) -> Result<(), String> {
    use crate::appc::isolator::Seccomp;
    use crate::appc::Isolator;
    let caps = match (&arg.caps_retain, &arg.caps_remove) {
        (Some(_), Some(_)) => {
            // rkt 1.30's words.
            return Err("cannot use both --caps-retain and --caps-remove on the same image".into());
        }
        (Some(set), None) => Some(Isolator::CapabilitiesRetainSet(set.clone())),
        (None, Some(set)) => Some(Isolator::CapabilitiesRemoveSet(set.clone())),
        (None, None) => None,
    };
    if let Some(iso) = caps {
        app.isolators.retain(|i| {
            !matches!(
                i,
                Isolator::CapabilitiesRetainSet(_) | Isolator::CapabilitiesRemoveSet(_)
            )
        });
        app.isolators.push(iso);
    }
    let resource = |q: &crate::appc::Quantity| crate::appc::isolator::Resource {
        default: false,
        request: Some(q.clone()),
        limit: Some(q.clone()),
    };
    if let Some(q) = &arg.memory {
        app.isolators.push(Isolator::ResourceMemory(resource(q)));
    }
    if let Some(q) = &arg.cpu {
        app.isolators.push(Isolator::ResourceCpu(resource(q)));
    }
    if let Some(n) = arg.cpu_shares {
        app.isolators
            .retain(|i| !matches!(i, Isolator::CpuShares(_)));
        app.isolators.push(Isolator::CpuShares(n));
    }
    if let Some(n) = arg.oom_score_adj {
        app.isolators
            .retain(|i| !matches!(i, Isolator::OomScoreAdj(_)));
        app.isolators.push(Isolator::OomScoreAdj(n));
    }
    if let Some(flag) = &arg.seccomp {
        let value = Seccomp {
            set: flag.set.clone(),
            errno: flag.errno.clone(),
        };
        app.isolators.retain(|i| {
            !matches!(
                i,
                Isolator::SeccompRetainSet(_) | Isolator::SeccompRemoveSet(_)
            )
        });
        app.isolators.push(if flag.retain {
            Isolator::SeccompRetainSet(value)
        } else {
            Isolator::SeccompRemoveSet(value)
        });
    }
    Ok(())
}

/// An app of `--pod-manifest`: its image by ID, its `app` (if any) replacing the image's.
fn resolve_runtime_app(store: &Store, ra: &RuntimeApp) -> Result<Resolved, Error> {
    let image = ra.image.id.to_string();
    let image_err = |reason: String| Error::Image {
        image: image.clone(),
        reason,
    };
    let key = store.resolve(&image)?;
    let manifest = store.manifest(&key)?;
    check_os_arch(&manifest.labels).map_err(image_err)?;
    let app = match (&ra.app, &manifest.app) {
        (Some(app), _) | (None, Some(app)) => app.clone(),
        (None, None) => {
            return Err(image_err(format!(
                "app {:?}: neither the pod manifest nor the image has an app section",
                ra.name.as_str()
            )))
        }
    };
    // Checks the tree is there and records the image as used; start reads it again.
    store.rendered_rootfs(&key)?;
    let tree = store.record(&key)?.tree;
    Ok(Resolved {
        name: ra.name.as_str().to_string(),
        key,
        manifest,
        app,
        tree,
        readonly_rootfs: ra.read_only_root_fs,
        annotations: ra.annotations.clone(),
        cli_env: Vec::new(),
        cli_mounts: ra
            .mounts
            .iter()
            .map(|m| (m.volume.as_str().to_string(), m.path.clone()))
            .collect(),
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
    overlay: bool,
) -> Result<(), Error> {
    // A --pod-manifest's pod-level fields (annotations, isolators, ...) are kept as given.
    let mut manifest = base.cloned().unwrap_or_else(PodManifest::new);
    manifest.apps.clear();
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
