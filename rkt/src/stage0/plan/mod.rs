//! The launch plan, computed from the app, its image manifest and what the image's rootfs
//! contains (plan-then-apply: nothing here touches the host; the rootfs is read through
//! [`RootfsView`], which the caller backs with `open_in_root` and the tests with a map).

use std::path::PathBuf;

use stage1_init::plan::{self, EtcFile, Net, RootfsMode};

use super::confinement::{self, Programs};
use super::dns::{Dns, Hosts};
use crate::appc::App;

/// rkt's default PATH (`common/environment.go`).
pub(crate) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the plan needs to know about an image's rootfs; paths are absolute inside it and are
/// resolved inside it (symlinks never leave it).
pub(crate) trait RootfsView {
    /// A regular file with an execute bit.
    fn is_executable(&self, path: &str) -> bool;
    fn is_dir(&self, path: &str) -> bool;
    /// A small file's contents (`/etc/passwd`), `None` when missing or unreadable.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
    /// The owner (uid, gid) of a file.
    fn owner(&self, path: &str) -> Option<(u32, u32)>;
}

/// The pod-level inputs.
#[derive(Debug, Clone)]
pub(crate) struct PodInput {
    pub(crate) uuid: String,
    pub(crate) hostname: Option<String>,
    pub(crate) pod_dir: PathBuf,
    pub(crate) net: Net,
    /// Whether the host has `/etc/hosts` and `/etc/resolv.conf` (bound read-only with net=host).
    pub(crate) host_hosts: bool,
    pub(crate) host_resolv: bool,
    /// A contained network's `resolv.conf` (see `dns::for_contained_network`).
    pub(crate) contained_resolv: Option<String>,
    /// Kernel-tunable protection for every app (off with `--insecure-options=paths`).
    pub(crate) protect_kernel: bool,
    /// `--insecure-options=capabilities,seccomp`.
    pub(crate) insecure: confinement::Insecure,
    /// Environment layers under the image's (`--inherit-env`) and over it (`--set-env-file`,
    /// then `--set-env`); each app's `--environment` goes over all of them.
    pub(crate) inherit_env: Vec<(String, String)>,
    pub(crate) set_env_file: Vec<(String, String)>,
    pub(crate) set_env: Vec<(String, String)>,
    /// `--dns*` and `--hosts-entry` (see `super::dns`).
    pub(crate) dns: Dns,
    pub(crate) hosts: Hosts,
    /// `--interactive`: the pod's one app gets a terminal (see `stage1_init::plan::App`).
    pub(crate) interactive: bool,
    /// Which of rkt's stdout and stderr are terminals: the apps' then are ptys of the pod.
    pub(crate) output: plan::Output,
}

/// rkt 1.30's refusal of `--interactive` with several apps, word for word.
pub(crate) const INTERACTIVE_ONE_IMAGE: &str = "interactive option only supports one image";

/// One app's inputs: the resolved app section (CLI overrides applied) and its rootfs.
#[derive(Debug, Clone)]
pub(crate) struct AppInput {
    pub(crate) name: String,
    pub(crate) app: App,
    pub(crate) lower: PathBuf,
    pub(crate) mode: RootfsMode,
    /// `--environment`: the highest-precedence variables.
    pub(crate) cli_env: Vec<(String, String)>,
    /// `--readonly-rootfs` (or the pod manifest's `readOnlyRootFS`).
    pub(crate) readonly_rootfs: bool,
    /// The app's volumes (see `volumes::plan_mounts`).
    pub(crate) mounts: Vec<plan::Mount>,
}

