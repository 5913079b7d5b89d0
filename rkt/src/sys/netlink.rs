//! Applies a [`NetPlan`] over rtnetlink: the veth pair (its pod side created directly in the
//! pod's network namespace), addresses, routes and links up, then the host sysctls. A socket
//! opened by a thread that joined the pod's namespace stays in that namespace, so the pod side
//! is configured without entering it from the main thread.
//!
//! # References
//!  - [rtnetlink(7)](https://man7.org/linux/man-pages/man7/rtnetlink.7.html),
//!    [veth(4)](https://man7.org/linux/man-pages/man4/veth.4.html)

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::net::plan::{NetPlan, Route};

/// The main routing table (`RT_TABLE_MAIN`).
const MAIN_TABLE: u8 = 254;
/// `IFA_F_NOPREFIXROUTE`: no subnet route for the pod's address (the subnet goes via the
/// gateway, as with CNI's ptp).
const NO_PREFIX_ROUTE: u32 = 0x200;

/// One failed step: what it did, on which interface, and the kernel's answer.
#[derive(Debug)]
pub(crate) struct Error {
    pub(crate) op: String,
    pub(crate) source: io::Error,
    host_route: bool,
}

impl Error {
    /// The host already routes the pod's address (a pod of another data dir has it).
    pub(crate) fn address_in_use(&self) -> bool {
        self.host_route && self.source.raw_os_error() == Some(libc::EEXIST)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.op)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn failed(op: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let op = op.into();
    move |source| Error {
        op,
        source,
        host_route: false,
    }
}

struct Rtnl(Socket);

impl Rtnl {
    fn open() -> io::Result<Rtnl> {
        let mut s = Socket::new(NETLINK_ROUTE)?;
        s.bind_auto()?;
        s.connect(&SocketAddr::new(0, 0))?;
        Ok(Rtnl(s))
    }

    /// Sends one request and returns the first reply that is not an ack.
    fn call(
        &self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Option<RouteNetlinkMessage>> {
        let mut hdr = NetlinkHeader::default();
        hdr.flags = NLM_F_REQUEST | flags;
        let mut m = NetlinkMessage::new(hdr, NetlinkPayload::from(msg));
        m.finalize();
        let mut buf = vec![0; m.buffer_len()];
        m.serialize(&mut buf);
        self.0.send(&buf, 0)?;
        let mut rx = vec![0u8; 16 * 1024];
        let n = self.0.recv(&mut &mut rx[..], 0)?;
        let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rx[..n])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        match reply.payload {
            NetlinkPayload::Error(e) => match e.code {
                None => Ok(None),
                Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
            },
            NetlinkPayload::InnerMessage(inner) => Ok(Some(inner)),
            _ => Ok(None),
        }
    }

