//! Fixture ACIs written byte by byte, so that hostile archives (`..` names, absolute paths,
//! duplicate entries, links out of the tree, lying sizes) can be built as easily as good ones.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// A tar archive under construction.
#[derive(Default, Clone)]
pub struct Tar {
    buf: Vec<u8>,
}

/// One raw ustar entry.
pub struct Entry<'a> {
    pub name: &'a str,
    pub typeflag: u8,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub data: &'a [u8],
    pub link: &'a str,
    /// The size written in the header, when it must lie about the data.
    pub size: Option<u64>,
    pub dev: (u32, u32),
}

impl Default for Entry<'_> {
    fn default() -> Self {
        Entry {
            name: "",
            typeflag: b'0',
            mode: 0o644,
            uid: 0,
            gid: 0,
            data: b"",
            link: "",
            size: None,
            dev: (0, 0),
        }
    }
}

/// An octal field, or GNU base-256 when the value does not fit.
fn octal(field: &mut [u8], value: u64) {
    let s = format!("{:0width$o}", value, width = field.len() - 1);
    if s.len() < field.len() {
        field[..s.len()].copy_from_slice(s.as_bytes());
        return;
    }
    let n = field.len();
    field.fill(0);
    field[n - 8..].copy_from_slice(&value.to_be_bytes());
    field[0] = 0x80;
}

fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    format!("{len}{body}")
}

impl Tar {
    pub fn new() -> Tar {
        Tar::default()
    }

    /// Appends one entry as given; names longer than 100 bytes get a PAX `path` record.
    pub fn raw(mut self, e: Entry<'_>) -> Tar {
        if e.name.len() > 100 || e.link.len() > 100 {
            let mut records = String::new();
            if e.name.len() > 100 {
                records.push_str(&pax_record("path", e.name));
            }
            if e.link.len() > 100 {
                records.push_str(&pax_record("linkpath", e.link));
            }
            self = self.raw(Entry {
                name: "././@PaxHeader",
                typeflag: b'x',
                data: records.as_bytes(),
                ..Entry::default()
            });
        }
        let mut h = [0u8; 512];
        let name = e.name.as_bytes();
        h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
        octal(&mut h[100..108], u64::from(e.mode));
        octal(&mut h[108..116], u64::from(e.uid));
        octal(&mut h[116..124], u64::from(e.gid));
        octal(&mut h[124..136], e.size.unwrap_or(e.data.len() as u64));
        octal(&mut h[136..148], 1_600_000_000);
        h[156] = e.typeflag;
        let link = e.link.as_bytes();
        h[157..157 + link.len().min(100)].copy_from_slice(&link[..link.len().min(100)]);
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        octal(&mut h[329..337], u64::from(e.dev.0));
        octal(&mut h[337..345], u64::from(e.dev.1));
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        self.buf.extend_from_slice(&h);
        self.buf.extend_from_slice(e.data);
        let pad = (512 - e.data.len() % 512) % 512;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    pub fn dir(self, name: &str, mode: u32) -> Tar {
        self.raw(Entry {
            name,
            typeflag: b'5',
            mode,
            ..Entry::default()
        })
    }

    pub fn file(self, name: &str, mode: u32, data: &[u8]) -> Tar {
        self.raw(Entry {
            name,
            mode,
            data,
            ..Entry::default()
        })
    }

    pub fn symlink(self, name: &str, target: &str) -> Tar {
        self.raw(Entry {
            name,
            typeflag: b'2',
            mode: 0o777,
            link: target,
            ..Entry::default()
        })
    }

    pub fn hardlink(self, name: &str, target: &str) -> Tar {
        self.raw(Entry {
            name,
            typeflag: b'1',
            link: target,
            ..Entry::default()
        })
    }

    /// The entries so far, without end blocks (to stream huge archives piece by piece).
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Appends bytes verbatim (for corrupt archives).
    pub fn bytes(mut self, data: &[u8]) -> Tar {
        self.buf.extend_from_slice(data);
        self
    }

    /// The archive with its two zero blocks, padded to a 10 KiB record as tar(1) does.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend(std::iter::repeat_n(0u8, 1024));
        let pad = (10240 - self.buf.len() % 10240) % 10240;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
        self.buf
    }
}

/// A manifest for `name` with `version` and the host's os/arch labels.
pub fn manifest(name: &str, version: &str) -> String {
    format!(
        r#"{{"acKind":"ImageManifest","acVersion":"0.8.11","name":"{name}","labels":[{{"name":"version","value":"{version}"}},{{"name":"os","value":"linux"}},{{"name":"arch","value":"amd64"}}]}}"#
    )
}

/// `manifest` plus the `rootfs` directory: the smallest valid image.
pub fn base(manifest_json: &str) -> Tar {
    Tar::new()
        .dir("rootfs", 0o755)
        .file("manifest", 0o644, manifest_json.as_bytes())
}

/// A small valid image with a few files, named `name:version`.
pub fn simple(name: &str, version: &str) -> Tar {
    base(&manifest(name, version))
        .dir("rootfs/bin", 0o755)
        .dir("rootfs/etc", 0o755)
        .file(
            "rootfs/etc/hello",
            0o644,
            format!("{name} {version}\n").as_bytes(),
        )
        .file("rootfs/bin/tool", 0o4755, b"#!/bin/sh\necho setuid\n")
        .symlink("rootfs/bin/link", "tool")
}

pub fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(tar).unwrap();
    enc.finish().unwrap()
}

/// Compresses with an external tool (`bzip2`, `xz`, `zstd`).
pub fn compress_with(tool: &str, data: &[u8]) -> Vec<u8> {
    let mut child = Command::new(tool)
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool}: {e} (install it)"));
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{tool} failed");
    out.stdout
}

pub fn write(path: &Path, bytes: &[u8]) -> std::path::PathBuf {
    std::fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

/// Deterministic incompressible bytes.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}
