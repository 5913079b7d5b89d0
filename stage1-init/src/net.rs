//! The pod's network, for `--net=none`: rkt created an empty network namespace, in which `lo`
//! exists but is down; apps expect 127.0.0.1 to work (appc ACE: "a pod has loopback").

use std::os::fd::AsRawFd;

use rustix::net::{socket_with, AddressFamily, SocketFlags, SocketType};

use crate::error::{Error, Result};

/// `ip link set lo up`, with the SIOCGIFFLAGS/SIOCSIFFLAGS ioctls (netdevice(7)); rustix has
/// no wrapper for them.
pub fn loopback_up() -> Result<()> {
    let sock = socket_with(
        AddressFamily::INET,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| Error::call("socket for lo", e))?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: both ioctls read and write exactly one `struct ifreq`, which `req` is; the
    // union field ifru_flags is the one these requests use.
    unsafe {
        if libc::ioctl(
            sock.as_raw_fd(),
            libc::SIOCGIFFLAGS as libc::Ioctl,
            &mut req,
        ) != 0
        {
            return Err(Error::sys("get flags of", "lo", crate::error::last_errno()));
        }
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as libc::Ioctl, &req) != 0 {
            return Err(Error::sys("bring up", "lo", crate::error::last_errno()));
        }
    }
    Ok(())
}
