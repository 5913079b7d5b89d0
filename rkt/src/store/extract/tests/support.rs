//! Test support: a byte-by-byte tar writer, the sentinel fixture and the root gate.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::super::*;
use crate::sys::resolve::FORCE_WALK;

/// One raw header: any name, link name, type, mode, ids, times, size and device numbers.
#[derive(Clone)]
pub(super) struct H {
    pub(super) name: Vec<u8>,
    pub(super) link: Vec<u8>,
    pub(super) kind: u8,
    pub(super) mode: u32,
    pub(super) uid: u64,
    pub(super) gid: u64,
    pub(super) mtime: u64,
    pub(super) size: Option<u64>,
    pub(super) dev: (u32, u32),
    pub(super) gnu: bool,
}

pub(super) fn h(kind: u8, name: &str) -> H {
    let mode = if kind == b'5' { 0o755 } else { 0o644 };
    H {
        name: name.into(),
        link: vec![],
        kind,
        mode,
        uid: 0,
        gid: 0,
        mtime: 1_000_000_000,
        size: None,
        dev: (0, 0),
        gnu: false,
    }
}

impl H {
    pub(super) fn owner(self, uid: u64, gid: u64) -> H {
        H { uid, gid, ..self }
    }
    pub(super) fn mode(self, mode: u32) -> H {
        H { mode, ..self }
    }
    pub(super) fn mtime(self, mtime: u64) -> H {
        H { mtime, ..self }
    }
    pub(super) fn dev(self, major: u32, minor: u32) -> H {
        H {
            dev: (major, minor),
            ..self
        }
    }
    pub(super) fn link(self, link: &str) -> H {
        H {
            link: link.into(),
            ..self
        }
    }
}

/// A tar archive written byte by byte.
#[derive(Default)]
pub(super) struct Tar(pub(super) Vec<u8>);

impl Tar {
    pub(super) fn entry(mut self, h: H, data: &[u8]) -> Tar {
        let mut records: Vec<(&str, &[u8])> = vec![];
        if h.name.len() > 100 {
            records.push(("path", &h.name));
        }
        if h.link.len() > 100 {
            records.push(("linkpath", &h.link));
        }
        if !records.is_empty() {
            self = self.pax(&records);
        }
        let mut b = [0u8; 512];
        let field = |b: &mut [u8; 512], at: usize, len: usize, v: &[u8]| {
            let n = v.len().min(len);
            b[at..at + n].copy_from_slice(&v[..n]);
        };
        let octal = |b: &mut [u8; 512], at: usize, len: usize, v: u64| {
            let s = format!("{v:0width$o}\0", width = len - 1);
            b[at..at + len].copy_from_slice(s.as_bytes());
        };
        field(&mut b, 0, 100, &h.name);
        octal(&mut b, 100, 8, h.mode.into());
        octal(&mut b, 108, 8, h.uid);
        octal(&mut b, 116, 8, h.gid);
        octal(&mut b, 124, 12, h.size.unwrap_or(data.len() as u64));
        octal(&mut b, 136, 12, h.mtime);
        b[156] = h.kind;
        field(&mut b, 157, 100, &h.link);
        field(
            &mut b,
            257,
            8,
            if h.gnu { b"ustar  \0" } else { b"ustar\x0000" },
        );
        octal(&mut b, 329, 8, h.dev.0.into());
        octal(&mut b, 337, 8, h.dev.1.into());
        if h.gnu {
            octal(&mut b, 483, 12, 0); // GNU sparse "realsize"
        }
        b[148..156].fill(b' ');
        let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
        b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        self.0.extend_from_slice(&b);
        self.0.extend_from_slice(data);
        self.0.resize(self.0.len().div_ceil(512) * 512, 0);
        self
    }

    /// A PAX 'x' header for the next entry: `LEN KEY=VALUE\n` records.
    pub(super) fn pax(self, records: &[(&str, &[u8])]) -> Tar {
        let mut data = vec![];
        for (key, value) in records {
            let body = key.len() + value.len() + 3;
            let mut len = body + 1;
            while len != body + len.to_string().len() {
                len = body + len.to_string().len();
            }
            data.extend_from_slice(format!("{len} {key}=").as_bytes());
            data.extend_from_slice(value);
            data.push(b'\n');
        }
        self.entry(h(b'x', "pax"), &data)
    }

