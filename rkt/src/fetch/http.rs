//! The HTTP(S) transport: one ureq agent with rustls on the ring provider, the roots of the
//! host (or the compiled-in ones), and rkt's policy on top of it: plain http and bad
//! certificates only when `--insecure-options` says so, redirects followed here (at most
//! [`MAX_REDIRECTS`], never from https down to http unless http is allowed), credentials
//! chosen per hop from `auth.d` (so they never follow a redirect to another host), and
//! timeouts on connecting and on a stalled transfer.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use ureq::http::{Response, StatusCode};
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
use ureq::Body;

use super::auth::Auth;
use super::{Error, Result};

pub(crate) const MAX_REDIRECTS: usize = 10;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// No byte for this long on an open transfer is a stall.
const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Tests set a shorter stall timeout (seconds) so a slowloris server fails them quickly.
const STALL_TIMEOUT_ENV: &str = "RKT_FETCH_STALL_TIMEOUT";

/// What the transport may relax.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Policy {
    pub(crate) allow_http: bool,
    pub(crate) skip_tls_verify: bool,
}

pub(crate) struct Client {
    agent: ureq::Agent,
    policy: Policy,
    auth: Auth,
}

/// A response after redirects, with the URL that produced it.
pub(crate) struct Reply {
    pub(crate) url: String,
    pub(crate) response: Response<Body>,
}

impl Reply {
    pub(crate) fn status(&self) -> u16 {
        self.response.status().as_u16()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
    }

    /// The body, refused past `limit` bytes.
    pub(crate) fn read_limited(mut self, limit: u64, what: &str) -> Result<Vec<u8>> {
        let url = self.url.clone();
        let mut out = Vec::new();
        let mut reader = self.response.body_mut().as_reader().take(limit + 1);
        reader
            .read_to_end(&mut out)
            .map_err(|e| Error::transfer(&url, e))?;
        if out.len() as u64 > limit {
            return Err(Error::TooLarge {
                url,
                what: what.to_string(),
                limit,
            });
        }
        Ok(out)
    }
}

impl Client {
    pub(crate) fn new(policy: Policy, auth: Auth) -> Client {
        let stall = std::env::var(STALL_TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&s| s > 0)
            .map_or(DEFAULT_STALL_TIMEOUT, Duration::from_secs);
        let config = ureq::Agent::config_builder()
            .tls_config(tls_config(policy.skip_tls_verify))
            .http_status_as_error(false)
            // Redirects are followed by `get`, which applies rkt's rules to each hop.
            .max_redirects(0)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_recv_response(Some(stall))
            .timeout_per_read(Some(stall))
            .user_agent(concat!("rkt/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            agent: config.new_agent(),
            policy,
            auth,
        }
    }

    /// GETs `url` with `headers`, following redirects by rkt's rules; any final status is
    /// returned for the caller to judge.
    pub(crate) fn get(&self, url: &str, headers: &[(&str, String)]) -> Result<Reply> {
        let mut current = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            self.check_scheme(&current)?;
            let mut req = self.agent.get(&current);
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            // rkt 1.30: credentials only over https, for the domain written as the URL's
            // host[:port].
            if current.starts_with("https://") {
                for (k, v) in self.auth.headers_for(authority_of(&current).unwrap_or("")) {
                    req = req.header(k, v);
                }
            }
            crate::log::debug!("GET {current}");
            let response = req.call().map_err(|e| Error::http(&current, e))?;
            let status = response.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                return Ok(Reply {
                    url: current,
                    response,
                });
            }
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| Error::Protocol {
                    url: current.clone(),
                    reason: format!("redirect {status} without a Location"),
                })?;
            let next = resolve(&current, location).ok_or_else(|| Error::Protocol {
                url: current.clone(),
                reason: format!("redirect to unusable location {location:?}"),
            })?;
            if current.starts_with("https://")
                && next.starts_with("http://")
                && !self.policy.allow_http
            {
                return Err(Error::RedirectRefused {
                    from: current,
                    to: next,
                });
            }
            current = next;
        }
        Err(Error::TooManyRedirects {
            url: url.to_string(),
        })
    }

    pub(crate) fn allows_http(&self) -> bool {
        self.policy.allow_http
    }

    fn check_scheme(&self, url: &str) -> Result<()> {
        if url.starts_with("https://") {
            return Ok(());
        }
        if url.starts_with("http://") {
            return if self.policy.allow_http {
                Ok(())
            } else {
                Err(Error::PlainHttp {
                    url: url.to_string(),
                })
            };
        }
        Err(Error::Protocol {
            url: url.to_string(),
            reason: "only http and https URLs can be fetched".into(),
        })
    }
}

