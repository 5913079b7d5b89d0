//! Pod networks: rkt's built-in `default` and `default-restricted` networks (a veth pair,
//! host-local addresses; `default` also has a default route and masquerade). The plan (addresses, routes, host settings) is data that
//! [`plan`] computes and unit tests check; [`crate::sys::netlink`] applies it over rtnetlink,
//! so nothing on the host (no `ip`, no CNI plugins) is needed.
//!
//! Owns: the pod dir's `net-info.json` and `net-leases` records and the leases under
//! `<data>/networks/`. Must never: leave a lease without a record naming it in the pod dir,
//! or touch a host interface that is not the pod's own veth.

pub(crate) mod cni;
pub(crate) mod firewall;
pub(crate) mod ipam;
pub(crate) mod plan;
pub(crate) mod ports;
pub(crate) mod select;

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
    /// Masquerade for traffic leaving the subnet (CNI's `ipMasq`).
    pub(crate) ip_masq: bool,
}

/// rkt 1.30's `default` (`99-default.conf`): 172.16.28.0/24, a default route via the host,
/// masquerade for everything leaving the subnet.
pub(crate) const DEFAULT: Builtin = Builtin {
    name: "default",
    subnet: Ipv4Addr::new(172, 16, 28, 0),
    prefix: 24,
    default_route: true,
    ip_masq: true,
};

/// rkt 1.30's `default-restricted`: 172.31.0.0/16, reachable from the host and from the other
/// pods on it, with no route anywhere else.
pub(crate) const DEFAULT_RESTRICTED: Builtin = Builtin {
    name: "default-restricted",
    subnet: Ipv4Addr::new(172, 31, 0, 0),
    prefix: 16,
    default_route: false,
    ip_masq: false,
};

/// Every built-in network, by name.
pub(crate) const BUILTIN: [&Builtin; 2] = [&DEFAULT, &DEFAULT_RESTRICTED];

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
            self.name, self.ip_masq, self.subnet, self.prefix
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
    /// CNI_ARGS `IP=` names an address that is taken or outside the network.
    Unavailable {
        ip: Ipv4Addr,
        net: &'static str,
    },
    /// CNI_ARGS a built-in network does not take.
    Args {
        net: &'static str,
        reason: String,
    },
    /// A host port another pod forwards already.
    PortTaken(String),
    Firewall {
        op: &'static str,
        source: io::Error,
    },
    Select(select::SelectError),
    Cni(cni::CniError),
    /// The pod's network namespace could not be pinned for its named networks.
    Pin {
        path: PathBuf,
        source: io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, path, .. } => write!(f, "{op} `{}`", path.display()),
            Error::Netlink(e) => e.fmt(f),
            Error::Exhausted(net) => write!(f, "no IP addresses available in network: {net}"),
            Error::Unavailable { ip, net } => write!(
                f,
                "requested IP address \"{ip}\" is not available in network: {net}"
            ),
            Error::Args { net, reason } => write!(f, "network {net:?}: CNI_ARGS: {reason}"),
            Error::PortTaken(host) => {
                write!(f, "port {host} is already forwarded to another pod")
            }
            Error::Firewall { op, .. } => write!(f, "{op} (nf_tables table `ip rkt`)"),
            Error::Select(e) => e.fmt(f),
            Error::Cni(e) => e.fmt(f),
            Error::Pin { path, .. } => {
                write!(f, "pin the pod's network namespace at `{}`", path.display())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Netlink(e) => e.source(),
            Error::Firewall { source, .. } | Error::Pin { source, .. } => Some(source),
            Error::Cni(e) => e.source(),
            Error::Exhausted(_)
            | Error::Unavailable { .. }
            | Error::Args { .. }
            | Error::PortTaken(_)
            | Error::Select(_) => None,
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

/// A built-in network as one pod joins it: its `index` (interface `eth<index>`), the
/// CNI_ARGS given with `--net=name:args`, and the pod's `--port` forwards.
pub(crate) struct Join<'a> {
    pub(crate) net: &'static Builtin,
    pub(crate) index: usize,
    pub(crate) args: &'a str,
    pub(crate) ports: &'a [ports::PodPort],
}

/// Refuses CNI_ARGS a built-in network would refuse, before anything of the pod starts.
pub(crate) fn check_args(net: &'static Builtin, args: &str) -> Result<(), Error> {
    requested_ip(net, args).map(drop)
}

