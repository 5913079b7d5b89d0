//! Pod cgroups on cgroup v1, v2 and hybrid hosts, as plain data: where the hierarchies are
//! ([`Layout`], read from `/proc/self/mountinfo` and `/proc/self/cgroup`), and what a pod needs
//! in them ([`plan`]: the directories, the knobs, the device policy, who joins what). The thin
//! applier is `sys::cgroup`.
//!
//! Rules (deps-notes §11, crun and rkt):
//! - A pod's cgroups go under the cgroup rkt runs in, in every hierarchy; where that is the
//!   hierarchy's root, under a fixed `rkt/` child of it. A process is never moved out of a
//!   cgroup rkt was started in, only into cgroups below it.
//! - Pod `P` = `<base>/<uuid>`: stage1-init in the leaf `P/stage1.init`, each app in
//!   `P/<app>.app` (neither name can be an app's: appc app names have no `.`). cgroup v2 forbids
//!   processes in a cgroup whose `subtree_control` enables controllers, hence the leaves.
//! - Pod-wide limits (the pids limit, pod isolators) bound `P`; an app's limits its own cgroup.
//! - v1 `cpuset` cgroups start empty and refuse every process until `cpuset.cpus` and
//!   `cpuset.mems` are set: each new one copies its parent's (rkt's `fixCpusetKnobs`).

mod devices;
mod layout;

use std::path::{Path, PathBuf};

pub(crate) use devices::{default_rules, program as device_program, DeviceRule, DeviceType};
pub(crate) use layout::{Hierarchy, Layout, Version};

/// Under a hierarchy's root, pods go here.
pub(crate) const BASE_AT_ROOT: &str = "rkt";
/// The leaf of a pod's cgroup that holds stage1-init.
pub(crate) const STAGE1_LEAF: &str = "stage1.init";
/// podman's default pids limit per pod.
pub(crate) const DEFAULT_PIDS_LIMIT: u64 = 2048;
/// cgroup v1 `cpu.cfs_period_us` (and v2's `cpu.max` period) for quotas: 100 ms, as systemd.
const CPU_PERIOD_US: u64 = 100_000;

/// Limits of one cgroup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Resources {
    /// Bytes.
    pub(crate) memory: Option<u64>,
    /// Millicores (`resource/cpu` limit, `--cpu=500m`).
    pub(crate) cpu_millis: Option<u64>,
    /// `os/linux/cpu-shares`, 2..=262144.
    pub(crate) cpu_shares: Option<u64>,
    pub(crate) pids: Option<u64>,
}

/// One app's cgroup needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppSpec {
    pub(crate) name: String,
    pub(crate) resources: Resources,
    /// The device allow-list (`None`: no policy, `--insecure-options=paths`).
    pub(crate) devices: Option<Vec<DeviceRule>>,
}

/// A pod's cgroup needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodSpec {
    pub(crate) uuid: String,
    pub(crate) pod: Resources,
    pub(crate) apps: Vec<AppSpec>,
}

/// One step of setting a pod's cgroups up, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// Creates the directory (an existing one is fine only for `<base>` directories, which
    /// several pods share: `shared`).
    Mkdir {
        dir: PathBuf,
        shared: bool,
    },
    /// Writes the parent's value of a v1 cpuset knob into this one.
    CopyFromParent(PathBuf),
    Write {
        file: PathBuf,
        value: String,
    },
    /// A write to a knob the kernel may not have (v1 `memory.memsw.*` without swap accounting).
    WriteIfPresent {
        file: PathBuf,
        value: String,
    },
    /// cgroup v2: attaches a device program allowing exactly `rules` to `dir`.
    DeviceProgram {
        dir: PathBuf,
        rules: Vec<DeviceRule>,
    },
}

/// A cgroup filesystem to mount read-only in each app, in the app's cgroup namespace (so it
/// shows the app's cgroup as its root), at `/sys/fs/cgroup/<rel>` (`rel` empty: at
/// `/sys/fs/cgroup` itself, a pure v2 host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InsideMount {
    pub(crate) rel: String,
    /// `cgroup` or `cgroup2`.
    pub(crate) fstype: &'static str,
    /// v1: the hierarchy's controllers (`cpu,cpuacct`, `name=systemd`).
    pub(crate) data: String,
}

