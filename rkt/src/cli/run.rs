//! `rkt run [pod flags] IMAGE [app flags] [-- args... [---]] [IMAGE ...]`: run apps in a new
//! pod and exit with its status.

use std::process::ExitCode;

use super::pod_flags::{self, Cmd, PodArgs, Scope};
use crate::config::{Config, Insecure};
use crate::error::Error;
use crate::stage0::{self, applist, Net, RunOptions, StartOptions};

super::pod_flags::pod_command!(Args, Cmd::Run);

pub(crate) fn run(Args(args): Args, config: &Config) -> Result<ExitCode, Error> {
    let net_given = !args.all("net").is_empty();
    let mut start = start_options(Cmd::Run, StartFlags::from_args(&args), config)?;
    start.fly = wants_fly(Cmd::Run, &args)?;
    if start.fly {
        // rkt's fly ignored it: the app is exec'd on rkt's own terminal anyway.
        start.interactive = false;
    }
    if start.fly && start.ipc == stage0::Ipc::Private {
        return Err(Error::Usage(
            "run: --ipc=private: fly runs the app in the host's namespaces".into(),
        ));
    }
    if start.fly && !net_given {
        // rkt's fly stage1 always ran in the host's network namespace.
        start.net = Net::Host;
        start.networks.clear();
    }
    let mut opts = run_options(Cmd::Run, &args, start, config)?;
    opts.uuid_file_save = args.last("uuid-file-save").map(Into::into);
    let code = stage0::run(&config.data_dir, &opts).map_err(Error::Run)?;
    Ok(ExitCode::from(code))
}

/// The stage1 flags: fly, the built-in stage1, or an error naming the flag.
pub(super) fn wants_fly(cmd: Cmd, args: &PodArgs) -> Result<bool, Error> {
    stage0::fly::wants_fly(&stage0::fly::Stage1Flags {
        url: args.last("stage1-url"),
        path: args.last("stage1-path"),
        name: args.last("stage1-name"),
        hash: args.last("stage1-hash"),
        from_dir: args.last("stage1-from-dir"),
    })
    .map_err(|e| Error::Usage(format!("{cmd}: {e}")))
}

/// The pod flags given when a pod starts: `run`'s and `run-prepared`'s.
#[derive(Debug, Default)]
pub(super) struct StartFlags {
    pub(super) net: Vec<String>,
    pub(super) hostname: Option<String>,
    pub(super) dns: stage0::dns::DnsFlags,
    pub(super) hosts_entry: Vec<String>,
    pub(super) interactive: bool,
    pub(super) ipc: Option<String>,
    pub(super) mds_register: bool,
}

impl StartFlags {
    pub(super) fn from_args(args: &PodArgs) -> StartFlags {
        StartFlags {
            net: args.all("net"),
            hostname: args.last("hostname"),
            dns: stage0::dns::DnsFlags {
                dns: args.all("dns"),
                search: args.all("dns-search"),
                opt: args.all("dns-opt"),
                domain: args.last("dns-domain"),
            },
            hosts_entry: args.all("hosts-entry"),
            interactive: args.on("interactive"),
            ipc: args.last("ipc"),
            mds_register: args.on("mds-register"),
        }
    }
}

/// Validates the start-time flags of `cmd`.
pub(super) fn start_options(
    cmd: Cmd,
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
    if flags.mds_register && net == Net::None && networks.is_empty() && !flags.net.is_empty() {
        // rkt 1.30's words: the pod could not reach the service.
        return Err(Error::Usage(format!(
            "{cmd}: --mds-register flag does not work with --net=none. Please use 'host', \
             'default' or an equivalent network"
        )));
    }
    Ok(StartOptions {
        net,
        networks,
        net_dir: crate::paths::net_dir(&config.local_config),
        hostname: flags.hostname,
        debug: config.debug,
        dns: stage0::dns::parse_dns(&flags.dns).map_err(|e| Error::Usage(format!("{cmd}: {e}")))?,
        hosts: stage0::dns::parse_hosts(&flags.hosts_entry)
            .map_err(|e| Error::Usage(format!("{cmd}: {e}")))?,
        interactive: flags.interactive,
        mds_register: flags.mds_register,
        ipc: match &flags.ipc {
            Some(v) => stage0::Ipc::parse(v).map_err(|e| Error::Usage(format!("{cmd}: {e}")))?,
            None => stage0::Ipc::Auto,
        },
        fly: false,
    })
}

