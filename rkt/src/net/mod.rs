//! Pod networks. Today: rkt's built-in `default-restricted` network (a veth pair, host-local
//! addresses, no default route). The plan (addresses, routes, host settings) is data that
//! [`plan`] computes and unit tests check; [`crate::sys::netlink`] applies it over rtnetlink,
//! so nothing on the host (no `ip`, no CNI plugins) is needed.
//!
//! Owns: the pod dir's `net-info.json` and `net-leases` records and the leases under
//! `<data>/networks/`. Must never: leave a lease without a record naming it in the pod dir,
//! or touch a host interface that is not the pod's own veth.

pub(crate) mod ipam;
pub(crate) mod plan;

use std::fmt;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use crate::paths;
use crate::sys::fs::{write_atomic, Durability};

/// A network rkt provides itself, equal in effect to rkt 1.30's conf of that name (CNI `ptp`
/// with `host-local` addresses).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Builtin {
    pub(crate) name: &'static str,
    pub(crate) subnet: Ipv4Addr,
    pub(crate) prefix: u8,
    /// A default route via the host side (rkt's `default`; `default-restricted` has none).
    pub(crate) default_route: bool,
}

/// rkt 1.30's `default-restricted`: 172.31.0.0/16, reachable from the host and from the other
/// pods on it, with no route anywhere else.
pub(crate) const DEFAULT_RESTRICTED: Builtin = Builtin {
    name: "default-restricted",
    subnet: Ipv4Addr::new(172, 31, 0, 0),
    prefix: 16,
    default_route: false,
};

impl Builtin {
    /// The CNI conf rkt 1.30 shipped for this network (`ptp` with `host-local`): what the pod
    /// dir's `net/<name>.conf` holds.
    pub(crate) fn conf(&self) -> String {
        let routes = if self.default_route {
            r#","routes":[{"dst":"0.0.0.0/0"}]"#
        } else {
            ""
        };
        format!(
            r#"{{"name":"{}","type":"ptp","ipMasq":{},"ipam":{{"type":"host-local","subnet":"{}/{}"{routes}}}}}"#,
            self.name, self.default_route, self.subnet, self.prefix
        )
    }
}

/// The network a pod joined, as `net-info.json` records it (rkt 1.30's keys, plus the
/// gateway and the host side's address).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NetInfo {
    pub(crate) net_name: String,
    pub(crate) net_conf: String,
    pub(crate) plugin_path: String,
    pub(crate) if_name: String,
    pub(crate) ip: String,
    pub(crate) args: String,
    pub(crate) mask: String,
    #[serde(default)]
    pub(crate) gateway: String,
    #[serde(rename = "hostIP", default)]
    pub(crate) host_ip: String,
}

#[derive(Debug)]
pub(crate) enum Error {
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    Netlink(crate::sys::netlink::Error),
    /// Every address of the network is leased.
    Exhausted(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, path, .. } => write!(f, "{op} `{}`", path.display()),
            Error::Netlink(e) => e.fmt(f),
            Error::Exhausted(net) => write!(f, "network {net:?}: no free address left"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Netlink(e) => e.source(),
            Error::Exhausted(_) => None,
        }
    }
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { op, path, source }
}

/// How many addresses [`setup`] tries when the kernel says one is taken already (by a pod of
/// another data dir: the leases are per data dir, the host's routes are not).
const ATTEMPTS: usize = 32;

/// Joins the pod (its network namespace: `netns`, PID 1's) to `net`: leases an address,
/// records it in the pod dir, creates and configures the veth pair, and writes
/// `net-info.json`. On failure the lease is freed again; the veth goes with the namespace.
pub(crate) fn setup(
    data_dir: &Path,
    pod_dir: &Path,
    uuid: &str,
    net: &'static Builtin,
    netns: BorrowedFd<'_>,
) -> Result<NetInfo, Error> {
    let conf = paths::pod_net_conf(pod_dir, net.name);
    if let Some(dir) = conf.parent() {
        std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
    }
    write_atomic(&conf, net.conf().as_bytes(), Durability::NoFsync)
        .map_err(io_err("write", &conf))?;
    let leases = ipam::Leases::new(paths::network_leases(data_dir, net.name), net);
    let record = paths::pod_net_leases(pod_dir);
    let mut taken = Vec::new();
    for _ in 0..ATTEMPTS {
        let ip = leases.allocate(uuid, &taken, |lease| {
            // Recorded before the lease exists: a crash in between leaves nothing unnamed.
            write_atomic(
                &record,
                format!("{}\n", lease.display()).as_bytes(),
                Durability::NoFsync,
            )
            .map_err(io_err("write", &record))
        })?;
        let plan = plan::plan(net, uuid, ip);
        match crate::sys::netlink::apply(&plan, netns) {
            Ok(()) => {
                let info = plan.info();
                let path = paths::pod_net_info(pod_dir);
                let json = serde_json::to_vec(&[&info]).expect("plain strings serialize");
                write_atomic(&path, &json, Durability::NoFsync).map_err(io_err("write", &path))?;
                return Ok(info);
            }
            Err(e) => {
                leases.release(uuid)?;
                if !e.address_in_use() {
                    return Err(Error::Netlink(e));
                }
                // The veth of this attempt would clash with the next one's name.
                crate::sys::netlink::remove_link(&plan.host_if).map_err(Error::Netlink)?;
                taken.push(ip);
            }
        }
    }
    Err(Error::Exhausted(net.name))
}

/// Frees the leases the pod dir records (`rm`, `gc`, a failed start) and deletes the pod's
/// veth if it is still there: it goes with the pod's network namespace, but the kernel frees
/// a namespace asynchronously, after its last process has exited.
pub(crate) fn release(pod_dir: &Path, uuid: &str) -> Result<(), Error> {
    let record = paths::pod_net_leases(pod_dir);
    if record.exists() {
        crate::sys::netlink::remove_link(&plan::host_if_name(uuid)).map_err(Error::Netlink)?;
    }
    let text = match std::fs::read_to_string(&record) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("read", &record)(e)),
    };
    for lease in text.lines().filter(|l| !l.is_empty()) {
        ipam::release_file(Path::new(lease), uuid)?;
    }
    Ok(())
}

/// The networks a pod's `net-info.json` names (none without one: host or none networking).
pub(crate) fn read_info(pod_dir: &Path) -> Vec<NetInfo> {
    std::fs::read(paths::pod_net_info(pod_dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}