/// The computed cgroups of a pod.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct PodCgroups {
    pub(crate) ops: Vec<Op>,
    /// Every directory this pod owns, parents first: removed in reverse at rm/gc.
    pub(crate) owned: Vec<PathBuf>,
    /// The `<base>` directories, removed when empty (another pod may still use one).
    pub(crate) bases: Vec<PathBuf>,
    /// `owned` and `bases` as hierarchy and path within it, in order: what the pod dir records
    /// (a path under a mount point would name nothing in another mount namespace).
    pub(crate) records: Vec<Record>,
    /// The `tasks` files to join stage1-init's leaf with, in each v1 hierarchy.
    pub(crate) stage1_procs: Vec<PathBuf>,
    /// The `tasks` files of each app's cgroup in each v1 hierarchy, in app order.
    pub(crate) app_procs: Vec<Vec<PathBuf>>,
    /// The v2 directories: processes are created in them (`clone3(CLONE_INTO_CGROUP)`), not
    /// moved there: a move to a v2 cgroup takes the kernel's global threadgroup lock, whose
    /// write side waits for an RCU grace period (15 ms a start here).
    pub(crate) stage1_v2: Option<PathBuf>,
    pub(crate) app_v2: Vec<Option<PathBuf>>,
    pub(crate) inside: Vec<InsideMount>,
    /// The device policy is enforced by a cgroup (v1 devices or a v2 program) for every app.
    pub(crate) devices_enforced: bool,
    /// rkt's `subcgroup` file: the pod's cgroup relative to the hierarchy root, in the
    /// unified hierarchy or else the first one.
    pub(crate) subcgroup: String,
}

/// One cgroup directory of a pod, by hierarchy ([`Hierarchy::key`]) and path within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// A shared `<base>` (removed only when empty), not the pod's own.
    pub(crate) base: bool,
    pub(crate) hierarchy: String,
    /// Relative to the hierarchy's root.
    pub(crate) path: String,
}

impl PodCgroups {
    /// The pod dir's `cgroups` file: what rm and gc remove, written before any is created
    /// (so a crash in between leaves nothing unrecorded). One `owned|base HIERARCHY PATH` per
    /// line, in creation order.
    pub(crate) fn record(&self) -> String {
        self.records
            .iter()
            .map(|r| {
                let kind = if r.base { "base" } else { "owned" };
                format!("{kind} {} {}\n", r.hierarchy, r.path)
            })
            .collect()
    }
}

/// The entries of a `cgroups` file; lines of another form are ignored.
pub(crate) fn parse_record(text: &str) -> Vec<Record> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.splitn(3, ' ');
            let base = match f.next()? {
                "owned" => false,
                "base" => true,
                _ => return None,
            };
            let (hierarchy, path) = (f.next()?, f.next()?);
            // Relative, no `..`: it must stay inside the hierarchy.
            if path.starts_with('/') || path.split('/').any(|c| c == ".." || c.is_empty()) {
                return None;
            }
            Some(Record {
                base,
                hierarchy: hierarchy.to_string(),
                path: path.to_string(),
            })
        })
        .collect()
}

/// The directories of `records` in this layout: (the pod's own, in creation order; the
/// shared bases). Entries of a hierarchy this mount namespace does not show are left out.
pub(crate) fn resolve_records(layout: &Layout, records: &[Record]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut owned, mut bases) = (Vec::new(), Vec::new());
    for r in records {
        let Some(h) = layout.hierarchies.iter().find(|h| h.key() == r.hierarchy) else {
            continue;
        };
        let dir = h.mount.join(&r.path);
        if r.base {
            bases.push(dir);
        } else {
            owned.push(dir);
        }
    }
    (owned, bases)
}

/// Why a pod's cgroups cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error(pub(crate) String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// cgroup v1 `cpu.shares` (2..=262144, default 1024) as cgroup v2 `cpu.weight` (1..=10000,
/// default 100): the quadratic-in-log2 fit of runc >= 1.3.2 and crun >= 1.23, which maps 2,
/// 1024 and 262144 to 1, 100 and 10000 (runc's former linear map took 1024 to 39).
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    if shares <= 2 {
        return 1;
    }
    if shares >= 262_144 {
        return 10_000;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    (10f64.powf(exponent).ceil() as u64).clamp(1, 10_000)
}

