//! The launch plan: plain data that stage0 computes and stage1-init executes.
//!
//! All appc semantics (exec resolution, env merging, user/group lookup, capability isolators,
//! DNS/hosts policy) are resolved in stage0; stage1-init only carries them out, so PID 1 never
//! parses JSON or an image's `/etc/passwd`. This module owns the types, their validation and the
//! wire encoding; it does no I/O.
//!
//! # Encoding (version 2)
//!
//! A header line, then records; each record is a key, a space, the value's length in decimal,
//! a newline, the value's bytes and a newline:
//!
//! ```text
//! rkt-stage1-plan 2\n
//! uuid 36\n6f1f0d3c-...\n
//! app 5\nredis\n
//! argv 10\n/bin/redis\n
//! ```
//!
//! Length prefixes make every value binary-safe (argv may hold newlines) while the file stays
//! readable with `cat -A`. Decoding is strict: unknown or misplaced keys, duplicate singular
//! keys, missing required keys, bad numbers, NUL bytes, trailing bytes and an unknown version
//! are all errors, and no input makes it panic (see the fuzz tests).
//!
//! Pod keys come first: `uuid hostname pod-dir net hosts resolv cgroup-mount*
//! init-cgroup-procs* output devices`. Each `app <name>` record then
//! opens an app whose keys follow: `lower rootfs [upper work] argv+ env* uid gid supp-gid* cwd
//! cap* readonly protect-kernel no-new-privs seccomp* cgroup-procs* [cgroup-dir] [oom-score-adj]
//! interactive
//! mount* pre-start* post-stop*`. `argv`, `env`, `supp-gid`, `cap`, `seccomp`, `cgroup-procs`,
//! `mount`, `pre-start` and `post-stop` repeat, in order. A `seccomp` value is one BPF program
//! (8-byte `struct sock_filter`s); a `cgroup-mount` is `fstype NUL rel NUL data`. A
//! `mount` value is `ro|rw` `,` `rbind|bind` (then `,fill`), a NUL, the source, a NUL, the
//! target.

use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

mod decode;

use decode::{read_record, Decoder};

/// First line of every plan, before the version number.
pub const MAGIC: &str = "rkt-stage1-plan";
/// The version this stage1-init writes and reads.
pub const VERSION: u32 = 2;
/// Largest single value (a generated `/etc/hosts`, a long argv element).
const MAX_VALUE: usize = 1 << 20;

