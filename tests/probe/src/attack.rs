//! What a hostile app tries: syscalls a default pod must not reach, each made with real
//! arguments and reported as `sys NAME=ok` (the kernel did it) or `sys NAME=errno N`, plus the
//! user-namespace escape chain and the keyring probes. A filter without errno kills the probe
//! with SIGSYS instead, which the test sees as exit 159.

use std::io::{self, Write};

/// A raw x86_64 syscall with six arguments; returns -errno on failure.
///
/// # Safety
///
/// The caller must pass arguments that are valid for syscall `nr`.
pub unsafe fn syscall6(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 syscall ABI: rax = number, rdi, rsi, rdx, r10, r8, r9 = arguments;
    // rcx and r11 are clobbered. The caller vouches for the arguments.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

const SYS_PERSONALITY: usize = 135;
const SYS_MODIFY_LDT: usize = 154;
const SYS_PIVOT_ROOT: usize = 155;
const SYS_MOUNT: usize = 165;
const SYS_KEXEC_LOAD: usize = 246;
const SYS_ADD_KEY: usize = 248;
const SYS_REQUEST_KEY: usize = 249;
const SYS_KEYCTL: usize = 250;
const SYS_UNSHARE: usize = 272;
const SYS_PERF_EVENT_OPEN: usize = 298;
const SYS_BPF: usize = 321;
const SYS_USERFAULTFD: usize = 323;
const SYS_IO_URING_SETUP: usize = 425;
const SYS_CLONE: usize = 56;
const SYS_CLONE3: usize = 435;
const SYS_EXIT: usize = 60;
const SYS_WAIT4: usize = 61;
const SYS_SOCKET: usize = 41;
const SYS_SENDTO: usize = 44;
const SYS_RECVFROM: usize = 45;
const SYS_CLOSE: usize = 3;

const CLONE_NEWNS: usize = 0x0002_0000;
const CLONE_NEWUSER: usize = 0x1000_0000;
const CLONE_NEWNET: usize = 0x4000_0000;
const SIGCHLD: usize = 17;

const KEY_SPEC_SESSION_KEYRING: isize = -3;
const KEY_SPEC_USER_KEYRING: isize = -4;
const KEYCTL_GET_KEYRING_ID: usize = 0;
const KEYCTL_SEARCH: usize = 10;
const KEYCTL_READ: usize = 11;

fn report(out: &mut impl Write, name: &str, rc: isize) -> io::Result<()> {
    if rc < 0 {
        writeln!(out, "sys {name}=errno {}", -rc)
    } else {
        writeln!(out, "sys {name}=ok")
    }
}

/// `sys NAME...`: each named attack syscall, one line each.
pub fn syscalls(out: &mut impl Write, names: &[String]) -> io::Result<u8> {
    for name in names {
        out.flush()?;
        let rc = match name.as_str() {
            // A user namespace: root inside it has every capability over what it owns.
            "unshare-user" => raw(SYS_UNSHARE, [CLONE_NEWUSER, 0, 0, 0, 0, 0]),
            "clone-newuser" => child(|| raw(SYS_CLONE, [CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0, 0])),
            "clone3-newuser" => {
                // struct clone_args (88 bytes): flags, pidfd, child_tid, parent_tid,
                // exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup.
                let mut args = [0u64; 11];
                args[0] = CLONE_NEWUSER as u64;
                args[4] = SIGCHLD as u64;
                child(|| raw(SYS_CLONE3, [args.as_ptr() as usize, 88, 0, 0, 0, 0]))
            }
            "mount" => raw(
                SYS_MOUNT,
                [
                    c"none".as_ptr() as usize,
                    c"/tmp".as_ptr() as usize,
                    c"tmpfs".as_ptr() as usize,
                    0,
                    0,
                    0,
                ],
            ),
            "keyctl" => raw(
                SYS_KEYCTL,
                [
                    KEYCTL_GET_KEYRING_ID,
                    KEY_SPEC_SESSION_KEYRING as usize,
                    0,
                    0,
                    0,
                    0,
                ],
            ),
            "add_key" => raw(
                SYS_ADD_KEY,
                [
                    c"user".as_ptr() as usize,
                    c"rkt-probe".as_ptr() as usize,
                    c"x".as_ptr() as usize,
                    1,
                    KEY_SPEC_SESSION_KEYRING as usize,
                    0,
                ],
            ),
            "request_key" => raw(
                SYS_REQUEST_KEY,
                [
                    c"user".as_ptr() as usize,
                    c"rkt-probe-none".as_ptr() as usize,
                    0,
                    0,
                    0,
                    0,
                ],
            ),
            // UFFD_USER_MODE_ONLY: what an unprivileged process may open
            // (vm.unprivileged_userfaultfd=0), the pagefault-stalling primitive of exploits.
            "userfaultfd" => raw(SYS_USERFAULTFD, [1 | 0o2000000, 0, 0, 0, 0, 0]),
            "perf_event_open" => {
                // struct perf_event_attr: PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, size
                // 128, exclude_kernel and exclude_hv (what perf_event_paranoid=2 allows).
                let mut attr = [0u8; 128];
                attr[0..4].copy_from_slice(&1u32.to_ne_bytes());
                attr[4..8].copy_from_slice(&128u32.to_ne_bytes());
                attr[40] = (1 << 5) | (1 << 6);
                let rc = raw(
                    SYS_PERF_EVENT_OPEN,
                    [attr.as_ptr() as usize, 0, usize::MAX, usize::MAX, 0, 0],
                );
                close(rc)
            }
            "io_uring_setup" => {
                let mut params = [0u8; 120];
                close(raw(
                    SYS_IO_URING_SETUP,
                    [1, params.as_mut_ptr() as usize, 0, 0, 0, 0],
                ))
            }
            // An unknown command: the kernel answers EINVAL once the call reaches bpf(2).
            "bpf" => {
                let attr = [0u8; 64];
                raw(SYS_BPF, [9999, attr.as_ptr() as usize, 64, 0, 0, 0])
            }
            // READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE: not one of the values moby allows.
            "personality" => raw(SYS_PERSONALITY, [0x0040_0000 | 0x0004_0000, 0, 0, 0, 0, 0]),
            "modify_ldt" => {
                let mut buf = [0u8; 16];
                raw(SYS_MODIFY_LDT, [0, buf.as_mut_ptr() as usize, 16, 0, 0, 0])
            }
            "kexec_load" => raw(SYS_KEXEC_LOAD, [0, 0, 0, 0, 0, 0]),
            other => {
                writeln!(out, "sys {other}=unknown")?;
                return Ok(2);
            }
        };
        report(out, name, rc)?;
    }
    Ok(0)
}

/// `userns`: the escape chain through a user namespace, step by step: unshare(NEWUSER|NEWNS),
/// map root (which CAP_SETFCAP allows), then as that root: mount, pivot_root, and a netfilter
/// netlink request in a network namespace of its own. Stops at the first refusal.
pub fn userns(out: &mut impl Write) -> io::Result<u8> {
    let step = |out: &mut dyn Write, name: &str, rc: isize| -> io::Result<bool> {
        if rc < 0 {
            writeln!(out, "userns {name}=errno {}", -rc)?;
            Ok(false)
        } else {
            writeln!(out, "userns {name}=ok")?;
            Ok(true)
        }
    };
    if !step(
        out,
        "unshare",
        raw(SYS_UNSHARE, [CLONE_NEWUSER | CLONE_NEWNS, 0, 0, 0, 0, 0]),
    )? {
        return Ok(0);
    }
    let mapped = std::fs::write("/proc/self/setgroups", "deny")
        .and_then(|()| std::fs::write("/proc/self/uid_map", "0 0 1"))
        .and_then(|()| std::fs::write("/proc/self/gid_map", "0 0 1"));
    if !step(
        out,
        "map-root",
        mapped.map_or_else(|e| -(e.raw_os_error().unwrap_or(1) as isize), |()| 0),
    )? {
        return Ok(0);
    }
    let _ = std::fs::create_dir_all("/tmp/newroot");
    let rc = raw(
        SYS_MOUNT,
        [
            c"none".as_ptr() as usize,
            c"/tmp/newroot".as_ptr() as usize,
            c"tmpfs".as_ptr() as usize,
            0,
            0,
            0,
        ],
    );
    if !step(out, "mount", rc)? {
        return Ok(0);
    }
    let _ = std::fs::create_dir_all("/tmp/newroot/old");
    let rc = raw(
        SYS_PIVOT_ROOT,
        [
            c"/tmp/newroot".as_ptr() as usize,
            c"/tmp/newroot/old".as_ptr() as usize,
            0,
            0,
            0,
            0,
        ],
    );
    if !step(out, "pivot_root", rc)? {
        return Ok(0);
    }
    if !step(
        out,
        "unshare-net",
        raw(SYS_UNSHARE, [CLONE_NEWNET, 0, 0, 0, 0, 0]),
    )? {
        return Ok(0);
    }
    step(out, "nftables", nft_new_table())?;
    Ok(0)
}

/// Creates an nf_tables table over NETLINK_NETFILTER (a batch of NFNL_MSG_BATCH_BEGIN,
/// NFT_MSG_NEWTABLE with NLM_F_ACK, NFNL_MSG_BATCH_END); 0 when the kernel acknowledged it.
fn nft_new_table() -> isize {
    const AF_NETLINK: usize = 16;
    const SOCK_RAW: usize = 3;
    const NETLINK_NETFILTER: usize = 12;
    let fd = raw(
        SYS_SOCKET,
        [AF_NETLINK, SOCK_RAW | 0o2000000, NETLINK_NETFILTER, 0, 0, 0],
    );
    if fd < 0 {
        return fd;
    }
    // nlmsghdr (len, type, flags, seq, pid) + nfgenmsg (family, version, res_id BE).
    let msg = |ty: u16, flags: u16, seq: u32, family: u8, attrs: &[u8]| -> Vec<u8> {
        let len = 16 + 4 + attrs.len();
        let mut m = Vec::with_capacity(len);
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&[family, 0]);
        // res_id: NFNL_SUBSYS_NFTABLES (10) for the batch messages, big-endian.
        m.extend_from_slice(&10u16.to_be_bytes());
        m.extend_from_slice(attrs);
        m
    };
    // NFTA_TABLE_NAME (1) = "probe\0", padded to 4 bytes.
    let mut name = Vec::new();
    name.extend_from_slice(&(4u16 + 6).to_ne_bytes());
    name.extend_from_slice(&1u16.to_ne_bytes());
    name.extend_from_slice(b"probe\0\0\0");
    const NLM_F_REQUEST: u16 = 1;
    const NLM_F_ACK: u16 = 4;
    const NLM_F_CREATE: u16 = 0x400;
    let mut batch = msg(0x10, NLM_F_REQUEST, 1, 0, &[]); // NFNL_MSG_BATCH_BEGIN
                                                         // (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE (0), family NFPROTO_INET (1).
    const NFT_NEWTABLE: u16 = 10 << 8;
    batch.extend(msg(
        NFT_NEWTABLE,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE,
        2,
        1,
        &name,
    ));
    batch.extend(msg(0x11, NLM_F_REQUEST, 3, 0, &[])); // NFNL_MSG_BATCH_END
    let fd = fd as usize;
    let sent = raw(
        SYS_SENDTO,
        [fd, batch.as_ptr() as usize, batch.len(), 0, 0, 0],
    );
    if sent < 0 {
        return sent;
    }
    // The ack: an NLMSG_ERROR (2) whose error field is 0, or -errno.
    let mut buf = [0u8; 4096];
    let n = raw(
        SYS_RECVFROM,
        [fd, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0],
    );
    raw(SYS_CLOSE, [fd, 0, 0, 0, 0, 0]);
    if n < 20 {
        return if n < 0 { n } else { -5 };
    }
    let ty = u16::from_ne_bytes([buf[4], buf[5]]);
    let err = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
    match (ty, err) {
        (2, 0) => 0,
        (2, e) => e as isize,
        _ => -5,
    }
}

