//! `rkt run [pod flags] IMAGE [app flags] [-- args... [---]] [IMAGE ...]`: run apps in a new
//! pod and exit with its status.

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::{Config, Insecure};
use crate::error::Error;
use crate::stage0::{self, applist, Net, RunOptions, StartOptions};

/// rkt 1.30's pod flags that this build does not implement yet; each fails naming itself.
pub(crate) const PENDING_FLAGS: &[&str] = &["private-users"];

#[derive(FromArgs, Debug)]
/// run image(s) in a pod
#[argh(subcommand, name = "run")]
pub(crate) struct Args {
    /// the networks to join (repeatable): default (also bare --net), default-restricted,
    /// a net.d network NAME[:CNI_ARGS], all, none, or host
    #[argh(option)]
    pub(super) net: Vec<String>,
    /// forward a host port to an app's port: NAME:[HOSTIP:]HOSTPORT (repeatable; needs a
    /// contained network)
    #[argh(option)]
    pub(super) port: Vec<String>,
    /// register the pod with the metadata service: only false (there is no metadata service)
    #[argh(option, default = "false")]
    mds_register: bool,
    /// the pod's hostname (default rkt-<uuid>)
    #[argh(option)]
    hostname: Option<String>,
    /// copy the image's tree instead of using overlayfs
    #[argh(switch)]
    no_overlay: bool,
    /// write the pod's UUID to this file
    #[argh(option)]
    uuid_file_save: Option<String>,
    /// inherit the environment of rkt (lowest precedence)
    #[argh(switch)]
    inherit_env: bool,
    /// an environment variable for every app: NAME=VALUE (repeatable)
    #[argh(option)]
    pub(super) set_env: Vec<String>,
    /// a file of NAME=VALUE lines for every app's environment
    #[argh(option)]
    set_env_file: Option<String>,
    /// every app's user (name, number or path in the image)
    #[argh(option)]
    user: Option<String>,
    /// every app's group
    #[argh(option)]
    group: Option<String>,
    /// every app's supplementary gids: N,N,...
    #[argh(option)]
    supplementary_gids: Option<String>,
    /// every app's working directory
    #[argh(option)]
    working_dir: Option<String>,
    /// mount every app's rootfs read-only
    #[argh(option)]
    readonly_rootfs: Option<bool>,
    /// an environment variable of every app, NAME=VALUE (repeatable; highest precedence)
    #[argh(option)]
    environment: Vec<String>,
    /// an annotation of every app, NAME=VALUE (repeatable)
    #[argh(option)]
    annotation: Vec<String>,
    /// a user annotation of every app, NAME=VALUE (repeatable)
    #[argh(option)]
    user_annotation: Vec<String>,
    /// a user label of every app, NAME=VALUE (repeatable)
    #[argh(option)]
    user_label: Vec<String>,
    /// a volume: NAME,kind=host,source=PATH[,readOnly=B][,recursive=B] or
    /// NAME,kind=empty[,mode=0755][,uid=N][,gid=N] (repeatable)
    #[argh(option)]
    volume: Vec<String>,
    /// mount a volume in every app: volume=NAME,target=PATH (repeatable)
    #[argh(option)]
    mount: Vec<String>,
    /// every app's capability bounding set, replacing the image's: CAP_A,CAP_B
    #[argh(option)]
    caps_retain: Option<String>,
    /// capabilities removed from every app's default set: CAP_A,CAP_B
    #[argh(option)]
    caps_remove: Option<String>,
    /// deprecated: --caps-retain
    #[argh(option)]
    cap_retain: Option<String>,
    /// deprecated: --caps-remove
    #[argh(option)]
    cap_remove: Option<String>,
    /// every app's seccomp filter: mode=retain|remove[,errno=ENAME],SYSCALL,...
    #[argh(option)]
    seccomp: Option<String>,
    /// every app's memory limit (k8s quantity: 64Mi, 1G)
    #[argh(option)]
    memory: Option<String>,
    /// every app's cpu limit (millicores: 500m)
    #[argh(option)]
    cpu: Option<String>,
    /// every app's cpu shares, 2 to 262144
    #[argh(option)]
    cpu_shares: Option<String>,
    /// every app's /proc/self/oom_score_adj, -1000 to 1000
    #[argh(option)]
    oom_score_adj: Option<String>,
    /// the pod's process limit (default 2048; 0: none)
    #[argh(option)]
    pids_limit: Option<String>,
    /// a DNS server IP (repeatable), or host (the host's resolv.conf), or none (the image's)
    #[argh(option)]
    dns: Vec<String>,
    /// a DNS search domain (repeatable)
    #[argh(option)]
    dns_search: Vec<String>,
    /// a resolver option (repeatable)
    #[argh(option)]
    dns_opt: Vec<String>,
    /// the DNS domain
    #[argh(option)]
    dns_domain: Option<String>,
    /// an /etc/hosts entry IP=HOST (repeatable), or host (the host's /etc/hosts)
    #[argh(option)]
    hosts_entry: Vec<String>,
    /// the detached signature of an image file: give it after that image
    #[argh(option)]
    signature: Vec<String>,
    /// run this appc PodManifest (apps, volumes, mounts, annotations); no images then
    #[argh(option)]
    pod_manifest: Option<String>,
    /// give the one app a terminal (stdin and a tty of the pod's own) relayed to rkt's
    #[argh(switch)]
    interactive: bool,
    /// when to pull an image: new (default: only if not in the store), update (always ask
    /// the server) or never (the store only)
    #[argh(option)]
    pull_policy: Option<String>,
    /// deprecated: --pull-policy=update
    #[argh(switch)]
    no_store: bool,
    /// deprecated: --pull-policy=never
    #[argh(switch)]
    store_only: bool,
    /// a stage1 image URL: not available (the stage1 is built in; fly is the only other)
    #[argh(option)]
    stage1_url: Option<String>,
    /// a stage1 image path: not available (see --stage1-url)
    #[argh(option)]
    stage1_path: Option<String>,
    /// coreos.com/rkt/stage1-fly:VERSION runs the one app as rkt's fly stage1 did
    #[argh(option)]
    stage1_name: Option<String>,
    /// a stage1 image hash: not available (see --stage1-url)
    #[argh(option)]
    stage1_hash: Option<String>,
    /// stage1-fly.aci runs the one app as rkt's fly stage1 did
    #[argh(option)]
    stage1_from_dir: Option<String>,
    /// the image list: IMAGE [--exec=PATH] [--name=N] [--user=U] [--group=G]
    /// [--signature=FILE] [--supplementary-gids=N,..] [--working-dir=D] [--readonly-rootfs]
    /// [--environment=K=V] [--annotation=K=V] [--user-annotation=K=V] [--user-label=K=V] [--mount=volume=V,target=P]
    /// [-- args... [---]] [IMAGE ...]
    #[argh(positional, greedy)]
    pub(super) images: Vec<String>,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    if args.mds_register {
        return Err(Error::NotImplemented(
            "rkt run --mds-register=true (there is no metadata service; use \
             --mds-register=false)"
                .into(),
        ));
    }
    let net_given = !args.net.is_empty();
    let start = StartFlags {
        net: args.net,
        hostname: args.hostname,
        dns: stage0::dns::DnsFlags {
            dns: args.dns,
            search: args.dns_search,
            opt: args.dns_opt,
            domain: args.dns_domain,
        },
        hosts_entry: args.hosts_entry,
        interactive: args.interactive,
    };
    let mut start = start_options("run", start, config)?;
    start.fly = stage0::fly::wants_fly(&stage0::fly::Stage1Flags {
        url: args.stage1_url,
        path: args.stage1_path,
        name: args.stage1_name,
        hash: args.stage1_hash,
        from_dir: args.stage1_from_dir,
    })
    .map_err(|e| Error::Usage(format!("run: {e}")))?;
    if start.fly && !net_given {
        // rkt's fly stage1 always ran in the host's network namespace.
        start.net = Net::Host;
        start.networks.clear();
    }
    let usage = |e: applist::ParseError| Error::Usage(format!("run: {e}"));
    if !args.signature.is_empty() {
        return Err(usage(applist::ParseError::FlagBeforeImage(
            "signature".into(),
        )));
    }
    let prepare = PrepareFlags {
        no_overlay: args.no_overlay,
        inherit_env: args.inherit_env,
        set_env: args.set_env,
        set_env_file: args.set_env_file,
        user: args.user,
        group: args.group,
        supplementary_gids: args.supplementary_gids,
        working_dir: args.working_dir,
        readonly_rootfs: args.readonly_rootfs,
        environment: args.environment,
        annotation: args.annotation,
        user_annotation: args.user_annotation,
        user_label: args.user_label,
        volume: args.volume,
        mount: args.mount,
        port: args.port,
        pids_limit: args.pids_limit,
        isolators: super::run::isolator_flags([
            ("caps-retain", args.caps_retain),
            ("caps-remove", args.caps_remove),
            ("cap-retain", args.cap_retain),
            ("cap-remove", args.cap_remove),
            ("seccomp", args.seccomp),
            ("memory", args.memory),
            ("cpu", args.cpu),
            ("cpu-shares", args.cpu_shares),
            ("oom-score-adj", args.oom_score_adj),
        ]),
        pod_manifest: args.pod_manifest,
        pull_policy: args.pull_policy,
        no_store: args.no_store,
        store_only: args.store_only,
        images: args.images,
    };
    let mut opts = run_options("run", prepare, start, config)?;
    opts.uuid_file_save = args.uuid_file_save.map(Into::into);
    let code = stage0::run(&config.data_dir, &opts).map_err(Error::Run)?;
    Ok(ExitCode::from(code))
}

