//! `stage1-init`: the PID-1 program of a pod.
//!
//! rkt embeds this binary and execs it from a sealed memfd as the first process of every pod.
//! It stays small and single-threaded and never parses JSON: stage0 hands it a launch plan.
//!
//! The invocation contract stage0 follows is documented on the library (`src/lib.rs`), which
//! rkt depends on for the plan and the sync protocol.

use std::ffi::OsString;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::io::{fcntl_getfd, fcntl_setfd, FdFlags};
use stage1_init::proto::{self, ChildEnd, ENV_LOCK_FD, ENV_SYNC_FD};

/// Set once from `--debug`.
static DEBUG: AtomicBool = AtomicBool::new(false);

/// `stage1: `-prefixed debug line on stderr, only with `--debug`.
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::debug_enabled() {
            eprintln!("stage1: {}", format_args!($($arg)*));
        }
    };
}
pub(crate) use debug;

mod app;
mod approot;
mod cgroups;
mod confine;
mod copy;
mod enter;
mod error;
mod net;
mod pod;
mod protect;
mod reaper;
mod rootfs;
mod signals;
mod tty;

const VERSION: &str = env!("CARGO_PKG_VERSION");
use stage1_init::EXIT_FAILED as FAILED;

fn debug_enabled() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

fn main() -> ExitCode {
    // rkt execs us through `/proc/self/fd/N`, which makes the command name `N`: name the pod's
    // PID 1 for ps, top and /proc/<pid>/comm. Cosmetic, so a failure is ignored.
    let _ = rustix::thread::set_name(c"stage1-init");
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == "--debug") {
        DEBUG.store(true, Ordering::Relaxed);
        args.remove(0);
    }
    if args.first().is_some_and(|a| a == "--enter") {
        return enter_mode(&args[1..]);
    }
    let plan_path = match args.as_slice() {
        [a] if a == "--version" => {
            println!("stage1-init {VERSION}");
            return ExitCode::SUCCESS;
        }
        [path] => PathBuf::from(path),
        _ => {
            eprintln!("stage1: usage: stage1-init [--debug] PLAN (with {ENV_SYNC_FD} set)");
            return ExitCode::from(FAILED);
        }
    };
    // First of all, so that no signal sent during setup is lost (they queue while blocked).
    let signals = match signals::block() {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    let sync = match inherited_fd(ENV_SYNC_FD) {
        // SAFETY: the fd is open (checked) and this process owns it from now on.
        Ok(Some(fd)) => unsafe { ChildEnd::from_raw_fd(fd) },
        Ok(None) => return fail(&format!("{ENV_SYNC_FD} is not set")),
        Err(msg) => return fail(&msg),
    };
    // The lock fd is only checked and made CLOEXEC: holding it open until exit is the whole
    // point (the pod reads as running exactly as long as PID 1 lives).
    if let Err(msg) = inherited_fd(ENV_LOCK_FD) {
        return fail(&msg);
    }
    let mut pod = match pod::setup(&plan_path) {
        Ok(pod) => pod,
        Err(e) => {
            // Report once, over the socket; stderr only if rkt cannot hear us.
            if sync.report(e.raw_errno(), &e.context()).is_err() {
                eprintln!("stage1: {e}");
            }
            return ExitCode::from(FAILED);
        }
    };
    // rkt gone before Go (EPIPE on Ready, EOF instead of Go) means it gave up the start and
    // says why itself: one message, rkt's. Anything else is this side's to tell.
    let rkt_gave_up = |e: &proto::ProtoError| {
        matches!(
            e,
            proto::ProtoError::ParentDied
                | proto::ProtoError::Io {
                    source: rustix::io::Errno::PIPE | rustix::io::Errno::CONNRESET,
                    ..
                }
        )
    };
    if let Err(e) = sync.ready(&pod.masters()) {
        if rkt_gave_up(&e) {
            return ExitCode::from(FAILED);
        }
        return fail(&e.to_string());
    }
    pod.drop_masters();
    if let Err(e) = sync.wait_go() {
        if rkt_gave_up(&e) {
            return ExitCode::from(FAILED);
        }
        return fail(&e.to_string());
    }
    // Until Go, rkt's death kills this process (rkt set the parent-death signal): a pod whose
    // start was not persisted must not run. From now on the pod is on record and lives by its
    // own exit policy: an rkt killed with -9 only takes the relays of its output with it (the
    // apps get EPIPE, or their terminal's hang-up), and `rkt stop` still works.
    if let Err(e) = rustix::process::set_parent_process_death_signal(None) {
        return fail(&format!("prctl(PR_SET_PDEATHSIG, 0): {e}"));
    }
    // The socket's job is done: rkt now only waits for PID 1's exit status. Closing it also
    // keeps it out of every app (it is CLOEXEC anyway).
    drop(sync);
    match pod::run(pod, &signals) {
        Ok(code) => {
            reaper::kill_remaining();
            ExitCode::from(code.clamp(0, 255) as u8)
        }
        Err(e) => {
            reaper::kill_remaining();
            fail(&e.to_string())
        }
    }
}

/// `--enter [--tty] APP [CMD...]` (see [`enter`]): the command's exit status, or 254. A
/// failure is reported to rkt over the sync socket, or printed in rkt's words when there is
/// none (this process is the inside of `rkt enter`).
fn enter_mode(args: &[OsString]) -> ExitCode {
    let (stdio, args) = match args.split_first() {
        Some((flag, rest)) if flag == "--tty" => (enter::Stdio::Tty, rest),
        _ => (enter::Stdio::Inherit, args),
    };
    let fd = |var: &str| match inherited_fd(var) {
        Ok(Some(fd)) => Ok(fd),
        Ok(None) => Err(format!("{var} is not set")),
        Err(msg) => Err(msg),
    };
    let (plan_fd, sync_fd) = match (fd(enter::ENV_PLAN_FD), fd(ENV_SYNC_FD)) {
        (Ok(p), Ok(s)) => (p, s),
        (Err(msg), _) | (_, Err(msg)) => {
            eprintln!("rkt: enter: {msg}");
            return ExitCode::from(FAILED);
        }
    };
    // SAFETY: the fd is open (checked) and this process owns it from now on.
    let sync = unsafe { ChildEnd::from_raw_fd(sync_fd) };
    let signals = match signals::block() {
        Ok(s) => s,
        Err(e) => {
            let _ = sync.report(e.raw_errno(), &e.context());
            return ExitCode::from(FAILED);
        }
    };
    match enter::run(args, stdio, &signals, plan_fd, sync) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        // Already reported by `run`.
        Err(_) => ExitCode::from(FAILED),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("stage1: {msg}");
    ExitCode::from(FAILED)
}

/// The fd named by env var `var`, checked open and marked CLOEXEC (rkt cleared the flag only
/// to pass it through exec; nothing we start may inherit it).
fn inherited_fd(var: &str) -> Result<Option<i32>, String> {
    let Some(value) = std::env::var_os(var) else {
        return Ok(None);
    };
    let fd: i32 = value
        .to_str()
        .and_then(|v| v.parse().ok())
        .filter(|&fd| fd > 2)
        .ok_or_else(|| format!("{var}={value:?} is not an fd number above 2"))?;
    // SAFETY: only the fd's flags are read and set; a closed fd gives EBADF.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let flags = fcntl_getfd(borrowed).map_err(|e| format!("{var}={fd}: {e}"))?;
    fcntl_setfd(borrowed, flags | FdFlags::CLOEXEC).map_err(|e| format!("{var}={fd}: {e}"))?;
    Ok(Some(fd))
}
