//! Hostile-archive tests for the extractor (security-checklist §1e, §1f, §5 cases 1-13).
//!
//! Archives are written byte by byte ([`Tar`]) because `tar::Builder` refuses `..`, absolute
//! names and odd types. Each attack runs twice, with openat2 and with the userspace walk that
//! replaces it on old kernels, next to a sentinel directory whose every byte and inode field
//! (ctime included, so any chmod/chown/link shows) must stay as it was.
//! These tests create device nodes and foreign owners: they need root, and fail without it
//! when `CI=true`.

mod support;

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use self::support::*;
use super::*;

#[test]
fn refuses_dotdot_and_absolute_names() {
    if !require_root() {
        return;
    }
    let f = Fixture::new();
    let abs = format!("{}/pwn", f.abs());
    for name in [
        "../sentinel/pwn",
        "../sentinel/file",
        "a/../../sentinel/pwn",
        "..",
        &abs,
        "/rkt-test-pwn",
    ] {
        let err = f.run(Tar::default().file(name, b"pwned")).unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{name}: {err}");
        assert!(err.to_string().starts_with("refuse entry `"), "{err}");
        let err = f.run(Tar::default().dir(name, 0o777)).unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{name}: {err}");
    }
    assert!(!Path::new("/rkt-test-pwn").exists());
    f.assert_untouched();
}

/// `a -> /abs/sentinel` then `a/pwn`, and `b -> ../../sentinel` then `b/pwn`: the links resolve
/// inside the tree (RESOLVE_IN_ROOT), so the write lands in the tree where the target exists
/// there, and is refused (a dangling link, as in GNU tar) where it does not. Never outside.
#[test]
fn symlinked_parents_resolve_inside_the_tree() {
    if !require_root() {
        return;
    }
    with_both_resolvers(|| {
        let f = Fixture::new();
        for (link, target) in [
            ("a", f.abs()),
            ("b", "../../sentinel".into()),
            ("c", "../sentinel/dir".into()),
        ] {
            let below = format!("{link}/pwn");
            let err = f
                .run(Tar::default().symlink(link, &target).file(&below, b"pwned"))
                .unwrap_err();
            assert!(
                err.to_string()
                    .starts_with(&format!("open parent directory of `{below}`")),
                "{err}"
            );
        }
        f.assert_untouched();
        // With the targets present inside the tree, the same entries land there.
        let mut tar = Tar::default();
        let mut dir = String::new();
        for c in Path::new(&f.abs()).components().skip(1) {
            dir = format!("{dir}{}/", c.as_os_str().to_str().unwrap());
            tar = tar.dir(&dir, 0o755);
        }
        let tar = tar
            .dir("sentinel/", 0o755)
            .dir("sentinel/dir/", 0o755)
            .symlink("a", &f.abs())
            .file("a/pwn", b"1");
        let tar = tar.symlink("b", "../../sentinel").file("b/pwn", b"2");
        let tar = tar.symlink("c", "../sentinel/dir").file("c/pwn", b"3");
        f.run(tar).unwrap();
        let inside = f.tree.join(f.abs().trim_start_matches('/'));
        assert_eq!(std::fs::read(inside.join("pwn")).unwrap(), b"1");
        assert_eq!(std::fs::read(f.tree.join("sentinel/pwn")).unwrap(), b"2");
        assert_eq!(
            std::fs::read(f.tree.join("sentinel/dir/pwn")).unwrap(),
            b"3"
        );
        f.assert_untouched();
    });
}

#[test]
fn hard_links_to_outside_are_refused() {
    if !require_root() {
        return;
    }
    with_both_resolvers(|| {
        let f = Fixture::new();
        let abs_file = format!("{}/file", f.abs());
        let cases = [
            Tar::default().hardlink("h", &abs_file),
            Tar::default().hardlink("h", "../../sentinel/file"),
            Tar::default().hardlink("h", "../sentinel/file"),
            Tar::default()
                .symlink("s", &f.abs())
                .hardlink("h", "s/file"),
            Tar::default()
                .symlink("s", "../sentinel")
                .hardlink("h", "s/file"),
            Tar::default().dir("d/", 0o755).hardlink("h", "d"),
            Tar::default().hardlink("h", "missing"),
        ];
        for tar in cases {
            let err = f.run(tar).unwrap_err();
            assert!(matches!(err, Error::BadLinkTarget { .. }), "{err}");
            assert!(!f.tree.join("h").exists());
        }
        // A link to `s -> /abs/sentinel/file` is a second name for the symlink, not the file.
        f.run(Tar::default().symlink("s", &abs_file).hardlink("h", "s"))
            .unwrap();
        assert_eq!(md(&f.tree.join("h")).ino(), md(&f.tree.join("s")).ino());
        assert!(md(&f.tree.join("h")).is_symlink());
        assert_eq!(md(&f.sentinel.join("file")).nlink(), 1);
        f.assert_untouched();
    });
}

