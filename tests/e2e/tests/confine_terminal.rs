//! Confinement III (issue 14): the terminal rkt runs on never reaches a pod, and `rkt enter`
//! never hands the pod anything of the host. Each attack is first shown to work where the
//! target holds a host terminal or runs a host file, then shown to fail against rkt.
//!
//! 1. `rkt run` without `--interactive`: the app reopens its stdout read-write to read what
//!    the admin typed and change the terminal's modes.
//! 2. `rkt enter`: a hostile app reopens the entered process's terminal (the access a ptrace
//!    attach needs too) to read the admin's input, and the entered process pushes a command
//!    line with TIOCSTI (what a ptracer can make it do).
//! 3. `rkt enter` of a script whose interpreter is `/proc/self/exe` (CVE-2019-5736): the
//!    kernel runs the entering process's own binary inside the pod, which the pod then holds
//!    by `/proc/PID/exe` and appends to once it is no longer busy.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use e2e::pod::{probe_manifest, probe_tar, Background, LINUX_AMD64};
use e2e::pty::{LegacyTiocsti, PtySession};
use e2e::store::{assert_ok, stderr, stdout, StoreDir};
use e2e::{aci, require_root, wait_until};
use rustix::termios::LocalModes;

const SECRET: &[u8] = b"secret\n";

/// The probe image, with `/bin/exe-script` (`#!/proc/self/exe`).
fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    let aci_path = t.join("probe.aci");
    aci::write(
        &aci_path,
        &probe_tar(
            &probe_manifest("example.com/probe", LINUX_AMD64, ""),
            |tar| tar.file("rootfs/bin/exe-script", 0o755, b"#!/proc/self/exe\n"),
        ),
    );
    t.fetch(&aci_path);
    t
}

/// A background `rkt run` of the probe, its output in `app.out`.
fn start(t: &StoreDir, probe_args: &[&str]) -> Background {
    let mut args = vec!["example.com/probe", "--"];
    args.extend_from_slice(probe_args);
    let out = std::fs::File::create(t.join("app.out")).unwrap();
    t.start(&args, out.into())
}

/// Stops the pod; returns its output.
fn finish(t: &StoreDir, pod: Background) -> String {
    t.finish(pod);
    std::fs::read_to_string(t.join("app.out")).unwrap()
}

fn echo_on(s: &PtySession) -> bool {
    s.modes().local_modes.contains(LocalModes::ECHO)
}

#[test]
fn run_never_hands_the_host_terminal_to_the_app() {
    let t = setup("tty-run");
    // The attack, against a process whose stdout is the admin's terminal: it reads what was
    // typed ahead and turns the terminal's echo off.
    let mut direct = Command::new(e2e::pod::probe_bin());
    direct.args(["steal-input", "1"]);
    let mut s = PtySession::spawn_typed(&mut direct, 24, 80, SECRET);
    assert_eq!(s.wait(), 0, "{}", s.output());
    assert!(s.output().contains("read=secret\\n"), "{}", s.output());
    assert!(!echo_on(&s), "the control could not change the modes");
    assert_eq!(s.pending_input(), 0);
    drop(s);

    // rkt's stdout and stderr are the admin's terminal: the app's are ptys of the pod's own
    // devpts (isatty stays true), with nothing to read; what was typed stays the admin's.
    let mut cmd = t.command(
        &[
            "run",
            "example.com/probe",
            "--",
            "steal-input",
            "1",
            "+",
            "steal-input",
            "2",
            "+",
            "isatty",
        ],
        &[],
    );
    let mut s = PtySession::spawn_typed(&mut cmd, 24, 80, SECRET);
    assert_eq!(s.wait(), 0, "{}", s.output());
    let out = s.output();
    for fd in [1, 2] {
        let want = format!("steal fd={fd} tty=true own_devpts=true read=errno 11 echo_off=ok");
        assert!(out.contains(&want), "{want:?} missing:\n{out}");
    }
    for want in ["isatty 0=false", "isatty 1=true", "isatty 2=true"] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
    assert_eq!(
        s.pending_input(),
        SECRET.len() as u64,
        "the app took the admin's input"
    );
    assert!(echo_on(&s), "the app changed the admin's terminal");
    drop(s);

    // Off a terminal: pipes, relayed.
    let out = t.run_probe(&[], &["isatty", "+", "fds"]);
    assert_ok(&out);
    let text = stdout(&out);
    for want in [
        "isatty 1=false",
        "isatty 2=false",
        "fd 1 -> pipe:",
        "fd 2 -> pipe:",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }
    t.gc_all();
}

