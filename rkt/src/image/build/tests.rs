use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{symlink, PermissionsExt};

use rustix::fs::{Mode, Timespec, Timestamps, CWD};
use tar::EntryType;

use super::output::rename_noreplace;
use super::*;
use crate::image::aci;
use crate::image::testutil::{sha512_id, TempDir, MANIFEST};
use crate::image::Compression;

const LONG_DIR: &str =
    "a-directory-name-long-enough-that-with-its-parents-the-path-passes-one-hundred-bytes";

fn set_mtime(path: &Path, secs: i64) {
    let t = Timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    rustix::fs::utimensat(
        CWD,
        path,
        &Timestamps {
            last_access: t,
            last_modification: t,
        },
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

/// An image directory with one of each kind of entry, all mtimes fixed.
fn image_dir() -> TempDir {
    let d = TempDir::new();
    fs::write(d.join("manifest"), MANIFEST).unwrap();
    let r = d.join("rootfs");
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::create_dir_all(r.join("bin")).unwrap();
    fs::create_dir_all(r.join(LONG_DIR)).unwrap();
    fs::write(r.join("etc/hostname"), "box\n").unwrap();
    fs::write(r.join("bin/sh"), vec![0x7f; 70_000]).unwrap();
    fs::set_permissions(r.join("bin/sh"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::write(r.join(LONG_DIR).join("file"), "deep").unwrap();
    fs::hard_link(r.join("etc/hostname"), r.join("etc/hostname2")).unwrap();
    symlink("../etc/./hostname", r.join("bin/link")).unwrap();
    symlink(format!("/{LONG_DIR}/{LONG_DIR}"), r.join("bin/longlink")).unwrap();
    rustix::fs::mknodat(
        CWD,
        r.join("etc/fifo"),
        rustix::fs::FileType::Fifo,
        Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    for p in [
        "manifest",
        "rootfs",
        "rootfs/etc",
        "rootfs/bin",
        "rootfs/etc/hostname",
        "rootfs/bin/sh",
        "rootfs/bin/link",
        "rootfs/bin/longlink",
        "rootfs/etc/fifo",
    ] {
        set_mtime(&d.join(p), 1_500_000_000);
    }
    set_mtime(&r.join(LONG_DIR).join("file"), 1_500_000_000);
    set_mtime(&r.join(LONG_DIR), 1_500_000_000);
    d
}

fn options(compress: bool) -> Options {
    Options {
        compress,
        owner_root: false,
        overwrite: false,
    }
}

#[test]
fn the_same_directory_gives_the_same_id_and_bytes() {
    let src = image_dir();
    let out = TempDir::new();
    let a = build(src.path(), &out.join("a.aci"), &options(true)).unwrap();
    let b = build(src.path(), &out.join("b.aci"), &options(true)).unwrap();
    assert_eq!(a, b);
    let bytes = fs::read(out.join("a.aci")).unwrap();
    assert_eq!(bytes, fs::read(out.join("b.aci")).unwrap());
    assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
    let info = aci::inspect(&out.join("a.aci")).unwrap();
    assert_eq!(info.id, a);
    assert_eq!(info.compression, Compression::Gzip);
    // mtimes are part of the image.
    set_mtime(&src.join("rootfs/etc/hostname"), 1_500_000_001);
    let c = build(src.path(), &out.join("c.aci"), &options(true)).unwrap();
    assert_ne!(a, c);
}

#[test]
fn no_compression_gives_a_plain_tar_with_the_same_id() {
    let src = image_dir();
    let out = TempDir::new();
    let gz = build(src.path(), &out.join("a.aci"), &options(true)).unwrap();
    let plain = build(src.path(), &out.join("b.aci"), &options(false)).unwrap();
    assert_eq!(gz, plain);
    let tar = fs::read(out.join("b.aci")).unwrap();
    assert_eq!(&tar[257..262], b"ustar");
    assert_eq!(sha512_id(&tar), plain.to_string());
    assert_eq!(
        aci::inspect(&out.join("b.aci")).unwrap().compression,
        Compression::None
    );
}

#[test]
fn entries_are_sorted_and_keep_their_metadata() {
    let src = image_dir();
    let out = TempDir::new();
    build(src.path(), &out.join("x.aci"), &options(false)).unwrap();
    let mut archive = tar::Archive::new(File::open(out.join("x.aci")).unwrap());
    let mut seen = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut e = entry.unwrap();
        let h = e.header().clone();
        let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
        let link = e
            .link_name_bytes()
            .map(|l| String::from_utf8(l.into_owned()).unwrap());
        assert_eq!(h.username_bytes(), Some(&b""[..]), "{path}");
        assert_eq!(h.groupname_bytes(), Some(&b""[..]), "{path}");
        assert_eq!(h.mtime().unwrap(), 1_500_000_000, "{path}");
        assert_eq!(
            u64::from(rustix::process::getuid().as_raw()),
            h.uid().unwrap()
        );
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        seen.push((path, h.entry_type(), h.mode().unwrap(), link, data.len()));
    }
    let long_file = format!("rootfs/{LONG_DIR}/file");
    let long_target = format!("/{LONG_DIR}/{LONG_DIR}");
    let want: Vec<(String, EntryType, u32, Option<String>, usize)> = vec![
        (
            "manifest".into(),
            EntryType::Regular,
            0o644,
            None,
            MANIFEST.len(),
        ),
        ("rootfs/".into(), EntryType::Directory, 0o755, None, 0),
        (
            format!("rootfs/{LONG_DIR}/"),
            EntryType::Directory,
            0o755,
            None,
            0,
        ),
        (long_file, EntryType::Regular, 0o644, None, 4),
        ("rootfs/bin/".into(), EntryType::Directory, 0o755, None, 0),
        (
            "rootfs/bin/link".into(),
            EntryType::Symlink,
            0o777,
            Some("../etc/./hostname".into()),
            0,
        ),
        (
            "rootfs/bin/longlink".into(),
            EntryType::Symlink,
            0o777,
            Some(long_target),
            0,
        ),
        (
            "rootfs/bin/sh".into(),
            EntryType::Regular,
            0o4755,
            None,
            70_000,
        ),
        ("rootfs/etc/".into(), EntryType::Directory, 0o755, None, 0),
        ("rootfs/etc/fifo".into(), EntryType::Fifo, 0o600, None, 0),
        (
            "rootfs/etc/hostname".into(),
            EntryType::Regular,
            0o644,
            None,
            4,
        ),
        (
            "rootfs/etc/hostname2".into(),
            EntryType::Link,
            0o644,
            Some("rootfs/etc/hostname".into()),
            0,
        ),
    ];
    assert_eq!(seen, want);
}

#[test]
fn owner_root_zeroes_ownership() {
    let src = image_dir();
    let out = TempDir::new();
    let opts = Options {
        owner_root: true,
        ..options(false)
    };
    build(src.path(), &out.join("x.aci"), &opts).unwrap();
    let mut archive = tar::Archive::new(File::open(out.join("x.aci")).unwrap());
    for entry in archive.entries().unwrap() {
        let e = entry.unwrap();
        assert_eq!(
            (e.header().uid().unwrap(), e.header().gid().unwrap()),
            (0, 0)
        );
    }
}

#[test]
fn user_xattrs_are_kept_as_pax_records() {
    let src = image_dir();
    let file = src.join("rootfs/etc/hostname");
    match rustix::fs::lsetxattr(&file, "user.rkt", b"yes", rustix::fs::XattrFlags::empty()) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("skipped: no user xattrs on this filesystem: {e}");
            return;
        }
    }
    let out = TempDir::new();
    build(src.path(), &out.join("x.aci"), &options(false)).unwrap();
    let mut archive = tar::Archive::new(File::open(out.join("x.aci")).unwrap());
    let mut found = false;
    for entry in archive.entries().unwrap() {
        let mut e = entry.unwrap();
        if e.path_bytes().as_ref() != b"rootfs/etc/hostname" {
            continue;
        }
        for ext in e.pax_extensions().unwrap().unwrap() {
            let ext = ext.unwrap();
            if ext.key_bytes() == b"SCHILY.xattr.user.rkt" {
                assert_eq!(ext.value_bytes(), b"yes");
                found = true;
            }
        }
    }
    assert!(found);
}

#[test]
fn an_existing_output_is_kept_without_overwrite() {
    let src = image_dir();
    let out = TempDir::new();
    let aci = out.join("x.aci");
    fs::write(&aci, "old").unwrap();
    let e = build(src.path(), &aci, &options(true)).unwrap_err();
    assert!(matches!(e, Error::OutputExists { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "write ACI `{}`: file exists (use --overwrite to replace it)",
            aci.display()
        )
    );
    assert_eq!(fs::read(&aci).unwrap(), b"old");
    assert_eq!(out.list(), ["x.aci"]);
    let opts = Options {
        overwrite: true,
        ..options(true)
    };
    let id = build(src.path(), &aci, &opts).unwrap();
    assert_eq!(aci::inspect(&aci).unwrap().id, id);
    assert_eq!(out.list(), ["x.aci"]);
}

#[test]
fn the_no_replace_rename_refuses_a_file_that_appeared() {
    let out = TempDir::new();
    fs::write(out.join("a"), "a").unwrap();
    fs::write(out.join("b"), "b").unwrap();
    let e = rename_noreplace(&out.join("a"), &out.join("b")).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(fs::read(out.join("b")).unwrap(), b"b");
}

#[test]
fn bad_input_writes_nothing() {
    let bad_manifests = [
        "{",
        r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"Bad Name"}"#,
        r#"{"acKind":"PodManifest","acVersion":"0.8.11","name":"example.com/x"}"#,
    ];
    for manifest in bad_manifests {
        let src = image_dir();
        fs::write(src.join("manifest"), manifest).unwrap();
        let out = TempDir::new();
        let e = build(src.path(), &out.join("x.aci"), &options(true)).unwrap_err();
        assert!(matches!(e, Error::BuildBadManifest { .. }), "{e:?}");
        assert!(e.to_string().starts_with("build ACI: invalid manifest `"));
        assert!(out.list().is_empty(), "{:?}", out.list());
    }

    let src = image_dir();
    fs::write(
        src.join("manifest"),
        vec![b' '; MANIFEST_LIMIT as usize + 1],
    )
    .unwrap();
    let out = TempDir::new();
    let e = build(src.path(), &out.join("x.aci"), &options(true)).unwrap_err();
    assert!(matches!(e, Error::BuildManifestTooLarge { .. }), "{e:?}");
    assert!(out.list().is_empty());

    let src = image_dir();
    fs::write(src.join("README"), "").unwrap();
    let e = build(src.path(), &out.join("x.aci"), &options(true)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "build ACI: unexpected `{}`: only `manifest` and `rootfs` may be at the top",
            src.join("README").display()
        )
    );

    let src = image_dir();
    fs::remove_file(src.join("manifest")).unwrap();
    let e = build(src.path(), &out.join("x.aci"), &options(true)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("build ACI from `{}`: no `manifest`", src.path().display())
    );

    let src = image_dir();
    fs::remove_dir_all(src.join("rootfs")).unwrap();
    let e = build(src.path(), &out.join("x.aci"), &options(true)).unwrap_err();
    assert!(
        matches!(e, Error::BuildMissing { name: "rootfs", .. }),
        "{e:?}"
    );

    let src = image_dir();
    let real = TempDir::new();
    fs::remove_dir_all(src.join("rootfs")).unwrap();
    symlink(real.path(), src.join("rootfs")).unwrap();
    let e = build(src.path(), &out.join("x.aci"), &options(true)).unwrap_err();
    assert!(
        e.to_string().ends_with("/rootfs` is not a directory"),
        "{e}"
    );

    let src = image_dir();
    let e = build(src.path(), &src.join("rootfs/etc/x.aci"), &options(true)).unwrap_err();
    assert!(matches!(e, Error::OutputInsideRootfs { .. }), "{e:?}");
    assert!(!src.join("rootfs/etc/x.aci").exists());

    assert!(out.list().is_empty(), "{:?}", out.list());
}

#[test]
fn the_cli_builds_and_maps_errors_to_254() {
    let src = image_dir();
    let out = TempDir::new();
    let aci = out.join("x.aci");
    let argv = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec!["image".into(), "build".into()];
        v.extend(extra.iter().map(|s| s.to_string()));
        v.push(src.path().display().to_string());
        v.push(aci.display().to_string());
        v
    };
    assert!(crate::cli::run(argv(&["--no-compression"])).is_ok());
    assert_eq!(&fs::read(&aci).unwrap()[257..262], b"ustar");
    let e = crate::cli::run(argv(&[])).unwrap_err();
    assert_eq!(e.exit_code(), 254);
    assert!(matches!(
        e,
        crate::error::Error::Image(Error::OutputExists { .. })
    ));
    assert!(crate::cli::run(argv(&["--overwrite", "--owner-root"])).is_ok());
    assert_eq!(&fs::read(&aci).unwrap()[..2], &[0x1f, 0x8b]);
}
