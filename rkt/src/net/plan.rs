//! What joining a pod to a built-in network does, as data: CNI `ptp`'s layout. The host side
//! of the veth gets the gateway address as a /32 and a /32 route to the pod; the pod's `eth0`
//! gets its address without the prefix route, a link route to the gateway and the subnet (and
//! for `default`, everything) via the gateway, so that all traffic goes through the host, where
//! strict reverse-path filtering on the host side drops a pod's packets from any other source.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use super::{Builtin, NetInfo};

/// The pod side's name, as in rkt: `eth<i>` for the i-th network.
pub(crate) fn pod_if_name(index: usize) -> String {
    format!("eth{index}")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) dst: Ipv4Addr,
    pub(crate) prefix: u8,
    /// None: on the link (scope link).
    pub(crate) via: Option<Ipv4Addr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NetPlan {
    pub(crate) network: &'static str,
    /// The host side: `rkt` and 12 hex digits of the pod UUID (IFNAMSIZ is 16 with the NUL).
    pub(crate) host_if: String,
    pub(crate) pod_if: String,
    /// CNI_ARGS as given (`net-info.json`'s `args`).
    pub(crate) args: String,
    pub(crate) gateway: Ipv4Addr,
    pub(crate) pod_ip: Ipv4Addr,
    pub(crate) prefix: u8,
    /// In the pod, in order (the gateway's link route first: the others go via it).
    pub(crate) pod_routes: Vec<Route>,
    /// Host sysctls, written after the veth exists.
    pub(crate) host_sysctls: Vec<(PathBuf, &'static str)>,
}

/// The first address of the subnet after the network address: the gateway (host-local's
/// default).
pub(crate) fn gateway(net: &Builtin) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.subnet) + 1)
}

pub(crate) fn host_if_name(uuid: &str) -> String {
    let hex: String = uuid
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(12)
        .collect();
    format!("rkt{hex}")
}

/// The veth pair, addresses and routes of `uuid` on `net` as its `index`-th network.
/// `forwarding_localhost`: a `--port` forwards the host's 127.0.0.1 into the pod, which needs
/// `route_localnet` on the host side (firewall's `pre` chain drops what the pod sends there).
pub(crate) fn plan(
    net: &'static Builtin,
    uuid: &str,
    pod_ip: Ipv4Addr,
    index: usize,
    args: &str,
    forwarding_localhost: bool,
) -> NetPlan {
    let gw = gateway(net);
    let host_if = host_if_name(uuid);
    let mut pod_routes = vec![
        Route {
            dst: gw,
            prefix: 32,
            via: None,
        },
        Route {
            dst: net.subnet,
            prefix: net.prefix,
            via: Some(gw),
        },
    ];
    if net.default_route {
        pod_routes.push(Route {
            dst: Ipv4Addr::UNSPECIFIED,
            prefix: 0,
            via: Some(gw),
        });
    }
    let conf = PathBuf::from("/proc/sys/net/ipv4/conf").join(&host_if);
    let conf6 = PathBuf::from("/proc/sys/net/ipv6/conf").join(&host_if);
    let mut host_sysctls = vec![
        (PathBuf::from("/proc/sys/net/ipv4/ip_forward"), "1"),
        (conf.join("rp_filter"), "1"),
        (conf6.join("disable_ipv6"), "1"),
    ];
    if forwarding_localhost {
        host_sysctls.push((conf.join("route_localnet"), "1"));
    }
    NetPlan {
        network: net.name,
        pod_if: pod_if_name(index),
        args: args.to_string(),
        gateway: gw,
        pod_ip,
        prefix: net.prefix,
        pod_routes,
        // Forwarding: pod to pod goes through the host. Strict rp_filter: with the /32 route
        // to the pod, only the pod's own address is a valid source on its veth (anti-spoofing).
        // No IPv6 on the host side: its link-local address would let the pod reach host
        // services on [::] and send from any source (rp_filter is IPv4 only). Set before the
        // link is up, so no address is ever configured.
        host_sysctls,
        host_if,
    }
}

