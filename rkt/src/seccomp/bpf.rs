//! The classic-BPF code of a filter: an architecture check, then a binary search over ranges
//! of syscall numbers that share an answer, then, for the few syscalls allowed only for some
//! arguments, their argument checks.
//!
//! Why not a linear list of syscalls (seccompiler's layout): the kernel pays for a filter's
//! length at every start, JIT-compiling it and emulating it once per syscall number to build
//! its "always allowed" cache (`seccomp_cache_prepare`): 0.87 ms for moby's profile as 1768
//! linear instructions, measured here, against a few dozen microseconds for a few hundred
//! instructions of a tree. A syscall not in the cache also walks the whole list.
//!
//! Jumps: every conditional jump here skips at most a few instructions (cBPF's `jt`/`jf` are
//! 8 bits); a subtree is reached with `ja`, whose offset is 32 bits.

use std::collections::BTreeMap;

use super::Cmp;

/// One condition on a syscall argument, compared as 64 bits (little-endian halves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ArgRule {
    pub(super) index: u8,
    pub(super) cmp: Cmp,
}

/// What a syscall number gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Leaf {
    /// This return value.
    Ret(u32),
    /// `on_match` when any rule matches, else the filter's default.
    Rules { rules: Vec<ArgRule>, on_match: u32 },
}

/// A whole filter: the return value of each listed syscall number, the default for the rest,
/// and what a call of another architecture gets.
#[derive(Debug, Clone)]
pub(super) struct Program {
    pub(super) audit_arch: u32,
    pub(super) foreign_arch: u32,
    pub(super) default: u32,
    pub(super) syscalls: BTreeMap<u32, Leaf>,
    /// Numbers from this one up (another ABI of the same architecture: x32) get `foreign_abi`.
    pub(super) foreign_abi: Option<(u32, u32)>,
}

// Classic BPF (linux/bpf_common.h, linux/filter.h).
const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const ALU_AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const JA: u16 = 0x05; // BPF_JMP | BPF_JA
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGT_K: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K
/// `struct seccomp_data`: nr, arch, instruction_pointer, args[6].
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const DATA_ARGS: u32 = 16;

/// One instruction: code, jt, jf, k.
type Insn = (u16, u8, u8, u32);

impl Program {
    /// The instructions, as `struct sock_filter`s in the host's byte order.
    pub(super) fn assemble(&self) -> Vec<u8> {
        let mut p: Vec<Insn> = vec![
            (LD_W_ABS, 0, 0, DATA_ARCH),
            (JEQ_K, 1, 0, self.audit_arch),
            (RET_K, 0, 0, self.foreign_arch),
            (LD_W_ABS, 0, 0, DATA_NR),
        ];
        // Ranges of numbers with one answer: (first number, answer), covering 0..=u32::MAX.
        let mut ranges: Vec<(u32, Leaf)> = Vec::new();
        let push = |ranges: &mut Vec<(u32, Leaf)>, start: u32, leaf: Leaf| {
            if ranges.last().map(|(_, l)| l) != Some(&leaf) || matches!(leaf, Leaf::Rules { .. }) {
                ranges.push((start, leaf));
            }
        };
        let default = Leaf::Ret(self.default);
        let mut next = 0u32;
        let limit = self.foreign_abi.map_or(u32::MAX, |(start, _)| start);
        for (nr, leaf) in self.syscalls.range(..limit) {
            if *nr > next {
                push(&mut ranges, next, default.clone());
            }
            push(&mut ranges, *nr, leaf.clone());
            next = nr.saturating_add(1);
        }
        if next < limit || ranges.is_empty() {
            push(&mut ranges, next, default.clone());
        }
        if let Some((start, ret)) = self.foreign_abi {
            push(&mut ranges, start, Leaf::Ret(ret));
        }
        // A leaf holding one syscall with rules must not cover its neighbours: split the
        // range after it back to the default.
        let mut exact: Vec<(u32, Leaf)> = Vec::new();
        for (i, (start, leaf)) in ranges.iter().enumerate() {
            exact.push((*start, leaf.clone()));
            if matches!(leaf, Leaf::Rules { .. }) {
                let following = ranges.get(i + 1).map(|r| r.0);
                if following != Some(start + 1) && *start != u32::MAX {
                    exact.push((start + 1, default.clone()));
                }
            }
        }
        tree(&exact, self.default, &mut p);
        let mut bytes = Vec::with_capacity(p.len() * 8);
        for (code, jt, jf, k) in p {
            bytes.extend_from_slice(&code.to_ne_bytes());
            bytes.push(jt);
            bytes.push(jf);
            bytes.extend_from_slice(&k.to_ne_bytes());
        }
        bytes
    }
}

