//! stage0's side of the registration API: registering a pod and its apps before they start,
//! unregistering it when it exits or is collected (rkt 1.30's `stage0/registration.go`).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// rkt 1.30's words when the service does not answer.
pub(crate) const UNREACHABLE: &str = "could not reach the metadata service. Make sure metadata \
service is currently running or use \"rkt run --mds-register=false\" to skip pod registration";

/// A fresh token: 128 bits from the seeded kernel pool, as 32 lowercase hex digits (rkt's).
pub(crate) fn new_token() -> std::io::Result<String> {
    let mut raw = [0u8; 16];
    crate::sys::random::fill(&mut raw)?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

/// Registers the pod (its manifest) and each app (name, image manifest).
pub(crate) fn register(
    socket: &Path,
    uuid: &str,
    token: &str,
    pod_manifest: &[u8],
    apps: &[(String, Vec<u8>)],
) -> Result<(), String> {
    request(
        socket,
        "PUT",
        &format!("/pods/{uuid}?token={token}"),
        pod_manifest,
    )?;
    for (name, manifest) in apps {
        if let Err(e) = request(socket, "PUT", &format!("/pods/{uuid}/{name}"), manifest) {
            let _ = unregister(socket, uuid);
            return Err(e);
        }
    }
    Ok(())
}

/// Unregisters the pod; a pod the service does not know is no error.
pub(crate) fn unregister(socket: &Path, uuid: &str) -> Result<(), String> {
    match request(socket, "DELETE", &format!("/pods/{uuid}"), b"") {
        Err(e) if e.starts_with("DELETE") && e.ends_with("404") => Ok(()),
        other => other,
    }
}

/// One request; an error says what failed, never the token.
fn request(socket: &Path, method: &str, path: &str, body: &[u8]) -> Result<(), String> {
    let shown = path.split('?').next().unwrap_or(path);
    let mut s = UnixStream::connect(socket).map_err(|e| format!("{UNREACHABLE} ({e})"))?;
    let limit = Some(Duration::from_secs(30));
    let io = |e: std::io::Error| format!("{method} {shown}: {e}");
    s.set_read_timeout(limit).map_err(io)?;
    s.set_write_timeout(limit).map_err(io)?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: unixsock\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).map_err(io)?;
    s.write_all(body).map_err(io)?;
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).map_err(io)?;
    let status = std::str::from_utf8(&reply)
        .ok()
        .and_then(|r| r.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(200) => Ok(()),
        Some(code) => Err(format!("{method} {shown} returned {code}")),
        None => Err(format!("{method} {shown}: no HTTP reply")),
    }
}
