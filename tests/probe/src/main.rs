//! `probe`: a tiny static payload that prints what a pod looks like from inside.
//!
//! One fact per line, `key=value` or `key value` where that reads better, so tests assert with
//! a plain `contains`. Several subcommands can be chained with `+`: `probe hostname + pid`.
//! It uses std only (no crates), plus three raw x86_64 syscalls that std does not expose
//! (fork, wait4, kill), so it builds static with `cargo --config musl.toml build -p probe`.
//!
//! Subcommands: `true`, `exit N`, `kill-self SIG`, `pid`, `hostname`, `mounts`, `env`, `id`,
//! `caps`, `signals`, `cwd`, `fds`, `orphans N`, `zombies`, `write PATH DATA`, `cat PATH`, `open-write PATH`,
//! `ls PATH`, `sleep SECS`, `wait-file PATH`, `tty`, `readline`, `tiocsti FD TEXT`,
//! `try-write PATH...`, `sys NAME...`, `userns`, `key-find DESC`,
//! `key-add RING DESC DATA`, `key-session`, `lines N out|err|both [TAG]`, `isatty`, `mknod c|b MAJ MIN PATH [read]`, `open-dev PATH
//! [read]`, `alloc MB`, `forks N`, `cgroup-escape CONTROLLER FILE VALUE` (see `attack`),
//! `steal-input FD`, `hunt GO DONE [PID]`, `exe-append PID MARK`, `exec PATH [ARGS...]` (see
//! `terminal`), `serve ADDR:PORT`, `raw-udp IFACE SRC DST PORT DATA` (see `net`).

mod attack;
mod net;
mod terminal;

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How long `wait-file` and `orphans` wait for their condition before failing: generous, since
/// a loaded machine is slow, never wrong (the tests' own deadlines bound the whole run).
const WAIT: Duration = Duration::from_secs(90);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprintln!("usage: probe CMD [ARGS] [+ CMD [ARGS]]...");
        return ExitCode::from(2);
    }
    for cmd in args.split(|a| a == "+") {
        let out = io::stdout();
        let mut out = out.lock();
        let code = match run(cmd, &mut out) {
            Ok(code) => code,
            Err(e) => {
                let _ = writeln!(out, "error={e}");
                1
            }
        };
        let _ = out.flush();
        if code != 0 {
            return ExitCode::from(code);
        }
    }
    ExitCode::SUCCESS
}

