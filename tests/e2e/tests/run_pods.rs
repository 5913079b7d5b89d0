//! `rkt run` of whole pods: several apps and the exit policy, per-app flags (and the ones given
//! before the first image, which apply to every app), and the environment's precedence.

use std::process::Stdio;

use e2e::pod::{probe_manifest, probe_tar, read_uuid, LINUX_AMD64};
use e2e::store::{assert_fails, assert_ok, stderr, stdout, StoreDir};
use e2e::{aci, require_root, wait_until};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

fn status(t: &StoreDir, uuid: &str, app: &str) -> String {
    let p = t
        .pod_dir("run", uuid)
        .join("stage1/rootfs/rkt/status")
        .join(app);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

#[test]
fn several_apps_first_failure_stops_the_pod() {
    let t = setup("pods-exit");
    let uuid_file = t.join("uuid");
    // The order of the exits is the test's, not the scheduler's: `five` fails only once the
    // test has seen `zero` exit and writes `go` into the volume only `five` mounts.
    let sync = t.join("sync");
    std::fs::create_dir(&sync).unwrap();
    let mut child = t
        .command(
            &[
                "--debug",
                "run",
                &format!("--uuid-file-save={}", uuid_file.display()),
                &format!("--volume=sync,kind=host,source={}", sync.display()),
                "example.com/probe",
                "--name=zero",
                "--",
                "exit",
                "0",
                "---",
                "example.com/probe",
                "--name=five",
                "--mount=volume=sync,target=/sync",
                "--",
                "wait-file",
                "/sync/go",
                "+",
                "exit",
                "5",
                "---",
                "example.com/probe",
                "--name=six",
                "--",
                // A later failure of its own, were it not stopped first.
                "sleep",
                "100",
                "+",
                "exit",
                "6",
                "---",
                "example.com/probe",
                "--name=sleeper",
                "--",
                "sleep",
                "100",
            ],
            &[],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the uuid file", || {
        uuid_file.is_file() && !read_uuid(&uuid_file).is_empty()
    });
    let uuid = read_uuid(&uuid_file);
    let zero = t
        .pod_dir("run", &uuid)
        .join("stage1/rootfs/rkt/status/zero");
    wait_until("app zero to exit", || {
        zero.exists() || child.try_wait().unwrap().is_some()
    });
    if !zero.exists() {
        let out = child.wait_with_output().unwrap();
        panic!("rkt exited ({}) first: {}", out.status, stderr(&out));
    }
    std::fs::write(sync.join("go"), "go").unwrap();
    let out = child.wait_with_output().unwrap();
    // The first non-zero status is the pod's; the sleeping apps got SIGTERM (143), not the
    // KILL that follows the grace period (137), and report 0 as rkt 1.30's stopped apps did.
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert_eq!(status(&t, &uuid, "zero"), "0");
    assert_eq!(status(&t, &uuid, "five"), "5");
    assert_eq!(status(&t, &uuid, "six"), "0");
    assert_eq!(status(&t, &uuid, "sleeper"), "0");
    for app in ["six", "sleeper"] {
        let line = format!("app {app} exited with 143 (status 0)");
        assert!(stderr(&out).contains(&line), "{line}: {}", stderr(&out));
    }
    let out = t.rkt(&["status", &uuid]);
    assert!(stdout(&out).contains("app-six=0\n"), "{}", stdout(&out));

    // All apps exiting 0: the pod exits 0 once all have finished.
    let out = t.rkt(&[
        "run",
        "example.com/probe",
        "--name=a",
        "--",
        "true",
        "---",
        "example.com/probe",
        "--name=b",
        "--",
        "sleep",
        "0.3",
    ]);
    assert_ok(&out);
    t.gc_all();
}