/// CNI_ARGS as host-local reads them: `K=V` pairs split by `;`; `IP` requests an address,
/// `IgnoreUnknown` lets other keys through.
fn requested_ip(net: &'static Builtin, args: &str) -> Result<Option<Ipv4Addr>, Error> {
    let bad = |reason: String| Error::Args {
        net: net.name,
        reason,
    };
    let mut ip = None;
    let mut unknown = Vec::new();
    let mut ignore_unknown = false;
    for pair in args.split(';').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            bad(format!(
                "{:?} is not KEY=VALUE",
                crate::error::bounded(pair)
            ))
        })?;
        match k {
            "IP" => {
                ip = Some(v.parse::<Ipv4Addr>().map_err(|_| {
                    bad(format!(
                        "{:?} is not an IPv4 address",
                        crate::error::bounded(v)
                    ))
                })?)
            }
            "IgnoreUnknown" => ignore_unknown = matches!(v, "1" | "true" | "True"),
            other => unknown.push(crate::error::bounded(other)),
        }
    }
    if !unknown.is_empty() && !ignore_unknown {
        return Err(bad(format!("unknown keys {unknown:?}")));
    }
    Ok(ip)
}

/// Joins the pod (its network namespace: `netns`, PID 1's) to a built-in network: leases an
/// address, records it in the pod dir, creates and configures the veth pair and adds the pod's
/// nf_tables elements (the caller writes `net-info.json`, see [`write_info`]). On failure what it made is undone: the
/// lease, the elements, the veth.
pub(crate) fn setup(
    data_dir: &Path,
    pod_dir: &Path,
    uuid: &str,
    join: &Join<'_>,
    netns: BorrowedFd<'_>,
) -> Result<NetInfo, Error> {
    let net = join.net;
    let requested = requested_ip(net, join.args)?;
    let conf = paths::pod_net_conf(pod_dir, net.name);
    if let Some(dir) = conf.parent() {
        std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
    }
    write_atomic(&conf, net.conf().as_bytes(), Durability::NoFsync)
        .map_err(io_err("write", &conf))?;
    let leases = ipam::Leases::new(paths::network_leases(data_dir, net.name), net);
    let record = paths::pod_net_leases(pod_dir);
    let forwarding_localhost = join
        .ports
        .iter()
        .any(|p| p.host_ip.is_none_or(|ip| ip.is_loopback()));
    let mut taken = Vec::new();
    for _ in 0..ATTEMPTS {
        let ip = leases.allocate(uuid, requested, &taken, |lease| {
            // Recorded before the lease exists: a crash in between leaves nothing unnamed.
            write_atomic(
                &record,
                format!("{}\n", lease.display()).as_bytes(),
                Durability::NoFsync,
            )
            .map_err(io_err("write", &record))
        })?;
        let plan = plan::plan(net, uuid, ip, join.index, join.args, forwarding_localhost);
        let applied = crate::sys::netlink::apply(&plan, netns);
        if let Err(e) = applied {
            leases.release(uuid)?;
            // The veth of this attempt would clash with the next one's name.
            crate::sys::netlink::remove_link(&plan.host_if).map_err(Error::Netlink)?;
            if !e.address_in_use() || requested.is_some() {
                return Err(Error::Netlink(e));
            }
            taken.push(ip);
            continue;
        }
        let forwards: Vec<firewall::Forward> = join
            .ports
            .iter()
            .map(|p| firewall::Forward {
                protocol: p.protocol,
                host_ip: p.host_ip,
                host_port: p.host_port,
                pod_ip: ip,
                pod_port: p.pod_port,
            })
            .collect();
        let done = add_rules(pod_dir, &plan.host_if, ip, &forwards, join.ports);
        if done.is_err() {
            // Best effort: the error that matters is the one returned; `gc` retries.
            let _ = remove_rules(pod_dir);
            let _ = leases.release(uuid);
        }
        return done.map(|()| plan.info());
    }
    Err(Error::Exhausted(net.name))
}

/// rkt's table, under the host-wide lock that keeps its creation and deletion whole.
fn nft_lock() -> Result<crate::sys::lock::FileLock, Error> {
    use crate::sys::lock::{Blocking, FileLock, LockKind};
    let path = Path::new(paths::NFT_LOCK);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
    }
    FileLock::create(path, LockKind::Exclusive, Blocking::Wait).map_err(io_err("lock", path))
}

fn firewall_err(op: &'static str) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Firewall { op, source }
}

fn add_rules(
    pod_dir: &Path,
    host_if: &str,
    ip: Ipv4Addr,
    forwards: &[firewall::Forward],
    ports: &[ports::PodPort],
) -> Result<(), Error> {
    let _lock = nft_lock()?;
    let elements = firewall::pod_elements(host_if, ip, forwards);
    let record = paths::pod_net_rules(pod_dir);
    write_atomic(
        &record,
        firewall::encode_record(&elements).as_bytes(),
        Durability::NoFsync,
    )
    .map_err(io_err("write", &record))?;
    crate::sys::nftables::create_table(&firewall::table(&BUILTIN))
        .map_err(firewall_err("create the table"))?;
    match crate::sys::nftables::add_elements(firewall::TABLE, &elements) {
        Ok(()) => Ok(()),
        Err((i, e)) if e.raw_os_error() == Some(libc::EEXIST) && i >= 1 && i <= ports.len() => {
            Err(Error::PortTaken(ports[i - 1].host_side()))
        }
        Err((_, e)) => Err(firewall_err("add the pod's elements")(e)),
    }
}

