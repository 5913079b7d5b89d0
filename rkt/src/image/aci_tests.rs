use std::io::{self, Cursor, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::*;
use crate::image::testutil::*;

/// Validates `bytes` as the ACI `t.aci`.
fn check(bytes: &[u8]) -> Result<ImageInfo> {
    from_reader(Cursor::new(bytes.to_vec()), Path::new("t.aci"))?.walk(|_, _| Ok::<(), Error>(()))
}

fn err(bytes: &[u8]) -> Error {
    match check(bytes) {
        Ok(info) => panic!("accepted, id {}", info.id),
        Err(e) => e,
    }
}

/// Every entry the visitor sees: (path, hard link target, data).
fn members(bytes: &[u8]) -> Vec<(String, Option<String>, Vec<u8>)> {
    let mut seen = Vec::new();
    from_reader(Cursor::new(bytes.to_vec()), Path::new("t.aci"))
        .unwrap()
        .walk(|m, e| {
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            seen.push((
                m.path.to_string_lossy().into_owned(),
                m.hard_link.map(|l| l.to_string_lossy().into_owned()),
                data,
            ));
            Ok::<(), Error>(())
        })
        .unwrap();
    seen
}

#[test]
fn one_id_for_four_compressions_equal_to_sha512_of_the_tar() {
    let tar = sample_tar();
    let want = sha512_id(&tar);
    let dir = TempDir::new();
    for (bytes, compression) in [
        (tar.clone(), Compression::None),
        (gzip(&tar), Compression::Gzip),
        (bzip2(&tar), Compression::Bzip2),
        (xz(&tar), Compression::Xz),
    ] {
        let file = dir.join(&format!("x.{}", compression.name()));
        std::fs::write(&file, &bytes).unwrap();
        let info = inspect(&file).unwrap();
        assert_eq!(info.id.to_string(), want, "{compression:?}");
        assert_eq!(info.compression, compression);
        assert_eq!(info.tar_size, tar.len() as u64);
        assert_eq!(info.manifest_bytes, MANIFEST.as_bytes());
    }
}

#[test]
fn id_forms() {
    let id = ImageId::from_digest(&[0xab; 64]);
    assert_eq!(id.to_string(), format!("sha512-{}", "ab".repeat(64)));
    assert_eq!(id.store_key(), format!("sha512-{}", "ab".repeat(32)));
    assert_eq!(id.short(), format!("sha512-{}", "ab".repeat(16)));
}

#[test]
fn concatenated_streams_are_one_stream() {
    let tar = sample_tar();
    let (a, b) = tar.split_at(1000);
    let want = sha512_id(&tar);
    for bytes in [
        [gzip(a), gzip(b)].concat(),
        [bzip2(a), bzip2(b)].concat(),
        [xz(a), xz(b)].concat(),
        [xz(a), vec![0; 8], xz(b), vec![0; 4]].concat(),
    ] {
        assert_eq!(check(&bytes).unwrap().id.to_string(), want);
    }
}

#[test]
fn trailing_garbage_is_refused() {
    let tar = sample_tar();
    for (bytes, name) in [
        ([gzip(&tar), b"garbage!".to_vec()].concat(), "gzip"),
        ([gzip(&tar), vec![0; 16]].concat(), "gzip"),
        ([bzip2(&tar), b"garbage!".to_vec()].concat(), "bzip2"),
        ([bzip2(&tar), vec![0; 4]].concat(), "bzip2"),
        ([xz(&tar), b"garbage!".to_vec()].concat(), "xz"),
        ([xz(&tar), vec![0; 3]].concat(), "xz"),
        ([xz(&tar), vec![0; 4], b"XYZ".to_vec()].concat(), "xz"),
    ] {
        let e = err(&bytes);
        assert!(matches!(e, Error::TrailingData { .. }), "{name}: {e:?}");
        assert_eq!(
            e.to_string(),
            format!("read ACI `t.aci`: trailing data after the {name} stream")
        );
    }
}

#[test]
fn truncated_and_corrupt_compressed_data_is_refused() {
    let tar = sample_tar();
    for (full, name) in [
        (gzip(&tar), "gzip"),
        (bzip2(&tar), "bzip2"),
        (xz(&tar), "xz"),
    ] {
        let mut flipped = full.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x55;
        for bytes in [
            full[..full.len() / 2].to_vec(),
            full[..full.len() - 3].to_vec(),
            full[..20].to_vec(),
            flipped,
        ] {
            let e = err(&bytes);
            assert!(matches!(e, Error::Corrupt { .. }), "{name}: {e:?}");
            let text = crate::error::chain(&e);
            assert!(
                text.starts_with(&format!(
                    "read ACI `t.aci`: corrupt or truncated {name} data: "
                )),
                "{text}"
            );
        }
    }
}

/// Incompressible bytes, the same every time.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u32 = 12345;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect()
}

