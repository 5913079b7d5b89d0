//! Start: the launch plan from the pod dir and the start options, the pod's cgroups, then
//! stage1-init, the `Ready`/`Go` handoff and the wait for the pod's exit status.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use stage1_init::plan::{Net, RootfsMode};
use stage1_init::proto;

use super::super::plan::{self, AppInput, PodInput, RootfsView};
use super::super::rootfs::TreeView;
use super::super::{io_err, volumes, Error, StartOptions};
use super::prepare::{check_host_sources, load_prepared, Loaded};
use crate::net::cni::Conf;
use crate::net::select::Attachment;
use crate::paths;
use crate::pod::{Dir, Pod};
use crate::store::Store;
use crate::sys::fs::{write_atomic, Durability};
use crate::sys::lock::FileLock;
use crate::sys::spawn;
use crate::terminal::Terminal;

/// The start phase: computes the plan from the pod dir and the start options, creates the
/// pod's cgroups, starts stage1-init, persists `pid` and moves the pod to `run/` between
/// `Ready` and `Go`, hands the pod lock to PID 1 and waits for the pod's exit status.
pub(crate) fn start(
    data_dir: &Path,
    pod: Pod,
    lock: FileLock,
    opts: &StartOptions,
) -> Result<u8, Error> {
    let data_dir = &std::path::absolute(data_dir).map_err(io_err("resolve", data_dir))?;
    let store = Store::open(data_dir)?;
    let dir = pod.path();
    let mut loaded = load_prepared(&store, &dir)?;
    let opts = &with_prepared(opts, &loaded.record)?;
    let pod_isolators = std::mem::take(&mut loaded.pod_isolators);
    let networks = networks(&loaded, opts)?;
    let (pids_limit, protect_kernel) = (loaded.record.pids_limit, loaded.record.protect_kernel);
    let plan::Planned {
        plan: mut planned,
        resources,
    } = plan_pod(&pod, &dir, loaded, opts, !networks.attachments.is_empty())?;
    if opts.mds_register && !opts.fly {
        // rkt's fly ignored the token: a fly app is not registered.
        register_with_mds(&pod, &dir, &mut planned, opts, &networks)?;
    }
    let plan_path = stage1_init::plan::plan_file(&dir);
    if opts.fly {
        // rkt's fly: the host's namespaces and cgroups, none of a pod's confinement.
        write_plan(&plan_path, &planned)?;
        return crate::stage0::fly::exec(pod, lock, &planned).map(|never| match never {});
    }
    let pod_limits = crate::stage0::cgroups::pod_resources(&pod_isolators, pids_limit)?;
    let cgroups = crate::stage0::cgroups::create(
        &dir,
        &planned,
        &resources,
        pod_limits,
        pids_limit.is_some_and(|n| n > 0),
        protect_kernel,
    )?;
    plan::attach_cgroups(&mut planned, &cgroups, protect_kernel);
    write_plan(&plan_path, &planned)?;
    let pod_plan = PodPlan {
        planned: &planned,
        cgroups: &cgroups,
        plan_path: &plan_path,
        networks: &networks,
    };
    launch(data_dir, pod, lock, &pod_plan, opts)
}

/// The start options with what prepare recorded: its `--ipc` as the default, and fly for a pod
/// prepared for it (rkt's fly ignored `--net` and `--interactive`), which a private IPC
/// namespace cannot be.
fn with_prepared(
    opts: &StartOptions,
    record: &super::prepare::PreparedRecord,
) -> Result<StartOptions, Error> {
    let mut opts = opts.clone();
    if opts.ipc == crate::stage0::Ipc::Auto {
        opts.ipc = record.ipc;
    }
    if record.fly && !opts.fly {
        opts.fly = true;
        opts.net = Net::Host;
        opts.networks.clear();
        opts.interactive = false;
    }
    if opts.fly && opts.ipc == crate::stage0::Ipc::Private {
        return Err(Error::Apps(
            "fly stage1: --ipc=private: fly runs the app in the host's namespaces".into(),
        ));
    }
    Ok(opts)
}

/// What [`launch`] starts: the plan (and where stage1-init reads it), the cgroups made for
/// it, the networks to join.
struct PodPlan<'a> {
    planned: &'a stage1_init::plan::Plan,
    cgroups: &'a crate::cgroup::PodCgroups,
    plan_path: &'a Path,
    networks: &'a Networks,
}

