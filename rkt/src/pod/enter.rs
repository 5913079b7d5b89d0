//! `rkt enter`: a command in a running pod's app, as the app (rkt's stage1 `/enter` and
//! `/enterexec`): the app's mount, PID, UTS, IPC and network namespaces, its rootfs, its
//! environment, user, groups, working directory and bounding set.
//!
//! The app's main process is found among the children of the pod's PID 1 by the PID that
//! stage1-init recorded for it (in the pod's PID namespace), and pinned with a pidfd before
//! it is checked; the namespaces are joined through that pidfd, so a reused PID is never
//! entered. rkt's child joins them and execs the embedded stage1-init from a sealed memfd
//! (`--enter`), which forks the command into the pod with the app's whole confinement
//! (keyring, capabilities, ids, no_new_privs, seccomp) in a session of its own, and stays its
//! parent. rkt itself stays on the host, non-dumpable, so nothing in the pod can ptrace it or
//! write its `/proc/<pid>/exe`.
//!
//! No fd of rkt's reaches the pod: when rkt's stdin is a terminal the command gets a pty of
//! the pod's devpts, relayed by rkt as `run --interactive` does; otherwise its fds 0-2 are
//! pipes rkt relays. An entered process holding the admin's terminal could read what the
//! admin types, or push a command line into the admin's shell with TIOCSTI, itself or through
//! any process of the pod that ptraces it.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::thread::JoinHandle;

use stage1_init::plan::Plan;
use stage1_init::proto;

use super::stop::read_number;
use super::{io_err, wait, Error, Pod, Result, State};
use crate::paths;
use crate::sys::enter as sys_enter;
use crate::sys::{proc, relay, spawn};
use crate::terminal::Terminal;

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

    // As rkt waited for the pid file: until the app has started, or the pod has ended.
    let pid_file = stage1_init::plan::pid_file(&dir, name);
    if !pid_file.exists() {
        wait::wait_ready(&mut pod, None)?;
    }
    let dir = pod.path();
    let target = app_process(&pod, &dir, name)?;

    // The plan goes by fd: its host path is out of reach in the app's mount namespace.
    let plan_file = std::fs::File::open(&plan_path).map_err(io_err("open", &plan_path))?;
    let exe = spawn::sealed_memfd("stage1-init", crate::stage1::STAGE1_INIT)
        .map_err(io_err("copy stage1-init for", &dir))?;
    let tty = crate::sys::tty::stdin_is_tty();
    let mut argv = vec!["stage1-init".to_string(), "--enter".into()];
    if tty {
        argv.push("--tty".into());
    }
    argv.push(name.to_string());
    argv.extend(cmd.iter().cloned());
    let (parent, child_end) = proto::pair().map_err(io_err("create the sync socket for", &dir))?;
    let (plan_fd, sync_fd) = (plan_file.as_raw_fd(), child_end.as_fd().as_raw_fd());
    let mut env = vec![
        ("RKT_PLAN_FD".to_string(), plan_fd.to_string()),
        (proto::ENV_SYNC_FD.to_string(), sync_fd.to_string()),
    ];
    if let Ok(term) = std::env::var("TERM") {
        env.push(("TERM".into(), term));
    }
    sys_enter::set_not_dumpable().map_err(io_err("prctl(PR_SET_DUMPABLE) for", &dir))?;
    // The app's cgroups, joined before its namespaces (its cgroup namespace among them).
    let app_procs = &plan
        .apps
        .iter()
        .find(|a| a.name == name)
        .expect("choose_app returns one of the names")
        .cgroup_procs;
    let cgroups =
        crate::sys::cgroup::open_procs(app_procs).map_err(|e| io_err(e.op, &e.path)(e.source))?;
    let cgroup_fds: Vec<i32> = cgroups.iter().map(|f| f.as_raw_fd()).collect();
    let (stdio, relays) = streams(tty).map_err(io_err("relay the streams of", &dir))?;
    let mut child = sys_enter::spawn_inside(
        &target,
        exe.as_fd(),
        &argv,
        &env,
        stdio,
        &[plan_fd, sync_fd],
        &cgroup_fds,
    )
    .map_err(io_err("enter the namespaces of", &dir))?;
    drop((cgroups, plan_file, exe, child_end));
    // A signal meant for the entered command (rkt is what a supervisor or shell sees);
    // stage1-init passes it on.
    spawn::forward_signals(child.id() as i32).map_err(io_err("forward signals to", &dir))?;
    let inside = |e: proto::ProtoError| Error::Refused {
        uuid: pod.uuid.clone(),
        what: e.to_string(),
    };
    let started = parent.wait_ready().map_err(inside).and_then(|masters| {
        let terminal = match (tty, masters.into_iter().next()) {
            (true, Some(m)) => Some(Terminal::attach(m).map_err(io_err("attach to", &dir))?),
            (false, None) => None,
            _ => {
                return Err(Error::Refused {
                    uuid: pod.uuid.clone(),
                    what: "stage1-init sent a terminal other than the one asked for".into(),
                })
            }
        };
        parent.go().map_err(inside)?;
        parent.wait_closed().map_err(inside)?;
        Ok(terminal)
    });
    drop(parent);
    let ended = match started {
        Ok(Some(terminal)) => {
            let done = proc::pidfd_open(child.id() as i32).map_err(io_err("watch", &dir))?;
            terminal
                .relay_until(Some(done.as_fd()))
                .map_err(io_err("relay the terminal of", &dir))
        }
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    let status = child
        .wait()
        .map_err(io_err("wait for", Path::new("stage1-init")));
    // Everything the command wrote is out before rkt exits.
    for r in relays {
        let _ = r.join();
    }
    ended?;
    Ok(exit_code(status?))
}

/// The entered process's fds 0-2 and the relays behind them: on a terminal, the command gets
/// a pty from stage1-init, which itself gets /dev/null and a pipe for its errors; otherwise
/// three pipes. Never rkt's own fds, which may be the admin's terminal.
fn streams(tty: bool) -> std::io::Result<([OwnedFd; 3], Vec<JoinHandle<()>>)> {
    let (err_relay, err_w) = relay::pipe_to(2)?;
    if tty {
        let null = |write: bool| {
            std::fs::OpenOptions::new()
                .read(!write)
                .write(write)
                .open("/dev/null")
                .map(OwnedFd::from)
        };
        return Ok(([null(false)?, null(true)?, err_w], vec![err_relay]));
    }
    let (out_relay, out_w) = relay::pipe_to(1)?;
    let (in_r, in_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    // Not joined: it may wait on rkt's stdin for as long as rkt lives.
    relay::feed_stdin(in_w)?;
    Ok(([in_r, out_w, err_w], vec![out_relay, err_relay]))
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
}
