//! `rkt run --interactive` end to end, on a host pty the test drives (CI has no terminal):
//! the app's terminal is a pty of the pod's own devpts, relayed by rkt; plus
//! security-checklist §5 case 42 (TIOCSTI into the host's terminal).

use std::io::Write;
use std::process::{Command, Stdio};

use e2e::pty::{open_pty, spawn_on, LegacyTiocsti, PtySession, HANG_GUARD};
use e2e::require_root;
use e2e::snapshot;
use e2e::store::{assert_fails, StoreDir};
use rustix::termios::{InputModes, LocalModes, OutputModes};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

/// `rkt --dir=... run --interactive example.com/probe -- ARGS` as a command.
fn interactive(t: &StoreDir, probe_args: &[&str]) -> Command {
    let mut args = vec!["run", "--interactive", "example.com/probe", "--"];
    args.extend_from_slice(probe_args);
    t.command(&args, &[])
}

/// The value of `key=` in the probe's output (the first one after `from`).
fn value_after<'a>(text: &'a str, from: usize, key: &str) -> Option<&'a str> {
    text[from..]
        .lines()
        .find_map(|l| l.trim_end_matches('\r').strip_prefix(key))
}

#[test]
fn the_app_gets_a_terminal_of_the_pods_own_devpts() {
    let t = setup("tty-echo");
    let mut cmd = interactive(&t, &["tty", "+", "readline", "+", "tty", "+", "exit", "7"]);
    let mut s = PtySession::spawn(&mut cmd, 33, 101);
    // As the terminal was before rkt started (rkt may already have made it raw by now).
    let cooked = s.initial_modes();
    s.wait_for("winsize=33x101");
    // While the pod runs, rkt's terminal is raw: every key goes to the pod's terminal.
    let raw = s.modes();
    assert!(!raw.local_modes.contains(LocalModes::ICANON));
    assert!(!raw.local_modes.contains(LocalModes::ECHO));
    assert!(!raw.local_modes.contains(LocalModes::ISIG));
    // A resize reaches the app (SIGWINCH to rkt, TIOCSWINSZ on the pod's terminal) before
    // the line typed after it (`resize` returns once rkt has taken the signal).
    s.resize(40, 120);
    // Enter sends CR; the pod's terminal (ICRNL) makes it the app's newline.
    s.type_bytes(b"hello pod\r");
    let code = s.wait();
    let out = s.output();
    assert_eq!(code, 7, "the app's exit code; terminal:\n{out}");
    assert!(out.contains("isatty=true"), "{out}");
    assert!(out.contains("ttyname=/dev/pts/0"), "{out}");
    assert!(out.contains("same_devpts=true"), "{out}");
    assert!(out.contains("ctty=true"), "{out}");
    let tty_rdev = value_after(&out, 0, "tty_rdev=").unwrap();
    assert_eq!(
        value_after(&out, 0, "console_rdev="),
        Some(tty_rdev),
        "/dev/console is the app's terminal: {out}"
    );
    assert!(out.contains("got=hello pod"), "{out}");
    let second = out.find("got=").unwrap();
    assert_eq!(
        value_after(&out, second, "winsize="),
        Some("40x120"),
        "{out}"
    );
    // Not the host's terminal: another devpts instance.
    let dev: u64 = value_after(&out, 0, "tty_dev=").unwrap().parse().unwrap();
    assert_ne!(dev, s.host_dev(), "the app's tty is on the host's devpts");
    // rkt put its terminal back exactly as it found it.
    let after = s.modes();
    assert_eq!(after.local_modes, cooked.local_modes);
    assert_eq!(after.input_modes, cooked.input_modes);
    assert_eq!(after.output_modes, cooked.output_modes);
    assert_eq!(after.control_modes, cooked.control_modes);
    assert!(after
        .local_modes
        .contains(LocalModes::ICANON | LocalModes::ECHO));
    assert!(after.input_modes.contains(InputModes::ICRNL));
    assert!(after.output_modes.contains(OutputModes::OPOST));
    drop(s);
    t.gc_all();
}

#[test]
fn piped_input_reaches_the_app_and_eof_is_the_terminals() {
    let t = setup("tty-pipe");
    // stdin and stdout are pipes: no terminal on rkt's side at all. The second readline sees
    // the end of input (the terminal's EOF); the pod still exits with the app's code.
    let mut cmd = interactive(
        &t,
        &["readline", "+", "readline", "+", "tty", "+", "exit", "3"],
    );
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from a pipe\n")
        .unwrap();
    let out = wait_output(child);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nobody types into a pipe: no echo, the output is the app's alone.
    assert!(text.starts_with("got=from a pipe\r\n"), "{text}");
    assert!(
        text.contains("got=\r\n"),
        "EOF reads as an empty line: {text}"
    );
    assert!(text.contains("isatty=true"), "{text}");
    assert!(text.contains("same_devpts=true"), "{text}");
    t.gc_all();
}

/// `wait_with_output` bounded by the hang guard.
fn wait_output(child: std::process::Child) -> std::process::Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(HANG_GUARD) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY-free: kill through /bin/kill to keep the test crate libc-free.
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("rkt run --interactive hung");
        }
    }
}

