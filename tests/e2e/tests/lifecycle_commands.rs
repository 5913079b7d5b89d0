//! The pod lifecycle commands end to end: prepare / run-prepared, list, status (--wait,
//! --wait-ready, JSON), stop (security-checklist §5 case 44), cat-manifest, rm of prepared
//! pods, gc --expire-prepared / --mark-only, and stop never signalling a reused PID.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use e2e::pod::read_uuid;
use e2e::store::{assert_fails, assert_ok, stderr, stdout, StoreDir};
use e2e::{require_root, wait_until, WAIT_FLAG};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

/// A background `rkt run`, killed if the test fails (its pod is stopped when the store is
/// dropped).
struct Running {
    child: Child,
    uuid: String,
    /// The file the app's output goes to (its own: nothing else writes there).
    out: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Waits (bounded) for rkt to exit and returns its code.
    fn wait_code(&mut self, what: &str) -> i32 {
        let mut code = None;
        wait_until(what, || {
            code = self
                .child
                .try_wait()
                .unwrap()
                .map(|st| st.code().unwrap_or(-1));
            code.is_some()
        });
        code.unwrap()
    }

    /// Waits until the app has printed `line` (a whole line), so that what the test does next
    /// finds the app past that point.
    fn wait_output(&mut self, line: &str) {
        let what = format!("{line:?} from the app");
        wait_until(&what, || {
            let text = std::fs::read_to_string(&self.out).unwrap_or_default();
            if text.lines().any(|l| l == line) {
                return true;
            }
            let st = self.child.try_wait().unwrap();
            assert!(
                st.is_none(),
                "rkt exited ({st:?}) first; the app printed:\n{text}"
            );
            false
        });
    }
}