fn run(cmd: &[String], out: &mut impl Write) -> io::Result<u8> {
    let arg = |i: usize| -> io::Result<&str> {
        cmd.get(i)
            .map(String::as_str)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "missing argument"))
    };
    let num = |i: usize| -> io::Result<u64> {
        arg(i)?
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "not a number"))
    };
    match arg(0)? {
        "true" => {}
        "exit" => return Ok(num(1)? as u8),
        "kill-self" => {
            out.flush()?;
            let pid = std::process::id() as usize;
            // SAFETY: kill(2) with plain integer arguments touches no memory.
            let rc = unsafe { syscall(SYS_KILL, pid, num(1)? as usize, 0) };
            writeln!(out, "kill returned {rc}")?;
            return Ok(1);
        }
        "pid" => {
            writeln!(out, "pid={}", std::process::id())?;
            writeln!(out, "ppid={}", std::os::unix::process::parent_id())?;
        }
        "hostname" => {
            let h = std::fs::read_to_string("/proc/sys/kernel/hostname")?;
            writeln!(out, "hostname={}", h.trim_end())?;
        }
        "mounts" => out.write_all(&std::fs::read("/proc/self/mountinfo")?)?,
        "env" => {
            for (k, v) in std::env::vars_os() {
                writeln!(out, "env {}={}", k.to_string_lossy(), v.to_string_lossy())?;
            }
        }
        "id" | "caps" | "signals" => {
            let status = std::fs::read_to_string("/proc/self/status")?;
            let keys: &[&str] = match arg(0)? {
                "id" => &["Uid", "Gid", "Groups"],
                "caps" => &[
                    "CapInh",
                    "CapPrm",
                    "CapEff",
                    "CapBnd",
                    "CapAmb",
                    "NoNewPrivs",
                    "Seccomp",
                    "Seccomp_filters",
                ],
                _ => &["SigBlk", "SigIgn"],
            };
            for line in status.lines() {
                if let Some((k, v)) = line.split_once(':') {
                    if keys.contains(&k) {
                        writeln!(
                            out,
                            "{}={}",
                            k.to_lowercase(),
                            v.split_whitespace().collect::<Vec<_>>().join(" ")
                        )?;
                    }
                }
            }
        }
        "cwd" => writeln!(out, "cwd={}", std::env::current_dir()?.display())?,
        "fds" => fds(out)?,
        "orphans" => {
            let n = num(1)?;
            orphans(n)?;
            // PID 1 reaps what was reparented to it: wait until it has (or until `WAIT` has
            // passed, and then report what is left), never a fixed time.
            let deadline = Instant::now() + WAIT;
            let mut left = zombies()?;
            while left > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
                left = zombies()?;
            }
            writeln!(out, "orphaned={n}")?;
            writeln!(out, "zombies={left}")?;
        }
        "zombies" => writeln!(out, "zombies={}", zombies()?)?,
        "write" => {
            std::fs::write(arg(1)?, arg(2)?)?;
            writeln!(out, "wrote {}", arg(1)?)?;
        }
        "mds-get" | "mds-sign" => {
            // The metadata service from inside a pod: `mds-get ROUTE`, `mds-sign CONTENT`.
            let url = std::env::var("AC_METADATA_URL")
                .map_err(|_| io::Error::other("AC_METADATA_URL is not set"))?;
            let rest = url
                .strip_prefix("http://")
                .ok_or_else(|| io::Error::other("AC_METADATA_URL is not http://"))?;
            let (host, token) = rest.split_once('/').unwrap_or((rest, ""));
            let request = if arg(0)? == "mds-get" {
                format!(
                    "GET /{token}/acMetadata/v1/{} HTTP/1.1\r\nHost: {host}\r\n\r\n",
                    arg(1)?
                )
            } else {
                let form = format!("content={}", arg(1)?);
                format!(
                    "POST /{token}/acMetadata/v1/pod/hmac/sign HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
                    form.len()
                )
            };
            let mut c = std::net::TcpStream::connect(host)?;
            c.write_all(request.as_bytes())?;
            let mut reply = String::new();
            c.read_to_string(&mut reply)?;
            let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
            let status = head.split_whitespace().nth(1).unwrap_or("?");
            writeln!(out, "mds {status} {body}")?;
        }
        "stat" => {
            use std::os::unix::fs::{FileTypeExt, PermissionsExt};
            let m = std::fs::symlink_metadata(arg(1)?)?;
            let t = m.file_type();
            let kind = if t.is_dir() {
                "dir"
            } else if t.is_file() {
                "file"
            } else if t.is_symlink() {
                "symlink"
            } else if t.is_char_device() {
                "char"
            } else if t.is_block_device() {
                "block"
            } else {
                "other"
            };
            writeln!(
                out,
                "stat {} {kind} {:o}",
                arg(1)?,
                m.permissions().mode() & 0o7777
            )?;
        }
        "ns" => {
            let link = std::fs::read_link(format!("/proc/self/ns/{}", arg(1)?))?;
            writeln!(out, "ns {}", link.display())?;
        }
        "append" => {
            use std::io::Write as _;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(arg(1)?)?;
            writeln!(f, "{}", arg(2)?)?;
        }
        "cat" => out.write_all(&std::fs::read(arg(1)?)?)?,
        "tcp" => {
            // Connects to ADDR:PORT, sends "ping", prints the reply or the errno.
            let addr: std::net::SocketAddr = arg(1)?
                .parse()
                .map_err(|e| io::Error::other(format!("tcp address: {e}")))?;
            let reply = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .and_then(|mut c| {
                    c.set_read_timeout(Some(Duration::from_secs(5)))?;
                    c.write_all(b"ping")?;
                    let mut buf = [0u8; 16];
                    let n = c.read(&mut buf)?;
                    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
                });
            match reply {
                Ok(r) => writeln!(out, "tcp {addr}={r}")?,
                Err(e) => writeln!(out, "tcp {addr} errno={}", e.raw_os_error().unwrap_or(0))?,
            }
        }
        "serve" => return net::serve(out, arg(1)?),
        "raw-udp" => return net::raw_udp(out, &cmd[1..]),
        "open-write" => match std::fs::OpenOptions::new().write(true).open(arg(1)?) {
            Ok(_) => writeln!(out, "open-write ok")?,
            Err(e) => writeln!(
                out,
                "open-write errno={} ({e})",
                e.raw_os_error().unwrap_or(0)
            )?,
        },
        "ls" => {
            let mut names: Vec<String> = std::fs::read_dir(arg(1)?)?
                .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect::<io::Result<_>>()?;
            names.sort();
            for n in names {
                writeln!(out, "{n}")?;
            }
        }
        "ignore-term" => {
            // struct kernel_sigaction: handler SIG_IGN (1), flags, restorer, mask.
            let act: [usize; 4] = [1, 0, 0, 0];
            // SAFETY: rt_sigaction(SIGTERM, &act, NULL, sizeof(sigset_t)) reads `act`, which
            // lives across the call, and writes nothing.
            let rc = unsafe { syscall4(SYS_RT_SIGACTION, 15, act.as_ptr() as usize, 0, 8) };
            writeln!(out, "ignore-term returned {rc}")?;
        }
        "sleep" => {
            std::thread::sleep(Duration::from_secs_f64(arg(1)?.parse().map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "not a number")
            })?))
        }
        "wait-file" => {
            // Until PATH exists with some content (`write` creates the file before filling
            // it): a condition another app or the test makes true, for ordering without sleeps.
            let path = arg(1)?;
            let deadline = Instant::now() + WAIT;
            while !std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
                if Instant::now() >= deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no {path} after {} s", WAIT.as_secs()),
                    ));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        "tty" => tty_info(out)?,
        "lines" => {
            // `lines N out|err|both [TAG]`: N numbered lines, one write(2) each, to stdout,
            // stderr, or alternately to both.
            let n = num(1)?;
            let to = arg(2)?;
            let tag = cmd.get(3).map_or(String::new(), |t| format!("{t} "));
            out.flush()?;
            let mut stderr = io::stderr();
            for i in 0..n {
                let on_err = to == "err" || (to == "both" && i % 2 == 1);
                let stream = if on_err { "err" } else { "out" };
                let line = format!("{tag}{stream} line {i:08}\n");
                if on_err {
                    stderr.write_all(line.as_bytes())?;
                } else {
                    out.write_all(line.as_bytes())?;
                    out.flush()?;
                }
            }
        }
        "isatty" => {
            for fd in 0..3 {
                let mut ws = [0u16; 4];
                // SAFETY: TIOCGWINSZ writes one struct winsize into `ws`.
                let rc = unsafe { syscall(SYS_IOCTL, fd, TIOCGWINSZ, ws.as_mut_ptr() as usize) };
                writeln!(out, "isatty {fd}={}", rc == 0)?;
            }
        }
        "sys" => return attack::syscalls(out, &cmd[1..]),
        "userns" => return attack::userns(out),
        "key-find" => return attack::key_find(out, arg(1)?),
        "key-add" => return attack::key_add(out, arg(1)?, arg(2)?, arg(3)?),
        "key-session" => return attack::key_session(out),
        "mknod" => return attack::mknod(out, &cmd[1..]),
        "open-dev" => return attack::open_dev(out, &cmd[1..]),
        "alloc" => return attack::alloc(out, num(1)?),
        "forks" => return attack::forks(out, num(1)?),
        "cgroup-escape" => return attack::cgroup_escape(out, &cmd[1..]),
        "readline" => {
            let mut line = String::new();
            io::stdin().read_line(&mut line)?;
            writeln!(out, "got={}", line.trim_end_matches(['\r', '\n']))?;
        }
        "tiocsti" => tiocsti(out, num(1)? as usize, arg(2)?)?,
        "steal-input" => return terminal::steal_input(out, arg(1)?),
        "hunt" => return terminal::hunt(out, arg(1)?, arg(2)?, cmd.get(3).map(String::as_str)),
        "exe-append" => return terminal::exe_append(out, arg(1)?, arg(2)?),
        "exec" => return terminal::exec(&cmd[1..]),
        "try-write" => {
            // Never fails: a racing test wants every outcome, one line per path.
            for path in &cmd[1..] {
                match std::fs::write(path, "w") {
                    Ok(()) => writeln!(out, "try-write {path} ok")?,
                    Err(e) => writeln!(
                        out,
                        "try-write {path} errno {}",
                        e.raw_os_error().unwrap_or(0)
                    )?,
                }
            }
        }
        other => {
            writeln!(out, "unknown subcommand {other:?}")?;
            return Ok(2);
        }
    }
    Ok(0)
}

