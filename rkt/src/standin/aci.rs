//! STAND-IN for branch `aci`'s `image/aci` (deleted at the merge).
#![allow(dead_code)]

use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha512};

use crate::appc::ImageManifest;

#[derive(Debug)]
pub(crate) struct Error(pub(crate) String);
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Error {}

pub(crate) struct ImageId(String);
impl ImageId {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

pub(crate) struct Walked {
    pub(crate) id: ImageId,
    pub(crate) manifest: ImageManifest,
    pub(crate) manifest_bytes: Vec<u8>,
    pub(crate) size: u64,
}

pub(crate) fn decompress<'a, R: Read + 'a>(r: R) -> Result<Box<dyn Read + 'a>, Error> {
    let mut r = io::BufReader::new(r);
    let head = io::BufRead::fill_buf(&mut r)
        .map_err(|e| Error(e.to_string()))?
        .to_vec();
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::read::GzDecoder::new(r)))
    } else if head.starts_with(b"BZh") {
        Ok(Box::new(bzip2::read::BzDecoder::new(r)))
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Ok(Box::new(lzma_rust2::XzReader::new(r, false)))
    } else if head.len() > 262 && &head[257..262] == b"ustar" {
        Ok(Box::new(r))
    } else {
        Err(Error("unable to detect filetype".into()))
    }
}

pub(crate) struct Hashing<R> {
    inner: R,
    hasher: Sha512,
    size: u64,
}
impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

pub(crate) fn walk<'r>(
    reader: &'r mut dyn Read,
    mut f: impl FnMut(&Path, &mut tar::Entry<'_, &mut Hashing<Box<dyn Read + 'r>>>) -> io::Result<()>,
) -> Result<Walked, Error> {
    let inner = decompress(reader)?;
    let mut h = Hashing {
        inner,
        hasher: Sha512::new(),
        size: 0,
    };
    let mut manifest_bytes = None;
    let mut rootfs = false;
    {
        let mut ar = tar::Archive::new(&mut h);
        for e in ar.entries().map_err(|e| Error(e.to_string()))? {
            let mut e = e.map_err(|e| Error(e.to_string()))?;
            let p: PathBuf = e
                .path()
                .map_err(|e| Error(e.to_string()))?
                .components()
                .filter(|c| !matches!(c, Component::CurDir))
                .collect();
            if p.components().any(|c| !matches!(c, Component::Normal(_))) {
                return Err(Error(format!("bad path {}", p.display())));
            }
            if p == Path::new("manifest") {
                let mut b = Vec::new();
                e.read_to_end(&mut b).map_err(|e| Error(e.to_string()))?;
                manifest_bytes = Some(b);
                continue;
            }
            let rel = p
                .strip_prefix("rootfs")
                .map_err(|_| Error(format!("extra top-level entry {}", p.display())))?
                .to_path_buf();
            if rel.as_os_str().is_empty() {
                rootfs = true;
            }
            f(&rel, &mut e).map_err(|e| Error(e.to_string()))?;
        }
    }
    io::copy(&mut h, &mut io::sink()).map_err(|e| Error(e.to_string()))?;
    if !rootfs {
        return Err(Error("no rootfs found in layout".into()));
    }
    let manifest_bytes = manifest_bytes.ok_or_else(|| Error("no manifest found".into()))?;
    let manifest = ImageManifest::from_json(&manifest_bytes).map_err(|e| Error(e.to_string()))?;
    Ok(Walked {
        id: ImageId(format!(
            "sha512-{}",
            crate::store::hex(&h.hasher.finalize())
        )),
        manifest,
        manifest_bytes,
        size: h.size,
    })
}
