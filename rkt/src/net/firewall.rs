//! rkt's nf_tables rules, as data: one table, `ip rkt`, whose rules never change while pods
//! come and go; a pod only adds and deletes elements of its sets and maps. So a start needs no
//! rule bookkeeping, and `rm`/`gc` of one pod cannot disturb another's rules.
//!
//! - `pre` (before NAT): a packet that arrives on a pod's veth is dropped when it is addressed
//!   to 127.0.0.0/8 (with `route_localnet`, which `--port` needs for the host's own 127.0.0.1,
//!   the host would accept it: the CVE-2020-8558 class), or when its source is not the
//!   address of the pod behind that veth (`pods`; strict rp_filter does the same, this is the
//!   second line).
//! - `nat_pre`/`nat_out`: `--port` forwards to a local destination, from other hosts and from
//!   the host itself, looked up in `fwd_ip` (a HOSTIP was given) then in `fwd_any`.
//!
//! A pod's elements are recorded in its dir before they are added, so `rm`/`gc` delete them
//! also after a crash.
//! - `nat_post`: masquerade for the `default` network's traffic leaving its subnet (ipMasq),
//!   and for the host's 127.0.0.1 connections forwarded into a pod, whose replies must come
//!   back to an address the pod can route.
//!
//! The table goes when its last pod is gone (`pods` is empty), under a host-wide lock: several
//! data dirs share the kernel's table.

use std::net::Ipv4Addr;

use super::Builtin;
use crate::sys::nftables::{
    reg32, Base, Chain, ChainType, CmpOp, Element, Expr, Hook, MetaKey, Set, Table, REG_1,
};

pub(crate) const TABLE: &str = "rkt";
/// `host veth name . pod address`: one element per pod on a built-in network.
pub(crate) const PODS: &str = "pods";
pub(crate) const FWD_ANY: &str = "fwd_any";
pub(crate) const FWD_IP: &str = "fwd_ip";

/// The prefix of every host-side veth rkt names (see [`super::plan::host_if_name`]).
const VETH_PREFIX: &[u8] = b"rkt";
const IFNAMSIZ: usize = 16;
/// `RTN_LOCAL`, as `fib` stores it (host order).
const RTN_LOCAL: u32 = 2;
pub(crate) const TCP: u8 = 6;
pub(crate) const UDP: u8 = 17;

// nft's datatype ids (`TYPE_*` in nftables' datatype.h), only for `nft list`: the kernel
// checks lengths, not types. A concatenation shifts each field in by 6 bits.
const TYPE_IPADDR: u32 = 7;
const TYPE_INET_PROTOCOL: u32 = 12;
const TYPE_INET_SERVICE: u32 = 13;
const TYPE_IFNAME: u32 = 41;
const fn concat(a: u32, b: u32) -> u32 {
    (a << 6) | b
}

/// One `--port`, resolved: traffic to `host_ip` (any local address when None) on `host_port`
/// goes to `pod_ip:pod_port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Forward {
    pub(crate) protocol: u8,
    pub(crate) host_ip: Option<Ipv4Addr>,
    pub(crate) host_port: u16,
    pub(crate) pod_ip: Ipv4Addr,
    pub(crate) pod_port: u16,
}

fn iif_is_pod_veth() -> [Expr; 2] {
    [
        Expr::Meta {
            key: MetaKey::IifName,
            dreg: REG_1,
        },
        Expr::Cmp {
            reg: REG_1,
            op: CmpOp::Eq,
            data: VETH_PREFIX.to_vec(),
        },
    ]
}

/// `ip saddr` (offset 12) or `ip daddr` (16) in (or not in) `net/prefix`.
fn addr_in(offset: u32, net: Ipv4Addr, prefix: u8, op: CmpOp) -> [Expr; 3] {
    [
        Expr::Payload {
            base: Base::Network,
            offset,
            len: 4,
            dreg: REG_1,
        },
        Expr::Mask {
            reg: REG_1,
            mask: super::plan::mask(prefix).octets().to_vec(),
        },
        Expr::Cmp {
            reg: REG_1,
            op,
            data: net.octets().to_vec(),
        },
    ]
}