/// Open fds, one `fd N -> TARGET` line each, without the one read_dir itself holds.
fn fds(out: &mut impl Write) -> io::Result<()> {
    let mut entries = Vec::new();
    for e in std::fs::read_dir("/proc/self/fd")? {
        let e = e?;
        let target = std::fs::read_link(e.path()).unwrap_or_default();
        entries.push((e.file_name().to_string_lossy().into_owned(), target));
    }
    let own = format!("/proc/{}/fd", std::process::id());
    for (fd, target) in entries {
        if target.as_os_str() != own.as_str() {
            writeln!(out, "fd {fd} -> {}", target.display())?;
        }
    }
    Ok(())
}

/// Forks `n` children that each fork a grandchild and exit at once: the grandchildren are
/// reparented to PID 1 and stay zombies until it reaps them.
fn orphans(n: u64) -> io::Result<()> {
    for _ in 0..n {
        // SAFETY: a raw fork; the child only makes raw syscalls (fork, exit_group) and never
        // returns into Rust code, so std's state in the copy is never touched.
        let pid = unsafe { syscall(SYS_FORK, 0, 0, 0) };
        if pid < 0 {
            return Err(io::Error::from_raw_os_error(-pid as i32));
        }
        if pid == 0 {
            // SAFETY: as above; exit_group never returns.
            unsafe {
                let grandchild = syscall(SYS_FORK, 0, 0, 0);
                if grandchild == 0 {
                    // Live a little, so some are still running when the child is gone.
                    syscall(SYS_EXIT_GROUP, 0, 0, 0);
                }
                syscall(SYS_EXIT_GROUP, 0, 0, 0);
            }
        }
        // SAFETY: wait4 with a null status and rusage pointer writes nothing.
        unsafe { syscall(SYS_WAIT4, pid as usize, 0, 0) };
    }
    Ok(())
}