#[test]
fn symlink_replaced_by_file_or_directory_is_replaced_not_followed() {
    if !require_root() {
        return;
    }
    with_both_resolvers(|| {
        let f = Fixture::new();
        let tar = Tar::default()
            .symlink("x", &format!("{}/file", f.abs()))
            .file("x", b"pwned")
            .symlink("y", "../sentinel/file")
            .file("y", b"pwned")
            .symlink("d", &f.abs())
            .dir("d", 0o777)
            .file("d/f", b"inside")
            .symlink("e", "../sentinel/dir")
            .dir("e/", 0o777);
        f.run(tar).unwrap();
        assert_eq!(std::fs::read(f.tree.join("x")).unwrap(), b"pwned");
        assert!(md(&f.tree.join("y")).is_file());
        assert!(md(&f.tree.join("d")).is_dir());
        assert_eq!(md(&f.tree.join("d")).mode() & 0o7777, 0o777);
        assert_eq!(std::fs::read(f.tree.join("d/f")).unwrap(), b"inside");
        assert_eq!(md(&f.tree.join("e")).mode() & 0o7777, 0o777);
        assert_eq!(md(&f.sentinel).mode() & 0o7777, 0o700);
        f.assert_untouched();
    });
}

/// CVE-2021-38511: `s -> ..` then `s/exploit/foo/bar`; `t -> ../..` then `t/sentinel/file`.
#[test]
fn entries_below_a_symlink_to_outside_stay_inside() {
    if !require_root() {
        return;
    }
    with_both_resolvers(|| {
        let f = Fixture::new();
        let tar = Tar::default()
            .symlink("s", "..")
            .file("s/exploit/foo/bar", b"x")
            .symlink("t", "../..")
            .file("t/sentinel/file", b"pwned")
            .symlink("u", "/")
            .file("u/sentinel/dir/inner", b"pwned");
        f.run(tar).unwrap();
        assert!(f.tree.join("exploit/foo/bar").is_file());
        assert_eq!(
            std::fs::read(f.tree.join("sentinel/file")).unwrap(),
            b"pwned"
        );
        assert!(f.tree.join("sentinel/dir/inner").is_file());
        assert!(!f.base.join("exploit").exists());
        f.assert_untouched();
    });
}

#[test]
fn absolute_symlink_directory_works_inside_the_tree() {
    if !require_root() {
        return;
    }
    with_both_resolvers(|| {
        let f = Fixture::new();
        let host_pid = Path::new("/run/app.pid");
        let host_before = std::fs::read(host_pid).ok();
        let tar = Tar::default()
            .dir("run/", 0o755)
            .dir("var/", 0o755)
            .symlink("var/run", "/run");
        f.run(tar.file("var/run/app.pid", b"rkt-test\n")).unwrap();
        assert_eq!(
            std::fs::read(f.tree.join("run/app.pid")).unwrap(),
            b"rkt-test\n"
        );
        assert_eq!(
            std::fs::read_link(f.tree.join("var/run")).unwrap(),
            Path::new("/run")
        );
        assert_eq!(std::fs::read(host_pid).ok(), host_before);
        f.assert_untouched();
    });
}

/// A replaced symlink changes how later names resolve: the cached parent must not outlive it.
#[test]
fn parent_cache_follows_replacements() {
    if !require_root() {
        return;
    }
    let f = Fixture::new();
    let tar = Tar::default()
        .dir("x/", 0o755)
        .symlink("a", "x")
        .file("a/f1", b"")
        .dir("a/", 0o755);
    f.run(tar.file("a/f2", b"")).unwrap();
    assert!(f.tree.join("x/f1").is_file());
    assert!(f.tree.join("a/f2").is_file() && !f.tree.join("x/f2").exists());
}