/// Starts `rkt run example.com/probe -- probe_args` in the background and waits until every
/// app has started (`status --wait-ready`).
fn start(t: &StoreDir, probe_args: &[&str]) -> Running {
    let uuid_file = t.join(&format!("uuid-{}", probe_args.join("-").replace('/', "_")));
    let _ = std::fs::remove_file(&uuid_file);
    let mut args = vec![
        "run".to_string(),
        format!("--uuid-file-save={}", uuid_file.display()),
        "example.com/probe".into(),
        "--".into(),
    ];
    args.extend(probe_args.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = PathBuf::from(format!("{}.out", uuid_file.display()));
    let child = t
        .command(&args, &[])
        .stdout(std::fs::File::create(&out).unwrap())
        .spawn()
        .unwrap();
    wait_until("the uuid file", || {
        uuid_file.is_file() && !read_uuid(&uuid_file).is_empty()
    });
    let uuid = read_uuid(&uuid_file);
    let running = Running { child, uuid, out };
    let out = t.rkt(&[
        "status",
        &format!("--wait-ready={WAIT_FLAG}"),
        &running.uuid,
    ]);
    assert_ok(&out);
    running
}

fn status(t: &StoreDir, uuid: &str) -> Vec<String> {
    let out = t.rkt(&["status", uuid]);
    assert_ok(&out);
    stdout(&out).lines().map(String::from).collect()
}

fn has(lines: &[String], line: &str) -> bool {
    lines.iter().any(|l| l == line)
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert_ok(out);
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn prepare_then_run_prepared_and_what_list_status_and_cat_manifest_say() {
    let t = setup("lc-prepare");
    // --quiet: stdout is the UUID and nothing else.
    let out = t.rkt(&[
        "prepare",
        "--quiet",
        "--set-env=FROM_PREPARE=yes",
        "example.com/probe",
        "--",
        "hostname",
        "+",
        "env",
        "+",
        "exit",
        "7",
    ]);
    assert_ok(&out);
    let uuid = stdout(&out).trim().to_string();
    assert_eq!(stdout(&out), format!("{uuid}\n"));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert_eq!(t.pods_in("prepared"), vec![uuid.clone()]);

    let st = status(&t, &uuid[..6]);
    assert_eq!(st[0], "state=prepared");
    assert!(
        st[1].starts_with("created=") && st[1].ends_with(" +0000 UTC"),
        "{st:?}"
    );
    assert_eq!(st.len(), 2, "{st:?}");

    let list = stdout(&t.rkt(&["list", "--no-legend"]));
    let row: Vec<&str> = list
        .lines()
        .next()
        .unwrap()
        .split('\t')
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        &row[..4],
        [&uuid[..8], "probe", "example.com/probe", "prepared"]
    );
    let legend = stdout(&t.rkt(&["list", "--full"]));
    assert!(legend.starts_with("UUID\t"), "{legend}");
    assert!(
        legend.lines().next().unwrap().contains("IMAGE ID"),
        "{legend}"
    );
    assert!(legend.contains(&uuid), "{legend}");

    let m = json(&t.rkt(&["cat-manifest", &uuid]));
    assert_eq!(m["acKind"], "PodManifest");
    assert_eq!(m["apps"][0]["name"], "probe");
    let compact = t.rkt(&["cat-manifest", "--pretty-print=false", &uuid]);
    assert_eq!(stdout(&compact).lines().count(), 1);
    // --uuid-file with trailing whitespace.
    let f = t.join("uuid-ws");
    std::fs::write(&f, format!("{uuid}\n \n")).unwrap();
    assert_ok(&t.rkt(&["cat-manifest", &format!("--uuid-file={}", f.display())]));

    // run-prepared: start-time flags reach the plan; prepare-time ones were kept.
    let bad = t.rkt(&["run-prepared", "--mds-register=true", "--net=none", &uuid]);
    assert_fails(&bad, "mds-register");
    assert_eq!(t.pods_in("prepared"), vec![uuid.clone()]);
    let out = t.rkt(&[
        "run-prepared",
        "--mds-register=false",
        "--net=host",
        "--hostname=lc-prepared-host",
        &uuid[..8],
    ]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("hostname=lc-prepared-host"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("env FROM_PREPARE=yes"),
        "{}",
        stdout(&out)
    );

    let st = status(&t, &uuid);
    assert_eq!(st[0], "state=exited");
    assert!(st[2].starts_with("started="), "{st:?}");
    for l in ["exited=true", "app-probe=7"] {
        assert!(has(&st, l), "{l} missing: {st:?}");
    }
    // rkt 1.30 prints networks= for a running pod only.
    assert!(!st.iter().any(|l| l.starts_with("networks=")), "{st:?}");
    assert!(st.iter().any(|l| l.starts_with("pid=")), "{st:?}");
    let v = json(&t.rkt(&["status", "--format=json", &uuid]));
    assert_eq!(v["name"], uuid.as_str());
    assert_eq!(v["state"], "exited");
    assert_eq!(v["app_names"][0], "probe");
    assert_eq!(v["apps"][0]["exit_code"], 7);
    assert_eq!(v["apps"][0]["state"], "exited");
    assert!(v["created_at"].as_i64().unwrap() <= v["started_at"].as_i64().unwrap());
    assert!(v.get("pid").is_none());
    let pretty = stdout(&t.rkt(&["status", "--format=json-pretty", &uuid]));
    assert!(pretty.contains("\n\t\"state\": \"exited\""), "{pretty}");

    // A pod runs once.
    let again = t.rkt(&["run-prepared", &uuid]);
    assert_fails(&again, "exited");
    let l = json(&t.rkt(&["list", "--format=json"]));
    assert_eq!(l.as_array().unwrap().len(), 1);
    assert_eq!(l[0]["name"], uuid.as_str());

    // A relative --dir works for run-prepared too (the plan's paths are made absolute).
    let out = t.rkt(&["prepare", "--quiet", "example.com/probe", "--", "exit", "4"]);
    let rel = stdout(&out).trim().to_string();
    let out = Command::new(e2e::rkt_bin())
        .current_dir(&t.path)
        .args(["--dir=data", "run-prepared", &rel])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));

    // rm takes prepared pods too.
    let out = t.rkt(&["prepare", "--quiet", "example.com/probe"]);
    assert_ok(&out);
    let second = stdout(&out).trim().to_string();
    let out = t.rkt(&["rm", &second]);
    assert_ok(&out);
    assert!(t.pods_in("prepared").is_empty());
    t.gc_all();
    assert_eq!(stdout(&t.rkt(&["list", "--format=json"])).trim(), "null");
}