/// The pod's cgroups in `layout`. A limit no hierarchy here can enforce is an error naming it
/// (rkt 1.30 warned "support disabled in the kernel, skipping"); the default pids limit is
/// skipped where there is no pids controller.
pub(crate) fn plan(layout: &Layout, spec: &PodSpec) -> Result<PodCgroups, Error> {
    let mut out = PodCgroups::default();
    if layout.hierarchies.is_empty() {
        check_enforceable(layout, spec)?;
        return Ok(out);
    }
    check_enforceable(layout, spec)?;
    let app_dir = |p: &Path, name: &str| p.join(format!("{name}.app"));
    out.app_procs = vec![Vec::new(); spec.apps.len()];
    out.app_v2 = vec![None; spec.apps.len()];
    let mut devices_v1 = false;
    let mut devices_v2 = false;
    let v1_devices = layout.hierarchies.iter().any(|h| {
        matches!(&h.version, Version::V1 { controllers } if controllers.iter().any(|c| c == "devices"))
    });
    for h in &layout.hierarchies {
        let root = &h.mount;
        let own = root.join(h.own.trim_start_matches('/'));
        let at_root = h.own == "/";
        let base = if at_root {
            own.join(BASE_AT_ROOT)
        } else {
            own.clone()
        };
        let pod = base.join(&spec.uuid);
        let needed = needed_controllers(h, spec);
        let keep = |out: &mut PodCgroups, dir: &Path, is_base: bool| {
            if is_base {
                out.bases.push(dir.to_path_buf());
            } else {
                out.owned.push(dir.to_path_buf());
            }
            out.records.push(Record {
                base: is_base,
                hierarchy: h.key(),
                path: dir
                    .strip_prefix(root)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            });
        };
        if at_root {
            out.ops.push(Op::Mkdir {
                dir: base.clone(),
                shared: true,
            });
            keep(&mut out, &base, true);
            copy_cpuset(h, &base, &mut out.ops);
            enable(h, &own, &needed, &mut out.ops);
        }
        enable(h, &base, &needed, &mut out.ops);
        out.ops.push(Op::Mkdir {
            dir: pod.clone(),
            shared: false,
        });
        keep(&mut out, &pod, false);
        copy_cpuset(h, &pod, &mut out.ops);
        limits(h, &pod, &spec.pod, &mut out.ops);
        enable(h, &pod, &needed, &mut out.ops);
        let stage1 = pod.join(STAGE1_LEAF);
        out.ops.push(Op::Mkdir {
            dir: stage1.clone(),
            shared: false,
        });
        keep(&mut out, &stage1, false);
        copy_cpuset(h, &stage1, &mut out.ops);
        match h.version {
            Version::V1 { .. } => out.stage1_procs.push(stage1.join(V1_JOIN)),
            Version::V2 { .. } => out.stage1_v2 = Some(stage1.clone()),
        }
        for (i, app) in spec.apps.iter().enumerate() {
            let dir = app_dir(&pod, &app.name);
            out.ops.push(Op::Mkdir {
                dir: dir.clone(),
                shared: false,
            });
            keep(&mut out, &dir, false);
            copy_cpuset(h, &dir, &mut out.ops);
            limits(h, &dir, &app.resources, &mut out.ops);
            if let Some(rules) = &app.devices {
                match &h.version {
                    Version::V1 { controllers } if controllers.iter().any(|c| c == "devices") => {
                        devices_v1 = true;
                        out.ops.push(Op::Write {
                            file: dir.join("devices.deny"),
                            value: "a".into(),
                        });
                        for r in rules {
                            out.ops.push(Op::Write {
                                file: dir.join("devices.allow"),
                                value: r.v1_line(),
                            });
                        }
                    }
                    // A hybrid host's v1 devices controller does it already; a device program
                    // costs each start a kernel code patch (its static key goes 0 -> 1) and an
                    // eBPF verification.
                    Version::V2 { .. } if !v1_devices => {
                        devices_v2 = true;
                        out.ops.push(Op::DeviceProgram {
                            dir: dir.clone(),
                            rules: rules.clone(),
                        });
                    }
                    Version::V1 { .. } | Version::V2 { .. } => {}
                }
            }
            match h.version {
                Version::V1 { .. } => out.app_procs[i].push(dir.join(V1_JOIN)),
                Version::V2 { .. } => out.app_v2[i] = Some(dir.clone()),
            }
        }
        if let Some(rel) = &h.under_sys_fs_cgroup {
            out.inside.push(InsideMount {
                rel: rel.clone(),
                fstype: match h.version {
                    Version::V1 { .. } => "cgroup",
                    Version::V2 { .. } => "cgroup2",
                },
                data: match &h.version {
                    Version::V1 { controllers } => controllers.join(","),
                    Version::V2 { .. } => String::new(),
                },
            });
        }
        let rel = pod
            .strip_prefix(root)
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if out.subcgroup.is_empty() || matches!(h.version, Version::V2 { .. }) {
            out.subcgroup = rel;
        }
    }
    out.devices_enforced =
        spec.apps.iter().all(|a| a.devices.is_some()) && (devices_v1 || devices_v2);
    Ok(out)
}

/// The file a process writes "0" to in order to join a v1 cgroup: `tasks`. The joiner is
/// single-threaded (a fresh fork of stage1-init, or stage1-init itself), and moving the
/// calling thread alone skips the kernel's global threadgroup lock, whose write side waits for
/// an RCU grace period (`cgroup_procs_write_start`; 15 ms a start here).
const V1_JOIN: &str = "tasks";

