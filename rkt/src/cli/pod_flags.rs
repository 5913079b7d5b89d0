//! The flags of `run`, `prepare` and `run-prepared` in one table: which commands take each,
//! how it takes its value, whether it is the pod's or an app's, and its help. The normalizer
//! ([`super::args`]), the parser of these three commands ([`PodArgs`]) and the image-list
//! grammar ([`crate::stage0::applist`], through [`list_role`]) all read it, so a flag exists
//! for all of them or for none (argh cannot share fields between structs).

use std::fmt::Write as _;

use super::args::Kind;
use crate::stage0::applist::ListRole;

/// The three commands that make or start pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmd {
    Run,
    Prepare,
    RunPrepared,
}

impl Cmd {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Cmd::Run => "run",
            Cmd::Prepare => "prepare",
            Cmd::RunPrepared => "run-prepared",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Cmd::Run => R,
            Cmd::Prepare => P,
            Cmd::RunPrepared => X,
        }
    }
}

impl std::fmt::Display for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

const R: u8 = 1;
const P: u8 = 2;
const X: u8 = 4;

/// Where a flag applies (rkt's `parseApps` reads the image list with the command's whole flag
/// set, so every flag is accepted between images).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The pod's; given among the images it is moved in front of them.
    Pod,
    /// The pod's, and read where it stands in the image list (`IMAGE --set-env=K=V`).
    PodInList,
    /// Before the first image, every app's; after an image, that app's.
    App,
    /// Only after the image it belongs to.
    AfterImage,
}

/// One flag of the table.
#[derive(Debug)]
pub(crate) struct PodFlag {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) scope: Scope,
    /// Which commands take it (bits of [`Cmd`]).
    on: u8,
    /// Taken by rkt 1.30 but not implemented here: fails naming itself.
    pending: bool,
    help: &'static str,
}

const fn flag(name: &'static str, kind: Kind, scope: Scope, on: u8, help: &'static str) -> PodFlag {
    PodFlag {
        name,
        kind,
        scope,
        on,
        pending: false,
        help,
    }
}

const fn pending(name: &'static str, kind: Kind, scope: Scope, on: u8) -> PodFlag {
    PodFlag {
        pending: true,
        ..flag(name, kind, scope, on, "")
    }
}

use Kind::{Bool, Optional, Switch, Value};
use Scope::{AfterImage, App, Pod, PodInList};