/// Capability names by number (`include/uapi/linux/capability.h`, up to Linux 5.9's
/// `CAP_CHECKPOINT_RESTORE`). The plan carries names so that it reads like the pod manifest.
pub const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The appc/rkt default bounding set (appc `ace.md`, rkt `stage1/init/common/pod.go`, and
/// Docker's `DefaultCapabilities()`): 14 capabilities.
pub const DEFAULT_CAPS: [&str; 14] = [
    "CAP_AUDIT_WRITE",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_KILL",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETFCAP",
    "CAP_SYS_CHROOT",
];

/// The number of a capability name (`CAP_CHOWN` -> 0), `None` when unknown.
pub fn cap_from_name(name: &str) -> Option<u8> {
    CAP_NAMES.iter().position(|n| *n == name).map(|i| i as u8)
}

/// The default bounding set as numbers, sorted.
pub fn default_caps() -> Vec<u8> {
    let mut caps: Vec<u8> = DEFAULT_CAPS
        .iter()
        .filter_map(|n| cap_from_name(n))
        .collect();
    caps.sort_unstable();
    caps
}

/// The stage1 root inside a pod directory: `<pod>/stage1/rootfs` (rkt 1.30 layout).
pub fn stage1_rootfs(pod_dir: &Path) -> PathBuf {
    pod_dir.join("stage1").join("rootfs")
}

/// An app's rootfs relative to the stage1 root: `opt/stage2/<app>/rootfs`.
pub fn app_rootfs_rel(app: &str) -> PathBuf {
    Path::new("opt/stage2").join(app).join("rootfs")
}

/// Where stage0 writes the plan by convention: `<pod>/stage1-plan` (outside the stage1 root,
/// so no pod process can ever read it).
pub fn plan_file(pod_dir: &Path) -> PathBuf {
    pod_dir.join("stage1-plan")
}

/// The exit status file of an app, on disk: `<pod>/stage1/rootfs/rkt/status/<app>`.
pub fn status_file(pod_dir: &Path, app: &str) -> PathBuf {
    stage1_rootfs(pod_dir).join("rkt/status").join(app)
}

/// The PID of an app's main process as PID 1 sees it (in the pod's PID namespace), decimal:
/// `<pod>/stage1/rootfs/rkt/status/<app>-pid`, written as the app starts; `rkt enter` finds
/// the app's host PID among PID 1's children by it.
pub fn pid_file(pod_dir: &Path, app: &str) -> PathBuf {
    stage1_rootfs(pod_dir)
        .join("rkt/status")
        .join(format!("{app}-pid"))
}

/// The env file of an app, on disk: `<pod>/stage1/rootfs/rkt/env/<app>`.
pub fn env_file(pod_dir: &Path, app: &str) -> PathBuf {
    stage1_rootfs(pod_dir).join("rkt/env").join(app)
}

/// A whole pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Canonical lowercase 8-4-4-4-12 UUID.
    pub uuid: String,
    /// Hostname of the pod's UTS namespace (stage0 defaults it to `rkt-<uuid>`).
    pub hostname: String,
    /// Absolute path of the pod directory (host view).
    pub pod_dir: PathBuf,
    /// Network mode; rkt creates the network namespace itself for `None`.
    pub net: Net,
    /// What each app's `/etc/hosts` becomes.
    pub hosts: EtcFile,
    /// What each app's `/etc/resolv.conf` becomes.
    pub resolv: EtcFile,
    /// The cgroup filesystems each app sees (read-only, in its cgroup namespace) under
    /// `/sys/fs/cgroup`.
    pub cgroup_mounts: Vec<CgroupMount>,
    /// The `cgroup.procs` files (host view) of stage1-init's own leaf of the pod's cgroups,
    /// which it joins right before it starts the apps, as they join theirs: moving processes
    /// between cgroups waits for an RCU grace period (cgroup_threadgroup_rwsem), and moves
    /// close together share one.
    pub stage1_cgroup_procs: Vec<PathBuf>,
    /// Whether each app's stdout and stderr is a terminal of the pod's own (rkt's own stdout
    /// or stderr is a terminal) rather than stage1-init's own pipe to rkt. rkt relays both:
    /// no process of the pod holds a host terminal.
    pub output: Output,
    /// A cgroup enforces every app's device allow-list. When not, every writable mount an app
    /// sees is `nodev`, and the pod's device nodes come from a private tmpfs.
    pub devices_by_cgroup: bool,
    /// The apps, started in this order.
    pub apps: Vec<App>,
}

/// How apps' stdout and stderr reach rkt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Output {
    /// stdout: a pty of the pod's devpts (else stage1-init's stdout, a pipe to rkt).
    pub stdout_tty: bool,
    /// stderr: likewise.
    pub stderr_tty: bool,
}

/// A cgroup filesystem mounted in each app at `/sys/fs/cgroup/<rel>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    /// Relative to `/sys/fs/cgroup`; empty for `/sys/fs/cgroup` itself.
    pub rel: String,
    /// `cgroup` (v1) or `cgroup2`.
    pub fstype: String,
    /// v1: the controllers (`cpu,cpuacct`, `name=systemd`); empty for v2.
    pub data: String,
}

/// Network mode of the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// The host's network namespace.
    Host,
    /// A fresh network namespace: `lo`, which stage1-init brings up, and for a pod network
    /// (`default-restricted`) the `eth0` that stage0 configures in it before `Go`.
    None,
}

/// Policy for one file in each app's `/etc`. A symlink in the image at that name is replaced,
/// never followed (so it cannot redirect a write or a mount to the host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtcFile {
    /// Leave the image's file alone.
    Keep,
    /// Bind-mount this host file read-only (path in the host view, e.g. `/etc/hosts`).
    Bind(PathBuf),
    /// Write this content only when the image has no such file (not even a symlink).
    Default(String),
    /// Always write this content.
    Write(String),
}

/// How an app's rootfs is assembled from its rendered tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootfsMode {
    /// overlayfs `lowerdir=lower,upperdir=upper,workdir=work` (upper and work created by stage0
    /// on one filesystem). When the kernel refuses (EINVAL, ENODEV, EPERM, EOPNOTSUPP: e.g. an
    /// upper on overlayfs), stage1-init falls back to `Copy`.
    Overlay {
        /// overlay upperdir (host view).
        upper: PathBuf,
        /// overlay workdir (host view).
        work: PathBuf,
    },
    /// stage1-init copies the tree into `<stage1>/opt/stage2/<app>/rootfs` (`--no-overlay`).
    Copy,
}