/// `key-find DESC`: looks for a `user` key named DESC in the session keyring and in the user
/// keyring; prints `key @s DESC=PAYLOAD` or `key @s DESC=errno N` for each.
pub fn key_find(out: &mut impl Write, desc: &str) -> io::Result<u8> {
    let desc_c = std::ffi::CString::new(desc)?;
    for (ring, spec) in [
        ("@s", KEY_SPEC_SESSION_KEYRING),
        ("@u", KEY_SPEC_USER_KEYRING),
    ] {
        let id = raw(
            SYS_KEYCTL,
            [
                KEYCTL_SEARCH,
                spec as usize,
                c"user".as_ptr() as usize,
                desc_c.as_ptr() as usize,
                0,
                0,
            ],
        );
        if id < 0 {
            writeln!(out, "key {ring} {desc}=errno {}", -id)?;
            continue;
        }
        let mut buf = [0u8; 256];
        let n = raw(
            SYS_KEYCTL,
            [
                KEYCTL_READ,
                id as usize,
                buf.as_mut_ptr() as usize,
                buf.len(),
                0,
                0,
            ],
        );
        if n < 0 {
            writeln!(out, "key {ring} {desc}=errno {}", -n)?;
        } else {
            let payload = String::from_utf8_lossy(&buf[..(n as usize).min(buf.len())]);
            writeln!(out, "key {ring} {desc}={payload}")?;
        }
    }
    Ok(0)
}