#[test]
fn app_names_default_from_the_image_and_must_be_unique() {
    let t = setup("pods-names");
    let aci = t.join("web.aci");
    aci::write(
        &aci,
        &probe_tar(
            &probe_manifest("example.com/web_app", LINUX_AMD64, ""),
            |t| t,
        ),
    );
    t.fetch(&aci);
    let uuid_file = t.join("uuid");
    let out = t.rkt(&[
        "run",
        &format!("--uuid-file-save={}", uuid_file.display()),
        "example.com/web_app",
        "example.com/probe",
        "--",
        "env",
    ]);
    assert_ok(&out);
    assert!(stdout(&out).contains("env AC_APP_NAME=probe\n"));
    let uuid = read_uuid(&uuid_file);
    assert_eq!(status(&t, &uuid, "web-app"), "0");
    assert_eq!(status(&t, &uuid, "probe"), "0");

    let out = t.rkt(&["run", "example.com/probe", "example.com/probe"]);
    assert_fails(&out, "multiple apps with same name \"probe\"");
    assert_eq!(out.status.code(), Some(254));
    let out = t.rkt(&["run", "--net=none"]);
    assert_fails(
        &out,
        "must provide at least one image or specify the pod manifest",
    );
    assert!(t.pods_in("prepare").is_empty());
    t.gc_all();
}

