//! Remote images: `http(s)://` URLs and appc names found by meta discovery, downloaded into
//! the store's tmp directory (streamed, resumable), checked, then imported through
//! [`Store::import`]. rkt's HTTP cache rules apply (the per-URL record of `store::remote`):
//! `--pull-policy`, `Cache-Control: max-age` and `no-store`, `ETag`/`If-None-Match`, and
//! `Range`/`If-Range` to resume an interrupted download while its strong ETag still holds.
//!
//! Signatures are downloaded (before the image; HTTP 202 defers them until after it, once)
//! and handed to [`verify`], the one place where signature checking plugs in.
//!
//! Layering: cli/stage0 -> fetch -> store; the store knows nothing about HTTP.

pub(crate) mod auth;
mod discovery;
mod http;
mod progress;

use std::cell::OnceCell;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::config::{Config, Insecure};
use crate::store::{self, ImageKey, ImageQuery, Store};

pub(crate) use auth::Auth;

/// Signatures are a few hundred bytes; anything this large is not one.
pub(crate) const SIGNATURE_LIMIT: u64 = 1 << 20;
/// Dependency chains deeper than this are refused (and loops with them).
const MAX_DEPENDENCY_DEPTH: usize = 32;

/// `--pull-policy`: where an image may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PullPolicy {
    /// The store if it has the image, the network otherwise (rkt's default for `run`).
    New,
    /// Always ask the network, reusing the stored image when it has not changed (`fetch`).
    Update,
    /// The store only.
    Never,
}

impl PullPolicy {
    pub(crate) fn parse(value: &str) -> Option<PullPolicy> {
        match value {
            "new" => Some(PullPolicy::New),
            "update" => Some(PullPolicy::Update),
            "never" => Some(PullPolicy::Never),
            _ => None,
        }
    }

    /// The policy from `--pull-policy` and the deprecated `--no-store` / `--store-only`.
    pub(crate) fn from_flags(
        value: Option<&str>,
        no_store: bool,
        store_only: bool,
        default: PullPolicy,
    ) -> std::result::Result<PullPolicy, String> {
        let explicit = match value {
            Some(v) => Some(PullPolicy::parse(v).ok_or_else(|| {
                format!("invalid argument for --pull-policy: {v:?} (valid: new, update, never)")
            })?),
            None => None,
        };
        match (explicit, no_store, store_only) {
            (_, true, true) => Err("--no-store and --store-only cannot be used together".into()),
            (Some(_), true, _) | (Some(_), _, true) => {
                Err("--pull-policy cannot be used with --no-store or --store-only".into())
            }
            (Some(p), false, false) => Ok(p),
            (None, true, false) => Ok(PullPolicy::Update),
            (None, false, true) => Ok(PullPolicy::Never),
            (None, false, false) => Ok(default),
        }
    }
}

/// Whether a command-line image is a remote URL.
/// An image file's path as rkt 1.30's debug lines show it: absolute.
pub(crate) fn shown_path(path: &str) -> String {
    std::path::absolute(path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.to_string())
}

pub(crate) fn is_url(arg: &str) -> bool {
    arg.starts_with("https://") || arg.starts_with("http://")
}

/// A fetch that failed, naming the URL, name or file concerned.
#[derive(Debug)]
pub(crate) enum Error {
    /// Connecting, TLS, or the transfer failed.
    Http {
        url: String,
        source: Box<ureq::Error>,
    },
    /// Reading the body failed midway.
    Transfer {
        url: String,
        source: std::io::Error,
    },
    Status {
        url: String,
        status: u16,
    },
    Protocol {
        url: String,
        reason: String,
    },
    PlainHttp {
        url: String,
    },
    RedirectRefused {
        from: String,
        to: String,
    },
    TooManyRedirects {
        url: String,
    },
    TooLarge {
        url: String,
        what: String,
        limit: u64,
    },
    Discovery {
        name: String,
        reason: String,
    },
    /// The image is not what was asked for (appc: name and labels must match).
    Mismatch {
        url: String,
        reason: String,
    },
    Dependency {
        image: String,
        reason: String,
    },
    Signature {
        image: String,
        source: Box<crate::trust::Error>,
    },
    NotInStore {
        image: String,
    },
    /// `--signature` for an image taken from the store (verified when it was fetched).
    SignatureUnused {
        image: String,
    },
    Config {
        path: PathBuf,
        reason: String,
    },
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    Store(store::Error),
    Image(crate::image::Error),
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(op: &'static str, path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    fn http(url: &str, source: ureq::Error) -> Error {
        Error::Http {
            url: url.to_string(),
            source: Box::new(source),
        }
    }