impl NetPlan {
    pub(crate) fn info(&self) -> NetInfo {
        NetInfo {
            net_name: self.network.to_string(),
            net_conf: format!("net/{}.conf", self.network),
            plugin_path: String::new(),
            if_name: self.pod_if.clone(),
            ip: self.pod_ip.to_string(),
            args: self.args.clone(),
            mask: mask(self.prefix).to_string(),
            gateway: self.gateway.to_string(),
            host_ip: self.gateway.to_string(),
        }
    }
}

pub(crate) fn mask(prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::DEFAULT_RESTRICTED;

    #[test]
    fn restricted_plan_is_ptp_without_a_default_route() {
        let p = plan(
            &DEFAULT_RESTRICTED,
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            Ipv4Addr::new(172, 31, 0, 7),
            0,
            "",
            false,
        );
        assert_eq!(p.host_if, "rkt0f1e2d3c4b5a");
        assert!(p.host_if.len() <= 15, "IFNAMSIZ");
        assert_eq!(p.gateway, Ipv4Addr::new(172, 31, 0, 1));
        assert_eq!(
            p.pod_routes,
            [
                Route {
                    dst: Ipv4Addr::new(172, 31, 0, 1),
                    prefix: 32,
                    via: None
                },
                Route {
                    dst: Ipv4Addr::new(172, 31, 0, 0),
                    prefix: 16,
                    via: Some(Ipv4Addr::new(172, 31, 0, 1))
                },
            ]
        );
        assert!(p.host_sysctls.contains(&(
            "/proc/sys/net/ipv4/conf/rkt0f1e2d3c4b5a/rp_filter".into(),
            "1"
        )));
        assert!(p.host_sysctls.contains(&(
            "/proc/sys/net/ipv6/conf/rkt0f1e2d3c4b5a/disable_ipv6".into(),
            "1"
        )));
        let info = p.info();
        assert_eq!(info.ip, "172.31.0.7");
        assert_eq!(info.mask, "255.255.0.0");
        assert_eq!(info.if_name, "eth0");
        assert_eq!(info.net_conf, "net/default-restricted.conf");
        let json = serde_json::to_string(&info).unwrap();
        assert!(
            json.starts_with(r#"{"netName":"default-restricted","netConf":"#),
            "{json}"
        );
        assert!(json.contains(r#""hostIP":"172.31.0.1""#), "{json}");
    }

    #[test]
    fn default_plan_routes_everything_via_the_host() {
        let p = plan(
            &crate::net::DEFAULT,
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            Ipv4Addr::new(172, 16, 28, 5),
            1,
            "IP=172.16.28.5",
            true,
        );
        assert_eq!(p.gateway, Ipv4Addr::new(172, 16, 28, 1));
        assert_eq!(p.prefix, 24);
        assert_eq!(
            p.pod_routes.last(),
            Some(&Route {
                dst: Ipv4Addr::UNSPECIFIED,
                prefix: 0,
                via: Some(Ipv4Addr::new(172, 16, 28, 1))
            })
        );
        assert!(p.host_sysctls.contains(&(
            "/proc/sys/net/ipv4/conf/rkt0f1e2d3c4b5a/route_localnet".into(),
            "1"
        )));
        let info = p.info();
        assert_eq!(
            (info.if_name.as_str(), info.args.as_str()),
            ("eth1", "IP=172.16.28.5")
        );
        assert_eq!(info.mask, "255.255.255.0");
    }

    #[test]
    fn the_conf_copy_is_rkts() {
        assert_eq!(
            DEFAULT_RESTRICTED.conf(),
            r#"{"name":"default-restricted","type":"ptp","ipMasq":false,"ipam":{"type":"host-local","subnet":"172.31.0.0/16"}}"#
        );
        let v: serde_json::Value = serde_json::from_str(&DEFAULT_RESTRICTED.conf()).unwrap();
        assert_eq!(v["ipam"]["subnet"], "172.31.0.0/16");
    }

    #[test]
    fn masks() {
        assert_eq!(mask(0), Ipv4Addr::UNSPECIFIED);
        assert_eq!(mask(24), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(mask(32), Ipv4Addr::BROADCAST);
    }
}
