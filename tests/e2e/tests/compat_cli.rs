//! rkt 1.30 compatibility of the command line (issue 16): what rkt's own functional tests and
//! the tools written for rkt pass and expect, with the same inputs and outcomes.

use std::process::Command;

use e2e::require_root;
use e2e::store::{assert_fails, assert_ok, stderr, stdout, StoreDir};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

/// `rkt run --mds-register=false` is rkt's default spelled out (tools pass it): accepted; true
/// needs the metadata service, which this rkt does not have yet, and says so.
#[test]
fn run_takes_mds_register_false_and_names_true_as_not_implemented() {
    let t = setup("compat-mds");
    let out = t.rkt(&[
        "run",
        "--mds-register=false",
        "example.com/probe",
        "--",
        "exit",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    for flag in ["--mds-register=true", "--mds-register"] {
        let out = t.rkt(&["run", flag, "example.com/probe"]);
        assert_fails(&out, "--mds-register=true");
        assert!(stderr(&out).contains("not implemented"), "{}", stderr(&out));
    }
    let out = t.rkt(&["prepare", "--quiet", "example.com/probe"]);
    assert_ok(&out);
    let uuid = stdout(&out).trim().to_string();
    let out = t.rkt(&["run-prepared", "--mds-register=false", "--net=none", &uuid]);
    assert_ok(&out);
    t.gc_all();
}

/// rkt 1.30's ensureSuperuser: the commands that make, start, enter or remove pods refuse an
/// unprivileged user with one line and 254, before touching anything.
#[test]
fn pod_commands_refuse_an_unprivileged_user() {
    let t = setup("compat-root");
    let rkt = e2e::rkt_bin();
    let dir = format!("--dir={}", t.store().display());
    for args in [
        vec!["run", "example.com/probe"],
        vec!["prepare", "example.com/probe"],
        vec!["run-prepared", "0badc0de"],
        vec!["enter", "0badc0de"],
        vec!["rm", "0badc0de"],
        vec!["gc"],
    ] {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&rkt)
            .arg(&dir)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(254), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            "rkt: cannot run as unprivileged user\n",
            "{args:?}"
        );
    }
    // Commands that read only are left to the file permissions, as in rkt.
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&rkt)
        .arg("version")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(t.pods_in("prepare").is_empty() && t.pods_in("run").is_empty());
}

/// The texts rkt 1.30's functional tests and the scripts written for rkt match, each inside
/// this rkt's one error line (`rkt: <context>: <rkt's words>`), exit 254.
#[test]
fn errors_carry_rkts_words() {
    let t = setup("compat-texts");
    let uuid = "0f746094-3438-42bc-ab37-3cf85f132e60";
    let empty = t.join("empty-pod.json");
    std::fs::write(
        &empty,
        r#"{"acVersion":"0.8.11","acKind":"PodManifest","apps":[]}"#,
    )
    .unwrap();
    let pm = format!("--pod-manifest={}", empty.display());
    let uuid_file = t.join("uuid-file");
    std::fs::write(&uuid_file, format!("{uuid}\n")).unwrap();
    let uf = format!("--uuid-file={}", uuid_file.display());
    let cases: Vec<(Vec<&str>, String)> = vec![
        // TestRmInvalid, TestRmEmptyUUID
        (vec!["rm", uuid], format!("no matches found for \"{uuid}\"")),
        (vec!["rm", &uf], format!("no matches found for \"{uuid}\"")),
        (vec!["rm", ""], "UUID cannot be empty".into()),
        // TestCatManifest, TestShortHash
        (
            vec!["cat-manifest", "--pretty-print=false", "1234567890abcdef"],
            "no matches found for".into(),
        ),
        (
            vec!["image", "cat-manifest", "sha512-12341234"],
            "no image IDs found".into(),
        ),
        (
            vec!["image", "cat-manifest", "sha512-1"],
            "image ID too short".into(),
        ),
        // TestPodManifestWithEmptyApps
        (
            vec!["run", "--mds-register=false", &pm],
            "pod must contain at least one application".into(),
        ),
        // TestPodManifest: an unknown user or group of the image
        (
            vec!["run", "example.com/probe", "--user=user2"],
            "\"user2\" user not found".into(),
        ),
        (
            vec!["run", "example.com/probe", "--group=group2"],
            "\"group2\" group not found".into(),
        ),
    ];
    for (args, needle) in cases {
        let out = t.rkt(&args);
        assert_fails(&out, &needle);
    }
    // The two user cases failed once their pods existed: aborted prepares.
    t.gc_all_with(&["--expire-prepared=0s"]);
    // Run/PrepareConflictingFlags: checked before the manifest is read (/dev/null is none).
    for cmd in ["run", "prepare"] {
        for flags in [
            vec!["--inherit-env"],
            vec!["--no-store"],
            vec!["--store-only"],
            vec!["--port=foo:80"],
            vec!["--set-env=foo=bar"],
            vec!["--volume=foo,kind=host,source=/tmp"],
            vec![
                "--mount=volume=foo,target=/tmp",
                "--volume=foo,kind=host,source=/tmp",
            ],
        ] {
            let mut args = vec![cmd, "--pod-manifest=/dev/null"];
            args.extend(&flags);
            let out = t.rkt(&args);
            assert_fails(
                &out,
                "conflicting flags set with --pod-manifest (see --help)",
            );
        }
        for flag in ["--exec=/bin/sh", "--user=user_foo", "--group=group_foo"] {
            let out = t.rkt(&[cmd, "dummy-image.aci", "--pod-manifest=/dev/null", flag]);
            assert_fails(
                &out,
                "conflicting flags set with --pod-manifest (see --help)",
            );
        }
    }
    assert!(t.pods_in("prepare").is_empty() && t.pods_in("run").is_empty());
}