const SADDR: u32 = 12;
const DADDR: u32 = 16;
const LOOPBACK: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 0);

/// `fib daddr type local`, then the lookup of `[daddr .] l4proto . th dport` in `map`, then
/// DNAT to the address and port it maps to.
fn forward_rule(map: &'static str, with_daddr: bool) -> Vec<Expr> {
    let mut r = vec![
        Expr::FibDaddrType { dreg: REG_1 },
        Expr::Cmp {
            reg: REG_1,
            op: CmpOp::Eq,
            data: RTN_LOCAL.to_ne_bytes().to_vec(),
        },
    ];
    let mut field = 0;
    if with_daddr {
        r.push(Expr::Payload {
            base: Base::Network,
            offset: DADDR,
            len: 4,
            dreg: reg32(0),
        });
        field = 1;
    }
    r.push(Expr::Meta {
        key: MetaKey::L4Proto,
        dreg: reg32(field),
    });
    r.push(Expr::Payload {
        base: Base::Transport,
        offset: 2,
        len: 2,
        dreg: reg32(field + 1),
    });
    r.push(Expr::Lookup {
        set: map,
        sreg: reg32(0),
        dreg: Some(reg32(0)),
        invert: false,
    });
    r.push(Expr::Dnat {
        addr: reg32(0),
        port: reg32(1),
    });
    r
}

/// The whole table, for the built-in networks `nets` (those with ipMasq get masquerade).
pub(crate) fn table(nets: &[&Builtin]) -> Table {
    let proto_port = concat(TYPE_INET_PROTOCOL, TYPE_INET_SERVICE);
    let addr_port = concat(TYPE_IPADDR, TYPE_INET_SERVICE);
    let sets = vec![
        Set {
            name: PODS,
            key_type: concat(TYPE_IFNAME, TYPE_IPADDR),
            key_len: IFNAMSIZ as u32 + 4,
            data: None,
        },
        Set {
            name: FWD_ANY,
            key_type: proto_port,
            key_len: 8,
            data: Some((addr_port, 8)),
        },
        Set {
            name: FWD_IP,
            key_type: concat(concat(TYPE_IPADDR, TYPE_INET_PROTOCOL), TYPE_INET_SERVICE),
            key_len: 12,
            data: Some((addr_port, 8)),
        },
    ];
    let mut no_loopback = iif_is_pod_veth().to_vec();
    no_loopback.extend(addr_in(DADDR, LOOPBACK, 8, CmpOp::Eq));
    no_loopback.push(Expr::Drop);
    let mut no_spoofing = iif_is_pod_veth().to_vec();
    no_spoofing.extend([
        Expr::Payload {
            base: Base::Network,
            offset: SADDR,
            len: 4,
            dreg: reg32(4),
        },
        // REG_1 still holds the whole interface name: the key is `iifname . ip saddr`.
        Expr::Lookup {
            set: PODS,
            sreg: REG_1,
            dreg: None,
            invert: true,
        },
        Expr::Drop,
    ]);
    let mut post = Vec::new();
    for net in nets.iter().filter(|n| n.ip_masq) {
        let mut r = addr_in(SADDR, net.subnet, net.prefix, CmpOp::Eq).to_vec();
        r.extend(addr_in(DADDR, net.subnet, net.prefix, CmpOp::Neq));
        r.push(Expr::Masquerade);
        post.push(r);
    }
    let mut from_loopback = vec![
        Expr::Meta {
            key: MetaKey::OifName,
            dreg: REG_1,
        },
        Expr::Cmp {
            reg: REG_1,
            op: CmpOp::Eq,
            data: VETH_PREFIX.to_vec(),
        },
    ];
    from_loopback.extend(addr_in(SADDR, LOOPBACK, 8, CmpOp::Eq));
    from_loopback.push(Expr::Masquerade);
    post.push(from_loopback);
    let forwards = || vec![forward_rule(FWD_IP, true), forward_rule(FWD_ANY, false)];
    Table {
        name: TABLE,
        sets,
        chains: vec![
            Chain {
                name: "pre",
                kind: ChainType::Filter,
                // After conntrack (-200), before DNAT (-100): the destination is still the
                // one the pod wrote, and replies are not yet translated back to 127.0.0.1.
                hook: Hook::Prerouting,
                priority: -150,
                rules: vec![no_loopback, no_spoofing],
            },
            Chain {
                name: "nat_pre",
                kind: ChainType::Nat,
                hook: Hook::Prerouting,
                priority: -100,
                rules: forwards(),
            },
            Chain {
                name: "nat_out",
                kind: ChainType::Nat,
                hook: Hook::Output,
                priority: -100,
                rules: forwards(),
            },
            Chain {
                name: "nat_post",
                kind: ChainType::Nat,
                hook: Hook::Postrouting,
                priority: 100,
                rules: post,
            },
        ],
    }
}

