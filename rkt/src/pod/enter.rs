//! `rkt enter`: a command in a running pod's app, as the app (rkt's stage1 `/enter` and
//! `/enterexec`): the app's mount, PID, UTS, IPC and network namespaces, its rootfs, its
//! environment, user, groups, working directory and bounding set.
//!
//! The app's main process is found among the children of the pod's PID 1 by the PID that
//! stage1-init recorded for it (in the pod's PID namespace), and pinned with a pidfd before
//! it is checked; the namespaces are joined through that pidfd, so a reused PID is never
//! entered. rkt then forks once (setns moves only children into the PID namespace) and the
//! child execs the command; rkt itself stays outside the pod's PID namespace and non-dumpable,
//! so nothing in the pod can ptrace it or write its `/proc/<pid>/exe`.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::Command;

use stage1_init::plan::{App, Plan};

use super::stop::read_number;
use super::{io_err, wait, Error, Pod, Result, State};
use crate::paths;
use crate::sys::enter::{self as sys_enter, Confinement};
use crate::sys::{proc, spawn};

/// The command run when none is given, and the one tried when it is missing.
const DEFAULT_SHELL: &str = "/bin/bash";
const FALLBACK_SHELL: &str = "/bin/sh";

/// Runs `cmd` (empty: a shell) in app `app` (or the pod's only app) of a running pod; returns
/// the command's exit status (128+N for signal N).
pub(crate) fn enter(pod: &Pod, app: Option<&str>, cmd: &[String]) -> Result<u8> {
    let mut pod = pod.clone();
    let state = pod.state()?;
    if state != State::Running {
        return Err(Error::NotRunning {
            uuid: pod.uuid.clone(),
            state,
        });
    }
    let dir = pod.path();
    let plan_path = stage1_init::plan::plan_file(&dir);
    let bytes = std::fs::read(&plan_path).map_err(io_err("read", &plan_path))?;
    let plan = Plan::decode(&bytes).map_err(|e| Error::Refused {
        uuid: pod.uuid.clone(),
        what: format!("invalid plan `{}`: {e}", plan_path.display()),
    })?;
    let names: Vec<&str> = plan.apps.iter().map(|a| a.name.as_str()).collect();
    let name = choose_app(&names, app).map_err(|what| Error::Refused {
        uuid: pod.uuid.clone(),
        what,
    })?;
    let app = plan
        .apps
        .iter()
        .find(|a| a.name == name)
        .expect("choose_app returns one of the names");

    // As rkt waited for the pid file: until the app has started, or the pod has ended.
    let pid_file = stage1_init::plan::pid_file(&dir, name);
    if !pid_file.exists() {
        wait::wait_ready(&mut pod, None)?;
    }
    let dir = pod.path();
    let target = app_process(&pod, &dir, name)?;

    let last_cap = sys_enter::last_cap()
        .map_err(io_err("read", Path::new("/proc/sys/kernel/cap_last_cap")))?;
    let conf = confinement(app, last_cap);
    let env = environment(app, std::env::var("TERM").ok());
    sys_enter::set_not_dumpable().map_err(io_err("prctl(PR_SET_DUMPABLE) for", &dir))?;
    sys_enter::join_namespaces(&target).map_err(io_err("join the namespaces of", &dir))?;
    // From here on paths are the app's: its rootfs is this process's root.
    let argv = command(cmd, Path::new(DEFAULT_SHELL).exists());
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]).env_clear().envs(env);
    let mut child = sys_enter::spawn_confined(command, conf).map_err(|e| Error::Io {
        op: "execute",
        path: argv[0].clone().into(),
        source: e,
    })?;
    // A signal meant for the entered command (rkt is what a supervisor or shell sees).
    spawn::forward_signals(child.id() as i32).map_err(io_err("forward signals to", &dir))?;
    let status = child
        .wait()
        .map_err(io_err("wait for", Path::new(&argv[0])))?;
    Ok(exit_code(status))
}

/// The app to enter: the named one, or the only one.
pub(super) fn choose_app<'a>(
    apps: &[&'a str],
    requested: Option<&str>,
) -> std::result::Result<&'a str, String> {
    match requested {
        Some(r) => apps
            .iter()
            .find(|a| **a == r)
            .copied()
            .ok_or_else(|| format!("no app named {r:?} in the pod (apps: {})", apps.join(", "))),
        None => match apps {
            [one] => Ok(one),
            [] => Err("the pod has no apps".into()),
            _ => Err(format!(
                "pod has multiple apps ({}), specify one with --app",
                apps.join(", ")
            )),
        },
    }
}

/// The command line: the given one, else `/bin/bash` if the app has it, else `/bin/sh`.
fn command(cmd: &[String], has_bash: bool) -> Vec<String> {
    if !cmd.is_empty() {
        return cmd.to_vec();
    }
    let shell = if has_bash {
        DEFAULT_SHELL
    } else {
        FALLBACK_SHELL
    };
    vec![shell.to_string()]
}

