//! `rkt export` end to end: an exited pod's app rootfs with the app's changes (overlay upper
//! over the image tree, and the `--no-overlay` copy) becomes an ACI that `rkt run` accepts;
//! symlinks are archived as symlinks, never followed; the refusals (running pod, existing
//! output without `--overwrite`, several apps without `--app`).

use std::process::{Command, Stdio};

use e2e::aci;
use e2e::pod::{probe_manifest, probe_tar, read_uuid, LINUX_AMD64};
use e2e::require_root;
use e2e::store::{assert_fails, assert_ok, stderr, stdout, StoreDir};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    let aci_path = t.join("greet.aci");
    aci::write(
        &aci_path,
        &probe_tar(
            &probe_manifest("example.com/greet", LINUX_AMD64, ""),
            |tar| {
                tar.file("rootfs/etc/greeting", 0o644, b"old")
                    .symlink("rootfs/host", "/")
                    .symlink("rootfs/etc/up", "../..")
            },
        ),
    );
    t.fetch(&aci_path);
    t
}

fn tar_out(args: &[&str]) -> String {
    let out = Command::new("timeout")
        .arg("60")
        .arg("tar")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "tar {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// Runs the pod to its end (writing files), exports it, checks the archive and runs it.
fn export_and_rerun(t: &StoreDir, pod_flags: &[&str]) {
    let uuid_file = t.join("uuid");
    let save = format!("--uuid-file-save={}", uuid_file.display());
    let mut args = vec!["run", save.as_str()];
    args.extend_from_slice(pod_flags);
    args.extend_from_slice(&[
        "example.com/greet",
        "--",
        "write",
        "/etc/greeting",
        "new",
        "+",
        "write",
        "/tmp/made-by-app",
        "data",
    ]);
    assert_ok(&t.rkt(&args));
    let uuid = read_uuid(&uuid_file);
    let out_aci = t.join("out.aci");
    let out_str = out_aci.to_str().unwrap();
    let _ = std::fs::remove_file(&out_aci);
    let out = t.rkt(&["export", &uuid[..8], out_str]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "");

    let list = tar_out(&["-tvf", out_str]);
    let names: Vec<&str> = list
        .lines()
        .map(|l| l.split_whitespace().nth(5).unwrap())
        .collect();
    assert_eq!(names[0], "manifest", "{list}");
    for want in [
        "rootfs/bin/probe",
        "rootfs/tmp/made-by-app",
        "rootfs/etc/greeting",
    ] {
        assert!(names.contains(&want), "{want} missing:\n{list}");
    }
    // Symlinks are entries of their own, never followed out of the rootfs.
    assert!(
        list.lines()
            .any(|l| l.starts_with('l') && l.contains("rootfs/host -> /")),
        "{list}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("rootfs/host/")),
        "{list}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("rootfs/etc/up/")),
        "{list}"
    );
    assert_eq!(tar_out(&["-xOf", out_str, "rootfs/etc/greeting"]), "new");
    assert_eq!(
        tar_out(&["-xOf", out_str, "rootfs/tmp/made-by-app"]),
        "data"
    );
    let manifest = tar_out(&["-xOf", out_str, "manifest"]);
    assert!(manifest.contains("example.com/greet"), "{manifest}");

    // Without --overwrite an existing output is refused and left as it was.
    let before = std::fs::read(&out_aci).unwrap();
    let out = t.rkt(&["export", &uuid, out_str]);
    assert_fails(&out, out_str);
    assert_eq!(std::fs::read(&out_aci).unwrap(), before);
    assert_ok(&t.rkt(&["export", "--overwrite", &uuid, out_str]));

    // `rkt run` accepts it, and the app's changes are there.
    let out = t.rkt(&[
        "--insecure-options=image",
        "run",
        out_str,
        "--",
        "cat",
        "/etc/greeting",
        "+",
        "cat",
        "/tmp/made-by-app",
    ]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "newdata");
    t.gc_all();
}

#[test]
fn export_overlay_pod_and_rerun() {
    let t = setup("export-overlay");
    export_and_rerun(&t, &[]);
}

#[test]
fn export_copied_rootfs_and_rerun() {
    let t = setup("export-copy");
    export_and_rerun(&t, &["--no-overlay"]);
}

#[test]
fn export_refuses_running_pods_and_ambiguous_apps() {
    let t = setup("export-refuse");
    let uuid_file = t.join("uuid");
    let save = format!("--uuid-file-save={}", uuid_file.display());
    let child = t
        .command(
            &["run", &save, "example.com/greet", "--", "sleep", "60"],
            &[],
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Killed (and its pod with it) if an assertion fails.
    struct Guard(std::process::Child);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Guard(child);
    e2e::wait_until("the uuid file", || {
        uuid_file.is_file() && !read_uuid(&uuid_file).is_empty()
    });
    let uuid = read_uuid(&uuid_file);
    // Running, not still being prepared: the refusal is the one of a running pod.
    let ready = format!("--wait-ready={}", e2e::WAIT_FLAG);
    assert_ok(&t.rkt(&["status", &ready, &uuid]));
    let out_aci = t.join("out.aci");
    let out = t.rkt(&["export", &uuid, out_aci.to_str().unwrap()]);
    let _ = t.rkt(&["stop", "--force", &uuid]);
    let _ = child.0.kill();
    let _ = child.0.wait();
    assert_fails(&out, "only exited pods can be exported");
    assert!(!out_aci.exists());

    // Two apps: --app chooses.
    let out = t.rkt(&[
        "run",
        &save,
        "example.com/greet",
        "--",
        "write",
        "/tmp/one",
        "1",
        "---",
        "example.com/greet",
        "--name=second",
        "--",
        "write",
        "/tmp/two",
        "2",
    ]);
    assert_ok(&out);
    let uuid = read_uuid(&uuid_file);
    let out_str = out_aci.to_str().unwrap();
    let out = t.rkt(&["export", &uuid, out_str]);
    assert_fails(&out, "specify one with --app");
    assert!(!out_aci.exists());
    assert_ok(&t.rkt(&["export", "--app=second", &uuid, out_str]));
    let list = tar_out(&["-tf", out_str]);
    assert!(list.lines().any(|l| l == "rootfs/tmp/two"), "{list}");
    assert!(!list.lines().any(|l| l == "rootfs/tmp/one"), "{list}");
    t.gc_all();
}