/// The networks a contained pod joins, and the forwards of its `ports` (on the first network
/// with masquerade, else the last, as in rkt 1.30). Host and none networking join none; rkt
/// ignored `ports` there.
fn networks(loaded: &Loaded, opts: &StartOptions) -> Result<Networks, Error> {
    if opts.networks.is_empty() || opts.fly {
        return Ok(Networks::default());
    }
    let user: Vec<(String, Conf)> = crate::net::cni::load(&opts.net_dir)
        .map_err(|e| Error::Net(crate::net::Error::Cni(e)))?
        .into_iter()
        .map(|c| (c.name.clone(), c))
        .collect();
    let attachments = crate::net::select::resolve(&opts.networks, &user)
        .map_err(|e| Error::Net(crate::net::Error::Select(e)))?;
    // What can be refused now is refused before PID 1 exists.
    for a in &attachments {
        match a {
            Attachment::User { conf, .. } => crate::net::cni::check_plugin(conf, &opts.net_dir)
                .map_err(|e| Error::Net(crate::net::Error::Cni(e)))?,
            Attachment::Builtin { net, args } => {
                crate::net::check_args(net, args).map_err(Error::Net)?
            }
        }
    }
    let app_ports: Vec<&[crate::appc::Port]> =
        loaded.apps.iter().map(|a| a.app.ports.as_slice()).collect();
    let ports = crate::net::ports::resolve(&loaded.ports, &app_ports).map_err(Error::Ports)?;
    let forwarding = attachments
        .iter()
        .position(|a| matches!(a, Attachment::Builtin { net, .. } if net.ip_masq))
        .unwrap_or(attachments.len().saturating_sub(1));
    Ok(Networks {
        attachments,
        ports,
        forwarding,
    })
}

#[derive(Default)]
struct Networks {
    attachments: Vec<Attachment<Conf>>,
    ports: Vec<crate::net::ports::PodPort>,
    /// The attachment the ports are forwarded to.
    forwarding: usize,
}

/// The launch plan of a prepared pod: its apps' rootfs views and mounts, the start options.
fn plan_pod(
    pod: &Pod,
    dir: &Path,
    loaded: Loaded,
    opts: &StartOptions,
    contained: bool,
) -> Result<plan::Planned, Error> {
    let Loaded {
        apps: prepared,
        mut volumes,
        record,
        pod_isolators: _,
        ports: _,
    } = loaded;
    check_host_sources(&volumes)?;
    let per_app: Vec<volumes::AppMounts<'_>> = prepared
        .iter()
        .map(|r| {
            (
                r.app.mount_points.as_slice(),
                r.cli_mounts.as_slice(),
                r.from_docker,
            )
        })
        .collect();
    // The empty volumes were created by prepare; only the mounts are needed again.
    let (mut app_mounts, _) =
        volumes::plan_mounts(dir, &mut volumes, &per_app).map_err(Error::Apps)?;
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
                    upper: paths::pod_overlay_upper(dir, &r.tree, &r.name),
                    work: paths::pod_overlay_work(dir, &r.tree, &r.name),
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
        pod_dir: dir.to_path_buf(),
        net: opts.net,
        host_hosts: Path::new("/etc/hosts").is_file(),
        host_resolv: Path::new(paths::HOST_RESOLV_CONF).is_file(),
        contained_resolv: contained
            .then(|| {
                let host = std::fs::read_to_string(paths::HOST_RESOLV_CONF).ok()?;
                let upstream = std::fs::read_to_string(paths::RESOLVED_UPSTREAM).ok();
                crate::stage0::dns::for_contained_network(&host, upstream.as_deref())
            })
            .flatten(),
        protect_kernel: record.protect_kernel,
        insecure: record.insecure,
        inherit_env: record.inherit_env,
        set_env_file: record.set_env_file,
        set_env: record.set_env,
        dns: opts.dns.clone(),
        hosts: opts.hosts.clone(),
        interactive: opts.interactive,
        output: crate::stage0::output::mode(),
    };
    plan::compute(&pod_input, &inputs).map_err(Error::Plan)
}