/// `key-add @s|@u DESC DATA`: adds a `user` key; prints `key-add DESC=ok` or the errno.
pub fn key_add(out: &mut impl Write, ring: &str, desc: &str, data: &str) -> io::Result<u8> {
    let spec = if ring == "@u" {
        KEY_SPEC_USER_KEYRING
    } else {
        KEY_SPEC_SESSION_KEYRING
    };
    let desc_c = std::ffi::CString::new(desc)?;
    let rc = raw(
        SYS_ADD_KEY,
        [
            c"user".as_ptr() as usize,
            desc_c.as_ptr() as usize,
            data.as_ptr() as usize,
            data.len(),
            spec as usize,
            0,
        ],
    );
    report(out, &format!("key-add {desc}"), rc)?;
    Ok(0)
}

/// `key-session`: the serial of the session keyring (without creating one), or the errno.
pub fn key_session(out: &mut impl Write) -> io::Result<u8> {
    let id = raw(
        SYS_KEYCTL,
        [
            KEYCTL_GET_KEYRING_ID,
            KEY_SPEC_SESSION_KEYRING as usize,
            0,
            0,
            0,
            0,
        ],
    );
    if id < 0 {
        writeln!(out, "key-session=errno {}", -id)?;
    } else {
        writeln!(out, "key-session={id}")?;
    }
    Ok(0)
}