fn field(bytes: &[u8]) -> [u8; 4] {
    let mut f = [0; 4];
    f[..bytes.len()].copy_from_slice(bytes);
    f
}

fn proto_port(protocol: u8, port: u16) -> Vec<u8> {
    [field(&[protocol]), field(&port.to_be_bytes())].concat()
}

/// The elements a pod adds: its `pods` entry, then its forwards in order (element i + 1 is
/// forward i, so that a refused element names its forward). A host port forwarded by another
/// pod already is refused by the kernel (EEXIST) for the same HOSTIP, or for none on both
/// sides; a forward with a HOSTIP and one without coexist, the one with the HOSTIP winning
/// for that address (as rkt 1.30's iptables rules did).
pub(crate) fn pod_elements(host_if: &str, pod_ip: Ipv4Addr, forwards: &[Forward]) -> Vec<Element> {
    let mut out = Vec::new();
    let mut name = [0u8; IFNAMSIZ];
    let n = host_if.len().min(IFNAMSIZ - 1);
    name[..n].copy_from_slice(&host_if.as_bytes()[..n]);
    out.push(Element {
        set: PODS,
        key: [&name[..], &pod_ip.octets()].concat(),
        data: None,
    });
    for f in forwards {
        let to = [f.pod_ip.octets(), field(&f.pod_port.to_be_bytes())].concat();
        let element = match f.host_ip {
            None => Element {
                set: FWD_ANY,
                key: proto_port(f.protocol, f.host_port),
                data: Some(to),
            },
            Some(ip) => Element {
                set: FWD_IP,
                key: [&ip.octets()[..], &proto_port(f.protocol, f.host_port)].concat(),
                data: Some(to),
            },
        };
        out.push(element);
    }
    out
}

const SETS: [&str; 3] = [PODS, FWD_ANY, FWD_IP];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The pod dir's `net-rules`: one line per element, `set key [value]` in hex.
pub(crate) fn encode_record(elements: &[Element]) -> String {
    elements
        .iter()
        .map(|e| match &e.data {
            Some(d) => format!("{} {} {}\n", e.set, hex(&e.key), hex(d)),
            None => format!("{} {}\n", e.set, hex(&e.key)),
        })
        .collect()
}

