//! The image commands end to end: fetch, list, cat-manifest, export, extract, render, verify,
//! rm and gc, with rkt 1.30's output formats.

use e2e::aci::{self, Tar};
use e2e::snapshot;
use e2e::store::{assert_fails, assert_ok, sha512_id, stderr, stdout, StoreDir};

#[test]
fn fetch_list_render_flow() {
    let t = StoreDir::new("flow");
    let tar = aci::simple("example.com/hello", "1.0").finish();
    let id = sha512_id(&tar);
    let file = aci::write(&t.join("hello.aci"), &aci::gzip(&tar));
    let path = file.to_str().unwrap();

    // Unsigned images need --insecure-options=image, and nothing is stored without it.
    let out = t.rkt(&["fetch", path]);
    assert_fails(&out, "use --insecure-options=image");
    assert!(t.list_ids().is_empty());

    let out = t.rkt(&["fetch", "--insecure-options=image", path]);
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{}\n", &id[..39]));
    let out = t.rkt(&[
        "--insecure-options=image",
        "fetch",
        "--full",
        &format!("file://{path}"),
    ]);
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{}\n", &id[..71]));
    assert_eq!(t.list_ids(), vec![id[..71].to_string()]);

    // The table: rkt's columns, 12 hex digits of ID, name:version.
    let out = t.rkt(&["image", "list"]);
    assert_ok(&out);
    let text = stdout(&out);
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .split('\t')
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(header, ["ID", "NAME", "SIZE", "IMPORT TIME", "LAST USED"]);
    let row = lines.next().unwrap();
    assert!(row.starts_with(&format!("{}\t", &id[..19])), "{row}");
    assert!(row.contains("example.com/hello:1.0"), "{row}");
    assert!(lines.next().is_none());

    // JSON: rkt's ImageListEntry.
    let out = t.rkt(&["image", "list", "--format=json"]);
    assert_ok(&out);
    let json = stdout(&out);
    assert!(
        json.starts_with(&format!(
            "[{{\"id\":\"{}\",\"name\":\"example.com/hello:1.0\",\"import_time\":",
            &id[..71]
        )),
        "{json}"
    );
    assert!(
        json.contains("\"last_used_time\":") && json.contains("\"size\":"),
        "{json}"
    );

    let out = t.rkt(&["image", "cat-manifest", "example.com/hello:1.0"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("\"name\": \"example.com/hello\""),
        "{}",
        stdout(&out)
    );
    let out = t.rkt(&["image", "cat-manifest", "--pretty-print=false", &id[..12]]);
    assert_ok(&out);
    assert!(stdout(&out).starts_with('{') && stdout(&out).lines().count() == 1);

    // Render: manifest + rootfs; rootfs-only; refusing to overwrite without --overwrite.
    let dir = t.join("rendered");
    assert_ok(&t.rkt(&[
        "image",
        "render",
        "example.com/hello",
        dir.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read_to_string(dir.join("rootfs/etc/hello")).unwrap(),
        "example.com/hello 1.0\n"
    );
    assert!(dir.join("manifest").is_file());
    assert_eq!(
        std::fs::read_link(dir.join("rootfs/bin/link"))
            .unwrap()
            .to_str(),
        Some("tool")
    );
    let out = t.rkt(&[
        "image",
        "render",
        "example.com/hello",
        dir.to_str().unwrap(),
    ]);
    assert_fails(&out, "--overwrite");
    assert_ok(&t.rkt(&[
        "image",
        "render",
        "--rootfs-only",
        "--overwrite",
        &id[..20],
        dir.to_str().unwrap(),
    ]));
    assert!(dir.join("etc/hello").is_file() && !dir.join("manifest").exists());
    let ex = t.join("extracted");
    assert_ok(&t.rkt(&[
        "image",
        "extract",
        "--rootfs-only",
        &id[..20],
        ex.to_str().unwrap(),
    ]));
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ex.join("bin/tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o4755);
    }

    // Export gives the tar whose hash is the ID back, and it imports to the same ID.
    let exported = t.join("out.aci");
    assert_ok(&t.rkt(&["image", "export", &id[..20], exported.to_str().unwrap()]));
    assert_eq!(sha512_id(&std::fs::read(&exported).unwrap()), id);
    assert_fails(
        &t.rkt(&["image", "export", &id[..20], exported.to_str().unwrap()]),
        "--overwrite",
    );
    assert_ok(&t.rkt(&[
        "image",
        "export",
        "--overwrite",
        &id[..20],
        exported.to_str().unwrap(),
    ]));
    assert_eq!(t.fetch(&exported), id[..71]);

    let out = t.rkt(&["image", "verify", "example.com/hello"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("successfully verified checksum"),
        "{}",
        stdout(&out)
    );

    let out = t.rkt(&["image", "rm", &id[..71]]);
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        format!("successfully removed aci for image: \"{}\"\n", &id[..71])
    );
    assert!(t.list_ids().is_empty());
}

#[test]
fn every_compression_gives_one_id() {
    let t = StoreDir::new("compress");
    let tar = aci::simple("example.com/z", "1").finish();
    let id = sha512_id(&tar)[..71].to_string();
    let forms = [
        ("plain", tar.clone()),
        ("gzip", aci::gzip(&tar)),
        ("bzip2", aci::compress_with("bzip2", &tar)),
        ("xz", aci::compress_with("xz", &tar)),
    ];
    for (name, bytes) in forms {
        let file = aci::write(&t.join(&format!("{name}.aci")), &bytes);
        assert_eq!(t.fetch(&file), id, "{name}");
        let out = t.join(&format!("{name}.tar"));
        assert_ok(&t.rkt(&["image", "export", &id, out.to_str().unwrap()]));
        assert_eq!(std::fs::read(&out).unwrap(), tar, "{name}");
    }
    assert_eq!(t.list_ids(), vec![id]);
}

#[test]
fn image_arguments_resolve_like_rkt() {
    let t = StoreDir::new("resolve");
    let mut ids = Vec::new();
    for v in ["1", "2"] {
        let file = aci::write(
            &t.join(&format!("{v}.aci")),
            &aci::simple("example.com/app", v).finish(),
        );
        ids.push(t.fetch(&file));
    }
    let out = t.rkt(&["image", "cat-manifest", "sha512-a"]);
    assert_fails(&out, "too short");
    let out = t.rkt(&["image", "cat-manifest", "sha512-"]);
    assert_eq!(out.status.code(), Some(254));
    let out = t.rkt(&["image", "cat-manifest", "example.com/nope"]);
    assert_fails(&out, "example.com/nope");
    // Without a version the newest import wins; with one, that version.
    let out = t.rkt(&[
        "image",
        "cat-manifest",
        "--pretty-print=false",
        "example.com/app",
    ]);
    assert!(stdout(&out).contains("\"value\":\"2\""), "{}", stdout(&out));
    let out = t.rkt(&[
        "image",
        "cat-manifest",
        "--pretty-print=false",
        "example.com/app:1",
    ]);
    assert!(stdout(&out).contains("\"value\":\"1\""), "{}", stdout(&out));
    // An ambiguous prefix: find two IDs sharing their first hex digit, if these two do.
    if ids[0][7..9] == ids[1][7..9] {
        assert_fails(&t.rkt(&["image", "rm", &ids[0][..9]]), "ambiguous");
    }
}

#[test]
fn multiple_arguments_keep_going_and_exit_254() {
    let t = StoreDir::new("multi");
    let good = aci::write(
        &t.join("good.aci"),
        &aci::simple("example.com/good", "1").finish(),
    );
    let bad = aci::write(&t.join("bad.aci"), b"not an image at all");
    let out = t.rkt(&[
        "fetch",
        "--insecure-options=image",
        bad.to_str().unwrap(),
        good.to_str().unwrap(),
        t.join("missing.aci").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(254), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 1);
    let err = stderr(&out);
    assert!(
        err.contains("bad.aci") && err.contains("missing.aci"),
        "{err}"
    );
    assert_eq!(t.list_ids().len(), 1);

    let id = t.list_ids()[0].clone();
    let out = t.rkt(&["image", "rm", "example.com/none", &id]);
    assert_eq!(out.status.code(), Some(254));
    assert!(stdout(&out).contains(&id));
    assert!(t.list_ids().is_empty());
}

#[test]
fn list_fields_sorting_and_formats() {
    let t = StoreDir::new("list");
    for (name, size) in [("example.com/b", 10usize), ("example.com/a", 3000)] {
        let tar = aci::base(&aci::manifest(name, "1"))
            .file("rootfs/data", 0o644, &aci::noise(size, 1))
            .finish();
        t.fetch(&aci::write(&t.join("x.aci"), &tar));
    }
    let out = t.rkt(&[
        "image",
        "list",
        "--no-legend",
        "--fields=name,latest",
        "--sort=name",
        "--order=desc",
    ]);
    assert_ok(&out);
    let names: Vec<String> = stdout(&out)
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    assert_eq!(names, ["example.com/b:1", "example.com/a:1"]);
    assert!(stdout(&out).contains("false"));
    let out = t.rkt(&["image", "list", "--fields=size", "--full", "--sort=size"]);
    let sizes: Vec<u64> = stdout(&out)
        .lines()
        .skip(1)
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert!(sizes[0] < sizes[1], "{sizes:?}");
    assert_fails(&t.rkt(&["image", "list", "--fields=bogus"]), "bogus");
    assert_fails(&t.rkt(&["image", "list", "--order=up"]), "order");
    assert_fails(&t.rkt(&["image", "list", "--format=yaml"]), "yaml");
    let out = t.rkt(&["image", "list", "--format=json-pretty"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("\n\t{\n\t\t\"id\": "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn verify_repairs_a_tampered_tree() {
    let t = StoreDir::new("verify");
    let id = t.fetch(&aci::write(
        &t.join("v.aci"),
        &aci::simple("example.com/v", "1").finish(),
    ));
    let trees = t.store().join("cas/tree");
    let tree = std::fs::read_dir(&trees)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let file = tree.join("rootfs/etc/hello");
    std::fs::write(&file, "tampered\n").unwrap();
    let out = t.rkt(&["image", "verify", &id]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("verification failed"),
        "{}",
        stdout(&out)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "example.com/v 1\n");
    let out = t.rkt(&["image", "verify", &id]);
    assert!(
        stdout(&out).contains("successfully verified"),
        "{}",
        stdout(&out)
    );
    assert!(std::fs::read_dir(t.store().join("cas/tmp"))
        .unwrap()
        .next()
        .is_none());
}

#[test]
fn gc_honours_the_grace_period_and_cleans_leftovers() {
    let t = StoreDir::new("gc");
    let id = t.fetch(&aci::write(
        &t.join("g.aci"),
        &aci::simple("example.com/g", "1").finish(),
    ));
    // A leftover of a crashed import: nobody holds its lock.
    std::fs::create_dir_all(t.store().join("cas/tmp/12345-stale/rootfs")).unwrap();
    let out = t.rkt(&["image", "gc"]);
    assert_ok(&out);
    assert_eq!(t.list_ids(), vec![id.clone()]);
    assert!(std::fs::read_dir(t.store().join("cas/tmp"))
        .unwrap()
        .next()
        .is_none());
    assert_fails(
        &t.rkt(&["image", "gc", "--grace-period=soon"]),
        "grace-period",
    );
    let out = t.rkt(&["image", "gc", "--grace-period=0s"]);
    assert_ok(&out);
    assert!(stdout(&out).contains(&id));
    assert!(t.list_ids().is_empty());
    for dir in ["cas/tree", "cas/index", "cas/tmp"] {
        assert!(
            std::fs::read_dir(t.store().join(dir))
                .unwrap()
                .next()
                .is_none(),
            "{dir}"
        );
    }
}

#[test]
fn dependencies_render_in_appc_order_with_whitelists() {
    let t = StoreDir::new("deps");
    let base = aci::base(&aci::manifest("example.com/base", "1"))
        .dir("rootfs/etc", 0o755)
        .file("rootfs/etc/common", 0o644, b"base\n")
        .file("rootfs/etc/only-base", 0o644, b"base\n")
        .file("rootfs/etc/hidden", 0o644, b"base\n")
        .finish();
    let app_manifest = r#"{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/app",
        "labels":[{"name":"version","value":"1"}],
        "dependencies":[{"imageName":"example.com/base","labels":[{"name":"version","value":"1"}]}],
        "pathWhitelist":["/etc","/etc/common","/etc/only-base","/etc/app"]}"#;
    let app = aci::base(app_manifest)
        .dir("rootfs/etc", 0o755)
        .file("rootfs/etc/common", 0o644, b"app\n")
        .file("rootfs/etc/app", 0o644, b"app\n")
        .finish();
    let app_file = aci::write(&t.join("app.aci"), &app);
    assert_ok(&t.rkt(&["image", "list"]));
    let before = snapshot::take(&t.store());
    let out = t.rkt(&[
        "fetch",
        "--insecure-options=image",
        app_file.to_str().unwrap(),
    ]);
    assert_fails(&out, "example.com/base");
    snapshot::assert_same(&before, &snapshot::take(&t.store()), "missing dependency");

    t.fetch(&aci::write(&t.join("base.aci"), &base));
    let id = t.fetch(&app_file);
    let dir = t.join("out");
    assert_ok(&t.rkt(&[
        "image",
        "render",
        "--rootfs-only",
        &id,
        dir.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read_to_string(dir.join("etc/common")).unwrap(),
        "app\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("etc/only-base")).unwrap(),
        "base\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("etc/app")).unwrap(),
        "app\n"
    );
    assert!(!dir.join("etc/hidden").exists(), "whitelist ignored");
    // extract is the image alone.
    let ex = t.join("ex");
    assert_ok(&t.rkt(&[
        "image",
        "extract",
        "--rootfs-only",
        &id,
        ex.to_str().unwrap(),
    ]));
    assert!(!ex.join("etc/only-base").exists());
    let out = t.rkt(&["image", "verify", &id]);
    assert!(
        stdout(&out).contains("successfully verified"),
        "{}",
        stdout(&out)
    );

    // An imageID pins the dependency; a wrong one names what was found instead.
    let pinned = |image_id: &str| {
        let m = format!(
            r#"{{"acKind":"ImageManifest","acVersion":"0.8.11","name":"example.com/pinned",
            "dependencies":[{{"imageName":"example.com/base","imageID":"{image_id}"}}]}}"#
        );
        aci::write(&t.join("pinned.aci"), &aci::base(&m).finish())
    };
    let good = pinned(&sha512_id(&base));
    t.fetch(&good);
    let wrong = pinned(&format!("sha512-{}", "0".repeat(128)));
    let out = t.rkt(&["fetch", "--insecure-options=image", wrong.to_str().unwrap()]);
    assert_fails(&out, "does not match");
}

#[test]
fn store_is_private_to_root() {
    let t = StoreDir::new("perm");
    let tar = aci::simple("example.com/suid", "1").finish();
    t.fetch(&aci::write(&t.join("s.aci"), &tar));
    let cas = t.store().join("cas");
    let tree = std::fs::read_dir(cas.join("tree"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let tool = tree.join("rootfs/bin/tool");
    assert!(tool.is_file());
    for target in [cas.clone(), tool.clone(), cas.join("index")] {
        let out = std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
                "stat",
            ])
            .arg(&target)
            .output()
            .expect("setpriv (util-linux) is needed");
        assert!(
            !out.status.success(),
            "nobody can stat {}",
            target.display()
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));
    }
    // Also as nobody, rkt itself cannot read the store.
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(e2e::rkt_bin())
        .arg(format!("--dir={}", t.store().display()))
        .args(["image", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(254));
    let _ = Tar::new();
}

/// The README demo: build an image with `rkt image build`, fetch it, list it, render it.
#[test]
fn readme_demo_build_fetch_list_render() {
    let t = StoreDir::new("demo");
    let src = t.join("hello");
    std::fs::create_dir_all(src.join("rootfs/bin")).unwrap();
    std::fs::write(src.join("rootfs/bin/hello"), "#!/bin/sh\necho hello\n").unwrap();
    std::fs::write(
        src.join("manifest"),
        aci::manifest("example.com/hello", "0.1"),
    )
    .unwrap();
    let image = t.join("hello.aci");
    let out = t.rkt(&[
        "image",
        "build",
        src.to_str().unwrap(),
        image.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let built = stdout(&out).trim().to_string();
    let out = t.rkt(&["--insecure-options=image", "fetch", image.to_str().unwrap()]);
    assert_ok(&out);
    let id = stdout(&out).trim().to_string();
    assert!(
        built.starts_with(&id) || id.starts_with(&built[..built.len().min(39)]),
        "{built} vs {id}"
    );
    let out = t.rkt(&["image", "list"]);
    assert!(
        stdout(&out).contains("example.com/hello:0.1"),
        "{}",
        stdout(&out)
    );
    let dir = t.join("rendered");
    assert_ok(&t.rkt(&[
        "image",
        "render",
        "--rootfs-only",
        "example.com/hello:0.1",
        dir.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read_to_string(dir.join("bin/hello")).unwrap(),
        "#!/bin/sh\necho hello\n"
    );
}