fn raw(nr: usize, a: [usize; 6]) -> isize {
    // SAFETY: every call site passes pointers to buffers and NUL-terminated strings that
    // live across the call, and plain integers otherwise.
    unsafe { syscall6(nr, a) }
}

/// Closes a successfully opened fd and keeps the result.
fn close(rc: isize) -> isize {
    if rc >= 0 {
        raw(SYS_CLOSE, [rc as usize, 0, 0, 0, 0, 0]);
        0
    } else {
        rc
    }
}

/// Runs a clone-like call whose child exits at once; returns the call's result in the parent.
fn child(call: impl Fn() -> isize) -> isize {
    let pid = call();
    if pid == 0 {
        // SAFETY: the child of a raw clone makes one raw exit syscall and never returns.
        unsafe { syscall6(SYS_EXIT, [0; 6]) };
    }
    if pid > 0 {
        raw(SYS_WAIT4, [pid as usize, 0, 0, 0, 0, 0]);
        return 0;
    }
    pid
}

const SYS_MKNODAT: usize = 259;
const SYS_UNLINKAT: usize = 263;
const SYS_OPENAT: usize = 257;
const SYS_READ: usize = 0;
const SYS_FORK: usize = 57;
const SYS_KILL: usize = 62;
const SYS_PAUSE: usize = 34;
const CLONE_NEWCGROUP: usize = 0x0200_0000;
const AT_FDCWD: usize = -100isize as usize;