/// Processes in state Z visible in /proc (the whole pod, since /proc is the pod's).
fn zombies() -> io::Result<usize> {
    let mut count = 0;
    for e in std::fs::read_dir("/proc")? {
        let path = e?.path().join("stat");
        if let Ok(stat) = std::fs::read_to_string(path) {
            // The state follows the ")" that closes the command name.
            if stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'))
            {
                count += 1;
            }
        }
    }
    Ok(count)
}

/// `tty`: what terminal fd 0 is, for `run --interactive` tests: `isatty=`, `ttyname=`,
/// `tty_dev=` (the device of the devpts holding it: compared with the host's by the test),
/// `same_devpts=` (the one mounted on this pod's /dev/pts), `ctty=` (it is the controlling
/// terminal), `tty_rdev=` and `console_rdev=` (MAJOR:MINOR of fd 0 and /dev/console),
/// `winsize=ROWSxCOLS`.
fn tty_info(out: &mut impl Write) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let mut ws = [0u16; 4];
    // SAFETY: TIOCGWINSZ writes one struct winsize (four u16) into `ws`.
    let rc = unsafe { syscall(SYS_IOCTL, 0, TIOCGWINSZ, ws.as_mut_ptr() as usize) };
    writeln!(out, "isatty={}", rc == 0)?;
    let name = std::fs::read_link("/proc/self/fd/0").unwrap_or_default();
    writeln!(out, "ttyname={}", name.display())?;
    let fd0 = std::fs::metadata("/proc/self/fd/0")?;
    writeln!(out, "tty_dev={}", fd0.dev())?;
    let pts = std::fs::metadata("/dev/pts/ptmx").map(|m| m.dev()).ok();
    writeln!(out, "same_devpts={}", pts == Some(fd0.dev()))?;
    // /proc/self/stat field 7 is tty_nr, the controlling terminal's device number.
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let after_comm = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    let tty_nr: u64 = after_comm
        .split_whitespace()
        .nth(4)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0);
    writeln!(out, "ctty={}", tty_nr != 0 && tty_nr == fd0.rdev())?;
    writeln!(out, "tty_rdev={}", major_minor(fd0.rdev()))?;
    let console = std::fs::metadata("/dev/console").map(|m| m.rdev());
    writeln!(
        out,
        "console_rdev={}",
        console.map_or("none".into(), major_minor)
    )?;
    if rc == 0 {
        writeln!(out, "winsize={}x{}", ws[0], ws[1])?;
    }
    Ok(())
}