/// TestMissingOrInvalidOSArch: rkt's words for an image without os or arch, or for another os.
#[test]
fn os_and_arch_labels_are_checked_with_rkts_words() {
    let t = setup("compat-osarch");
    for (labels, needle) in [
        (
            r#",{"name":"arch","value":"amd64"}"#,
            "missing os label in the image manifest",
        ),
        (
            r#",{"name":"os","value":"linux"}"#,
            "missing arch label in the image manifest",
        ),
        (
            r#",{"name":"os","value":"freebsd"},{"name":"arch","value":"amd64"}"#,
            "bad os \"freebsd\"",
        ),
    ] {
        let aci = t.join("os.aci");
        e2e::aci::write(
            &aci,
            &e2e::pod::probe_tar(
                &e2e::pod::probe_manifest("example.com/os", labels, ""),
                |t| t,
            ),
        );
        let out = t.rkt(&[
            "--insecure-options=image",
            "run",
            "--mds-register=false",
            aci.to_str().unwrap(),
        ]);
        assert_fails(&out, needle);
    }
}

/// TestTrust's unsigned case, TestFetchFromFile's, TestShortHash's and TestImageDependencies'
/// debug lines.
#[test]
fn debug_lines_and_the_missing_signature_say_what_rkt_said() {
    let t = setup("compat-debug");
    let aci = t.join("probe.aci");
    let out = t.rkt(&[
        "--debug",
        "run",
        "--mds-register=false",
        aci.to_str().unwrap(),
    ]);
    assert_fails(&out, "error opening signature file");
    let out = t.rkt(&[
        "--insecure-options=image",
        "--debug",
        "fetch",
        aci.to_str().unwrap(),
    ]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains(&format!("image: using image from file {}", aci.display())),
        "{}",
        stderr(&out)
    );
    let out = t.rkt(&["--debug", "prepare", "example.com/probe"]);
    assert_ok(&out);
    let err = stderr(&out);
    assert!(err.contains("stage0: Writing pod manifest"), "{err}");
    assert!(
        err.contains("image: using image from local store for image name example.com/probe"),
        "{err}"
    );
    // Without --debug, none of them.
    let out = t.rkt(&["prepare", "--quiet", "example.com/probe"]);
    assert_ok(&out);
    assert_eq!(stderr(&out), "");
    t.gc_all_with(&["--expire-prepared=0s"]);
}