#[test]
fn preserves_owner_mode_times_xattrs_links_and_nodes() {
    if !require_root() {
        return;
    }
    let f = Fixture::new();
    let caps = {
        // VFS_CAP_REVISION_2 | effective, permitted = CAP_NET_RAW (13): capability(7).
        let mut v = 0x0200_0001u32.to_le_bytes().to_vec();
        v.extend_from_slice(&(1u32 << 13).to_le_bytes());
        v.extend_from_slice(&[0; 12]);
        v
    };
    // security.capability needs a file system that takes it (and CAP_SETFCAP): probe first.
    let probe = f.tree.join("probe");
    std::fs::write(&probe, b"").unwrap();
    let caps_ok = rustix::fs::setxattr(&probe, "security.capability", &caps, XattrFlags::empty());
    if let Err(e) = caps_ok {
        eprintln!("security.capability not settable here ({e}): not checked");
    }
    std::fs::remove_file(&probe).unwrap();
    let mut pax: Vec<(&str, &[u8])> = vec![
        ("SCHILY.xattr.user.rkt", b"hello"),
        ("mtime", b"1222222222.5"),
        ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
    ];
    if caps_ok.is_ok() {
        pax.push(("SCHILY.xattr.security.capability", &caps));
    }
    let owned = |kind, name: &str, mode| h(kind, name).owner(1234, 5678).mode(mode);
    let tar = Tar::default()
        .entry(owned(b'5', "d/", 0o555).mtime(1_111_111_111), b"")
        .pax(&pax)
        .entry(owned(b'0', "d/f", 0o4755), b"#!/bin/sh\n")
        .entry(owned(b'5', "d/sub/", 0o700).mtime(1_333_333_333), b"")
        .file("d/sub/g", b"g")
        .entry(
            owned(b'2', "l", 0o777).link("d/f").mtime(1_444_444_444),
            b"",
        )
        .hardlink("d/h", "d/f")
        .entry(owned(b'3', "dev/null", 0o666).dev(1, 3), b"")
        .entry(owned(b'4', "dev/sda", 0o660).dev(8, 0), b"")
        .entry(owned(b'6', "run/fifo", 0o620), b"");
    let stats = f.run(tar).unwrap();
    assert_eq!((stats.entries, stats.files, stats.bytes), (9, 2, 11));
    let t = &f.tree;
    let d = md(&t.join("d"));
    assert_eq!(
        (d.mode() & 0o7777, d.uid(), d.gid(), d.mtime()),
        (0o555, 1234, 5678, 1_111_111_111)
    );
    let file = md(&t.join("d/f"));
    assert_eq!(
        (file.mode() & 0o7777, file.uid(), file.gid()),
        (0o4755, 1234, 5678)
    );
    assert_eq!(
        (file.mtime(), file.mtime_nsec(), file.nlink()),
        (1_222_222_222, 500_000_000, 2)
    );
    assert_eq!(md(&t.join("d/h")).ino(), file.ino());
    assert_eq!(md(&t.join("d/sub")).mtime(), 1_333_333_333);
    let mut buf = [0u8; 64];
    let n = rustix::fs::getxattr(t.join("d/f").as_path(), "user.rkt", &mut buf[..]).unwrap();
    assert_eq!(&buf[..n], b"hello");
    if caps_ok.is_ok() {
        let got = rustix::fs::getxattr(t.join("d/f"), "security.capability", &mut buf[..]);
        assert_eq!(&buf[..got.unwrap()], &caps[..]);
    }
    let opaque = rustix::fs::getxattr(
        t.join("d/f").as_path(),
        "trusted.overlay.opaque",
        &mut buf[..],
    );
    assert_eq!(
        opaque.unwrap_err(),
        Errno::NODATA,
        "trusted.* is not on the allowlist"
    );
    let l = md(&t.join("l"));
    assert!(l.is_symlink());
    assert_eq!((l.uid(), l.gid(), l.mtime()), (1234, 5678, 1_444_444_444));
    let null = md(&t.join("dev/null"));
    assert!(null.file_type().is_char_device());
    assert_eq!(
        (null.rdev(), null.mode() & 0o7777, null.uid()),
        (rustix::fs::makedev(1, 3), 0o666, 1234)
    );
    let sda = md(&t.join("dev/sda"));
    assert!(sda.file_type().is_block_device());
    assert_eq!(
        (sda.rdev(), sda.mode() & 0o7777),
        (rustix::fs::makedev(8, 0), 0o660)
    );
    let fifo = md(&t.join("run/fifo"));
    assert!(fifo.file_type().is_fifo());
    assert_eq!((fifo.mode() & 0o7777, fifo.gid()), (0o620, 5678));
    f.assert_untouched();
}

#[test]
fn without_owners_setuid_is_dropped_and_devices_follow_policy() {
    if !require_root() {
        return;
    }
    let f = Fixture::new();
    let nodes = || {
        Tar::default()
            .entry(
                H {
                    uid: 1234,
                    mode: 0o6755,
                    ..h(b'0', "suid")
                },
                b"",
            )
            .entry(
                H {
                    dev: (1, 3),
                    ..h(b'3', "null")
                },
                b"",
            )
            .entry(h(b'6', "fifo"), b"")
    };
    let options = ExtractOptions {
        preserve_owner: false,
        device_nodes: DeviceNodes::Skip,
        ..options()
    };
    extract_all(&f.tree, &nodes().bytes(), options.clone()).unwrap();
    let suid = md(&f.tree.join("suid"));
    assert_eq!((suid.mode() & 0o7777, suid.uid()), (0o755, 0));
    assert!(!f.tree.join("null").exists() && md(&f.tree.join("fifo")).file_type().is_fifo());
    let refuse = ExtractOptions {
        device_nodes: DeviceNodes::Refuse,
        ..options
    };
    let err = extract_all(&f.tree, &nodes().bytes(), refuse).unwrap_err();
    assert_eq!(
        err.to_string(),
        "refuse device node `null`: not allowed here"
    );
}

