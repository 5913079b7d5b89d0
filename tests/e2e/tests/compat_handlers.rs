//! appc event handlers as rkt 1.30 ran them (issue 17 item 1): `pre-start` before the app in
//! its rootfs, as uid 0, and the app only if it succeeds; `post-stop` after the app exits or
//! is stopped. What each step did is appended to a file on a shared host volume, so the order
//! is read back from one file, never from two processes' interleaved output.

use std::path::PathBuf;
use std::process::Stdio;

use e2e::pod::{probe_manifest, probe_tar, LINUX_AMD64};
use e2e::require_root;
use e2e::store::{assert_ok, stderr, stdout, StoreDir};

/// An image `name` running the probe, whose handlers run the probe with these arguments (or,
/// for `["!", PATH]`, PATH) and which mounts the volume `log` at /log.
fn handler_image(t: &StoreDir, name: &str, pre: &[&str], post: &[&str]) -> PathBuf {
    let exec = |args: &[&str]| {
        let args = match args {
            ["!", rest @ ..] => rest.to_vec(),
            _ => [&["/bin/probe"], args].concat(),
        };
        let v: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
        v.join(",")
    };
    let mut handlers = Vec::new();
    if !pre.is_empty() {
        handlers.push(format!(r#"{{"name":"pre-start","exec":[{}]}}"#, exec(pre)));
    }
    if !post.is_empty() {
        handlers.push(format!(r#"{{"name":"post-stop","exec":[{}]}}"#, exec(post)));
    }
    let extra = format!(
        r#","eventHandlers":[{}],"mountPoints":[{{"name":"log","path":"/log"}}]"#,
        handlers.join(",")
    );
    let manifest = probe_manifest(&format!("example.com/{name}"), LINUX_AMD64, &extra);
    let aci = t.join(&format!("{name}.aci"));
    e2e::aci::write(&aci, &probe_tar(&manifest, |t| t.dir("rootfs/log", 0o755)));
    t.fetch(&aci);
    aci
}

/// The host directory behind the `log` volume (world-writable: a non-root app appends too).
fn log_volume(t: &StoreDir) -> (PathBuf, String) {
    let dir = t.join("log");
    std::fs::create_dir_all(&dir).unwrap();
    e2e::store::set_mode(&dir, 0o777);
    let flag = format!("--volume=log,kind=host,source={}", dir.display());
    (dir, flag)
}

fn steps(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("steps"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn status_of(t: &StoreDir, uuid_file: &std::path::Path) -> String {
    let uuid = e2e::pod::read_uuid(uuid_file);
    let out = t.rkt(&["status", &uuid]);
    assert_ok(&out);
    stdout(&out)
}

#[test]
fn pre_start_runs_before_the_app_and_post_stop_after_it() {
    require_root();
    let t = StoreDir::new("handlers-order");
    handler_image(
        &t,
        "order",
        &[
            "append",
            "/log/steps",
            "pre-start",
            "+",
            "write",
            "/tmp/prepared",
            "by-pre-start",
        ],
        &["append", "/log/steps", "post-stop"],
    );
    let (dir, volume) = log_volume(&t);
    let out = t.rkt(&[
        "run",
        "--net=none",
        &volume,
        "example.com/order",
        "--",
        "append",
        "/log/steps",
        "app",
        "+",
        "cat",
        "/tmp/prepared",
    ]);
    assert_ok(&out);
    assert_eq!(steps(&dir), ["pre-start", "app", "post-stop"]);
    // The handler ran in the app's own rootfs instance: the app reads what it wrote.
    assert!(stdout(&out).contains("by-pre-start"), "{}", stdout(&out));
    t.gc_all();
}

#[test]
fn a_failing_pre_start_keeps_the_app_from_running_and_is_its_status() {
    require_root();
    let t = StoreDir::new("handlers-fail");
    handler_image(
        &t,
        "fails",
        &["append", "/log/steps", "pre-start", "+", "exit", "7"],
        &["append", "/log/steps", "post-stop"],
    );
    let (dir, volume) = log_volume(&t);
    let uuid_file = t.join("uuid");
    let save = format!("--uuid-file-save={}", uuid_file.display());
    let out = t.rkt(&[
        "run",
        "--net=none",
        &save,
        &volume,
        "example.com/fails",
        "--",
        "append",
        "/log/steps",
        "app",
    ]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(stderr(&out).contains("pre-start"), "{}", stderr(&out));
    assert_eq!(steps(&dir), ["pre-start", "post-stop"]);
    let status = status_of(&t, &uuid_file);
    assert!(status.contains("app-fails=7"), "{status}");
    assert!(status.contains("state=exited"), "{status}");

    // A handler that cannot run at all fails the same way (127, as a shell says).
    handler_image(&t, "missing", &["!", "/bin/no-such-handler"], &[]);
    let out = t.rkt(&[
        "run",
        "--net=none",
        &volume,
        "example.com/missing",
        "--",
        "append",
        "/log/steps",
        "missing-app",
    ]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/bin/no-such-handler"),
        "{}",
        stderr(&out)
    );
    assert_eq!(steps(&dir), ["pre-start", "post-stop"]);
    t.gc_all();
}

#[test]
fn post_stop_runs_after_rkt_stop() {
    require_root();
    let t = StoreDir::new("handlers-stop");
    handler_image(
        &t,
        "stopped",
        &["append", "/log/steps", "pre-start"],
        &["append", "/log/steps", "post-stop"],
    );
    let (dir, volume) = log_volume(&t);
    let pod = t.start(
        &[
            "--net=none",
            &volume,
            "example.com/stopped",
            "--",
            "append",
            "/log/steps",
            "app",
            "+",
            "sleep",
            "600",
        ],
        Stdio::null(),
    );
    e2e::wait_until("the app's step", || steps(&dir).len() == 2);
    assert_ok(&t.rkt(&["stop", &pod.uuid]));
    let mut pod = pod;
    let _ = pod.child.wait();
    assert_eq!(steps(&dir), ["pre-start", "app", "post-stop"]);
    t.gc_all();
}

#[test]
fn a_non_root_apps_handlers_run_as_uid_0_under_its_confinement() {
    require_root();
    let t = StoreDir::new("handlers-root");
    handler_image(&t, "nonroot", &["id", "+", "caps"], &["id"]);
    let out = t.rkt(&[
        "run",
        "--net=none",
        "example.com/nonroot",
        "--user=1000",
        "--group=1000",
        "--",
        "id",
    ]);
    assert_ok(&out);
    let s = stdout(&out);
    // Pre-start, then the app, then post-stop, one after the other on the pod's stdout.
    let ids: Vec<&str> = s.lines().filter(|l| l.starts_with("uid=")).collect();
    assert_eq!(ids.len(), 3, "{s}");
    assert!(ids[0].starts_with("uid=0 0 0 0"), "{s}");
    assert!(ids[1].starts_with("uid=1000 1000 1000 1000"), "{s}");
    assert!(ids[2].starts_with("uid=0 0 0 0"), "{s}");
    // The handler keeps the app's seccomp filter and no_new_privs.
    assert!(s.contains("seccomp=2"), "{s}");
    assert!(s.contains("nonewprivs=1"), "{s}");
    t.gc_all();
}

#[test]
fn each_apps_handlers_run_in_a_pod_of_two_and_from_a_pod_manifest() {
    require_root();
    let t = StoreDir::new("handlers-two");
    handler_image(
        &t,
        "first",
        &["append", "/log/steps", "pre-first"],
        &["append", "/log/steps", "post-first"],
    );
    handler_image(
        &t,
        "second",
        &["append", "/log/steps", "pre-second"],
        &["append", "/log/steps", "post-second"],
    );
    let (dir, volume) = log_volume(&t);
    let out = t.rkt(&[
        "run",
        "--net=none",
        &volume,
        "example.com/first",
        "--",
        "append",
        "/log/steps",
        "app-first",
        "---",
        "example.com/second",
        "--",
        "append",
        "/log/steps",
        "app-second",
    ]);
    assert_ok(&out);
    let got = steps(&dir);
    let at = |s: &str| {
        got.iter()
            .position(|g| g == s)
            .unwrap_or_else(|| panic!("{s}: {got:?}"))
    };
    assert_eq!(got.len(), 6, "{got:?}");
    assert!(at("pre-first") < at("app-first") && at("app-first") < at("post-first"));
    assert!(at("pre-second") < at("app-second") && at("app-second") < at("post-second"));
    t.gc_all();

    // A pod manifest's app brings its own handlers, replacing the image's.
    std::fs::remove_file(dir.join("steps")).unwrap();
    let id = t
        .list_ids()
        .into_iter()
        .find(|id| {
            let out = t.rkt(&["image", "cat-manifest", id]);
            stdout(&out).contains("example.com/first")
        })
        .unwrap();
    let pm = format!(
        r#"{{"acVersion":"0.8.11","acKind":"PodManifest","apps":[{{"name":"pm","image":{{"id":"{id}"}},"app":{{"exec":["/bin/probe","append","/log/steps","app-pm"],"user":"0","group":"0","eventHandlers":[{{"name":"pre-start","exec":["/bin/probe","append","/log/steps","pre-pm"]}}],"mountPoints":[{{"name":"log","path":"/log"}}]}}}}],"volumes":[{{"name":"log","kind":"host","source":"{}"}}]}}"#,
        dir.display()
    );
    let pm_file = t.join("pod.json");
    std::fs::write(&pm_file, pm).unwrap();
    let out = t.rkt(&[
        "run",
        "--net=none",
        &format!("--pod-manifest={}", pm_file.display()),
    ]);
    assert_ok(&out);
    assert_eq!(steps(&dir), ["pre-pm", "app-pm"]);
    t.gc_all();
}
