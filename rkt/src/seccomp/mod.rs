//! Seccomp filters of apps: what an app's seccomp isolator (or `--seccomp`) asks for, and the
//! classic BPF programs that enforce it.
//!
//! stage0 compiles each pod's filters once, before the pod starts; the programs travel in the
//! launch plan and stage1-init installs them right before the app's exec, so PID 1 carries no
//! syscall tables. An app gets one program (see [`bpf`] for its layout) that:
//!
//! - kills the process for a syscall of another architecture (i386 `int 0x80` from an x86_64
//!   process), and answers ENOSYS to the x32 ABI (x86_64 syscall numbers with bit 30 set, which
//!   no list names, so a remove set would otherwise let them through);
//! - answers ENOSYS to `clone3` where moby's profile says so, so that glibc and musl fall back
//!   to `clone`, whose namespace flags the filter can check (clone3 passes its flags in memory,
//!   out of seccomp's reach);
//! - allows the allow-list (moby's default profile, or a retain set) or blocks the block-list
//!   (a remove set), some syscalls only for some argument values.
//!
//! Wildcards, as rkt 1.30 defined them (`stage1/init/common/seccomp.go`), with one deliberate
//! difference: `@docker/default-whitelist` and `@rkt/default-whitelist` are today's moby
//! profile, not Docker's 2016 list of names (which lacks `clone3`, `statx`, `rseq`, ... and
//! allows `clone` with any flags).

mod bpf;
mod errno;
mod moby;
mod rkt_lists;
mod x86_64;

use std::collections::BTreeMap;
use std::fmt;

use bpf::{ArgRule, Leaf, Program};

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
        let mut listed = Listed::new();
        let mut clone3_enosys = false;
        let (default, on_match) = match self {
            Filter::Default | Filter::Retain { profile: true, .. } => {
                for e in profile_entries(arch, &has) {
                    match e.action {
                        Action::Allow => listed.add(arch, e.name, e.arg),
                        Action::Errno(n) if e.name == "clone3" && n == errno::ENOSYS => {
                            clone3_enosys = true
                        }
                        Action::Errno(n) => {
                            return Err(err(format!(
                                "profile entry {} answers errno {n}, which this rkt cannot",
                                e.name
                            )))
                        }
                    }
                }
                let (default, names) = match self {
                    Filter::Retain { names, errno, .. } => {
                        (errno_or_kill(*errno), names.as_slice())
                    }
                    _ => (RET_ERRNO | errno::EPERM, &[][..]),
                };
                for n in names
                    .iter()
                    .map(String::as_str)
                    .chain(LIFECYCLE.iter().copied())
                {
                    listed.add(arch, n, None);
                    if n == "clone3" {
                        clone3_enosys = false;
                    }
                }
                (default, RET_ALLOW)
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
                    listed.add(arch, n, None);
                }
                (errno_or_kill(*errno), RET_ALLOW)
            }
            Filter::Remove { names, errno } => {
                for n in names {
                    listed.add(arch, n, None);
                }
                (RET_ALLOW, errno_or_kill(*errno))
            }
        };
        let enosys = RET_ERRNO | errno::ENOSYS;
        let mut syscalls: BTreeMap<u32, Leaf> = listed
            .0
            .into_iter()
            .map(|(nr, rules)| {
                let leaf = match rules {
                    None => Leaf::Ret(on_match),
                    Some(rules) => Leaf::Rules { rules, on_match },
                };
                (nr, leaf)
            })
            .collect();
        if let (true, Some(nr)) = (clone3_enosys, arch.number("clone3")) {
            syscalls.insert(nr, Leaf::Ret(enosys));
        }
        let program = Program {
            audit_arch: arch.audit_arch(),
            foreign_arch: RET_KILL_PROCESS,
            default,
            syscalls,
            foreign_abi: arch.foreign_abi_bit().map(|bit| (bit, enosys)),
        };
        let code = program.assemble();
        if code.len() / 8 > MAX_INSNS {
            return Err(err(format!(
                "the filter has {} instructions, more than the kernel's {MAX_INSNS}",
                code.len() / 8
            )));
        }
        Ok(vec![code])
    }
}

/// `BPF_MAXINSNS` (linux/bpf_common.h): the kernel refuses a longer filter.
const MAX_INSNS: usize = 4096;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

/// Blocked calls fail with `errno`, or (none given) kill the app with SIGSYS, as the appc
/// spec requires ("MUST result in app termination via SIGSYS"). The whole process, not only
/// the calling thread: a multi-threaded app must not go on with a thread silently gone.
fn errno_or_kill(errno: Option<u32>) -> u32 {
    errno.map_or(RET_KILL_PROCESS, |e| RET_ERRNO | (e & 0xffff))
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

/// The syscall numbers a filter lists, each unconditionally (`None`) or for calls whose
/// argument matches one of the rules.
struct Listed(BTreeMap<u32, Option<Vec<ArgRule>>>);

impl Listed {
    fn new() -> Listed {
        Listed(BTreeMap::new())
    }

    /// A name this architecture does not have is skipped (as libseccomp does: `chown32`
    /// exists on i386 only).
    fn add(&mut self, arch: Arch, name: &str, arg: Option<Arg>) {
        let Some(nr) = arch.number(name) else {
            return;
        };
        match arg {
            // Unconditional replaces any condition.
            None => {
                self.0.insert(nr, None);
            }
            Some(arg) => {
                let rule = ArgRule {
                    index: arg.index,
                    cmp: arg.cmp,
                };
                // An unconditional entry already allows every call.
                if let Some(rules) = self.0.entry(nr).or_insert_with(|| Some(Vec::new())) {
                    rules.push(rule);
                }
            }
        }
    }
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

#[cfg(test)]
mod tests;
