//! Unit tests of the plan: a fake rootfs view and the pure `compute`.

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
        contained_resolv: None,
        protect_kernel: true,
        insecure: confinement::Insecure::default(),
        inherit_env: Vec::new(),
        set_env_file: Vec::new(),
        set_env: Vec::new(),
        dns: Dns::Default,
        hosts: Hosts::Default,
        interactive: false,
        output: Default::default(),
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
    assert_eq!(
        p.plan.hosts,
        EtcFile::Default(fallback_hosts(&format!("rkt-{}", pod().uuid)))
    );
    assert_eq!(p.plan.resolv, EtcFile::Keep);
}

#[test]
fn interactive_marks_the_one_app_and_refuses_two() {
    let f = fake();
    let mut pod = pod();
    pod.interactive = true;
    let p = compute(
        &pod,
        &[(input(&["/usr/bin/probe"], "0", "0"), &f as &dyn RootfsView)],
    )
    .unwrap();
    assert!(p.plan.apps[0].interactive);
    assert!(
        !one(input(&["/usr/bin/probe"], "0", "0"), &f)
            .unwrap()
            .plan
            .apps[0]
            .interactive
    );
    let mut second = input(&["/usr/bin/probe"], "0", "0");
    second.name = "other".into();
    let two = [
        (input(&["/usr/bin/probe"], "0", "0"), &f as &dyn RootfsView),
        (second, &f as &dyn RootfsView),
    ];
    assert_eq!(
        compute(&pod, &two).unwrap_err(),
        PlanError::Invalid(INTERACTIVE_ONE_IMAGE.into())
    );
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
    // root is uid and gid 0 whether or not the image's passwd and group name it.
    let mut bare = fake();
    bare.files.remove("/etc/passwd");
    bare.files.remove("/etc/group");
    let p = one(input(&["/usr/bin/probe"], "root", "root"), &bare).unwrap();
    assert_eq!((p.plan.apps[0].uid, p.plan.apps[0].gid), (0, 0));
    let e = one(input(&["/usr/bin/probe"], "web", "root"), &bare).unwrap_err();
    assert!(matches!(e, PlanError::User { what: "user", .. }));
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
    // An executable on one of the app's volumes is looked for only when it runs.
    let mut a = input(&["/opt/tools/run", "x"], "0", "0");
    a.mounts.push(plan::Mount {
        source: "/host/tools".into(),
        target: "/opt/tools".into(),
        readonly: true,
        recursive: false,
        fill: false,
    });
    assert_eq!(
        one(a.clone(), &f).unwrap().plan.apps[0].argv,
        ["/opt/tools/run", "x"]
    );
    a.app.exec = Exec::new(vec!["/opt/toolsX/run".into()]).unwrap();
    assert!(matches!(one(a, &f), Err(PlanError::ExecNotFound { .. })));
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
    p.hostname = Some("bad host".into());
    assert!(matches!(
        compute(&p, &[(input(&["probe"], "0", "0"), &f as &dyn RootfsView)]),
        Err(PlanError::Invalid(_))
    ));
}

#[test]
fn confinement_comes_from_the_isolators() {
    use crate::appc::Isolator;
    let f = fake();
    let mut a = input(&["probe"], "web", "0");
    a.app.isolators = vec![Isolator::CapabilitiesRemoveSet(vec!["CAP_MKNOD".into()])];
    let p = one(a, &f).unwrap();
    let app = &p.plan.apps[0];
    assert_eq!(app.caps.len(), 13);
    assert!(app.no_new_privs, "non-root under seccomp");
    assert_eq!(app.seccomp.len(), 1, "one filter");
    let mut a = input(&["probe"], "0", "0");
    a.app.isolators = vec![Isolator::ApparmorProfile("x".into())];
    let e = one(a, &f).unwrap_err().to_string();
    assert!(
        e.contains("app \"probe\": isolator os/linux/apparmor-profile"),
        "{e}"
    );
    let mut p = pod();
    p.insecure.seccomp = true;
    let planned = compute(
        &p,
        &[(input(&["probe"], "web", "0"), &f as &dyn RootfsView)],
    )
    .unwrap();
    assert!(planned.plan.apps[0].seccomp.is_empty());
    assert!(!planned.plan.apps[0].no_new_privs);
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
    let fallback = fallback_hosts(&format!("rkt-{}", p.uuid));
    assert!(fallback.starts_with(
        "127.0.0.1 localhost localhost.domain localhost4 localhost4.localdomain4 rkt-6f1f0d3c-"
    ));
    p.host_resolv = true;
    p.host_hosts = true;
    p.dns = Dns::Generated("nameserver 1.1.1.1\n".into());
    p.hosts = Hosts::Entries("10.0.0.1 x\n".into());
    let plan = plan_of(&p);
    assert_eq!(plan.resolv, EtcFile::Write("nameserver 1.1.1.1\n".into()));
    assert_eq!(
        plan.hosts,
        EtcFile::Write(format!(
            "{fallback}\n\n# Added by rkt run --hosts-entry\n10.0.0.1 x\n"
        ))
    );
    // Host networking: the host's resolv.conf, but rkt's hosts file (the image's, else the
    // fallback naming the pod's host name).
    p.dns = Dns::Default;
    p.hosts = Hosts::Default;
    p.hostname = Some("box".into());
    let plan = plan_of(&p);
    assert_eq!(plan.resolv, EtcFile::Bind("/etc/resolv.conf".into()));
    assert_eq!(plan.hosts, EtcFile::Default(fallback_hosts("box")));
    p.hostname = None;
    p.dns = Dns::None;
    let plan = plan_of(&p);
    assert_eq!(plan.resolv, EtcFile::Keep);
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
    assert_eq!(plan.hosts, EtcFile::Default(fallback));
}
