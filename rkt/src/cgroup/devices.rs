//! The device policy of apps: an allow-list of device numbers and accesses, written as cgroup
//! v1 `devices.allow` lines or compiled to a cgroup v2 device program (eBPF,
//! `BPF_PROG_TYPE_CGROUP_DEVICE`).
//!
//! The default list is what rkt 1.30's pods had (systemd's `DevicePolicy=closed`, rkt's
//! `TestDevices`): the nodes of the pod's `/dev`, with `mknod` (`m`) only for the plain ones;
//! `ptmx` can be opened, not created (rkt: "mknod /ptmx: fail"), and the pod's ptys (majors
//! 136-143) read and written.

/// A device type in a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceType {
    Char,
    Block,
}

/// One allowed device (or range) and what may be done with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceRule {
    pub(crate) kind: DeviceType,
    pub(crate) major: u32,
    /// `None`: every minor.
    pub(crate) minor: Option<u32>,
    pub(crate) read: bool,
    pub(crate) write: bool,
    pub(crate) mknod: bool,
}

impl DeviceRule {
    pub(crate) const fn char(major: u32, minor: Option<u32>, rwm: (bool, bool, bool)) -> Self {
        DeviceRule {
            kind: DeviceType::Char,
            major,
            minor,
            read: rwm.0,
            write: rwm.1,
            mknod: rwm.2,
        }
    }

    /// `c 1:3 rwm` (cgroup v1 `devices.allow`).
    pub(crate) fn v1_line(&self) -> String {
        let t = match self.kind {
            DeviceType::Char => 'c',
            DeviceType::Block => 'b',
        };
        let minor = self.minor.map_or("*".to_string(), |m| m.to_string());
        let mut access = String::new();
        for (on, c) in [(self.read, 'r'), (self.write, 'w'), (self.mknod, 'm')] {
            if on {
                access.push(c);
            }
        }
        format!("{t} {}:{minor} {access}", self.major)
    }

    /// The access bits of `bpf_cgroup_dev_ctx.access_type >> 16` (BPF_DEVCG_ACC_*).
    fn access_mask(&self) -> i32 {
        i32::from(self.mknod) | (i32::from(self.read) << 1) | (i32::from(self.write) << 2)
    }
}

const RWM: (bool, bool, bool) = (true, true, true);
const RW: (bool, bool, bool) = (true, true, false);

/// The default allow-list: null, zero, full, random, urandom, tty (rwm), console and ptmx (rw),
/// and the pod's own ptys (rw).
pub(crate) fn default_rules() -> Vec<DeviceRule> {
    let mut rules = vec![
        DeviceRule::char(1, Some(3), RWM),
        DeviceRule::char(1, Some(5), RWM),
        DeviceRule::char(1, Some(7), RWM),
        DeviceRule::char(1, Some(8), RWM),
        DeviceRule::char(1, Some(9), RWM),
        DeviceRule::char(5, Some(0), RWM),
        DeviceRule::char(5, Some(1), RW),
        DeviceRule::char(5, Some(2), RW),
    ];
    // UNIX98_PTY_SLAVE_MAJOR and the next seven (UNIX98_PTY_MAJOR_COUNT).
    rules.extend((136..144).map(|major| DeviceRule::char(major, None, RW)));
    rules
}

// eBPF (linux/bpf.h, linux/bpf_common.h): classes, operations, sources.
const BPF_LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const BPF_ALU_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const BPF_ALU_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const BPF_ALU_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const BPF_ALU64_MOV_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const BPF_JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const BPF_JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

/// One `struct bpf_insn`: code, dst and src registers, offset, immediate.
pub(crate) type Insn = (u8, u8, u8, i16, i32);