/// Parses the image list and the prepare-time flags of `cmd` into the options of a pod.
pub(super) fn run_options(
    cmd: Cmd,
    args: &PodArgs,
    start: StartOptions,
    config: &Config,
) -> Result<RunOptions, Error> {
    let usage = |e: applist::ParseError| Error::Usage(format!("{cmd}: {e}"));
    if let Some((name, _)) = args.of_scope(Scope::AfterImage).first() {
        return Err(usage(applist::ParseError::FlagBeforeImage(
            name.to_string(),
        )));
    }
    let defaults = app_defaults(args).map_err(usage)?;
    let list =
        applist::parse_list(&args.positionals, &|n| pod_flags::list_role(cmd, n)).map_err(usage)?;
    let (mut inherit_env, mut set_env_file, mut set_env_flags) = (
        args.on("inherit-env"),
        args.last("set-env-file"),
        args.all("set-env"),
    );
    let mut volume_flags = args.all("volume");
    let ports = args.all("port");
    let pull_policy = args.last("pull-policy");
    let (no_store, store_only) = (args.on("no-store"), args.on("store-only"));
    for (flag, value) in list.pod_flags {
        match flag.as_str() {
            "inherit-env" => {
                inherit_env = parse_bool(&flag, &value)?;
            }
            "set-env-file" => set_env_file = Some(value),
            "volume" => volume_flags.push(value),
            "set-env" => set_env_flags.push(value),
            other => {
                return Err(Error::Usage(format!(
                    "{cmd}: --{other} is the pod's: give it before the images"
                )))
            }
        }
    }
    let apps: Vec<applist::AppArg> = list
        .apps
        .into_iter()
        .map(|a| a.with_defaults(&defaults))
        .collect();
    let pod_manifest = match args.last("pod-manifest") {
        None => None,
        Some(file) => {
            // rkt 1.30 runRun: the manifest says everything these flags would.
            let defaults_given = defaults != applist::AppArg::default();
            let pull = pull_policy.as_deref();
            if !apps.is_empty()
                || !volume_flags.is_empty()
                || !ports.is_empty()
                || no_store
                || store_only
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
            let bytes = std::fs::read(&file)
                .map_err(|e| Error::Usage(format!("{cmd}: --pod-manifest: read `{file}`: {e}")))?;
            let pm = crate::appc::PodManifest::from_json(&bytes)
                .map_err(|e| Error::Usage(format!("{cmd}: --pod-manifest `{file}`: {e}")))?;
            // rkt 1.30 runRun (prepare takes such a manifest; run-prepared then refuses it).
            if pm.apps.is_empty() && cmd == Cmd::Run {
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
        .last("pids-limit")
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                Error::Usage(format!(
                    "{cmd}: invalid value for --pids-limit: {v:?}: not a count (0: no limit)"
                ))
            })
        })
        .transpose()?;
    let pull_policy = crate::fetch::PullPolicy::from_flags(
        pull_policy.as_deref(),
        no_store,
        store_only,
        crate::fetch::PullPolicy::New,
    )
    .map_err(|e| Error::Usage(format!("{cmd}: {e}")))?;
    let ports = ports
        .iter()
        .map(|p| crate::net::ports::parse_flag(p).map_err(|e| Error::Usage(format!("{cmd}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    // rkt 1.30 runRun; `prepare` has no --net, so its ports meet the network at the start.
    if !ports.is_empty() && cmd == Cmd::Run {
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
        no_overlay: args.on("no-overlay"),
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
        ipc: start.ipc,
        mds_register: start.mds_register,
        hosts: start.hosts,
        fetch: (config.clone(), pull_policy),
        fly: start.fly,
    })
}

/// The per-app flags given before the first image, which apply to every app.
fn app_defaults(args: &PodArgs) -> Result<applist::AppArg, applist::ParseError> {
    let mut d = applist::AppArg::default();
    for (name, v) in args.of_scope(Scope::App) {
        applist::apply_flag(&mut d, name, &v)?;
    }
    Ok(d)
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

/// `--set-env-file`: one `NAME=VALUE` per line, as rkt 1.30 read it: each line trimmed of
/// surrounding white space, and blank lines and comments (`#` or `;` first) skipped.
fn read_env_file(path: &str) -> Result<Vec<(String, String)>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("run: --set-env-file: read `{path}`: {e}")))?;
    parse_env_file(&text)
}

fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, Error> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .map(|l| parse_env(l, "set-env-file"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_skip_blank_and_comment_lines() {
        let text = "A=1\n\n  # a comment\n; another\r\n  B=two words  \r\nC=\n";
        assert_eq!(
            parse_env_file(text).unwrap(),
            [("A", "1"), ("B", "two words"), ("C", "")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert!(parse_env_file("A=1\nNOEQUALS\n").is_err());
    }
}
