//! nf_tables over netlink: a small encoder for the few messages rkt sends (a table with its
//! sets, chains and rules in one atomic batch; set elements; the table's deletion) and a
//! reader of the kernel's acks. No crate does this under a licence rkt can take (rustables is
//! GPL-3.0), and the subset is small: the attribute layout is `linux/netfilter/nf_tables.h`.
//!
//! Integers inside nf_tables attributes are big-endian; netlink headers are in host order.
//!
//! # References
//!  - [netlink(7)](https://man7.org/linux/man-pages/man7/netlink.7.html),
//!    `include/uapi/linux/netfilter/nf_tables.h`, `net/netfilter/nfnetlink.c` (batches)

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLM_F_DUMP: u16 = 0x300;
const NLA_F_NESTED: u16 = 0x8000;
/// `NFPROTO_IPV4`: the `ip` family.
pub(crate) const FAMILY_IPV4: u8 = 2;

const NEWTABLE: u16 = 0;
const GETTABLE: u16 = 1;
const DELTABLE: u16 = 2;
const NEWCHAIN: u16 = 3;
const NEWRULE: u16 = 6;
const NEWSET: u16 = 9;
const NEWSETELEM: u16 = 12;
const GETSETELEM: u16 = 13;
const DELSETELEM: u16 = 14;