/// Why an app cannot be planned. Each names the app and what is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PlanError {
    NoExec {
        app: String,
    },
    ExecNotFound {
        app: String,
        exec: String,
    },
    WorkDirMissing {
        app: String,
        dir: String,
    },
    User {
        app: String,
        what: &'static str,
        value: String,
    },
    Invalid(String),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::NoExec { app } => write!(f, "app {app:?} has no exec (use --exec)"),
            PlanError::ExecNotFound { app, exec } => write!(
                f,
                "app {app:?}: exec {exec:?} not found in the image (or not executable)"
            ),
            PlanError::WorkDirMissing { app, dir } => write!(
                f,
                "app {app:?}: working directory {dir:?} does not exist in the image"
            ),
            // rkt 1.30's `"user2" user not found`, which scripts match.
            PlanError::User { app, what, value } => {
                write!(f, "app {app:?}: {value:?} {what} not found in the image")
            }
            PlanError::Invalid(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for PlanError {}

/// The plan of a pod, and each app's cgroup limits (in app order) for [`attach_cgroups`].
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) plan: plan::Plan,
    pub(crate) resources: Vec<crate::cgroup::Resources>,
}

/// Adds the pod's cgroups to its plan: each app's `cgroup.procs`, the view each app gets, and
/// whether the device policy needs the `nodev` fallback (a policy no cgroup enforces;
/// `--insecure-options=paths` has no policy at all).
pub(crate) fn attach_cgroups(
    plan: &mut plan::Plan,
    cgroups: &crate::cgroup::PodCgroups,
    device_policy: bool,
) {
    plan.stage1_cgroup_procs.clone_from(&cgroups.stage1_procs);
    for ((app, procs), v2) in plan
        .apps
        .iter_mut()
        .zip(&cgroups.app_procs)
        .zip(&cgroups.app_v2)
    {
        app.cgroup_procs.clone_from(procs);
        app.cgroup_dir.clone_from(v2);
    }
    plan.cgroup_mounts = cgroups
        .inside
        .iter()
        .map(|m| plan::CgroupMount {
            rel: m.rel.clone(),
            fstype: m.fstype.to_string(),
            data: m.data.clone(),
        })
        .collect();
    plan.devices_by_cgroup = cgroups.devices_enforced || !device_policy;
}

/// rkt 1.30's stage1 `etc/hosts-fallback`, with the pod's host name added to its 127.0.0.1
/// line (stage1 `AddHostsEntry`): what an app whose image has no /etc/hosts gets, and what
/// `--hosts-entry` lines follow.
pub(crate) fn fallback_hosts(hostname: &str) -> String {
    format!(
        "127.0.0.1 localhost localhost.domain localhost4 localhost4.localdomain4 {hostname}\n\
         ::1 localhost localhost.domain localhost6 localhost6.localdomain6\n"
    )
}

/// Computes the plan of a pod (pure but for reads through each app's [`RootfsView`]).
pub(crate) fn compute(
    pod: &PodInput,
    apps: &[(AppInput, &dyn RootfsView)],
) -> Result<Planned, PlanError> {
    if pod.interactive && apps.len() != 1 {
        return Err(PlanError::Invalid(INTERACTIVE_ONE_IMAGE.into()));
    }
    let mut out = Vec::new();
    let mut resources = Vec::new();
    let mut programs = Programs::default();
    for (input, view) in apps {
        let (app, r) = plan_app(input, *view, pod, &mut programs)?;
        out.push(app);
        resources.push(r);
    }
    // Generated files are written over whatever the image has (a symlink there is replaced,
    // never followed: stage1-init's EtcFile contract).
    // /etc/hosts as rkt 1.30's stage1 made it, whatever the network: the image's own file,
    // else the fallback; `--hosts-entry` lines after the fallback, over the image's file.
    let hostname = pod
        .hostname
        .clone()
        .unwrap_or_else(|| format!("rkt-{}", pod.uuid));
    let hosts = match &pod.hosts {
        Hosts::Entries(lines) => EtcFile::Write(format!(
            "{}\n\n# Added by rkt run --hosts-entry\n{lines}",
            fallback_hosts(&hostname)
        )),
        Hosts::Host if pod.host_hosts => EtcFile::Bind(PathBuf::from("/etc/hosts")),
        _ => EtcFile::Default(fallback_hosts(&hostname)),
    };
    let host_resolv = || EtcFile::Bind(PathBuf::from("/etc/resolv.conf"));
    let resolv = match (&pod.dns, pod.net) {
        (Dns::Generated(text), _) => EtcFile::Write(text.clone()),
        (Dns::Host, _) if pod.host_resolv => host_resolv(),
        (Dns::Default, Net::Host) if pod.host_resolv => host_resolv(),
        (Dns::Default, _) => match &pod.contained_resolv {
            Some(text) => EtcFile::Write(text.clone()),
            None => EtcFile::Keep,
        },
        _ => EtcFile::Keep,
    };
    let plan = plan::Plan {
        uuid: pod.uuid.clone(),
        hostname,
        pod_dir: pod.pod_dir.clone(),
        net: pod.net,
        hosts,
        resolv,
        cgroup_mounts: Vec::new(),
        stage1_cgroup_procs: Vec::new(),
        output: pod.output,
        devices_by_cgroup: true,
        apps: out,
    };
    plan.validate()
        .map_err(|e| PlanError::Invalid(e.to_string()))?;
    Ok(Planned { plan, resources })
}