#[test]
fn stop_terms_waits_kills_ignorers_and_is_a_no_op_on_exited_pods() {
    let t = setup("lc-stop");
    // TERM: the app dies of it; rkt run exits 128+15.
    let mut pod = start(&t, &["sleep", "60"]);
    let st = status(&t, &pod.uuid);
    assert_eq!(st[0], "state=running");
    assert!(has(&st, "exited=false"), "{st:?}");
    let list = stdout(&t.rkt(&["list", "--no-legend"]));
    assert!(list.contains("running"), "{list}");
    let f = t.join("uuid-stop");
    std::fs::write(&f, format!("{}\n\n", pod.uuid)).unwrap();
    let out = t.rkt(&["stop", &format!("--uuid-file={}", f.display())]);
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), format!("{:?}", pod.uuid));
    assert_eq!(pod.wait_code("the stopped pod"), 143);
    let st = status(&t, &pod.uuid);
    assert!(
        has(&st, "exited=true") && has(&st, "app-probe=143"),
        "{st:?}"
    );
    // An exited pod: "already stopped", exit 0.
    let out = t.rkt(&["stop", &pod.uuid]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("is already stopped"),
        "{}",
        stdout(&out)
    );

    // An app that ignores TERM is killed after stage1-init's grace period. Started is not
    // enough: the TERM must come once the app ignores it, else it dies of it (143).
    let mut pod = start(&t, &["ignore-term", "+", "sleep", "120"]);
    pod.wait_output("ignore-term returned 0");
    assert_ok(&t.rkt(&["stop", &pod.uuid[..8]]));
    assert_eq!(pod.wait_code("the TERM-ignoring pod"), 137);
    assert!(has(&status(&t, &pod.uuid), "app-probe=137"));

    // --force: PID 1 gets KILL, the pod is gone at once (no status written by the app).
    let mut pod = start(&t, &["ignore-term", "+", "sleep", "120"]);
    assert_ok(&t.rkt(&["stop", "--force", &pod.uuid]));
    assert_eq!(pod.wait_code("the killed pod"), 137);
    let st = status(&t, &pod.uuid);
    assert_eq!(st[0], "state=exited");

    // Not running yet: an error naming the state.
    let out = t.rkt(&["prepare", "--quiet", "example.com/probe"]);
    let prepared = stdout(&out).trim().to_string();
    let out = t.rkt(&["stop", &prepared]);
    assert_fails(&out, "not running");
    let out = t.rkt(&["stop", "ffffffff"]);
    assert_fails(&out, "no matches found for");
    t.gc_all_with(&["--expire-prepared=0s"]);
}

#[test]
fn stop_never_signals_a_process_that_is_not_the_pods_pid1() {
    let t = setup("lc-stop-reuse");
    let mut pod = start(&t, &["sleep", "60"]);
    let dir = t.pod_dir("run", &pod.uuid);
    let real_pid = std::fs::read_to_string(dir.join("pid")).unwrap();
    // The pod's PID now names another process (as after PID reuse): stop must refuse it.
    let mut other = Command::new("sleep").arg("60").spawn().unwrap();
    std::fs::write(dir.join("pid"), format!("{}\n", other.id())).unwrap();
    let out = t.rkt(&["stop", "--force", &pod.uuid]);
    assert_fails(&out, "no longer its PID 1");
    assert!(
        other.try_wait().unwrap().is_none(),
        "stop signalled a foreign process"
    );
    let _ = other.kill();
    let _ = other.wait();
    // The real PID 1 with a wrong recorded start time: refused as well.
    std::fs::write(dir.join("pid"), &real_pid).unwrap();
    let start_file = dir.join("pid-starttime");
    let recorded = std::fs::read_to_string(&start_file).unwrap();
    std::fs::write(&start_file, "1\n").unwrap();
    assert_fails(&t.rkt(&["stop", &pod.uuid]), "no longer its PID 1");
    assert!(pod.child.try_wait().unwrap().is_none());
    std::fs::write(&start_file, recorded).unwrap();
    assert_ok(&t.rkt(&["stop", &pod.uuid]));
    assert_eq!(pod.wait_code("the stopped pod"), 143);
    t.gc_all();
}

