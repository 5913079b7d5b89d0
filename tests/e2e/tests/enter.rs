//! `rkt enter` end to end: the entered command is the app (namespaces, rootfs, env, ids,
//! working directory, bounding set, no_new_privs), sees only fds 0-2 and cannot reach rkt
//! (security-checklist §5 cases 36-38); exit codes pass through; app selection and the
//! errors for several apps and for a pod that is not running.

use std::process::Stdio;

use e2e::pod::{probe_manifest, probe_tar, Background, LINUX_AMD64};
use e2e::store::{assert_fails, assert_ok, stderr, stdout, StoreDir};
use e2e::{aci, require_root, wait_until};

fn start(t: &StoreDir, run_args: &[&str]) -> Background {
    t.start(run_args, Stdio::null())
}

fn finish(t: &StoreDir, pod: Background) {
    t.finish(pod);
}

/// The host PID of the pod's only app: PID 1's only child.
fn app_host_pid(t: &StoreDir, uuid: &str) -> i32 {
    let pid1 = std::fs::read_to_string(t.pod_dir("run", uuid).join("pid")).unwrap();
    let pid1 = pid1.trim();
    let kids = std::fs::read_to_string(format!("/proc/{pid1}/task/{pid1}/children")).unwrap();
    let kids: Vec<&str> = kids.split_whitespace().collect();
    assert_eq!(kids.len(), 1, "{kids:?}");
    kids[0].parse().unwrap()
}

