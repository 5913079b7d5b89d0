//! Seccomp filters of apps: what an app's seccomp isolator (or `--seccomp`) asks for, and the
//! classic BPF programs that enforce it.
//!
//! stage0 compiles each pod's filters once (with `seccompiler`), before the pod starts; the
//! programs travel in the launch plan and stage1-init installs them right before the app's
//! exec, so PID 1 carries no syscall tables. Each app gets two programs, installed in this
//! order:
//!
//! 1. the *main* filter: the allow-list (moby's default profile, or a retain set) or the
//!    block-list (a remove set), as `seccompiler` compiles it. It also refuses every syscall
//!    of another architecture (i386 `int 0x80` from an x86_64 process): the process is killed.
//! 2. the *guard*: a few instructions of our own that answer ENOSYS to the x32 ABI (x86_64
//!    syscall numbers with bit 30 set, which no list names, so a remove set would let them
//!    through) and, where moby's profile says so, to `clone3` (so that glibc and musl fall
//!    back to `clone`, whose namespace flags the main filter can check; clone3 passes its flags
//!    in memory, out of seccomp's reach). The kernel runs the most recently installed filter
//!    first and, between two answers of the same kind, keeps the first one it saw
//!    (seccomp(2), "Filter return values"): the guard's ENOSYS wins over the main filter's
//!    EPERM.
//!
//! Wildcards, as rkt 1.30 defined them (`stage1/init/common/seccomp.go`), with one deliberate
//! difference: `@docker/default-whitelist` and `@rkt/default-whitelist` are today's moby
//! profile, not Docker's 2016 list of names (which lacks `clone3`, `statx`, `rseq`, ... and
//! allows `clone` with any flags).

mod errno;
mod moby;
mod rkt_lists;
mod x86_64;

use std::collections::BTreeMap;
use std::fmt;

use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};

/// One entry of a profile: a syscall allowed (or answered with an errno) under conditions.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub(super) name: &'static str,
    pub(super) action: Action,
    /// Only on these architectures (Rust's names); empty: all.
    pub(super) arches: &'static [&'static str],
    /// Not on these architectures.
    pub(super) not_arches: &'static [&'static str],
    /// Only when the app keeps all these capabilities in its bounding set.
    pub(super) caps: &'static [&'static str],
    /// Not when the app keeps any of these.
    pub(super) not_caps: &'static [&'static str],
    /// Only for calls whose argument matches.
    pub(super) arg: Option<Arg>,
}

impl Entry {
    /// The neutral fields, for `..Entry::NONE` in the tables.
    pub(super) const NONE: Entry = Entry {
        name: "",
        action: Action::Allow,
        arches: &[],
        not_arches: &[],
        caps: &[],
        not_caps: &[],
        arg: None,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Allow,
    Errno(u32),
}

/// A 64-bit comparison of one syscall argument (libseccomp's `SCMP_CMP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Arg {
    pub(super) index: u8,
    pub(super) cmp: Cmp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmp {
    Eq(u64),
    Lt(u64),
    /// `(arg & mask) == value`.
    MaskedEq {
        mask: u64,
        value: u64,
    },
}

/// What an app's filter is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filter {
    /// moby's default profile; blocked calls fail with EPERM.
    Default,
    /// Only these are allowed (plus [`LIFECYCLE`]); `profile` adds moby's allow-list.
    Retain {
        names: Vec<String>,
        profile: bool,
        errno: Option<u32>,
    },
    /// These are blocked.
    Remove {
        names: Vec<String>,
        errno: Option<u32>,
    },
}

/// What an app needs to start and end that a retain set may not name (appc: "the minimum set
/// of syscalls required for app life-cycle"): the exec that starts it (stage1-init installs
/// the filter right before it) and a clean exit, also from a signal handler.
const LIFECYCLE: &[&str] = &["execve", "exit", "exit_group", "rt_sigreturn"];

/// A seccomp set that cannot be turned into a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn err(msg: impl Into<String>) -> Error {
    Error(msg.into())
}

