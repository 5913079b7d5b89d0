//! Secrets from the kernel's seeded pool.

use std::io;

/// Fills `buf` with getrandom(2) (flags 0: it waits until the pool is seeded, once, at boot;
/// never the unseeded bytes /dev/urandom hands out that early).
///
/// # References
///  - [getrandom(2)](https://man7.org/linux/man-pages/man2/getrandom.2.html)
pub(crate) fn fill(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: the pointer and length describe `rest`, a live, writable slice.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        done += n as usize;
    }
    Ok(())
}
