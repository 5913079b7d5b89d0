//! The service's one thread: a poll loop over the two listeners, every connection and the
//! stop signals. A connection gets one request, which must arrive whole within
//! [`REQUEST_TIME`] and under the size caps; then one reply, and it is closed. Nothing a
//! client does (garbage, huge bodies, idling, trickling bytes) holds up another client.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};

use super::api::{self, HmacKey};
use super::http::{self, Parsed, Response};
use super::registry::Registry;

/// A request must arrive whole within this time (slow clients are cut off).
pub(crate) const REQUEST_TIME: Duration = Duration::from_secs(10);
/// Body caps: apps post small forms; stage0 posts manifests.
const MAX_PUBLIC_BODY: usize = 64 << 10;
const MAX_REGISTRATION_BODY: usize = 8 << 20;
/// Connections held at once; beyond that, new ones are answered 503 and closed.
const MAX_CONNECTIONS: usize = 4096;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    Public,
    Registration,
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Stream::Tcp(s) => s.as_fd(),
            Stream::Unix(s) => s.as_fd(),
        }
    }
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
}

struct Conn {
    stream: Stream,
    api: Api,
    input: Vec<u8>,
    /// The reply, once there is one, and how much of it is written.
    output: Option<(Vec<u8>, usize)>,
    deadline: Instant,
}

/// What the loop serves.
pub(crate) struct Service {
    pub(crate) public: TcpListener,
    pub(crate) registration: UnixListener,
    pub(crate) stop: OwnedFd,
    pub(crate) registry: Registry,
    pub(crate) key: HmacKey,
    /// A line per request on stderr (the token left out).
    pub(crate) log: bool,
}

impl Service {
    /// Serves until a stop signal arrives.
    pub(crate) fn run(mut self) -> io::Result<()> {
        self.public.set_nonblocking(true)?;
        self.registration.set_nonblocking(true)?;
        let mut conns: Vec<Conn> = Vec::new();
        let mut buf = vec![0u8; 16 << 10];
        loop {
            let now = Instant::now();
            let timeout = conns
                .iter()
                .map(|c| c.deadline.saturating_duration_since(now))
                .min()
                // A millisecond late rather than early: no spin on a deadline not yet due.
                .map(|d| d + Duration::from_millis(1))
                .map(|d| rustix::event::Timespec {
                    tv_sec: d.as_secs() as _,
                    tv_nsec: d.subsec_nanos() as _,
                });
            let (ready, stop) = {
                let mut fds = Vec::with_capacity(conns.len() + 3);
                fds.push(PollFd::new(&self.stop, PollFlags::IN));
                fds.push(PollFd::new(&self.public, PollFlags::IN));
                fds.push(PollFd::new(&self.registration, PollFlags::IN));
                for c in &conns {
                    let want = if c.output.is_some() {
                        PollFlags::OUT
                    } else {
                        PollFlags::IN
                    };
                    fds.push(PollFd::from_borrowed_fd(c.stream.fd(), want));
                }
                match poll(&mut fds, timeout.as_ref()) {
                    Ok(_) | Err(rustix::io::Errno::INTR) => {}
                    Err(e) => return Err(e.into()),
                }
                let ready: Vec<PollFlags> = fds.iter().map(|f| f.revents()).collect();
                (ready, !fds[0].revents().is_empty())
            };
            if stop {
                return Ok(());
            }
            // Connections first (their indexes are those of the poll set), then new ones.
            let now = Instant::now();
            let mut keep = Vec::with_capacity(conns.len());
            for (mut c, events) in conns.into_iter().zip(ready[3..].iter().copied()) {
                let open = if !events.is_empty() {
                    self.step(&mut c, &mut buf)
                } else if now >= c.deadline && c.output.is_none() {
                    self.reply(&mut c, Response::text(408, "request timeout\n"), "-");
                    true
                } else {
                    now < c.deadline + REQUEST_TIME
                };
                if open {
                    keep.push(c);
                }
            }
            conns = keep;
            if !ready[1].is_empty() {
                self.accept_tcp(&mut conns);
            }
            if !ready[2].is_empty() {
                self.accept_unix(&mut conns);
            }
        }
    }

    fn accept_tcp(&self, conns: &mut Vec<Conn>) {
        while let Ok((s, _)) = self.public.accept() {
            if s.set_nonblocking(true).is_ok() {
                admit(conns, Stream::Tcp(s), Api::Public);
            }
        }
    }

    fn accept_unix(&self, conns: &mut Vec<Conn>) {
        while let Ok((s, _)) = self.registration.accept() {
            // Only root registers pods, whatever the socket's mode says.
            if crate::sys::service::peer_uid(&s).ok() == Some(0) && s.set_nonblocking(true).is_ok()
            {
                admit(conns, Stream::Unix(s), Api::Registration);
            }
        }
    }

    /// Reads or writes what the connection is ready for; false once it is done.
    fn step(&mut self, c: &mut Conn, buf: &mut [u8]) -> bool {
        if let Some((out, written)) = &mut c.output {
            match c.stream.write(&out[*written..]) {
                Ok(n) => *written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return false,
            }
            return *written < out.len();
        }
        let n = match c.stream.read(buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        };
        c.input.extend_from_slice(&buf[..n]);
        let max = match c.api {
            Api::Public => MAX_PUBLIC_BODY,
            Api::Registration => MAX_REGISTRATION_BODY,
        };
        match http::parse(&c.input, max) {
            Parsed::Partial => true,
            Parsed::Refused(r) => {
                self.reply(c, r, "-");
                true
            }
            Parsed::Done(req) => {
                let reply = match c.api {
                    Api::Public => api::public(&self.registry, &self.key, &req),
                    Api::Registration => api::registration(&mut self.registry, &req),
                };
                let line = format!("{} {}", req.method, shown_path(&req.path, c.api));
                self.reply(c, reply, &line);
                true
            }
        }
    }

    fn reply(&self, c: &mut Conn, r: Response, line: &str) {
        if self.log {
            eprintln!("rkt: metadata-service: {line} - {}", r.status);
        }
        c.input = Vec::new();
        c.output = Some((r.encode(), 0));
    }
}

fn admit(conns: &mut Vec<Conn>, mut stream: Stream, api: Api) {
    if conns.len() >= MAX_CONNECTIONS {
        let _ = stream.write(&Response::text(503, "too many connections\n").encode());
        return;
    }
    conns.push(Conn {
        stream,
        api,
        input: Vec::new(),
        output: None,
        deadline: Instant::now() + REQUEST_TIME,
    });
}

/// The request path as logged: a public path's token (the pod's secret) left out.
fn shown_path(path: &str, api: Api) -> String {
    let shown: String = path.chars().take(200).collect();
    match (api, shown.strip_prefix('/').and_then(|p| p.split_once('/'))) {
        (Api::Public, Some((_, rest))) => format!("/<token>/{rest}"),
        _ => shown,
    }
}