/// The 16-byte register (`NFT_REG_1`) and the 4-byte ones (`NFT_REG32_00` + n), which overlay
/// the same storage: concatenations are loaded field by field into consecutive 4-byte ones.
pub(crate) const REG_1: u32 = 1;
pub(crate) const fn reg32(n: u32) -> u32 {
    8 + n
}
const REG_VERDICT: u32 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetaKey {
    IifName = 6,
    OifName = 7,
    L4Proto = 16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    Network = 1,
    Transport = 2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq = 0,
    Neq = 1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hook {
    Prerouting = 0,
    Output = 3,
    Postrouting = 4,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChainType {
    Filter,
    Nat,
}

/// One expression of a rule, as `nft` would describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Meta {
        key: MetaKey,
        dreg: u32,
    },
    Payload {
        base: Base,
        offset: u32,
        len: u32,
        dreg: u32,
    },
    /// `reg = reg & mask` (xor 0).
    Mask {
        reg: u32,
        mask: Vec<u8>,
    },
    Cmp {
        reg: u32,
        op: CmpOp,
        data: Vec<u8>,
    },
    /// `fib daddr type`: the destination's route type (host order) into `dreg`.
    FibDaddrType {
        dreg: u32,
    },
    Lookup {
        set: &'static str,
        sreg: u32,
        /// A map's value goes there.
        dreg: Option<u32>,
        invert: bool,
    },
    Drop,
    Masquerade,
    /// `dnat ip to` the address in `addr` and the port in `port`.
    Dnat {
        addr: u32,
        port: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Set {
    pub(crate) name: &'static str,
    /// `nft`'s datatype id of the key (concatenations: 6 bits per field), for `nft list`.
    pub(crate) key_type: u32,
    pub(crate) key_len: u32,
    /// A map: the value's datatype id and length.
    pub(crate) data: Option<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chain {
    pub(crate) name: &'static str,
    pub(crate) kind: ChainType,
    pub(crate) hook: Hook,
    pub(crate) priority: i32,
    pub(crate) rules: Vec<Vec<Expr>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    pub(crate) name: &'static str,
    pub(crate) sets: Vec<Set>,
    pub(crate) chains: Vec<Chain>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) set: &'static str,
    pub(crate) key: Vec<u8>,
    pub(crate) data: Option<Vec<u8>>,
}

/// Netlink attributes, appended in order.
#[derive(Default, Clone)]
struct Attrs(Vec<u8>);

impl Attrs {
    fn put(&mut self, ty: u16, data: &[u8]) {
        let len = 4 + data.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&ty.to_ne_bytes());
        self.0.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
    }

    fn str(&mut self, ty: u16, s: &str) {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.put(ty, &b);
    }

    fn be32(&mut self, ty: u16, v: u32) {
        self.put(ty, &v.to_be_bytes());
    }

    fn nest(&mut self, ty: u16, inner: impl FnOnce(&mut Attrs)) {
        let start = self.0.len();
        self.0.extend_from_slice(&[0; 4]);
        inner(self);
        let len = (self.0.len() - start) as u16;
        self.0[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self.0[start + 2..start + 4].copy_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
    }

    /// `NFTA_DATA_VALUE` inside a nest of type `ty`.
    fn value(&mut self, ty: u16, data: &[u8]) {
        self.nest(ty, |a| a.put(1, data));
    }
}

fn expr_name(e: &Expr) -> &'static str {
    match e {
        Expr::Meta { .. } => "meta",
        Expr::Payload { .. } => "payload",
        Expr::Mask { .. } => "bitwise",
        Expr::Cmp { .. } => "cmp",
        Expr::FibDaddrType { .. } => "fib",
        Expr::Lookup { .. } => "lookup",
        Expr::Drop => "immediate",
        Expr::Masquerade => "masq",
        Expr::Dnat { .. } => "nat",
    }
}

/// The expression's `NFTA_EXPR_DATA` attributes (`NFTA_<NAME>_*` numbering).
fn expr_data(a: &mut Attrs, e: &Expr) {
    match e {
        Expr::Meta { key, dreg } => {
            a.be32(1, *dreg);
            a.be32(2, *key as u32);
        }
        Expr::Payload {
            base,
            offset,
            len,
            dreg,
        } => {
            a.be32(1, *dreg);
            a.be32(2, *base as u32);
            a.be32(3, *offset);
            a.be32(4, *len);
        }
        Expr::Mask { reg, mask } => {
            a.be32(1, *reg);
            a.be32(2, *reg);
            a.be32(3, mask.len() as u32);
            a.value(4, mask);
            a.value(5, &vec![0; mask.len()]);
        }
        Expr::Cmp { reg, op, data } => {
            a.be32(1, *reg);
            a.be32(2, *op as u32);
            a.value(3, data);
        }
        Expr::FibDaddrType { dreg } => {
            a.be32(1, *dreg);
            // NFT_FIB_RESULT_ADDRTYPE, NFTA_FIB_F_DADDR
            a.be32(2, 3);
            a.be32(3, 2);
        }
        Expr::Lookup {
            set,
            sreg,
            dreg,
            invert,
        } => {
            a.str(1, set);
            a.be32(2, *sreg);
            if let Some(d) = dreg {
                a.be32(3, *d);
            }
            if *invert {
                // NFT_LOOKUP_F_INV
                a.be32(5, 1);
            }
        }
        Expr::Drop => {
            a.be32(1, REG_VERDICT);
            // NFTA_IMMEDIATE_DATA { NFTA_DATA_VERDICT { NFTA_VERDICT_CODE NF_DROP } }
            a.nest(2, |a| a.nest(2, |a| a.be32(1, 0)));
        }
        Expr::Masquerade => {}
        Expr::Dnat { addr, port } => {
            // NFT_NAT_DNAT, NFPROTO_IPV4, address and port registers.
            a.be32(1, 1);
            a.be32(2, u32::from(FAMILY_IPV4));
            a.be32(3, *addr);
            a.be32(5, *port);
        }
    }
}

/// `NFTA_LIST_ELEM { NFTA_EXPR_NAME, NFTA_EXPR_DATA { ... } }`.
fn encode_expr(a: &mut Attrs, e: &Expr) {
    a.nest(1, |a| {
        a.str(1, expr_name(e));
        a.nest(2, |a| expr_data(a, e));
    });
}

/// One netlink message: header, `nfgenmsg`, attributes.
#[derive(Clone)]
struct Message {
    ty: u16,
    flags: u16,
    family: u8,
    res_id: u16,
    attrs: Attrs,
}

impl Message {
    fn nft(op: u16, flags: u16, attrs: Attrs) -> Message {
        Message {
            ty: (NFNL_SUBSYS_NFTABLES << 8) | op,
            flags,
            family: FAMILY_IPV4,
            res_id: 0,
            attrs,
        }
    }

    fn batch(ty: u16) -> Message {
        Message {
            ty,
            flags: 0,
            family: 0,
            res_id: NFNL_SUBSYS_NFTABLES,
            attrs: Attrs::default(),
        }
    }

    fn encode(&self, seq: u32, out: &mut Vec<u8>) {
        let len = 16 + 4 + self.attrs.0.len();
        out.extend_from_slice(&(len as u32).to_ne_bytes());
        out.extend_from_slice(&self.ty.to_ne_bytes());
        out.extend_from_slice(&(NLM_F_REQUEST | self.flags).to_ne_bytes());
        out.extend_from_slice(&seq.to_ne_bytes());
        out.extend_from_slice(&0u32.to_ne_bytes());
        out.push(self.family);
        out.push(0);
        out.extend_from_slice(&self.res_id.to_be_bytes());
        out.extend_from_slice(&self.attrs.0);
    }
}

fn table_msg(op: u16, flags: u16, table: &str) -> Message {
    let mut a = Attrs::default();
    a.str(1, table);
    Message::nft(op, flags, a)
}

fn set_msg(table: &str, set: &Set, id: u32) -> Message {
    let mut a = Attrs::default();
    a.str(1, table);
    a.str(2, set.name);
    // NFT_SET_MAP for maps.
    a.be32(3, if set.data.is_some() { 8 } else { 0 });
    a.be32(4, set.key_type);
    a.be32(5, set.key_len);
    if let Some((ty, len)) = set.data {
        a.be32(6, ty);
        a.be32(7, len);
    }
    a.be32(10, id);
    Message::nft(NEWSET, NLM_F_CREATE | NLM_F_EXCL, a)
}

fn chain_msg(table: &str, chain: &Chain) -> Message {
    let mut a = Attrs::default();
    a.str(1, table);
    a.str(3, chain.name);
    a.nest(4, |a| {
        a.be32(1, chain.hook as u32);
        a.be32(2, chain.priority as u32);
    });
    a.str(
        7,
        match chain.kind {
            ChainType::Filter => "filter",
            ChainType::Nat => "nat",
        },
    );
    Message::nft(NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, a)
}

fn rule_msg(table: &str, chain: &str, exprs: &[Expr]) -> Message {
    let mut a = Attrs::default();
    a.str(1, table);
    a.str(2, chain);
    a.nest(4, |a| {
        for e in exprs {
            encode_expr(a, e);
        }
    });
    Message::nft(NEWRULE, NLM_F_CREATE | NLM_F_APPEND, a)
}

fn element_msg(op: u16, flags: u16, table: &str, e: &Element) -> Message {
    let mut a = Attrs::default();
    a.str(1, table);
    a.str(2, e.set);
    a.nest(3, |a| {
        a.nest(1, |a| {
            a.value(1, &e.key);
            if let Some(d) = &e.data {
                a.value(2, d);
            }
        })
    });
    Message::nft(op, flags, a)
}

/// The messages that create `table` and everything in it.
fn table_messages(table: &Table) -> Vec<Message> {
    let mut msgs = vec![table_msg(NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, table.name)];
    for (i, s) in table.sets.iter().enumerate() {
        msgs.push(set_msg(table.name, s, i as u32 + 1));
    }
    for c in &table.chains {
        msgs.push(chain_msg(table.name, c));
        for r in &c.rules {
            msgs.push(rule_msg(table.name, c.name, r));
        }
    }
    msgs
}

struct Nfnl(Socket);

impl Nfnl {
    fn open() -> io::Result<Nfnl> {
        let mut s = Socket::new(NETLINK_NETFILTER)?;
        s.bind_auto()?;
        s.connect(&SocketAddr::new(0, 0))?;
        // A kernel that drops the batch without an answer must not hang rkt.
        rustix::net::sockopt::set_socket_timeout(
            s.as_fd(),
            rustix::net::sockopt::Timeout::Recv,
            Some(Duration::from_secs(10)),
        )?;
        Ok(Nfnl(s))
    }

    /// Receives the next datagram and splits it into (type, seq, payload) messages.
    fn recv(&self, buf: &mut Vec<u8>) -> io::Result<Vec<(u16, u32, Vec<u8>)>> {
        buf.resize(256 * 1024, 0);
        let n = self.0.recv(&mut &mut buf[..], 0)?;
        let mut out = Vec::new();
        let mut at = 0;
        while at + 16 <= n {
            let len = u32::from_ne_bytes(buf[at..at + 4].try_into().expect("4 bytes")) as usize;
            if len < 16 || at + len > n {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "truncated netlink message",
                ));
            }
            let ty = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
            let seq = u32::from_ne_bytes(buf[at + 8..at + 12].try_into().expect("4 bytes"));
            out.push((ty, seq, buf[at + 16..at + len].to_vec()));
            at += (len + 3) & !3;
        }
        Ok(out)
    }

    /// Sends `msgs` as one transaction: all of them take effect or none. Returns the index of
    /// the first message the kernel refused, with its error.
    fn batch(&self, msgs: &[Message]) -> Result<(), (usize, io::Error)> {
        let whole = |e: io::Error| (usize::MAX, e);
        let mut buf = Vec::new();
        // Sequence numbers: the begin marker is 1, message i is i + 2.
        Message::batch(NFNL_MSG_BATCH_BEGIN).encode(1, &mut buf);
        for (i, m) in msgs.iter().enumerate() {
            let mut m = m.clone();
            m.flags |= NLM_F_ACK;
            m.encode(i as u32 + 2, &mut buf);
        }
        Message::batch(NFNL_MSG_BATCH_END).encode(msgs.len() as u32 + 2, &mut buf);
        self.0.send(&buf, 0).map_err(whole)?;
        let mut pending = msgs.len();
        let mut first: Option<(usize, io::Error)> = None;
        let mut rx = Vec::new();
        while pending > 0 {
            for (ty, seq, payload) in self.recv(&mut rx).map_err(whole)? {
                if ty != NLMSG_ERROR || payload.len() < 4 {
                    continue;
                }
                let code = i32::from_ne_bytes(payload[..4].try_into().expect("4 bytes"));
                if seq < 2 {
                    return Err(whole(io::Error::from_raw_os_error(-code)));
                }
                pending = pending.saturating_sub(1);
                let index = (seq - 2) as usize;
                if code != 0 && first.as_ref().is_none_or(|(i, _)| index < *i) {
                    first = Some((index, io::Error::from_raw_os_error(-code)));
                }
            }
        }
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Whether a table of this name exists: a plain read, where a refused creation would cost a
/// whole transaction's abort (~15 ms here).
fn table_exists(nl: &Nfnl, name: &str) -> io::Result<bool> {
    let mut buf = Vec::new();
    table_msg(GETTABLE, NLM_F_ACK, name).encode(1, &mut buf);
    nl.0.send(&buf, 0)?;
    let mut rx = Vec::new();
    loop {
        for (ty, _, payload) in nl.recv(&mut rx)? {
            if ty == NLMSG_ERROR && payload.len() >= 4 {
                let code = i32::from_ne_bytes(payload[..4].try_into().expect("4 bytes"));
                return match -code {
                    0 => Ok(true),
                    libc::ENOENT => Ok(false),
                    e => Err(io::Error::from_raw_os_error(e)),
                };
            }
            if ty == (NFNL_SUBSYS_NFTABLES << 8) | NEWTABLE {
                // The table itself; its ack follows.
                continue;
            }
        }
    }
}

/// Creates `table` with its sets, chains and rules in one transaction, unless it exists.
/// `Ok(false)`: it exists already (made by another rkt; the transaction that made it was
/// whole).
pub(crate) fn create_table(table: &Table) -> io::Result<bool> {
    let nl = Nfnl::open()?;
    if table_exists(&nl, table.name)? {
        return Ok(false);
    }
    match nl.batch(&table_messages(table)) {
        Ok(()) => Ok(true),
        Err((0, e)) if e.raw_os_error() == Some(libc::EEXIST) => Ok(false),
        Err((i, e)) => Err(io::Error::new(
            e.kind(),
            format!("{} (message {i} of the table)", e),
        )),
    }
}

/// Adds `elements` in one transaction; an element that exists already fails it (EEXIST),
/// with the index of that element.
pub(crate) fn add_elements(table: &str, elements: &[Element]) -> Result<(), (usize, io::Error)> {
    let nl = Nfnl::open().map_err(|e| (usize::MAX, e))?;
    let msgs: Vec<Message> = elements
        .iter()
        .map(|e| element_msg(NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, table, e))
        .collect();
    nl.batch(&msgs)
}

/// Deletes one element; one that is not there (or whose table is gone) is fine.
pub(crate) fn delete_element(table: &str, element: &Element) -> io::Result<()> {
    let nl = Nfnl::open()?;
    match nl.batch(&[element_msg(DELSETELEM, 0, table, element)]) {
        Ok(()) => Ok(()),
        Err((_, e)) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err((_, e)) => Err(e),
    }
}

/// Whether `set` of `table` has no element (`Ok(None)`: there is no such table).
pub(crate) fn set_is_empty(table: &str, set: &str) -> io::Result<Option<bool>> {
    let nl = Nfnl::open()?;
    let mut a = Attrs::default();
    a.str(1, table);
    a.str(2, set);
    let mut buf = Vec::new();
    Message::nft(GETSETELEM, NLM_F_DUMP, a).encode(1, &mut buf);
    nl.0.send(&buf, 0)?;
    let mut rx = Vec::new();
    let mut empty = true;
    loop {
        for (ty, _, payload) in nl.recv(&mut rx)? {
            match ty {
                NLMSG_DONE => return Ok(Some(empty)),
                NLMSG_ERROR => {
                    let code = i32::from_ne_bytes(payload[..4].try_into().expect("4 bytes"));
                    return match code {
                        0 => Ok(Some(empty)),
                        c if -c == libc::ENOENT => Ok(None),
                        c => Err(io::Error::from_raw_os_error(-c)),
                    };
                }
                // The kernel may answer an empty set with a message that has no elements.
                t if t == (NFNL_SUBSYS_NFTABLES << 8) | NEWSETELEM => {
                    empty &= !has_elements(&payload);
                }
                _ => {}
            }
        }
    }
}

/// Whether a NEWSETELEM payload (`nfgenmsg`, then attributes) carries a non-empty
/// `NFTA_SET_ELEM_LIST_ELEMENTS`.
fn has_elements(payload: &[u8]) -> bool {
    let mut at = 4;
    while at + 4 <= payload.len() {
        let len = u16::from_ne_bytes([payload[at], payload[at + 1]]) as usize;
        let ty = u16::from_ne_bytes([payload[at + 2], payload[at + 3]]) & !NLA_F_NESTED;
        if len < 4 {
            return false;
        }
        if ty == 3 && len > 4 {
            return true;
        }
        at += (len + 3) & !3;
    }
    false
}

/// Deletes `table` and everything in it; one that is not there is fine.
pub(crate) fn delete_table(table: &str) -> io::Result<()> {
    let nl = Nfnl::open()?;
    match nl.batch(&[table_msg(DELTABLE, 0, table)]) {
        Ok(()) => Ok(()),
        Err((_, e)) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err((_, e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_nests_carry_their_length() {
        let mut a = Attrs::default();
        a.nest(4, |a| a.str(1, "ab"));
        // nest header (4) + attr header (4) + "ab\0" padded to 4
        assert_eq!(a.0.len(), 12);
        assert_eq!(u16::from_ne_bytes([a.0[0], a.0[1]]), 12);
        assert_eq!(u16::from_ne_bytes([a.0[2], a.0[3]]), 4 | NLA_F_NESTED);
        assert_eq!(u16::from_ne_bytes([a.0[4], a.0[5]]), 7);
        assert_eq!(&a.0[8..12], b"ab\0\0");
    }

    #[test]
    fn a_batch_is_begin_messages_end() {
        let t = Table {
            name: "t",
            sets: vec![],
            chains: vec![],
        };
        let msgs = table_messages(&t);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].ty, (10 << 8) | NEWTABLE);
        assert_eq!(msgs[0].flags, NLM_F_CREATE | NLM_F_EXCL);
        let mut buf = Vec::new();
        msgs[0].encode(7, &mut buf);
        assert_eq!(buf.len() % 4, 0);
        assert_eq!(
            u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize,
            buf.len()
        );
        assert_eq!(u32::from_ne_bytes(buf[8..12].try_into().unwrap()), 7);
        assert_eq!(buf[16], FAMILY_IPV4);
    }
}
