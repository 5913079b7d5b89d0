//! `stage1-init --enter [--tty] APP [CMD [ARGS...]]`: the inside half of `rkt enter`.
//!
//! rkt joins the app's mount, UTS, IPC and network namespaces through a pidfd on the app,
//! joins its PID namespace for the children it will have, and execs this program from a sealed
//! memfd (never from the host's file: CVE-2019-5736). The launch plan comes on the fd named by
//! `RKT_PLAN_FD` (the host path is out of reach in the app's mount namespace), the sync socket
//! on `RKT_SYNC_FD`. Here, outside the pod's PID namespace and non-dumpable, the command is
//! forked into it with the app's whole confinement ([`crate::confine`]) in a session of its
//! own, and this process stays its parent: it forwards the signals rkt forwards to it and
//! exits with the command's status.
//!
//! The command never gets one of rkt's fds, which may be the admin's terminal (it could read
//! what the admin types, or push input into the admin's shell with TIOCSTI): with `--tty` its
//! fds 0-2 and controlling terminal are a pty of the pod's devpts whose master goes to rkt
//! with `Ready`; otherwise this process's fds 0-2, which are pipes rkt relays.
//!
//! ```text
//!   rkt                                stage1-init --enter
//!                                      read the plan; open the pty (--tty)
//!   wait_ready  <──── Ready [master] ── ready
//!   window size; go ──── Go ─────────▶ wait_go; fork the command
//!   wait_closed <──── EOF, or E ────── close the socket, or report the failed start
//! ```

use std::ffi::{CString, OsString};
use std::io::Read;
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use std::os::fd::AsFd;

use rustix::io::Errno;
use rustix::process::{set_dumpable_behavior, waitpid, DumpableBehavior, Pid, WaitOptions};
use stage1_init::plan::{App, Plan};
use stage1_init::proto::ChildEnd;

use crate::confine::{self, Filters, Ids};
use crate::error::{Error, Result};
use crate::signals::{self, Blocked};
use crate::tty::{self, Pty};

/// The env var carrying the plan's fd.
pub const ENV_PLAN_FD: &str = "RKT_PLAN_FD";

/// The command when none is given, and the one tried when it is missing (rkt's enter).
const DEFAULT_SHELL: &str = "/bin/bash";
const FALLBACK_SHELL: &str = "/bin/sh";

/// How the command's fds 0-2 are set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    /// A pty of the pod's devpts, also its controlling terminal.
    Tty,
    /// This process's own fds 0-2 (pipes from rkt).
    Inherit,
}

/// Runs the command; returns its exit status (128+N for signal N). A failure has been
/// reported when this returns it (the caller exits 254): over `sync` before the command has
/// started, on stderr after.
pub fn run(
    args: &[OsString],
    stdio: Stdio,
    signals: &Blocked,
    plan_fd: i32,
    sync: ChildEnd,
) -> Result<i32> {
    let prepared = prepare(args, stdio, plan_fd);
    let child = prepared.and_then(|p| {
        let masters: Vec<_> = p.pty.iter().map(|t| t.master.as_fd()).collect();
        sync.ready(&masters).map_err(proto_err)?;
        sync.wait_go().map_err(proto_err)?;
        start(p)
    });
    let child = match child {
        Ok(pid) => pid,
        Err(e) => {
            // Report once: over the socket, or (rkt gone) not at all.
            let _ = sync.report(e.raw_errno(), &e.context());
            return Err(e);
        }
    };
    // EOF for rkt: the command runs.
    drop(sync);
    wait(child, signals).inspect_err(|e| {
        // rkt no longer listens on the socket; its stderr relay is this process's stderr.
        eprintln!("rkt: enter: {e}");
    })
}

/// Forwards signals to the command until it exits; returns its status.
fn wait(child: Pid, signals: &Blocked) -> Result<i32> {
    loop {
        match signals.wait(None)? {
            Some(libc::SIGCHLD) => match waitpid(Some(child), WaitOptions::NOHANG) {
                Ok(Some((_, st))) => return Ok(crate::reaper::status_code(st)),
                Ok(None) | Err(Errno::INTR) => {}
                Err(e) => return Err(Error::call("waitpid", e)),
            },
            Some(sig) => signals::send(child, sig),
            None => {}
        }
    }
}

/// Everything the command's start needs, computed before `Ready`.
struct Prepared {
    app: App,
    argv: Vec<CString>,
    envp: Vec<CString>,
    drop_caps: Vec<u8>,
    pty: Option<Pty>,
}

