//! rkt 1.30 compatibility of what a pod does (issue 17 items 3, 5, 6, 7): `root` without an
//! /etc/passwd, environment files with comments, `--ipc`, and the host names rkt took.

use e2e::require_root;
use e2e::store::{assert_fails, assert_ok, stdout, StoreDir};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

#[test]
fn root_needs_no_passwd_or_group_file() {
    // The probe image has /etc but neither /etc/passwd nor /etc/group.
    let t = setup("compat-root");
    let out = t.run_probe(&["--net=none", "--user=root", "--group=root"], &["id"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("uid=0 0 0 0\ngid=0 0 0 0\n"),
        "{}",
        stdout(&out)
    );
    let out = t.rkt(&[
        "run",
        "--net=none",
        "example.com/probe",
        "--user=user2",
        "--",
        "id",
    ]);
    assert_fails(&out, "\"user2\" user not found");
    let out = t.rkt(&[
        "run",
        "--net=none",
        "example.com/probe",
        "--user=root",
        "--group=group2",
    ]);
    assert_fails(&out, "\"group2\" group not found");
    t.gc_all();
}

#[test]
fn env_files_skip_blank_lines_and_comments() {
    let t = setup("compat-env-file");
    let file = t.join("env");
    std::fs::write(
        &file,
        "# a comment\n; another comment\n\n   \nFIRST=1\n  SECOND=two words  \n#NOT=set\n",
    )
    .unwrap();
    let out = t.run_probe(
        &["--net=none", &format!("--set-env-file={}", file.display())],
        &["env"],
    );
    assert_ok(&out);
    let s = stdout(&out);
    assert!(s.contains("env FIRST=1\n"), "{s}");
    assert!(s.contains("env SECOND=two words\n"), "{s}");
    assert!(!s.contains("NOT=") && !s.contains("comment"), "{s}");
    std::fs::write(&file, "FIRST=1\nno equals sign\n").unwrap();
    let out = t.run_probe(
        &["--net=none", &format!("--set-env-file={}", file.display())],
        &["env"],
    );
    assert_fails(&out, "--set-env-file");
    t.gc_all();
}

#[test]
fn ipc_is_the_pods_own_unless_parent() {
    let t = setup("compat-ipc");
    let host = format!(
        "ns {}\n",
        std::fs::read_link("/proc/self/ns/ipc").unwrap().display()
    );
    let ipc_of = |flags: &[&str]| {
        let mut all = vec!["--net=none"];
        all.extend_from_slice(flags);
        let out = t.run_probe(&all, &["ns", "ipc"]);
        assert_ok(&out);
        stdout(&out)
    };
    assert_eq!(ipc_of(&["--ipc=parent"]), host);
    for flags in [&[][..], &["--ipc=auto"], &["--ipc=private"]] {
        let ns = ipc_of(flags);
        assert!(ns.starts_with("ns ipc:[") && ns != host, "{flags:?}: {ns}");
    }
    assert_fails(
        &t.run_probe(&["--ipc=shared"], &["true"]),
        "expected auto, private or parent",
    );
    // run-prepared takes it at the start, as rkt did; prepare has no --ipc.
    let out = t.rkt(&["prepare", "--quiet", "example.com/probe", "--", "ns", "ipc"]);
    assert_ok(&out);
    let uuid = stdout(&out).trim().to_string();
    let out = t.rkt(&["run-prepared", "--net=none", "--ipc=parent", &uuid]);
    assert_ok(&out);
    assert_eq!(stdout(&out), host);
    assert_fails(
        &t.rkt(&["prepare", "--ipc=parent", "example.com/probe"]),
        "unknown flag: --ipc",
    );
    t.gc_all();
}

#[test]
fn host_names_are_what_rkt_and_the_kernel_take() {
    let t = setup("compat-hostname");
    for name in [
        "custom_hostname_setting",
        "host.example.com",
        &"h".repeat(64),
    ] {
        let out = t.run_probe(
            &["--net=none", &format!("--hostname={name}")],
            &["hostname"],
        );
        assert_ok(&out);
        assert_eq!(stdout(&out), format!("hostname={name}\n"));
    }
    for name in ["two words", "new\nline", &"h".repeat(65)] {
        let out = t.run_probe(
            &["--net=none", &format!("--hostname={name}")],
            &["hostname"],
        );
        assert_fails(&out, "is not a valid host name");
    }
    t.gc_all();
}