    fn transfer(url: &str, source: std::io::Error) -> Error {
        Error::Transfer {
            url: url.to_string(),
            source,
        }
    }
}

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Self {
        Error::Store(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Http { url, source } => match source.as_ref() {
                ureq::Error::Timeout(_) => write!(f, "{url}: timed out"),
                ureq::Error::Io(_) | ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
                    write!(f, "{url}: request failed")
                }
                other => write!(f, "{url}: {other}"),
            },
            Error::Transfer { url, .. } => write!(f, "{url}: download interrupted"),
            // rkt 1.30's words (resumablesession.go), which its tests and scripts match.
            Error::Status { url, status } => write!(f, "{url}: bad HTTP status code: {status}"),
            Error::Protocol { url, reason } => write!(f, "{url}: {reason}"),
            Error::PlainHttp { url } => write!(
                f,
                "{url}: plain http is refused (use --insecure-options=http to allow it)"
            ),
            Error::RedirectRefused { from, to } => write!(
                f,
                "{from}: redirect from https to http ({to}) refused (use \
                 --insecure-options=http to allow it)"
            ),
            Error::TooManyRedirects { url } => {
                write!(f, "{url}: more than {} redirects", http::MAX_REDIRECTS)
            }
            Error::TooLarge { url, what, limit } => {
                write!(f, "{url}: {what} larger than {limit} bytes")
            }
            Error::Discovery { name, reason } => write!(f, "discovery of {name}: {reason}"),
            Error::Mismatch { url, reason } => write!(f, "{url}: {reason}"),
            Error::Dependency { image, reason } => write!(f, "dependency of {image}: {reason}"),
            Error::Signature { image, source } => write!(f, "{image}: {source}"),
            Error::NotInStore { image } => write!(
                f,
                "unable to fetch image from {image}: either image was not found in the store \
                 or store was disabled and fetching from remote yielded nothing or it was disabled"
            ),
            Error::SignatureUnused { image } => write!(
                f,
                "{image}: --signature applies to image files, URLs and names being fetched; \
                 this image is in the store"
            ),
            Error::Config { path, reason } => write!(f, "`{}`: {reason}", path.display()),
            Error::Io { op, path, .. } => write!(f, "{op} `{}`", path.display()),
            Error::Store(e) => e.fmt(f),
            Error::Image(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Http { source, .. } => match source.as_ref() {
                ureq::Error::Io(e) => Some(e),
                ureq::Error::Rustls(e) => Some(e),
                _ => None,
            },
            Error::Transfer { source, .. } => Some(source),
            Error::Io { source, .. } => Some(source),
            // Displayed with the trust error itself; what lies under it comes next.
            Error::Signature { source, .. } => std::error::Error::source(source.as_ref()),
            Error::Store(e) => std::error::Error::source(e),
            Error::Image(e) => std::error::Error::source(e),
            _ => None,
        }
    }
}

/// What a fetched image must be: discovery's name and labels (appc: MUST match).
struct Expect<'a> {
    name: &'a str,
    labels: &'a [(String, String)],
}

/// Fetches images for one command.
pub(crate) struct Fetcher<'a> {
    store: &'a Store,
    config: &'a Config,
    policy: PullPolicy,
    client: OnceCell<http::Client>,
}