#[test]
fn only_one_app_may_be_interactive() {
    let t = setup("tty-one");
    let before = snapshot::take(&t.store());
    assert_fails(
        &t.rkt(&[
            "run",
            "--interactive",
            "example.com/probe",
            "example.com/probe",
            "--name=second",
        ]),
        "interactive option only supports one image",
    );
    let id = t.fetch(&t.join("probe.aci"));
    let pm = t.join("pod.json");
    std::fs::write(
        &pm,
        format!(
            r#"{{"acKind":"PodManifest","acVersion":"0.8.11","apps":[
            {{"name":"a","image":{{"id":"{id}"}}}},{{"name":"b","image":{{"id":"{id}"}}}}]}}"#
        ),
    )
    .unwrap();
    assert_fails(
        &t.rkt(&[
            "run",
            "--interactive",
            &format!("--pod-manifest={}", pm.display()),
        ]),
        "interactive option only supports one image",
    );
    snapshot::assert_same(
        &before,
        &snapshot::take(&t.store()),
        "refused --interactive",
    );
    assert!(t.pods_in("prepare").is_empty());
    // One app of a pod manifest is fine.
    std::fs::write(
        &pm,
        format!(
            r#"{{"acKind":"PodManifest","acVersion":"0.8.11","apps":[
            {{"name":"a","image":{{"id":"{id}"}},"app":{{"exec":["/bin/probe","tty"],"user":"0","group":"0"}}}}]}}"#
        ),
    )
    .unwrap();
    let mut cmd = t.command(
        &[
            "run",
            "--interactive",
            &format!("--pod-manifest={}", pm.display()),
        ],
        &[],
    );
    let mut s = PtySession::spawn(&mut cmd, 24, 80);
    assert_eq!(s.wait(), 0, "{}", s.output());
    assert!(s.output().contains("same_devpts=true"), "{}", s.output());
    drop(s);
    t.gc_all();
}

#[test]
fn without_interactive_console_is_null_and_stdin_is_not_the_terminal() {
    let t = setup("tty-console");
    let mut cmd = t.command(&["run", "example.com/probe", "--", "tty"], &[]);
    let mut s = PtySession::spawn(&mut cmd, 24, 80);
    assert_eq!(s.wait(), 0, "{}", s.output());
    let out = s.output();
    assert!(out.contains("isatty=false"), "{out}");
    assert!(out.contains("ctty=false"), "{out}");
    // /dev/console is the pod's /dev/null (1:3), though rkt runs on a terminal: the host's
    // terminal never appears in the pod's /dev.
    assert!(out.contains("console_rdev=1:3"), "{out}");
    drop(s);
    t.gc_all();
}

/// security-checklist §5 case 42: an app's TIOCSTI never puts a character into the host's
/// terminal, interactive or not.
#[test]
fn case42_tiocsti_never_reaches_the_host_terminal() {
    let t = setup("tty-tiocsti");
    let _legacy = LegacyTiocsti::enable();
    let probe = e2e::pod::probe_bin();

    // The control: TIOCSTI works on a terminal the test controls, from a process whose
    // controlling terminal it is (so the checks below can fail).
    let (master, slave) = open_pty(24, 80);
    let mut direct = Command::new(&probe);
    // Whole lines: in canonical mode FIONREAD counts only completed lines.
    direct.args(["tiocsti", "0", "z\n"]);
    let child = spawn_on(&mut direct, &slave);
    let out = wait_output(child);
    assert_eq!(out.status.code(), Some(0));
    let queued = rustix::io::ioctl_fionread(&slave).unwrap();
    assert_eq!(
        queued, 2,
        "TIOCSTI does not work here; the test would prove nothing"
    );
    drop((master, slave));

    // Interactive: the app's terminal is the pod's pty. The injected line goes to the app's
    // own input (it reads it back), and nothing waits in the host's terminal afterwards.
    let mut cmd = interactive(
        &t,
        &[
            "tiocsti", "0", "x\n", "+", "readline", "+", "tiocsti", "2", "y", "+", "tty",
        ],
    );
    let mut s = PtySession::spawn(&mut cmd, 24, 80);
    assert_eq!(s.wait(), 0, "{}", s.output());
    let out = s.output();
    assert!(out.contains("tiocsti=ok"), "{out}");
    assert!(
        out.contains("got=x"),
        "the app reads its own injection: {out}"
    );
    assert!(out.contains("same_devpts=true"), "{out}");
    assert_eq!(
        s.pending_input(),
        0,
        "characters reached the host's terminal"
    );
    drop(s);

    // Not interactive: the app's stdout is a pty of the pod's devpts (rkt's is a terminal),
    // which is not the controlling terminal of the app's session: TIOCSTI on it is refused
    // (EPERM, no CAP_SYS_ADMIN), and nothing reaches the host's terminal either way.
    let mut cmd = t.command(
        &[
            "run",
            "example.com/probe",
            "--",
            "tiocsti",
            "1",
            "echo pwned\n",
        ],
        &[],
    );
    let mut s = PtySession::spawn(&mut cmd, 24, 80);
    assert_eq!(s.wait(), 0, "{}", s.output());
    let out = s.output();
    assert!(out.contains("tiocsti=errno 1"), "{out}");
    assert_eq!(
        s.pending_input(),
        0,
        "characters reached the host's terminal"
    );
    drop(s);
    t.gc_all();
}

#[test]
fn run_prepared_interactive_gives_the_prepared_app_the_terminal() {
    let t = setup("tty-prepared");
    let prepared = t.rkt(&[
        "prepare",
        "--quiet",
        "example.com/probe",
        "--",
        "tty",
        "+",
        "readline",
        "+",
        "exit",
        "4",
    ]);
    e2e::store::assert_ok(&prepared);
    let uuid = e2e::store::stdout(&prepared).trim().to_string();
    let mut cmd = t.command(&["run-prepared", "--interactive", &uuid], &[]);
    let mut s = PtySession::spawn(&mut cmd, 24, 80);
    s.wait_for("winsize=24x80");
    s.type_bytes(b"prepared pod\r");
    let code = s.wait();
    let out = s.output();
    assert_eq!(code, 4, "the app's exit code; terminal:\n{out}");
    assert!(out.contains("same_devpts=true"), "{out}");
    assert!(out.contains("got=prepared pod"), "{out}");
    drop(s);
    t.gc_all();
}