#[test]
fn unknown_and_unsupported_formats_are_named() {
    let random = noise(4096);
    assert!(matches!(err(&random), Error::UnknownFormat { .. }));
    assert!(matches!(
        err(MANIFEST.as_bytes()),
        Error::UnknownFormat { .. }
    ));
    let zstd = [&[0x28, 0xb5, 0x2f, 0xfd][..], &random].concat();
    let e = err(&zstd);
    assert!(
        e.to_string()
            .starts_with("read ACI `t.aci`: unsupported compression (zstd)"),
        "{e}"
    );
    let e = err(b"");
    assert!(matches!(e, Error::Empty { .. }));
    assert_eq!(e.to_string(), "read ACI `t.aci`: empty file");
}

#[test]
fn a_missing_file_names_it() {
    let e = inspect(Path::new("/nonexistent/x.aci")).unwrap_err();
    assert!(matches!(e, Error::Open { .. }));
    assert_eq!(
        crate::error::chain(&e),
        "open ACI `/nonexistent/x.aci`: No such file or directory (os error 2)"
    );
}

#[test]
fn source_errors_are_read_errors() {
    struct Failing(Vec<u8>);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
            Ok(n)
        }
    }
    let tar = Tar::new()
        .minimal()
        .file("rootfs/noise", &noise(200_000))
        .finish();
    for bytes in [tar.clone(), gzip(&tar)] {
        // Failing while sniffing, and failing in the middle of the archive.
        for cut in [100, bytes.len() / 2] {
            let result = from_reader(Failing(bytes[..cut].to_vec()), Path::new("t.aci"))
                .and_then(|r| r.walk(|_, _| Ok::<(), Error>(())));
            let e = result.unwrap_err();
            assert!(matches!(e, Error::Read { .. }), "{e:?}");
            assert_eq!(crate::error::chain(&e), "read ACI `t.aci`: disk on fire");
        }
    }
}

#[test]
fn the_id_covers_everything_after_the_end_blocks() {
    let mut tar = sample_tar();
    tar.extend_from_slice(b"data after the end of the archive");
    assert_eq!(check(&gzip(&tar)).unwrap().id.to_string(), sha512_id(&tar));
    // A tar cut at an entry boundary, with no end blocks, is accepted as Go's reader does.
    let bare = Tar::new().minimal().file("rootfs/a", b"a").unterminated();
    assert_eq!(check(&bare).unwrap().id.to_string(), sha512_id(&bare));
}