fn tls_config(skip_verify: bool) -> TlsConfig {
    let roots = system_roots();
    let roots = if roots.is_empty() {
        crate::log::debug!("no system CA certificates found; using the compiled-in roots");
        RootCerts::WebPki
    } else {
        RootCerts::new_with_certs(&roots)
    };
    TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        // Explicit, so nothing depends on a process-wide default provider.
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .root_certs(roots)
        .disable_verification(skip_verify)
        .build()
}

/// The host's CA certificates, `SSL_CERT_FILE` and `SSL_CERT_DIR` honoured.
fn system_roots() -> Vec<Certificate<'static>> {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        crate::log::debug!("loading CA certificates: {e}");
    }
    found
        .certs
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect()
}

/// The URL's `host[:port]` as written (without userinfo): what rkt's auth.d domains match.
pub(crate) fn authority_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(authority.rsplit_once('@').map_or(authority, |(_, h)| h))
}

/// `location` resolved against `base` (RFC 3986 reference resolution, without dot-segment
/// removal: the server gets the path as its redirect gave it).
pub(crate) fn resolve(base: &str, location: &str) -> Option<String> {
    let location = location.trim();
    if location.is_empty() || location.chars().any(|c| c.is_control() || c == ' ') {
        return None;
    }
    if let Some((scheme, _)) = location.split_once("://") {
        if scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Some(location.to_string());
        }
    }
    let (scheme, rest) = base.split_once("://")?;
    if let Some(net) = location.strip_prefix("//") {
        return Some(format!("{scheme}://{net}"));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..authority_end]);
    if location.starts_with('/') {
        return Some(format!("{origin}{location}"));
    }
    let path = &rest[authority_end..];
    let path = path.split(['?', '#']).next().unwrap_or("");
    if location.starts_with('?') {
        return Some(format!("{origin}{path}{location}"));
    }
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    Some(format!("{origin}{dir}{location}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_locations_resolve() {
        let base = "https://a.example/x/y.aci?q=1";
        assert_eq!(resolve(base, "https://b/z").unwrap(), "https://b/z");
        assert_eq!(resolve(base, "http://b/z").unwrap(), "http://b/z");
        assert_eq!(resolve(base, "//c/d").unwrap(), "https://c/d");
        assert_eq!(resolve(base, "/abs").unwrap(), "https://a.example/abs");
        assert_eq!(
            resolve(base, "rel.aci").unwrap(),
            "https://a.example/x/rel.aci"
        );
        assert_eq!(
            resolve(base, "?p=2").unwrap(),
            "https://a.example/x/y.aci?p=2"
        );
        assert_eq!(resolve("https://h", "x").unwrap(), "https://h/x");
        assert!(resolve(base, "").is_none());
        assert!(resolve(base, "a\nb").is_none());
    }

    #[test]
    fn authorities_keep_ports_and_drop_credentials() {
        assert_eq!(
            authority_of("https://u:p@Example.com:8443/x"),
            Some("Example.com:8443")
        );
        assert_eq!(
            authority_of("http://localhost?ac-discovery=1"),
            Some("localhost")
        );
        assert_eq!(authority_of("https://[::1]:443/x"), Some("[::1]:443"));
        assert_eq!(authority_of("nourl"), None);
    }
}