    fn ack(&self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<()> {
        self.call(msg, NLM_F_ACK | flags).map(drop)
    }

    fn index(&self, name: &str) -> io::Result<u32> {
        let mut l = LinkMessage::default();
        l.attributes.push(LinkAttribute::IfName(name.into()));
        match self.call(RouteNetlinkMessage::GetLink(l), 0)? {
            Some(RouteNetlinkMessage::NewLink(l)) => Ok(l.header.index),
            _ => Err(io::Error::other("no link in the reply")),
        }
    }

    fn up(&self, index: u32) -> io::Result<()> {
        let mut l = LinkMessage::default();
        l.header.index = index;
        l.header.flags = LinkFlags::Up;
        l.header.change_mask = LinkFlags::Up;
        self.ack(RouteNetlinkMessage::SetLink(l), 0)
    }

    fn address(&self, index: u32, ip: Ipv4Addr, prefix: u8, flags: u32) -> io::Result<()> {
        let mut a = AddressMessage::default();
        a.header.family = AddressFamily::Inet;
        a.header.prefix_len = prefix;
        a.header.index = index;
        a.attributes.push(AddressAttribute::Local(IpAddr::V4(ip)));
        a.attributes.push(AddressAttribute::Address(IpAddr::V4(ip)));
        if flags != 0 {
            a.attributes
                .push(AddressAttribute::Flags(AddressFlags::from_bits_retain(
                    flags,
                )));
        }
        self.ack(
            RouteNetlinkMessage::NewAddress(a),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    fn route(&self, index: u32, r: &Route) -> io::Result<()> {
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.destination_prefix_length = r.prefix;
        m.header.table = MAIN_TABLE;
        m.header.protocol = RouteProtocol::Boot;
        m.header.scope = if r.via.is_some() {
            RouteScope::Universe
        } else {
            RouteScope::Link
        };
        m.header.kind = RouteType::Unicast;
        if r.prefix > 0 {
            m.attributes
                .push(RouteAttribute::Destination(RouteAddress::Inet(r.dst)));
        }
        m.attributes.push(RouteAttribute::Oif(index));
        if let Some(gw) = r.via {
            m.attributes
                .push(RouteAttribute::Gateway(RouteAddress::Inet(gw)));
        }
        self.ack(RouteNetlinkMessage::NewRoute(m), NLM_F_CREATE | NLM_F_EXCL)
    }
}

/// A route socket in the network namespace `netns`, from a thread that joins it and ends.
fn socket_in(netns: BorrowedFd<'_>) -> io::Result<Rtnl> {
    std::thread::scope(|s| {
        s.spawn(|| {
            rustix::thread::move_into_link_name_space(
                netns,
                Some(rustix::thread::LinkNameSpaceType::Network),
            )?;
            Rtnl::open()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("netns thread panicked")))
    })
}

/// Deletes the host side of a pod's veth pair (and with it the pod side), if it is still
/// there: to retry with another address, and at `rm`/`gc`.
pub(crate) fn remove_link(name: &str) -> Result<(), Error> {
    let host = Rtnl::open().map_err(failed("open a route netlink socket"))?;
    let index = match host.index(name) {
        Ok(i) => i,
        // Gone already: with its namespace, which the kernel frees asynchronously.
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => return Ok(()),
        Err(e) => return Err(failed(format!("find `{name}`"))(e)),
    };
    let mut l = LinkMessage::default();
    l.header.index = index;
    match host.ack(RouteNetlinkMessage::DelLink(l), 0) {
        // Gone between the lookup and the delete: its namespace's teardown took it.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENODEV) | Some(libc::ENOENT)) => Ok(()),
        other => other.map_err(failed(format!("delete `{name}`"))),
    }
}

/// Creates the pod's veth pair and configures both sides. A half-done setup is undone by the
/// namespace's end (the veth goes with it), never by this function.
pub(crate) fn apply(plan: &NetPlan, netns: BorrowedFd<'_>) -> Result<(), Error> {
    let host_if = &plan.host_if;
    let host = Rtnl::open().map_err(failed("open a route netlink socket"))?;
    let mut peer = LinkMessage::default();
    peer.attributes
        .push(LinkAttribute::IfName(plan.pod_if.clone()));
    peer.attributes
        .push(LinkAttribute::NetNsFd(netns.as_raw_fd()));
    let mut link = LinkMessage::default();
    link.attributes.push(LinkAttribute::IfName(host_if.clone()));
    link.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
    ]));
    host.ack(
        RouteNetlinkMessage::NewLink(link),
        NLM_F_CREATE | NLM_F_EXCL,
    )
    .map_err(failed(format!("create veth `{host_if}`")))?;
    let hidx = host
        .index(host_if)
        .map_err(failed(format!("find `{host_if}`")))?;
    for (path, value) in &plan.host_sysctls {
        let current = match std::fs::read_to_string(path) {
            Ok(c) => c,
            // A kernel without IPv6 has nothing of it to turn off.
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    && path.starts_with("/proc/sys/net/ipv6") =>
            {
                continue
            }
            Err(_) => String::new(),
        };
        if current.trim() != *value {
            std::fs::write(path, value)
                .map_err(failed(format!("write {value} to `{}`", path.display())))?;
        }
    }
    host.address(hidx, plan.gateway, 32, 0)
        .map_err(failed(format!("add {}/32 to `{host_if}`", plan.gateway)))?;
    host.up(hidx)
        .map_err(failed(format!("bring `{host_if}` up")))?;
    host.route(
        hidx,
        &Route {
            dst: plan.pod_ip,
            prefix: 32,
            via: None,
        },
    )
    .map_err(|source| Error {
        op: format!("add the route to {} via `{host_if}`", plan.pod_ip),
        source,
        host_route: true,
    })?;

    let pod = socket_in(netns).map_err(failed("open a route netlink socket in the pod"))?;
    let pod_if = plan.pod_if.as_str();
    // `lo` is stage1-init's (as for `--net=none`).
    let pidx = pod
        .index(pod_if)
        .map_err(failed(format!("find the pod's `{pod_if}`")))?;
    pod.address(pidx, plan.pod_ip, plan.prefix, NO_PREFIX_ROUTE)
        .map_err(failed(format!(
            "add {}/{} to the pod's `{pod_if}`",
            plan.pod_ip, plan.prefix
        )))?;
    pod.up(pidx)
        .map_err(failed(format!("bring the pod's `{pod_if}` up")))?;
    for r in &plan.pod_routes {
        pod.route(pidx, r).map_err(failed(format!(
            "add the pod's route to {}/{}",
            r.dst, r.prefix
        )))?;
    }
    Ok(())
}