#[test]
fn status_wait_blocks_until_the_pod_exits() {
    let t = setup("lc-wait");
    let mut pod = start(&t, &["sleep", "1", "+", "exit", "3"]);
    let out = t.rkt(&["status", "--wait", &pod.uuid]);
    assert_ok(&out);
    let st: Vec<String> = stdout(&out).lines().map(String::from).collect();
    assert!(has(&st, "exited=true") && has(&st, "app-probe=3"), "{st:?}");
    assert_eq!(pod.wait_code("the pod"), 3);
    // A bounded wait on a pod that never finishes times out with a clear error.
    let out = t.rkt(&["prepare", "--quiet", "example.com/probe"]);
    let prepared = stdout(&out).trim().to_string();
    assert_fails(&t.rkt(&["status", "--wait=200ms", &prepared]), "timed out");
    let out = t.rkt(&["status", "--wait-ready=200ms", &prepared]);
    assert_fails(&out, "timed out");
    assert_fails(&t.rkt(&["status", "--format=yaml", &prepared]), "format");
    t.gc_all_with(&["--expire-prepared=0s"]);
}

#[test]
fn gc_expires_prepared_pods_and_mark_only_removes_nothing() {
    let t = setup("lc-gc-flags");
    let out = t.rkt(&["prepare", "--quiet", "example.com/probe"]);
    let prepared = stdout(&out).trim().to_string();
    assert_ok(&t.run_probe(&[], &["true"]));
    let exited = t.pods_in("run")[0].clone();
    // Default expiry (24h): the prepared pod stays; mark-only marks the exited one only.
    assert_ok(&t.rkt(&["gc", "--grace-period=0s", "--mark-only"]));
    assert_eq!(t.pods_in("prepared"), vec![prepared.clone()]);
    assert_eq!(t.pods_in("exited-garbage"), vec![exited.clone()]);
    let st = status(&t, &exited);
    assert_eq!(st[0], "state=exited garbage");
    assert!(has(&st, "exited=true"), "{st:?}");
    // Expired and swept.
    assert_ok(&t.rkt(&["gc", "--grace-period=0s", "--expire-prepared=0s"]));
    t.gc_all();
    let bad = t.rkt(&["gc", "--expire-prepared=soon"]);
    assert_fails(&bad, "--expire-prepared");
}

/// kill -9 of `rkt run` once the pod runs: the pod goes on (its PID 1 holds the lock, status
/// says running) until `rkt stop`. kill -9 of PID 1 itself: list and status say exited, never
/// running, and gc removes everything. The same holds after a simulated reboot.
#[test]
fn kill_9_of_rkt_or_pid1_reads_truthfully_and_gc_cleans() {
    let t = setup("lc-kill9");
    let mut a = start(&t, &["sleep", "60"]);
    let a_pid = std::fs::read_to_string(t.pod_dir("run", &a.uuid).join("pid")).unwrap();
    let _ = a.child.kill();
    a.wait_code("killed rkt");
    assert_eq!(status(&t, &a.uuid)[0], "state=running");
    assert_ok(&t.rkt(&["stop", "--force", &a.uuid]));
    wait_gone(a_pid.trim());
    assert_eq!(status(&t, &a.uuid)[0], "state=exited");

    let mut b = start(&t, &["sleep", "60"]);
    let b_pid = std::fs::read_to_string(t.pod_dir("run", &b.uuid).join("pid")).unwrap();
    Command::new("kill")
        .args(["-KILL", b_pid.trim()])
        .status()
        .unwrap();
    assert_eq!(b.wait_code("rkt of the killed PID 1"), 137);
    let st = status(&t, &b.uuid);
    assert_eq!(st[0], "state=exited");
    let v = json(&t.rkt(&["list", "--format=json"]));
    for p in v.as_array().unwrap() {
        assert_eq!(p["state"], "exited", "{p}");
    }
    // A "reboot": an aborted prepare left behind (dir in prepare/, no lock holder).
    let leftover = t
        .store()
        .join("pods/prepare/0badc0de-0000-4000-8000-000000000000");
    std::fs::create_dir_all(&leftover).unwrap();
    let l = stdout(&t.rkt(&["list", "--no-legend"]));
    assert!(l.contains("aborted prepare"), "{l}");
    t.gc_all();
}