#[test]
fn truncated_plain_tar_is_refused_naming_the_entry() {
    let tar = sample_tar();
    // Cut inside the data of `rootfs/etc/big`.
    let e = err(&tar[..5000]);
    assert!(matches!(e, Error::Tar { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("read ACI `t.aci`: bad tar archive after entry `rootfs/etc/big`"),
        "{e}"
    );
}

#[test]
fn the_visitor_sees_cleaned_rootfs_members() {
    let tar = Tar::new()
        .dir("./")
        .file("./manifest", MANIFEST.as_bytes())
        .dir("./rootfs/")
        .dir("./rootfs//etc/./")
        .file("rootfs/etc/hostname", b"box\n")
        .hard_link("rootfs/etc/hn", "./rootfs/etc//hostname")
        .finish();
    let seen = members(&tar);
    let want: Vec<(String, Option<String>, Vec<u8>)> = vec![
        (".".into(), None, vec![]),
        ("etc".into(), None, vec![]),
        ("etc/hostname".into(), None, b"box\n".to_vec()),
        ("etc/hn".into(), Some("etc/hostname".into()), vec![]),
    ];
    assert_eq!(seen, want);
}

#[test]
fn long_names_and_global_headers() {
    let long = format!("rootfs/{}/file", "d".repeat(150));
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(MANIFEST.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "manifest", MANIFEST.as_bytes())
        .unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_size(0);
    b.append_data(&mut h, "rootfs/", io::empty()).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    b.append_data(&mut h, &long, &b"hi"[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let global = Tar::new()
        .raw(&header(b"pax_global_header", b'g', 20), &[b'\n'; 20])
        .unterminated();
    let seen = members(&[global, tar].concat());
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].0, long["rootfs/".len()..]);
    assert_eq!(seen[1].2, b"hi");
}

/// Every layout error with the message it gives.
#[test]
fn bad_layouts_are_refused_with_clear_errors() {
    let m = MANIFEST.as_bytes();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            Tar::new().dir("rootfs/").finish(),
            "ACI `t.aci`: no manifest",
        ),
        (
            Tar::new().file("manifest", m).file("rootfs/a", b"").finish(),
            "ACI `t.aci`: no `rootfs` directory entry",
        ),
        (
            Tar::new().file("manifest", m).file("rootfs", b"").finish(),
            "ACI `t.aci`: `rootfs` is not a directory",
        ),
        (
            Tar::new().dir("manifest/").dir("rootfs/").finish(),
            "ACI `t.aci`: `manifest` is not a regular file",
        ),
        (
            Tar::new().entry("manifest", b'2', b"").dir("rootfs/").finish(),
            "ACI `t.aci`: `manifest` is not a regular file",
        ),
        (
            Tar::new().minimal().file("etc/passwd", b"").finish(),
            "ACI `t.aci`: unexpected entry `etc/passwd`: only `manifest` and `rootfs` may be at the top",
        ),
        (
            Tar::new().minimal().file("rootfsX/a", b"").finish(),
            "ACI `t.aci`: unexpected entry `rootfsX/a`: only `manifest` and `rootfs` may be at the top",
        ),
        (
            Tar::new().minimal().dir("rootfsX").finish(),
            "ACI `t.aci`: unexpected entry `rootfsX`: only `manifest` and `rootfs` may be at the top",
        ),
        (
            Tar::new().minimal().file("manifest.json", b"").finish(),
            "ACI `t.aci`: unexpected entry `manifest.json`: only `manifest` and `rootfs` may be at the top",
        ),
        (
            Tar::new().minimal().file("rootfs/a", b"").file("rootfs/a", b"").finish(),
            "ACI `t.aci`: duplicate entry `rootfs/a`",
        ),
        (
            Tar::new().minimal().file("rootfs/a", b"").file("./rootfs//a", b"").finish(),
            "ACI `t.aci`: duplicate entry `rootfs/a`",
        ),
        (
            Tar::new().minimal().file("./manifest", m).finish(),
            "ACI `t.aci`: duplicate entry `manifest`",
        ),
        (
            Tar::new().minimal().dir("rootfs").finish(),
            "ACI `t.aci`: duplicate entry `rootfs`",
        ),
        (
            Tar::new().minimal().file("rootfs/../etc/passwd", b"").finish(),
            "ACI `t.aci`: bad entry name `rootfs/../etc/passwd`: `..` component",
        ),
        (
            Tar::new().minimal().file("../x", b"").finish(),
            "ACI `t.aci`: bad entry name `../x`: `..` component",
        ),
        (
            Tar::new().minimal().dir("rootfs/a/..").finish(),
            "ACI `t.aci`: bad entry name `rootfs/a/..`: `..` component",
        ),
        (
            Tar::new().minimal().file("/rootfs/a", b"").finish(),
            "ACI `t.aci`: bad entry name `/rootfs/a`: absolute path",
        ),
        (
            Tar::new().minimal().file("/etc/passwd", b"").finish(),
            "ACI `t.aci`: bad entry name `/etc/passwd`: absolute path",
        ),
        (
            Tar::new().minimal().file("rootfs/\x1b[2Jx", b"").file("rootfs/\x1b[2Jx", b"").finish(),
            "ACI `t.aci`: duplicate entry `rootfs/\\u{1b}[2Jx`",
        ),
        (
            Tar::new().minimal().hard_link("rootfs/l", "manifest").finish(),
            "ACI `t.aci`: hard link `rootfs/l` points outside rootfs, to `manifest`",
        ),
        (
            Tar::new().minimal().hard_link("rootfs/l", "../etc/shadow").finish(),
            "ACI `t.aci`: hard link `rootfs/l` points outside rootfs, to `../etc/shadow`",
        ),
        (
            Tar::new().minimal().hard_link("rootfs/l", "/etc/shadow").finish(),
            "ACI `t.aci`: hard link `rootfs/l` points outside rootfs, to `/etc/shadow`",
        ),
        (
            Tar::new().minimal().hard_link("rootfs/l", "rootfs").finish(),
            "ACI `t.aci`: hard link `rootfs/l` points outside rootfs, to `rootfs`",
        ),
        (
            Tar::new().minimal().entry("rootfs/v", b'V', b"").finish(),
            "ACI `t.aci`: entry `rootfs/v` has unsupported type `V`",
        ),
        // The PAX path is the name an extractor would use, so it is the one checked.
        (
            Tar::new()
                .minimal()
                .pax(&[("path", b"rootfs/../../etc/passwd")])
                .file("rootfs/innocent", b"")
                .finish(),
            "ACI `t.aci`: bad entry name `rootfs/../../etc/passwd`: `..` component",
        ),
        (
            Tar::new()
                .minimal()
                .pax(&[("path", b"rootfs/a\0b")])
                .file("rootfs/innocent", b"")
                .finish(),
            "ACI `t.aci`: bad entry name `rootfs/a\\u{0}b`: NUL byte in name",
        ),
    ];
    for (tar, want) in cases {
        assert_eq!(err(&tar).to_string(), want);
        // The same through gzip: the layout error wins, not a decoding one.
        assert_eq!(err(&gzip(&tar)).to_string(), want);
    }
}

