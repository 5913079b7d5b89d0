//! Volumes and mounts resolved as rkt 1.30 resolved them, never outside the app's rootfs
//! (issue 17 item 2): relative and `..` targets, targets through the image's symlinks
//! (dangling ones made where they point, inside), volumes at and under /sys, an exec that
//! lives on a volume, and Docker's volume semantics for converted images.

use std::path::Path;

use e2e::pod::{probe_manifest, probe_tar, LINUX_AMD64};
use e2e::require_root;
use e2e::store::{assert_fails, assert_ok, stderr, stdout, StoreDir};

/// The image of rkt's TestMountSymlink: /dir1 holds links to /dir2 (absolute, relative, with
/// `..`), to a missing /notexists and to /; plus links that try to climb out of the rootfs.
fn symlink_image(t: &StoreDir) {
    let manifest = probe_manifest("example.com/links", LINUX_AMD64, "");
    let tar = probe_tar(&manifest, |t| {
        t.dir("rootfs/dir1", 0o755)
            .dir("rootfs/dir2", 0o755)
            .symlink("rootfs/dir1/link_abs_dir2", "/dir2")
            .symlink("rootfs/dir1/link_rel_dir2", "../dir2")
            .symlink("rootfs/dir1/link_abs_dotdot_dir2", "/../dir2")
            .symlink("rootfs/dir1/link_abs_notexists", "/notexists")
            .symlink("rootfs/dir1/link_abs_root", "/")
            .symlink("rootfs/dir1/link_escape", "../../../../../../escape-target")
    });
    let aci = t.join("links.aci");
    e2e::aci::write(&aci, &tar);
    t.fetch(&aci);
}

#[test]
fn mount_targets_resolve_through_symlinks_inside_the_rootfs() {
    require_root();
    let t = StoreDir::new("volumes-symlinks");
    symlink_image(&t);
    let hello = t.join("hello");
    std::fs::write(&hello, "world").unwrap();
    let volume = format!("--volume=test,kind=host,source={}", hello.display());
    // (target given, where the app finds the file): rkt's cases, and relative targets.
    let cases = [
        ("/dir1/link_abs_dir2/foo", "/dir2/foo"),
        ("/dir1/link_rel_dir2/bar", "/dir2/bar"),
        ("/dir1/../dir1/.//link_rel_dir2/foo", "/dir2/foo"),
        ("/dir1/../../../foo", "/foo"),
        ("/dir1/link_abs_dotdot_dir2/foo", "/dir2/foo"),
        ("/dir1/link_rel_dir2/newdir/foo", "/dir2/newdir/foo"),
        (
            "/dir1/link_abs_notexists/newdir1/newdir2/foo",
            "/notexists/newdir1/newdir2/foo",
        ),
        (
            "/dir1/link_abs_root/newdir1/newdir2/foo",
            "/newdir1/newdir2/foo",
        ),
        ("../../../../../../../../../../../foo", "/foo"),
        ("dir1/relative", "/dir1/relative"),
        // A link that climbs out of the image lands inside it.
        ("/dir1/link_escape/foo", "/escape-target/foo"),
    ];
    for (target, actual) in cases {
        let out = t.rkt(&[
            "run",
            "--net=none",
            &volume,
            "example.com/links",
            &format!("--mount=volume=test,target={target}"),
            "--",
            "cat",
            actual,
        ]);
        assert_ok(&out);
        assert_eq!(stdout(&out), "world", "{target}");
    }
    // Nothing was made outside the rootfs, wherever the links pointed.
    for host in ["/escape-target", "/notexists", "/newdir1", "/foo", "/dir2"] {
        assert!(!Path::new(host).exists(), "{host} made on the host");
    }
    let out = t.rkt(&[
        "run",
        "--net=none",
        &volume,
        "example.com/links",
        "--mount=volume=test,target=/dir1/..",
    ]);
    assert_fails(&out, "is the app's root directory");
    t.gc_all();
}

/// rkt's TestVolumeSysfs: a pod's sysfs at /sys, unless the app has a volume at or under it.
#[test]
fn volumes_at_or_under_sys_replace_the_pods_sysfs() {
    require_root();
    let t = StoreDir::new("volumes-sysfs");
    let image = |name: &str, mount_points: &str| {
        let extra = format!(r#","mountPoints":[{mount_points}]"#);
        let manifest = probe_manifest(&format!("example.com/{name}"), LINUX_AMD64, &extra);
        let aci = t.join(&format!("{name}.aci"));
        e2e::aci::write(&aci, &probe_tar(&manifest, |t| t));
        t.fetch(&aci);
    };
    image("base", "");
    image("sys", r#"{"name":"sysdir","path":"/sys","readOnly":false}"#);
    image(
        "sysclass",
        r#"{"name":"sysdir","path":"/sys/class","readOnly":false}"#,
    );
    let stat = |flags: &[&str], img: &str| {
        let mut args = vec!["run", "--net=none"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[img, "--", "stat", "/sys/class"]);
        t.rkt(&args)
    };
    let out = stat(&[], "example.com/base");
    assert_ok(&out);
    assert_eq!(stdout(&out), "stat /sys/class dir 755\n");
    // An implicit empty volume at /sys: no sysfs, so no /sys/class.
    let out = stat(&[], "example.com/sys");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("No such file or directory"),
        "{}",
        stdout(&out)
    );
    // The host's /sys as the volume.
    let out = stat(
        &["--volume=sysdir,kind=host,source=/sys,readOnly=true"],
        "example.com/sys",
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), "stat /sys/class dir 755\n");
    // /dev/null at /sys/class.
    let out = stat(
        &["--volume=sysdir,kind=host,source=/dev/null,readOnly=false"],
        "example.com/sysclass",
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), "stat /sys/class char 666\n");
    t.gc_all();
}