impl<'a> Fetcher<'a> {
    pub(crate) fn new(store: &'a Store, config: &'a Config, policy: PullPolicy) -> Fetcher<'a> {
        Fetcher {
            store,
            config,
            policy,
            client: OnceCell::new(),
        }
    }

    fn client(&self) -> Result<&http::Client> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let client = new_client(self.config)?;
        Ok(self.client.get_or_init(|| client))
    }

    fn verifying(&self) -> bool {
        !self.config.insecure.contains(Insecure::IMAGE)
    }

    /// Fetches the image at an `http(s)://` URL; its signature is `signature` (`--signature
    /// FILE`) or else `<url minus .aci>.aci.asc`.
    pub(crate) fn fetch_url(&self, url: &str, signature: Option<&Path>) -> Result<ImageKey> {
        let asc = format!("{}.aci.asc", url.strip_suffix(".aci").unwrap_or(url));
        if url.starts_with("http://") && !self.config.insecure.contains(Insecure::HTTP) {
            // rkt 1.30 fetched an image URL the user wrote as http:// (its signature from
            // beside it, over http too): `http` gates only what rkt finds by itself
            // (discovery, keys, redirects from https).
            let explicit = Fetcher {
                client: OnceCell::from(new_client_allowing(self.config, true)?),
                ..*self
            };
            return explicit.fetch_aci(url, &asc, signature, None, 0);
        }
        self.fetch_aci(url, &asc, signature, None, 0)
    }

    /// Fetches an image by appc name (`name[:version][,label=value...]`): the store first
    /// under policy `new`, discovery otherwise. `signature` (`--signature FILE`) replaces the
    /// discovered `.aci.asc`.
    pub(crate) fn fetch_name(&self, arg: &str, signature: Option<&Path>) -> Result<ImageKey> {
        let (name, labels) = match ImageQuery::parse(arg)? {
            ImageQuery::Name { name, labels } => (name, labels),
            ImageQuery::Id(_) if signature.is_some() => {
                return Err(Error::SignatureUnused {
                    image: arg.to_string(),
                })
            }
            ImageQuery::Id(_) => return Ok(self.store.resolve(arg)?),
        };
        self.fetch_by_name(arg, &name, &labels, signature, 0)
    }

    fn fetch_by_name(
        &self,
        display: &str,
        name: &str,
        labels: &[(String, String)],
        signature: Option<&Path>,
        depth: usize,
    ) -> Result<ImageKey> {
        if self.policy != PullPolicy::Update {
            match self.store.find(name, labels) {
                Ok(_) if signature.is_some() => {
                    return Err(Error::SignatureUnused {
                        image: display.to_string(),
                    })
                }
                Ok(key) => {
                    // rkt 1.30's diag line, which its tests and scripts grep for.
                    crate::log::debug!(
                        "image: using image from local store for image name {display}"
                    );
                    return Ok(key);
                }
                Err(e) if e.is_not_found() && self.policy == PullPolicy::New => {}
                Err(e) if e.is_not_found() => {
                    return Err(Error::NotInStore {
                        image: display.to_string(),
                    })
                }
                Err(e) => return Err(e.into()),
            }
        }
        let labels = discovery::with_host_defaults(labels);
        let found = discovery::discover(self.client()?, name, &labels)?;
        crate::log::debug!("discovery of {name}: {found:?}");
        let endpoint = found.endpoints.first().ok_or_else(|| Error::Discovery {
            name: name.to_string(),
            reason: "no ac-discovery template could be rendered for the name and labels".into(),
        })?;
        if self.verifying() && self.config.trust_keys_from_https {
            crate::trust::trust_keys_from_https(self.config, name, &found.page, &found.pubkeys)
                .map_err(|e| Error::Signature {
                    image: name.to_string(),
                    source: Box::new(e),
                })?;
        }
        let expect = Expect {
            name,
            labels: &labels,
        };
        let key = self.fetch_aci(
            &endpoint.aci,
            &endpoint.asc,
            signature,
            Some(&expect),
            depth,
        )?;
        if !labels.iter().any(|(k, _)| k == "version") {
            self.store.mark_latest(&key)?;
        }
        Ok(key)
    }

    fn fetch_aci(
        &self,
        url: &str,
        asc_url: &str,
        signature_file: Option<&Path>,
        expect: Option<&Expect<'_>>,
        depth: usize,
    ) -> Result<ImageKey> {
        let record = self.store.remote(url)?;
        let cached = match record {
            Some(r) if self.store.has_image(&r.blob_key)? => Some(r),
            _ => None,
        };
        let cached_key = cached.as_ref().and_then(|r| ImageKey::from_id(&r.blob_key));
        match (self.policy, &cached_key) {
            (PullPolicy::Never, Some(key)) | (PullPolicy::New, Some(key)) => return Ok(key.clone()),
            (PullPolicy::Never, None) => {
                return Err(Error::NotInStore {
                    image: url.to_string(),
                })
            }
            _ => {}
        }
        if let (Some(r), Some(key)) = (&cached, &cached_key) {
            let age_ns = store::now_ns().saturating_sub(r.download_time);
            if r.cache_max_age > 0 && (age_ns as u128) < u128::from(r.cache_max_age) * 1_000_000_000
            {
                crate::log::debug!("{url}: cached copy is fresh (max-age); not downloading");
                return Ok(key.clone());
            }
        }
        let client = self.client()?;
        let signature = if let (true, Some(file)) = (self.verifying(), signature_file) {
            Some(Signature::Bytes(read_signature_file(file)?))
        } else if self.verifying() {
            Some(fetch_signature(client, asc_url)?)
        } else {
            crate::log::warning!("{url}: signature verification has been disabled");
            None
        };
        let etag = cached
            .as_ref()
            .map(|r| r.etag.as_str())
            .filter(|e| !e.is_empty());
        crate::log::debug!("image: fetching image from {url}");
        let transfer = match self.download(client, url, etag)? {
            Downloaded::NotModified => {
                crate::log::debug!("{url}: not modified; using the stored image");
                // Checked above: the record's image is in the store.
                return cached_key.ok_or_else(|| Error::Protocol {
                    url: url.to_string(),
                    reason: "HTTP 304 for an image that is not in the store".into(),
                });
            }
            Downloaded::Body(t) => *t,
        };
        // Nothing to check before the import (no signature, no expected identity) and a
        // fresh download: import while the bytes arrive, as a pipeline would.
        let downloaded = if signature.is_none() && expect.is_none() && transfer.start == 0 {
            let (body, result) = transfer.import_streaming(self.store);
            match result {
                Ok(imported) => return self.record(url, asc_url, body, &imported.key),
                Err(Streamed::Transfer(e)) => return Err(e),
                // The body is complete on disk: fetch the dependencies and import it again.
                Err(Streamed::Store(store::Error::MissingDependency { .. })) => body,
                Err(Streamed::Store(e)) => {
                    body.download.remove()?;
                    return Err(e.into());
                }
            }
        } else {
            transfer.finish()?
        };
        let data = downloaded.download.data_path();
        // Said once the image is in the store, so that a refusal stays one line.
        let mut verified = None;
        let checked = (|| {
            // The keys are looked up for the name discovery asked for, or for a URL the
            // name in the image's own manifest; either way the manifest is read once here.
            let manifest = crate::image::aci::inspect(&data)
                .map_err(Error::Image)?
                .manifest;
            if let Some(sig) = signature {
                let sig = match sig {
                    Signature::Bytes(b) => b,
                    Signature::Deferred => match deferred_signature(client, asc_url)? {
                        Signature::Bytes(b) => b,
                        Signature::Deferred => {
                            return Err(Error::Protocol {
                                url: asc_url.to_string(),
                                reason: "signature still not available (HTTP 202) after the image"
                                    .into(),
                            })
                        }
                    },
                };
                let name = expect.map_or(manifest.name.as_str(), |e| e.name);
                verified = Some(verify(self.config, name, &data, &sig)?);
            }
            if let Some(expect) = expect {
                check_identity(url, &manifest, expect)?;
            }
            self.fetch_dependencies(url, &manifest, depth)?;
            Ok(Some(manifest))
        })();
        let manifest = match checked {
            Ok(m) => m,
            Err(e) => {
                // A complete body that failed its checks is worth nothing.
                downloaded.download.remove()?;
                return Err(e);
            }
        };
        let imported = match self.store.import(&data) {
            Err(store::Error::MissingDependency { .. }) if manifest.is_none() => {
                let info = crate::image::aci::inspect(&data).map_err(Error::Image)?;
                self.fetch_dependencies(url, &info.manifest, depth)?;
                self.store.import(&data)
            }
            other => other,
        };
        let imported = match imported {
            Ok(i) => i,
            Err(e) => {
                downloaded.download.remove()?;
                return Err(e.into());
            }
        };
        if let Some(v) = verified {
            v.report();
        }
        self.record(url, asc_url, downloaded, &imported.key)
    }

    /// Records the fetched URL (unless the server said `no-store`) and drops the download.
    fn record(&self, url: &str, asc_url: &str, body: Body, key: &ImageKey) -> Result<ImageKey> {
        if body.no_store {
            crate::log::debug!("{url}: Cache-Control no-store; not recording the URL");
        } else {
            self.store.put_remote(&store::Remote {
                aci_url: url.to_string(),
                sig_url: asc_url.to_string(),
                etag: body.etag.clone(),
                blob_key: key.as_str().to_string(),
                cache_max_age: body.max_age,
                download_time: store::now_ns(),
            })?;
        }
        body.download.remove()?;
        Ok(key.clone())
    }

    /// Makes sure every dependency of `manifest` is in the store, fetching the missing ones
    /// by name and labels, and checking the imageID when the manifest pins one.
    fn fetch_dependencies(
        &self,
        image: &str,
        manifest: &crate::appc::ImageManifest,
        depth: usize,
    ) -> Result<()> {
        if manifest.dependencies.is_empty() {
            return Ok(());
        }
        if depth >= MAX_DEPENDENCY_DEPTH {
            return Err(Error::Dependency {
                image: image.to_string(),
                reason: format!("dependencies nest deeper than {MAX_DEPENDENCY_DEPTH}"),
            });
        }
        for dep in &manifest.dependencies {
            let name = dep.image_name.as_str();
            let labels: Vec<(String, String)> = dep
                .labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            if let Some(id) = &dep.image_id {
                if self.store.has_image(id.as_str())? {
                    continue;
                }
            }
            let key = self
                .fetch_by_name(name, name, &labels, None, depth + 1)
                .map_err(|e| {
                    let cause = crate::error::chain(&e);
                    // Most causes name the dependency already.
                    let reason = match cause.strip_prefix(name).and_then(|r| r.strip_prefix(": ")) {
                        Some(_) => cause,
                        None => format!("{name}: {cause}"),
                    };
                    Error::Dependency {
                        image: image.to_string(),
                        reason,
                    }
                })?;
            if let Some(id) = &dep.image_id {
                let wanted = ImageKey::from_id(id.as_str());
                if wanted.as_ref() != Some(&key) {
                    return Err(Error::Dependency {
                        image: image.to_string(),
                        reason: format!("{name}: fetched image {key} is not the imageID {id}"),
                    });
                }
            }
            if let Some(size) = dep.size {
                let record = self.store.record(&key)?;
                if record.size != size {
                    return Err(Error::Dependency {
                        image: image.to_string(),
                        reason: format!(
                            "{name}: fetched image is {} bytes, the manifest says {size}",
                            record.size
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Downloads `url` into its download entry, resuming a partial body when the server
    /// still serves the same (strong) ETag.
    fn download(&self, client: &http::Client, url: &str, etag: Option<&str>) -> Result<Downloaded> {
        let partial = self.store.partial_download(url)?;
        let resume = partial.as_ref().and_then(|d| {
            let meta = d.meta(url)?;
            let len = std::fs::metadata(d.data_path()).ok()?.len();
            (len > 0 && is_strong(&meta.etag)).then_some((meta.etag, len))
        });
        let mut headers: Vec<(&str, String)> = Vec::new();
        if let Some((tag, len)) = &resume {
            headers.push(("range", format!("bytes={len}-")));
            headers.push(("if-range", tag.clone()));
        } else if let Some(tag) = etag {
            headers.push(("if-none-match", tag.to_string()));
        }
        let reply = client.get(url, &headers)?;
        if reply.status() == 416 && resume.is_some() {
            // The partial body is no prefix of what is served now: start over.
            if let Some(d) = partial {
                d.remove()?;
            }
            return self.download(client, url, etag);
        }
        let start = match (reply.status(), &resume) {
            (304, _) if etag.is_some() && resume.is_none() => return Ok(Downloaded::NotModified),
            (200, _) => 0,
            (206, Some((tag, len))) => {
                let range_start = reply
                    .header("content-range")
                    .and_then(|v| v.strip_prefix("bytes "))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.parse::<u64>().ok());
                if range_start != Some(*len) || reply.header("etag") != Some(tag.as_str()) {
                    return Err(Error::Protocol {
                        url: reply.url,
                        reason: "partial content does not continue the interrupted download".into(),
                    });
                }
                *len
            }
            (status, _) => {
                return Err(Error::Status {
                    url: reply.url,
                    status,
                })
            }
        };
        let download = match partial {
            Some(d) => d,
            None => self.store.new_download(url)?,
        };
        let new_etag = reply.header("etag").unwrap_or("").to_string();
        let cache_control = reply.header("cache-control").unwrap_or("").to_string();
        let (max_age, no_store) = parse_cache_control(&cache_control);
        download.set_meta(&store::PartialMeta {
            url: url.to_string(),
            etag: new_etag.clone(),
            last_modified: reply.header("last-modified").unwrap_or("").to_string(),
        })?;
        let length = reply
            .header("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        let path = download.data_path();
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(start == 0)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        file.set_len(start)
            .map_err(|e| Error::io("truncate", &path, e))?;
        file.seek(SeekFrom::Start(start))
            .map_err(|e| Error::io("seek", &path, e))?;
        if start > 0 {
            crate::log::debug!("{url}: resuming at byte {start}");
        }
        Ok(Downloaded::Body(Box::new(Transfer {
            download,
            reply,
            file,
            start,
            length,
            etag: new_etag,
            max_age,
            no_store,
        })))
    }
}

/// A response being received into a download entry.
struct Transfer {
    download: store::Download,
    reply: http::Reply,
    file: File,
    /// Where this response's bytes start (non-zero when resuming).
    start: u64,
    /// This response's Content-Length.
    length: Option<u64>,
    etag: String,
    max_age: u64,
    no_store: bool,
}

impl Transfer {
    fn progress(&self) -> progress::Progress {
        progress::Progress::new(
            "Downloading ACI",
            self.length.map(|l| l + self.start),
            self.start,
        )
    }

    /// Receives the whole body into the download entry.
    fn finish(self) -> Result<Body> {
        let progress = self.progress();
        let Transfer {
            download,
            reply,
            mut file,
            length,
            etag,
            max_age,
            no_store,
            ..
        } = self;
        let url = reply.url.clone();
        let mut reader = BodyTee {
            body: reply.response.into_body().into_reader(),
            file: &mut file,
            path: download.data_path(),
            url: url.clone(),
            progress,
            failure: None,
            received: 0,
        };
        std::io::copy(&mut reader, &mut std::io::sink()).map_err(|e| {
            match reader.failure.take() {
                Some(failure) => failure,
                None => Error::transfer(&url, e),
            }
        })?;
        check_length(&url, reader.received, length)?;
        Ok(Body {
            download,
            etag,
            max_age,
            no_store,
        })
    }

    /// Imports the image while it arrives (the bytes are kept in the download entry too,
    /// for a later resume or a second pass).
    fn import_streaming(
        self,
        store: &Store,
    ) -> (Body, std::result::Result<store::Imported, Streamed>) {
        let progress = self.progress();
        let Transfer {
            download,
            reply,
            file,
            length,
            etag,
            max_age,
            no_store,
            ..
        } = self;
        let url = reply.url.clone();
        let failure = std::sync::Arc::new(std::sync::Mutex::new(None));
        let received = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let reader = SharedTee {
            inner: BodyTee {
                body: reply.response.into_body().into_reader(),
                file,
                path: download.data_path(),
                url: url.clone(),
                progress,
                failure: None,
                received: 0,
            },
            failure: failure.clone(),
            received: received.clone(),
        };
        let result = store.import_stream(reader, Path::new(&url));
        let body = Body {
            download,
            etag,
            max_age,
            no_store,
        };
        let transfer_failure = failure.lock().ok().and_then(|mut f| f.take());
        let received = received.load(std::sync::atomic::Ordering::Relaxed);
        let result = match (result, transfer_failure) {
            (_, Some(e)) => Err(Streamed::Transfer(e)),
            (Ok(imported), None) => match check_length(&url, received, length) {
                Ok(()) => Ok(imported),
                Err(e) => Err(Streamed::Transfer(e)),
            },
            (Err(e), None) => Err(Streamed::Store(e)),
        };
        (body, result)
    }
}

/// Why a streamed import failed.
enum Streamed {
    /// The download broke off: what arrived is kept for a resume.
    Transfer(Error),
    /// The image itself: as for an import from a file.
    Store(store::Error),
}

fn check_length(url: &str, received: u64, length: Option<u64>) -> Result<()> {
    match length {
        Some(expected) if received != expected => Err(Error::Protocol {
            url: url.to_string(),
            reason: format!("received {received} bytes, Content-Length said {expected}"),
        }),
        _ => Ok(()),
    }
}

/// Reads the body, writing every byte into the download entry as it goes (never the whole
/// body in memory); a failure of either side is kept for the caller.
struct BodyTee<F: Write> {
    body: ureq::BodyReader<'static>,
    file: F,
    path: PathBuf,
    url: String,
    progress: progress::Progress,
    failure: Option<Error>,
    received: u64,
}

impl<F: Write> Read for BodyTee<F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = match self.body.read(buf) {
            Ok(0) => {
                self.progress.finish();
                return Ok(0);
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                let kind = e.kind();
                self.failure = Some(Error::transfer(&self.url, e));
                return Err(std::io::Error::new(kind, "download interrupted"));
            }
        };
        if let Err(e) = self.file.write_all(&buf[..n]) {
            let kind = e.kind();
            self.failure = Some(Error::io("write", &self.path, e));
            return Err(std::io::Error::new(kind, "write of the download failed"));
        }
        self.received += n as u64;
        self.progress.add(n as u64);
        Ok(n)
    }
}

/// A [`BodyTee`] handed to the store, which owns it: what the caller needs afterwards is
/// shared.
struct SharedTee {
    inner: BodyTee<File>,
    failure: std::sync::Arc<std::sync::Mutex<Option<Error>>>,
    received: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Read for SharedTee {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let result = self.inner.read(buf);
        self.received
            .store(self.inner.received, std::sync::atomic::Ordering::Relaxed);
        if let Some(f) = self.inner.failure.take() {
            if let Ok(mut slot) = self.failure.lock() {
                *slot = Some(f);
            }
        }
        result
    }
}

enum Downloaded {
    NotModified,
    Body(Box<Transfer>),
}

struct Body {
    download: store::Download,
    etag: String,
    max_age: u64,
    no_store: bool,
}

enum Signature {
    Bytes(Vec<u8>),
    /// HTTP 202: ask again after the image.
    Deferred,
}

/// `--signature FILE` for a remote image, bounded as a downloaded one is.
fn read_signature_file(path: &Path) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| Error::io("open signature", path, e))?;
    let mut bytes = Vec::new();
    file.take(SIGNATURE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read signature", path, e))?;
    if bytes.len() as u64 > SIGNATURE_LIMIT {
        return Err(Error::TooLarge {
            url: format!("`{}`", path.display()),
            what: "signature".into(),
            limit: SIGNATURE_LIMIT,
        });
    }
    Ok(bytes)
}

/// The second ask for a signature the server deferred (HTTP 202) until after the image.
fn deferred_signature(client: &http::Client, url: &str) -> Result<Signature> {
    // rkt 1.30 said so without --debug too.
    eprintln!("rkt: image: server requested deferring the signature download");
    fetch_signature(client, url)
}

fn fetch_signature(client: &http::Client, url: &str) -> Result<Signature> {
    let reply = client.get(url, &[])?;
    match reply.status() {
        200 => Ok(Signature::Bytes(
            reply.read_limited(SIGNATURE_LIMIT, "signature")?,
        )),
        202 => Ok(Signature::Deferred),
        status => Err(Error::Status {
            url: reply.url,
            status,
        }),
    }
}

/// The transport as the configuration allows it, with the credentials of `auth.d`.
fn new_client(config: &Config) -> Result<http::Client> {
    new_client_allowing(config, config.insecure.contains(Insecure::HTTP))
}

fn new_client_allowing(config: &Config, allow_http: bool) -> Result<http::Client> {
    let auth = Auth::load(&config.config_dirs())?;
    Ok(http::Client::new(
        http::Policy {
            allow_http,
            skip_tls_verify: config.insecure.contains(Insecure::TLS),
        },
        auth,
    ))
}

/// GETs a small document (a public key) by rkt's transport rules, refused past `limit`
/// bytes. For `rkt trust KEY_URL`.
pub(crate) fn get_small(config: &Config, url: &str, limit: u64) -> Result<Vec<u8>> {
    let client = new_client(config)?;
    let reply = client.get(url, &[])?;
    match reply.status() {
        200 => reply.read_limited(limit, "document"),
        status => Err(Error::Status {
            url: reply.url,
            status,
        }),
    }
}

/// GETs a public key over https only, whatever `--insecure-options=http` says (redirects to
/// http refused too): for keys trusted without review (`--trust-keys-from-https`).
pub(crate) fn get_small_https(config: &Config, url: &str, limit: u64) -> Result<Vec<u8>> {
    if !url.starts_with("https://") {
        return Err(Error::PlainHttp {
            url: url.to_string(),
        });
    }
    let mut strict = config.clone();
    strict.insecure = strict.insecure.without(Insecure::HTTP);
    get_small(&strict, url, limit).map_err(|e| match e {
        // No flag allows this one: say so rather than suggest --insecure-options=http.
        Error::RedirectRefused { from, to } => Error::Protocol {
            url: from,
            reason: format!(
                "redirect to {to} refused: keys trusted without review come over https only"
            ),
        },
        other => other,
    })
}

/// The `ac-discovery-pubkeys` URLs for `prefix` (trust on first use, `rkt trust --prefix`).
pub(crate) fn discover_pubkeys(config: &Config, prefix: &str) -> Result<Vec<String>> {
    let client = new_client(config)?;
    let labels = discovery::with_host_defaults(&[]);
    Ok(discovery::discover(&client, prefix, &labels)?.pubkeys)
}

/// Verifies `signature` over the image at `image_path` against the keys trusted for `name`
/// (the manifest's name for a URL, the name asked for after discovery). The caller reports the
/// result on stderr once the image is stored (stdout carries only image IDs).
fn verify(
    config: &Config,
    name: &str,
    image_path: &Path,
    signature: &[u8],
) -> Result<crate::trust::Verified> {
    crate::trust::verify_image(config, name, image_path, signature).map_err(|e| Error::Signature {
        image: name.to_string(),
        source: Box::new(e),
    })
}

/// appc discovery: the image must carry the name and every label it was found for.
fn check_identity(
    url: &str,
    manifest: &crate::appc::ImageManifest,
    expect: &Expect<'_>,
) -> Result<()> {
    let mismatch = |reason: String| Error::Mismatch {
        url: url.to_string(),
        reason,
    };
    if manifest.name.as_str() != expect.name {
        return Err(mismatch(format!(
            "image name {:?} is not the requested {:?}",
            manifest.name.as_str(),
            expect.name
        )));
    }
    for (k, v) in expect.labels {
        match manifest.labels.get(k) {
            Some(got) if got == v => {}
            // rkt 1.30's words (`image/validator.go`), which its tests and scripts match.
            Some(got) => {
                return Err(mismatch(format!(
                    "requested value for label {k:?}: {v:?} differs from fetched aci label \
                     value: {got:?}"
                )))
            }
            None => {
                return Err(mismatch(format!(
                    "requested label {k:?} not provided by the image manifest"
                )))
            }
        }
    }
    Ok(())
}

/// `W/"x"` is a weak validator: fine for `If-None-Match`, never for a byte range.
fn is_strong(etag: &str) -> bool {
    !etag.is_empty() && !etag.starts_with("W/")
}

/// `(max-age seconds, no-store)` of a `Cache-Control` value.
fn parse_cache_control(value: &str) -> (u64, bool) {
    let mut max_age = 0;
    let mut no_store = false;
    for directive in value.split(',') {
        let directive = directive.trim();
        let (k, v) = directive.split_once('=').unwrap_or((directive, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "no-store" => no_store = true,
            "max-age" => max_age = v.trim().trim_matches('"').parse().unwrap_or(0),
            _ => {}
        }
    }
    (max_age, no_store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_directives() {
        assert_eq!(parse_cache_control("max-age=60"), (60, false));
        assert_eq!(
            parse_cache_control("public, Max-Age=\"5\", no-store"),
            (5, true)
        );
        assert_eq!(parse_cache_control("max-age=junk"), (0, false));
        assert_eq!(parse_cache_control(""), (0, false));
    }

    #[test]
    fn weak_etags_never_resume() {
        assert!(is_strong("\"abc\""));
        assert!(!is_strong("W/\"abc\""));
        assert!(!is_strong(""));
    }

    #[test]
    fn pull_policy_flags_and_defaults() {
        use PullPolicy::*;
        assert_eq!(PullPolicy::from_flags(None, false, false, New), Ok(New));
        assert_eq!(
            PullPolicy::from_flags(None, false, false, Update),
            Ok(Update)
        );
        assert_eq!(
            PullPolicy::from_flags(Some("never"), false, false, New),
            Ok(Never)
        );
        assert_eq!(PullPolicy::from_flags(None, true, false, New), Ok(Update));
        assert_eq!(PullPolicy::from_flags(None, false, true, Update), Ok(Never));
        assert!(PullPolicy::from_flags(Some("sometimes"), false, false, New).is_err());
        assert!(PullPolicy::from_flags(None, true, true, New).is_err());
        assert!(PullPolicy::from_flags(Some("new"), true, false, New).is_err());
    }

    fn manifest(json: &str) -> crate::appc::ImageManifest {
        crate::appc::ImageManifest::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn identity_must_match_discovery() {
        let m = manifest(
            r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"localhost/a","labels":[{"name":"version","value":"1.0"},{"name":"os","value":"linux"}]}"#,
        );
        let labels = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let ok = labels(&[("version", "1.0"), ("os", "linux")]);
        let e = |name, l| Expect { name, labels: l };
        assert!(check_identity("u", &m, &e("localhost/a", &ok)).is_ok());
        assert!(check_identity("u", &m, &e("localhost/b", &ok)).is_err());
        let v2 = labels(&[("version", "2.0")]);
        assert!(check_identity("u", &m, &e("localhost/a", &v2)).is_err());
        let arch = labels(&[("arch", "amd64")]);
        assert!(check_identity("u", &m, &e("localhost/a", &arch)).is_err());
    }
}