#[test]
fn bad_manifests_are_refused() {
    let deep = format!(
        r#"{{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","x":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    for manifest in [
        r#"{"acKind":"#.to_string(),
        "".to_string(),
        r#"{"acKind":"PodManifest","acVersion":"0.8.11","name":"example.com/test"}"#.into(),
        r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"Example.com/Test"}"#.into(),
        r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/te st#"}"#.into(),
        r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":5}"#.into(),
        r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","labels":"os"}"#.into(),
        r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"a","labels":[{"name":"OS!","value":"linux"}]}"#.into(),
        r#"["acKind","ImageManifest"]"#.into(),
        deep,
    ] {
        let tar = Tar::new()
            .file("manifest", manifest.as_bytes())
            .dir("rootfs/")
            .finish();
        let e = err(&tar);
        assert!(matches!(e, Error::BadManifest { .. }), "{manifest:.80}: {e:?}");
        assert_eq!(e.to_string(), "ACI `t.aci`: invalid manifest");
        assert!(std::error::Error::source(&e).is_some());
    }
}

#[test]
fn a_manifest_of_exactly_the_limit_is_accepted_one_more_byte_is_not() {
    let mut manifest = MANIFEST.as_bytes().to_vec();
    manifest.resize(MANIFEST_LIMIT as usize, b' ');
    let tar = Tar::new()
        .file("manifest", &manifest)
        .dir("rootfs/")
        .finish();
    assert_eq!(
        check(&tar).unwrap().manifest_bytes.len() as u64,
        MANIFEST_LIMIT
    );
    manifest.push(b' ');
    let tar = Tar::new()
        .file("manifest", &manifest)
        .dir("rootfs/")
        .finish();
    assert_eq!(
        err(&tar).to_string(),
        "ACI `t.aci`: manifest larger than 1 MiB"
    );
}