/// One app of the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// appc name of the app in the pod (`[a-z0-9-]+`); names its dirs and status files.
    pub name: String,
    /// The rendered tree (host view), the overlay's lower dir or the copy's source.
    pub lower: PathBuf,
    /// Overlay or copy.
    pub mode: RootfsMode,
    /// The command; `argv[0]` is absolute inside the app's rootfs (stage0 resolved it).
    pub argv: Vec<String>,
    /// The complete environment, in order; stage1-init adds nothing.
    pub env: Vec<(String, String)>,
    /// Resolved uid.
    pub uid: u32,
    /// Resolved gid.
    pub gid: u32,
    /// Supplementary gids (setgroups); empty means none.
    pub supplementary_gids: Vec<u32>,
    /// Absolute working directory inside the rootfs; the app fails to start if missing.
    pub cwd: String,
    /// The capability bounding set, as numbers (see `CAP_NAMES`).
    pub caps: Vec<u8>,
    /// Mount the app's rootfs read-only.
    pub readonly_rootfs: bool,
    /// Kernel-tunable protection (rkt's `protectKernelTunables` plus moby's masked paths):
    /// parts of `/proc` read-only, some `/proc` files and `/sys` dirs masked. Off only with
    /// `--insecure-options=paths`.
    pub protect_kernel: bool,
    /// `PR_SET_NO_NEW_PRIVS` before exec (isolator `os/linux/no-new-privileges`, and for a
    /// non-root app under seccomp: rkt's rule).
    pub no_new_privs: bool,
    /// Seccomp programs (`struct sock_filter` arrays in the host's byte order), installed in
    /// this order right before the exec; empty: no filter. stage0 compiles them.
    pub seccomp: Vec<Vec<u8>>,
    /// The `cgroup.procs` files (host view) of the app's cgroup in each hierarchy: the app
    /// joins them first, then gets a cgroup namespace rooted there. stage0 made them.
    pub cgroup_procs: Vec<PathBuf>,
    /// The app's cgroup v2 directory (host view): the app is created in it
    /// (`clone3(CLONE_INTO_CGROUP)`), falling back to joining its `cgroup.procs`.
    pub cgroup_dir: Option<PathBuf>,
    /// `/proc/self/oom_score_adj` of the app (`os/linux/oom-score-adj`).
    pub oom_score_adj: Option<i32>,
    /// `rkt run --interactive`: the app gets a terminal from the pod's own devpts as fds 0-2
    /// and controlling tty, whose master stage1-init hands to rkt. At most one app per pod.
    pub interactive: bool,
    /// appc `pre-start` event handler (empty: none): runs in the app's rootfs with its
    /// environment, ids and confinement, and must exit 0 before the app starts.
    pub pre_start: Vec<String>,
    /// appc `post-stop` event handler (empty: none): runs the same way after the app exited.
    pub post_stop: Vec<String>,
    /// Volumes, mounted in this order.
    pub mounts: Vec<Mount>,
}

/// A volume: a host path bind-mounted into an app's rootfs. stage0 resolves appc volumes to
/// this: `kind=host` gives the host path, `kind=empty` a directory it created under the pod
/// (rkt's `<pod>/sharedVolumes/<name>`, with the volume's mode, uid and gid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Absolute host path (host view: read before the pivot). A directory or a file.
    pub source: PathBuf,
    /// Absolute path inside the app's rootfs, resolved inside it (an image's symlinks cannot
    /// send the mount elsewhere); missing components are created (dirs 0755, root-owned).
    pub target: String,
    /// Mount it read-only (the top mount; submounts of a recursive bind keep their flags).
    pub readonly: bool,
    /// Bind the source's submounts too (`rbind`).
    pub recursive: bool,
    /// Docker's volume semantics (an image converted from Docker, an implicit empty volume):
    /// an empty source directory first gets a copy of what the image has at the target.
    pub fill: bool,
}

/// A plan that cannot be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// Byte offset of the record at fault (decoding only).
    pub offset: Option<usize>,
    /// What is wrong.
    pub msg: String,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(at) => write!(f, "invalid plan at byte {at}: {}", self.msg),
            None => write!(f, "invalid plan: {}", self.msg),
        }
    }
}

