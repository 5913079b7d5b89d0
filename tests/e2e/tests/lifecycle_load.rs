//! Load and leak checks of the pod lifecycle (security-checklist §5 case 48 b, and gc racing
//! runs): many sequential pods leave nothing behind, and gc / image gc running in a loop never
//! break a run, a running pod or an image a pod uses.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use e2e::require_root;
use e2e::store::{assert_ok, stdout, StoreDir};

/// `du -sk` of a directory.
fn du_k(dir: &std::path::Path) -> u64 {
    let out = Command::new("du").arg("-sk").arg(dir).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Sequential `run` + `gc --grace-period=0s` cycles (`RKT_SOAK_RUN_GC_CYCLES`: 200 in
/// `scripts/test.sh`, 1000 in `scripts/soak.sh`) inside a mount namespace with shared
/// propagation: the namespace's mount count, the pod directories and the pods' disk use do not
/// grow, and no pod leaves a cgroup.
#[test]
fn run_gc_cycles_leak_nothing() {
    let cycles = e2e::soak_count("RUN_GC_CYCLES", 200);
    // About 0.1 s per cycle on a quiet machine; a loaded one may take ten times that.
    let limit = std::time::Duration::from_secs(120 + cycles as u64);
    require_root();
    let t = StoreDir::with_timeout("lc-leak", limit);
    t.probe_image();
    let rkt = e2e::rkt_bin();
    let dir = t.store();
    // One shell loop in a private copy of the mount table whose mounts propagate as shared
    // (what systemd makes of /), printing the mount count before and after.
    let script = format!(
        r#"set -e
count() {{ wc -l < /proc/self/mountinfo; }}
r() {{ {rkt} --dir={dir} "$@"; }}
for i in $(seq 10); do r run example.com/probe >/dev/null; r gc --grace-period=0s >/dev/null 2>&1; done
echo "before $(count) $(du -sk {dir}/pods | cut -f1)"
i=0
while [ $i -lt {cycles} ]; do
    r run --uuid-file-save={dir}/../uuid example.com/probe -- exit 3 >/dev/null && exit 90 || [ $? -eq 3 ] || exit 91
    r gc --grace-period=0s >/dev/null 2>&1
    # The pod's cgroups went with it.
    find /sys/fs/cgroup -maxdepth 6 -type d -name "$(cat {dir}/../uuid)" | grep -q . && exit 92
    i=$((i + 1))
done
echo "after $(count) $(du -sk {dir}/pods | cut -f1)"
"#,
        rkt = rkt.display(),
        dir = dir.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "shared", "sh", "-c"])
        .arg(&script)
        .output()
        .unwrap();
    assert_ok(&out);
    let text = stdout(&out);
    let field = |tag: &str, i: usize| -> u64 {
        text.lines()
            .find(|l| l.starts_with(tag))
            .unwrap_or_else(|| panic!("{tag} missing: {text}"))
            .split_whitespace()
            .nth(i)
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(field("before", 1), field("after", 1), "mounts grew: {text}");
    assert!(
        field("after", 2) <= field("before", 2),
        "pods' disk use grew: {text}"
    );
    for state in [
        "embryo",
        "prepare",
        "prepared",
        "run",
        "exited-garbage",
        "garbage",
    ] {
        assert!(t.pods_in(state).is_empty(), "pods left in {state}");
    }
    assert!(du_k(&dir.join("pods")) <= 64, "pods dir holds data");
}

/// `gc` and `image gc` in a tight loop while pods run one after the other
/// (`RKT_SOAK_GC_RACE_RUNS`, 30 by default) and one long pod runs throughout: every run succeeds with its output, the long pod is untouched.
#[test]
fn gc_and_image_gc_in_a_loop_never_break_a_run() {
    let runs = e2e::soak_count("GC_RACE_RUNS", 30);
    // Each run competes with gc and image gc for the store's locks: a loaded machine may take
    // seconds per run, so the deadline grows with the count.
    let limit = std::time::Duration::from_secs(120 + 10 * runs as u64);
    require_root();
    let t = StoreDir::with_timeout("lc-gc-race", limit);
    t.probe_image();
    let long_file = t.join("long-uuid");
    let long = t
        .command(
            &[
                "run",
                &format!("--uuid-file-save={}", long_file.display()),
                "example.com/probe",
                "--",
                // Far longer than the runs can take however slow they are: it is stopped
                // below (or killed with its rkt by the guard or the watchdog).
                "sleep",
                "3600",
            ],
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
    let mut long = Guard(long);
    // The long pod holds the image in use before image gc first runs.
    e2e::wait_until("the uuid file", || {
        long_file.is_file() && !e2e::pod::read_uuid(&long_file).is_empty()
    });
    let uuid = e2e::pod::read_uuid(&long_file);
    let ready = format!("--wait-ready={}", e2e::WAIT_FLAG);
    assert_ok(&t.rkt(&["status", &ready, &uuid]));
    let stop = Arc::new(AtomicBool::new(false));
    let looper = {
        let stop = stop.clone();
        let rkt = e2e::rkt_bin();
        let dir = t.store();
        std::thread::spawn(move || {
            let mut rounds = 0u32;
            while !stop.load(Ordering::Relaxed) {
                for args in [
                    &["gc", "--grace-period=0s"][..],
                    &["image", "gc", "--grace-period=0s"][..],
                ] {
                    let out = Command::new(&rkt)
                        .arg(format!("--dir={}", dir.display()))
                        .args(args)
                        .stdout(Stdio::null())
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{args:?} failed during runs: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                rounds += 1;
            }
            rounds
        })
    };
    let mut failures = Vec::new();
    for i in 0..runs {
        let out = t.run_probe(&[], &["hostname"]);
        if !out.status.success() || !stdout(&out).contains("hostname=rkt-") {
            failures.push((i, out));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let rounds = looper.join().unwrap();
    assert!(long.0.try_wait().unwrap().is_none(), "the long pod died");
    let st = stdout(&t.rkt(&["status", &uuid]));
    assert!(st.starts_with("state=running"), "{st}");
    assert_ok(&t.rkt(&["stop", &uuid]));
    let _ = long.0.wait();
    assert!(
        failures.is_empty(),
        "{} runs failed: {:?}",
        failures.len(),
        failures.first()
    );
    assert!(rounds > 0);
    t.gc_all();
}