/// A stream of `head` followed by endless `fill` bytes, counting what is read.
struct Endless {
    head: Cursor<Vec<u8>>,
    fill: u8,
    read: Arc<AtomicU64>,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = self.head.read(buf)?;
        if n == 0 {
            buf.fill(self.fill);
            n = buf.len();
        }
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Runs `head` + endless data through the reader; returns the error and the bytes read.
fn endless(head: Vec<u8>, fill: u8) -> (Error, u64) {
    let read = Arc::new(AtomicU64::new(0));
    let source = Endless {
        head: Cursor::new(head),
        fill,
        read: Arc::clone(&read),
    };
    let e = from_reader(source, Path::new("t.aci"))
        .unwrap()
        .walk(|_, _| Ok::<(), Error>(()))
        .unwrap_err();
    (e, read.load(Ordering::Relaxed))
}

#[test]
fn a_100_mib_manifest_fails_fast_without_being_read() {
    let head = Tar::new()
        .dir("rootfs/")
        .raw(&header(b"manifest", b'0', 100 << 20), b"")
        .unterminated();
    let (e, read) = endless(head, b' ');
    assert_eq!(e.to_string(), "ACI `t.aci`: manifest larger than 1 MiB");
    assert!(read < 1 << 20, "read {read} bytes");
}

#[test]
fn huge_extension_headers_fail_within_the_budget() {
    for kind in [b'x', b'L', b'K'] {
        let head = Tar::new()
            .minimal()
            .file("rootfs/a", b"")
            .raw(&header(b"././@LongLink", kind, 100 << 20), b"")
            .unterminated();
        let (e, read) = endless(head, b'a');
        assert!(
            matches!(e, Error::MetadataTooLarge { .. }),
            "{}: {e:?}",
            kind as char
        );
        assert_eq!(
            e.to_string(),
            "ACI `t.aci`: tar extension header larger than 1 MiB after entry `rootfs/a`"
        );
        assert!(read < 2 << 20, "read {read} bytes");
    }
}

#[derive(Debug)]
enum VisitError {
    Image(Error),
    Extract(String),
}

impl From<Error> for VisitError {
    fn from(e: Error) -> Self {
        VisitError::Image(e)
    }
}

#[test]
fn visitor_errors_come_back_unchanged() {
    let e = from_reader(Cursor::new(sample_tar()), Path::new("t.aci"))
        .unwrap()
        .walk(|m, _| {
            if m.path == Path::new("etc/hostname") {
                return Err(VisitError::Extract("disk full".into()));
            }
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(e, VisitError::Extract(ref s) if s == "disk full"),
        "{e:?}"
    );
}

#[test]
fn a_stream_failure_under_the_visitor_is_reported_as_the_cause() {
    let gz = gzip(&sample_tar());
    let e = from_reader(Cursor::new(gz[..gz.len() / 2].to_vec()), Path::new("t.aci"))
        .unwrap()
        .walk(|_, entry| {
            io::copy(entry, &mut io::sink()).map_err(|e| VisitError::Extract(e.to_string()))?;
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(e, VisitError::Image(Error::Corrupt { .. })),
        "{e:?}"
    );
}

#[test]
fn clean_matches_go_filepath_clean_where_it_accepts() {
    for (raw, want) in [
        ("rootfs", "rootfs"),
        ("./rootfs/", "rootfs"),
        ("rootfs//a/./b/", "rootfs/a/b"),
        ("./", "."),
        (".", "."),
        ("a/.", "a"),
    ] {
        assert_eq!(clean(raw.as_bytes()).unwrap(), want.as_bytes(), "{raw}");
    }
    for raw in ["", "/", "/a", "..", "a/../b", "a/..", "a\0"] {
        assert!(clean(raw.as_bytes()).is_err(), "{raw:?}");
    }
}

#[test]
fn the_number_of_entries_is_bounded() {
    let tar = Tar::new()
        .minimal()
        .file("rootfs/a", b"")
        .file("rootfs/b", b"")
        .finish();
    let walk = |max_entries| {
        let mut reader = from_reader(Cursor::new(tar.clone()), Path::new("t.aci")).unwrap();
        reader.max_entries = max_entries;
        reader.walk(|_, _| Ok::<(), Error>(()))
    };
    assert!(walk(4).is_ok());
    assert_eq!(
        walk(3).unwrap_err().to_string(),
        "ACI `t.aci`: more than 3 entries"
    );
}

/// The decoder thread runs ahead of the tar parser: a decoding error further on must not
/// replace the tar error the parser actually hit.
#[test]
fn the_error_reported_is_the_one_the_parser_hit() {
    let mut bad = header(b"rootfs/b", b'0', 0);
    bad.as_old_mut().cksum[0] = b'7';
    let tar = Tar::new()
        .minimal()
        .file("rootfs/a", b"a")
        .raw(&bad, b"")
        .unterminated();
    let first = [tar, noise(1 << 20)].concat();
    let mut second = gzip(&noise(64 << 10));
    let mid = second.len() / 2;
    second[mid] ^= 1;
    let aci = [gzip(&first), second].concat();
    let e = from_reader(Cursor::new(aci), Path::new("t.aci"))
        .unwrap()
        .walk(|m, _| {
            // Give the decoder time to reach the corrupt member.
            if m.path == Path::new("a") {
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            Ok::<(), Error>(())
        })
        .unwrap_err();
    assert!(matches!(e, Error::Tar { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("read ACI `t.aci`: bad tar archive after entry `rootfs/a`"),
        "{e}"
    );
}