#[test]
fn entered_command_is_the_app_and_nothing_of_rkt() {
    require_root();
    let t = StoreDir::new("enter-app");
    t.probe_image();
    let pod = start(
        &t,
        &[
            "--set-env=ENTER_ENV=yes",
            "--user=1234",
            "--group=2345",
            "--supplementary-gids=7,8",
            "--working-dir=/tmp",
            "example.com/probe",
            "--",
            "sleep",
            "120",
        ],
    );
    // A host fd left open by the caller must not reach the pod (bash keeps fd 7 across exec).
    let script = format!(
        "exec 7</; exec {} --dir={} enter {} /bin/probe id + caps + env + cwd + fds + hostname \
         + pid + open-write /proc/1/exe",
        e2e::rkt_bin().display(),
        t.store().display(),
        &pod.uuid[..8]
    );
    // No timeout of its own: rkt's command line names the store, so the watchdog bounds it.
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .env("TERM", "xterm-enter")
        .output()
        .unwrap();
    let s = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{s}\n{}", stderr(&out));
    for want in [
        "uid=1234 1234 1234 1234",
        "gid=2345 2345 2345 2345",
        "groups=7 8",
        "capbnd=00000000a80425fb",
        "capeff=0000000000000000",
        "capamb=0000000000000000",
        "env ENTER_ENV=yes",
        "env AC_APP_NAME=probe",
        "env TERM=xterm-enter",
        "cwd=/tmp",
        &format!("hostname=rkt-{}", pod.uuid),
        // Its parent (rkt) is outside the pod's PID namespace.
        "ppid=0",
    ] {
        assert!(s.lines().any(|l| l == want), "{want:?} missing:\n{s}");
    }
    let fds: Vec<&str> = s.lines().filter(|l| l.starts_with("fd ")).collect();
    assert_eq!(fds.len(), 3, "{fds:?}");
    for (fd, line) in fds.iter().enumerate() {
        assert!(line.starts_with(&format!("fd {fd} -> ")), "{fds:?}");
    }
    // PID 1 (non-dumpable) is out of reach: its exe cannot be opened for writing.
    assert!(
        s.lines().any(|l| l.starts_with("open-write errno=13 ")),
        "/proc/1/exe was writable:\n{s}"
    );
    assert!(!s.contains("env RKT_"), "{s}");

    // The app's own mount namespace and root: the same mount table as the app sees.
    let app = app_host_pid(&t, &pod.uuid);
    let out = t.rkt(&["enter", &pod.uuid, "/bin/probe", "mounts"]);
    assert_ok(&out);
    let host_view = std::fs::read_to_string(format!("/proc/{app}/mountinfo")).unwrap();
    // A cgroup mount's root shows relative to the reader's cgroup namespace: the entered
    // command is in the app's, the test is not.
    let cgroup_roots_hidden = |text: &str| -> String {
        text.lines()
            .map(|l| {
                let mut f: Vec<&str> = l.split(' ').collect();
                let fstype = l.split(" - ").nth(1).and_then(|r| r.split(' ').next());
                if matches!(fstype, Some("cgroup" | "cgroup2")) {
                    f[3] = "ROOT";
                }
                f.join(" ") + "\n"
            })
            .collect()
    };
    assert_eq!(
        cgroup_roots_hidden(&stdout(&out)),
        cgroup_roots_hidden(&host_view)
    );
    assert!(
        stdout(&out).contains(" / /sys/fs/cgroup/cpu "),
        "the app's cgroup namespace"
    );

    // Files the command writes are in the app's rootfs, seen by the next enter.
    assert_ok(&t.rkt(&["enter", &pod.uuid, "/bin/probe", "write", "/tmp/f", "hi"]));
    let out = t.rkt(&["enter", &pod.uuid, "/bin/probe", "cat", "/tmp/f"]);
    assert_eq!(stdout(&out), "hi");

    // The command's exit code is rkt's; arguments after the UUID are the command's.
    let out = t.rkt(&["enter", &pod.uuid, "/bin/probe", "exit", "7"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let out = t.rkt(&["enter", &pod.uuid, "/bin/probe", "kill-self", "9"]);
    assert_eq!(out.status.code(), Some(137), "{}", stderr(&out));
    // (the probe's own answer to an unknown subcommand: exit 2, not rkt's 254)
    let out = t.rkt(&["enter", &pod.uuid, "probe", "--app=x"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!stderr(&out).contains("rkt:"), "{}", stderr(&out));
    // A relative command is looked up in the app's PATH.
    assert_ok(&t.rkt(&["enter", &pod.uuid, "probe", "true"]));
    // No /bin/bash nor /bin/sh in this image: the default command fails, naming /bin/sh.
    let out = t.rkt(&["enter", &pod.uuid]);
    assert_fails(&out, "/bin/sh");
    let out = t.rkt(&["enter", &pod.uuid, "/bin/nope"]);
    assert_fails(&out, "/bin/nope");
    finish(&t, pod);
}

#[test]
fn default_shell_several_apps_and_pods_not_running() {
    require_root();
    let t = StoreDir::new("enter-apps");
    t.probe_image();
    // A second image whose /bin/sh is the probe (no /bin/bash): the default command.
    let aci_path = t.join("shell.aci");
    let probe = std::fs::read(e2e::pod::probe_bin()).unwrap();
    aci::write(
        &aci_path,
        &probe_tar(
            &probe_manifest("example.com/shell", LINUX_AMD64, ""),
            |tar| tar.file("rootfs/bin/sh", 0o755, &probe),
        ),
    );
    t.fetch(&aci_path);
    let pod = start(
        &t,
        &[
            "example.com/probe",
            "--",
            "sleep",
            "120",
            "---",
            "example.com/shell",
            "--exec=/bin/probe",
            "--",
            "sleep",
            "120",
            "---",
            "example.com/probe",
            "--name=done",
            "--",
            "true",
        ],
    );
    // An app that has exited (0: the others run on) cannot be entered.
    let done = t
        .pod_dir("run", &pod.uuid)
        .join("stage1/rootfs/rkt/status/done");
    wait_until("app done to exit", || done.exists());
    let out = t.rkt(&["enter", "--app=done", &pod.uuid, "/bin/probe", "true"]);
    assert_fails(&out, "app \"done\" has exited");
    let out = t.rkt(&["enter", &pod.uuid, "/bin/probe", "true"]);
    assert_fails(&out, "specify one with --app");
    let out = t.rkt(&["enter", "--app=nope", &pod.uuid, "/bin/probe", "true"]);
    assert_fails(&out, "nope");
    let out = t.rkt(&["enter", "--app=shell", &pod.uuid, "/bin/probe", "env"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("env AC_APP_NAME=shell"),
        "{}",
        stdout(&out)
    );
    // The default: /bin/sh (the probe, which without arguments prints its usage, exit 2).
    let out = t.rkt(&["enter", "--app=shell", &pod.uuid]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("usage: probe"), "{}", stderr(&out));

    let uuid = pod.uuid.clone();
    assert_ok(&t.rkt(&["stop", "--force", &uuid]));
    let mut pod = pod;
    let _ = pod.child.wait();
    let out = t.rkt(&["enter", "--app=shell", &uuid, "/bin/probe", "true"]);
    assert_fails(&out, "not running");
    let out = t.rkt(&["enter", "--app=shell", "ffffffff", "/bin/probe", "true"]);
    assert_fails(&out, "no matches found for");
    drop(pod);
    t.gc_all();

    // A prepared pod is not running either.
    let out = t.rkt(&["prepare", "--quiet", "example.com/probe"]);
    assert_ok(&out);
    let uuid = stdout(&out).trim().to_string();
    let out = t.rkt(&["enter", &uuid, "/bin/probe", "true"]);
    assert_fails(&out, "not running (prepared)");
    t.gc_all_with(&["--expire-prepared=0s"]);
}

/// The lines of `/proc/PID/status` that say who a process is and what it may do.
fn identity(status: &str) -> Vec<String> {
    const KEYS: [&str; 11] = [
        "Uid:",
        "Gid:",
        "Groups:",
        "CapInh:",
        "CapPrm:",
        "CapEff:",
        "CapBnd:",
        "CapAmb:",
        "NoNewPrivs:",
        "Seccomp:",
        "Seccomp_filters:",
    ];
    status
        .lines()
        .filter(|l| KEYS.iter().any(|k| l.starts_with(k)))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn enter_on_a_terminal_in_a_pipeline_and_as_a_non_root_app() {
    require_root();
    let t = StoreDir::new("enter-io");
    t.probe_image();
    let pod = start(
        &t,
        &[
            "--user=1000",
            "--group=1000",
            "example.com/probe",
            "--",
            "sleep",
            "3600",
        ],
    );
    // The entered command is the app as far as the kernel can tell.
    let out = t.rkt(&["enter", &pod.uuid, "/bin/probe", "cat", "/proc/self/status"]);
    assert_ok(&out);
    let app = app_host_pid(&t, &pod.uuid);
    let app_status = std::fs::read_to_string(format!("/proc/{app}/status")).unwrap();
    let want = identity(&app_status);
    assert_eq!(want.len(), 11, "{app_status}");
    assert_eq!(identity(&stdout(&out)), want);
    assert!(
        want.contains(&"Uid: 1000 1000 1000 1000".to_string()),
        "{want:?}"
    );

    // A pipeline through it: stdin, stdout and exit codes, and a reader that goes away.
    let rkt = format!(
        "{} --dir={} enter {}",
        e2e::rkt_bin().display(),
        t.store().display(),
        pod.uuid
    );
    let script = format!(
        "printf 'hello\\n' | {rkt} /bin/probe readline + exit 3 | cat; echo \"rc=${{PIPESTATUS[1]}}\"; \
         {rkt} /bin/probe lines 100000000 out | head -1; echo \"rc=${{PIPESTATUS[0]}}\""
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        "got=hello\nrc=3\nout line 00000000\nrc=1\n",
        "{}",
        stderr(&out)
    );

    // On a terminal: a pty of the pod, owned by the app's user, with the terminal's size,
    // as the entered command's controlling terminal; the exit code passes through.
    let mut cmd = t.command(
        &[
            "enter",
            &pod.uuid,
            "/bin/probe",
            "tty",
            "+",
            "id",
            "+",
            "exit",
            "5",
        ],
        &[],
    );
    let mut s = e2e::pty::PtySession::spawn(&mut cmd, 33, 101);
    assert_eq!(s.wait(), 5, "{}", s.output());
    let shown = s.output();
    for want in [
        "isatty=true",
        "same_devpts=true",
        "ctty=true",
        "winsize=33x101",
        "uid=1000 1000 1000 1000",
    ] {
        assert!(shown.contains(want), "{want:?} missing:\n{shown}");
    }
    drop(s);
    finish(&t, pod);
}
