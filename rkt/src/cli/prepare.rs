//! `rkt prepare [pod flags] IMAGE [app flags] [-- args... [---]] [IMAGE ...]`: resolve the
//! images and create the pod, leaving it `prepared` for `rkt run-prepared`; prints its UUID.

use std::process::ExitCode;

use argh::FromArgs;

use super::run::{run_options, start_options, PrepareFlags, StartFlags};
use crate::config::Config;
use crate::error::Error;
use crate::stage0;

/// rkt 1.30's prepare flags that this build does not implement yet (run's, less the run-time
/// ones prepare never took).
pub(crate) const PENDING_FLAGS: &[&str] = &[
    "private-users",
    "stage1-url",
    "stage1-path",
    "stage1-name",
    "stage1-hash",
    "stage1-from-dir",
];

#[derive(FromArgs, Debug)]
/// prepare to run image(s) in a pod
#[argh(subcommand, name = "prepare")]
pub(crate) struct Args {
    /// print only the UUID (no progress lines on stderr)
    #[argh(switch)]
    quiet: bool,
    /// copy the image's tree instead of using overlayfs
    #[argh(switch)]
    no_overlay: bool,
    /// inherit the environment of rkt (lowest precedence)
    #[argh(switch)]
    inherit_env: bool,
    /// an environment variable for every app: NAME=VALUE (repeatable)
    #[argh(option)]
    set_env: Vec<String>,
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
    /// forward a host port to an app's port: NAME:[HOSTIP:]HOSTPORT (repeatable; needs a
    /// contained network)
    #[argh(option)]
    port: Vec<String>,
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
    /// the detached signature of an image file: give it after that image
    #[argh(option)]
    signature: Vec<String>,
    /// run this appc PodManifest (apps, volumes, mounts, annotations); no images then
    #[argh(option)]
    pod_manifest: Option<String>,
    /// the image list: IMAGE [--exec=PATH] [--name=N] [--user=U] [--group=G]
    /// [--supplementary-gids=N,..] [--working-dir=D] [--readonly-rootfs] [--environment=K=V]
    /// [--annotation=K=V] [--user-annotation=K=V] [--user-label=K=V] [--mount=volume=V,target=P]
    /// [-- args... [---]] [IMAGE ...]
    #[argh(positional, greedy)]
    pub(super) images: Vec<String>,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    // The start-time options are given to run-prepared; these defaults are never used.
    let start = start_options("prepare", StartFlags::default(), config)?;
    if !args.signature.is_empty() {
        return Err(Error::Usage(format!(
            "prepare: {}",
            crate::stage0::applist::ParseError::FlagBeforeImage("signature".into())
        )));
    }
    let flags = PrepareFlags {
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
    let opts = run_options("prepare", flags, start, config)?;
    let uuid = stage0::prepare_only(&config.data_dir, &opts)
        .map_err(|e| Error::Launch("prepare", Box::new(e)))?;
    if !args.quiet {
        eprintln!("rkt: pod {uuid} prepared: start it with `rkt run-prepared {uuid}`");
    }
    super::print_line(&uuid)?;
    Ok(ExitCode::SUCCESS)
}