/// The errno number of an errno name (`EPERM`), for this architecture.
pub(crate) fn errno_number(name: &str) -> Result<u32, Error> {
    errno::number(name).ok_or_else(|| err(format!("unknown errno {name:?}")))
}

impl Filter {
    /// The filter a seccomp set asks for (`retain`: a retain set, else a remove set), or
    /// `None` for `@appc.io/all` in a retain set (rkt's opt-out: no filter).
    pub(crate) fn from_set(
        retain: bool,
        set: &[String],
        errno: Option<&str>,
    ) -> Result<Option<Filter>, Error> {
        let errno = errno
            .filter(|e| !e.is_empty())
            .map(errno_number)
            .transpose()?;
        let mut names = Vec::new();
        let mut profile = false;
        for item in set {
            match (retain, item.as_str()) {
                (true, "@appc.io/all") => return Ok(None),
                // rkt: "remove @appc.io/empty" means the default filter.
                (false, "@appc.io/empty") => return Ok(Some(Filter::Default)),
                (true, "@appc.io/empty") => {
                    return Err(err(
                        "a retain set of @appc.io/empty allows no syscall: no app could run",
                    ))
                }
                (false, "@appc.io/all") => {
                    return Err(err(
                        "a remove set of @appc.io/all blocks every syscall: no app could run",
                    ))
                }
                (true, "@docker/default-whitelist" | "@rkt/default-whitelist") => profile = true,
                (false, "@docker/default-blacklist" | "@rkt/default-blacklist") => {
                    names.extend(rkt_lists::BLACKLIST.iter().map(|s| s.to_string()))
                }
                (_, w) if w.starts_with('@') => {
                    let kind = if retain { "retain" } else { "remove" };
                    return Err(err(format!(
                        "unknown seccomp wildcard {w:?} in a {kind} set (this rkt knows \
                         @appc.io/all, @appc.io/empty, @docker/default-whitelist, \
                         @docker/default-blacklist, @rkt/default-whitelist, \
                         @rkt/default-blacklist)"
                    )));
                }
                (_, name) => {
                    if !known_name(name) {
                        return Err(err(format!("unknown syscall {name:?}")));
                    }
                    names.push(name.to_string())
                }
            }
        }
        if retain {
            Ok(Some(Filter::Retain {
                names,
                profile,
                errno,
            }))
        } else {
            if names.iter().any(|n| n == "execve") {
                return Err(err(
                    "a remove set cannot block execve: the app could not start",
                ));
            }
            Ok(Some(Filter::Remove { names, errno }))
        }
    }

    /// The programs that enforce this filter for an app whose bounding set is `caps`
    /// (capability numbers), in installation order (see the module doc).
    pub(crate) fn compile(&self, caps: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        let arch = Arch::host().ok_or_else(|| {
            err(format!(
                "no seccomp syscall table for {} in this rkt: use --insecure-options=seccomp",
                std::env::consts::ARCH
            ))
        })?;
        self.compile_for(arch, caps)
    }

