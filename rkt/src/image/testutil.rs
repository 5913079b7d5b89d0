//! Test helpers: temporary directories, tar bytes with arbitrary (also hostile) headers, and
//! the four encodings of one tar.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use sha2::{Digest, Sha512};

pub(crate) const MANIFEST: &str = r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/test","labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}]}"#;

/// A directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "rkt-image-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    pub(crate) fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }

    /// Names of the directory's entries, sorted.
    pub(crate) fn list(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A GNU tar header with the name bytes written raw, so that names `tar::Builder` refuses
/// (`..`, absolute, NUL) can be made.
pub(crate) fn header(name: &[u8], kind: u8, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_mode(if kind == b'5' { 0o755 } else { 0o644 });
    h.set_size(size);
    h.set_mtime(1_600_000_000);
    h.set_cksum();
    h
}

/// Tar bytes built entry by entry.
#[derive(Default)]
pub(crate) struct Tar(Vec<u8>);

impl Tar {
    pub(crate) fn new() -> Tar {
        Tar::default()
    }

    /// A raw header and its data, padded to the block size.
    pub(crate) fn raw(mut self, h: &tar::Header, data: &[u8]) -> Tar {
        self.0.extend_from_slice(h.as_bytes());
        self.0.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.0.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    pub(crate) fn entry(self, name: &str, kind: u8, data: &[u8]) -> Tar {
        let h = header(name.as_bytes(), kind, data.len() as u64);
        self.raw(&h, data)
    }

    pub(crate) fn file(self, name: &str, data: &[u8]) -> Tar {
        self.entry(name, b'0', data)
    }

    pub(crate) fn dir(self, name: &str) -> Tar {
        self.entry(name, b'5', b"")
    }

    pub(crate) fn hard_link(self, name: &str, target: &str) -> Tar {
        let mut h = header(name.as_bytes(), b'1', 0);
        h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
        h.set_cksum();
        self.raw(&h, b"")
    }

    /// A PAX extended header (`x`) with the given records.
    pub(crate) fn pax(self, records: &[(&str, &[u8])]) -> Tar {
        let mut data = Vec::new();
        for (key, value) in records {
            let body = 1 + key.len() + 1 + value.len() + 1;
            let mut len = body + 1;
            while len.to_string().len() + body != len {
                len = len.to_string().len() + body;
            }
            data.extend_from_slice(format!("{len} {key}=").as_bytes());
            data.extend_from_slice(value);
            data.push(b'\n');
        }
        let h = header(b"PaxHeader", b'x', data.len() as u64);
        self.raw(&h, &data)
    }

    /// `manifest` (valid) and the `rootfs` directory.
    pub(crate) fn minimal(self) -> Tar {
        self.file("manifest", MANIFEST.as_bytes()).dir("rootfs/")
    }

    /// The end-of-archive blocks plus GNU tar's record padding.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let len = (self.0.len() + 1024).div_ceil(10240) * 10240;
        self.0.resize(len, 0);
        self.0
    }

    /// Without end blocks, as a stream cut at an entry boundary.
    pub(crate) fn unterminated(self) -> Vec<u8> {
        self.0
    }
}

/// A small valid image with a few kinds of entries.
pub(crate) fn sample_tar() -> Vec<u8> {
    Tar::new()
        .minimal()
        .dir("rootfs/etc/")
        .file("rootfs/etc/hostname", b"box\n")
        .file("rootfs/etc/big", &vec![7u8; 300_000])
        .hard_link("rootfs/etc/hn", "rootfs/etc/hostname")
        .finish()
}

pub(crate) fn sha512_id(bytes: &[u8]) -> String {
    super::ImageId::from_digest(&Sha512::digest(bytes)).to_string()
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub(crate) fn bzip2(bytes: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The xz encoder of lzma-rust2 is not compiled in (decoder only), so Debian's `xz` encodes.
pub(crate) fn xz(bytes: &[u8]) -> Vec<u8> {
    let dir = TempDir::new();
    let input = dir.join("in");
    std::fs::write(&input, bytes).unwrap();
    let out = Command::new("xz")
        .args(["-z", "-c", "-T1"])
        .arg(&input)
        .output()
        .expect("run xz");
    assert!(out.status.success(), "xz failed");
    out.stdout
}
