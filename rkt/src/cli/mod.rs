//! The command line: argh structs for every command, behind the normalizing pass of [`args`].
//! Each subcommand lives in its own thin file and consumes a resolved [`Config`].

mod args;
mod cat_manifest;
mod config;
mod enter;
mod export;
mod fetch;
mod gc;
mod image;
mod list;
mod metadata_service;
pub(crate) mod pod_flags;
mod prepare;
mod rm;
mod run;
mod run_prepared;
mod status;
mod stop;
mod trust;
mod version;

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::{Config, GlobalFlags};
use crate::error::Error;
use args::{CommandSpec, Kind};
use pod_flags::Cmd;

/// Every command of rkt 1.30 (plus `image build`), with its flags in rkt's syntax. Commands
/// marked not implemented fail with a clear error instead of pretending.
pub(crate) static COMMANDS: &[CommandSpec] = &[
    spec(&["version"], &[], true),
    spec(
        &["image", "build"],
        &[
            ("no-compression", Kind::Switch),
            ("owner-root", Kind::Switch),
            ("overwrite", Kind::Switch),
        ],
        true,
    ),
    spec(&["image", "validate"], &[("full", Kind::Switch)], true),
    pod_spec(Cmd::Run),
    pod_spec(Cmd::Prepare),
    pod_spec(Cmd::RunPrepared),
    spec(&["fetch"], FETCH_FLAGS, true),
    CommandSpec {
        path: &["enter"],
        flags: &[("app", Kind::Value)],
        // Everything after the UUID is the command, untouched.
        verbatim_after: Some(1),
        implemented: true,
        pending: &[],
        pod: None,
    },
    spec(
        &["list"],
        &[
            ("no-legend", Kind::Switch),
            ("full", Kind::Switch),
            ("format", Kind::Value),
        ],
        true,
    ),
    spec(
        &["status"],
        &[
            ("wait", Kind::Optional("true")),
            ("wait-ready", Kind::Optional("true")),
            ("format", Kind::Value),
            ("uuid-file", Kind::Value),
        ],
        true,
    ),
    spec(
        &["stop"],
        &[("force", Kind::Switch), ("uuid-file", Kind::Value)],
        true,
    ),
    spec(&["rm"], &[("uuid-file", Kind::Value)], true),
    spec(
        &["gc"],
        &[
            ("grace-period", Kind::Value),
            ("expire-prepared", Kind::Value),
            ("mark-only", Kind::Switch),
        ],
        true,
    ),
    spec(
        &["cat-manifest"],
        &[("pretty-print", Kind::Bool), ("uuid-file", Kind::Value)],
        true,
    ),
    spec(
        &["export"],
        &[("app", Kind::Value), ("overwrite", Kind::Switch)],
        true,
    ),
    spec(
        &["trust"],
        &[
            ("prefix", Kind::Value),
            ("root", Kind::Switch),
            ("skip-fingerprint-review", Kind::Switch),
            ("insecure-allow-http", Kind::Switch),
        ],
        true,
    ),
    spec(&["config"], &[("pretty-print", Kind::Bool)], true),
    spec(&["metadata-service"], &[("listen-port", Kind::Value)], true),
    spec(&["api-service"], &[], false),
    spec(
        &["image", "list"],
        &[
            ("fields", Kind::Value),
            ("sort", Kind::Value),
            ("order", Kind::Value),
            ("no-legend", Kind::Switch),
            ("full", Kind::Switch),
            ("format", Kind::Value),
        ],
        true,
    ),
    spec(&["image", "rm"], &[], true),
    spec(&["image", "gc"], &[("grace-period", Kind::Value)], true),
    spec(&["image", "export"], &[("overwrite", Kind::Switch)], true),
    spec(
        &["image", "extract"],
        &[("rootfs-only", Kind::Switch), ("overwrite", Kind::Switch)],
        true,
    ),
    spec(
        &["image", "render"],
        &[("rootfs-only", Kind::Switch), ("overwrite", Kind::Switch)],
        true,
    ),
    spec(&["image", "verify"], &[], true),
    spec(
        &["image", "cat-manifest"],
        &[("pretty-print", Kind::Bool)],
        true,
    ),
    spec(&["image", "fetch"], FETCH_FLAGS, true),
];

const FETCH_FLAGS: &[(&str, Kind)] = &[
    ("full", Kind::Switch),
    ("signature", Kind::Value),
    ("pull-policy", Kind::Value),
    ("no-store", Kind::Switch),
    ("store-only", Kind::Switch),
];

