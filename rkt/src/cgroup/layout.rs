//! Which cgroup hierarchies this host has, and where rkt's own process sits in each.
//!
//! Read from `/proc/self/mountinfo` (every `cgroup` and `cgroup2` mount) and
//! `/proc/self/cgroup` (`ID:controllers:path`, `0::path` for v2). This covers the three
//! layouts: unified (`/sys/fs/cgroup` is cgroup2), hybrid (v1 controllers, cgroup2 at
//! `/sys/fs/cgroup/unified`, often with no controller of its own) and legacy (v1 only), plus
//! hosts with none at all (an initramfs).

use std::path::{Path, PathBuf};

/// One hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    /// Where it is mounted (host view), showing the hierarchy from its root.
    pub(crate) mount: PathBuf,
    pub(crate) version: Version,
    /// rkt's cgroup in it, absolute within the hierarchy (`/`, `/process_api/x`).
    pub(crate) own: String,
    /// Its mount point relative to `/sys/fs/cgroup` (`cpu`, `unified`; empty for
    /// `/sys/fs/cgroup` itself), when it is mounted there: where apps see it too.
    pub(crate) under_sys_fs_cgroup: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Version {
    /// The controllers bound to it (`cpu`, `cpuacct`; `name=systemd` for a named one).
    V1 { controllers: Vec<String> },
    /// The controllers available to rkt's cgroup (its `cgroup.controllers`).
    V2 { available: Vec<String> },
}

/// Every hierarchy rkt can put pods in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Layout {
    pub(crate) hierarchies: Vec<Hierarchy>,
}

/// Mount options of v1 cgroup mounts that are not controllers.
const NOT_CONTROLLERS: &[&str] = &[
    "rw",
    "ro",
    "noprefix",
    "xattr",
    "clone_children",
    "cpuset_v2_mode",
    "favordynmods",
];

impl Layout {
    /// This host's, from `/proc/self/mountinfo`, `/proc/self/cgroup` and each v2 hierarchy's
    /// `cgroup.controllers`. A host without `/proc/self/cgroup` (no cgroup support) has none.
    pub(crate) fn detect() -> Layout {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        Layout::parse(
            &read("/proc/self/mountinfo"),
            &read("/proc/self/cgroup"),
            |dir| std::fs::read_to_string(dir.join("cgroup.controllers")).ok(),
        )
    }

    /// The layout from the two files' contents; `controllers` reads a v2 cgroup's
    /// `cgroup.controllers`.
    pub(crate) fn parse(
        mountinfo: &str,
        proc_cgroup: &str,
        controllers: impl Fn(&Path) -> Option<String>,
    ) -> Layout {
        let mut hierarchies: Vec<Hierarchy> = Vec::new();
        let lines: Vec<&str> = mountinfo.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            let (Some(root), Some(mount), Some(fstype), Some(opts)) =
                (l.get(3), l.get(4), r.first(), r.get(2))
            else {
                continue;
            };
            let mount = PathBuf::from(unescape(mount));
            if !matches!(*fstype, "cgroup" | "cgroup2") || shadowed(&mount, &lines[index + 1..]) {
                continue;
            }
            let version_key = match *fstype {
                "cgroup" => {
                    let mut c: Vec<String> = opts
                        .split(',')
                        .filter(|o| {
                            !NOT_CONTROLLERS.contains(o) && !o.starts_with("release_agent=")
                        })
                        .map(str::to_string)
                        .collect();
                    c.sort();
                    Some(c)
                }
                "cgroup2" => None,
                _ => continue,
            };
            // rkt's own cgroup in this hierarchy.
            let own = proc_cgroup.lines().find_map(|l| {
                let mut f = l.splitn(3, ':');
                let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
                let matches = match &version_key {
                    None => ctrl.is_empty(),
                    Some(c) => {
                        let mut mine: Vec<&str> = ctrl.split(',').collect();
                        mine.sort_unstable();
                        !ctrl.is_empty() && mine == c.iter().map(String::as_str).collect::<Vec<_>>()
                    }
                };
                matches.then(|| path.to_string())
            });
            let Some(own) = own else { continue };
            // A mount of a subtree (a bind mount): rkt's cgroup must be inside it.
            let root = unescape(root);
            let Some(own) = relative_to(&own, &root) else {
                continue;
            };
            let version = match version_key {
                Some(controllers) => Version::V1 { controllers },
                None => Version::V2 {
                    available: controllers(&mount.join(own.trim_start_matches('/')))
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(str::to_string)
                        .collect(),
                },
            };
            // One entry per hierarchy: the first mount seen wins, one under /sys/fs/cgroup
            // over any other.
            let under = mount
                .strip_prefix("/sys/fs/cgroup")
                .ok()
                .map(|p| p.display().to_string());
            let same = hierarchies
                .iter()
                .position(|h| same_hierarchy(&h.version, &version));
            match same {
                Some(i) if hierarchies[i].under_sys_fs_cgroup.is_none() && under.is_some() => {
                    hierarchies[i] = Hierarchy {
                        mount,
                        version,
                        own,
                        under_sys_fs_cgroup: under,
                    }
                }
                Some(_) => {}
                None => hierarchies.push(Hierarchy {
                    mount,
                    version,
                    own,
                    under_sys_fs_cgroup: under,
                }),
            }
        }
        Layout { hierarchies }
    }

    /// Whether some hierarchy can enforce `controller` for rkt's pods.
    pub(crate) fn has(&self, controller: &str) -> bool {
        self.hierarchies.iter().any(|h| match &h.version {
            Version::V1 { controllers } => controllers.iter().any(|c| c == controller),
            Version::V2 { available } => available.iter().any(|c| c == controller),
        })
    }
}

impl Hierarchy {
    /// What names this hierarchy in any mount namespace: `cgroup2`, or the v1 controllers
    /// (`cpu,cpuacct`, `name=systemd`).
    pub(crate) fn key(&self) -> String {
        match &self.version {
            Version::V1 { controllers } => controllers.join(","),
            Version::V2 { .. } => "cgroup2".into(),
        }
    }
}

/// Whether a later mount covers `mount` (on it, or on a directory above it): the hierarchy is
/// then out of reach at that path (an empty tmpfs over `/sys/fs/cgroup/unified`, as for crun).
fn shadowed(mount: &Path, later: &[&str]) -> bool {
    later.iter().any(|l| {
        l.split(' ')
            .nth(4)
            // A root mount listed later (a pivot) does not hide what was mounted in it.
            .is_some_and(|p| p != "/" && mount.starts_with(unescape(p)))
    })
}

fn same_hierarchy(a: &Version, b: &Version) -> bool {
    match (a, b) {
        (Version::V1 { controllers: x }, Version::V1 { controllers: y }) => x == y,
        (Version::V2 { .. }, Version::V2 { .. }) => true,
        _ => false,
    }
}

/// `path` relative to the mount's `root` (both absolute), still absolute: `/a/b` in a mount
/// of `/a` is `/b`.
fn relative_to(path: &str, root: &str) -> Option<String> {
    if root == "/" {
        return Some(path.to_string());
    }
    let rest = path.strip_prefix(root)?;
    match rest {
        "" => Some("/".into()),
        r if r.starts_with('/') => Some(r.to_string()),
        _ => None,
    }
}

/// mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..=i + 3].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