/// The elements of a `net-rules` record; lines that are not rkt's are skipped (they name
/// nothing rkt would have added).
pub(crate) fn parse_record(text: &str) -> Vec<Element> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split(' ');
            let name = f.next()?;
            let set = SETS.into_iter().find(|s| *s == name)?;
            let key = unhex(f.next()?)?;
            let data = match f.next() {
                Some(d) => Some(unhex(d)?),
                None => None,
            };
            Some(Element { set, key, data })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{DEFAULT, DEFAULT_RESTRICTED};

    fn chain<'t>(t: &'t Table, name: &str) -> &'t Chain {
        t.chains.iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn pod_packets_to_loopback_are_dropped_before_nat() {
        let t = table(&[&DEFAULT, &DEFAULT_RESTRICTED]);
        let pre = chain(&t, "pre");
        assert!(
            pre.priority > -200 && pre.priority < -100,
            "after conntrack, before DNAT"
        );
        let r = &pre.rules[0];
        assert_eq!(
            r[1],
            Expr::Cmp {
                reg: REG_1,
                op: CmpOp::Eq,
                data: b"rkt".to_vec()
            }
        );
        assert!(r.contains(&Expr::Mask {
            reg: REG_1,
            mask: vec![255, 0, 0, 0]
        }));
        assert!(r.contains(&Expr::Cmp {
            reg: REG_1,
            op: CmpOp::Eq,
            data: vec![127, 0, 0, 0]
        }));
        assert_eq!(r.last(), Some(&Expr::Drop));
        // Anti-spoofing: not in `pods` -> drop.
        assert!(pre.rules[1].contains(&Expr::Lookup {
            set: PODS,
            sreg: REG_1,
            dreg: None,
            invert: true
        }));
    }

    #[test]
    fn only_ip_masq_networks_are_masqueraded() {
        let t = table(&[&DEFAULT, &DEFAULT_RESTRICTED]);
        let post = &chain(&t, "nat_post").rules;
        // default's subnet, then the host's 127.0.0.1 into pods; default-restricted: none.
        assert_eq!(post.len(), 2);
        assert!(post[0].contains(&Expr::Cmp {
            reg: REG_1,
            op: CmpOp::Neq,
            data: vec![172, 16, 28, 0]
        }));
        assert!(!post.concat().contains(&Expr::Cmp {
            reg: REG_1,
            op: CmpOp::Eq,
            data: vec![172, 31, 0, 0]
        }));
    }

    #[test]
    fn forwards_look_up_the_specific_address_first() {
        let t = table(&[&DEFAULT]);
        for name in ["nat_pre", "nat_out"] {
            let rules = &chain(&t, name).rules;
            let maps: Vec<_> = rules
                .iter()
                .flat_map(|r| {
                    r.iter().filter_map(|e| match e {
                        Expr::Lookup { set, .. } => Some(*set),
                        _ => None,
                    })
                })
                .collect();
            assert_eq!(maps, [FWD_IP, FWD_ANY]);
            assert!(rules
                .iter()
                .all(|r| r[0] == Expr::FibDaddrType { dreg: REG_1 }));
        }
    }

    #[test]
    fn elements_are_padded_fields() {
        let fwd = Forward {
            protocol: TCP,
            host_ip: None,
            host_port: 8080,
            pod_ip: Ipv4Addr::new(172, 16, 28, 2),
            pod_port: 80,
        };
        let specific = Forward {
            host_ip: Some(Ipv4Addr::LOCALHOST),
            host_port: 9090,
            ..fwd.clone()
        };
        let e = pod_elements(
            "rkt0f1e2d3c4b5a",
            Ipv4Addr::new(172, 16, 28, 2),
            &[fwd, specific],
        );
        assert_eq!(e[0].set, PODS);
        assert_eq!(e[0].key.len(), 20);
        assert_eq!(&e[0].key[..16], b"rkt0f1e2d3c4b5a\0");
        assert_eq!(&e[0].key[16..], [172, 16, 28, 2]);
        assert_eq!(e[1].set, FWD_ANY);
        assert_eq!(e[1].key, [6, 0, 0, 0, 0x1f, 0x90, 0, 0]);
        assert_eq!(
            e[1].data.as_deref(),
            Some(&[172, 16, 28, 2, 0, 80, 0, 0][..])
        );
        assert_eq!(e[2].set, FWD_IP);
        assert_eq!(e[2].key, [127, 0, 0, 1, 6, 0, 0, 0, 0x23, 0x82, 0, 0]);
    }

    #[test]
    fn the_record_round_trips() {
        let fwd = Forward {
            protocol: UDP,
            host_ip: Some(Ipv4Addr::new(10, 0, 0, 1)),
            host_port: 53,
            pod_ip: Ipv4Addr::new(172, 16, 28, 9),
            pod_port: 5353,
        };
        let e = pod_elements("rkt0123", Ipv4Addr::new(172, 16, 28, 9), &[fwd]);
        let text = encode_record(&e);
        assert_eq!(parse_record(&text), e);
        assert!(parse_record("evil 00\npods zz\n").is_empty());
    }
}