/// Every flag of the three commands, in the order `--help` shows them.
pub(crate) static FLAGS: &[PodFlag] = &[
    flag("net", Optional("default"), Pod, R | X, "the networks to join (repeatable): default (also bare --net), default-restricted, a net.d network NAME[:CNI_ARGS], all, none, or host"),
    flag("port", Value, Pod, R | P, "forward a host port to an app's port: NAME:[HOSTIP:]HOSTPORT (repeatable; needs a contained network)"),
    flag("mds-register", Bool, Pod, R | X, "register the pod with the metadata service (rkt metadata-service), which its apps then reach at AC_METADATA_URL (default false)"),
    flag("hostname", Value, Pod, R | X, "the pod's hostname (default rkt-<uuid>)"),
    flag("dns", Value, Pod, R | X, "a DNS server IP (repeatable), or host (the host's resolv.conf), or none (the image's)"),
    flag("dns-search", Value, Pod, R | X, "a DNS search domain (repeatable)"),
    flag("dns-opt", Value, Pod, R | X, "a resolver option (repeatable)"),
    flag("dns-domain", Value, Pod, R | X, "the DNS domain"),
    flag("hosts-entry", Value, Pod, R | X, "an /etc/hosts entry IP=HOST (repeatable), or host (the host's /etc/hosts)"),
    flag("interactive", Switch, Pod, R | X, "give the one app a terminal (stdin and a tty of the pod's own) relayed to rkt's"),
    flag("ipc", Value, Pod, R | P | X, "the pod's IPC namespace: auto (its own; the host's for fly), private (its own) or parent (the host's); prepare's is run-prepared's default"),
    flag("quiet", Switch, Pod, P, "print only the UUID (no progress lines on stderr)"),
    flag("uuid-file-save", Value, Pod, R, "write the pod's UUID to this file"),
    flag("no-overlay", Switch, Pod, R | P, "copy the image's tree instead of using overlayfs"),
    flag("pod-manifest", Value, Pod, R | P, "run this appc PodManifest (apps, volumes, mounts, annotations); no images then"),
    flag("pull-policy", Value, Pod, R | P, "when to pull an image: new (default: only if not in the store), update (always ask the server) or never (the store only)"),
    flag("no-store", Switch, Pod, R | P, "deprecated: --pull-policy=update"),
    flag("store-only", Switch, Pod, R | P, "deprecated: --pull-policy=never"),
    flag("pids-limit", Value, Pod, R | P, "the pod's process limit (default 2048; 0: none)"),
    flag("stage1-name", Value, Pod, R | P, "coreos.com/rkt/stage1-fly:VERSION runs the one app as rkt's fly stage1 did"),
    flag("stage1-from-dir", Value, Pod, R | P, "stage1-fly.aci runs the one app as rkt's fly stage1 did"),
    flag("stage1-url", Value, Pod, R | P, "a stage1 image URL: not available (the stage1 is built in; fly is the only other)"),
    flag("stage1-path", Value, Pod, R | P, "a stage1 image path: not available (see --stage1-url)"),
    flag("stage1-hash", Value, Pod, R | P, "a stage1 image hash: not available (see --stage1-url)"),
    pending("private-users", Switch, Pod, R | P),
    flag("inherit-env", Switch, PodInList, R | P, "inherit the environment of rkt (lowest precedence)"),
    flag("set-env", Value, PodInList, R | P, "an environment variable for every app: NAME=VALUE (repeatable)"),
    flag("set-env-file", Value, PodInList, R | P, "a file of NAME=VALUE lines for every app's environment"),
    flag("volume", Value, PodInList, R | P, "a volume: NAME,kind=host,source=PATH[,readOnly=B][,recursive=B] or NAME,kind=empty[,mode=0755][,uid=N][,gid=N] (repeatable)"),
    flag("exec", Value, AfterImage, R | P, "the app's executable, replacing the image's"),
    flag("name", Value, AfterImage, R | P, "the app's name in the pod"),
    flag("signature", Value, AfterImage, R | P, "the detached signature of the image file before it"),
    flag("user", Value, App, R | P, "the app's user (name, number or path in the image)"),
    flag("group", Value, App, R | P, "the app's group"),
    flag("supplementary-gids", Value, App, R | P, "the app's supplementary gids: N,N,..."),
    flag("working-dir", Value, App, R | P, "the app's working directory"),
    flag("readonly-rootfs", Bool, App, R | P, "mount the app's rootfs read-only"),
    flag("environment", Value, App, R | P, "an environment variable of the app, NAME=VALUE (repeatable; highest precedence)"),
    flag("annotation", Value, App, R | P, "an annotation of the app, NAME=VALUE (repeatable)"),
    flag("user-annotation", Value, App, R | P, "a user annotation of the app, NAME=VALUE (repeatable)"),
    flag("user-label", Value, App, R | P, "a user label of the app, NAME=VALUE (repeatable)"),
    flag("mount", Value, App, R | P, "mount a volume in the app: volume=NAME,target=PATH (repeatable)"),
    flag("caps-retain", Value, App, R | P, "the app's capability bounding set, replacing the image's: CAP_A,CAP_B"),
    flag("caps-remove", Value, App, R | P, "capabilities removed from the app's default set: CAP_A,CAP_B"),
    flag("cap-retain", Value, App, R | P, "deprecated: --caps-retain"),
    flag("cap-remove", Value, App, R | P, "deprecated: --caps-remove"),
    flag("seccomp", Value, App, R | P, "the app's seccomp filter: mode=retain|remove[,errno=ENAME],SYSCALL,..."),
    flag("memory", Value, App, R | P, "the app's memory limit (k8s quantity: 64Mi, 1G)"),
    flag("cpu", Value, App, R | P, "the app's cpu limit (millicores: 500m)"),
    flag("cpu-shares", Value, App, R | P, "the app's cpu shares, 2 to 262144"),
    flag("oom-score-adj", Value, App, R | P, "the app's /proc/self/oom_score_adj, -1000 to 1000"),
    pending("stdin", Value, AfterImage, R | P),
    pending("stdout", Value, AfterImage, R | P),
    pending("stderr", Value, AfterImage, R | P),
];

/// The flag `name` of `cmd`, implemented or pending.
pub(crate) fn find(cmd: Cmd, name: &str) -> Option<&'static PodFlag> {
    FLAGS
        .iter()
        .find(|f| f.name == name && f.on & cmd.bit() != 0)
}

/// The implemented flag `name` of `cmd`.
pub(crate) fn implemented(cmd: Cmd, name: &str) -> Option<&'static PodFlag> {
    find(cmd, name).filter(|f| !f.pending)
}

