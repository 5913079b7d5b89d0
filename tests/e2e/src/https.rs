//! A scripted HTTPS (and plain HTTP) server for the remote-fetch tests, on 127.0.0.1:443 and
//! :80 of a network namespace of the test's own.
//!
//! AC names carry no port, so the server must own port 443 of `localhost`: [`NetNs::enter`]
//! moves the calling test thread into a new network namespace with `lo` up (namespaces are
//! per thread; threads and processes started from it inherit it), so parallel tests never
//! collide and nothing touches the host's ports. The certificate comes from a throw-away CA
//! made with rcgen, handed to rkt through `SSL_CERT_FILE`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The test thread's own network namespace, with `lo` up.
pub struct NetNs(());

impl NetNs {
    /// Moves the calling thread into a new network namespace. The namespace goes away when
    /// the thread, the server threads and the processes started from them are gone.
    pub fn enter() -> NetNs {
        crate::require_root();
        // SAFETY: unshare only changes this thread's namespace membership.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "unshare(CLONE_NEWNET): {}",
            std::io::Error::last_os_error()
        );
        lo_up();
        NetNs(())
    }
}

fn lo_up() {
    // SAFETY: a plain datagram socket, closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: ifreq is plain data; zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: fd is open and req names an interface; SIOCGIFFLAGS fills ifru_flags.
    let rc = unsafe { libc::ioctl(fd, libc::SIOCGIFFLAGS as _, &mut req) };
    assert_eq!(
        rc,
        0,
        "SIOCGIFFLAGS lo: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: the union member the kernel just filled.
    unsafe { req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short };
    // SAFETY: as above; SIOCSIFFLAGS reads ifru_flags.
    let rc = unsafe { libc::ioctl(fd, libc::SIOCSIFFLAGS as _, &req) };
    assert_eq!(
        rc,
        0,
        "SIOCSIFFLAGS lo: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `https` or `http`.
    pub scheme: &'static str,
    /// Path and query, as sent.
    pub target: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send only this many body bytes (Content-Length still says all), then close.
    pub truncate_at: Option<usize>,
    /// After the headers and `truncate_at` bytes, send nothing more until the test ends.
    pub stall: bool,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
            truncate_at: None,
            stall: false,
        }
    }

    pub fn ok(body: impl Into<Vec<u8>>) -> Response {
        Response::new(200, body)
    }

    pub fn not_found() -> Response {
        Response::new(404, "not found")
    }

    pub fn redirect(to: &str) -> Response {
        Response::new(302, "").header("Location", to)
    }

    pub fn header(mut self, k: &str, v: &str) -> Response {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// Which certificate the HTTPS side presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cert {
    /// Valid for `localhost` and `127.0.0.1`, from the test CA.
    Good,
    /// From the test CA, but for another host name.
    WrongHost,
    /// From the test CA, for `localhost`, but valid only in 2000.
    Expired,
}

pub struct Server {
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Request>>>,
    handler: Arc<Mutex<Arc<Handler>>>,
    threads: Vec<JoinHandle<()>>,
    ca_file: PathBuf,
}

impl Server {
    /// Serves https on 127.0.0.1:443 and http on 127.0.0.1:80 of the current thread's
    /// namespace (see [`NetNs`]); the test CA goes to `dir/ca.pem`.
    pub fn start(_ns: &NetNs, dir: &Path, cert: Cert) -> Server {
        let (ca_pem, tls) = make_tls(cert);
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca_pem).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Mutex<Arc<Handler>>> =
            Arc::new(Mutex::new(Arc::new(|_: &Request| Response::not_found())));
        let mut threads = Vec::new();
        for (port, tls) in [(443u16, Some(tls)), (80, None)] {
            let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind in the test netns");
            listener.set_nonblocking(true).unwrap();
            let (stop, log, handler) = (stop.clone(), log.clone(), handler.clone());
            threads.push(std::thread::spawn(move || {
                accept_loop(listener, tls, stop, log, handler)
            }));
        }
        Server {
            stop,
            log,
            handler,
            threads,
            ca_file,
        }
    }

    /// Replaces the request handler.
    pub fn handle(&self, f: impl Fn(&Request) -> Response + Send + Sync + 'static) {
        *self.handler.lock().unwrap() = Arc::new(f);
    }

    /// The requests served so far (and forgets them).
    pub fn take_log(&self) -> Vec<Request> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    /// The environment that makes rkt trust the test CA, and only it.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SSL_CERT_FILE", self.ca_file.display().to_string()),
            ("SSL_CERT_DIR", "/nonexistent".to_string()),
        ]
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn make_tls(which: Cert) -> (String, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "rkt e2e test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let names = match which {
        Cert::Good | Cert::Expired => vec!["localhost".to_string(), "127.0.0.1".to_string()],
        Cert::WrongHost => vec!["wrong.example".to_string()],
    };
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(names).unwrap();
    if which == Cert::Expired {
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2000, 12, 31);
    }
    let cert = params.signed_by(&key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (ca_cert.pem(), Arc::new(config))
}

fn accept_loop(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Request>>>,
    handler: Arc<Mutex<Arc<Handler>>>,
) {
    let mut conns = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                // Only against a client that connects and never sends: a slow one (a loaded
                // machine) must still be served.
                let _ = stream.set_read_timeout(Some(crate::WAIT));
                let (tls, stop, log, handler) =
                    (tls.clone(), stop.clone(), log.clone(), handler.clone());
                conns.push(std::thread::spawn(move || {
                    let _ = serve(stream, tls, &stop, &log, &handler);
                }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => break,
        }
    }
    for c in conns {
        let _ = c.join();
    }
}

fn serve(
    stream: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: &AtomicBool,
    log: &Mutex<Vec<Request>>,
    handler: &Mutex<Arc<Handler>>,
) -> std::io::Result<()> {
    match tls {
        Some(config) => {
            let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
            let mut s = rustls::StreamOwned::new(conn, stream);
            let truncated = serve_one(&mut s, "https", stop, log, handler)?;
            if !truncated {
                s.conn.send_close_notify();
                s.flush()?;
            }
            Ok(())
        }
        None => {
            let mut s = stream;
            serve_one(&mut s, "http", stop, log, handler).map(|_| ())
        }
    }
}

fn serve_one<S: Read + Write>(
    stream: &mut S,
    scheme: &'static str,
    stop: &AtomicBool,
    log: &Mutex<Vec<Request>>,
    handler: &Mutex<Arc<Handler>>,
) -> std::io::Result<bool> {
    let mut reader = BufReader::new(&mut *stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    drop(reader);
    let req = Request {
        scheme,
        target,
        headers,
    };
    let handler = handler.lock().unwrap().clone();
    let resp = handler(&req);
    log.lock().unwrap().push(req);
    let mut head = format!("HTTP/1.1 {} X\r\n", resp.status);
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n",
        resp.body.len()
    ));
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    let send = resp
        .truncate_at
        .unwrap_or(resp.body.len())
        .min(resp.body.len());
    for chunk in resp.body[..send].chunks(64 * 1024) {
        stream.write_all(chunk)?;
    }
    stream.flush()?;
    if resp.stall {
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(send < resp.body.len())
}
