//! The compiled programs are checked by running them: a small classic-BPF interpreter
//! evaluates each filter on a `seccomp_data` the way the kernel does, and the answers of all
//! installed filters are combined by the kernel's precedence rule.

use super::*;

const X86_64_AUDIT: u32 = 62 | 0x8000_0000 | 0x4000_0000;
const I386_AUDIT: u32 = 3 | 0x4000_0000;

/// `struct seccomp_data`: nr, arch, instruction pointer, six arguments.
fn data(arch: u32, nr: u32, args: [u64; 6]) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&nr.to_ne_bytes());
    d.extend_from_slice(&arch.to_ne_bytes());
    d.extend_from_slice(&0u64.to_ne_bytes());
    for a in args {
        d.extend_from_slice(&a.to_ne_bytes());
    }
    d
}

/// Runs one classic BPF program (the subset seccomp programs use) and returns its verdict.
fn run(prog: &[u8], data: &[u8]) -> u32 {
    let ins: Vec<(u16, u8, u8, u32)> = prog
        .chunks(8)
        .map(|c| {
            (
                u16::from_ne_bytes([c[0], c[1]]),
                c[2],
                c[3],
                u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            )
        })
        .collect();
    assert!(ins.len() <= 4096, "program longer than BPF_MAXINSNS");
    let (mut a, mut pc) = (0u32, 0usize);
    loop {
        let (code, jt, jf, k) = ins[pc];
        pc += 1;
        match code {
            0x20 => {
                let k = k as usize;
                a = u32::from_ne_bytes(data[k..k + 4].try_into().unwrap());
            }
            0x54 => a &= k,           // ALU AND K
            0x05 => pc += k as usize, // JA
            0x15 | 0x25 | 0x35 | 0x45 => {
                let taken = match code {
                    0x15 => a == k,
                    0x25 => a > k,
                    0x35 => a >= k,
                    _ => a & k != 0,
                };
                pc += usize::from(if taken { jt } else { jf });
            }
            0x06 => return k,
            other => panic!("instruction {other:#x} not in the interpreter"),
        }
    }
}

/// The kernel's combined verdict of several filters (seccomp(2)): the most recently installed
/// runs first; the highest-precedence action wins, the first seen among equals.
fn verdict(progs: &[Vec<u8>], d: &[u8]) -> u32 {
    let rank = |v: u32| match v & 0xffff_0000 {
        0x8000_0000 => 7, // KILL_PROCESS
        0x0000_0000 => 6, // KILL_THREAD
        0x0003_0000 => 5, // TRAP
        0x0005_0000 => 4, // ERRNO
        0x7fc0_0000 => 3, // USER_NOTIF
        0x7ff0_0000 => 2, // TRACE
        0x7ffc_0000 => 1, // LOG
        _ => 0,           // ALLOW
    };
    let mut best: Option<u32> = None;
    for p in progs.iter().rev() {
        let v = run(p, d);
        if best.is_none_or(|b| rank(v) > rank(b)) {
            best = Some(v);
        }
    }
    best.unwrap()
}

const ALLOW: u32 = 0x7fff_0000;
const KILL: u32 = 0x8000_0000;
fn errno(n: i32) -> u32 {
    0x0005_0000 | n as u32
}

struct Compiled(Vec<Vec<u8>>);

impl Compiled {
    fn call(&self, name: &str, args: [u64; 6]) -> u32 {
        let nr = Arch::X86_64
            .number(name)
            .unwrap_or_else(|| panic!("no {name}"));
        verdict(&self.0, &data(X86_64_AUDIT, nr, args))
    }
    fn plain(&self, name: &str) -> u32 {
        self.call(name, [0; 6])
    }
}

fn compile(f: &Filter, caps: &[&str]) -> Compiled {
    let caps: Vec<u8> = caps
        .iter()
        .map(|c| stage1_init::plan::cap_from_name(c).unwrap())
        .collect();
    Compiled(f.compile_for(Arch::X86_64, &caps).unwrap())
}

fn default_caps() -> Vec<&'static str> {
    stage1_init::plan::DEFAULT_CAPS.to_vec()
}

