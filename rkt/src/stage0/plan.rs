//! The launch plan, computed from the app, its image manifest and what the image's rootfs
//! contains (plan-then-apply: nothing here touches the host; the rootfs is read through
//! [`RootfsView`], which the caller backs with `open_in_root` and the tests with a map).

use std::path::PathBuf;

use stage1_init::plan::{self, EtcFile, Net, RootfsMode};

use super::dns::{Dns, Hosts};
use crate::appc::{App, Isolator};

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
    /// Kernel-tunable protection for every app (off with `--insecure-options=paths`).
    pub(crate) protect_kernel: bool,
    /// Environment layers under the image's (`--inherit-env`) and over it (`--set-env-file`,
    /// then `--set-env`); each app's `--environment` goes over all of them.
    pub(crate) inherit_env: Vec<(String, String)>,
    pub(crate) set_env_file: Vec<(String, String)>,
    pub(crate) set_env: Vec<(String, String)>,
    /// `--dns*` and `--hosts-entry` (see `super::dns`).
    pub(crate) dns: Dns,
    pub(crate) hosts: Hosts,
}

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
            PlanError::User { app, what, value } => {
                write!(f, "app {app:?}: {what} {value:?} not found in the image")
            }
            PlanError::Invalid(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for PlanError {}

/// The plan and the warnings to print (isolators not applied yet).
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) plan: plan::Plan,
    pub(crate) warnings: Vec<String>,
}

pub(crate) const LOCALHOST: &str =
    "127.0.0.1 localhost localhost.localdomain localhost4 localhost4.localdomain4\n\
::1 localhost localhost.localdomain localhost6 localhost6.localdomain6\n";

/// Computes the plan of a pod (pure but for reads through each app's [`RootfsView`]).
pub(crate) fn compute(
    pod: &PodInput,
    apps: &[(AppInput, &dyn RootfsView)],
) -> Result<Planned, PlanError> {
    let mut warnings = Vec::new();
    let mut out = Vec::new();
    for (input, view) in apps {
        out.push(plan_app(input, *view, pod, &mut warnings)?);
    }
    // Generated files are written over whatever the image has (a symlink there is replaced,
    // never followed: stage1-init's EtcFile contract).
    let host_hosts = || EtcFile::Bind(PathBuf::from("/etc/hosts"));
    let hosts = match (&pod.hosts, pod.net) {
        (Hosts::Entries(text), _) => EtcFile::Write(text.clone()),
        (Hosts::Host, _) if pod.host_hosts => host_hosts(),
        (Hosts::Default, Net::Host) if pod.host_hosts => host_hosts(),
        _ => EtcFile::Default(LOCALHOST.to_string()),
    };
    let host_resolv = || EtcFile::Bind(PathBuf::from("/etc/resolv.conf"));
    let resolv = match (&pod.dns, pod.net) {
        (Dns::Generated(text), _) => EtcFile::Write(text.clone()),
        (Dns::Host, _) if pod.host_resolv => host_resolv(),
        (Dns::Default, Net::Host) if pod.host_resolv => host_resolv(),
        _ => EtcFile::Keep,
    };
    let plan = plan::Plan {
        uuid: pod.uuid.clone(),
        hostname: pod
            .hostname
            .clone()
            .unwrap_or_else(|| format!("rkt-{}", pod.uuid)),
        pod_dir: pod.pod_dir.clone(),
        net: pod.net,
        hosts,
        resolv,
        apps: out,
    };
    plan.validate()
        .map_err(|e| PlanError::Invalid(e.to_string()))?;
    Ok(Planned { plan, warnings })
}

