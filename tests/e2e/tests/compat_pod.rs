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
    // run-prepared takes it at the start, as rkt did; prepare's is run-prepared's default.
    let prepared = |flags: &[&str]| {
        let mut args = vec!["prepare", "--quiet"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["example.com/probe", "--", "ns", "ipc"]);
        let out = t.rkt(&args);
        assert_ok(&out);
        stdout(&out).trim().to_string()
    };
    let run_prepared = |flags: &[&str], uuid: &str| {
        let mut args = vec!["run-prepared", "--net=none"];
        args.extend_from_slice(flags);
        args.push(uuid);
        let out = t.rkt(&args);
        assert_ok(&out);
        stdout(&out)
    };
    assert_eq!(run_prepared(&["--ipc=parent"], &prepared(&[])), host);
    assert_eq!(run_prepared(&[], &prepared(&["--ipc=parent"])), host);
    assert_ne!(
        run_prepared(&["--ipc=private"], &prepared(&["--ipc=parent"])),
        host
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

/// rkt's TestEtcHosts and TestPrepareAppCheckEtcHostname: /etc/hosts is the image's, else
/// rkt's fallback with the pod's host name; `--hosts-entry` lines follow the fallback;
/// `--hosts-entry=host` is the host's file; /etc/hostname is the host name, mode 0644.
#[test]
fn etc_hosts_and_hostname_are_rkts() {
    let t = setup("compat-etc-hosts");
    let cat_hosts = |flags: &[&str]| {
        let mut all = vec!["--net=none"];
        all.extend_from_slice(flags);
        let out = t.run_probe(&all, &["cat", "/etc/hosts"]);
        assert_ok(&out);
        stdout(&out)
    };
    let fallback = "127.0.0.1 localhost localhost.domain localhost4 localhost4.localdomain4 rkt-";
    let hosts = cat_hosts(&[]);
    assert!(hosts.starts_with(fallback), "{hosts}");
    let uuid_part = hosts.lines().next().unwrap().rsplit(' ').next().unwrap();
    assert_eq!(uuid_part.len(), "rkt-".len() + 36, "{hosts}");
    // The same on the host's network: the pod has its own host name.
    let out = t.run_probe(&["--net=host", "--hostname=box"], &["cat", "/etc/hosts"]);
    assert_ok(&out);
    assert!(
        stdout(&out).starts_with(&fallback.replace("rkt-", "box\n")),
        "{}",
        stdout(&out)
    );
    let hosts = cat_hosts(&["--hosts-entry=128.66.0.99=host1", "--hostname=named"]);
    assert!(hosts.contains("localhost4.localdomain4 named\n"), "{hosts}");
    assert!(
        hosts.ends_with("\n\n# Added by rkt run --hosts-entry\n128.66.0.99 host1\n"),
        "{hosts}"
    );
    let host_file = std::fs::read_to_string("/etc/hosts").unwrap();
    assert_eq!(cat_hosts(&["--hosts-entry=host"]), host_file);
    assert_eq!(
        cat_hosts(&["--hosts-entry=host", "--hosts-entry=host"]),
        host_file
    );
    for (flags, words) in [
        (
            &["--hosts-entry=host", "--hosts-entry=1.2.3.4=a"][..],
            "cannot pass --hosts-entry=host with multiple hosts-entries",
        ),
        (
            &["--hosts-entry=nonsense"],
            "Did not understand --hosts-entry nonsense",
        ),
        (
            &["--hosts-entry=1.2.3=a"],
            "Invalid IP passed to --hosts-entry: 1.2.3",
        ),
        (
            &["--dns=8.8.8.8.8"],
            "Invalid IP passed to --dns: 8.8.8.8.8",
        ),
        (
            &["--dns=host", "--dns=none"],
            "no other --dns options allowed when --dns=host is passed",
        ),
        (
            &["--dns=none", "--dns-search=a.example"],
            "Cannot call --dns-opt, --dns-search, or --dns-domain with --dns=none",
        ),
    ] {
        let mut all = vec!["--net=none"];
        all.extend_from_slice(flags);
        assert_fails(&t.run_probe(&all, &["true"]), words);
    }
    // An image's own /etc/hosts (here a volume over it) is kept.
    let own = t.join("hosts");
    std::fs::write(&own, "<<<preexisting etc>>>").unwrap();
    let out = t.rkt(&[
        "run",
        "--net=none",
        &format!("--volume=hosts,kind=host,source={}", own.display()),
        "example.com/probe",
        "--mount=volume=hosts,target=/etc/hosts",
        "--",
        "cat",
        "/etc/hosts",
    ]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "<<<preexisting etc>>>");
    // /etc/hostname, with --hostname given after the image as rkt's test does.
    let out = t.rkt(&[
        "run",
        "--net=none",
        "example.com/probe",
        "--hostname",
        "custom_hostname_setting",
        "--",
        "cat",
        "/etc/hostname",
        "+",
        "stat",
        "/etc/hostname",
    ]);
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        "custom_hostname_setting\nstat /etc/hostname file 644\n"
    );
    t.gc_all();
}

/// rkt's TestDNSParam and TestDNSHost, on the pod's own network namespace and the host's.
#[test]
fn dns_flags_write_resolv_conf_as_rkt_did() {
    let t = setup("compat-dns");
    let resolv = |flags: &[&str]| {
        let out = t.run_probe(flags, &["cat", "/etc/resolv.conf"]);
        assert_ok(&out);
        stdout(&out)
    };
    for (flags, line) in [
        (&["--dns=8.8.4.4"][..], "nameserver 8.8.4.4\n"),
        (
            &["--dns=8.8.8.8", "--dns=8.8.4.4"],
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n",
        ),
        (
            &["--dns-search=foo.com", "--dns-search=bar.com"],
            "search foo.com bar.com\n",
        ),
        (
            &["--dns-opt=debug", "--dns-opt=use-vc", "--dns-opt=rotate"],
            "options debug use-vc rotate\n",
        ),
        (
            &["--dns-opt=debug", "--dns-domain=example.net"],
            "domain example.net\n",
        ),
    ] {
        for net in ["--net=none", "--net=host"] {
            let mut all = vec![net];
            all.extend_from_slice(flags);
            let got = resolv(&all);
            assert!(got.contains(line), "{all:?}: {got}");
        }
    }
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap();
    assert_eq!(resolv(&["--net=none", "--dns=host"]), host);
    // No flag: the image has none on --net=none (rkt's "Cannot read file").
    let out = t.run_probe(&["--net=none"], &["cat", "/etc/resolv.conf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("No such file"), "{}", stdout(&out));
    t.gc_all();
}