/// Waits until `pid` is dead: gone, or a zombie waiting for the host's init to reap it (rkt,
/// its parent, died first; how soon a reaper runs is not the pod's doing).
fn wait_gone(pid: &str) {
    wait_until(&format!("PID 1 {pid} to die with rkt"), || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit_once(") ")
            .is_none_or(|(_, rest)| rest.starts_with('Z'))
    });
}

/// Many pods started at once (`RKT_SOAK_PARALLEL_PODS`, 50 by default) all run and exit with
/// their own codes; `list` stays correct meanwhile (every pod it shows is in a state a pod can
/// be in while starting or after).
#[test]
fn many_pods_at_once() {
    let t = setup("lc-many");
    let n = e2e::soak_count("PARALLEL_PODS", 50) as u32;
    let mut children = Vec::new();
    for i in 0..n {
        let code = (i % 50).to_string();
        let child = t
            .command(&["run", "example.com/probe", "--", "exit", &code], &[])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        children.push((
            i,
            Running {
                child,
                uuid: String::new(),
                out: PathBuf::new(),
            },
        ));
    }
    for _ in 0..5 {
        let v = json(&t.rkt(&["list", "--format=json"]));
        let pods = v.as_array().map(Vec::as_slice).unwrap_or_default();
        assert!(pods.len() <= n as usize);
        for p in pods {
            let s = p["state"].as_str().unwrap();
            assert!(
                ["preparing", "running", "exited"].contains(&s),
                "unexpected state {s} in {p}"
            );
        }
    }
    for (i, mut r) in children {
        assert_eq!(r.wait_code("one of many pods") as u32, i % 50, "pod {i}");
    }
    let list = stdout(&t.rkt(&["list", "--no-legend"]));
    assert_eq!(list.lines().count(), n as usize);
    assert!(list.lines().all(|l| l.contains("\texited\t")), "{list}");
    t.gc_all();
}

/// A busy mount left under an exited pod (a process of the host sits in it) does not make gc
/// fail: it is detached, the pod is removed, and the host data behind it survives.
#[test]
fn gc_detaches_busy_mounts_and_keeps_host_data() {
    let t = setup("lc-gc-busy");
    assert_ok(&t.run_probe(&[], &["true"]));
    let uuid = t.pods_in("run")[0].clone();
    let host = t.join("host-data");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("keep"), b"precious").unwrap();
    let mnt = t.pod_dir("run", &uuid).join("leftover-mount");
    std::fs::create_dir_all(&mnt).unwrap();
    let ok = Command::new("mount")
        .args(["--bind"])
        .arg(&host)
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(ok.success());
    // Busy: a process with its working directory inside the mount.
    let mut busy = Command::new("sleep")
        .arg("60")
        .current_dir(&mnt)
        .spawn()
        .unwrap();
    let out = t.rkt(&["gc", "--grace-period=0s"]);
    let _ = busy.kill();
    let _ = busy.wait();
    // Whatever happened, nothing stays mounted on the host.
    let _ = Command::new("umount")
        .arg("-l")
        .arg(&mnt)
        .stderr(Stdio::null())
        .status();
    assert_ok(&out);
    assert_eq!(std::fs::read(host.join("keep")).unwrap(), b"precious");
    t.gc_all();
}