/// Emits the search over `ranges` (sorted by first number, the accumulator holding `nr`).
fn tree(ranges: &[(u32, Leaf)], default: u32, p: &mut Vec<Insn>) {
    if let [(_, leaf)] = ranges {
        leaf_code(leaf, default, p);
        return;
    }
    let mid = ranges.len() / 2;
    // nr >= ranges[mid].0: fall through to the `ja` into the upper half; else skip it.
    p.push((JGE_K, 0, 1, ranges[mid].0));
    let ja = p.len();
    p.push((JA, 0, 0, 0));
    tree(&ranges[..mid], default, p);
    p[ja].3 = (p.len() - ja - 1) as u32;
    tree(&ranges[mid..], default, p);
}

fn leaf_code(leaf: &Leaf, default: u32, p: &mut Vec<Insn>) {
    match leaf {
        Leaf::Ret(v) => p.push((RET_K, 0, 0, *v)),
        Leaf::Rules { rules, on_match } => {
            for r in rules {
                rule_code(r, *on_match, p);
            }
            p.push((RET_K, 0, 0, default));
        }
    }
}

/// One rule: returns `on_match` when the argument matches, else falls through to what follows
/// (the next rule, or the default). The accumulator is clobbered.
fn rule_code(r: &ArgRule, on_match: u32, p: &mut Vec<Insn>) {
    let lo = DATA_ARGS + 8 * u32::from(r.index);
    let hi = lo + 4;
    let split = |v: u64| ((v >> 32) as u32, v as u32);
    // Each block ends with `ret on_match`; `NO` jumps land right after it.
    let block: Vec<Insn> = match r.cmp {
        Cmp::Eq(v) => {
            let (vh, vl) = split(v);
            vec![
                (LD_W_ABS, 0, 0, hi),
                (JEQ_K, 0, 3, vh), // -> NO
                (LD_W_ABS, 0, 0, lo),
                (JEQ_K, 0, 1, vl), // -> NO
                (RET_K, 0, 0, on_match),
            ]
        }
        Cmp::Lt(v) => {
            let (vh, vl) = split(v);
            vec![
                (LD_W_ABS, 0, 0, hi),
                (JGT_K, 4, 0, vh), // hi > vh: NO
                (JEQ_K, 0, 2, vh), // hi < vh: YES
                (LD_W_ABS, 0, 0, lo),
                (JGE_K, 1, 0, vl), // lo >= vl: NO
                (RET_K, 0, 0, on_match),
            ]
        }
        Cmp::MaskedEq { mask, value } => {
            let ((mh, ml), (vh, vl)) = (split(mask), split(value));
            vec![
                (LD_W_ABS, 0, 0, hi),
                (ALU_AND_K, 0, 0, mh),
                (JEQ_K, 0, 4, vh), // -> NO
                (LD_W_ABS, 0, 0, lo),
                (ALU_AND_K, 0, 0, ml),
                (JEQ_K, 0, 1, vl), // -> NO
                (RET_K, 0, 0, on_match),
            ]
        }
    };
    p.extend(block);
}
