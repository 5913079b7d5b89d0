//! A pod manifest's exposed `ports` against its apps' ports, with rkt 1.30's rules and texts
//! (`common/networking` `ForwardedPorts`): a name must be declared by exactly one app (unless
//! the exposed port gives its `podPort`), and no two exposed ports may claim one host port.
//! `prepare` and `run` check this before anything is created; the start resolves it again.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use super::firewall::{TCP, UDP};
use crate::appc::{ExposedPort, Port};

/// One forward, before the pod has an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodPort {
    pub(crate) name: String,
    pub(crate) protocol: u8,
    /// None: every local address (0.0.0.0).
    pub(crate) host_ip: Option<Ipv4Addr>,
    pub(crate) host_port: u16,
    pub(crate) pod_port: u16,
}

impl PodPort {
    /// rkt's `proto-hostIP:hostPort`, e.g. `tcp-0.0.0.0:8080`.
    pub(crate) fn host_side(&self) -> String {
        format!(
            "{}-{}:{}",
            protocol_name(self.protocol),
            self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
            self.host_port
        )
    }
}

fn protocol_name(p: u8) -> &'static str {
    if p == UDP {
        "udp"
    } else {
        "tcp"
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PortError {
    NotFound(String),
    Ambiguous(String),
    Conflict { host: String, pod_port: u16 },
    Protocol { name: String, protocol: String },
    Ipv6 { name: String },
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortError::NotFound(n) => write!(f, "port name {n:?} could not be found in any apps"),
            PortError::Ambiguous(n) => write!(f, "port name {n:?} defined multiple apps"),
            PortError::Conflict { host, pod_port } => {
                write!(f, "port {host} already mapped to pod port {pod_port}")
            }
            PortError::Protocol { name, protocol } => write!(
                f,
                "port {name:?}: protocol {:?} cannot be forwarded (only tcp and udp)",
                protocol.chars().take(16).collect::<String>()
            ),
            PortError::Ipv6 { name } => {
                write!(f, "port {name:?}: an IPv6 host address cannot be forwarded")
            }
        }
    }
}

impl std::error::Error for PortError {}

fn protocol(name: &str, p: &str) -> Result<u8, PortError> {
    match p {
        "tcp" | "" => Ok(TCP),
        "udp" => Ok(UDP),
        other => Err(PortError::Protocol {
            name: name.to_string(),
            protocol: other.to_string(),
        }),
    }
}