/// A run that fails during setup leaves an aborted prepare that list and status report as such
/// (never preparing or running once rkt is gone) and gc removes.
#[test]
fn a_failed_start_reads_as_aborted_prepare_until_gc() {
    let t = setup("lc-aborted");
    let uuid_file = t.join("uuid");
    let out = t.rkt(&[
        "run",
        &format!("--uuid-file-save={}", uuid_file.display()),
        "example.com/probe",
        "--exec=/nope",
    ]);
    assert_eq!(out.status.code(), Some(254), "{}", stderr(&out));
    let uuid = read_uuid(&uuid_file);
    assert_eq!(status(&t, &uuid)[0], "state=aborted prepare");
    let list = stdout(&t.rkt(&["list", "--no-legend"]));
    assert!(list.contains("aborted prepare"), "{list}");
    let v = json(&t.rkt(&["status", "--format=json", &uuid]));
    assert_eq!(v["apps"][0]["state"], "unknown");
    // rm takes an aborted prepare (by a prefix).
    assert_ok(&t.rkt(&["rm", &uuid[..8]]));
    assert!(t.pods_in("prepare").is_empty());
    // A prepared pod whose start fails before launch (the plan finds no /nope) stays
    // prepared, untouched; gc expires it.
    let out = t.rkt(&["prepare", "--quiet", "example.com/probe", "--exec=/nope"]);
    assert_ok(&out);
    let prepared = stdout(&out).trim().to_string();
    let out = t.rkt(&["run-prepared", &prepared]);
    assert_eq!(out.status.code(), Some(254), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("rkt: run-prepared: "),
        "{}",
        stderr(&out)
    );
    t.gc_all_with(&["--expire-prepared=0s"]);
}

/// rkt killed (abort, as `kill -9`) at each step of run and of gc (security-checklist §5 case
/// 47): PID 1 dies with it (its start was never persisted, so it never got Go), `status` and
/// `list` never say preparing or running afterwards, no
/// process of the pod survives, and the next gc removes everything.
#[test]
fn crash_at_every_pod_failpoint_leaves_a_truthful_state_that_gc_cleans() {
    let t = setup("lc-failpoints");
    for (point, want) in [
        ("pod-prepared", "aborted prepare"),
        ("pod-ready", "aborted prepare"),
        ("pod-running", "exited"),
    ] {
        let uuid_file = t.join(&format!("uuid-{point}"));
        let out = t.rkt_env(
            &[
                "run",
                &format!("--uuid-file-save={}", uuid_file.display()),
                "example.com/probe",
                "--",
                "sleep",
                "60",
            ],
            &[("RKT_FAILPOINT", point)],
        );
        assert_eq!(out.status.signal(), Some(6), "{point}: {}", stderr(&out));
        let uuid = read_uuid(&uuid_file);
        // PID 1 (if it was started) dies with rkt: wait until the lock is free.
        let out = t.rkt(&["status", &format!("--wait={WAIT_FLAG}"), &uuid]);
        assert_ok(&out);
        let st: Vec<String> = stdout(&out).lines().map(String::from).collect();
        assert_eq!(st[0], format!("state={want}"), "{point}: {st:?}");
        if let Some(pid) = st.iter().find_map(|l| l.strip_prefix("pid=")) {
            // Gone, or a zombie waiting for the host's init to reap it (rkt died first). The
            // lock is released when PID 1 closes its files, before its exit finishes tearing
            // down the namespaces (state D): wait for that, never for a fixed time.
            e2e::wait_until(&format!("{point}: PID 1 {pid} to die"), || {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                stat.rsplit_once(") ")
                    .is_none_or(|(_, rest)| rest.starts_with('Z'))
            });
        }
        let list = stdout(&t.rkt(&["list", "--no-legend"]));
        assert!(
            !list.contains("running") && !list.contains("preparing"),
            "{list}"
        );
    }
    // gc crashing after marking, then halfway through deleting a pod: the next gc finishes.
    for point in ["pods-marked", "pod-half-removed"] {
        let out = t.rkt_env(&["gc", "--grace-period=0s"], &[("RKT_FAILPOINT", point)]);
        assert_eq!(out.status.signal(), Some(6), "{point}: {}", stderr(&out));
    }
    t.gc_all();
}