/// Deletes the elements the pod dir records, then the table when no pod is left in it.
fn remove_rules(pod_dir: &Path) -> Result<(), Error> {
    let record = paths::pod_net_rules(pod_dir);
    let text = match std::fs::read_to_string(&record) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("read", &record)(e)),
    };
    let _lock = nft_lock()?;
    for e in firewall::parse_record(&text) {
        crate::sys::nftables::delete_element(firewall::TABLE, &e)
            .map_err(firewall_err("delete the pod's elements"))?;
    }
    if crate::sys::nftables::set_is_empty(firewall::TABLE, firewall::PODS)
        .map_err(firewall_err("list the pods"))?
        == Some(true)
    {
        crate::sys::nftables::delete_table(firewall::TABLE)
            .map_err(firewall_err("delete the table"))?;
    }
    std::fs::remove_file(&record).map_err(io_err("remove", &record))
}

/// Frees what the pod dir records (`rm`, `gc`, a failed start): its nf_tables elements, its
/// leases, and its veth if it is still there: it goes with the pod's network namespace, but
/// the kernel frees a namespace asynchronously, after its last process has exited.
///
/// Returns what the CNI plugins could not delete (see [`cni::release`]).
pub(crate) fn release(pod_dir: &Path, uuid: &str) -> Result<Vec<String>, Error> {
    let netns_record = paths::pod_netns(pod_dir);
    let pinned = std::fs::read_to_string(&netns_record)
        .ok()
        .map(PathBuf::from)
        // Only ever one of rkt's pins, whatever the file says.
        .filter(|p| p.starts_with(paths::PINNED_NETNS_DIR));
    let live = pinned
        .as_deref()
        .filter(|p| crate::sys::netns::is_pinned(p));
    let failed = cni::release(pod_dir, uuid, live).map_err(Error::Cni)?;
    if let Some(p) = &pinned {
        crate::sys::netns::unpin(p).map_err(|source| Error::Pin {
            path: p.clone(),
            source,
        })?;
    }
    remove_rules(pod_dir)?;
    let record = paths::pod_net_leases(pod_dir);
    if record.exists() {
        crate::sys::netlink::remove_link(&plan::host_if_name(uuid)).map_err(Error::Netlink)?;
    }
    let text = match std::fs::read_to_string(&record) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(failed),
        Err(e) => return Err(io_err("read", &record)(e)),
    };
    for lease in text.lines().filter(|l| !l.is_empty()) {
        ipam::release_file(Path::new(lease), uuid)?;
    }
    Ok(failed)
}

/// Pins PID 1's network namespace for the pod's named networks, recording the path in the
/// pod dir (`netns`, as rkt 1.30) before the mount exists.
pub(crate) fn pin_netns(pod_dir: &Path, uuid: &str, pid: u32) -> Result<PathBuf, Error> {
    let path = paths::pinned_netns(uuid);
    let record = paths::pod_netns(pod_dir);
    write_atomic(
        &record,
        path.to_string_lossy().as_bytes(),
        Durability::NoFsync,
    )
    .map_err(io_err("write", &record))?;
    crate::sys::netns::pin(pid, &path).map_err(|source| Error::Pin {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// `net-info.json`: every network the pod joined, in interface order.
pub(crate) fn write_info(pod_dir: &Path, infos: &[NetInfo]) -> Result<(), Error> {
    let path = paths::pod_net_info(pod_dir);
    let json = serde_json::to_vec(infos).expect("plain strings serialize");
    write_atomic(&path, &json, Durability::NoFsync).map_err(io_err("write", &path))
}

/// The networks a pod's `net-info.json` names (none without one: host or none networking).
pub(crate) fn read_info(pod_dir: &Path) -> Vec<NetInfo> {
    std::fs::read(paths::pod_net_info(pod_dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cni_args_request_an_address_and_reject_unknown_keys() {
        assert_eq!(requested_ip(&DEFAULT, "").unwrap(), None);
        assert_eq!(
            requested_ip(&DEFAULT, "IP=172.16.28.123").unwrap(),
            Some(Ipv4Addr::new(172, 16, 28, 123))
        );
        assert!(requested_ip(&DEFAULT, "FOO=1").is_err());
        assert_eq!(
            requested_ip(&DEFAULT, "FOO=1;IgnoreUnknown=1;IP=172.16.28.9").unwrap(),
            Some(Ipv4Addr::new(172, 16, 28, 9))
        );
        assert!(requested_ip(&DEFAULT, "IP=nope").is_err());
        assert!(requested_ip(&DEFAULT, "IP").is_err());
    }
}