    pub(super) fn file(self, name: &str, data: &[u8]) -> Tar {
        self.entry(h(b'0', name), data)
    }
    pub(super) fn dir(self, name: &str, mode: u32) -> Tar {
        self.entry(
            H {
                mode,
                ..h(b'5', name)
            },
            b"",
        )
    }
    pub(super) fn link(self, kind: u8, name: &str, target: &str) -> Tar {
        self.entry(
            H {
                link: target.into(),
                mode: 0o777,
                ..h(kind, name)
            },
            b"",
        )
    }
    pub(super) fn symlink(self, name: &str, target: &str) -> Tar {
        self.link(b'2', name, target)
    }
    pub(super) fn hardlink(self, name: &str, target: &str) -> Tar {
        self.link(b'1', name, target)
    }
    pub(super) fn bytes(mut self) -> Vec<u8> {
        self.0.extend_from_slice(&[0; 1024]);
        self.0
    }
}

pub(super) fn options() -> ExtractOptions {
    ExtractOptions {
        preserve_owner: true,
        device_nodes: DeviceNodes::Create,
        max_bytes: 1 << 30,
        max_entries: 1 << 20,
    }
}

/// Extracts every entry as the store will: names and hard link targets passed as they are in
/// the archive (the ACI reader's cleaning is not trusted).
pub(super) fn extract_all(
    root: &Path,
    tar: &[u8],
    options: ExtractOptions,
) -> Result<ExtractStats, Error> {
    let mut archive = tar::Archive::new(tar);
    let mut x = Extractor::new(root, options)?;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().into_owned();
        let link = entry.link_name().unwrap().map(|l| l.into_owned());
        let link = link
            .as_deref()
            .filter(|_| entry.header().entry_type() == EntryType::Link);
        x.extract(&path, link, &mut entry)?;
    }
    x.finish()
}

pub(super) fn require_root() -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "extraction tests need root in CI"
    );
    eprintln!("skipped: extraction tests need root");
    false
}

/// Runs `test` with openat2 and again with the userspace walk.
pub(super) fn with_both_resolvers(test: impl Fn()) {
    test();
    FORCE_WALK.with(|f| f.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&test));
    FORCE_WALK.with(|f| f.set(false));
    if let Err(panic) = result {
        eprintln!("failed with the userspace walk (no openat2)");
        std::panic::resume_unwind(panic);
    }
}

/// `base/tree` to extract into, next to `base/sentinel` (0700, with a file and a subdirectory).
pub(super) struct Fixture {
    pub(super) base: PathBuf,
    pub(super) tree: PathBuf,
    pub(super) sentinel: PathBuf,
    pub(super) before: BTreeMap<PathBuf, String>,
}

impl Fixture {
    pub(super) fn new() -> Fixture {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let base = std::env::temp_dir().join(format!("rkt-x-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (tree, sentinel) = (base.join("tree"), base.join("sentinel"));
        std::fs::create_dir_all(&tree).unwrap();
        std::fs::create_dir_all(sentinel.join("dir")).unwrap();
        std::fs::write(sentinel.join("file"), b"sentinel\n").unwrap();
        std::fs::write(sentinel.join("dir/inner"), b"inner\n").unwrap();
        for (p, mode) in [(&sentinel, 0o700), (&sentinel.join("dir"), 0o700)] {
            rustix::fs::chmod(p.as_path(), Mode::from_raw_mode(mode)).unwrap();
        }
        let before = snapshot(&base, &["tree"]);
        Fixture {
            base,
            tree,
            sentinel,
            before,
        }
    }

    pub(super) fn abs(&self) -> String {
        self.sentinel.to_str().unwrap().to_owned()
    }

    pub(super) fn run(&self, tar: Tar) -> Result<ExtractStats, Error> {
        extract_all(&self.tree, &tar.bytes(), options())
    }

    /// Nothing outside the tree changed: the sentinel, and no new name next to it.
    pub(super) fn assert_untouched(&self) {
        assert_eq!(
            snapshot(&self.base, &["tree"]),
            self.before,
            "outside the tree changed"
        );
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// Every name under `dir` (but `skip`) with its type, mode, owner, link count, times
/// (ctime included) and content or link target.
pub(super) fn snapshot(dir: &Path, skip: &[&str]) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let md = std::fs::symlink_metadata(&d).unwrap();
        let content = if md.is_file() {
            format!("{:?}", std::fs::read(&d).unwrap())
        } else if md.is_symlink() {
            format!("-> {:?}", std::fs::read_link(&d).unwrap())
        } else {
            for e in std::fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                if !(d == dir && skip.iter().any(|s| e.file_name() == *s)) {
                    todo.push(e.path());
                }
            }
            String::new()
        };
        let desc = format!(
            "{:o} {}:{} n{} m{}.{} c{}.{} {content}",
            md.mode(),
            md.uid(),
            md.gid(),
            md.nlink(),
            md.mtime(),
            md.mtime_nsec(),
            md.ctime(),
            md.ctime_nsec()
        );
        out.insert(d, desc);
    }
    out
}

pub(super) fn md(path: &Path) -> std::fs::Metadata {
    std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