    fn compile_for(&self, arch: Arch, caps: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        let has =
            |name: &str| stage1_init::plan::cap_from_name(name).is_some_and(|c| caps.contains(&c));
        let mut allow: BTreeMap<u32, Vec<SeccompRule>> = BTreeMap::new();
        let mut guard_clone3 = false;
        let (rules, mismatch, matched) = match self {
            Filter::Default | Filter::Retain { profile: true, .. } => {
                for e in profile_entries(arch, &has) {
                    match e.action {
                        Action::Allow => add_rule(&mut allow, arch, e.name, e.arg)?,
                        Action::Errno(n) if e.name == "clone3" && n == errno::ENOSYS => {
                            guard_clone3 = true
                        }
                        Action::Errno(n) => {
                            return Err(err(format!(
                                "profile entry {} answers errno {n}, which only the guard can",
                                e.name
                            )))
                        }
                    }
                }
                let (mismatch, names) = match self {
                    Filter::Retain { names, errno, .. } => {
                        (errno_or_kill(*errno), names.as_slice())
                    }
                    _ => (SeccompAction::Errno(errno::EPERM), &[][..]),
                };
                for n in names
                    .iter()
                    .map(String::as_str)
                    .chain(LIFECYCLE.iter().copied())
                {
                    add_rule(&mut allow, arch, n, None)?;
                    if n == "clone3" {
                        guard_clone3 = false;
                    }
                }
                (allow, mismatch, SeccompAction::Allow)
            }
            Filter::Retain {
                names,
                profile: false,
                errno,
            } => {
                for n in names
                    .iter()
                    .map(String::as_str)
                    .chain(LIFECYCLE.iter().copied())
                {
                    add_rule(&mut allow, arch, n, None)?;
                }
                (allow, errno_or_kill(*errno), SeccompAction::Allow)
            }
            Filter::Remove { names, errno } => {
                let mut block = BTreeMap::new();
                for n in names {
                    add_rule(&mut block, arch, n, None)?;
                }
                (block, SeccompAction::Allow, errno_or_kill(*errno))
            }
        };
        let rules = rules
            .into_iter()
            .map(|(nr, r)| (i64::from(nr), r))
            .collect();
        let filter = SeccompFilter::new(rules, mismatch, matched, arch.target())
            .map_err(|e| err(format!("compile the filter: {e}")))?;
        let main: seccompiler::BpfProgram = filter
            .try_into()
            .map_err(|e: seccompiler::BackendError| err(format!("compile the filter: {e}")))?;
        Ok(vec![to_bytes(&main), guard(arch, guard_clone3)])
    }
}

/// Blocked calls fail with `errno`, or (none given) kill the app with SIGSYS, as the appc
/// spec requires ("MUST result in app termination via SIGSYS"). The whole process, not only
/// the calling thread: a multi-threaded app must not go on with a thread silently gone.
fn errno_or_kill(errno: Option<u32>) -> SeccompAction {
    errno.map_or(SeccompAction::KillProcess, SeccompAction::Errno)
}

/// The profile's entries that apply on `arch` to an app with these capabilities.
fn profile_entries<'a>(
    arch: Arch,
    has_cap: &'a dyn Fn(&str) -> bool,
) -> impl Iterator<Item = Entry> + 'a {
    let always = moby::ALWAYS.iter().map(|name| Entry {
        name,
        ..Entry::NONE
    });
    let conditional = moby::CONDITIONAL.iter().copied().filter(move |e| {
        (e.arches.is_empty() || e.arches.contains(&arch.name()))
            && !e.not_arches.contains(&arch.name())
            && e.caps.iter().all(|c| has_cap(c))
            && !e.not_caps.iter().any(|c| has_cap(c))
    });
    always.chain(conditional)
}

/// Adds `name` (with an optional argument condition) to `rules`; a name this architecture
/// does not have is skipped (as libseccomp does: `chown32` exists on i386 only).
fn add_rule(
    rules: &mut BTreeMap<u32, Vec<SeccompRule>>,
    arch: Arch,
    name: &str,
    arg: Option<Arg>,
) -> Result<(), Error> {
    let Some(nr) = arch.number(name) else {
        return Ok(());
    };
    let chain = rules.entry(nr);
    match arg {
        // Unconditional: an empty chain matches every call (and replaces any condition).
        None => {
            chain.and_modify(Vec::clear).or_default();
        }
        Some(arg) => {
            let (op, value) = match arg.cmp {
                Cmp::Eq(v) => (SeccompCmpOp::Eq, v),
                Cmp::Lt(v) => (SeccompCmpOp::Lt, v),
                Cmp::MaskedEq { mask, value } => (SeccompCmpOp::MaskedEq(mask), value),
            };
            let cond = SeccompCondition::new(arg.index, SeccompCmpArgLen::Qword, op, value)
                .and_then(|c| SeccompRule::new(vec![c]))
                .map_err(|e| err(format!("rule for {name}: {e}")))?;
            match chain {
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    // An existing empty chain already matches everything.
                    if !o.get().is_empty() {
                        o.get_mut().push(cond);
                    }
                }
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(vec![cond]);
                }
            }
        }
    }
    Ok(())
}