/// Whether `name` is a flag of `cmd` that rkt 1.30 has and this build does not implement.
pub(crate) fn is_pending(cmd: Cmd, name: &str) -> bool {
    find(cmd, name).is_some_and(|f| f.pending)
}

/// What the image-list grammar of `cmd` does with a flag it meets after an image (the
/// normalizer has already moved the pod's own flags in front of the list).
pub(crate) fn list_role(cmd: Cmd, name: &str) -> Option<ListRole> {
    let f = find(cmd, name)?;
    let takes_value = matches!(f.kind, Value);
    Some(match (f.pending, f.scope) {
        (true, _) => ListRole::Pending,
        (false, App | AfterImage) => ListRole::App { takes_value },
        (false, Pod | PodInList) => ListRole::Pod { takes_value },
    })
}

/// A command's arguments after normalizing: its flags in order, then its positionals (for
/// `run` and `prepare`, the image list, verbatim).
#[derive(Debug, Default)]
pub(crate) struct PodArgs {
    values: Vec<(&'static str, String)>,
    pub(crate) positionals: Vec<String>,
}

impl PodArgs {
    /// Parses the normalized arguments of `cmd` (`--x v`, `--switch`, positionals; the
    /// normalizer has checked every flag and put a `--` after the first image).
    pub(crate) fn parse(cmd: Cmd, args: &[&str]) -> Result<PodArgs, argh::EarlyExit> {
        let usage = |output: String| argh::EarlyExit {
            output,
            status: Err(()),
        };
        if args.first() == Some(&"--help") {
            return Err(argh::EarlyExit {
                output: help(cmd),
                status: Ok(()),
            });
        }
        let mut parsed = PodArgs::default();
        let mut iter = args.iter();
        while let Some(&arg) = iter.next() {
            let Some(name) = arg.strip_prefix("--") else {
                parsed.positionals.push(arg.to_string());
                if cmd != Cmd::RunPrepared {
                    // The image list: the normalizer's `--` after the first image goes, so
                    // that a user's own `--` is the one the grammar sees.
                    let mut rest = iter.by_ref().map(|s| s.to_string()).peekable();
                    if rest.peek().is_some_and(|s| s == "--") {
                        rest.next();
                    }
                    parsed.positionals.extend(rest);
                }
                continue;
            };
            let Some(flag) = implemented(cmd, name) else {
                return Err(usage(format!("Unrecognized argument: {arg}")));
            };
            let value = match flag.kind {
                Switch => "true".to_string(),
                _ => iter
                    .next()
                    .ok_or_else(|| usage(format!("No value provided for option '{arg}'.")))?
                    .to_string(),
            };
            parsed.values.push((flag.name, value));
        }
        if cmd == Cmd::RunPrepared && parsed.positionals.len() != 1 {
            return Err(usage(
                "expected exactly one argument, the prepared pod's UUID".into(),
            ));
        }
        Ok(parsed)
    }

    /// Every value of `name`, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.values
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The last value of `name` (pflag: a repeated singular flag keeps the last).
    pub(crate) fn last(&self, name: &str) -> Option<String> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }

    /// A switch, or a bool flag (the normalizer gave it `true` or `false`).
    pub(crate) fn on(&self, name: &str) -> bool {
        self.last(name).is_some_and(|v| v == "true")
    }

    /// The flags of `scope` given before the first image, in order.
    pub(crate) fn of_scope(&self, scope: Scope) -> Vec<(&'static str, String)> {
        self.values
            .iter()
            .filter(|(n, _)| FLAGS.iter().any(|f| f.name == *n && f.scope == scope))
            .cloned()
            .collect()
    }
}

/// The argh subcommand `$ty` of `$cmd`, parsed by [`PodArgs::parse`].
macro_rules! pod_command {
    ($ty:ident, $cmd:expr) => {
        #[derive(Debug)]
        pub(crate) struct $ty(pub(crate) $crate::cli::pod_flags::PodArgs);

        impl argh::FromArgs for $ty {
            fn from_args(_: &[&str], args: &[&str]) -> Result<Self, argh::EarlyExit> {
                $crate::cli::pod_flags::PodArgs::parse($cmd, args).map($ty)
            }
        }

        impl argh::SubCommand for $ty {
            const COMMAND: &'static argh::CommandInfo = &argh::CommandInfo {
                name: $cmd.name(),
                short: &'\0',
                description: $crate::cli::pod_flags::description($cmd),
            };
        }
    };
}
pub(crate) use pod_command;