fn write_plan(path: &Path, plan: &stage1_init::plan::Plan) -> Result<(), Error> {
    let bytes = plan
        .encode()
        .map_err(|e| Error::Plan(plan::PlanError::Invalid(e.to_string())))?;
    write_atomic(path, &bytes, Durability::NoFsync).map_err(io_err("write", path))
}

/// A prepared pod that fails from here on ends up `exited` (in `run/`, unlocked), as in rkt,
/// which moved it there before starting stage1: its stage1 dir is no longer pristine.
fn failed(mut pod: Pod, e: Error) -> Error {
    if pod.dir == Dir::Prepared {
        let _ = pod.move_to(Dir::Run);
    }
    e
}

/// stage1-init from a sealed memfd in the pod's new namespaces, then the handoff: `Ready`,
/// `pid` persisted and the pod in `run/`, `Go`; then the relays until the pod exits.
fn launch(
    data_dir: &Path,
    mut pod: Pod,
    lock: FileLock,
    pod_plan: &PodPlan<'_>,
    opts: &StartOptions,
) -> Result<u8, Error> {
    let PodPlan {
        planned,
        cgroups,
        plan_path,
        networks,
    } = *pod_plan;
    // The plan path is in the pod dir, which moves to run/ before Go; stage1-init reads the
    // plan before Ready, so the path it is given now is the one it needs.
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
    let (mut relays, out_w, err_w) = crate::stage0::output::pipes()?;
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
            ipc: opts.ipc.private(),
        },
    )
    .map_err(Error::Spawn)?;
    drop(child_end);
    drop(exe);
    let pid = child.id();
    // From here a TERM to rkt reaches the pod; before Go, stage1-init's apps do not exist yet.
    spawn::forward_signals(pid as i32).map_err(Error::Spawn)?;
    if !networks.attachments.is_empty() {
        // While stage1-init builds the pod's root: it starts no app before Go.
        if let Err(e) = join_networks(data_dir, &pod, pid, networks, &opts.net_dir) {
            // A PID 1 whose own setup failed has exited, which is why its namespace could not
            // be joined: its report is the cause. A healthy one says Ready and, without Go,
            // exits.
            let e = match parent.wait_ready() {
                Err(stage1) => Error::Stage1(stage1),
                Ok(_) => e,
            };
            drop(parent);
            let _ = child.wait();
            relays.finish();
            // Undone now rather than at gc: the start failed, nothing of it should stay.
            // What cannot be undone here stays recorded in the pod dir for gc; what a
            // plugin could not delete is said once, beside the error that ends the start.
            if let Ok(undeleted) = crate::net::release(&pod.path(), &pod.uuid) {
                for what in undeleted {
                    eprintln!("rkt: pod {}: {what}", pod.uuid);
                }
            }
            return Err(failed(pod, e));
        }
    }

    let mut masters = match parent.wait_ready() {
        Ok(masters) => masters,
        Err(e) => {
            // stage1-init exits 254 after an E frame; reap it before reporting.
            let _ = child.wait();
            relays.finish();
            return Err(failed(pod, Error::Stage1(e)));
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
            return Err(failed(pod, e));
        }
    };
    crate::store::failpoint::hit("pod-ready");
    if let Err(e) = persist_running(&mut pod, pid) {
        // No Go: closing the socket makes stage1-init exit without starting anything.
        drop(parent);
        let _ = child.wait();
        relays.finish();
        return Err(failed(pod, e));
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
    crate::pod::remove::unregister_from_mds(&pod.path());
    Ok(exit_code(status))
}