/// The pod flags given when a pod starts: `run`'s and `run-prepared`'s.
#[derive(Debug, Default)]
pub(super) struct StartFlags {
    pub(super) net: Vec<String>,
    pub(super) hostname: Option<String>,
    pub(super) dns: stage0::dns::DnsFlags,
    pub(super) hosts_entry: Vec<String>,
    pub(super) interactive: bool,
}

/// The image, app and prepare-time pod flags `run` and `prepare` share.
#[derive(Debug, Default)]
pub(super) struct PrepareFlags {
    pub(super) no_overlay: bool,
    pub(super) inherit_env: bool,
    pub(super) set_env: Vec<String>,
    pub(super) set_env_file: Option<String>,
    pub(super) user: Option<String>,
    pub(super) group: Option<String>,
    pub(super) supplementary_gids: Option<String>,
    pub(super) working_dir: Option<String>,
    pub(super) readonly_rootfs: Option<bool>,
    pub(super) environment: Vec<String>,
    pub(super) annotation: Vec<String>,
    pub(super) user_annotation: Vec<String>,
    pub(super) user_label: Vec<String>,
    pub(super) volume: Vec<String>,
    pub(super) mount: Vec<String>,
    /// `--port`s.
    pub(super) port: Vec<String>,
    /// `--pids-limit`.
    pub(super) pids_limit: Option<String>,
    /// The isolator flags given before the first image: (flag, value).
    pub(super) isolators: Vec<(&'static str, String)>,
    pub(super) pod_manifest: Option<String>,
    pub(super) pull_policy: Option<String>,
    pub(super) no_store: bool,
    pub(super) store_only: bool,
    pub(super) images: Vec<String>,
}

/// Validates the start-time flags of `cmd`.
pub(super) fn start_options(
    cmd: &str,
    flags: StartFlags,
    config: &Config,
) -> Result<StartOptions, Error> {
    use crate::net::select::{self, Selection};
    let (net, networks) =
        match select::parse(&flags.net).map_err(|e| Error::Usage(format!("{cmd}: --net: {e}")))? {
            Selection::Host => (Net::Host, Vec::new()),
            Selection::None => (Net::None, Vec::new()),
            Selection::Contained(list) => (Net::None, list),
        };
    Ok(StartOptions {
        net,
        networks,
        net_dir: crate::paths::net_dir(&config.local_config),
        hostname: flags.hostname,
        debug: config.debug,
        dns: stage0::dns::parse_dns(&flags.dns).map_err(|e| Error::Usage(format!("{cmd}: {e}")))?,
        hosts: stage0::dns::parse_hosts(&flags.hosts_entry, stage0::plan::LOCALHOST)
            .map_err(|e| Error::Usage(format!("{cmd}: {e}")))?,
        interactive: flags.interactive,
        fly: false,
    })
}

/// Parses the image list and the prepare-time flags of `cmd` into the options of a pod.
pub(super) fn run_options(
    cmd: &str,
    args: PrepareFlags,
    start: StartOptions,
    config: &Config,
) -> Result<RunOptions, Error> {
    let usage = |e: applist::ParseError| Error::Usage(format!("{cmd}: {e}"));
    let defaults = app_defaults(&args).map_err(usage)?;
    let list = applist::parse_list(&image_list(&args.images)).map_err(usage)?;
    let (mut inherit_env, mut set_env_file, mut set_env_flags) = (
        args.inherit_env,
        args.set_env_file.clone(),
        args.set_env.clone(),
    );
    let mut volume_flags = args.volume.clone();
    for (flag, value) in list.pod_flags {
        match flag.as_str() {
            "inherit-env" => {
                inherit_env = parse_bool(&flag, &value)?;
            }
            "set-env-file" => set_env_file = Some(value),
            "volume" => volume_flags.push(value),
            _ => set_env_flags.push(value),
        }
    }
    let apps: Vec<applist::AppArg> = list
        .apps
        .into_iter()
        .map(|a| a.with_defaults(&defaults))
        .collect();
    let pod_manifest = match &args.pod_manifest {
        None => None,
        Some(file) => {
            // rkt 1.30 runRun: the manifest says everything these flags would.
            let defaults_given = defaults != applist::AppArg::default();
            let pull = args.pull_policy.as_deref();
            if !apps.is_empty()
                || !volume_flags.is_empty()
                || !args.port.is_empty()
                || !args.mount.is_empty()
                || args.no_store
                || args.store_only
                || matches!(pull, Some("update") | Some("never"))
                || inherit_env
                || set_env_file.is_some()
                || !set_env_flags.is_empty()
                || defaults_given
            {
                return Err(Error::Usage(format!(
                    "{cmd}: conflicting flags set with --pod-manifest (see --help)"
                )));
            }
            let bytes = std::fs::read(file)
                .map_err(|e| Error::Usage(format!("{cmd}: --pod-manifest: read `{file}`: {e}")))?;
            let pm = crate::appc::PodManifest::from_json(&bytes)
                .map_err(|e| Error::Usage(format!("{cmd}: --pod-manifest `{file}`: {e}")))?;
            // rkt 1.30 runRun (prepare takes such a manifest; run-prepared then refuses it).
            if pm.apps.is_empty() && cmd == "run" {
                return Err(Error::Usage(format!(
                    "{cmd}: pod must contain at least one application"
                )));
            }
            Some(pm)
        }
    };
    if apps.is_empty() && pod_manifest.is_none() {
        return Err(Error::Usage(format!(
            "{cmd}: must provide at least one image or specify the pod manifest"
        )));
    }
    // rkt 1.30 runRun, before anything touches the store; a pod manifest's apps count too.
    let app_count = apps.len() + pod_manifest.as_ref().map_or(0, |pm| pm.apps.len());
    if start.interactive && app_count > 1 {
        return Err(Error::Usage(stage0::plan::INTERACTIVE_ONE_IMAGE.into()));
    }
    let mut set_env = Vec::new();
    if let Some(file) = &set_env_file {
        set_env = read_env_file(file)?;
    }
    let mut env_flags = Vec::new();
    for kv in &set_env_flags {
        env_flags.push(parse_env(kv, "set-env")?);
    }
    let volumes = volume_flags
        .iter()
        .map(|v| {
            stage0::volumes::parse_volume(v)
                .map_err(|e| Error::Usage(format!("{cmd}: invalid value for --volume {v:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let inherited = if inherit_env {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, v)| {
                !k.is_empty() && !k.contains('=') && !k.contains('\0') && !v.contains('\0')
            })
            .collect()
    } else {
        Vec::new()
    };
    let pids_limit = args
        .pids_limit
        .as_deref()
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                Error::Usage(format!(
                    "{cmd}: invalid value for --pids-limit: {v:?}: not a count (0: no limit)"
                ))
            })
        })
        .transpose()?;
    let pull_policy = crate::fetch::PullPolicy::from_flags(
        args.pull_policy.as_deref(),
        args.no_store,
        args.store_only,
        crate::fetch::PullPolicy::New,
    )
    .map_err(|e| Error::Usage(format!("{cmd}: {e}")))?;
    let ports = args
        .port
        .iter()
        .map(|p| crate::net::ports::parse_flag(p).map_err(|e| Error::Usage(format!("{cmd}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    // rkt 1.30 runRun; `prepare` has no --net, so its ports meet the network at the start.
    if !ports.is_empty() && cmd == "run" {
        let kind = match (start.net, start.networks.is_empty()) {
            (Net::Host, _) => Some("host"),
            (_, true) => Some("none"),
            _ => None,
        };
        if let Some(kind) = kind {
            return Err(Error::Usage(format!(
                "{cmd}: --port flag does not work with '{kind}' networking"
            )));
        }
    }
    Ok(RunOptions {
        net: start.net,
        networks: start.networks,
        net_dir: start.net_dir,
        ports,
        hostname: start.hostname,
        no_overlay: args.no_overlay,
        uuid_file_save: None,
        insecure_image: config.insecure.contains(Insecure::IMAGE),
        trust: crate::trust::TrustDirs::new(config),
        insecure_paths: config.insecure.contains(Insecure::PATHS),
        pids_limit,
        insecure_run: stage0::confinement::Insecure {
            capabilities: config.insecure.contains(Insecure::CAPABILITIES),
            seccomp: config.insecure.contains(Insecure::SECCOMP),
        },
        debug: start.debug,
        apps,
        inherit_env: inherited,
        set_env_file: set_env,
        set_env: env_flags,
        volumes,
        dns: start.dns,
        pod_manifest,
        interactive: start.interactive,
        hosts: start.hosts,
        fetch: (config.clone(), pull_policy),
        fly: start.fly,
    })
}

/// The per-app flags given before the first image, which apply to every app.
fn app_defaults(args: &PrepareFlags) -> Result<applist::AppArg, applist::ParseError> {
    let mut d = applist::AppArg::default();
    let singles = [
        ("user", &args.user),
        ("group", &args.group),
        ("supplementary-gids", &args.supplementary_gids),
        ("working-dir", &args.working_dir),
    ];
    for (name, v) in singles {
        if let Some(v) = v {
            applist::apply_flag(&mut d, name, v)?;
        }
    }
    if let Some(on) = args.readonly_rootfs {
        applist::apply_flag(&mut d, "readonly-rootfs", &on.to_string())?;
    }
    let lists = [
        ("mount", &args.mount),
        ("environment", &args.environment),
        ("annotation", &args.annotation),
        ("user-annotation", &args.user_annotation),
        ("user-label", &args.user_label),
    ];
    for (name, vs) in lists {
        for v in vs {
            applist::apply_flag(&mut d, name, v)?;
        }
    }
    for (name, v) in &args.isolators {
        applist::apply_flag(&mut d, name, v)?;
    }
    Ok(d)
}

/// The isolator flags that were given, in order.
pub(super) fn isolator_flags<const N: usize>(
    flags: [(&'static str, Option<String>); N],
) -> Vec<(&'static str, String)> {
    flags
        .into_iter()
        .filter_map(|(name, v)| Some((name, v?)))
        .collect()
}

fn parse_bool(flag: &str, value: &str) -> Result<bool, Error> {
    match value {
        "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(true),
        "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok(false),
        _ => Err(Error::Usage(format!(
            "invalid argument {value:?} for \"--{flag}\" flag: expected true or false"
        ))),
    }
}

/// `NAME=VALUE` of `--set-env` or a `--set-env-file` line.
fn parse_env(kv: &str, what: &str) -> Result<(String, String), Error> {
    match kv.split_once('=') {
        Some((k, v)) if !k.is_empty() && !k.contains('\0') && !v.contains('\0') => {
            Ok((k.to_string(), v.to_string()))
        }
        _ => Err(Error::Usage(format!(
            "run: invalid value for --{what}: {kv:?}: expected NAME=VALUE"
        ))),
    }
}

/// `--set-env-file`: one `NAME=VALUE` per line; blank lines and `#` comments are skipped.
fn read_env_file(path: &str) -> Result<Vec<(String, String)>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("run: --set-env-file: read `{path}`: {e}")))?;
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| parse_env(l, "set-env-file"))
        .collect()
}

/// The image list without the `--` the normalizer puts after the first image (argh keeps it
/// in a greedy positional), so that a user's own `--` is the one the grammar sees.
pub(super) fn image_list(images: &[String]) -> Vec<String> {
    let mut v = images.to_vec();
    if v.get(1).is_some_and(|m| m == "--") {
        v.remove(1);
    }
    v
}