fn set(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn syscall_table_is_sorted_and_unique() {
    let t = x86_64::SYSCALLS;
    assert!(t.windows(2).all(|w| w[0].0 < w[1].0), "sorted by name");
    let mut nrs: Vec<u32> = t.iter().map(|e| e.1).collect();
    nrs.sort_unstable();
    nrs.dedup();
    assert_eq!(nrs.len(), t.len(), "numbers are unique");
    assert_eq!(Arch::X86_64.number("read"), Some(0));
    assert_eq!(Arch::X86_64.number("clone3"), Some(435));
    assert_eq!(Arch::X86_64.number("uretprobe"), Some(335));
    assert_eq!(Arch::X86_64.number("chown32"), None);
}

#[test]
fn errno_names_resolve() {
    assert_eq!(errno_number("EPERM"), Ok(1));
    assert_eq!(errno_number("EXFULL"), Ok(54));
    assert_eq!(errno_number("EMULTIHOP"), Ok(72));
    assert!(errno_number("EWHATEVER").is_err());
}

#[test]
fn default_profile_allows_todays_programs_and_refuses_the_rest_with_eperm() {
    let c = compile(&Filter::Default, &default_caps());
    // What glibc >= 2.33 and musl >= 1.2.2 call, which Docker's 2016 list lacked.
    for name in [
        "read",
        "statx",
        "rseq",
        "faccessat2",
        "close_range",
        "openat2",
        "pidfd_open",
        "epoll_pwait2",
        "execve",
        "futex",
        "mmap",
        "chroot",
        "arch_prctl",
        "modify_ldt",
    ] {
        assert_eq!(c.plain(name), ALLOW, "{name}");
    }
    for name in [
        "keyctl",
        "add_key",
        "request_key",
        "userfaultfd",
        "perf_event_open",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "bpf",
        "mount",
        "umount2",
        "pivot_root",
        "unshare",
        "setns",
        "kexec_load",
        "init_module",
        "reboot",
    ] {
        assert_eq!(c.plain(name), errno(1), "{name}");
    }
    // ptrace is allowed since Linux 4.8 (seccomp can no longer be bypassed with it).
    assert_eq!(c.plain("ptrace"), ALLOW);
}

#[test]
fn clone_namespace_flags_are_refused_and_clone3_answers_enosys() {
    let c = compile(&Filter::Default, &default_caps());
    const CLONE_NEWUSER: u64 = 0x1000_0000;
    const CLONE_NEWNS: u64 = 0x0002_0000;
    const THREAD_FLAGS: u64 = 0x003d_0f00;
    assert_eq!(c.call("clone", [THREAD_FLAGS, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(c.call("clone", [0x11, 0, 0, 0, 0, 0]), ALLOW, "fork-like");
    assert_eq!(c.call("clone", [CLONE_NEWUSER, 0, 0, 0, 0, 0]), errno(1));
    assert_eq!(
        c.call("clone", [CLONE_NEWNS | 0x11, 0, 0, 0, 0, 0]),
        errno(1)
    );
    // The flags of clone3 are in memory: it is answered ENOSYS so libc falls back to clone.
    assert_eq!(c.plain("clone3"), errno(libc::ENOSYS));
}

#[test]
fn personality_is_limited_to_mobys_values() {
    let c = compile(&Filter::Default, &default_caps());
    for ok in [0u64, 8, 0x20000, 0x20008, 0xffff_ffff] {
        assert_eq!(c.call("personality", [ok, 0, 0, 0, 0, 0]), ALLOW, "{ok:#x}");
    }
    // READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE: weaken the address space.
    for bad in [0x0040_0000u64, 0x0004_0000, 6] {
        assert_eq!(
            c.call("personality", [bad, 0, 0, 0, 0, 0]),
            errno(1),
            "{bad:#x}"
        );
    }
}

#[test]
fn socket_families_af_alg_and_af_vsock_are_refused() {
    let c = compile(&Filter::Default, &default_caps());
    for ok in [1u64, 2, 10, 16, 17] {
        assert_eq!(c.call("socket", [ok, 0, 0, 0, 0, 0]), ALLOW, "family {ok}");
    }
    for bad in [38u64, 40, 46, 1000] {
        assert_eq!(
            c.call("socket", [bad, 0, 0, 0, 0, 0]),
            errno(1),
            "family {bad}"
        );
    }
}

#[test]
fn retained_capabilities_open_what_moby_opens_for_them() {
    let mut caps = default_caps();
    let c = compile(&Filter::Default, &caps);
    assert_eq!(c.plain("mount"), errno(1));
    caps.push("CAP_SYS_ADMIN");
    let c = compile(&Filter::Default, &caps);
    for name in ["mount", "umount2", "unshare", "setns", "bpf", "clone3"] {
        assert_eq!(c.plain(name), ALLOW, "{name} with CAP_SYS_ADMIN");
    }
    assert_eq!(c.call("clone", [0x1000_0000, 0, 0, 0, 0, 0]), ALLOW);
    caps.push("CAP_SYS_TIME");
    let c = compile(&Filter::Default, &caps);
    assert_eq!(c.plain("settimeofday"), ALLOW);
    // Without CAP_SYS_CHROOT, chroot closes.
    let c = compile(&Filter::Default, &["CAP_CHOWN"]);
    assert_eq!(c.plain("chroot"), errno(1));
}

#[test]
fn other_abis_are_refused() {
    let c = compile(&Filter::Default, &default_caps());
    // i386 `int 0x80` from an x86_64 process: another AUDIT_ARCH, killed.
    assert_eq!(verdict(&c.0, &data(I386_AUDIT, 1, [0; 6])), KILL);
    // x32: the x86_64 arch with bit 30 in the number; ENOSYS, also under a remove set.
    assert_eq!(
        verdict(&c.0, &data(X86_64_AUDIT, 0x4000_0000, [0; 6])),
        errno(libc::ENOSYS)
    );
    let r = Filter::from_set(false, &set(&["reboot"]), None)
        .unwrap()
        .unwrap();
    let c = compile(&r, &default_caps());
    let x32_stat = 0x4000_0000 | 4;
    assert_eq!(
        verdict(&c.0, &data(X86_64_AUDIT, x32_stat, [0; 6])),
        errno(libc::ENOSYS)
    );
}

#[test]
fn retain_set_without_errno_kills_and_with_errno_answers_it() {
    let f = Filter::from_set(true, &set(&["read", "write"]), None)
        .unwrap()
        .unwrap();
    let c = compile(&f, &default_caps());
    assert_eq!(c.plain("read"), ALLOW);
    assert_eq!(c.plain("openat"), KILL);
    for name in LIFECYCLE {
        assert_eq!(
            c.plain(name),
            ALLOW,
            "{name} is needed to start and end the app"
        );
    }
    let f = Filter::from_set(true, &set(&["read"]), Some("ENOTSUP"))
        .unwrap()
        .unwrap();
    let c = compile(&f, &default_caps());
    assert_eq!(c.plain("openat"), errno(libc::ENOTSUP));
}

#[test]
fn remove_set_blocks_only_its_names() {
    let f = Filter::from_set(false, &set(&["stat", "newfstatat"]), Some("EXFULL"))
        .unwrap()
        .unwrap();
    let c = compile(&f, &default_caps());
    assert_eq!(c.plain("stat"), errno(libc::EXFULL));
    assert_eq!(c.plain("newfstatat"), errno(libc::EXFULL));
    assert_eq!(c.plain("keyctl"), ALLOW);
    let f = Filter::from_set(false, &set(&["reboot"]), None)
        .unwrap()
        .unwrap();
    assert_eq!(compile(&f, &default_caps()).plain("reboot"), KILL);
}

#[test]
fn wildcards_as_rkt_with_the_modern_lists() {
    assert_eq!(
        Filter::from_set(true, &set(&["@appc.io/all"]), None),
        Ok(None)
    );
    assert_eq!(
        Filter::from_set(false, &set(&["@appc.io/empty", "reboot"]), None),
        Ok(Some(Filter::Default))
    );
    let f = Filter::from_set(true, &set(&["@docker/default-whitelist"]), Some("EPERM"))
        .unwrap()
        .unwrap();
    let c = compile(&f, &default_caps());
    assert_eq!(c.plain("statx"), ALLOW);
    assert_eq!(c.plain("clone3"), errno(libc::ENOSYS));
    assert_eq!(c.plain("keyctl"), errno(1));
    let f = Filter::from_set(true, &set(&["@rkt/default-whitelist", "keyctl"]), None)
        .unwrap()
        .unwrap();
    let c = compile(&f, &default_caps());
    assert_eq!(c.plain("keyctl"), ALLOW);
    assert_eq!(c.plain("add_key"), KILL);
    let f = Filter::from_set(false, &set(&["@rkt/default-blacklist"]), Some("EPERM"))
        .unwrap()
        .unwrap();
    let c = compile(&f, &default_caps());
    for name in ["keyctl", "mount", "io_uring_setup", "unshare", "reboot"] {
        assert_eq!(c.plain(name), errno(1), "{name}");
    }
    assert_eq!(c.plain("statx"), ALLOW);
}

#[test]
fn bad_sets_are_refused_with_their_reason() {
    let e = Filter::from_set(true, &set(&["@systemd/clock"]), None).unwrap_err();
    assert!(
        e.to_string()
            .contains("unknown seccomp wildcard \"@systemd/clock\""),
        "{e}"
    );
    let e = Filter::from_set(false, &set(&["no_such_call"]), None).unwrap_err();
    assert!(
        e.to_string().contains("unknown syscall \"no_such_call\""),
        "{e}"
    );
    let e = Filter::from_set(false, &set(&["execve"]), None).unwrap_err();
    assert!(e.to_string().contains("execve"), "{e}");
    let e = Filter::from_set(false, &set(&["reboot"]), Some("EBOGUS")).unwrap_err();
    assert!(e.to_string().contains("EBOGUS"), "{e}");
    // Another architecture's names are accepted (and skipped here).
    assert!(Filter::from_set(false, &set(&["chown32"]), None).is_ok());
}

#[test]
fn programs_fit_the_kernel_limit() {
    for f in [
        Filter::Default,
        Filter::from_set(true, &set(&["@docker/default-whitelist"]), None)
            .unwrap()
            .unwrap(),
    ] {
        let c = compile(&f, &stage1_init::plan::CAP_NAMES);
        for p in &c.0 {
            assert!(p.len() / 8 <= 4096, "{} instructions", p.len() / 8);
        }
    }
}
/// What `p` answers, evaluated from its description rather than its code.
fn expected(p: &bpf::Program, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    if arch != p.audit_arch {
        return p.foreign_arch;
    }
    if let Some((start, ret)) = p.foreign_abi {
        if nr >= start {
            return ret;
        }
    }
    match p.syscalls.get(&nr) {
        None => p.default,
        Some(Leaf::Ret(v)) => *v,
        Some(Leaf::Rules { rules, on_match }) => {
            let hit = rules.iter().any(|r| {
                let a = args[usize::from(r.index)];
                match r.cmp {
                    Cmp::Eq(v) => a == v,
                    Cmp::Lt(v) => a < v,
                    Cmp::MaskedEq { mask, value } => a & mask == value,
                }
            });
            if hit {
                *on_match
            } else {
                p.default
            }
        }
    }
}

/// A small deterministic generator (xorshift64*), so that a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn the_search_tree_answers_what_its_table_says() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let answers = [ALLOW, KILL, errno(1), errno(38)];
    let interesting = [
        0,
        1,
        u32::MAX,
        u32::MAX - 1,
        0x4000_0000,
        0x3fff_ffff,
        0x8000_0000,
    ];
    for round in 0..300 {
        let mut syscalls = BTreeMap::new();
        let count = rng.below(if round % 3 == 0 { 8 } else { 400 });
        let span = 1 + rng.below(600) as u32;
        for _ in 0..count {
            let nr = rng.below(u64::from(span)) as u32;
            let leaf = if rng.below(8) == 0 {
                let rules = (0..1 + rng.below(3))
                    .map(|_| {
                        let v = rng.next() >> rng.below(64);
                        let cmp = match rng.below(3) {
                            0 => Cmp::Eq(v),
                            1 => Cmp::Lt(v),
                            _ => Cmp::MaskedEq {
                                mask: v | 1,
                                value: v & 0xff,
                            },
                        };
                        ArgRule {
                            index: rng.below(6) as u8,
                            cmp,
                        }
                    })
                    .collect();
                Leaf::Rules {
                    rules,
                    on_match: answers[rng.below(4) as usize],
                }
            } else {
                Leaf::Ret(answers[rng.below(4) as usize])
            };
            syscalls.insert(nr, leaf);
        }
        let p = bpf::Program {
            audit_arch: X86_64_AUDIT,
            foreign_arch: KILL,
            default: answers[rng.below(4) as usize],
            syscalls,
            foreign_abi: (rng.below(2) == 0).then_some((0x4000_0000, errno(38))),
        };
        let code = p.assemble();
        let mut nrs: Vec<u32> = (0..span + 2).collect();
        nrs.extend(interesting);
        for nr in nrs {
            let mut args = [0u64; 6];
            for a in &mut args {
                // Around the rules' values as often as not.
                *a = match rng.below(4) {
                    0 => 0,
                    1 => rng.next(),
                    _ => rng.next() >> rng.below(64),
                };
            }
            if let Some(Leaf::Rules { rules, .. }) = p.syscalls.get(&nr) {
                let r = rules[rng.below(rules.len() as u64) as usize];
                args[usize::from(r.index)] = match r.cmp {
                    Cmp::Eq(v) => v,
                    Cmp::Lt(v) => v.wrapping_sub(rng.below(2)),
                    Cmp::MaskedEq { value, .. } => value,
                };
            }
            for arch in [X86_64_AUDIT, I386_AUDIT] {
                let d = data(arch, nr, args);
                assert_eq!(
                    run(&code, &d),
                    expected(&p, arch, nr, args),
                    "round {round}, nr {nr:#x}, args {args:x?}, arch {arch:#x}"
                );
            }
        }
    }
}