/// Linux's `dev_t` encoding (`MAJOR`/`MINOR` in glibc's sys/sysmacros.h).
fn major_minor(dev: u64) -> String {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    format!("{major}:{minor}")
}

/// `tiocsti FD TEXT`: pushes TEXT into the input of the terminal on FD, one byte per
/// `ioctl(FD, TIOCSTI)`, as an attacker would (CVE-2016-9016); prints `tiocsti=ok` or
/// `tiocsti=errno N`.
fn tiocsti(out: &mut impl Write, fd: usize, text: &str) -> io::Result<()> {
    for b in text.bytes() {
        // SAFETY: TIOCSTI reads one byte from the pointer, which points at `b`.
        let rc = unsafe { syscall(SYS_IOCTL, fd, TIOCSTI, &b as *const u8 as usize) };
        if rc < 0 {
            writeln!(out, "tiocsti=errno {}", -rc)?;
            return Ok(());
        }
    }
    writeln!(out, "tiocsti=ok")?;
    Ok(())
}

const SYS_IOCTL: usize = 16;
const TIOCSTI: usize = 0x5412;
const TIOCGWINSZ: usize = 0x5413;
const SYS_FORK: usize = 57;
const SYS_EXIT_GROUP: usize = 231;
const SYS_WAIT4: usize = 61;
const SYS_KILL: usize = 62;
const SYS_RT_SIGACTION: usize = 13;

/// [`syscall`] with a fourth argument (in r10).
///
/// # Safety
///
/// The caller must pass arguments that are valid for syscall `nr`.
unsafe fn syscall4(nr: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    let ret: isize;
    // SAFETY: as in `syscall`, with r10 carrying the fourth argument.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a1,
            in("rsi") a2,
            in("rdx") a3,
            in("r10") a4,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

/// A raw x86_64 Linux syscall with up to three arguments; returns -errno on failure.
///
/// # Safety
///
/// The caller must pass arguments that are valid for syscall `nr`.
unsafe fn syscall(nr: usize, a1: usize, a2: usize, a3: usize) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 syscall ABI: rax = number, rdi/rsi/rdx = arguments, rcx and r11
    // clobbered; the caller vouches for the arguments. (wait4's 4th arg r10 is left as is; we
    // zero it.)
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a1,
            in("rsi") a2,
            in("rdx") a3,
            in("r10") 0usize,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}