/// Whether `name` is a syscall of any architecture our tables know (a name another
/// architecture has, such as `chown32`, is accepted and skipped here).
fn known_name(name: &str) -> bool {
    Arch::X86_64.number(name).is_some()
        || moby::ALWAYS.contains(&name)
        || moby::CONDITIONAL.iter().any(|e| e.name == name)
        || rkt_lists::BLACKLIST.contains(&name)
        || rkt_lists::OTHER_ARCHES.contains(&name)
}

/// The architectures with a syscall table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arch {
    X86_64,
}

impl Arch {
    fn host() -> Option<Arch> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::X86_64),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
        }
    }

    fn target(self) -> TargetArch {
        match self {
            Arch::X86_64 => TargetArch::x86_64,
        }
    }

    /// `AUDIT_ARCH_*` of `seccomp_data.arch` (linux/audit.h).
    fn audit_arch(self) -> u32 {
        match self {
            // EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
            Arch::X86_64 => 62 | 0x8000_0000 | 0x4000_0000,
        }
    }

    /// Syscall numbers with this bit set belong to another ABI of the same architecture
    /// (x32 on x86_64: `__X32_SYSCALL_BIT`).
    fn foreign_abi_bit(self) -> Option<u32> {
        match self {
            Arch::X86_64 => Some(0x4000_0000),
        }
    }

    fn number(self, name: &str) -> Option<u32> {
        let table = match self {
            Arch::X86_64 => x86_64::SYSCALLS,
        };
        table
            .binary_search_by(|(n, _)| n.cmp(&name))
            .ok()
            .map(|i| table[i].1)
    }
}

// Classic BPF (linux/bpf_common.h, linux/filter.h, linux/seccomp.h).
/// BPF_LD | BPF_W | BPF_ABS
const BPF_LD_W_ABS: u16 = 0x20;
/// BPF_JMP | BPF_JEQ | BPF_K
const BPF_JMP_JEQ_K: u16 = 0x15;
/// BPF_JMP | BPF_JGE | BPF_K
const BPF_JMP_JGE_K: u16 = 0x35;
/// BPF_RET | BPF_K
const BPF_RET_K: u16 = 0x06;
const SECCOMP_DATA_NR: u32 = 0;
const SECCOMP_DATA_ARCH: u32 = 4;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;

/// The guard program (see the module doc): another architecture is killed, the other ABI of
/// this one gets ENOSYS, and so does `clone3` when `clone3` is set.
fn guard(arch: Arch, clone3: bool) -> Vec<u8> {
    let ins = |code: u16, jt: u8, jf: u8, k: u32| (code, jt, jf, k);
    let enosys = SECCOMP_RET_ERRNO | errno::ENOSYS;
    let mut prog = vec![
        ins(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH),
        ins(BPF_JMP_JEQ_K, 1, 0, arch.audit_arch()),
        ins(BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
        ins(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR),
    ];
    if let Some(bit) = arch.foreign_abi_bit() {
        prog.push(ins(BPF_JMP_JGE_K, 0, 1, bit));
        prog.push(ins(BPF_RET_K, 0, 0, enosys));
    }
    if let (true, Some(nr)) = (clone3, arch.number("clone3")) {
        prog.push(ins(BPF_JMP_JEQ_K, 0, 1, nr));
        prog.push(ins(BPF_RET_K, 0, 0, enosys));
    }
    prog.push(ins(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW));
    let mut bytes = Vec::with_capacity(prog.len() * 8);
    for (code, jt, jf, k) in prog {
        push_instruction(&mut bytes, code, jt, jf, k);
    }
    bytes
}

fn push_instruction(out: &mut Vec<u8>, code: u16, jt: u8, jf: u8, k: u32) {
    // struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }, in the host's byte order.
    out.extend_from_slice(&code.to_ne_bytes());
    out.push(jt);
    out.push(jf);
    out.extend_from_slice(&k.to_ne_bytes());
}

fn to_bytes(prog: &[seccompiler::sock_filter]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(prog.len() * 8);
    for i in prog {
        push_instruction(&mut bytes, i.code, i.jt, i.jf, i.k);
    }
    bytes
}

#[cfg(test)]
mod tests;