fn plan_app(
    input: &AppInput,
    view: &dyn RootfsView,
    pod: &PodInput,
    programs: &mut Programs,
) -> Result<(plan::App, crate::cgroup::Resources), PlanError> {
    let name = &input.name;
    let app = &input.app;

    // Environment: rkt's defaults, then from lowest to highest precedence (rkt-behaviour
    // §3.5): rkt's own (--inherit-env), the image's, --set-env-file, --set-env, --environment.
    // Each layer replaces a variable in place or appends it; AC_APP_NAME is always the app's.
    let passwd = view.read("/etc/passwd").unwrap_or_default();
    let group = view.read("/etc/group").unwrap_or_default();
    let uid = resolve_id(&app.user, &passwd, view, true).ok_or_else(|| PlanError::User {
        app: name.clone(),
        what: "user",
        value: app.user.clone(),
    })?;
    let gid = resolve_id(&app.group, &group, view, false).ok_or_else(|| PlanError::User {
        app: name.clone(),
        what: "group",
        value: app.group.clone(),
    })?;
    let pw = passwd_entry_by_uid(&passwd, uid);
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), DEFAULT_PATH.into()),
        ("AC_APP_NAME".into(), name.clone()),
        ("container".into(), "rkt".into()),
        (
            "HOME".into(),
            pw.as_ref().map_or("/root".into(), |p| p.1.clone()),
        ),
        (
            "USER".into(),
            pw.as_ref().map_or("root".into(), |p| p.0.clone()),
        ),
        (
            "LOGNAME".into(),
            pw.as_ref().map_or("root".into(), |p| p.0.clone()),
        ),
        ("SHELL".into(), "/bin/sh".into()),
    ];
    let image_env: Vec<(String, String)> = app
        .environment
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for layer in [
        &pod.inherit_env,
        &image_env,
        &pod.set_env_file,
        &pod.set_env,
        &input.cli_env,
    ] {
        for (k, v) in layer {
            let v = if k == "AC_APP_NAME" { name } else { v };
            match env.iter_mut().find(|(n, _)| n == k) {
                Some(e) => e.1.clone_from(v),
                None => env.push((k.clone(), v.clone())),
            }
        }
    }

    let args = app.exec.args();
    let Some(first) = args.first() else {
        return Err(PlanError::NoExec { app: name.clone() });
    };
    let path_var = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    // An executable on one of the app's volumes is not in the image: it is there once the
    // volumes are mounted (rkt 1.30 looked it up then), and the exec says if it is not.
    let on_a_volume = |exec: &str| {
        exec.starts_with('/')
            && input.mounts.iter().any(|m| {
                exec.strip_prefix(m.target.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
            })
    };
    let exec = match resolve_exec(first, &path_var, view) {
        Some(exec) => exec,
        None if on_a_volume(first) => first.clone(),
        None => {
            return Err(PlanError::ExecNotFound {
                app: name.clone(),
                exec: first.clone(),
            })
        }
    };
    let mut argv = vec![exec];
    argv.extend(args[1..].iter().cloned());

    let cwd = app
        .working_directory
        .clone()
        .unwrap_or_else(|| "/".to_string());
    if !view.is_dir(&cwd) {
        return Err(PlanError::WorkDirMissing {
            app: name.clone(),
            dir: cwd,
        });
    }
    let in_app = |e: String| PlanError::Invalid(format!("app {name:?}: {e}"));
    let confined = confinement::resolve(&app.isolators, uid, pod.insecure).map_err(in_app)?;
    let seccomp = programs.get(&confined).map_err(in_app)?;
    let app = plan::App {
        name: name.clone(),
        lower: input.lower.clone(),
        mode: input.mode.clone(),
        argv,
        env,
        uid,
        gid,
        supplementary_gids: app.supplementary_gids.clone(),
        cwd,
        caps: confined.caps,
        readonly_rootfs: input.readonly_rootfs,
        protect_kernel: pod.protect_kernel,
        no_new_privs: confined.no_new_privs,
        seccomp,
        cgroup_procs: Vec::new(),
        cgroup_dir: None,
        oom_score_adj: confined.oom_score_adj,
        interactive: pod.interactive,
        pre_start: handler_argv(app, crate::appc::Event::PreStart, &path_var, view),
        post_stop: handler_argv(app, crate::appc::Event::PostStop, &path_var, view),
        mounts: input.mounts.clone(),
    };
    Ok((app, confined.resources))
}

