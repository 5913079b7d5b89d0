//! The pod's output as rkt relays it (issue 14): complete and in order per stream, from every
//! app, with the pod's exit code; a reader that goes away (`| head -1`) or an rkt killed with
//! -9 gives the apps EPIPE, and the pod then ends by its own exit policy.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use e2e::pod::read_uuid;
use e2e::store::{assert_ok, stderr, stdout, StoreDir};
use e2e::{require_root, wait_until};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

/// The lines `probe lines N STREAM TAG` writes on `stream` ("out" or "err"), `both` taking
/// even numbers on stdout and odd ones on stderr.
fn expected(n: u64, to: &str, stream: &str, tag: &str) -> String {
    (0..n)
        .filter(|i| to != "both" || (i % 2 == 1) == (stream == "err"))
        .map(|i| format!("{tag}{stream} line {i:08}\n"))
        .collect()
}

/// The lines of `text` that start with `prefix`, in order.
fn only(text: &str, prefix: &str) -> String {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn ten_megabytes_arrive_intact_and_each_stream_keeps_its_order() {
    let t = setup("out-big");
    // 600000 lines of 18 bytes: 10.8 MB through one pipe and rkt's relay.
    let out = t.run_probe(&[], &["lines", "600000", "out"]);
    assert_ok(&out);
    assert!(
        stdout(&out) == expected(600_000, "out", "out", ""),
        "stdout differs ({} bytes)",
        out.stdout.len()
    );
    // Both streams at once, alternating line by line: each is complete and in order.
    let out = t.run_probe(&[], &["lines", "100000", "both"]);
    assert_ok(&out);
    assert!(stdout(&out) == expected(100_000, "both", "out", ""));
    assert!(only(&stderr(&out), "err line") == expected(100_000, "both", "err", ""));
    t.gc_all();
}

#[test]
fn every_app_of_a_pod_is_heard_and_the_exit_code_is_the_pods() {
    let t = setup("out-apps");
    let out = t.rkt(&[
        "run",
        "example.com/probe",
        "--",
        "lines",
        "20000",
        "out",
        "a",
        "---",
        "example.com/probe",
        "--name=second",
        "--",
        "lines",
        "20000",
        "both",
        "b",
    ]);
    assert_ok(&out);
    // Each line is one write(2) of less than PIPE_BUF: lines of two apps never mix.
    let (o, e) = (stdout(&out), stderr(&out));
    assert!(only(&o, "a ") == expected(20_000, "out", "out", "a "));
    assert!(only(&o, "b ") == expected(20_000, "both", "out", "b "));
    assert!(only(&e, "b ") == expected(20_000, "both", "err", "b "));
    // The exit code stays the app's, after its output.
    let out = t.run_probe(&[], &["lines", "10", "out", "+", "exit", "7"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(stdout(&out), expected(10, "out", "out", ""));
    t.gc_all();
}

#[test]
fn a_reader_that_goes_away_ends_the_pod() {
    let t = setup("out-head");
    // `| head -1`: once head has its line, the app's next write fails (EPIPE), the probe
    // exits 1, and so does rkt, with the pod's status.
    let script = format!(
        "{} --dir={} run example.com/probe -- lines 100000000 out | head -1; \
         echo \"rkt=${{PIPESTATUS[0]}}\"",
        e2e::rkt_bin().display(),
        t.store().display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        "out line 00000000\nrkt=1\n",
        "{}",
        stderr(&out)
    );
    t.gc_all();
}

#[test]
fn rkt_killed_with_9_leaves_the_pod_to_its_exit_policy() {
    let t = setup("out-kill9");
    let uuid_file = t.join("uuid");
    let save = format!("--uuid-file-save={}", uuid_file.display());
    let mut rkt = t
        .command(
            &[
                "run",
                &save,
                "example.com/probe",
                "--",
                "lines",
                "100000000",
                "out",
            ],
            &[],
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(rkt.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "out line 00000000");
    wait_until("the uuid file", || {
        uuid_file.is_file() && !read_uuid(&uuid_file).is_empty()
    });
    let uuid = read_uuid(&uuid_file);
    rkt.kill().unwrap();
    let _ = rkt.wait();
    // The relay died with rkt: the app's next write gets EPIPE, it exits 1, and the pod
    // (PID 1 lives on without rkt) ends as its exit policy says.
    let mut status = String::new();
    wait_until("the pod to exit", || {
        status = stdout(&t.rkt(&["status", &uuid]));
        status.contains("state=exited")
    });
    assert!(status.contains("app-probe=1"), "{status}");
    t.gc_all();
}

/// `rkt run ... > log 2>&1; echo after >> the same description`: both relays write to one
/// file description, and nothing written is overwritten, by the other stream or by whoever
/// writes next. (splice(2) into a file writes back the offset it read when it began waiting,
/// so an idle stderr relay used to rewind the file to 0 at its EOF.)
#[test]
fn output_to_a_shared_file_is_never_overwritten() {
    let t = setup("out-file");
    let log = t.join("log");
    let script = format!(
        "for i in $(seq 20); do {} --dir={} run example.com/probe -- lines 2 out run$i; echo \"after $i\"; done > {} 2>&1",
        e2e::rkt_bin().display(),
        t.store().display(),
        log.display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&log).unwrap();
    let want: String = (1..=20)
        .map(|i| format!("run{i} out line 00000000\nrun{i} out line 00000001\nafter {i}\n"))
        .collect();
    assert_eq!(text, want);
    t.gc_all();
}
