//! The half of `stage1-init` that `rkt` shares: the sync protocol and the launch plan.
//!
//! Both modules are plain data plus fd reads and writes, with rustix as the only dependency
//! they use, so that rkt can depend on this crate without pulling PID-1 code into stage0.
//!
//! # Invocation contract (what stage0 must do)
//!
//! - **Namespaces**: exec it as PID 1 of fresh PID, mount, UTS and IPC namespaces, plus a fresh
//!   network namespace for `net=none` (stage1-init refuses to run unless its pid is 1).
//! - **argv**: `stage1-init [--debug] <plan-path>`; `stage1-init --version` prints the version;
//!   `stage1-init --enter <app> [cmd...]` is the inside of `rkt enter` (plan on the fd named by
//!   `RKT_PLAN_FD`; exec'd in the app's namespaces, not as PID 1: see `src/enter.rs`).
//!   The plan (`stage1_init::plan`, read before any mount, so a host path) is
//!   `plan::plan_file(pod)` = `<pod>/stage1-plan` by convention.
//! - **env**: `RKT_SYNC_FD=<n>`: the child end of a `SOCK_SEQPACKET` socketpair
//!   (`stage1_init::proto::pair`), required. `RKT_LOCK_FD=<n>`: the pod's flock fd, optional;
//!   held open until PID 1 exits, never inherited by apps (CLOEXEC). stage0 clears CLOEXEC on
//!   exactly these fds in the child; every other fd above 2 is marked CLOEXEC before apps start.
//! - **fds 0-2**: stdout and stderr are inherited by the apps, stdin is `/dev/null`; the
//!   interactive app (plan `interactive`) gets a pty of the pod's own devpts as fds 0-2 and
//!   controlling terminal instead, and its master travels to rkt with `Ready` (SCM_RIGHTS).
//!   `/dev/console` is that pty, else the pod's `/dev/null` (never a host terminal).
//! - **Before**: stage0 creates the pod dir, the overlay upper/work dirs and the rendered trees;
//!   stage1-init creates `<pod>/stage1/rootfs/{rkt/status,rkt/env,opt/stage2/<app>/rootfs,...}`.
//! - **Handshake**: `Ready` after the pivot, then it waits for `Go`; a setup failure is one
//!   `Error{errno, msg}` frame and exit 254, with nothing printed. stage0 persists the pod's
//!   state (pid file, rename to `run/`) between `Ready` and `Go`.
//! - **Files**, under `<pod>/stage1/rootfs/`: `rkt/env/<app>` (KEY=VALUE lines) and
//!   `rkt/status/<app>-created` before `Ready`; `rkt/status/<app>-pid` (its PID in the pod,
//!   for `rkt enter`) and `rkt/status/<app>-started` as each app starts;
//!   `rkt/supervisor-status -> ready` once all have; `rkt/status/<app>` (decimal exit code,
//!   128+N for signal N) as each exits. All are written to a temp name and renamed.
//! - **Exit status**: the first non-zero app status (the others then get SIGTERM, SIGKILL 10 s
//!   later), else 0; 254 when setup or an app's start fails (after `Go` the message goes to
//!   stderr as ``stage1: start app `x`: exec `/bin/foo`: No such file or directory``).
//! - **Signals**: TERM, INT, HUP, QUIT, USR1, USR2 and WINCH sent to PID 1 go to the apps.
//! - **Plan semantics**: everything appc is resolved by stage0: `argv[0]` is an absolute path
//!   inside the app's rootfs (stage0 searches the image's PATH), `env` is the complete
//!   environment (PATH default, `AC_APP_NAME`, image and CLI env merged), uid/gid numeric,
//!   hostname `rkt-<uuid>` unless `--hostname`, `hosts`/`resolv` chosen from the host's files
//!   (`EtcFile::Bind` only when the host file exists) or generated; volumes as `plan::Mount`s
//!   (host paths; `kind=empty` volumes are directories stage0 creates under the pod);
//!   `caps` the bounding set (`plan::default_caps()` unless isolators say otherwise),
//!   `protect_kernel` true unless `--insecure-options=paths`, `no_new_privs` from the
//!   `os/linux/no-new-privileges` isolator (and forced for a non-root app under seccomp);
//!   `seccomp` the compiled BPF programs, installed right before the exec; `pre_start`/
//!   `post_stop` the appc event handlers (absolute argv, run as uid 0 in the app's rootfs with
//!   its confinement; a failing pre-start fails the start). Each app, handler and entered
//!   command gets a fresh session keyring.

pub mod plan;
pub mod proto;

/// rkt's exit code for its own failures, stage1-init's included (rkt 1.30 `cmdExitCode`).
pub const EXIT_FAILED: u8 = 254;