fn usage_line(cmd: Cmd) -> &'static str {
    match cmd {
        Cmd::Run => "rkt run [flags] IMAGE [app flags] [-- args... [---]] [IMAGE ...]",
        Cmd::Prepare => "rkt prepare [flags] IMAGE [app flags] [-- args... [---]] [IMAGE ...]",
        Cmd::RunPrepared => "rkt run-prepared [flags] UUID",
    }
}

/// The one-line description `rkt help` lists.
pub(crate) const fn description(cmd: Cmd) -> &'static str {
    match cmd {
        Cmd::Run => "run image(s) in a pod",
        Cmd::Prepare => "prepare to run image(s) in a pod",
        Cmd::RunPrepared => "run a prepared application pod in rkt",
    }
}

/// `rkt CMD --help`, from the table.
pub(crate) fn help(cmd: Cmd) -> String {
    let mut out = format!("Usage: {}\n\n{}\n", usage_line(cmd), description(cmd));
    let sections: &[(&str, &[Scope])] = match cmd {
        Cmd::RunPrepared => &[("Options", &[Pod])],
        _ => &[
            (
                "Pod options (also accepted between images)",
                &[Pod, PodInList],
            ),
            (
                "App options (after an image: that app's; before the first image: every app's)",
                &[App],
            ),
            ("Options of the image before them", &[AfterImage]),
        ],
    };
    for (title, scopes) in sections {
        let _ = write!(out, "\n{title}:\n");
        for f in FLAGS
            .iter()
            .filter(|f| !f.pending && f.on & cmd.bit() != 0 && scopes.contains(&f.scope))
        {
            let name = format!("--{}", f.name);
            let mut line = format!("  {name:<22}");
            let mut width = line.len();
            for word in f.help.split(' ') {
                if width + word.len() + 1 > 80 && width > 24 {
                    let _ = write!(line, "\n{:24}", "");
                    width = 24;
                }
                let _ = write!(line, " {word}");
                width += word.len() + 1;
            }
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = writeln!(out, "  {:<22} display usage information", "--help, help");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flag_is_once_per_command() {
        for cmd in [Cmd::Run, Cmd::Prepare, Cmd::RunPrepared] {
            let mut names: Vec<&str> = FLAGS
                .iter()
                .filter(|f| f.on & cmd.bit() != 0)
                .map(|f| f.name)
                .collect();
            let all = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), all, "{cmd:?} has a flag twice");
        }
    }

    #[test]
    fn parses_normalized_arguments() {
        let a = PodArgs::parse(
            Cmd::Run,
            &[
                "--net",
                "host",
                "--interactive",
                "--mds-register",
                "false",
                "--set-env",
                "A=1",
                "--set-env",
                "B=2",
                "img",
                "--",
                "--exec",
                "/x",
                "--",
                "--net=none",
            ],
        )
        .unwrap();
        assert_eq!(a.all("net"), ["host"]);
        assert!(a.on("interactive"));
        assert!(!a.on("mds-register"));
        assert!(!a.on("no-overlay"));
        assert_eq!(a.all("set-env"), ["A=1", "B=2"]);
        assert_eq!(a.positionals, ["img", "--exec", "/x", "--", "--net=none"]);
        assert!(PodArgs::parse(Cmd::RunPrepared, &["--port", "x", "u"]).is_err());
        assert!(PodArgs::parse(Cmd::RunPrepared, &["u", "v"]).is_err());
        let help = PodArgs::parse(Cmd::Prepare, &["--help"]).unwrap_err();
        assert!(help.status.is_ok() && help.output.contains("--quiet"));
        assert!(!help.output.contains("--interactive"));
    }

    #[test]
    fn the_grammar_sees_app_pod_and_pending_flags() {
        let run = |n| list_role(Cmd::Run, n);
        assert_eq!(run("exec"), Some(ListRole::App { takes_value: true }));
        assert_eq!(
            run("readonly-rootfs"),
            Some(ListRole::App { takes_value: false })
        );
        assert_eq!(
            run("inherit-env"),
            Some(ListRole::Pod { takes_value: false })
        );
        assert_eq!(run("stdin"), Some(ListRole::Pending));
        assert_eq!(run("bogus"), None);
        // Another command's flag is no flag of this one's list.
        assert_eq!(list_role(Cmd::Prepare, "hosts-entry"), None);
        assert_eq!(run("quiet"), None);
    }
}