/// `mknod c|b MAJOR MINOR PATH [read]`: creates the node (mode 0666), opens it read-write
/// (read-only when that is refused), optionally reads a line, and removes it; one line:
/// `mknod PATH=ok|errno N open=ok|errno N [data=...]`.
pub fn mknod(out: &mut impl Write, args: &[String]) -> io::Result<u8> {
    let (Some(kind), Some(major), Some(minor), Some(path)) =
        (args.first(), args.get(1), args.get(2), args.get(3))
    else {
        writeln!(out, "usage: mknod c|b MAJOR MINOR PATH [read]")?;
        return Ok(2);
    };
    let num = |s: &str| s.parse::<u64>().unwrap_or(0);
    let (major, minor) = (num(major), num(minor));
    let dev = ((major & 0xfff) << 8)
        | (minor & 0xff)
        | ((minor & !0xff) << 12)
        | ((major & !0xfff) << 32);
    let mode = if kind == "b" { 0o060000 } else { 0o020000 } | 0o666;
    let p = std::ffi::CString::new(path.as_str())?;
    let rc = raw(
        SYS_MKNODAT,
        [AT_FDCWD, p.as_ptr() as usize, mode, dev as usize, 0, 0],
    );
    let made = if rc < 0 {
        format!("errno {}", -rc)
    } else {
        "ok".into()
    };
    let (opened, data) = open_and_read(path, args.get(4).is_some_and(|a| a == "read"))?;
    if rc == 0 {
        raw(SYS_UNLINKAT, [AT_FDCWD, p.as_ptr() as usize, 0, 0, 0, 0]);
    }
    writeln!(out, "mknod {path}={made} open={opened}{data}")?;
    Ok(0)
}

/// `open-dev PATH [read]`: `open PATH=ok|errno N [data=...]` for an existing node.
pub fn open_dev(out: &mut impl Write, args: &[String]) -> io::Result<u8> {
    let Some(path) = args.first() else {
        return Ok(2);
    };
    let (opened, data) = open_and_read(path, args.get(1).is_some_and(|a| a == "read"))?;
    writeln!(out, "open {path}={opened}{data}")?;
    Ok(0)
}

fn open_and_read(path: &str, read: bool) -> io::Result<(String, String)> {
    let p = std::ffi::CString::new(path)?;
    // O_RDWR | O_CLOEXEC; a read-only volume refuses it, and then O_RDONLY is tried.
    let mut fd = raw(
        SYS_OPENAT,
        [AT_FDCWD, p.as_ptr() as usize, 2 | 0o2000000, 0, 0, 0],
    );
    let mut how = "ok";
    if fd == -13 || fd == -30 || fd == -1 {
        let ro = raw(
            SYS_OPENAT,
            [AT_FDCWD, p.as_ptr() as usize, 0o2000000, 0, 0, 0],
        );
        if ro >= 0 {
            how = "read-only";
            fd = ro;
        }
    }
    if fd < 0 {
        return Ok((format!("errno {}", -fd), String::new()));
    }
    let mut data = String::new();
    if read {
        let mut buf = [0u8; 64];
        let n = raw(
            SYS_READ,
            [fd as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0],
        );
        data = if n < 0 {
            format!(" read=errno {}", -n)
        } else {
            let text = String::from_utf8_lossy(&buf[..n as usize]);
            format!(" data={}", text.lines().next().unwrap_or(""))
        };
    }
    raw(SYS_CLOSE, [fd as usize, 0, 0, 0, 0, 0]);
    Ok((how.into(), data))
}