const fn spec(
    path: &'static [&'static str],
    flags: &'static [(&'static str, Kind)],
    implemented: bool,
) -> CommandSpec {
    CommandSpec {
        path,
        flags,
        verbatim_after: None,
        implemented,
        pending: &[],
        pod: None,
    }
}

/// `run`, `prepare` and `run-prepared`, whose flags are [`pod_flags::FLAGS`].
const fn pod_spec(cmd: Cmd) -> CommandSpec {
    CommandSpec {
        path: match cmd {
            Cmd::Run => &["run"],
            Cmd::Prepare => &["prepare"],
            Cmd::RunPrepared => &["run-prepared"],
        },
        flags: &[],
        // Everything from the first image on is the image list (stage0::applist).
        verbatim_after: match cmd {
            Cmd::RunPrepared => None,
            _ => Some(1),
        },
        implemented: true,
        pending: &[],
        pod: Some(cmd),
    }
}

#[derive(FromArgs, Debug)]
/// rkt, the App Container runtime: fetch, verify and run pods. One static binary.
struct Rkt {
    /// rkt data directory (default /var/lib/rkt)
    #[argh(option)]
    dir: Option<String>,
    /// local configuration directory (default /etc/rkt)
    #[argh(option)]
    local_config: Option<String>,
    /// system configuration directory (default /usr/lib/rkt)
    #[argh(option)]
    system_config: Option<String>,
    /// user configuration directory
    #[argh(option)]
    user_config: Option<String>,
    /// print out more debug information to stderr
    #[argh(switch)]
    debug: bool,
    /// comma-separated list of security features to disable: none, image, tls, ondisk, http,
    /// pubkey, capabilities, paths, seccomp, all-fetch, all-run, all
    #[argh(option)]
    insecure_options: Option<String>,
    /// automatically trust gpg keys fetched from https
    #[argh(switch)]
    trust_keys_from_https: bool,
    #[argh(subcommand)]
    command: Command,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum Command {
    Version(version::Args),
    Config(config::Args),
    Fetch(fetch::Args),
    Image(image::Args),
    Run(run::Args),
    Prepare(prepare::Args),
    RunPrepared(run_prepared::Args),
    List(list::Args),
    Status(status::Args),
    Stop(stop::Args),
    CatManifest(cat_manifest::Args),
    Enter(enter::Args),
    Export(export::Args),
    Rm(rm::Args),
    Gc(gc::Args),
    Trust(trust::Args),
    MetadataService(metadata_service::Args),
}

/// Parses `argv` (without the program name), runs the command, and returns its exit code.
pub(crate) fn run(argv: Vec<String>) -> Result<ExitCode, Error> {
    let normalized = args::normalize(COMMANDS, &argv)?;
    let strs: Vec<&str> = normalized.args.iter().map(String::as_str).collect();
    let rkt = match Rkt::from_args(&["rkt"], &strs) {
        Ok(rkt) => rkt,
        Err(early) => {
            return match early.status {
                Ok(()) => {
                    print!("{}", early.output);
                    if normalized.command.is_empty() {
                        println!(
                            "\nNot implemented yet in this build: {}.",
                            unimplemented().join(", ")
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(()) => Err(Error::Usage(format!(
                    "{}: {}",
                    normalized.command.join(" "),
                    usage_message(&early.output)
                ))),
            };
        }
    };
    let config = Config::resolve(&GlobalFlags {
        dir: rkt.dir,
        local_config: rkt.local_config,
        system_config: rkt.system_config,
        user_config: rkt.user_config,
        debug: rkt.debug,
        insecure_options: rkt.insecure_options,
        trust_keys_from_https: rkt.trust_keys_from_https,
    })?;
    crate::log::set_debug(config.debug);
    // rkt 1.30's ensureSuperuser: the commands that make, start, enter or remove pods.
    let needs_root = matches!(
        rkt.command,
        Command::Run(_)
            | Command::Prepare(_)
            | Command::RunPrepared(_)
            | Command::Enter(_)
            | Command::Rm(_)
            | Command::Gc(_)
    );
    if needs_root && !rustix::process::geteuid().is_root() {
        return Err(Error::Usage("cannot run as unprivileged user".into()));
    }
    match rkt.command {
        Command::Version(a) => version::run(a, &config),
        Command::Config(a) => config::run(a, &config),
        Command::Fetch(a) => fetch::run(a, &config),
        Command::Image(a) => image::run(a, &config),
        Command::Run(a) => run::run(a, &config),
        Command::Prepare(a) => prepare::run(a, &config),
        Command::RunPrepared(a) => run_prepared::run(a, &config),
        Command::List(a) => list::run(a, &config),
        Command::Status(a) => status::run(a, &config),
        Command::Stop(a) => stop::run(a, &config),
        Command::CatManifest(a) => cat_manifest::run(a, &config),
        Command::Enter(a) => enter::run(a, &config),
        Command::Export(a) => export::run(a, &config),
        Command::Rm(a) => rm::run(a, &config),
        Command::Gc(a) => gc::run(a, &config),
        Command::Trust(a) => trust::run(a, &config),
        Command::MetadataService(a) => metadata_service::run(a, &config),
    }
}

/// Prints one line of a command's output; a closed stdout surfaces as [`Error::Output`].
pub(crate) fn print_line(line: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").map_err(Error::Output)
}

/// Reports the failure of one argument of a multi-argument command (`rkt: fetch x.aci: ...`);
/// the command goes on with the others and exits 254 at the end (see [`exit`]).
pub(crate) fn report_error(op: &str, arg: &str, err: &dyn std::error::Error) {
    eprintln!("rkt: {op} {arg}: {}", crate::error::chain(err));
}

/// As [`report_error`], for a failure that is a plain message.
pub(crate) fn report_message(op: &str, arg: &str, message: &str) {
    eprintln!("rkt: {op} {arg}: {message}");
}

/// `--format`: `None` for rkt's table, `Some(pretty)` for `json` / `json-pretty`.
pub(crate) fn parse_format(format: &str) -> Result<Option<bool>, Error> {
    match format {
        "" => Ok(None),
        "json" => Ok(Some(false)),
        "json-pretty" => Ok(Some(true)),
        other => Err(Error::Usage(format!("Invalid format option: {other}"))),
    }
}

/// Prints `value` as rkt did: `json.Marshal`, or `json.MarshalIndent(v, "", "\t")`.
pub(crate) fn print_json<T: serde::Serialize>(value: &T, pretty: bool) -> Result<(), Error> {
    let json = if pretty {
        let mut out = Vec::new();
        let indent = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, indent);
        value.serialize(&mut ser).map(|()| out)
    } else {
        serde_json::to_vec(value)
    };
    let json = json.map_err(|e| Error::Output(e.into()))?;
    print_line(&String::from_utf8_lossy(&json))
}

/// The one pod a command names, by UUID (prefix) or `--uuid-file`, not both.
pub(crate) fn one_pod(
    cmd: &'static str,
    uuid: Option<&str>,
    uuid_file: Option<&str>,
    config: &Config,
) -> Result<crate::pod::Pod, Error> {
    let uuid = match (uuid, uuid_file) {
        (Some(u), None) => u.to_string(),
        (None, Some(f)) => {
            crate::pod::read_uuid_file(std::path::Path::new(f)).map_err(pod_err(cmd))?
        }
        (Some(_), Some(_)) => {
            return Err(Error::Usage(format!(
                "{cmd}: give either a UUID or --uuid-file, not both"
            )))
        }
        (None, None) => {
            return Err(Error::Usage(format!(
                "{cmd}: must provide a pod UUID or --uuid-file"
            )))
        }
    };
    crate::pod::Pod::resolve(&config.data_dir, &uuid).map_err(pod_err(cmd))
}

/// A pod error of command `cmd`, reported as `rkt: cmd: ...`.
pub(crate) fn pod_err(cmd: &'static str) -> impl Fn(crate::pod::Error) -> Error {
    move |e| Error::PodOp(cmd, Box::new(e))
}

/// The exit code of a multi-argument command: 254 if any argument failed.
pub(crate) fn exit(errored: bool) -> ExitCode {
    if errored {
        ExitCode::from(crate::error::EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    }
}

fn unimplemented() -> Vec<String> {
    COMMANDS
        .iter()
        .filter(|s| !s.implemented)
        .map(|s| s.path.join(" "))
        .collect()
}

/// argh's multi-line error as one line.
fn usage_message(output: &str) -> String {
    output
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches('.')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `argv` through the normalizer and argh.
    fn parsed(argv: &[&str]) -> Rkt {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let normalized = args::normalize(COMMANDS, &argv).unwrap();
        let strs: Vec<&str> = normalized.args.iter().map(String::as_str).collect();
        Rkt::from_args(&["rkt"], &strs).unwrap()
    }

    fn run_args(rkt: Rkt) -> pod_flags::PodArgs {
        let Command::Run(run::Args(a)) = rkt.command else {
            panic!("not run")
        };
        a
    }

    /// The apps of a `run` command line, through the image-list grammar.
    fn apps_of(a: &pod_flags::PodArgs) -> Vec<crate::stage0::applist::AppArg> {
        crate::stage0::applist::parse_list(&a.positionals, &|n| {
            pod_flags::list_role(pod_flags::Cmd::Run, n)
        })
        .unwrap()
        .apps
    }

    /// Every flag in the normalizer's tables must exist in the argh structs (or the pod flag
    /// table), and every command the tables call implemented must parse.
    #[test]
    fn flag_tables_match_argh() {
        let pod_flags: Vec<(&str, Kind)> =
            pod_flags::FLAGS.iter().map(|f| (f.name, f.kind)).collect();
        for spec in COMMANDS.iter().filter(|s| s.implemented) {
            let flags = if spec.pod.is_some() {
                &pod_flags[..]
            } else {
                spec.flags
            };
            for &(name, kind) in flags {
                let mut argv: Vec<String> = spec.path.iter().map(|s| s.to_string()).collect();
                argv.push(match kind {
                    Kind::Switch | Kind::Bool => format!("--{name}"),
                    _ => format!("--{name}=x"),
                });
                let normalized = match args::normalize(COMMANDS, &argv) {
                    Ok(n) => n,
                    // A pod flag of another command, or one not implemented yet.
                    Err(Error::Usage(_) | Error::NotImplemented(_)) if spec.pod.is_some() => {
                        continue
                    }
                    Err(e) => panic!("{argv:?}: {e}"),
                };
                let strs: Vec<&str> = normalized.args.iter().map(String::as_str).collect();
                if let Err(early) = Rkt::from_args(&["rkt"], &strs) {
                    assert!(
                        !early.output.contains("Unrecognized argument"),
                        "{argv:?}: {}",
                        early.output
                    );
                }
            }
        }
    }

    /// rkt's parseApps: pod flags between images are the pod's (and a global flag there is
    /// global); per-app flags bind to the image before them; app arguments are left alone.
    #[test]
    fn pod_flags_among_the_images_are_hoisted() {
        let rkt = parsed(&[
            "run",
            "img1",
            "--net=host",
            "--exec=/x",
            "img2",
            "--port",
            "http:80",
            "--debug",
            "--user=u",
            "--",
            "--net=none",
            "---",
            "img3",
        ]);
        assert!(rkt.debug);
        let a = run_args(rkt);
        assert_eq!(a.all("net"), ["host"]);
        assert_eq!(a.all("port"), ["http:80"]);
        let apps = apps_of(&a);
        assert_eq!(apps.len(), 3);
        assert_eq!(apps[0].exec.as_deref(), Some("/x"));
        assert_eq!(apps[1].user.as_deref(), Some("u"));
        assert_eq!(apps[1].args, Some(vec!["--net=none".to_string()]));
    }

    /// cobra found a command's own flags before its name too.
    #[test]
    fn a_commands_flag_before_its_name_is_its_own() {
        let norm = |v: &[&str]| {
            let argv: Vec<String> = v.iter().map(|s| s.to_string()).collect();
            args::normalize(COMMANDS, &argv)
        };
        let n = norm(&["--no-store", "--debug", "fetch", "x.aci"]).unwrap();
        assert_eq!(n.command, ["fetch"]);
        assert!(n.args.contains(&"--no-store".to_string()), "{:?}", n.args);
        let n = norm(&["--pretty-print=false", "config"]).unwrap();
        assert!(
            n.args.windows(2).any(|w| w == ["--pretty-print", "false"]),
            "{:?}",
            n.args
        );
        let a = run_args(parsed(&["--set-env=A=B", "run", "img"]));
        assert_eq!(a.all("set-env"), ["A=B"]);
        assert!(norm(&["--bogus", "fetch", "x"]).is_err());
    }

    /// The run image list reaches the grammar intact through the normalizer and argh.
    #[test]
    fn run_image_list_survives_normalizing() {
        let a = run_args(parsed(&[
            "run",
            "--net=none",
            "img",
            "--exec=/x",
            "--",
            "a",
            "--",
            "---",
        ]));
        assert_eq!(a.all("net"), ["none"]);
        let apps = apps_of(&a);
        assert_eq!(apps.len(), 1);
        assert_eq!(apps[0].exec.as_deref(), Some("/x"));
        assert_eq!(apps[0].args, Some(vec!["a".to_string(), "--".to_string()]));
    }

    #[test]
    fn pending_flags_are_not_implemented_errors() {
        let argv: Vec<String> = ["run", "--private-users", "img"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let err = args::normalize(COMMANDS, &argv).unwrap_err();
        assert!(err.to_string().contains("--private-users"), "{err}");
        assert!(matches!(err, Error::NotImplemented(_)));
    }

    #[test]
    fn argh_errors_become_one_line() {
        assert_eq!(
            usage_message("Required positional arguments not provided:\n    dir\n"),
            "Required positional arguments not provided: dir"
        );
    }
}