impl std::error::Error for PlanError {}

fn invalid(msg: impl Into<String>) -> PlanError {
    PlanError {
        offset: None,
        msg: msg.into(),
    }
}

impl Plan {
    /// Checks every invariant stage1-init relies on; `encode` and `decode` both call it.
    pub fn validate(&self) -> Result<(), PlanError> {
        if !valid_uuid(&self.uuid) {
            return Err(invalid(format!(
                "uuid {:?} is not 8-4-4-4-12 lowercase hex",
                self.uuid
            )));
        }
        // What sethostname(2) takes (at most 64 bytes, HOST_NAME_MAX) and rkt 1.30 passed on
        // (`custom_hostname_setting`), less blanks and control characters, which would write
        // lines of their own into the pod's /etc/hosts.
        let h = &self.hostname;
        if h.is_empty() || h.len() > 64 || !h.bytes().all(|b| b.is_ascii_graphic()) {
            let shown: String = h.chars().take(80).collect();
            return Err(invalid(format!(
                "hostname {shown:?} is not a valid host name (1 to 64 printable characters, \
                 no blanks)"
            )));
        }
        check_abs("pod-dir", &self.pod_dir)?;
        for (what, etc) in [("hosts", &self.hosts), ("resolv", &self.resolv)] {
            match etc {
                EtcFile::Keep => {}
                EtcFile::Bind(p) => check_abs(what, p)?,
                EtcFile::Default(s) | EtcFile::Write(s) => check_text(what, s)?,
            }
        }
        for p in &self.stage1_cgroup_procs {
            check_abs("init-cgroup-procs", p)?;
        }
        for m in &self.cgroup_mounts {
            if !matches!(m.fstype.as_str(), "cgroup" | "cgroup2")
                || m.rel.starts_with('/')
                || m.rel.split('/').any(|c| c == ".." || c == ".")
                || m.rel.contains(['\0', ','])
            {
                return Err(invalid(format!("bad cgroup mount {m:?}")));
            }
            check_text("cgroup mount", &m.data)?;
        }
        if self.apps.is_empty() {
            return Err(invalid("a pod needs at least one app"));
        }
        // One terminal per pod (rkt 1.30: "interactive option only supports one image").
        if self.apps.iter().filter(|a| a.interactive).count() > 1 {
            return Err(invalid("more than one interactive app"));
        }
        for (i, app) in self.apps.iter().enumerate() {
            app.validate()?;
            if self.apps[..i].iter().any(|a| a.name == app.name) {
                return Err(invalid(format!("duplicate app name {:?}", app.name)));
            }
        }
        Ok(())
    }

    /// The stage1 root of this pod.
    pub fn stage1_rootfs(&self) -> PathBuf {
        stage1_rootfs(&self.pod_dir)
    }