/// The app's environment; the caller's `TERM` when the app sets none (rkt's enterexec kept
/// the terminal type, so that a shell works in the user's terminal).
fn environment(app: &App, term: Option<String>) -> Vec<(String, String)> {
    let mut env = app.env.clone();
    if let Some(term) = term {
        if !env.iter().any(|(k, _)| k == "TERM") {
            env.push(("TERM".into(), term));
        }
    }
    env
}

fn confinement(app: &App, last_cap: u8) -> Confinement {
    Confinement {
        uid: app.uid,
        gid: app.gid,
        groups: app.supplementary_gids.clone(),
        cwd: app.cwd.clone().into(),
        drop_caps: (0..=last_cap).filter(|c| !app.caps.contains(c)).collect(),
        no_new_privs: app.no_new_privs,
    }
}

/// A pidfd on app `name`'s main process: a child of the pod's PID 1 (checked by start time,
/// as `stop` does) whose PID in the pod is the one stage1-init recorded.
fn app_process(pod: &Pod, dir: &Path, name: &str) -> Result<OwnedFd> {
    let exited = || Error::Refused {
        uuid: pod.uuid.clone(),
        what: format!("app {name:?} has exited"),
    };
    let pid_file = stage1_init::plan::pid_file(dir, name);
    let ns_pid: i32 = read_number(&pid_file)?;
    let pid1_path = paths::pod_pid(dir);
    let pid1: i32 = read_number(&pid1_path)?;
    let start1: u64 = read_number(&paths::pod_pid_starttime(dir))?;
    let pid1_is_the_pods = || proc::start_time(pid1).is_ok_and(|t| t == start1);
    if !pid1_is_the_pods() {
        return Err(Error::StalePid {
            uuid: pod.uuid.clone(),
            pid: pid1,
        });
    }
    if paths::pod_app_status(dir, name).exists() {
        return Err(exited());
    }
    let children = proc::children(pid1).map_err(io_err("read the children of", &pid1_path))?;
    for child in children {
        if proc::parent_and_ns_pid(child).ok() != Some((pid1, ns_pid)) {
            continue;
        }
        let Ok(fd) = proc::pidfd_open(child) else {
            return Err(exited());
        };
        // Checked again once pinned: the pidfd is on the app only if the process it names is
        // still PID 1's child with the app's PID in the pod, and PID 1 is still the pod's.
        if proc::parent_and_ns_pid(child).ok() == Some((pid1, ns_pid)) && pid1_is_the_pods() {
            return Ok(fd);
        }
        return Err(exited());
    }
    Err(exited())
}

fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => c as u8,
        (None, Some(s)) => (128 + s) as u8,
        _ => crate::error::EXIT_FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_only_app_or_the_named_one() {
        assert_eq!(choose_app(&["a"], None), Ok("a"));
        assert_eq!(choose_app(&["a", "b"], Some("b")), Ok("b"));
        let err = choose_app(&["a", "b"], None).unwrap_err();
        assert!(err.contains("specify one with --app"), "{err}");
        let err = choose_app(&["a"], Some("z")).unwrap_err();
        assert!(err.contains("\"z\"") && err.contains("a"), "{err}");
    }

    #[test]
    fn default_command_is_bash_else_sh() {
        assert_eq!(command(&[], true), vec!["/bin/bash"]);
        assert_eq!(command(&[], false), vec!["/bin/sh"]);
        let cmd = vec!["ls".to_string(), "--".to_string()];
        assert_eq!(command(&cmd, true), cmd);
    }

    fn app(caps: Vec<u8>, env: Vec<(String, String)>) -> App {
        App {
            name: "a".into(),
            lower: "/x".into(),
            mode: stage1_init::plan::RootfsMode::Copy,
            argv: vec!["/bin/true".into()],
            env,
            uid: 5,
            gid: 6,
            supplementary_gids: vec![7, 8],
            cwd: "/w".into(),
            caps,
            readonly_rootfs: false,
            protect_kernel: true,
            no_new_privs: true,
            interactive: false,
            pre_start: vec![],
            post_stop: vec![],
            mounts: vec![],
        }
    }

    #[test]
    fn confinement_is_the_apps() {
        let conf = confinement(&app(vec![0, 5, 40], vec![]), 6);
        assert_eq!(conf.drop_caps, vec![1, 2, 3, 4, 6]);
        assert_eq!((conf.uid, conf.gid, conf.groups), (5, 6, vec![7, 8]));
        assert_eq!(conf.cwd, Path::new("/w"));
        assert!(conf.no_new_privs);
    }

    #[test]
    fn term_is_kept_unless_the_app_sets_it() {
        let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
        let env = environment(&app(vec![], vec![kv("A", "1")]), Some("xterm".into()));
        assert_eq!(env, vec![kv("A", "1"), kv("TERM", "xterm")]);
        let env = environment(&app(vec![], vec![kv("TERM", "dumb")]), Some("xterm".into()));
        assert_eq!(env, vec![kv("TERM", "dumb")]);
        assert_eq!(environment(&app(vec![], vec![]), None), vec![]);
    }
}
