//! Carrying out a pod's cgroup plan (`cgroup::Op`s) on the cgroup filesystems, and removing a
//! pod's cgroups. Only `mkdir`, one-shot writes of knob files, `rmdir` and, for cgroup v2's
//! device policy, `bpf(2)`.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cgroup::{device_program, DeviceRule, Op};

/// A failed step: what was done to which path.
#[derive(Debug)]
pub(crate) struct Error {
    pub(crate) op: &'static str,
    pub(crate) path: PathBuf,
    pub(crate) source: io::Error,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} `{}`", self.op, self.path.display())?;
        if self.source.raw_os_error() == Some(libc::EBUSY) && self.op == "write" {
            // cgroup v2's "no internal processes" rule (cgroups(7)).
            f.write_str(" (a cgroup holding processes cannot enable controllers for children: run rkt in a cgroup of its own, e.g. a systemd unit with Delegate=yes)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error { op, path, source }
}

/// Applies the ops in order; stops at the first failure. A shared parent (`rkt/`) that
/// another pod's removal took between our mkdir and our first write (it was empty then) is
/// made again, and the ops are applied again from the start: the pod's own cgroups that the
/// earlier attempt made, in the hierarchies before the one that failed, are then ours.
pub(crate) fn apply(ops: &[Op]) -> Result<(), Error> {
    const ATTEMPTS: usize = 5;
    for attempt in 1.. {
        match apply_once(ops, attempt > 1) {
            Err(e) if e.source.kind() == io::ErrorKind::NotFound && attempt < ATTEMPTS => {}
            other => return other,
        }
    }
    unreachable!("the loop returns")
}

fn apply_once(ops: &[Op], again: bool) -> Result<(), Error> {
    for op in ops {
        match op {
            Op::Mkdir { dir, shared } => match std::fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if (*shared || again) && e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(err("create cgroup", dir)(e)),
            },
            Op::CopyFromParent(file) => {
                let parent = file
                    .parent()
                    .and_then(Path::parent)
                    .zip(file.file_name())
                    .map(|(p, n)| p.join(n))
                    .unwrap_or_default();
                let value = std::fs::read_to_string(&parent).map_err(err("read", &parent))?;
                write_knob(file, value.trim())?;
            }
            Op::Write { file, value } => write_knob(file, value)?,
            Op::WriteIfPresent { file, value } => match write_knob(file, value) {
                Err(e) if e.source.kind() == io::ErrorKind::NotFound => {}
                other => other?,
            },
            Op::DeviceProgram { dir, rules } => attach_device_program(dir, rules)?,
        }
    }
    Ok(())
}

/// One `write(2)` of the whole value: a cgroup knob takes its value from a single write.
fn write_knob(file: &Path, value: &str) -> Result<(), Error> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .map_err(err("open", file))?;
    f.write_all(value.as_bytes()).map_err(err("write", file))
}

/// Removes a pod's cgroups: `owned` deepest first (the reverse of creation), then each of
/// `bases` if no other pod uses it. A cgroup whose last process is still exiting is busy for
/// a moment; it is retried for a short while. A cgroup already gone is fine.
pub(crate) fn remove(owned: &[PathBuf], bases: &[PathBuf]) -> Result<(), Error> {
    for dir in owned.iter().rev() {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match std::fs::remove_dir(dir) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(err("remove cgroup", dir)(e)),
            }
        }
    }
    for base in bases {
        // Busy, not empty, or gone: another pod's, or already removed.
        let _ = std::fs::remove_dir(base);
    }
    Ok(())
}

/// Writes "0" (the writing process) to each `cgroup.procs` in `procs`: opened here, in the
/// caller's mount namespace, for a child to write after fork ([`join_with`]).
pub(crate) fn open_procs(procs: &[PathBuf]) -> Result<Vec<OwnedFd>, Error> {
    procs
        .iter()
        .map(|p| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(p)
                .map(OwnedFd::from)
                .map_err(err("open", p))
        })
        .collect()
}