/// The argv of the app's handler for `event` (none: empty). Its executable is looked up as the
/// app's, but one not found now is kept as given: it may live on a volume mounted later, and
/// a handler that cannot run fails when it runs, as in rkt (where systemd ran it).
fn handler_argv(
    app: &crate::appc::App,
    event: crate::appc::Event,
    path: &str,
    view: &dyn RootfsView,
) -> Vec<String> {
    let Some(args) = app.event_handler(event).map(|h| h.exec.args()) else {
        return Vec::new();
    };
    let Some(first) = args.first() else {
        return Vec::new();
    };
    let exec = resolve_exec(first, path, view).unwrap_or_else(|| first.clone());
    let mut argv = vec![exec];
    argv.extend(args[1..].iter().cloned());
    argv
}

/// `argv[0]`: absolute as is, else the first executable in `path` (appc: looked up in PATH).
fn resolve_exec(exec: &str, path: &str, view: &dyn RootfsView) -> Option<String> {
    if exec.starts_with('/') {
        return view.is_executable(exec).then(|| exec.to_string());
    }
    if exec.contains('/') {
        return None;
    }
    path.split(':')
        .filter(|d| d.starts_with('/'))
        .map(|d| format!("{}/{exec}", d.trim_end_matches('/')))
        .find(|p| view.is_executable(p))
}

/// A user or group: an absolute path (its owner), a name in the image's passwd/group (names
/// first, as the appc spec says), or a number.
fn resolve_id(value: &str, db: &[u8], view: &dyn RootfsView, user: bool) -> Option<u32> {
    if value.starts_with('/') {
        return view.owner(value).map(|(u, g)| if user { u } else { g });
    }
    let text = String::from_utf8_lossy(db);
    for line in text.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 3 && f[0] == value {
            if let Ok(id) = f[2].parse() {
                return Some(id);
            }
        }
    }
    // Every system's uid and gid 0 is root: rkt 1.30 ran `--user=root` in images without
    // /etc/passwd or /etc/group (scratch and static images).
    if value == "root" {
        return Some(0);
    }
    value.parse().ok()
}

/// The (name, home) of the passwd entry for `uid`.
fn passwd_entry_by_uid(db: &[u8], uid: u32) -> Option<(String, String)> {
    let text = String::from_utf8_lossy(db);
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| (f[0].to_string(), f[5].to_string()))
    })
}

#[cfg(test)]
mod tests;