/// Every limit asked for must have a controller to enforce it somewhere.
fn check_enforceable(layout: &Layout, spec: &PodSpec) -> Result<(), Error> {
    let all = std::iter::once(("the pod", &spec.pod))
        .chain(spec.apps.iter().map(|a| (a.name.as_str(), &a.resources)));
    for (who, r) in all {
        for (what, asked, controller) in [
            ("resource/memory", r.memory.is_some(), "memory"),
            ("resource/cpu", r.cpu_millis.is_some(), "cpu"),
            ("os/linux/cpu-shares", r.cpu_shares.is_some(), "cpu"),
        ] {
            if asked && !layout.has(controller) {
                return Err(Error(format!(
                    "{what} for {who} cannot be applied: this host has no {controller} cgroup \
                     controller rkt can use"
                )));
            }
        }
    }
    Ok(())
}

/// The controllers a pod needs enabled on v2 (v1 hierarchies have theirs bound).
fn needed_controllers(h: &Hierarchy, spec: &PodSpec) -> Vec<&'static str> {
    let Version::V2 { available } = &h.version else {
        return Vec::new();
    };
    let all = std::iter::once(&spec.pod).chain(spec.apps.iter().map(|a| &a.resources));
    let mut need = Vec::new();
    for r in all {
        if r.memory.is_some() {
            need.push("memory");
        }
        if r.cpu_millis.is_some() || r.cpu_shares.is_some() {
            need.push("cpu");
        }
        if r.pids.is_some() {
            need.push("pids");
        }
    }
    need.sort_unstable();
    need.dedup();
    need.retain(|c| available.iter().any(|a| a == c));
    need
}

/// v2: `+c` in `dir/cgroup.subtree_control` for each controller its children need.
fn enable(h: &Hierarchy, dir: &Path, needed: &[&str], ops: &mut Vec<Op>) {
    if !matches!(h.version, Version::V2 { .. }) || needed.is_empty() {
        return;
    }
    ops.push(Op::Write {
        file: dir.join("cgroup.subtree_control"),
        value: needed
            .iter()
            .map(|c| format!("+{c}"))
            .collect::<Vec<_>>()
            .join(" "),
    });
}

fn copy_cpuset(h: &Hierarchy, dir: &Path, ops: &mut Vec<Op>) {
    if let Version::V1 { controllers } = &h.version {
        if controllers.iter().any(|c| c == "cpuset") {
            for knob in ["cpuset.cpus", "cpuset.mems"] {
                ops.push(Op::CopyFromParent(dir.join(knob)));
            }
        }
    }
}

/// The knobs of `r` that this hierarchy enforces.
fn limits(h: &Hierarchy, dir: &Path, r: &Resources, ops: &mut Vec<Op>) {
    // A knob written as `?name` may be missing on this kernel.
    let mut w = |knob: &str, value: String| {
        ops.push(match knob.strip_prefix('?') {
            Some(k) => Op::WriteIfPresent {
                file: dir.join(k),
                value,
            },
            None => Op::Write {
                file: dir.join(knob),
                value,
            },
        })
    };
    match &h.version {
        Version::V1 { controllers } => {
            let has = |c: &str| controllers.iter().any(|x| x == c);
            if has("memory") {
                if let Some(m) = r.memory {
                    w("memory.limit_in_bytes", m.to_string());
                    // Past the limit the app is killed, not slowed down by swapping.
                    w("?memory.memsw.limit_in_bytes", m.to_string());
                }
            }
            if has("cpu") {
                if let Some(c) = r.cpu_millis {
                    w("cpu.cfs_period_us", CPU_PERIOD_US.to_string());
                    w("cpu.cfs_quota_us", quota_us(c).to_string());
                }
                if let Some(s) = r.cpu_shares {
                    w("cpu.shares", s.to_string());
                }
            }
            if has("pids") {
                if let Some(p) = r.pids {
                    w("pids.max", p.to_string());
                }
            }
        }
        Version::V2 { available } => {
            let has = |c: &str| available.iter().any(|x| x == c);
            if has("memory") {
                if let Some(m) = r.memory {
                    w("memory.max", m.to_string());
                    // Past the limit the app is killed, not slowed down by swapping.
                    w("memory.swap.max", "0".into());
                }
            }
            if has("cpu") {
                if let Some(c) = r.cpu_millis {
                    w("cpu.max", format!("{} {CPU_PERIOD_US}", quota_us(c)));
                }
                if let Some(s) = r.cpu_shares {
                    w("cpu.weight", shares_to_weight(s).to_string());
                }
            }
            if has("pids") {
                if let Some(p) = r.pids {
                    w("pids.max", p.to_string());
                }
            }
        }
    }
}

/// A quota of `millis` millicores per period, at least 1 ms (the kernel's minimum).
fn quota_us(millis: u64) -> u64 {
    (millis.saturating_mul(CPU_PERIOD_US) / 1000).max(1000)
}

#[cfg(test)]
mod tests;
