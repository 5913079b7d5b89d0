//! The command lines orchestrators drove (rkt-behaviour.md §8), replayed verbatim where this
//! build implements them: Nomad's driver (prepare / run-prepared / status --format=json polled
//! / cat-manifest, reading the pod's address from `networks[].ip`), the kubelet (prepare --quiet --pod-manifest, run-prepared --net=host
//! --mds-register=false --hostname, gc with --expire-prepared) and CoreOS's systemd wrappers
//! (rm --uuid-file before start, run --uuid-file-save, stop --uuid-file). Nomad's exec is
//! `rkt enter UUID cmd args` while the task runs; its stop is `rkt stop UUID`. The wrappers'
//! fly line (kubelet-wrapper) runs inside `unshare -m --propagation shared`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::store::{assert_ok, stderr, stdout, StoreDir};
use e2e::{require_root, WAIT_FLAG};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert_ok(out);
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn nomad_prepare_run_prepared_status_json_enter_and_cat_manifest() {
    let t = setup("orch-nomad");
    let alloc = t.join("alloc");
    std::fs::create_dir(&alloc).unwrap();
    std::fs::write(alloc.join("task"), "from-nomad\n").unwrap();
    let aci = t.join("probe.aci");
    let out = t.rkt(&[
        "--insecure-options=image",
        "--debug=false",
        "prepare",
        &format!("--volume=a,kind=host,source={}", alloc.display()),
        "--mount=volume=a,target=/alloc",
        "--set-env=NOMAD_TASK=web",
        aci.to_str().unwrap(),
        "--exec=/bin/probe",
        "--user=0",
        "--group=0",
        "--",
        "cat",
        "/alloc/task",
        "+",
        "env",
        "+",
        "sleep",
        "60",
    ]);
    assert_ok(&out);
    // rkt printed the UUID as the last line of stdout.
    let uuid = stdout(&out).lines().last().unwrap().to_string();
    let v = json(&t.rkt(&["status", "--format=json", &uuid]));
    assert_eq!(v["state"], "prepared");
    let child = t
        .command(&["run-prepared", "--dns=host", &uuid], &[])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Nomad polls status until the pod runs, execs in it, stops it and polls until it exits.
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut entered = false;
    loop {
        let v = json(&t.rkt(&["status", "--format=json", &uuid]));
        let state = v["state"].as_str().unwrap().to_string();
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if state == "running" && !entered {
            // The driver reads the pod's address from networks[].ip (rkt's default network).
            let ip = v["networks"][0]["ip"].as_str().unwrap_or_default();
            assert!(ip.starts_with("172.16.28."), "{v}");
            assert_eq!(v["networks"][0]["netName"], "default", "{v}");
            assert_ok(&t.rkt(&["status", &format!("--wait-ready={WAIT_FLAG}"), &uuid]));
            // The driver's exec: `rkt enter UUID cmd args`.
            let out = t.rkt(&[
                "enter",
                &uuid,
                "/bin/probe",
                "cat",
                "/alloc/task",
                "+",
                "env",
            ]);
            assert_ok(&out);
            let s = stdout(&out);
            assert!(
                s.contains("from-nomad\n") && s.contains("env NOMAD_TASK=web\n"),
                "{s}"
            );
            let out = t.rkt(&["enter", &uuid, "/bin/probe", "exit", "3"]);
            assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
            entered = true;
            assert_ok(&t.rkt(&["stop", &uuid]));
        }
        if state == "exited" {
            assert_eq!(v["apps"][0]["exit_code"], 143, "{v}");
            break;
        }
        assert!(start.elapsed() < e2e::WAIT, "{seen:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(entered, "{seen:?}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(
        s.contains("from-nomad\n") && s.contains("env NOMAD_TASK=web\n"),
        "{s}"
    );
    assert!(
        seen.iter()
            .all(|s| ["prepared", "running", "exited"].contains(&s.as_str())),
        "{seen:?}"
    );
    let m = json(&t.rkt(&["cat-manifest", &uuid]));
    assert_eq!(m["apps"][0]["mounts"][0]["path"], "/alloc");
    t.gc_all();
}

#[test]
fn kubelet_pod_manifest_prepare_run_prepared_and_gc() {
    let t = setup("orch-kubelet");
    let ids = t.rkt(&[
        "image",
        "list",
        "--full",
        "--format=json",
        "--sort=importtime",
    ]);
    let id = json(&ids)[0]["id"].as_str().unwrap().to_string();
    let manifest = format!(
        r#"{{"acKind":"PodManifest","acVersion":"0.8.11",
        "apps":[{{"name":"nginx","image":{{"name":"example.com/probe","id":"{id}"}},
          "app":{{"exec":["/bin/probe","hostname","+","env"],"user":"0","group":"0",
                  "environment":[{{"name":"KUBERNETES_SERVICE_HOST","value":"10.0.0.1"}}]}},
          "annotations":[{{"name":"rkt.kubernetes.io/container-hash","value":"123"}}]}}],
        "annotations":[{{"name":"rkt.kubernetes.io/managed-by-kubelet","value":"true"}},
                       {{"name":"rkt.kubernetes.io/uid","value":"u-1"}}]}}"#
    );
    let file = t.join("pod.json");
    std::fs::write(&file, manifest).unwrap();
    let out = t.rkt(&[
        "prepare",
        "--quiet",
        &format!("--pod-manifest={}", file.display()),
    ]);
    assert_ok(&out);
    let uuid = stdout(&out).trim().to_string();
    assert_eq!(stdout(&out), format!("{uuid}\n"));
    let out = t.rkt(&[
        "run-prepared",
        "--net=host",
        "--mds-register=false",
        "--hostname=kube-pod",
        &uuid,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(s.contains("hostname=kube-pod\n"), "{s}");
    assert!(s.contains("env KUBERNETES_SERVICE_HOST=10.0.0.1\n"), "{s}");
    // A second pod prepared and never run: the kubelet's gc expires it.
    let out = t.rkt(&[
        "prepare",
        "--quiet",
        &format!("--pod-manifest={}", file.display()),
    ]);
    assert_ok(&out);
    assert_ok(&t.rkt(&["gc", "--grace-period=1m", "--expire-prepared=1m"]));
    // Within the minute both stay (one marked, one prepared); after it, gc takes them.
    assert_eq!(t.pods_in("exited-garbage"), vec![uuid.clone()]);
    assert_eq!(t.pods_in("prepared").len(), 1);
    let v = json(&t.rkt(&["list", "--format=json"]));
    assert_eq!(v.as_array().unwrap().len(), 2);
    t.gc_all_with(&["--expire-prepared=0s"]);
}

#[test]
fn coreos_wrapper_rm_run_stop_by_uuid_file() {
    let t = setup("orch-coreos");
    let f = t.join("kubelet-pod.uuid");
    // ExecStartPre=-rkt rm --uuid-file=F: on a missing file it fails (the unit ignores it).
    let out = t.rkt(&["rm", &format!("--uuid-file={}", f.display())]);
    assert_eq!(out.status.code(), Some(254));
    let mut run = t
        .command(
            &[
                "run",
                &format!("--uuid-file-save={}", f.display()),
                "example.com/probe",
                "--exec=/bin/probe",
                "--",
                "sleep",
                "60",
            ],
            &[],
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    e2e::wait_until("the uuid file", || {
        f.is_file() && !std::fs::read_to_string(&f).unwrap().trim().is_empty()
    });
    let uf = format!("--uuid-file={}", f.display());
    let wait = t.rkt(&["status", &format!("--wait-ready={WAIT_FLAG}"), &uf]);
    if !wait.status.success() {
        let _ = run.kill();
        let _ = run.wait();
        panic!("{}", stderr(&wait));
    }
    // ExecStop=-rkt stop --uuid-file=F
    assert_ok(&t.rkt(&["stop", &uf]));
    assert_eq!(run.wait().unwrap().code(), Some(143));
    assert_ok(&t.rkt(&["stop", &uf]));
    // The next start's ExecStartPre removes the old pod.
    assert_ok(&t.rkt(&["rm", &uf]));
    t.gc_all();
}

#[test]
fn coreos_kubelet_wrapper_fly_run_stop_rm() {
    let t = setup("orch-coreos-fly");
    // kubelet-wrapper: ExecStartPre=-rkt rm --uuid-file=F; ExecStart=rkt run
    // --uuid-file-save=F --volume ...,recursive=true --mount ... --stage1-from-dir=stage1-fly.aci
    // IMAGE --exec=/x -- args; ExecStop=-rkt stop --uuid-file=F.
    let script = r#"
        mkdir -p "$T/var-lib-kubelet"
        echo kubelet-state > "$T/var-lib-kubelet/state"
        $RKT rm --uuid-file="$T/kubelet.uuid" 2>/dev/null || echo "pre-rm-failed=$?"
        $RKT run --uuid-file-save="$T/kubelet.uuid" \
            --volume var-lib-kubelet,kind=host,source="$T/var-lib-kubelet",recursive=true \
            --mount volume=var-lib-kubelet,target=/var/lib/kubelet \
            --stage1-from-dir=stage1-fly.aci example.com/probe --exec=/bin/probe -- \
            cat /var/lib/kubelet/state + write /var/lib/kubelet/written-by-app yes + sleep 60 \
            > "$T/app.out" &
        pid=$!
        wait_until 120 test -s "$T/kubelet.uuid"
        wait_until 120 test -e "$T/var-lib-kubelet/written-by-app"
        $RKT stop --uuid-file="$T/kubelet.uuid"
        rc=0; wait $pid || rc=$?
        echo "rc=$rc"
        $RKT rm --uuid-file="$T/kubelet.uuid"
        echo "mounts-left=$(grep -c "$T/data/pods" /proc/self/mountinfo || true)"
    "#;
    let out = std::process::Command::new("timeout")
        .args(["300", "unshare", "-m", "--propagation", "shared", "--"])
        .args(["bash", "-euc", &format!("{}\n{script}", e2e::SH_WAIT_UNTIL)])
        .env(
            "RKT",
            format!("{} --dir={}", e2e::rkt_bin().display(), t.store().display()),
        )
        .env("T", &t.path)
        .output()
        .unwrap();
    let s = stdout(&out);
    assert!(out.status.success(), "{s}\n{}", stderr(&out));
    assert!(s.contains("pre-rm-failed=254\n"), "{s}");
    let app = std::fs::read_to_string(t.join("app.out")).unwrap();
    assert!(app.starts_with("kubelet-state\n"), "{app}");
    assert!(s.contains("rc=143\n"), "{s}\n{}", stderr(&out));
    assert!(s.contains("mounts-left=0\n"), "{s}");
    assert_eq!(
        std::fs::read_to_string(t.join("var-lib-kubelet/written-by-app")).unwrap(),
        "yes"
    );
    t.gc_all();
}