#[test]
fn enter_gives_the_command_a_pty_of_the_pod_never_the_admins_terminal() {
    let t = setup("tty-enter");
    let _legacy = LegacyTiocsti::enable();
    let probe = e2e::pod::probe_bin();
    // The attack, against a process on the admin's terminal: the hunter reopens it through
    // /proc/PID/fd and reads what was typed ahead.
    let release = t.join("release");
    let mut victim = Command::new(&probe);
    victim.args(["wait-file", release.to_str().unwrap()]);
    let mut v = PtySession::spawn_typed(&mut victim, 24, 80, SECRET);
    let pid = v.pid().to_string();
    let out = Command::new(&probe)
        .args(["hunt", "-", "-", &pid])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("fd=0 own_devpts=true read=secret\\n"),
        "the control could not steal: {}",
        stdout(&out)
    );
    std::fs::write(&release, "x").unwrap();
    assert_eq!(v.wait(), 0, "{}", v.output());
    drop(v);

    // The pod's app hunts every terminal of every other process once the entered command
    // runs; the entered command pushes a line into its own terminal with TIOCSTI and reads it.
    let pod = start(&t, &["hunt", "/tmp/go", "/tmp/done", "+", "sleep", "3600"]);
    let mut cmd = t.command(
        &[
            "enter",
            &pod.uuid,
            "/bin/probe",
            "write",
            "/tmp/go",
            "x",
            "+",
            "wait-file",
            "/tmp/done",
            "+",
            "tiocsti",
            "0",
            "echo pwned\n",
            "+",
            "readline",
            "+",
            "tty",
        ],
        &[],
    );
    let mut s = PtySession::spawn(&mut cmd, 24, 80);
    assert_eq!(s.wait(), 0, "{}", s.output());
    let out = s.output();
    for want in [
        "tiocsti=ok",
        "got=echo pwned",
        "same_devpts=true",
        "ctty=true",
    ] {
        assert!(out.contains(want), "{want:?} missing:\n{out}");
    }
    assert_eq!(s.pending_input(), 0, "a line reached the admin's terminal");
    assert!(echo_on(&s));
    drop(s);
    let hunted = finish(&t, pod);
    assert!(
        hunted.contains("hunt ttys=3 foreign=0"),
        "the hunter should find the entered command's three fds, all of the pod:\n{hunted}"
    );
    assert!(!hunted.contains("own_devpts=false"), "{hunted}");
    assert!(!hunted.contains("write=ok"), "{hunted}");
}

#[test]
fn enter_runs_no_host_binary_in_the_pod() {
    let t = setup("tty-exe");
    let probe = e2e::pod::probe_bin();
    // The attack, against a host file: `#!/proc/self/exe` runs the caller's own binary again,
    // and a process holding its /proc/PID/exe appends to it once it is no longer busy.
    let victim = t.join("victim");
    std::fs::copy(&probe, &victim).unwrap();
    let script = t.join("reexec");
    std::fs::write(&script, "#!/proc/self/exe\n").unwrap();
    e2e::store::set_mode(&script, 0o755);
    let out = Command::new(&victim)
        .args(["exec", script.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("unknown subcommand"),
        "the script did not run the caller's binary: {}",
        stdout(&out)
    );
    let release = t.join("release");
    let mut busy = Command::new(&victim)
        .args(["wait-file", release.to_str().unwrap()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let written = append_once_gone(&probe, busy.id(), || {
        std::fs::write(&release, "x").unwrap();
    });
    let _ = busy.wait();
    assert_eq!(written, "exe-append=ok", "the control could not write");
    assert!(std::fs::read(&victim).unwrap().ends_with(b"MARK"));

    // In the pod: the script's interpreter is the embedded stage1-init (a sealed memfd),
    // which refuses to run outside rkt; rkt's file is never executed there.
    let rkt_before = std::fs::read(e2e::rkt_bin()).unwrap();
    let pod = start(&t, &["sleep", "3600"]);
    let out = t.rkt(&["enter", &pod.uuid, "/bin/exe-script"]);
    assert_eq!(out.status.code(), Some(254), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("stage1: RKT_SYNC_FD is not set"),
        "{}",
        stderr(&out)
    );
    // The entering process itself runs that sealed memfd: even root on the host, holding its
    // /proc/PID/exe, cannot write to it once it is gone.
    let mut entered = t
        .command(
            &[
                "enter",
                &pod.uuid,
                "/bin/probe",
                "wait-file",
                "/tmp/release",
            ],
            &[],
        )
        .spawn()
        .unwrap();
    let inside = wait_for_child(entered.id());
    let exe = std::fs::read_link(format!("/proc/{inside}/exe")).unwrap();
    assert!(
        exe.to_string_lossy().starts_with("/memfd:stage1-init"),
        "{exe:?}"
    );
    let written = append_once_gone(&probe, inside, || {
        assert_ok(&t.rkt(&[
            "enter",
            &pod.uuid,
            "/bin/probe",
            "write",
            "/tmp/release",
            "x",
        ]));
    });
    assert_eq!(entered.wait().unwrap().code(), Some(0));
    assert_eq!(
        written, "exe-append=errno 1",
        "EPERM: sealed against writes"
    );
    finish(&t, pod);
    assert!(std::fs::read(e2e::rkt_bin()).unwrap() == rkt_before);
}

/// Runs `probe exe-append PID MARK` until it holds PID's exe, then `release` (which makes PID
/// exit); returns the probe's verdict line.
fn append_once_gone(probe: &std::path::Path, pid: u32, release: impl FnOnce()) -> String {
    let mut hunter = Command::new(probe)
        .args(["exe-append", &pid.to_string(), "MARK"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(hunter.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert_eq!(first, "exe-append opened");
    release();
    let verdict = lines.next().unwrap().unwrap();
    let _ = hunter.wait();
    verdict
}

/// The only child of process `pid`, once it has one.
fn wait_for_child(pid: u32) -> u32 {
    let path = format!("/proc/{pid}/task/{pid}/children");
    let mut child = 0;
    wait_until("the entering process's child", || {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        child = text
            .split_whitespace()
            .next()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        // Exec'd (stage1-init's name), not the fork before it.
        child != 0
            && std::fs::read_to_string(format!("/proc/{child}/comm"))
                .is_ok_and(|c| c.trim() == "stage1-init")
    });
    child
}