/// `--port NAME:[HOSTIP:]HOSTPORT`, with rkt 1.30's messages (`portList.Set`).
pub(crate) fn parse_flag(value: &str) -> Result<ExposedPort, String> {
    let shown: String = value.chars().take(80).collect();
    let parts: Vec<&str> = value.splitn(3, ':').collect();
    if parts.len() < 2 {
        return Err(format!("{shown:?} is not in name:[ip:]port format"));
    }
    let name = crate::appc::AcName::parse(parts[0])
        .map_err(|_| format!("{:?} is not a valid port name", clip(parts[0])))?;
    let (host_ip, port) = if parts.len() == 3 {
        let ip = parts[1]
            .parse::<IpAddr>()
            .map_err(|_| format!("{:?} is not a valid IP", clip(parts[1])))?;
        (Some(ip), parts[2])
    } else {
        (None, parts[1])
    };
    let host_port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("{:?} is not a valid port number", clip(port)))?;
    Ok(ExposedPort {
        name,
        host_port,
        host_ip,
        pod_port: None,
    })
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The forwards of `exposed`, given each app's declared ports.
pub(crate) fn resolve(
    exposed: &[ExposedPort],
    apps: &[&[Port]],
) -> Result<Vec<PodPort>, PortError> {
    let mut out: Vec<PodPort> = Vec::new();
    for e in exposed {
        let name = e.name.as_str().to_string();
        let port = match &e.pod_port {
            Some(p) => p.clone(),
            None => {
                let mut found = apps
                    .iter()
                    .filter_map(|ports| ports.iter().find(|p| p.name == e.name));
                let first = found.next().ok_or(PortError::NotFound(name.clone()))?;
                if found.next().is_some() {
                    return Err(PortError::Ambiguous(name));
                }
                first.clone()
            }
        };
        let host_ip = match e.host_ip {
            None => None,
            Some(IpAddr::V4(ip)) if ip.is_unspecified() => None,
            Some(IpAddr::V4(ip)) => Some(ip),
            Some(IpAddr::V6(_)) => return Err(PortError::Ipv6 { name }),
        };
        let fwd = PodPort {
            protocol: protocol(&name, &port.protocol)?,
            name,
            host_ip,
            host_port: e.host_port,
            pod_port: port.port,
        };
        if let Some(earlier) = out.iter().find(|o| {
            o.protocol == fwd.protocol
                && o.host_port == fwd.host_port
                && (o.host_ip.is_none() || fwd.host_ip.is_none() || o.host_ip == fwd.host_ip)
        }) {
            return Err(PortError::Conflict {
                host: fwd.host_side(),
                pod_port: earlier.pod_port,
            });
        }
        out.push(fwd);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appc::AcName;

    fn port(name: &str, protocol: &str, n: u16) -> Port {
        Port {
            name: AcName::parse(name).unwrap(),
            protocol: protocol.into(),
            port: n,
            count: 1,
            socket_activated: false,
        }
    }

    fn exposed(name: &str, host_ip: Option<&str>, host_port: u16) -> ExposedPort {
        ExposedPort {
            name: AcName::parse(name).unwrap(),
            host_port,
            host_ip: host_ip.map(|s| s.parse().unwrap()),
            pod_port: None,
        }
    }

    #[test]
    fn names_resolve_to_the_one_app_that_declares_them() {
        let a = [port("http", "tcp", 80)];
        let b = [port("dns", "udp", 53)];
        let got = resolve(
            &[
                exposed("http", None, 8080),
                exposed("dns", Some("127.0.0.1"), 5353),
            ],
            &[&a, &b],
        )
        .unwrap();
        assert_eq!(got[0].host_side(), "tcp-0.0.0.0:8080");
        assert_eq!(got[0].pod_port, 80);
        assert_eq!(got[1].protocol, UDP);
        assert_eq!(got[1].host_ip, Some(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn port_flags_parse_as_rkts() {
        let p = parse_flag("http:8080").unwrap();
        assert_eq!(
            (p.name.as_str(), p.host_port, p.host_ip),
            ("http", 8080, None)
        );
        let p = parse_flag("http:127.0.0.1:8080").unwrap();
        assert_eq!(p.host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(
            parse_flag("http").unwrap_err(),
            r#""http" is not in name:[ip:]port format"#
        );
        assert_eq!(
            parse_flag("Bad_Name:1").unwrap_err(),
            r#""Bad_Name" is not a valid port name"#
        );
        assert_eq!(
            parse_flag("http:nope:1").unwrap_err(),
            r#""nope" is not a valid IP"#
        );
        assert_eq!(
            parse_flag("http:70000").unwrap_err(),
            r#""70000" is not a valid port number"#
        );
    }

    #[test]
    fn rkts_errors() {
        let a = [port("http", "tcp", 80)];
        assert_eq!(
            resolve(&[exposed("nope", None, 1)], &[&a])
                .unwrap_err()
                .to_string(),
            r#"port name "nope" could not be found in any apps"#
        );
        assert_eq!(
            resolve(&[exposed("http", None, 1)], &[&a, &a])
                .unwrap_err()
                .to_string(),
            r#"port name "http" defined multiple apps"#
        );
        let b = [port("http", "tcp", 80), port("alt", "tcp", 81)];
        assert_eq!(
            resolve(
                &[
                    exposed("http", Some("127.0.0.1"), 8080),
                    exposed("alt", None, 8080)
                ],
                &[&b]
            )
            .unwrap_err()
            .to_string(),
            "port tcp-0.0.0.0:8080 already mapped to pod port 80"
        );
        // Two addresses, one port: no conflict.
        assert!(resolve(
            &[
                exposed("http", Some("127.0.0.1"), 8080),
                exposed("alt", Some("10.0.0.1"), 8080)
            ],
            &[&b]
        )
        .is_ok());
        let c = [port("x", "sctp", 9)];
        assert!(resolve(&[exposed("x", None, 9)], &[&c]).is_err());
    }
}