fn prepare(args: &[OsString], stdio: Stdio, plan_fd: i32) -> Result<Prepared> {
    // First: no process of the pod may ptrace this one or open its /proc/<pid>/mem, exe, fd.
    set_dumpable_behavior(DumpableBehavior::NotDumpable)
        .map_err(|e| Error::call("prctl(PR_SET_DUMPABLE)", e))?;
    let Some((app_name, cmd)) = args.split_first() else {
        return Err(Error::other("enter", "stage1-init", "no app named".into()));
    };
    let mut bytes = Vec::new();
    // SAFETY: rkt passed this fd for us alone; it is read once and closed here.
    let mut file = unsafe { std::fs::File::from_raw_fd(plan_fd) };
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::sys("read plan from fd", plan_fd.to_string(), io_errno(&e)))?;
    drop(file);
    let plan =
        Plan::decode(&bytes).map_err(|e| Error::other("decode plan", "(fd)", e.to_string()))?;
    let app = plan
        .apps
        .into_iter()
        .find(|a| a.name.as_bytes() == app_name.as_bytes())
        .ok_or_else(|| {
            Error::other(
                "enter",
                app_name.to_string_lossy().as_ref(),
                "no such app".into(),
            )
        })?;
    let env = environment(&app, std::env::var("TERM").ok());
    let mut argv = command(cmd, Path::new(DEFAULT_SHELL).exists());
    // As execvp would, with the app's PATH: `rkt enter UUID ls`.
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str());
    argv[0] = search_path(&argv[0], path.unwrap_or_default());
    let to_c =
        |s: &[u8]| CString::new(s).map_err(|_| Error::sys("exec", "(argument)", Errno::INVAL));
    let argv: Vec<CString> = argv
        .iter()
        .map(|a| to_c(a.as_bytes()))
        .collect::<Result<_>>()?;
    let envp: Vec<CString> = env
        .iter()
        .map(|(k, v)| to_c(format!("{k}={v}").as_bytes()))
        .collect::<Result<_>>()?;
    let last_cap = crate::pod::last_cap()?;
    let drop_caps: Vec<u8> = (0..=last_cap).filter(|c| !app.caps.contains(c)).collect();
    // The app's /dev/pts is the pod's devpts (its /dev is the pod's).
    let pty = match stdio {
        Stdio::Tty => Some(tty::open(Path::new("/dev/pts"), app.uid)?),
        Stdio::Inherit => None,
    };
    Ok(Prepared {
        app,
        argv,
        envp,
        drop_caps,
        pty,
    })
}

/// Forks the command: its terminal, a new session (no way back to the session rkt runs in),
/// the app's confinement, then exec.
fn start(mut p: Prepared) -> Result<Pid> {
    let filters = Filters::new(&p.app.seccomp);
    let cwd = PathBuf::from(&p.app.cwd);
    let slave = p.pty.as_mut().and_then(|t| t.slave.take());
    crate::pod::cloexec_all()?;
    let app = &p.app;
    let child = crate::app::spawn(None, || {
        if let Some(slave) = &slave {
            tty::install(slave)?;
        }
        confine::join_session_keyring()?;
        // Its setsid: a session of its own, then the pty as its controlling terminal.
        confine::drop_privileges(&p.drop_caps)?;
        if slave.is_some() {
            tty::make_controlling()?;
        }
        Ids {
            uid: app.uid,
            gid: app.gid,
            groups: &app.supplementary_gids,
            cwd: &cwd,
            no_new_privs: app.no_new_privs,
            filters: &filters,
        }
        .assume()?;
        Err(crate::app::exec(&p.argv, &p.envp))
    })?;
    // The master went to rkt with Ready; the slave is the command's alone now, so that the
    // pty hangs up when the command's session is gone.
    drop(slave);
    drop(p.pty);
    Ok(child)
}

fn proto_err(e: stage1_init::proto::ProtoError) -> Error {
    Error::other("enter", "sync socket", e.to_string())
}

/// The command line: the given one, else `/bin/bash` if the app has it, else `/bin/sh`.
fn command(cmd: &[OsString], has_bash: bool) -> Vec<OsString> {
    if !cmd.is_empty() {
        return cmd.to_vec();
    }
    let shell = if has_bash {
        DEFAULT_SHELL
    } else {
        FALLBACK_SHELL
    };
    vec![shell.into()]
}

/// `name` itself when it has a `/`, else the first executable `DIR/name` of `path` (this
/// process's root is the app's), else `name` (the exec then fails with ENOENT, naming it).
fn search_path(name: &OsString, path: &str) -> OsString {
    use std::os::unix::fs::PermissionsExt;
    if name.as_bytes().contains(&b'/') {
        return name.clone();
    }
    path.split(':')
        .filter(|d| d.starts_with('/'))
        .map(|d| Path::new(d).join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .map_or_else(|| name.clone(), |p| p.into_os_string())
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

fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw_os_error(e.raw_os_error().unwrap_or(libc::EIO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_command_is_bash_else_sh() {
        assert_eq!(command(&[], true), vec![OsString::from("/bin/bash")]);
        assert_eq!(command(&[], false), vec![OsString::from("/bin/sh")]);
        let cmd = vec![OsString::from("ls"), OsString::from("--")];
        assert_eq!(command(&cmd, true), cmd);
    }

    #[test]
    fn term_is_kept_unless_the_app_sets_it() {
        let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
        let mut app = test_app();
        app.env = vec![kv("A", "1")];
        assert_eq!(
            environment(&app, Some("xterm".into())),
            vec![kv("A", "1"), kv("TERM", "xterm")]
        );
        app.env = vec![kv("TERM", "dumb")];
        assert_eq!(
            environment(&app, Some("xterm".into())),
            vec![kv("TERM", "dumb")]
        );
    }

    fn test_app() -> App {
        App {
            name: "a".into(),
            lower: "/x".into(),
            mode: stage1_init::plan::RootfsMode::Copy,
            argv: vec!["/bin/true".into()],
            env: vec![],
            uid: 0,
            gid: 0,
            supplementary_gids: vec![],
            cwd: "/".into(),
            caps: vec![],
            readonly_rootfs: false,
            protect_kernel: true,
            no_new_privs: false,
            seccomp: vec![],
            cgroup_procs: vec![],
            cgroup_dir: None,
            oom_score_adj: None,
            interactive: false,
            pre_start: vec![],
            post_stop: vec![],
            mounts: vec![],
        }
    }
}