/// `--mds-register`: registers the pod and its apps with the metadata service and gives each
/// app `AC_METADATA_URL` (the host's address as the pod reaches it: 127.0.0.1 on the host's
/// network, else the gateway of the first masquerading built-in network).
fn register_with_mds(
    pod: &Pod,
    dir: &Path,
    planned: &mut stage1_init::plan::Plan,
    opts: &StartOptions,
    networks: &Networks,
) -> Result<(), Error> {
    let builtins: Vec<&crate::net::Builtin> = networks
        .attachments
        .iter()
        .filter_map(|a| match a {
            Attachment::Builtin { net, .. } => Some(*net),
            Attachment::User { .. } => None,
        })
        .collect();
    let host = if opts.net == Net::Host {
        std::net::Ipv4Addr::LOCALHOST
    } else {
        match builtins.iter().find(|n| n.ip_masq).or(builtins.last()) {
            Some(net) => crate::net::plan::gateway(net),
            None => {
                return Err(Error::Apps(
                    "--mds-register: the pod's networks give it no address of the host's \
                     (use default, default-restricted or host)"
                        .into(),
                ))
            }
        }
    };
    let token = crate::mds::client::new_token().map_err(io_err("draw", Path::new("a token")))?;
    let url = format!("http://{host}:{}/{token}", crate::mds::PORT);
    let manifest_path = paths::pod_manifest(dir);
    let manifest = std::fs::read(&manifest_path).map_err(io_err("read", &manifest_path))?;
    let mut apps = Vec::new();
    for app in &mut planned.apps {
        let image = paths::pod_app_manifest(dir, &app.name);
        apps.push((
            app.name.clone(),
            std::fs::read(&image).map_err(io_err("read", &image))?,
        ));
        match app.env.iter_mut().find(|(k, _)| k == "AC_METADATA_URL") {
            Some(e) => e.1.clone_from(&url),
            None => app.env.push(("AC_METADATA_URL".into(), url.clone())),
        }
    }
    let socket = Path::new(paths::MDS_SOCKET);
    crate::mds::client::register(socket, &pod.uuid, &token, &manifest, &apps)
        .map_err(|e| Error::Apps(format!("failed to register the pod: {e}")))?;
    let marker = paths::pod_mds_registered(dir);
    std::fs::write(&marker, b"").map_err(io_err("write", &marker))
}

/// Joins PID 1's network namespace to the pod's networks (`net-info.json`, the leases, the
/// nf_tables elements; see [`crate::net`]).
fn join_networks(
    data_dir: &Path,
    pod: &Pod,
    pid: u32,
    networks: &Networks,
    net_dir: &Path,
) -> Result<(), Error> {
    let ns_path = std::path::PathBuf::from(format!("/proc/{pid}/ns/net"));
    let netns = std::fs::File::open(&ns_path).map_err(io_err("open", &ns_path))?;
    let dir = pod.path();
    let named = networks
        .attachments
        .iter()
        .any(|a| matches!(a, Attachment::User { .. }));
    let pinned = if named {
        Some(crate::net::pin_netns(&dir, &pod.uuid, pid).map_err(Error::Net)?)
    } else {
        None
    };
    let mut infos = Vec::new();
    for (index, a) in networks.attachments.iter().enumerate() {
        let ports: &[_] = if index == networks.forwarding {
            &networks.ports
        } else {
            &[]
        };
        match a {
            Attachment::Builtin { net, args } => {
                let join = crate::net::Join {
                    net,
                    index,
                    args,
                    ports,
                };
                infos.push(
                    crate::net::setup(data_dir, &dir, &pod.uuid, &join, netns.as_fd())
                        .map_err(Error::Net)?,
                );
            }
            Attachment::User { conf, args } => {
                let netns = pinned.as_deref().expect("pinned for named networks");
                infos.push(
                    crate::net::cni::add(&dir, &pod.uuid, conf, index, args, netns, net_dir)
                        .map_err(|e| Error::Net(crate::net::Error::Cni(e)))?,
                );
            }
        }
    }
    crate::net::write_info(&dir, &infos).map_err(Error::Net)
}

/// `pid` and its start time (which tells `rkt stop` whether the process behind this PID is
/// still the pod's PID 1: PIDs are reused), then the pod moves to `run/`.
fn persist_running(pod: &mut Pod, pid: u32) -> Result<(), Error> {
    let dir = pod.path();
    let pid_path = paths::pod_pid(&dir);
    let start_path = paths::pod_pid_starttime(&dir);
    let t = crate::sys::proc::start_time(pid as i32).map_err(io_err(
        "read start time of",
        Path::new(&format!("/proc/{pid}")),
    ))?;
    write_atomic(
        &start_path,
        format!("{t}\n").as_bytes(),
        Durability::NoFsync,
    )
    .map_err(io_err("write", &start_path))?;
    write_atomic(
        &pid_path,
        format!("{pid}\n").as_bytes(),
        Durability::NoFsync,
    )
    .map_err(io_err("write", &pid_path))?;
    pod.move_to(Dir::Run).map_err(Error::Pod)
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
