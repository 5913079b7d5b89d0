//! `rkt run`: resolve the image, create the pod on disk, compute the plan, start the embedded
//! stage1-init as the pod's PID 1, persist the pod's state between `Ready` and `Go`, forward
//! signals and return the pod's exit status (DESIGN §3.3).
//!
//! Owns: the order of those steps and the errors they report. The pure parts live in
//! [`applist`] (the image list grammar) and [`plan`] (the launch plan); syscalls in `sys`.

pub(crate) mod applist;
mod cgroups;
pub(crate) mod confinement;
pub(crate) mod dns;
pub(crate) mod fly;
mod launch;
mod output;
pub(crate) mod plan;
mod rootfs;
pub(crate) mod volumes;

use std::fmt;
use std::path::{Path, PathBuf};

pub(crate) use launch::{prepare_only, run, run_prepared};
pub(crate) use stage1_init::plan::Net;

/// What `rkt run` was asked for.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    pub(crate) net: Net,
    /// The networks the pod joins (`net` is then [`Net::None`]: a namespace of its own).
    pub(crate) networks: Vec<crate::net::select::Request>,
    /// `<local-config>/net.d`: the named networks.
    pub(crate) net_dir: PathBuf,
    /// `--port`s, stored in the pod manifest.
    pub(crate) ports: Vec<crate::appc::ExposedPort>,
    pub(crate) hostname: Option<String>,
    pub(crate) no_overlay: bool,
    pub(crate) uuid_file_save: Option<PathBuf>,
    /// `--insecure-options=image`: importing an unsigned image file is allowed.
    pub(crate) insecure_image: bool,
    /// The config dirs whose trusted keys verify image files.
    pub(crate) trust: crate::trust::TrustDirs,
    /// `--insecure-options=paths`: no kernel-tunable protection (read-only/masked /proc, /sys).
    pub(crate) insecure_paths: bool,
    /// `--insecure-options=capabilities,seccomp`.
    pub(crate) insecure_run: confinement::Insecure,
    /// `--pids-limit`: `None` for the default (2048 per pod), 0 for none.
    pub(crate) pids_limit: Option<u64>,
    pub(crate) debug: bool,
    pub(crate) apps: Vec<applist::AppArg>,
    /// `--inherit-env`: rkt's own environment (empty without the flag).
    pub(crate) inherit_env: Vec<(String, String)>,
    /// `--set-env-file`'s variables, then `--set-env`'s.
    pub(crate) set_env_file: Vec<(String, String)>,
    pub(crate) set_env: Vec<(String, String)>,
    /// `--volume`s, parsed.
    pub(crate) volumes: Vec<crate::appc::Volume>,
    /// `--dns*` and `--hosts-entry`, validated.
    pub(crate) dns: dns::Dns,
    pub(crate) hosts: dns::Hosts,
    /// `--pod-manifest`: the apps and volumes come from it (`apps` and `volumes` are empty).
    pub(crate) pod_manifest: Option<crate::appc::PodManifest>,
    /// `--interactive`: the one app gets a terminal that rkt relays (see [`tty`]).
    pub(crate) interactive: bool,
    /// `--ipc`: whether the pod gets an IPC namespace of its own.
    pub(crate) ipc: Ipc,
    /// `--mds-register`: register the pod with the metadata service.
    pub(crate) mds_register: bool,
    /// How remote images (URLs, names) are fetched: the configuration and `--pull-policy`.
    pub(crate) fetch: (crate::config::Config, crate::fetch::PullPolicy),
    /// `--stage1-name`/`--stage1-from-dir` chose rkt's fly stage1 (see [`fly`]).
    pub(crate) fly: bool,
}

/// What is given when a prepared pod starts (`run`'s pod flags that `prepare` does not take).
#[derive(Debug, Clone)]
pub(crate) struct StartOptions {
    pub(crate) net: Net,
    /// As [`RunOptions::networks`].
    pub(crate) networks: Vec<crate::net::select::Request>,
    /// `<local-config>/net.d`: the named networks.
    pub(crate) net_dir: PathBuf,
    pub(crate) hostname: Option<String>,
    pub(crate) debug: bool,
    pub(crate) dns: dns::Dns,
    pub(crate) hosts: dns::Hosts,
    /// `--interactive`: the one app gets a terminal that rkt relays (see [`tty`]).
    pub(crate) interactive: bool,
    /// `--ipc`.
    pub(crate) ipc: Ipc,
    /// `--mds-register`.
    pub(crate) mds_register: bool,
    /// Run the one app as fly did (see [`fly`]).
    pub(crate) fly: bool,
}

/// `--ipc` (rkt 1.29): `auto` is a namespace of the pod's own for the built-in stage1 (fly
/// shares every namespace of the host anyway); `parent` keeps the host's, so that the apps
/// share System V IPC and POSIX message queues with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Ipc {
    #[default]
    Auto,
    Private,
    Parent,
}

impl Ipc {
    pub(crate) fn parse(value: &str) -> Result<Ipc, String> {
        match value {
            "auto" => Ok(Ipc::Auto),
            "private" => Ok(Ipc::Private),
            "parent" => Ok(Ipc::Parent),
            other => Err(format!(
                "invalid value for --ipc: {:?}: expected auto, private or parent",
                crate::error::bounded(other)
            )),
        }
    }