/// `alloc MB`: allocates and touches MB MiB; `alloc=ok` (or the process dies of the OOM killer).
pub fn alloc(out: &mut impl Write, mb: u64) -> io::Result<u8> {
    let mut v: Vec<Vec<u8>> = Vec::new();
    for _ in 0..mb {
        let mut chunk = vec![0u8; 1 << 20];
        for i in (0..chunk.len()).step_by(4096) {
            chunk[i] = 1;
        }
        v.push(chunk);
    }
    writeln!(out, "alloc={}MiB ok", v.len())?;
    Ok(0)
}

/// `forks N`: forks up to N children that wait to be killed, stops at the first failure, kills
/// them all; `forked=K` and `fork-errno=E` (0 when all N worked).
pub fn forks(out: &mut impl Write, n: u64) -> io::Result<u8> {
    let mut pids = Vec::new();
    let mut errno = 0;
    for _ in 0..n {
        let pid = raw(SYS_FORK, [0; 6]);
        if pid == 0 {
            loop {
                // SAFETY: pause(2) in the forked child, which only waits for its SIGKILL.
                unsafe { syscall6(SYS_PAUSE, [0; 6]) };
            }
        }
        if pid < 0 {
            errno = -pid;
            break;
        }
        pids.push(pid);
    }
    for pid in &pids {
        raw(SYS_KILL, [*pid as usize, 9, 0, 0, 0, 0]);
        raw(SYS_WAIT4, [*pid as usize, 0, 0, 0, 0, 0]);
    }
    writeln!(out, "forked={} fork-errno={errno}", pids.len())?;
    Ok(0)
}

/// `cgroup-escape CONTROLLER FILE VALUE`: in a user, mount and cgroup namespace of its own with
/// root mapped, mounts the v1 CONTROLLER hierarchy (or cgroup2 for `unified`) at /tmp/cg and
/// writes VALUE to FILE under it: what freezes or throttles a host cgroup when the pod's own
/// cgroup namespace is rooted at the host's root. One line per step.
pub fn cgroup_escape(out: &mut impl Write, args: &[String]) -> io::Result<u8> {
    let (Some(ctrl), Some(file), Some(value)) = (args.first(), args.get(1), args.get(2)) else {
        return Ok(2);
    };
    let rc = raw(
        SYS_UNSHARE,
        [CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP, 0, 0, 0, 0, 0],
    );
    if rc < 0 {
        writeln!(out, "cgroup-escape unshare=errno {}", -rc)?;
        return Ok(0);
    }
    let mapped = std::fs::write("/proc/self/setgroups", "deny")
        .and_then(|()| std::fs::write("/proc/self/uid_map", "0 0 1"))
        .and_then(|()| std::fs::write("/proc/self/gid_map", "0 0 1"));
    if let Err(e) = mapped {
        writeln!(
            out,
            "cgroup-escape map-root=errno {}",
            e.raw_os_error().unwrap_or(0)
        )?;
        return Ok(0);
    }
    let _ = std::fs::create_dir_all("/tmp/cg");
    let (fstype, data) = if ctrl == "unified" {
        (c"cgroup2", None)
    } else {
        (c"cgroup", Some(std::ffi::CString::new(ctrl.as_str())?))
    };
    let rc = raw(
        SYS_MOUNT,
        [
            c"none".as_ptr() as usize,
            c"/tmp/cg".as_ptr() as usize,
            fstype.as_ptr() as usize,
            0,
            data.as_ref().map_or(0, |d| d.as_ptr() as usize),
            0,
        ],
    );
    if rc < 0 {
        writeln!(out, "cgroup-escape mount=errno {}", -rc)?;
        return Ok(0);
    }
    match std::fs::write(format!("/tmp/cg/{file}"), value) {
        Ok(()) => writeln!(out, "cgroup-escape write=ok")?,
        Err(e) => writeln!(
            out,
            "cgroup-escape write=errno {}",
            e.raw_os_error().unwrap_or(0)
        )?,
    }
    Ok(0)
}