#[test]
fn per_app_flags_and_flags_for_every_app() {
    let t = setup("pods-app-flags");
    let uuid_file = t.join("uuid");
    let out = t.rkt(&[
        "run",
        &format!("--uuid-file-save={}", uuid_file.display()),
        // Before the first image: for every app.
        "--user=7",
        "--readonly-rootfs",
        "--annotation=example.com/all=1",
        "example.com/probe",
        "--name=one",
        "--group=1000",
        "--supplementary-gids=5,6",
        "--working-dir=/tmp",
        "--user-annotation=ua=x",
        "--user-label=ul=y",
        "--",
        "id",
        "+",
        "cwd",
        "+",
        // Reports the refusal and goes on: a failing `one` would stop the pod, and whether
        // `two` had printed by then would be the scheduler's choice.
        "try-write",
        "/bin/new",
        "---",
        "example.com/probe",
        "--name=two",
        "--user=8",
        "--readonly-rootfs=false",
        "--",
        "id",
    ]);
    // Two apps share stdout: the probe writes each line with one write(2), so lines never
    // mix, but their order is the scheduler's; only whole lines are looked for.
    let s = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{s}{}", stderr(&out));
    assert!(s.contains("uid=7 7 7 7\n"), "{s}");
    assert!(s.contains("gid=1000 1000 1000 1000\n"), "{s}");
    assert!(s.contains("groups=5 6\n"), "{s}");
    assert!(s.contains("cwd=/tmp\n"), "{s}");
    // `one`'s rootfs is read-only (EROFS).
    assert!(s.contains("try-write /bin/new errno 30\n"), "{s}");
    assert!(s.contains("uid=8 8 8 8\n"), "{s}");
    let uuid = read_uuid(&uuid_file);
    assert_eq!(status(&t, &uuid, "one"), "0");
    assert_eq!(status(&t, &uuid, "two"), "0");
    let manifest = std::fs::read_to_string(t.pod_dir("run", &uuid).join("pod")).unwrap();
    for needle in [
        r#""readOnlyRootFS":true"#,
        r#""name":"example.com/all","value":"1""#,
        r#""userAnnotations":{"ua":"x"}"#,
        r#""userLabels":{"ul":"y"}"#,
        r#""user":"8""#,
        r#""supplementaryGIDs":[5,6]"#,
        r#""workingDirectory":"/tmp""#,
    ] {
        assert!(manifest.contains(needle), "{needle} not in {manifest}");
    }
    for (args, needle) in [
        (
            vec!["run", "example.com/probe", "--supplementary-gids=a"],
            "--supplementary-gids",
        ),
        (
            vec!["run", "example.com/probe", "--working-dir=tmp"],
            "not an absolute path",
        ),
        (
            vec!["run", "example.com/probe", "--user=nobody"],
            "\"nobody\" user not found",
        ),
        (
            vec!["run", "example.com/probe", "--environment=X"],
            "NAME=VALUE",
        ),
    ] {
        let out = t.rkt(&args);
        assert_eq!(out.status.code(), Some(254), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    t.gc_all();
}

/// rkt-behaviour §3.5: --inherit-env < image < --set-env-file < --set-env < --environment.
#[test]
fn environment_precedence() {
    let t = setup("pods-env");
    let aci = t.join("env.aci");
    let extra = r#","environment":[{"name":"B","value":"image"},{"name":"C","value":"image"},{"name":"D","value":"image"},{"name":"E","value":"image"}]"#;
    aci::write(
        &aci,
        &probe_tar(
            &probe_manifest("example.com/env", LINUX_AMD64, extra),
            |t| t,
        ),
    );
    t.fetch(&aci);
    let file = t.join("env-file");
    std::fs::write(&file, "# comment\n\nC=file\nD=file\nE=file\n").unwrap();
    let host = [
        ("A", "inherit"),
        ("B", "inherit"),
        ("E", "inherit"),
        ("RKT_TEST_ONLY_HOST", "1"),
    ];
    let table = [
        ("A", "inherit"),
        ("B", "image"),
        ("C", "file"),
        ("D", "set-env"),
        ("E", "environment"),
        ("AC_APP_NAME", "env"),
    ];
    let set_file = format!("--set-env-file={}", file.display());
    let out = t.rkt_env(
        &[
            "run",
            "--inherit-env",
            &set_file,
            "--set-env=D=set-env",
            "example.com/env",
            // A pod flag among the images is the pod's (rkt's parseApps; Nomad writes this).
            "--set-env",
            "E=set-env",
            "--environment=E=environment",
            "--",
            "env",
        ],
        &host,
    );
    assert_ok(&out);
    let s = stdout(&out);
    for (k, v) in table {
        assert!(s.contains(&format!("env {k}={v}\n")), "{k}={v}: {s}");
    }
    assert!(s.contains("env RKT_TEST_ONLY_HOST=1\n"), "{s}");
    assert_eq!(s.matches("env E=").count(), 1, "{s}");

    // Without --inherit-env nothing of rkt's environment leaks in.
    let out = t.rkt_env(&["run", "example.com/env", "--", "env"], &host);
    assert_ok(&out);
    let s = stdout(&out);
    assert!(!s.contains("RKT_TEST_ONLY_HOST"), "{s}");
    assert!(s.contains("env B=image\n"), "{s}");

    let bad = t.join("bad-env");
    std::fs::write(&bad, "NOEQUALS\n").unwrap();
    let out = t.rkt(&[
        "run",
        &format!("--set-env-file={}", bad.display()),
        "example.com/env",
    ]);
    assert_fails(&out, "--set-env-file");
    assert_fails(
        &t.rkt(&["run", "--set-env-file=/nonexistent/x", "example.com/env"]),
        "/nonexistent/x",
    );
    t.gc_all();
}

#[test]
fn host_volumes_read_write_and_read_only() {
    let t = setup("pods-host-vol");
    let host = t.join("hostvol");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("f"), "from-host\n").unwrap();
    let vol = format!("--volume=data,kind=host,source={}", host.display());
    let out = t.rkt(&[
        "run",
        &vol,
        "--mount=volume=data,target=/data",
        "example.com/probe",
        "--",
        "cat",
        "/data/f",
        "+",
        "write",
        "/data/new",
        "rw",
    ]);
    assert_ok(&out);
    assert!(stdout(&out).contains("from-host\n"), "{}", stdout(&out));
    assert_eq!(std::fs::read_to_string(host.join("new")).unwrap(), "rw");

    let ro = format!("{vol},readOnly=true");
    let out = t.rkt(&[
        "run",
        &ro,
        "example.com/probe",
        // A per-app --mount, after the image.
        "--mount=volume=data,target=/data",
        "--",
        "cat",
        "/data/f",
        "+",
        "write",
        "/data/ro",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("from-host\n"));
    assert!(
        stdout(&out).contains("error=Read-only file system"),
        "{}",
        stdout(&out)
    );
    assert!(!host.join("ro").exists());

    for (args, needle) in [
        (
            vec!["run", "--mount=volume=nope,target=/x", "example.com/probe"],
            "no volume named \"nope\"",
        ),
        (
            vec!["run", "--volume=data,kind=host", "example.com/probe"],
            "--volume",
        ),
        (
            vec![
                "run",
                "--volume=data,kind=host,source=/nonexistent/rkt-test",
                "example.com/probe",
            ],
            "/nonexistent/rkt-test",
        ),
    ] {
        let out = t.rkt(&args);
        assert_eq!(out.status.code(), Some(254), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    t.gc_all();
    assert_eq!(
        std::fs::read_to_string(host.join("f")).unwrap(),
        "from-host\n"
    );
}

#[test]
fn empty_volume_is_shared_by_two_apps_and_removed_with_the_pod() {
    let t = setup("pods-empty-vol");
    let uuid_file = t.join("uuid");
    let out = t.rkt(&[
        "run",
        &format!("--uuid-file-save={}", uuid_file.display()),
        "--volume=shared,kind=empty,mode=0770,uid=7,gid=8",
        "--mount=volume=shared,target=/shared",
        "example.com/probe",
        "--name=a",
        "--",
        "write",
        "/shared/a",
        "from-a",
        "+",
        // Until the other app has written its file: each then reads what the other wrote.
        "wait-file",
        "/shared/b",
        "+",
        "cat",
        "/shared/b",
        "---",
        "example.com/probe",
        "--name=b",
        "--",
        "write",
        "/shared/b",
        "from-b",
        "+",
        "wait-file",
        "/shared/a",
        "+",
        "cat",
        "/shared/a",
    ]);
    assert_ok(&out);
    let s = stdout(&out);
    // Each app read the other's file while both ran (each `cat` is one write(2)).
    assert!(s.contains("from-a") && s.contains("from-b"), "{s}");
    let uuid = read_uuid(&uuid_file);
    let dir = t.pod_dir("run", &uuid).join("sharedVolumes/shared");
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(&dir).unwrap();
    assert_eq!((md.mode() & 0o7777, md.uid(), md.gid()), (0o770, 7, 8));
    assert!(dir.join("a").is_file() && dir.join("b").is_file());
    t.gc_all();
    assert!(!dir.exists());
}

#[test]
fn image_mount_points_get_their_volume_or_an_implicit_empty_one() {
    let t = setup("pods-mountpoints");
    let host = t.join("hostvol");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("f"), "host\n").unwrap();
    let outside = t.join("outside");
    std::fs::create_dir(&outside).unwrap();
    let aci = t.join("mp.aci");
    let extra = r#","mountPoints":[{"name":"scratch","path":"/scratch"},{"name":"data","path":"/data","readOnly":true},{"name":"evil","path":"/link/sub/dir"}]"#;
    let link_target = outside.to_str().unwrap().to_string();
    aci::write(
        &aci,
        &probe_tar(
            &probe_manifest("example.com/mp", LINUX_AMD64, extra),
            |mut tar| {
                // The link's target also exists inside the image, as a plain directory tree:
                // resolved in the rootfs it lands there, never on the host's directory.
                let mut path = String::from("rootfs");
                for c in link_target.split('/').filter(|c| !c.is_empty()) {
                    path = format!("{path}/{c}");
                    if path != "rootfs/tmp" {
                        tar = tar.dir(&path, 0o755);
                    }
                }
                tar.symlink("rootfs/link", &link_target)
            },
        ),
    );
    t.fetch(&aci);
    let uuid_file = t.join("uuid");
    let out = t.rkt(&[
        "run",
        &format!("--uuid-file-save={}", uuid_file.display()),
        &format!("--volume=data,kind=host,source={}", host.display()),
        "example.com/mp",
        "--",
        "write",
        "/scratch/x",
        "scratch",
        "+",
        "write",
        "/link/sub/dir/y",
        "evil",
        "+",
        "cat",
        "/data/f",
        "+",
        "write",
        "/data/z",
        "x",
    ]);
    let s = stdout(&out);
    // The data mount point is read-only (the volume does not say): the last write fails.
    assert_eq!(out.status.code(), Some(1), "{s}{}", stderr(&out));
    assert!(s.contains("host\n"), "{s}");
    assert!(s.contains("error=Read-only file system"), "{s}");
    assert!(!host.join("z").exists());
    let uuid = read_uuid(&uuid_file);
    let shared = t.pod_dir("run", &uuid).join("sharedVolumes");
    assert_eq!(
        std::fs::read_to_string(shared.join("scratch/x")).unwrap(),
        "scratch"
    );
    // The symlinked target resolved inside the rootfs: the host dir it points at is untouched.
    assert_eq!(
        std::fs::read_to_string(shared.join("evil/y")).unwrap(),
        "evil"
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    t.gc_all();
}

#[test]
fn dns_and_hosts_entries_are_generated_over_image_symlinks() {
    let t = setup("pods-dns");
    let sentinel = t.join("sentinel");
    std::fs::write(&sentinel, b"host\n").unwrap();
    let target = sentinel.to_str().unwrap().to_string();
    let aci = t.join("evil.aci");
    let tar = probe_tar(
        &probe_manifest("example.com/evil", LINUX_AMD64, ""),
        |tar| {
            tar.symlink("rootfs/etc/hosts", &target)
                .symlink("rootfs/etc/resolv.conf", &target)
        },
    );
    aci::write(&aci, &tar);
    t.fetch(&aci);
    for net in ["--net=host", "--net=none"] {
        let out = t.rkt(&[
            "run",
            net,
            "--dns=8.8.8.8",
            "--dns",
            "2001:db8::1",
            "--dns-search=a.example",
            "--dns-search=b.example",
            "--dns-opt=ndots:2",
            "--dns-domain=example.com",
            "--hosts-entry=10.1.2.3=db",
            "--hosts-entry=10.1.2.3=cache",
            "example.com/evil",
            "--",
            "cat",
            "/etc/resolv.conf",
            "+",
            "cat",
            "/etc/hosts",
        ]);
        assert_ok(&out);
        let s = stdout(&out);
        for line in [
            "nameserver 8.8.8.8\n",
            "nameserver 2001:db8::1\n",
            "search a.example b.example\n",
            "options ndots:2\n",
            "domain example.com\n",
            "127.0.0.1 localhost",
            "10.1.2.3 db cache\n",
        ] {
            assert!(s.contains(line), "{net}: {line:?} not in {s}");
        }
        assert_eq!(std::fs::read(&sentinel).unwrap(), b"host\n", "{net}");
    }
    // --dns=none keeps the image's file (here a symlink leading nowhere inside it).
    let out = t.rkt(&["run", "--dns=none", "example.com/probe", "--", "ls", "/etc"]);
    assert_ok(&out);
    assert!(!stdout(&out).contains("resolv.conf"), "{}", stdout(&out));
    for (args, needle) in [
        (
            vec!["run", "--dns=host", "--dns=1.1.1.1", "example.com/probe"],
            "--dns=host",
        ),
        (
            vec!["run", "--dns=example.com", "example.com/probe"],
            "Invalid IP passed to --dns: example.com",
        ),
        (
            vec!["run", "--dns-search=a b", "example.com/probe"],
            "--dns-search",
        ),
        (
            vec!["run", "--hosts-entry=1.2.3.4", "example.com/probe"],
            "Did not understand --hosts-entry 1.2.3.4",
        ),
        (
            vec![
                "run",
                "--hosts-entry=host",
                "--hosts-entry=1.2.3.4=a",
                "example.com/probe",
            ],
            "--hosts-entry=host",
        ),
    ] {
        let out = t.rkt(&args);
        assert_eq!(out.status.code(), Some(254), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    assert!(t.pods_in("prepare").is_empty());
    t.gc_all();
}

#[test]
fn pod_manifest_runs_its_apps_volumes_and_overrides() {
    let t = setup("pods-manifest");
    let id = t.fetch(&t.join("probe.aci"));
    let host = t.join("hostvol");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("f"), "host-file\n").unwrap();
    let manifest = format!(
        r#"{{"acKind":"PodManifest","acVersion":"0.8.11",
        "apps":[
          {{"name":"web","image":{{"id":"{id}"}},
            "app":{{"exec":["/bin/probe","env","+","id","+","cwd","+","cat","/data/f","+","try-write","/data/x"],
                    "user":"7","group":"8","workingDirectory":"/tmp",
                    "environment":[{{"name":"FROM","value":"manifest"}}]}},
            "readOnlyRootFS":true,
            "mounts":[{{"volume":"data","path":"/data"}}],
            "annotations":[{{"name":"example.com/a","value":"1"}}]}},
          {{"name":"other","image":{{"id":"{id}"}},"mounts":[{{"volume":"data","path":"/d2"}}]}}
        ],
        "volumes":[{{"name":"data","kind":"host","source":"{}","readOnly":true}}],
        "annotations":[{{"name":"example.com/pod","value":"p"}}],
        "isolators":[{{"name":"resource/memory","value":{{"limit":"1G"}}}}]}}"#,
        host.display()
    );
    let file = t.join("pod.json");
    std::fs::write(&file, manifest).unwrap();
    let pm = format!("--pod-manifest={}", file.display());
    let uuid_file = t.join("uuid");
    let out = t.rkt(&[
        "run",
        &format!("--uuid-file-save={}", uuid_file.display()),
        &pm,
    ]);
    let s = stdout(&out);
    // The read-only volume refuses the write (EROFS), which `web` reports and goes on: had it
    // failed, it would have stopped the pod, and `other` with it if still running then.
    assert_eq!(out.status.code(), Some(0), "{s}{}", stderr(&out));
    for needle in [
        "env FROM=manifest\n",
        "env AC_APP_NAME=web\n",
        "uid=7 7 7 7\n",
        "gid=8 8 8 8\n",
        "cwd=/tmp\n",
        "host-file\n",
        "try-write /data/x errno 30\n",
    ] {
        assert!(s.contains(needle), "{needle:?} not in {s}");
    }
    // The pod's resource/memory isolator bounds the pod's cgroup: applied, not warned about.
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let uuid = read_uuid(&uuid_file);
    assert_eq!(status(&t, &uuid, "web"), "0");
    assert_eq!(status(&t, &uuid, "other"), "0");
    let written = std::fs::read_to_string(t.pod_dir("run", &uuid).join("pod")).unwrap();
    assert!(written.contains(r#""readOnlyRootFS":true"#), "{written}");
    assert!(
        written.contains(r#""name":"example.com/a","value":"1""#),
        "{written}"
    );
    assert!(!host.join("x").exists());

    for extra in [
        vec!["example.com/probe"],
        vec!["--set-env=A=1"],
        vec!["--inherit-env"],
        vec!["--volume=v,kind=empty"],
        vec!["--mount=volume=v,target=/x"],
    ] {
        let mut args = vec!["run", pm.as_str()];
        args.extend(extra.iter().copied());
        let out = t.rkt(&args);
        assert_fails(
            &out,
            "conflicting flags set with --pod-manifest (see --help)",
        );
        assert_eq!(out.status.code(), Some(254));
    }
    assert_fails(
        &t.rkt(&["run", "--pod-manifest=/nonexistent/pod.json"]),
        "/nonexistent/pod.json",
    );
    t.gc_all();
}

#[test]
fn a_mount_target_through_a_symlink_leading_out_of_the_image_stays_inside_it() {
    let t = setup("pods-mount-symlink");
    let outside = t.join("outside");
    std::fs::create_dir(&outside).unwrap();
    let link_target = outside.to_str().unwrap().to_string();
    let aci = t.join("evil.aci");
    let extra = r#","mountPoints":[{"name":"evil","path":"/link/sub"}]"#;
    aci::write(
        &aci,
        &probe_tar(
            &probe_manifest("example.com/evil", LINUX_AMD64, extra),
            |tar| tar.symlink("rootfs/link", &link_target),
        ),
    );
    t.fetch(&aci);
    // The link names a host directory: it is resolved inside the rootfs (as the kernel
    // resolves it for the app), so the mount point is made there and the host's stays empty.
    let inside = format!("{link_target}/sub/marker");
    let out = t.rkt(&[
        "run",
        "example.com/evil",
        "--",
        "write",
        &inside,
        "x",
        "+",
        "cat",
        "/link/sub/marker",
    ]);
    assert_ok(&out);
    assert!(stdout(&out).ends_with("x"), "{}", stdout(&out));
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    t.gc_all();
}
