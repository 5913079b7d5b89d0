//! ACI files through the static binary: `image build` and `image validate` agree on one ID
//! whatever the compression, and bad files get one clear line and exit 254.

use e2e::{rkt, run, TestDir};
use std::process::Command;

const MANIFEST: &str = r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/hello","labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}]}"#;

fn image_dir(dir: &TestDir) -> std::path::PathBuf {
    let image = dir.join("image");
    std::fs::create_dir_all(image.join("rootfs/etc")).unwrap();
    std::fs::write(image.join("rootfs/etc/hello"), "hello\n").unwrap();
    std::fs::write(image.join("manifest"), MANIFEST).unwrap();
    image
}

fn sha512_of_plain_tar(path: &std::path::Path) -> String {
    let out = run(Command::new("sh")
        .arg("-c")
        .arg(format!("gzip -dc {} | sha512sum", path.display())));
    out.expect_success();
    out.stdout[..128].to_string()
}

#[test]
fn build_and_validate_agree_across_compressions() {
    let dir = TestDir::new("aci-files");
    let image = image_dir(&dir);
    let gz = dir.join("hello.aci");
    let plain = dir.join("hello-plain.aci");
    let built = rkt([
        std::ffi::OsStr::new("image"),
        "build".as_ref(),
        image.as_os_str(),
        gz.as_os_str(),
    ]);
    built.expect_success();
    let id = built.stdout.trim().to_string();
    assert!(id.starts_with("sha512-") && id.len() == 7 + 64, "{id}");
    rkt([
        std::ffi::OsStr::new("image"),
        "build".as_ref(),
        "--no-compression".as_ref(),
        image.as_os_str(),
        plain.as_os_str(),
    ])
    .expect_success();

    let full = sha512_of_plain_tar(&gz);
    assert!(
        full.starts_with(&id["sha512-".len()..]),
        "the ID is the sha512 of the tar"
    );
    for extra in ["bz2", "xz"] {
        let (tool, out) = if extra == "bz2" {
            ("bzip2", dir.join("hello.bz2.aci"))
        } else {
            ("xz", dir.join("hello.xz.aci"))
        };
        run(Command::new("sh").arg("-c").arg(format!(
            "{tool} -c {} > {}",
            plain.display(),
            out.display()
        )))
        .expect_success();
        let v = rkt([
            std::ffi::OsStr::new("image"),
            "validate".as_ref(),
            "--full".as_ref(),
            out.as_os_str(),
        ]);
        v.expect_success();
        assert_eq!(v.stdout.trim(), format!("sha512-{full}"), "{tool}");
    }
    let both = rkt([
        std::ffi::OsStr::new("image"),
        "validate".as_ref(),
        gz.as_os_str(),
        plain.as_os_str(),
    ]);
    both.expect_success();
    assert_eq!(both.stdout, format!("{id}\n{id}\n"));
}

#[test]
fn bad_files_are_named_and_the_others_still_checked() {
    let dir = TestDir::new("aci-bad");
    let image = image_dir(&dir);
    let good = dir.join("good.aci");
    rkt([
        std::ffi::OsStr::new("image"),
        "build".as_ref(),
        image.as_os_str(),
        good.as_os_str(),
    ])
    .expect_success();
    let zstd = dir.join("z.aci");
    run(Command::new("sh").arg("-c").arg(format!(
        "gzip -dc {} | zstd -q -c > {}",
        good.display(),
        zstd.display()
    )))
    .expect_success();
    let empty = dir.join("empty.aci");
    std::fs::write(&empty, b"").unwrap();

    rkt([
        std::ffi::OsStr::new("image"),
        "validate".as_ref(),
        zstd.as_os_str(),
    ])
    .expect_error("unsupported compression (zstd)");
    rkt([
        std::ffi::OsStr::new("image"),
        "validate".as_ref(),
        empty.as_os_str(),
    ])
    .expect_error("empty file");
    let mixed = rkt([
        std::ffi::OsStr::new("image"),
        "validate".as_ref(),
        zstd.as_os_str(),
        good.as_os_str(),
    ]);
    mixed.expect_code(254);
    assert_eq!(
        mixed.stdout.lines().count(),
        1,
        "the good file's ID is still printed"
    );
    assert_eq!(mixed.stderr.lines().count(), 1, "{}", mixed.stderr);
}

#[test]
fn build_writes_nothing_for_a_bad_manifest() {
    let dir = TestDir::new("aci-build-bad");
    let image = image_dir(&dir);
    std::fs::write(
        image.join("manifest"),
        r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"Not_Valid"}"#,
    )
    .unwrap();
    let out = dir.join("out.aci");
    rkt([
        std::ffi::OsStr::new("image"),
        "build".as_ref(),
        image.as_os_str(),
        out.as_os_str(),
    ])
    .expect_error("manifest");
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the image dir remains"
    );
}
