//! host-local addresses: one file per leased address under `<data>/networks/<name>/`, holding
//! the pod's UUID, created and removed under an flock of that directory's `lock` file, so
//! that pods starting at once get distinct addresses. The lowest free address is taken, so a
//! lease freed by `rm`/`gc` is the next one handed out.

use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::{io_err, plan, Builtin, Error};
use crate::sys::lock::{Blocking, FileLock, LockKind};

pub(crate) struct Leases {
    dir: PathBuf,
    net: &'static Builtin,
}

impl Leases {
    pub(crate) fn new(dir: PathBuf, net: &'static Builtin) -> Leases {
        Leases { dir, net }
    }

    fn lock(&self) -> Result<FileLock, Error> {
        std::fs::create_dir_all(&self.dir).map_err(io_err("create", &self.dir))?;
        let path = self.dir.join("lock");
        FileLock::create(&path, LockKind::Exclusive, Blocking::Wait).map_err(io_err("lock", &path))
    }

    /// Leases `requested` (CNI_ARGS `IP=`), or else the lowest free address that is not in
    /// `skip`; `record` is called with the lease's path before the lease is created.
    pub(crate) fn allocate(
        &self,
        uuid: &str,
        requested: Option<Ipv4Addr>,
        skip: &[Ipv4Addr],
        record: impl FnOnce(&Path) -> Result<(), Error>,
    ) -> Result<Ipv4Addr, Error> {
        let _lock = self.lock()?;
        let first = u32::from(plan::gateway(self.net)) + 1;
        let broadcast = u32::from(self.net.subnet) | !u32::from(plan::mask(self.net.prefix));
        let free = |ip: &Ipv4Addr| !skip.contains(ip) && !self.dir.join(ip.to_string()).exists();
        let ip = match requested {
            Some(ip) if (first..broadcast).contains(&u32::from(ip)) && free(&ip) => ip,
            Some(ip) => {
                return Err(Error::Unavailable {
                    ip,
                    net: self.net.name,
                })
            }
            None => (first..broadcast)
                .map(Ipv4Addr::from)
                .find(free)
                .ok_or(Error::Exhausted(self.net.name))?,
        };
        let path = self.dir.join(ip.to_string());
        record(&path)?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err("create", &path))?;
        f.write_all(uuid.as_bytes())
            .map_err(io_err("write", &path))?;
        Ok(ip)
    }

    /// Frees every lease of `uuid` in this network.
    pub(crate) fn release(&self, uuid: &str) -> Result<(), Error> {
        let _lock = self.lock()?;
        let entries = std::fs::read_dir(&self.dir).map_err(io_err("read", &self.dir))?;
        for entry in entries {
            let path = entry.map_err(io_err("read", &self.dir))?.path();
            if path.file_name().is_some_and(|n| n != "lock") {
                remove_if_owned(&path, uuid)?;
            }
        }
        Ok(())
    }
}

/// Frees one lease file if `uuid` holds it (under its directory's lock).
pub(crate) fn release_file(lease: &Path, uuid: &str) -> Result<(), Error> {
    let Some(dir) = lease.parent() else {
        return Ok(());
    };
    let lock = dir.join("lock");
    let _lock = match FileLock::open(&lock, LockKind::Exclusive, Blocking::Wait) {
        Ok(l) => l,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("lock", &lock)(e)),
    };
    remove_if_owned(lease, uuid)
}

fn remove_if_owned(lease: &Path, uuid: &str) -> Result<(), Error> {
    match std::fs::read_to_string(lease) {
        Ok(owner) if owner.trim() == uuid => {
            std::fs::remove_file(lease).map_err(io_err("remove", lease))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("read", lease)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::DEFAULT_RESTRICTED;

    fn leases(tmp: &Path) -> Leases {
        Leases::new(tmp.join("networks/default-restricted"), &DEFAULT_RESTRICTED)
    }

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rkt-ipam-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn lowest_free_first_skips_and_reuses_after_release() {
        let d = tmpdir("seq");
        let l = leases(&d);
        let mut recorded = Vec::new();
        let mut take = |uuid: &str, skip: &[Ipv4Addr]| {
            l.allocate(uuid, None, skip, |p| {
                recorded.push(p.to_path_buf());
                Ok(())
            })
            .unwrap()
        };
        assert_eq!(take("a", &[]), Ipv4Addr::new(172, 31, 0, 2));
        assert_eq!(take("b", &[]), Ipv4Addr::new(172, 31, 0, 3));
        assert_eq!(
            take("c", &[Ipv4Addr::new(172, 31, 0, 4)]),
            Ipv4Addr::new(172, 31, 0, 5)
        );
        assert_eq!(recorded[0], l.dir.join("172.31.0.2"));
        l.release("a").unwrap();
        assert!(!l.dir.join("172.31.0.2").exists());
        assert!(l.dir.join("172.31.0.3").exists(), "b's lease is b's");
        release_file(&l.dir.join("172.31.0.3"), "not-b").unwrap();
        assert!(
            l.dir.join("172.31.0.3").exists(),
            "only the owner frees a lease"
        );
        assert_eq!(
            l.allocate("d", None, &[], |_| Ok(())).unwrap(),
            Ipv4Addr::new(172, 31, 0, 2),
            "a freed lease is the next one out"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn concurrent_allocations_are_distinct() {
        let d = tmpdir("par");
        let ips: Vec<Ipv4Addr> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|i| {
                    let d = &d;
                    s.spawn(move || {
                        (0..8)
                            .map(|j| {
                                leases(d)
                                    .allocate(&format!("pod-{i}-{j}"), None, &[], |_| Ok(()))
                                    .unwrap()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut unique = ips.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ips.len(), "{ips:?}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_failed_record_creates_no_lease() {
        let d = tmpdir("rec");
        let l = leases(&d);
        let e = l.allocate("a", None, &[], |p| {
            Err(Error::Io {
                op: "write",
                path: p.to_path_buf(),
                source: io::Error::other("full"),
            })
        });
        assert!(e.is_err());
        assert!(!l.dir.join("172.31.0.2").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_requested_address_is_leased_only_when_free_and_in_the_subnet() {
        let d = tmpdir("req");
        let l = leases(&d);
        let want = Ipv4Addr::new(172, 31, 9, 9);
        assert_eq!(l.allocate("a", Some(want), &[], |_| Ok(())).unwrap(), want);
        for ip in [
            want,
            Ipv4Addr::new(172, 31, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
        ] {
            let e = l.allocate("b", Some(ip), &[], |_| Ok(())).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "requested IP address \"{ip}\" is not available in network: default-restricted"
                )
            );
        }
        std::fs::remove_dir_all(&d).unwrap();
    }
}