/// In a forked child (async-signal-safe: raw writes on open fds): moves the calling process
/// into each cgroup whose `cgroup.procs` fd is given.
pub(crate) fn join_with(fds: &[i32]) -> io::Result<()> {
    for fd in fds {
        // SAFETY: write(2) of two bytes from a static buffer to an fd the caller owns.
        if unsafe { libc::write(*fd, b"0".as_ptr().cast(), 1) } != 1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

// bpf(2) (linux/bpf.h).
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Programs of the parent cgroups run too, and all must allow.
const BPF_F_ALLOW_MULTI: u32 = 2;

/// Loads the device program for `rules` and attaches it to the cgroup v2 directory `dir`. The
/// attachment holds the program: its fd is closed here, and it goes with the cgroup.
fn attach_device_program(dir: &Path, rules: &[DeviceRule]) -> Result<(), Error> {
    // struct bpf_insn { u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm; }, little-endian
    // bitfield order (x86_64, aarch64 and armv7 as rkt builds them).
    let insns: Vec<u64> = device_program(rules)
        .into_iter()
        .map(|(code, dst, src, off, imm)| {
            let mut b = [0u8; 8];
            b[0] = code;
            b[1] = (dst & 0xf) | (src << 4);
            b[2..4].copy_from_slice(&off.to_le_bytes());
            b[4..8].copy_from_slice(&imm.to_le_bytes());
            u64::from_le_bytes(b)
        })
        .collect();
    let license = c"Apache-2.0";
    // union bpf_attr for BPF_PROG_LOAD: prog_type (0), insn_cnt (4), insns (8), license (16),
    // ..., expected_attach_type (68). The rest stays zero.
    let mut attr = [0u8; 128];
    attr[0..4].copy_from_slice(&BPF_PROG_TYPE_CGROUP_DEVICE.to_ne_bytes());
    attr[4..8].copy_from_slice(&(insns.len() as u32).to_ne_bytes());
    attr[8..16].copy_from_slice(&(insns.as_ptr() as u64).to_ne_bytes());
    attr[16..24].copy_from_slice(&(license.as_ptr() as u64).to_ne_bytes());
    attr[68..72].copy_from_slice(&BPF_CGROUP_DEVICE.to_ne_bytes());
    // SAFETY: bpf(BPF_PROG_LOAD) reads `attr` and the instructions and license it points to,
    // all alive across the call; it returns a new fd or -1.
    let prog = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            attr.as_ptr(),
            attr.len() as libc::c_uint,
        )
    };
    if prog < 0 {
        return Err(err("load the device program for", dir)(
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: a new fd the kernel just returned, owned here.
    let prog = unsafe { OwnedFd::from_raw_fd(prog as i32) };
    let cg = std::fs::File::open(dir).map_err(err("open", dir))?;
    // For BPF_PROG_ATTACH: target_fd (0), attach_bpf_fd (4), attach_type (8), attach_flags (12).
    let mut attr = [0u8; 128];
    attr[0..4].copy_from_slice(&(cg.as_raw_fd() as u32).to_ne_bytes());
    attr[4..8].copy_from_slice(&(prog.as_raw_fd() as u32).to_ne_bytes());
    attr[8..12].copy_from_slice(&BPF_CGROUP_DEVICE.to_ne_bytes());
    attr[12..16].copy_from_slice(&BPF_F_ALLOW_MULTI.to_ne_bytes());
    // SAFETY: bpf(BPF_PROG_ATTACH) reads `attr`, which holds two open fds.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            attr.as_ptr(),
            attr.len() as libc::c_uint,
        )
    };
    if rc != 0 {
        return Err(err("attach the device program to", dir)(
            io::Error::last_os_error(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A retry (after a shared parent vanished in a later hierarchy) finds the pod's own
    /// cgroups of the earlier hierarchies made by the first attempt: they are its own.
    #[test]
    fn a_retry_takes_the_pods_own_cgroups_made_by_the_first_attempt() {
        let base = std::env::temp_dir().join(format!("rkt-cg-retry-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let ops = [
            Op::Mkdir {
                dir: base.join("rkt"),
                shared: true,
            },
            Op::Mkdir {
                dir: base.join("rkt/pod"),
                shared: false,
            },
        ];
        apply_once(&ops, false).unwrap();
        let again = apply_once(&ops, false).unwrap_err();
        assert_eq!(again.source.kind(), io::ErrorKind::AlreadyExists);
        apply_once(&ops, true).unwrap();
        std::fs::remove_dir_all(&base).unwrap();
    }
}
