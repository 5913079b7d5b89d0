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
/// registers the pod (see mds.rs), which a pod without a network cannot use: rkt's words.
#[test]
fn run_takes_mds_register_false_and_refuses_true_without_a_network() {
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
        let out = t.rkt(&["run", flag, "--net=none", "example.com/probe"]);
        assert_fails(&out, "--mds-register flag does not work with --net=none");
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

fn write_conf(dir: &std::path::Path, sub: &str, file: &str, json: &str) {
    std::fs::create_dir_all(dir.join(sub)).unwrap();
    std::fs::write(dir.join(sub).join(file), json).unwrap();
}

/// TestConfig: auth and dockerAuth per domain and registry, paths.d and stage1.d, system then
/// local then user directories, the later one winning per key; paths.d's `data` is the data
/// dir when `--dir` is not given.
#[test]
fn config_merges_the_directories_and_paths_d_sets_the_data_dir() {
    let t = StoreDir::new("compat-config");
    let (sys, local, user) = (t.join("sys"), t.join("local"), t.join("user"));
    write_conf(
        &sys,
        "auth.d",
        "basic.json",
        r#"{"rktKind":"auth","rktVersion":"v1","domains":["tectonic.com","coreos.com"],"type":"basic","credentials":{"user":"user","password":"userPassword"}}"#,
    );
    write_conf(
        &user,
        "auth.d",
        "basic.json",
        r#"{"rktKind":"auth","rktVersion":"v1","domains":["tectonic.com"],"type":"oauth","credentials":{"token":"someToken"}}"#,
    );
    write_conf(
        &sys,
        "auth.d",
        "docker.json",
        r#"{"rktKind":"dockerAuth","rktVersion":"v1","registries":["quay.io","gcr.io"],"credentials":{"user":"docker","password":"dockerPassword"}}"#,
    );
    write_conf(
        &user,
        "auth.d",
        "docker.json",
        r#"{"rktKind":"dockerAuth","rktVersion":"v1","registries":["gcr.io"],"credentials":{"user":"over","password":"written"}}"#,
    );
    let data = t.join("paths-data");
    write_conf(
        &sys,
        "paths.d",
        "paths.json",
        r#"{"rktKind":"paths","rktVersion":"v1","data":"/usr/lib/rkt/data","stage1-images":"/usr/lib/rkt/stage1-images"}"#,
    );
    write_conf(
        &user,
        "paths.d",
        "paths.json",
        &format!(
            r#"{{"rktKind":"paths","rktVersion":"v1","data":"{}"}}"#,
            data.display()
        ),
    );
    write_conf(
        &local,
        "stage1.d",
        "stage1.json",
        r#"{"rktKind":"stage1","rktVersion":"v1","name":"example.com/rkt/stage1","version":"1.2.3","location":"http://example.com/download/stage1.aci"}"#,
    );
    write_conf(
        &user,
        "stage1.d",
        "stage1.json",
        r#"{"rktKind":"stage1","rktVersion":"v1","location":"http://localhost:8080/stage1.aci"}"#,
    );
    let dirs = [
        format!("--system-config={}", sys.display()),
        format!("--local-config={}", local.display()),
        format!("--user-config={}", user.display()),
    ];
    let rkt = |args: &[&str]| {
        Command::new(e2e::rkt_bin())
            .args(&dirs)
            .args(args)
            .output()
            .unwrap()
    };
    let out = rkt(&[
        "--debug",
        "--insecure-options=image",
        "--pretty-print=false",
        "config",
    ]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entries = v["stage0"].as_array().unwrap();
    let has = |want: &str| {
        let want: serde_json::Value = serde_json::from_str(want).unwrap();
        entries.contains(&want)
    };
    for want in [
        r#"{"rktVersion":"v1","rktKind":"auth","domains":["tectonic.com"],"type":"oauth","credentials":{"token":"someToken"}}"#,
        r#"{"rktVersion":"v1","rktKind":"auth","domains":["coreos.com"],"type":"basic","credentials":{"user":"user","password":"userPassword"}}"#,
        r#"{"rktVersion":"v1","rktKind":"dockerAuth","registries":["quay.io"],"credentials":{"user":"docker","password":"dockerPassword"}}"#,
        r#"{"rktVersion":"v1","rktKind":"dockerAuth","registries":["gcr.io"],"credentials":{"user":"over","password":"written"}}"#,
        r#"{"rktVersion":"v1","rktKind":"stage1","name":"example.com/rkt/stage1","version":"1.2.3","location":"http://localhost:8080/stage1.aci"}"#,
    ] {
        assert!(has(want), "{want} not in {v}");
    }
    assert!(
        has(&format!(
            r#"{{"rktVersion":"v1","rktKind":"paths","data":"{}","stage1-images":"/usr/lib/rkt/stage1-images"}}"#,
            data.display()
        )),
        "{v}"
    );
    assert_eq!(entries.len(), 6, "{v}");
    // paths.d's data dir is the store without --dir.
    let aci = t.join("probe.aci");
    e2e::aci::write(
        &aci,
        &e2e::pod::probe_tar(
            &e2e::pod::probe_manifest("example.com/probe", e2e::pod::LINUX_AMD64, ""),
            |t| t,
        ),
    );
    let out = rkt(&["--insecure-options=image", "fetch", aci.to_str().unwrap()]);
    assert_ok(&out);
    assert!(
        data.join("cas").is_dir(),
        "the image went to paths.d's data dir"
    );
    // A relative one is refused, naming the file.
    write_conf(
        &local,
        "paths.d",
        "bad.json",
        r#"{"rktKind":"paths","rktVersion":"v1","data":"relative/dir"}"#,
    );
    let out = rkt(&["image", "list"]);
    assert_fails(&out, "data directory must be an absolute path");
    assert!(stderr(&out).contains("bad.json"), "{}", stderr(&out));
}

/// TestCatManifest: `--uuid-file` with an argument beside it reads the file's pod.
#[test]
fn cat_manifest_uuid_file_wins_over_an_argument() {
    let t = setup("compat-catm");
    let out = t.rkt(&["prepare", "--quiet", "example.com/probe"]);
    assert_ok(&out);
    let uuid = stdout(&out).trim().to_string();
    let file = t.join("uuid");
    std::fs::write(&file, &uuid).unwrap();
    let out = t.rkt(&[
        "cat-manifest",
        &format!("--uuid-file={}", file.display()),
        "--pretty-print=false",
        "%!s(MISSING)",
    ]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("example.com/probe"),
        "{}",
        stdout(&out)
    );
    t.gc_all_with(&["--expire-prepared=0s"]);
}

/// pflag: a repeated `--insecure-options` keeps the last value; one option twice inside one
/// value is rkt's "duplicated option".
#[test]
fn repeated_insecure_options_keep_the_last_and_a_duplicate_in_one_is_refused() {
    let t = setup("compat-insecure");
    let aci = t.join("probe.aci");
    // The last value (tls) does not skip the signature check: the first (image) is gone.
    let out = t.rkt(&[
        "--insecure-options=image",
        "fetch",
        "--insecure-options=tls",
        aci.to_str().unwrap(),
    ]);
    assert_fails(&out, "error opening signature file");
    let out = t.rkt(&[
        "--insecure-options=tls",
        "--insecure-options=image",
        "fetch",
        aci.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let out = t.rkt(&["--insecure-options=image,tls,image", "image", "list"]);
    assert_fails(&out, "duplicated option \"image\"");
}

/// One table gives run, prepare and run-prepared their flags (issue 16 item 2): a pod flag
/// between images is the pod's, an app flag binds to the image before it, an image's own flag
/// before any image is refused, and each command's help lists what it takes.
#[test]
fn one_flag_table_places_flags_as_rkt_did() {
    let t = setup("compat-flag-table");
    let out = t.rkt(&[
        "run",
        "example.com/probe",
        "--name=first",
        "--",
        "hostname",
        "---",
        "--hostname=from-between",
        "--net=none",
        "example.com/probe",
        "--name=second",
        "--exec=/bin/probe",
        "--",
        "exit",
        "0",
    ]);
    assert_ok(&out);
    assert!(stdout(&out).contains("from-between"), "{}", stdout(&out));

    for flag in ["--exec=/bin/probe", "--name=x", "--signature=x.asc"] {
        let out = t.rkt(&["run", flag, "example.com/probe"]);
        assert_fails(&out, "must follow the image it applies to");
        let out = t.rkt(&["prepare", flag, "example.com/probe"]);
        assert_fails(&out, "must follow the image it applies to");
    }
    // run-prepared has none of the image flags, prepare none of the start-time ones.
    assert_fails(
        &t.rkt(&["run-prepared", "--port=http:80", "x"]),
        "unknown flag: --port",
    );
    assert_fails(
        &t.rkt(&["prepare", "--interactive", "x"]),
        "unknown flag: --interactive",
    );
    // Nor after an image: another command's flag is never taken for one of this one's.
    let out = t.rkt(&[
        "prepare",
        "example.com/probe",
        "--hosts-entry",
        "10.0.0.1=db",
    ]);
    assert_fails(&out, "unknown flag: --hosts-entry");
    assert_fails(
        &t.rkt(&["run", "example.com/probe", "--quiet"]),
        "unknown flag: --quiet",
    );
    assert_fails(
        &t.rkt(&["prepare", "--stage1-name=x", "x"]),
        "stage1 built in",
    );

    let help = |args: &[&str]| {
        let out = t.rkt(args);
        assert_ok(&out);
        stdout(&out)
    };
    let run = help(&["run", "--help"]);
    for flag in [
        "--net ",
        "--exec ",
        "--user ",
        "--set-env ",
        "--stage1-name ",
    ] {
        assert!(run.contains(flag), "{flag}: {run}");
    }
    let prepare = help(&["help", "prepare"]);
    assert!(
        prepare.contains("--quiet ") && prepare.contains("--exec "),
        "{prepare}"
    );
    assert!(
        !prepare.contains("--interactive") && !prepare.contains("--net "),
        "{prepare}"
    );
    let run_prepared = help(&["run-prepared", "--net=host", "--help"]);
    assert!(
        run_prepared.contains("--net ") && !run_prepared.contains("--exec"),
        "{run_prepared}"
    );
    t.gc_all();
}