    /// Encodes a valid plan (see the module doc for the format).
    pub fn encode(&self) -> Result<Vec<u8>, PlanError> {
        self.validate()?;
        let mut w = Writer(format!("{MAGIC} {VERSION}\n").into_bytes());
        w.text("uuid", &self.uuid);
        w.text("hostname", &self.hostname);
        w.path("pod-dir", &self.pod_dir);
        w.text(
            "net",
            if self.net == Net::Host {
                "host"
            } else {
                "none"
            },
        );
        for (key, etc) in [("hosts", &self.hosts), ("resolv", &self.resolv)] {
            let mut v = Vec::new();
            match etc {
                EtcFile::Keep => v.extend_from_slice(b"keep"),
                EtcFile::Bind(p) => {
                    v.extend_from_slice(b"bind:");
                    v.extend_from_slice(p.as_os_str().as_bytes());
                }
                EtcFile::Default(s) => v.extend_from_slice(format!("default:{s}").as_bytes()),
                EtcFile::Write(s) => v.extend_from_slice(format!("write:{s}").as_bytes()),
            }
            w.record(key, &v);
        }
        for m in &self.cgroup_mounts {
            w.record(
                "cgroup-mount",
                format!("{}\0{}\0{}", m.fstype, m.rel, m.data).as_bytes(),
            );
        }
        for p in &self.stage1_cgroup_procs {
            w.path("init-cgroup-procs", p);
        }
        let kind = |tty: bool| if tty { "tty" } else { "pipe" };
        w.text(
            "output",
            &format!(
                "{},{}",
                kind(self.output.stdout_tty),
                kind(self.output.stderr_tty)
            ),
        );
        w.text(
            "devices",
            if self.devices_by_cgroup {
                "cgroup"
            } else {
                "nodev"
            },
        );
        for app in &self.apps {
            w.text("app", &app.name);
            w.path("lower", &app.lower);
            match &app.mode {
                RootfsMode::Overlay { upper, work } => {
                    w.text("rootfs", "overlay");
                    w.path("upper", upper);
                    w.path("work", work);
                }
                RootfsMode::Copy => w.text("rootfs", "copy"),
            }
            for arg in &app.argv {
                w.text("argv", arg);
            }
            for (k, v) in &app.env {
                w.text("env", &format!("{k}={v}"));
            }
            w.text("uid", &app.uid.to_string());
            w.text("gid", &app.gid.to_string());
            for g in &app.supplementary_gids {
                w.text("supp-gid", &g.to_string());
            }
            w.text("cwd", &app.cwd);
            for c in &app.caps {
                w.text("cap", CAP_NAMES[*c as usize]);
            }
            let flag = |b: bool| if b { "true" } else { "false" };
            w.text("readonly", flag(app.readonly_rootfs));
            w.text("protect-kernel", flag(app.protect_kernel));
            w.text("no-new-privs", flag(app.no_new_privs));
            for prog in &app.seccomp {
                w.record("seccomp", prog);
            }
            for p in &app.cgroup_procs {
                w.path("cgroup-procs", p);
            }
            if let Some(d) = &app.cgroup_dir {
                w.path("cgroup-dir", d);
            }
            if let Some(o) = app.oom_score_adj {
                w.text("oom-score-adj", &o.to_string());
            }
            w.text("interactive", flag(app.interactive));
            for a in &app.pre_start {
                w.text("pre-start", a);
            }
            for a in &app.post_stop {
                w.text("post-stop", a);
            }
            for m in &app.mounts {
                let mut v = Vec::new();
                v.extend_from_slice(if m.readonly { b"ro," } else { b"rw," });
                v.extend_from_slice(if m.recursive { b"rbind" } else { b"bind" });
                v.extend_from_slice(if m.fill { b",fill\0" } else { b"\0" });
                v.extend_from_slice(m.source.as_os_str().as_bytes());
                v.push(0);
                v.extend_from_slice(m.target.as_bytes());
                w.record("mount", &v);
            }
        }
        Ok(w.0)
    }

    /// Decodes and validates a plan.
    pub fn decode(bytes: &[u8]) -> Result<Plan, PlanError> {
        let header = format!("{MAGIC} ");
        let Some(rest) = bytes.strip_prefix(header.as_bytes()) else {
            return Err(invalid(format!("does not start with {MAGIC:?}")));
        };
        let nl = rest.iter().position(|&b| b == b'\n').filter(|&n| n <= 10);
        let version = nl
            .and_then(|n| std::str::from_utf8(&rest[..n]).ok())
            .and_then(parse_u32)
            .ok_or_else(|| invalid("bad version line"))?;
        if version != VERSION {
            return Err(invalid(format!(
                "unsupported version {version} (this stage1-init reads {VERSION})"
            )));
        }
        let start = header.len() + nl.unwrap_or(0) + 1;
        let mut d = Decoder::default();
        let mut pos = start;
        while pos < bytes.len() {
            let (key, value, next) = read_record(bytes, pos)?;
            d.field(key, value).map_err(|msg| PlanError {
                offset: Some(pos),
                msg: format!("{key}: {msg}"),
            })?;
            pos = next;
        }
        let plan = d.finish()?;
        plan.validate()?;
        Ok(plan)
    }
}