fn plan_app(
    input: &AppInput,
    view: &dyn RootfsView,
    pod: &PodInput,
    warnings: &mut Vec<String>,
) -> Result<plan::App, PlanError> {
    let name = &input.name;
    let app = &input.app;
    let mut no_new_privs = false;
    for iso in &app.isolators {
        match iso {
            Isolator::NoNewPrivileges(on) => no_new_privs = *on,
            other => warnings.push(format!("isolator {:?} is not applied yet", other.name())),
        }
    }

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
    let exec = resolve_exec(first, &path_var, view).ok_or_else(|| PlanError::ExecNotFound {
        app: name.clone(),
        exec: first.clone(),
    })?;
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
    Ok(plan::App {
        name: name.clone(),
        lower: input.lower.clone(),
        mode: input.mode.clone(),
        argv,
        env,
        uid,
        gid,
        supplementary_gids: app.supplementary_gids.clone(),
        cwd,
        caps: plan::default_caps(),
        readonly_rootfs: input.readonly_rootfs,
        protect_kernel: pod.protect_kernel,
        no_new_privs,
        pre_start: Vec::new(),
        post_stop: Vec::new(),
        mounts: input.mounts.clone(),
    })
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
mod tests {
    use super::*;
    use crate::appc::{Environment, Exec};
    use std::collections::HashMap;

    /// Contents, executable, (uid, gid).
    type FakeFile = (Vec<u8>, bool, (u32, u32));

    #[derive(Default)]
    struct Fake {
        files: HashMap<String, FakeFile>,
        dirs: Vec<String>,
    }

    impl RootfsView for Fake {
        fn is_executable(&self, p: &str) -> bool {
            self.files.get(p).is_some_and(|f| f.1)
        }
        fn is_dir(&self, p: &str) -> bool {
            self.dirs.iter().any(|d| d == p)
        }
        fn read(&self, p: &str) -> Option<Vec<u8>> {
            self.files.get(p).map(|f| f.0.clone())
        }
        fn owner(&self, p: &str) -> Option<(u32, u32)> {
            self.files.get(p).map(|f| f.2)
        }
    }

    fn fake() -> Fake {
        let mut f = Fake {
            dirs: vec!["/".into(), "/srv".into()],
            ..Fake::default()
        };
        f.files
            .insert("/usr/bin/probe".into(), (vec![], true, (0, 0)));
        f.files
            .insert("/bin/notexec".into(), (vec![], false, (0, 0)));
        f.files.insert("/data".into(), (vec![], false, (7, 8)));
        f.files.insert(
            "/etc/passwd".into(),
            (
                b"root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n123:x:5:5::/h5:/x\n"
                    .to_vec(),
                false,
                (0, 0),
            ),
        );
        f.files.insert(
            "/etc/group".into(),
            (b"root:x:0:\nweb:x:44:\n".to_vec(), false, (0, 0)),
        );
        f
    }

    fn pod() -> PodInput {
        PodInput {
            uuid: "6f1f0d3c-0000-4000-8000-000000000000".into(),
            hostname: None,
            pod_dir: "/d/pods/prepare/6f1f0d3c-0000-4000-8000-000000000000".into(),
            net: Net::Host,
            host_hosts: true,
            host_resolv: false,
            protect_kernel: true,
            inherit_env: Vec::new(),
            set_env_file: Vec::new(),
            set_env: Vec::new(),
            dns: Dns::Default,
            hosts: Hosts::Default,
        }
    }

    fn input(exec: &[&str], user: &str, group: &str) -> AppInput {
        AppInput {
            name: "probe".into(),
            app: App::new(
                Exec::new(exec.iter().map(|s| s.to_string()).collect()).unwrap(),
                user,
                group,
            ),
            lower: "/d/cas/tree/x/rootfs".into(),
            mode: RootfsMode::Copy,
            cli_env: Vec::new(),
            readonly_rootfs: false,
            mounts: Vec::new(),
        }
    }

    fn one(a: AppInput, view: &Fake) -> Result<Planned, PlanError> {
        compute(&pod(), &[(a, view as &dyn RootfsView)])
    }

    #[test]
    fn exec_is_searched_in_path_and_env_has_defaults_then_image() {
        let f = fake();
        let mut a = input(&["probe", "true"], "0", "0");
        a.app.environment = Environment::new(vec![
            ("SHELL".into(), "/bin/bash".into()),
            ("X".into(), "1".into()),
        ])
        .unwrap();
        let p = one(a, &f).unwrap();
        let app = &p.plan.apps[0];
        assert_eq!(app.argv, vec!["/usr/bin/probe", "true"]);
        let env: Vec<String> = app.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            env,
            vec![
                format!("PATH={DEFAULT_PATH}"),
                "AC_APP_NAME=probe".into(),
                "container=rkt".into(),
                "HOME=/root".into(),
                "USER=root".into(),
                "LOGNAME=root".into(),
                "SHELL=/bin/bash".into(),
                "X=1".into(),
            ]
        );
        assert_eq!(app.caps, plan::default_caps());
        assert!(app.protect_kernel);
        assert_eq!(p.plan.hostname, format!("rkt-{}", pod().uuid));
        assert_eq!(p.plan.hosts, EtcFile::Bind("/etc/hosts".into()));
        assert_eq!(p.plan.resolv, EtcFile::Keep);
    }

    #[test]
    fn users_by_name_first_then_number_then_path() {
        let f = fake();
        let p = one(input(&["/usr/bin/probe"], "web", "web"), &f).unwrap();
        assert_eq!((p.plan.apps[0].uid, p.plan.apps[0].gid), (33, 44));
        let env = &p.plan.apps[0].env;
        assert!(env.contains(&("HOME".into(), "/var/www".into())));
        assert!(env.contains(&("USER".into(), "web".into())));
        // "123" is a user name in this passwd: the name wins over the number.
        let p = one(input(&["/usr/bin/probe"], "123", "9"), &f).unwrap();
        assert_eq!((p.plan.apps[0].uid, p.plan.apps[0].gid), (5, 9));
        let p = one(input(&["/usr/bin/probe"], "/data", "/data"), &f).unwrap();
        assert_eq!((p.plan.apps[0].uid, p.plan.apps[0].gid), (7, 8));
        let e = one(input(&["/usr/bin/probe"], "nobody", "0"), &f).unwrap_err();
        assert!(matches!(e, PlanError::User { what: "user", .. }));
        assert!(e.to_string().contains("\"nobody\""));
        let e = one(input(&["/usr/bin/probe"], "0", "/missing"), &f).unwrap_err();
        assert!(matches!(e, PlanError::User { what: "group", .. }));
    }

    #[test]
    fn missing_exec_or_workdir_is_named() {
        let f = fake();
        let e = one(input(&["/bin/nope"], "0", "0"), &f).unwrap_err();
        assert_eq!(
            e,
            PlanError::ExecNotFound {
                app: "probe".into(),
                exec: "/bin/nope".into()
            }
        );
        assert!(one(input(&["/bin/notexec"], "0", "0"), &f).is_err());
        assert!(one(input(&["nope"], "0", "0"), &f).is_err());
        assert!(matches!(
            one(input(&[], "0", "0"), &f),
            Err(PlanError::NoExec { .. })
        ));
        let mut a = input(&["probe"], "0", "0");
        a.app.working_directory = Some("/srv".into());
        assert_eq!(one(a.clone(), &f).unwrap().plan.apps[0].cwd, "/srv");
        a.app.working_directory = Some("/nope".into());
        assert!(matches!(one(a, &f), Err(PlanError::WorkDirMissing { .. })));
    }

    #[test]
    fn net_none_and_hostname() {
        let f = fake();
        let mut p = pod();
        p.net = Net::None;
        p.hostname = Some("web1".into());
        let planned = compute(&p, &[(input(&["probe"], "0", "0"), &f as &dyn RootfsView)]).unwrap();
        assert_eq!(planned.plan.hostname, "web1");
        assert!(matches!(planned.plan.hosts, EtcFile::Default(_)));
        p.hostname = Some("-bad".into());
        assert!(matches!(
            compute(&p, &[(input(&["probe"], "0", "0"), &f as &dyn RootfsView)]),
            Err(PlanError::Invalid(_))
        ));
    }

    #[test]
    fn isolators_not_applied_are_warned_about() {
        let f = fake();
        let mut a = input(&["probe"], "0", "0");
        a.app.isolators = vec![Isolator::OomScoreAdj(5), Isolator::NoNewPrivileges(true)];
        let p = one(a, &f).unwrap();
        assert_eq!(
            p.warnings,
            vec!["isolator \"os/linux/oom-score-adj\" is not applied yet".to_string()]
        );
        assert!(p.plan.apps[0].no_new_privs);
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// rkt-behaviour §3.5: inherit-env < image < --set-env-file < --set-env < --environment.
    #[test]
    fn env_precedence_table() {
        let f = fake();
        let mut p = pod();
        p.inherit_env = kv(&[
            ("A", "inherit"),
            ("B", "inherit"),
            ("C", "inherit"),
            ("D", "inherit"),
            ("E", "inherit"),
            ("PATH", "/host/bin"),
            ("AC_APP_NAME", "evil"),
        ]);
        p.set_env_file = kv(&[("C", "file"), ("D", "file"), ("E", "file")]);
        p.set_env = kv(&[("D", "set-env"), ("E", "set-env")]);
        let mut a = input(&["/usr/bin/probe"], "0", "0");
        a.app.environment =
            Environment::new(kv(&[("B", "image"), ("C", "image"), ("E", "image")])).unwrap();
        a.cli_env = kv(&[("E", "environment"), ("F", "environment")]);
        a.readonly_rootfs = true;
        let planned = compute(&p, &[(a, &f as &dyn RootfsView)]).unwrap();
        let app = &planned.plan.apps[0];
        let get = |k: &str| {
            app.env
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        for (k, want) in [
            ("A", "inherit"),
            ("B", "image"),
            ("C", "file"),
            ("D", "set-env"),
            ("E", "environment"),
            ("F", "environment"),
            ("PATH", "/host/bin"),
            ("AC_APP_NAME", "probe"),
        ] {
            assert_eq!(get(k), Some(want), "{k}");
        }
        assert_eq!(app.env.iter().filter(|(k, _)| k == "E").count(), 1);
        assert!(app.readonly_rootfs);
    }

    #[test]
    fn dns_and_hosts_flags_choose_the_etc_files() {
        let f = fake();
        let plan_of = |p: &PodInput| {
            compute(p, &[(input(&["probe"], "0", "0"), &f as &dyn RootfsView)])
                .unwrap()
                .plan
        };
        let mut p = pod();
        p.host_resolv = true;
        p.dns = Dns::Generated("nameserver 1.1.1.1\n".into());
        p.hosts = Hosts::Entries("x\n".into());
        let plan = plan_of(&p);
        assert_eq!(plan.resolv, EtcFile::Write("nameserver 1.1.1.1\n".into()));
        assert_eq!(plan.hosts, EtcFile::Write("x\n".into()));
        p.dns = Dns::None;
        p.hosts = Hosts::Default;
        let plan = plan_of(&p);
        assert_eq!(plan.resolv, EtcFile::Keep);
        assert_eq!(plan.hosts, EtcFile::Bind("/etc/hosts".into()));
        p.net = Net::None;
        p.dns = Dns::Host;
        p.hosts = Hosts::Host;
        let plan = plan_of(&p);
        assert_eq!(plan.resolv, EtcFile::Bind("/etc/resolv.conf".into()));
        assert_eq!(plan.hosts, EtcFile::Bind("/etc/hosts".into()));
        p.dns = Dns::Default;
        p.hosts = Hosts::Default;
        let plan = plan_of(&p);
        assert_eq!(plan.resolv, EtcFile::Keep);
        assert_eq!(plan.hosts, EtcFile::Default(LOCALHOST.into()));
    }
}
