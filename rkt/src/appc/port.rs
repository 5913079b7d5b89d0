//! Ports: an app's `ports` and a pod's exposed `ports` (spec aci.md, pods.md; Go
//! `schema/types/port.go`).

use std::net::IpAddr;

use super::error::{Error, Path};
use super::json::{integer, string, Fields, FromJson, Json, ObjectBuilder, ToJson};
use super::name::AcName;

/// A port (or range of `count` ports) an app listens on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Port {
    pub(crate) name: AcName,
    /// Free text, usually `tcp` or `udp`.
    pub(crate) protocol: String,
    /// 1..=65535.
    pub(crate) port: u16,
    /// At least 1 (0 or absent reads as 1), and `port + count` ≤ 65536.
    pub(crate) count: u16,
    pub(crate) socket_activated: bool,
}

impl FromJson for Port {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Port, Error> {
        let f = Fields::new(v, at)?;
        let name = f.req("name")?;
        let protocol = f.opt("protocol")?.unwrap_or_default();
        // Go reads both as uint and checks the range afterwards; a missing port is 0.
        let port = f.opt_with("port", integer)?.unwrap_or(0);
        if !(1..=65535).contains(&port) {
            return Err(Error::invalid(
                &at.field("port"),
                &port.to_string(),
                "port must be in 1-65535 range",
            ));
        }
        let count = f.opt_with("count", integer)?.unwrap_or(0);
        if count < 0 {
            return Err(Error::invalid(
                &at.field("count"),
                &count.to_string(),
                "count must not be negative",
            ));
        }
        let count = count.max(1);
        // Go adds in uint64 and can wrap around; i128 cannot.
        if port + count > 65536 {
            return Err(Error::invalid(
                &at.field("count"),
                &count.to_string(),
                "end of port range must be in 1-65535 range",
            ));
        }
        Ok(Port {
            name,
            protocol,
            port: u16::try_from(port).unwrap_or_default(),
            count: u16::try_from(count).unwrap_or_default(),
            socket_activated: f.flag("socketActivated")?,
        })
    }
}

impl ToJson for Port {
    fn to_json(&self) -> Json {
        // No omitempty on any Port field in Go.
        ObjectBuilder::new()
            .put("name", self.name.to_json())
            .put("protocol", self.protocol.to_json())
            .put("port", Json::Number(self.port.into()))
            .put("count", Json::Number(self.count.into()))
            .put("socketActivated", Json::Bool(self.socket_activated))
            .build()
    }
}

/// A pod port forwarded from the host.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExposedPort {
    /// The app port of this name (unless `pod_port` is given).
    pub(crate) name: AcName,
    /// 1..=65535. Go takes any uint here; a host port outside that range cannot be bound.
    pub(crate) host_port: u16,
    /// The host address to bind; all addresses when absent.
    pub(crate) host_ip: Option<IpAddr>,
    /// The pod-side port, overriding the lookup by name in the apps' ports.
    pub(crate) pod_port: Option<Port>,
}

impl FromJson for ExposedPort {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<ExposedPort, Error> {
        let f = Fields::new(v, at)?;
        let name = f.req("name")?;
        let host_port = f.req_with("hostPort", |v, at| {
            let n = integer(v, at)?;
            u16::try_from(n).ok().filter(|p| *p != 0).ok_or_else(|| {
                Error::invalid(at, &n.to_string(), "hostPort must be in 1-65535 range")
            })
        })?;
        // Go's net.IP: an IPv4 or IPv6 address, the empty string meaning none. Go prints an
        // IPv4-mapped IPv6 address in IPv4 form, so it is kept as IPv4.
        let host_ip = f.opt_with("hostIP", |v, at| {
            let s = string(v, at)?;
            if s.is_empty() {
                return Ok(None);
            }
            match s.parse::<IpAddr>() {
                Ok(IpAddr::V6(v6)) => {
                    Ok(Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)))
                }
                Ok(v4) => Ok(Some(v4)),
                Err(_) => Err(Error::invalid(at, s, "must be an IPv4 or IPv6 address")),
            }
        })?;
        Ok(ExposedPort {
            name,
            host_port,
            host_ip: host_ip.flatten(),
            pod_port: f.opt("podPort")?,
        })
    }
}

impl ToJson for ExposedPort {
    fn to_json(&self) -> Json {
        ObjectBuilder::new()
            .put("name", self.name.to_json())
            .put("hostPort", Json::Number(self.host_port.into()))
            .put_if(self.host_ip.is_some(), "hostIP", || {
                Json::String(self.host_ip.map(|ip| ip.to_string()).unwrap_or_default())
            })
            .put_if(self.pod_port.is_some(), "podPort", || {
                self.pod_port.as_ref().map_or(Json::Null, ToJson::to_json)
            })
            .build()
    }
}