    /// Whether the pod's PID 1 gets a new IPC namespace.
    pub(crate) fn private(self) -> bool {
        self != Ipc::Parent
    }
}

impl RunOptions {
    /// The start-time part of `run`'s options.
    pub(crate) fn start_options(&self) -> StartOptions {
        StartOptions {
            net: self.net,
            networks: self.networks.clone(),
            net_dir: self.net_dir.clone(),
            hostname: self.hostname.clone(),
            debug: self.debug,
            dns: self.dns.clone(),
            hosts: self.hosts.clone(),
            interactive: self.interactive,
            ipc: self.ipc,
            mds_register: self.mds_register,
            fly: self.fly,
        }
    }
}

/// Why a pod could not be run.
#[derive(Debug)]
pub(crate) enum Error {
    Store(crate::store::Error),
    Pod(crate::pod::Error),
    Plan(plan::PlanError),
    /// A file operation on the pod or the host; names it and the path.
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The image cannot run here (os/arch labels, no app, unsigned file...).
    Image {
        image: String,
        reason: String,
    },
    /// stage1-init reported a setup failure or died before `Ready`.
    Stage1(stage1_init::proto::ProtoError),
    /// The apps together are invalid (two with one name).
    Apps(String),
    /// Starting stage1-init failed.
    Spawn(std::io::Error),
    /// The pod's terminal (`--interactive`) could not be set up or relayed.
    Tty(std::io::Error),
    /// The pod's cgroups could not be made.
    Cgroup(crate::sys::cgroup::Error),
    /// The pod's network could not be set up.
    Net(crate::net::Error),
    /// The pod manifest's `ports` do not match its apps.
    Ports(crate::net::ports::PortError),
    /// An image file's signature check refused it.
    Trust {
        image: String,
        source: Box<crate::trust::Error>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Store(e) => e.fmt(f),
            Error::Pod(e) => e.fmt(f),
            Error::Plan(e) => e.fmt(f),
            Error::Io { op, path, .. } => write!(f, "{op} `{}`", path.display()),
            Error::Image { image, reason } => write!(f, "image {image:?}: {reason}"),
            Error::Stage1(e) => write!(f, "stage1: {e}"),
            Error::Apps(msg) => f.write_str(msg),
            Error::Spawn(_) => f.write_str("start stage1-init"),
            Error::Tty(_) => f.write_str("interactive terminal"),
            Error::Cgroup(e) => write!(f, "set up the pod's cgroups: {e}"),
            // rkt 1.30's words, which scripts match.
            Error::Net(e) => write!(f, "stage1: failed to setup network: {e}"),
            Error::Ports(e) => e.fmt(f),
            Error::Trust { image, source } => write!(f, "image {image:?}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Store(e) => e.source(),
            Error::Pod(e) => e.source(),
            Error::Io { source, .. } | Error::Spawn(source) | Error::Tty(source) => Some(source),
            Error::Trust { source, .. } => std::error::Error::source(source.as_ref()),
            Error::Cgroup(e) => Some(&e.source),
            Error::Net(e) => e.source(),
            _ => None,
        }
    }
}

impl From<crate::store::Error> for Error {
    fn from(e: crate::store::Error) -> Self {
        Error::Store(e)
    }
}

impl From<crate::pod::Error> for Error {
    fn from(e: crate::pod::Error) -> Self {
        Error::Pod(e)
    }
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { op, path, source }
}

/// The appc `arch` label of this host (appc `types.GoArchToACArch`).
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "i386",
        other => other,
    }
}

/// rkt refuses an image without `os` and `arch` labels, or for another os/arch
/// (`stage0/run.go:prepareAppImage`, appc's `IsValidOSArch`: rkt's words, which its tests
/// and scripts match). rkt accepted any arch valid for linux; this one only the host's, the
/// only one its apps can run.
fn check_os_arch(labels: &crate::appc::Labels) -> Result<(), String> {
    let Some(os) = labels.get("os") else {
        return Err("missing os label in the image manifest".into());
    };
    let Some(arch) = labels.get("arch") else {
        return Err("missing arch label in the image manifest".into());
    };
    if os != "linux" {
        return Err(format!("bad os {os:?} (must be one of: [linux])"));
    }
    if arch != host_arch() {
        return Err(format!(
            "bad arch {arch:?} for linux (must be one of: [{}])",
            host_arch()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appc::{AcIdentifier, Labels};

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(
            pairs
                .iter()
                .map(|(k, v)| (AcIdentifier::parse(k).unwrap(), v.to_string()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn os_arch_must_be_present_and_match() {
        assert!(check_os_arch(&labels(&[("os", "linux"), ("arch", host_arch())])).is_ok());
        assert!(check_os_arch(&labels(&[("os", "linux")])).is_err());
        assert!(check_os_arch(&labels(&[])).is_err());
        let e = check_os_arch(&labels(&[("os", "freebsd"), ("arch", "amd64")])).unwrap_err();
        assert_eq!(e, r#"bad os "freebsd" (must be one of: [linux])"#);
        assert_eq!(
            check_os_arch(&labels(&[("arch", "amd64")])).unwrap_err(),
            "missing os label in the image manifest"
        );
    }
}