#[test]
fn caps_on_bytes_and_entries() {
    if !require_root() {
        return;
    }
    let f = Fixture::new();
    let two = |n| {
        Tar::default()
            .file("a", &vec![b'a'; n])
            .file("b", &vec![b'b'; n])
            .bytes()
    };
    let capped = ExtractOptions {
        max_bytes: 1000,
        ..options()
    };
    extract_all(&f.tree, &two(500), capped.clone()).unwrap();
    let err = extract_all(&f.tree, &two(600), capped).unwrap_err();
    assert_eq!(
        err.to_string(),
        "image too large: more than 1000 bytes when extracted"
    );
    assert!(!f.tree.join("b").exists() || md(&f.tree.join("b")).len() == 500);
    let capped = ExtractOptions {
        max_entries: 3,
        ..options()
    };
    let tar = Tar::default()
        .dir("d/", 0o755)
        .file("d/1", b"")
        .file("d/2", b"")
        .file("d/3", b"");
    let err = extract_all(&f.tree, &tar.bytes(), capped).unwrap_err();
    assert_eq!(err.to_string(), "image too large: more than 3 entries");
    assert!(!f.tree.join("d/3").exists());
}

#[test]
fn unsupported_types_truncation_and_bad_headers_are_errors() {
    if !require_root() {
        return;
    }
    let f = Fixture::new();
    let sparse = H {
        gnu: true,
        ..h(b'S', "sparse")
    };
    let err = f.run(Tar::default().entry(sparse, b"")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "refuse entry `sparse`: unsupported tar entry type 'S' (GNU sparse file)"
    );
    let err = f
        .run(Tar::default().entry(h(b'V', "label"), b""))
        .unwrap_err();
    assert!(err.to_string().contains("'V' (GNU volume header)"), "{err}");
    let err = f.run(Tar::default().entry(h(b'Z', "z"), b"")).unwrap_err();
    assert!(
        matches!(err, Error::Unsupported { kind: b'Z', .. }),
        "{err}"
    );
    let err = f.run(Tar::default().symlink("empty", "")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "refuse entry `empty`: symlink without a target"
    );
    // chown(2) reads uid -1 as "unchanged": it is no owner.
    let err = f
        .run(Tar::default().pax(&[("uid", b"4294967295")]).file("u", b""))
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    let err = f.run(Tar::default().file("", b"")).unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    // The header promises 4096 bytes; the archive ends after 10.
    let mut bytes = Tar::default()
        .entry(
            H {
                size: Some(4096),
                ..h(b'0', "cut")
            },
            b"0123456789",
        )
        .0;
    bytes.truncate(512 + 10);
    let err = extract_all(&f.tree, &bytes, options()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "read data of `cut`: archive ends after 10 of 4096 bytes"
    );
}

#[test]
fn replacing_and_error_messages() {
    if !require_root() {
        return;
    }
    let f = Fixture::new();
    let err = f
        .run(
            Tar::default()
                .dir("d/", 0o755)
                .file("d/f", b"")
                .file("d", b""),
        )
        .unwrap_err();
    assert_eq!(
        crate::error::chain(&err),
        "create `d`: Directory not empty (os error 39)"
    );
    f.run(Tar::default().dir("e/", 0o755).file("e", b"now a file"))
        .unwrap();
    assert!(md(&f.tree.join("e")).is_file());
    let err = f
        .run(Tar::default().file("p", b"").file("p/q", b""))
        .unwrap_err();
    assert_eq!(
        crate::error::chain(&err),
        "open parent directory of `p/q`: Not a directory (os error 20)"
    );
    // Root entry, `.` components, a link to itself, a missing parent created on the way.
    let tar = Tar::default()
        .dir("./", 0o750)
        .file("./etc/./passwd", b"root")
        .hardlink("etc/passwd", "etc/passwd");
    f.run(tar).unwrap();
    assert_eq!(std::fs::read(f.tree.join("etc/passwd")).unwrap(), b"root");
    assert_eq!(md(&f.tree).mode() & 0o7777, 0o750);
    assert_eq!(md(&f.tree.join("etc")).mode() & 0o7777, 0o755);
    let err = Extractor::new(&f.base.join("missing"), options()).unwrap_err();
    assert!(
        crate::error::chain(&err).starts_with("open tree `"),
        "{err}"
    );
    f.assert_untouched();
}