#[test]
fn an_exec_on_a_volume_is_found_once_the_volume_is_mounted() {
    require_root();
    let t = StoreDir::new("volumes-exec");
    t.probe_image();
    let tools = t.join("tools");
    std::fs::create_dir(&tools).unwrap();
    std::fs::copy(e2e::pod::probe_bin(), tools.join("tool")).unwrap();
    let out = t.rkt(&[
        "run",
        "--net=none",
        &format!(
            "--volume=tools,kind=host,source={},readOnly=true",
            tools.display()
        ),
        "example.com/probe",
        "--mount=volume=tools,target=/opt/tools",
        "--exec=/opt/tools/tool",
        "--",
        "write",
        "/tmp/x",
        "ran-from-the-volume",
    ]);
    assert_ok(&out);
    assert!(stdout(&out).contains("wrote /tmp/x"), "{}", stdout(&out));
    // Not on a volume and not in the image: refused before the pod starts, as before.
    let out = t.rkt(&[
        "run",
        "--net=none",
        "example.com/probe",
        "--exec=/opt/tools/tool",
    ]);
    assert_fails(&out, "/opt/tools/tool");
    t.gc_all();
}

#[test]
fn a_docker_images_implicit_volumes_start_with_its_content() {
    require_root();
    let t = StoreDir::new("volumes-docker");
    let mount_points = r#","mountPoints":[{"name":"data","path":"/var/data"}]"#;
    for (name, docker) in [("docker", true), ("appc", false)] {
        let annotations = if docker {
            r#","annotations":[{"name":"appc.io/docker/repository","value":"example/db"}]"#
        } else {
            ""
        };
        let manifest = probe_manifest(&format!("example.com/{name}"), LINUX_AMD64, mount_points)
            .replacen(r#","app":"#, &format!(r#"{annotations},"app":"#), 1);
        let tar = probe_tar(&manifest, |t| {
            t.dir("rootfs/var", 0o755)
                .dir("rootfs/var/data", 0o750)
                .file("rootfs/var/data/seed", 0o640, b"from-the-image")
                .symlink("rootfs/var/data/link", "/etc/passwd")
                // Neither belongs in a host directory: the fill leaves the device node out
                // and the set-uid bit off.
                .file("rootfs/var/data/setuid", 0o4755, b"#!/bin/sh\n")
                .raw(e2e::aci::Entry {
                    name: "rootfs/var/data/null",
                    typeflag: b'3',
                    mode: 0o666,
                    dev: (1, 3),
                    ..e2e::aci::Entry::default()
                })
        });
        let aci = t.join(&format!("{name}.aci"));
        e2e::aci::write(&aci, &tar);
        t.fetch(&aci);
    }
    let run = |img: &str, flags: &[&str], cmd: &[&str]| {
        let mut args = vec!["run", "--net=none"];
        args.extend_from_slice(flags);
        args.push(img);
        args.push("--");
        args.extend_from_slice(cmd);
        t.rkt(&args)
    };
    // Converted from Docker: the implicit empty volume holds the image's files, as they are.
    let out = run(
        "example.com/docker",
        &[],
        &[
            "cat",
            "/var/data/seed",
            "+",
            "stat",
            "/var/data/link",
            "+",
            "stat",
            "/var/data",
            "+",
            "stat",
            "/var/data/setuid",
            "+",
            "ls",
            "/var/data",
        ],
    );
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        "from-the-imagestat /var/data/link symlink 777\nstat /var/data dir 750\n\
         stat /var/data/setuid file 755\nlink\nseed\nsetuid\n"
    );
    // A plain appc image's implicit volume starts empty (appc).
    let out = run("example.com/appc", &[], &["ls", "/var/data"]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "");
    // A volume the user gave is never filled.
    let given = t.join("given");
    std::fs::create_dir(&given).unwrap();
    let volume = format!("--volume=data,kind=host,source={}", given.display());
    let out = run("example.com/docker", &[&volume], &["ls", "/var/data"]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "");
    assert_eq!(std::fs::read_dir(&given).unwrap().count(), 0);
    t.gc_all();
}