/// The device program allowing exactly `rules` (everything else gets EPERM). Its context is
/// `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`, `access_type`
/// being `(access << 16) | type` (BPF_DEVCG_DEV_BLOCK = 1, BPF_DEVCG_DEV_CHAR = 2). It
/// returns 1 to allow, 0 to deny.
pub(crate) fn program(rules: &[DeviceRule]) -> Vec<Insn> {
    let ins = |code, dst, src, off, imm| (code, dst, src, off, imm);
    let mut p = vec![
        ins(BPF_LDX_MEM_W, 2, 1, 0, 0),      // r2 = access_type
        ins(BPF_ALU_MOV_X, 3, 2, 0, 0),      // r3 = r2
        ins(BPF_ALU_AND_K, 3, 0, 0, 0xffff), // r3 = type
        ins(BPF_ALU_RSH_K, 2, 0, 0, 16),     // r2 = access
        ins(BPF_LDX_MEM_W, 4, 1, 4, 0),      // r4 = major
        ins(BPF_LDX_MEM_W, 5, 1, 8, 0),      // r5 = minor
    ];
    for r in rules {
        let t = match r.kind {
            DeviceType::Block => 1,
            DeviceType::Char => 2,
        };
        // Each check jumps past the rest of this rule's block when it fails.
        let mut block: Vec<(u8, u8, u8, i32)> = vec![
            (BPF_JMP_JNE_K, 3, 0, t),
            (BPF_ALU_MOV_X, 6, 2, 0),                      // r6 = access
            (BPF_ALU_AND_K, 6, 0, !r.access_mask() & 0x7), // what is asked beyond the rule
            (BPF_JMP_JNE_K, 6, 0, 0),
            (BPF_JMP_JNE_K, 4, 0, r.major as i32),
        ];
        if let Some(m) = r.minor {
            block.push((BPF_JMP_JNE_K, 5, 0, m as i32));
        }
        let n = block.len();
        for (i, (code, dst, src, imm)) in block.into_iter().enumerate() {
            // A jump skips the remaining checks and the two instructions that allow.
            let off = if code == BPF_JMP_JNE_K {
                (n - i - 1 + 2) as i16
            } else {
                0
            };
            p.push(ins(code, dst, src, off, imm));
        }
        p.push(ins(BPF_ALU64_MOV_K, 0, 0, 0, 1));
        p.push(ins(BPF_JMP_EXIT, 0, 0, 0, 0));
    }
    p.push(ins(BPF_ALU64_MOV_K, 0, 0, 0, 0));
    p.push(ins(BPF_JMP_EXIT, 0, 0, 0, 0));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the program subset [`program`] emits on a device access.
    fn run(p: &[Insn], kind: u32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [(access << 16) | kind, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let (code, dst, src, off, imm) = p[pc];
            let (d, s) = (dst as usize, src as usize);
            pc += 1;
            match code {
                BPF_LDX_MEM_W => r[d] = u64::from(ctx[off as usize / 4]),
                BPF_ALU_MOV_X => r[d] = r[s] & 0xffff_ffff,
                BPF_ALU_AND_K => r[d] = (r[d] & (imm as u32 as u64)) & 0xffff_ffff,
                BPF_ALU_RSH_K => r[d] = (r[d] & 0xffff_ffff) >> imm,
                BPF_ALU64_MOV_K => r[d] = imm as i64 as u64,
                BPF_JMP_JNE_K => {
                    if r[d] != imm as i64 as u64 {
                        pc += off as usize;
                    }
                }
                BPF_JMP_EXIT => return r[0],
                other => panic!("opcode {other:#x}"),
            }
        }
    }

    const CHAR: u32 = 2;
    const BLOCK: u32 = 1;
    const MKNOD: u32 = 1;
    const READ: u32 = 2;
    const WRITE: u32 = 4;

    #[test]
    fn default_program_is_rkt_s_device_policy() {
        let p = program(&default_rules());
        assert_eq!(run(&p, CHAR, MKNOD, 1, 3), 1, "mknod c 1:3");
        assert_eq!(run(&p, CHAR, READ | WRITE, 1, 9), 1, "urandom");
        assert_eq!(run(&p, CHAR, MKNOD, 5, 2), 0, "mknod ptmx");
        assert_eq!(run(&p, CHAR, READ | WRITE, 5, 2), 1, "open ptmx");
        assert_eq!(run(&p, CHAR, MKNOD, 10, 237), 0, "mknod loop-control");
        assert_eq!(run(&p, CHAR, READ, 10, 237), 0, "open loop-control");
        assert_eq!(run(&p, BLOCK, READ | WRITE, 7, 0), 0, "a loop device");
        assert_eq!(
            run(&p, BLOCK, MKNOD, 1, 3),
            0,
            "block 1:3 is another device"
        );
        assert_eq!(run(&p, CHAR, READ | WRITE, 136, 4), 1, "a pty");
        assert_eq!(run(&p, CHAR, MKNOD, 136, 4), 0, "mknod a pty");
        assert_eq!(run(&p, CHAR, READ, 10, 232), 0, "kvm");
    }

    #[test]
    fn a_read_only_device_volume_allows_reading_only() {
        let rule = DeviceRule {
            kind: DeviceType::Block,
            major: 7,
            minor: Some(3),
            read: true,
            write: false,
            mknod: false,
        };
        let p = program(&[rule]);
        assert_eq!(run(&p, BLOCK, READ, 7, 3), 1);
        assert_eq!(run(&p, BLOCK, READ | WRITE, 7, 3), 0);
        assert_eq!(run(&p, BLOCK, READ, 7, 4), 0);
        assert_eq!(rule.v1_line(), "b 7:3 r");
    }

    #[test]
    fn v1_lines() {
        let lines: Vec<String> = default_rules().iter().map(DeviceRule::v1_line).collect();
        assert_eq!(lines[0], "c 1:3 rwm");
        assert!(lines.contains(&"c 5:2 rw".to_string()));
        assert!(lines.contains(&"c 136:* rw".to_string()));
    }
}