impl App {
    fn validate(&self) -> Result<(), PlanError> {
        let n = &self.name;
        if n.is_empty()
            || n.len() > 255
            || n.starts_with('-')
            || !n
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(format!("app name {n:?} is not a valid appc name")));
        }
        let ctx = |m: String| invalid(format!("app {n:?}: {m}"));
        check_abs("lower", &self.lower).map_err(|e| ctx(e.msg))?;
        if let RootfsMode::Overlay { upper, work } = &self.mode {
            for (what, p) in [("lower", &self.lower), ("upper", upper), ("work", work)] {
                check_abs(what, p).map_err(|e| ctx(e.msg))?;
                // overlayfs splits its options on ',' and lowerdir on ':'; refuse rather than
                // escape, so a path can never inject an option.
                if p.as_os_str().as_bytes().iter().any(|b| b",:\\".contains(b)) {
                    return Err(ctx(format!("{what} {p:?} contains ',', ':' or '\\'")));
                }
            }
        }
        match self.argv.first() {
            None => return Err(ctx("argv is empty".into())),
            Some(a) if !a.starts_with('/') => {
                return Err(ctx(format!("argv[0] {a:?} is not an absolute path")))
            }
            Some(_) => {}
        }
        for a in &self.argv {
            check_text("argv", a).map_err(|e| ctx(e.msg))?;
        }
        for (k, v) in &self.env {
            if k.is_empty() || k.contains('=') {
                return Err(ctx(format!("env name {k:?} is empty or contains '='")));
            }
            check_text("env", k)
                .and(check_text("env", v))
                .map_err(|e| ctx(e.msg))?;
        }
        if !self.cwd.starts_with('/') {
            return Err(ctx(format!("cwd {:?} is not absolute", self.cwd)));
        }
        check_text("cwd", &self.cwd).map_err(|e| ctx(e.msg))?;
        for (what, argv) in [
            ("pre-start", &self.pre_start),
            ("post-stop", &self.post_stop),
        ] {
            if argv.first().is_some_and(|a| !a.starts_with('/')) {
                return Err(ctx(format!("{what}[0] is not an absolute path")));
            }
            for a in argv {
                check_text(what, a).map_err(|e| ctx(e.msg))?;
            }
        }
        for (i, m) in self.mounts.iter().enumerate() {
            check_abs("mount source", &m.source).map_err(|e| ctx(e.msg))?;
            let t = &m.target;
            // `..` could not escape (targets resolve inside the rootfs) but never means anything
            // legitimate; `/` would hide the whole image. Two mounts on one target: appc
            // "overlapping targets SHOULD be an error".
            if !t.starts_with('/')
                || t.split('/').all(|c| c.is_empty() || c == ".")
                || t.split('/').any(|c| c == "..")
                || t.contains('\0')
                || self.mounts[..i].iter().any(|o| o.target == *t)
            {
                return Err(ctx(format!(
                    "mount target {t:?} is not absolute, is /, has .. or repeats"
                )));
            }
        }
        for p in self.cgroup_procs.iter().chain(&self.cgroup_dir) {
            check_abs("cgroup-procs", p).map_err(|e| ctx(e.msg))?;
        }
        if self
            .oom_score_adj
            .is_some_and(|o| !(-1000..=1000).contains(&o))
        {
            return Err(ctx("oom-score-adj outside -1000..=1000".into()));
        }
        for prog in &self.seccomp {
            // BPF_MAXINSNS: the kernel refuses longer programs.
            if prog.is_empty() || prog.len() % 8 != 0 || prog.len() / 8 > 4096 {
                return Err(ctx(format!(
                    "seccomp program of {} bytes is not 1 to 4096 instructions",
                    prog.len()
                )));
            }
        }
        for (i, c) in self.caps.iter().enumerate() {
            if *c as usize >= CAP_NAMES.len() || self.caps[..i].contains(c) {
                return Err(ctx(format!("capability {c} is unknown or repeated")));
            }
        }
        Ok(())
    }
}

fn valid_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

fn check_abs(what: &str, p: &Path) -> Result<(), PlanError> {
    let b = p.as_os_str().as_bytes();
    if !b.starts_with(b"/") || b.contains(&0) {
        return Err(invalid(format!("{what} {p:?} is not an absolute path")));
    }
    Ok(())
}

fn check_text(what: &str, s: &str) -> Result<(), PlanError> {
    if s.contains('\0') {
        return Err(invalid(format!("{what} contains a NUL byte")));
    }
    Ok(())
}

/// Strict decimal: digits only, no sign, no leading zero (except "0"), fits in u32.
fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

struct Writer(Vec<u8>);

impl Writer {
    fn record(&mut self, key: &str, value: &[u8]) {
        self.0
            .extend_from_slice(format!("{key} {}\n", value.len()).as_bytes());
        self.0.extend_from_slice(value);
        self.0.push(b'\n');
    }
    fn text(&mut self, key: &str, value: &str) {
        self.record(key, value.as_bytes());
    }
    fn path(&mut self, key: &str, value: &Path) {
        self.record(key, value.as_os_str().as_bytes());
    }
}

#[cfg(test)]
mod tests;
