//! Bad and hostile archives through `rkt fetch`: each is refused with a clear error and exit
//! 254, the store stays byte-for-byte unchanged, and nothing outside the store (a sentinel
//! directory) is touched. Cases from security-checklist.md §5 (1-5, 8-11) are marked.

use e2e::aci::{self, Entry, Tar};
use e2e::snapshot;
use e2e::store::{stderr, StoreDir};

fn good_manifest() -> String {
    aci::manifest("example.com/bad", "1")
}

/// A store holding one image, a sentinel directory outside it, and a way to try an archive.
struct Bench {
    t: StoreDir,
    sentinel: std::path::PathBuf,
}

impl Bench {
    fn new(name: &str) -> Bench {
        let t = StoreDir::new(name);
        t.fetch(&aci::write(
            &t.join("ok.aci"),
            &aci::simple("example.com/ok", "1").finish(),
        ));
        let sentinel = t.join("sentinel");
        std::fs::create_dir(&sentinel).unwrap();
        std::fs::write(sentinel.join("victim"), b"untouched\n").unwrap();
        std::fs::create_dir(sentinel.join("dir")).unwrap();
        e2e::store::set_mode(&sentinel.join("dir"), 0o700);
        Bench { t, sentinel }
    }

    /// Fetches `bytes`; it must fail naming `needle`, changing nothing.
    #[track_caller]
    fn refuse(&self, case: &str, bytes: &[u8], needle: &str) {
        let file = aci::write(&self.t.join("case.aci"), bytes);
        let before = snapshot::take(&self.t.store());
        let outside = snapshot::take(&self.sentinel);
        let out = self
            .t
            .rkt(&["fetch", "--insecure-options=image", file.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(254),
            "{case}: accepted: {}",
            e2e::store::stdout(&out)
        );
        let err = stderr(&out);
        assert!(
            err.contains(needle),
            "{case}: stderr lacks {needle:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{case}: one line: {err}");
        snapshot::assert_same(&before, &snapshot::take(&self.t.store()), case);
        snapshot::assert_same(&outside, &snapshot::take(&self.sentinel), case);
    }

    /// Fetches `bytes`, which may be refused or confined; either way nothing outside moves,
    /// and a refusal changes nothing in the store.
    #[track_caller]
    fn refuse_or_confine(&self, case: &str, bytes: &[u8]) {
        let file = aci::write(&self.t.join("case.aci"), bytes);
        let before = snapshot::take(&self.t.store());
        let outside = snapshot::take(&self.sentinel);
        let out = self
            .t
            .rkt(&["fetch", "--insecure-options=image", file.to_str().unwrap()]);
        snapshot::assert_same(&outside, &snapshot::take(&self.sentinel), case);
        match out.status.code() {
            Some(0) => {
                let id = e2e::store::stdout(&out).trim().to_string();
                assert!(self.t.rkt(&["image", "rm", &id]).status.success());
            }
            Some(254) => snapshot::assert_same(&before, &snapshot::take(&self.t.store()), case),
            other => panic!("{case}: exit {other:?}: {}", stderr(&out)),
        }
    }
}

#[test]
fn broken_compression_and_formats() {
    let b = Bench::new("bad-format");
    let tar = aci::base(&good_manifest())
        .file("rootfs/a", 0o644, &aci::noise(100_000, 3))
        .finish();
    let gz = aci::gzip(&tar);
    b.refuse(
        "truncated gzip",
        &gz[..gz.len() / 2],
        "corrupt or truncated gzip",
    );
    let mut crc = gz.clone();
    let n = crc.len();
    crc[n - 6] ^= 0xff; // case 11: bad CRC
    b.refuse("gzip crc", &crc, "gzip");
    let bz = aci::compress_with("bzip2", &tar);
    b.refuse("truncated bzip2", &bz[..bz.len() - 10], "bzip2");
    let xz = aci::compress_with("xz", &tar);
    b.refuse("truncated xz", &xz[..xz.len() - 10], "xz");
    let mut trailing = gz.clone();
    trailing.extend_from_slice(b"garbage after the stream");
    b.refuse("trailing garbage", &trailing, "trailing data");
    b.refuse("random bytes", &aci::noise(4096, 9), "unknown format");
    b.refuse("zstd", &aci::compress_with("zstd", &tar), "zstd");
    b.refuse("empty file", b"", "empty");
    b.refuse("truncated tar", &tar[..tar.len() / 3], "archive ends");
}

#[test]
fn bad_layouts() {
    let b = Bench::new("bad-layout");
    let m = good_manifest();
    b.refuse(
        "missing manifest",
        &Tar::new().dir("rootfs", 0o755).finish(),
        "no manifest",
    );
    b.refuse(
        "missing rootfs",
        &Tar::new().file("manifest", 0o644, m.as_bytes()).finish(),
        "rootfs",
    );
    b.refuse(
        "extra top-level",
        &aci::base(&m).file("evil", 0o644, b"x").finish(),
        "evil",
    );
    b.refuse(
        "rootfsX",
        &aci::base(&m).file("rootfsX/a", 0o644, b"x").finish(),
        "rootfsX",
    );
    // Case 8: duplicates, of the manifest and of a file.
    b.refuse(
        "duplicate manifest",
        &aci::base(&m)
            .file(
                "./manifest",
                0o644,
                aci::manifest("example.com/other", "1").as_bytes(),
            )
            .finish(),
        "duplicate",
    );
    b.refuse(
        "duplicate file",
        &aci::base(&m)
            .file("rootfs/sh", 0o755, b"a")
            .file("rootfs/sh", 0o755, b"b")
            .finish(),
        "duplicate",
    );
    // Case 1: `..`, absolute names, and a top-level entry besides manifest and rootfs.
    b.refuse(
        "dotdot",
        &aci::base(&m)
            .file("rootfs/../../sentinel/pwn", 0o644, b"x")
            .finish(),
        "..",
    );
    b.refuse(
        "absolute",
        &aci::base(&m).file("/etc/cron.d/x", 0o644, b"x").finish(),
        "etc/cron.d/x",
    );
}

#[test]
fn bad_manifests() {
    let b = Bench::new("bad-manifest");
    let with = |manifest: &str| aci::base(manifest).finish();
    b.refuse("invalid json", &with("{\"acKind\": "), "invalid manifest");
    b.refuse(
        "wrong types",
        &with(r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":7}"#),
        "invalid manifest",
    );
    b.refuse(
        "wrong kind",
        &with(r#"{"acKind":"PodManifest","acVersion":"0.8.11","name":"a"}"#),
        "invalid manifest",
    );
    for name in ["", "UPPER", "../x", "/abs", "a b"] {
        let m = format!(r#"{{"acKind":"ImageManifest","acVersion":"0.8.11","name":"{name}"}}"#);
        b.refuse(&format!("name {name:?}"), &with(&m), "invalid manifest");
    }
    b.refuse(
        "label named name",
        &with(r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","labels":[{"name":"name","value":"x"}]}"#),
        "invalid manifest",
    );
    b.refuse(
        "duplicate labels",
        &with(r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","labels":[{"name":"os","value":"linux"},{"name":"os","value":"linux"}]}"#),
        "invalid manifest",
    );
    b.refuse(
        "duplicate field",
        &with(r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","name":"b"}"#),
        "invalid manifest",
    );
    let huge = format!(
        r#"{{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","annotations":[{{"name":"x","value":"{}"}}]}}"#,
        "x".repeat(2 << 20)
    );
    b.refuse("huge manifest", &with(&huge), "manifest larger than");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    b.refuse("deep nesting", &with(&deep), "invalid manifest");
}

#[test]
fn hostile_links_stay_inside() {
    let b = Bench::new("hostile");
    let m = good_manifest();
    let s = b.sentinel.to_str().unwrap().to_string();
    // Case 2: write through a symlinked parent.
    b.refuse_or_confine(
        "symlink parent",
        &aci::base(&m)
            .symlink("rootfs/a", &s)
            .file("rootfs/a/pwn", 0o644, b"x")
            .finish(),
    );
    b.refuse_or_confine(
        "symlink parent dotdot",
        &aci::base(&m)
            .symlink("rootfs/a", "../../../../../../..")
            .file("rootfs/a/pwn", 0o644, b"x")
            .finish(),
    );
    // Case 3: a symlink replaced by a regular file of the same name.
    b.refuse(
        "symlink then file",
        &aci::base(&m)
            .symlink("rootfs/x", &format!("{s}/victim"))
            .file("rootfs/x", 0o644, b"overwritten\n")
            .finish(),
        "duplicate",
    );
    // Case 4: a directory entry on a symlink to a host directory.
    b.refuse(
        "symlink then dir chmod",
        &aci::base(&m)
            .symlink("rootfs/d", &format!("{s}/dir"))
            .dir("rootfs/d", 0o777)
            .finish(),
        "duplicate",
    );
    // Case 5: hard links out of the tree.
    for target in [
        "/etc/shadow",
        "../../../etc/shadow",
        "rootfs/../../etc/shadow",
    ] {
        b.refuse(
            &format!("hardlink {target}"),
            &aci::base(&m).hardlink("rootfs/h", target).finish(),
            "ACI",
        );
    }
    b.refuse_or_confine(
        "hardlink through symlink",
        &aci::base(&m)
            .symlink("rootfs/l", &s)
            .hardlink("rootfs/h", "rootfs/l/victim")
            .finish(),
    );
}

#[test]
fn tar_parser_tricks_and_bombs() {
    let b = Bench::new("bombs");
    let m = good_manifest();
    // Case 9: a PAX path with a NUL byte.
    let mut pax = Tar::new().raw(Entry {
        name: "././@PaxHeader",
        typeflag: b'x',
        data: b"22 path=rootfs/a\0b\n",
        ..Entry::default()
    });
    pax = pax.file("rootfs/c", 0o644, b"x");
    let mut tar = aci::base(&m).into_bytes();
    tar.extend(pax.finish());
    b.refuse("pax nul", &tar, "pax");
    // Case 10: a size over any sane cap (the free space of the store's filesystem).
    let mut big = aci::base(&m)
        .raw(Entry {
            name: "rootfs/bomb",
            size: Some(1 << 40),
            ..Entry::default()
        })
        .into_bytes();
    big.extend(aci::noise(4096, 1));
    b.refuse("declared 1 TiB", &aci::gzip(&big), "too large");
    // The entry cap (a million empty entries) is the Extractor's unit test: here it would
    // create half a million files before failing.
}
