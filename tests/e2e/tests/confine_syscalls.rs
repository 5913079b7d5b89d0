//! Confinement I (seccomp, capabilities, no_new_privs, keyrings), end to end on the static
//! binary. Each attack is first shown to work with the protection lifted
//! (`--insecure-options=seccomp`: what every pod got before the filter existed), then shown to
//! fail with the defaults. The probe makes each syscall itself (tests/probe/src/attack.rs).

use std::process::Command;

use e2e::pod::{fixture_bin, host_programs_tar, probe_manifest, probe_tar, LINUX_AMD64};
use e2e::store::{assert_fails, assert_ok, stderr, stdout, StoreDir};
use e2e::{aci, require_root};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

/// Runs the probe and returns its stdout, asserting rkt's exit code.
fn probe(t: &StoreDir, flags: &[&str], args: &[&str], code: i32) -> String {
    let out = t.run_probe(flags, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "flags {flags:?} args {args:?}\nstdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

const NO_SECCOMP: &str = "--insecure-options=seccomp";

/// The syscalls Docker's profile refuses that a root app of a default pod could make before:
/// (name, what the kernel itself answers without a filter, what the default filter answers).
const ATTACKS: &[(&str, &str, &str)] = &[
    ("clone3-newuser", "ok", "errno 38"),
    ("keyctl", "ok", "errno 1"),
    ("add_key", "ok", "errno 1"),
    // ENOKEY: the call reached the key subsystem.
    ("request_key", "errno 126", "errno 1"),
    ("userfaultfd", "ok", "errno 1"),
    ("perf_event_open", "ok", "errno 1"),
    ("io_uring_setup", "ok", "errno 1"),
    // EINVAL for an unknown command: the call reached bpf(2).
    ("bpf", "errno 22", "errno 1"),
    ("personality", "ok", "errno 1"),
    // Last: once in a user namespace of its own, the probe's uid is unmapped.
    ("unshare-user", "ok", "errno 1"),
];

#[test]
fn docker_refusals_hold_and_each_attack_works_without_the_filter() {
    let t = setup("sc-attacks");
    let names: Vec<&str> = ATTACKS.iter().map(|a| a.0).collect();
    let mut args = vec!["sys"];
    args.extend(&names);
    let open = probe(&t, &[NO_SECCOMP], &args, 0);
    let closed = probe(&t, &[], &args, 0);
    for (name, without, with) in ATTACKS {
        assert!(
            open.contains(&format!("sys {name}={without}\n")),
            "{name} without the filter:\n{open}"
        );
        assert!(
            closed.contains(&format!("sys {name}={with}\n")),
            "{name} with the filter:\n{closed}"
        );
    }
    // clone with namespace flags in a process of its own (the mapping rule above).
    assert!(probe(&t, &[NO_SECCOMP], &["sys", "clone-newuser"], 0).contains("=ok\n"));
    assert!(probe(&t, &[], &["sys", "clone-newuser"], 0).contains("=errno 1\n"));
    // Allowed by moby on x86_64, and so here too.
    assert!(probe(&t, &[], &["sys", "modify_ldt"], 0).contains("=ok\n"));
    t.gc_all();
}

#[test]
fn user_namespace_escape_chain_is_refused_at_its_first_step() {
    let t = setup("sc-userns");
    let open = probe(&t, &[NO_SECCOMP], &["userns"], 0);
    for step in [
        "unshare",
        "map-root",
        "mount",
        "pivot_root",
        "unshare-net",
        "nftables",
    ] {
        assert!(
            open.contains(&format!("userns {step}=ok\n")),
            "{step}:\n{open}"
        );
    }
    let closed = probe(&t, &[], &["userns"], 0);
    assert_eq!(closed, "userns unshare=errno 1\n");
    t.gc_all();
}

/// A key in the test process's session keyring (which rkt and, before, every pod inherited)
/// or in root's user keyring; invalidated on drop.
struct HostKey(i64);

const KEY_SPEC_SESSION_KEYRING: i64 = -3;
const KEY_SPEC_USER_KEYRING: i64 = -4;

impl HostKey {
    fn add(ring: i64, desc: &str, payload: &str) -> HostKey {
        let desc = std::ffi::CString::new(desc).unwrap();
        // SAFETY: add_key reads the two NUL-terminated strings and `payload.len()` bytes.
        let id = unsafe {
            libc::syscall(
                libc::SYS_add_key,
                c"user".as_ptr(),
                desc.as_ptr(),
                payload.as_ptr(),
                payload.len(),
                ring,
            )
        };
        assert!(id > 0, "add_key: {}", std::io::Error::last_os_error());
        HostKey(id)
    }

    /// A `user` key named `desc` in `ring`, if there is one.
    fn find(ring: i64, desc: &str) -> Option<HostKey> {
        let desc = std::ffi::CString::new(desc).unwrap();
        // SAFETY: KEYCTL_SEARCH (10) reads the two NUL-terminated strings.
        let id = unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                10,
                ring,
                c"user".as_ptr(),
                desc.as_ptr(),
                0,
            )
        };
        (id > 0).then_some(HostKey(id))
    }
}

impl HostKey {
    fn set_perm(&self, perm: u32) {
        // SAFETY: KEYCTL_SETPERM (5) takes a serial and a mask.
        let rc = unsafe { libc::syscall(libc::SYS_keyctl, 5, self.0, perm) };
        assert_eq!(rc, 0, "keyctl setperm: {}", std::io::Error::last_os_error());
    }

    /// Gives this test's thread (keyrings are per-thread credentials; rkt, its child,
    /// inherits them) a session keyring of its own that links root's user keyring: the test
    /// then possesses the keys it puts in `@u`, and can read, change and remove them, without
    /// touching the keyrings of any other test or process.
    fn isolate_this_thread() {
        // SAFETY: KEYCTL_JOIN_SESSION_KEYRING (1) with a NULL name; KEYCTL_LINK (8) takes two
        // serials.
        unsafe {
            let rc = libc::syscall(libc::SYS_keyctl, 1, std::ptr::null::<libc::c_char>());
            assert!(
                rc > 0,
                "join a session keyring: {}",
                std::io::Error::last_os_error()
            );
            let rc = libc::syscall(
                libc::SYS_keyctl,
                8,
                KEY_SPEC_USER_KEYRING,
                KEY_SPEC_SESSION_KEYRING,
            );
            assert_eq!(
                rc,
                0,
                "link @u into @s: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

impl Drop for HostKey {
    fn drop(&mut self) {
        // SAFETY: KEYCTL_INVALIDATE (21) takes a key serial.
        unsafe { libc::syscall(libc::SYS_keyctl, 21, self.0) };
    }
}

fn session_serial() -> i64 {
    // SAFETY: KEYCTL_GET_KEYRING_ID (0) with create=1 reads nothing.
    unsafe { libc::syscall(libc::SYS_keyctl, 0, KEY_SPEC_SESSION_KEYRING, 1) }
}

#[test]
fn host_keyrings_are_out_of_reach() {
    let t = setup("sc-keys");
    HostKey::isolate_this_thread();
    let tag = format!("rkt-e2e-{}", std::process::id());
    let (s_desc, u_desc, pod_desc) = (format!("{tag}-s"), format!("{tag}-u"), format!("{tag}-pod"));
    let _s = HostKey::add(KEY_SPEC_SESSION_KEYRING, &s_desc, "host-session-secret");
    // Made in the session keyring (so this process possesses it and may change it), readable
    // by its user, uid 0, not only by possessors, then linked into root's user keyring: what
    // a fresh session keyring (which does not possess @u) does not stop.
    let u = HostKey::add(KEY_SPEC_USER_KEYRING, &u_desc, "host-user-secret");
    u.set_perm(0x3f3f_0000);
    let host_session = session_serial();

    // Without the filter: a fresh session keyring all the same, so the host's session key is
    // out of reach; root's user keyring (uid 0's, the same object) is what the filter closes.
    let args = [
        "key-session",
        "+",
        "key-find",
        &s_desc,
        "+",
        "key-find",
        &u_desc,
        "+",
        "key-add",
        "@u",
        &pod_desc,
        "from-the-pod",
    ];
    let open = probe(&t, &[NO_SECCOMP], &args, 0);
    let pod_session: i64 = open
        .lines()
        .find_map(|l| l.strip_prefix("key-session="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{open}"));
    assert_ne!(
        pod_session, host_session,
        "the pod shares the host's session keyring"
    );
    assert!(
        open.contains(&format!("key @s {s_desc}=errno 126\n")),
        "{open}"
    );
    assert!(
        open.contains(&format!("key @u {u_desc}=host-user-secret\n")),
        "{open}"
    );
    let planted = HostKey::find(KEY_SPEC_USER_KEYRING, &pod_desc);
    assert!(
        planted.is_some(),
        "the pod's key in @u reached the host: {open}"
    );
    drop(planted);

    // The default filter refuses the key syscalls: neither keyring, no key added.
    let closed = probe(&t, &[], &args, 0);
    assert!(closed.contains("key-session=errno 1\n"), "{closed}");
    assert!(
        closed.contains(&format!("key @s {s_desc}=errno 1\n")),
        "{closed}"
    );
    assert!(
        closed.contains(&format!("key @u {u_desc}=errno 1\n")),
        "{closed}"
    );
    assert!(
        closed.contains(&format!("sys key-add {pod_desc}=errno 1\n")),
        "{closed}"
    );
    assert!(HostKey::find(KEY_SPEC_USER_KEYRING, &pod_desc).is_none());
    t.gc_all();
}

/// The `/proc/self/status` fields the probe's `caps` prints, as `key=value` lines.
fn status_of(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| {
            [
                "capinh=",
                "capprm=",
                "capeff=",
                "capbnd=",
                "capamb=",
                "nonewprivs=",
                "seccomp=",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .map(str::to_string)
        .collect()
}

fn expect(caps: &str, eff: &str, nnp: u8, seccomp: u8) -> Vec<String> {
    vec![
        "capinh=0000000000000000".into(),
        format!("capprm={eff}"),
        format!("capeff={eff}"),
        format!("capbnd={caps}"),
        "capamb=0000000000000000".into(),
        format!("nonewprivs={nnp}"),
        format!("seccomp={seccomp}"),
    ]
}

const DEFAULT_CAPS: &str = "00000000a80425fb";

/// This host's bounding set: all that `--insecure-options=capabilities` (or fly) can keep.
fn host_caps() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim()
        .to_string()
}
const NONE: &str = "0000000000000000";

#[test]
fn every_default_and_override_as_the_app_sees_it() {
    let t = setup("sc-status");
    let cases: &[(&[&str], Vec<String>)] = &[
        (&[], expect(DEFAULT_CAPS, DEFAULT_CAPS, 0, 2)),
        (
            &["--user=1000", "--group=1000"],
            expect(DEFAULT_CAPS, NONE, 1, 2),
        ),
        (
            &["--caps-retain=CAP_SYS_ADMIN,CAP_NET_ADMIN"],
            expect("0000000000201000", "0000000000201000", 0, 2),
        ),
        (
            &["--caps-remove=CAP_MKNOD,CAP_NET_RAW"],
            expect("00000000a00405fb", "00000000a00405fb", 0, 2),
        ),
        (
            &["--insecure-options=capabilities"],
            expect(&host_caps(), &host_caps(), 0, 2),
        ),
        (&[NO_SECCOMP], expect(DEFAULT_CAPS, DEFAULT_CAPS, 0, 0)),
        (
            &[NO_SECCOMP, "--user=1000"],
            expect(DEFAULT_CAPS, NONE, 0, 0),
        ),
    ];
    for (flags, want) in cases {
        let got = status_of(&probe(&t, flags, &["caps"], 0));
        assert_eq!(&got, want, "flags {flags:?}");
    }
    // A retained CAP_SYS_ADMIN opens what moby opens for it.
    let admin = probe(
        &t,
        &["--caps-retain=CAP_SYS_ADMIN"],
        &["sys", "unshare-user"],
        0,
    );
    assert!(admin.contains("sys unshare-user=ok\n"), "{admin}");
    t.gc_all();
}

#[test]
fn image_isolators_apply_and_the_command_line_replaces_them() {
    let t = setup("sc-isolators");
    let extra = r#","isolators":[
        {"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_CHOWN","CAP_KILL"]}},
        {"name":"os/linux/no-new-privileges","value":true},
        {"name":"os/linux/seccomp-remove-set","value":{"set":["personality"],"errno":"EXFULL"}}]"#;
    let aci = t.join("iso.aci");
    aci::write(
        &aci,
        &probe_tar(
            &probe_manifest("example.com/iso", LINUX_AMD64, extra),
            |t| t,
        ),
    );
    t.fetch(&aci);
    let run = |flags: &[&str], args: &[&str]| {
        let mut v = vec!["run"];
        v.extend(flags);
        v.extend(["example.com/iso", "--"]);
        v.extend(args);
        let out = t.rkt(&v);
        assert_ok(&out);
        stdout(&out)
    };
    let own = run(&[], &["caps", "+", "sys", "personality", "keyctl"]);
    assert_eq!(
        status_of(&own),
        expect("0000000000000021", "0000000000000021", 1, 2)
    );
    assert!(own.contains("sys personality=errno 54\n"), "{own}");
    // A remove set blocks only what it names.
    assert!(own.contains("sys keyctl=ok\n"), "{own}");
    // After the image, as rkt's per-app flags; the pod manifest records the override.
    let uuid_file = t.join("uuid");
    let save = format!("--uuid-file-save={}", uuid_file.display());
    let out = t.rkt(&[
        "run",
        &save,
        "example.com/iso",
        "--caps-remove=CAP_MKNOD",
        "--seccomp=mode=remove,errno=ENOTSUP,keyctl",
        "--",
        "caps",
        "+",
        "sys",
        "personality",
        "keyctl",
    ]);
    assert_ok(&out);
    let over = stdout(&out);
    assert!(
        status_of(&over).contains(&"capbnd=00000000a00425fb".to_string()),
        "{over}"
    );
    assert!(
        over.contains("sys personality=ok\n") && over.contains("sys keyctl=errno 95\n"),
        "{over}"
    );
    let manifest = stdout(&t.rkt(&["cat-manifest", &e2e::pod::read_uuid(&uuid_file)]));
    assert!(
        manifest.contains("os/linux/capabilities-remove-set"),
        "{manifest}"
    );
    assert!(
        !manifest.contains("os/linux/capabilities-retain-set"),
        "{manifest}"
    );
    assert!(
        manifest.contains("os/linux/seccomp-remove-set") && manifest.contains("ENOTSUP"),
        "{manifest}"
    );
    t.gc_all();
}

#[test]
fn a_set_without_errno_kills_with_sigsys_and_status_records_159() {
    let t = setup("sc-sigsys");
    let uuid_file = t.join("uuid");
    let save = format!("--uuid-file-save={}", uuid_file.display());
    let out = t.rkt(&[
        "run",
        &save,
        "example.com/probe",
        "--seccomp=mode=remove,personality",
        "--",
        "sys",
        "personality",
    ]);
    assert_eq!(out.status.code(), Some(159), "{}", stderr(&out));
    let status = stdout(&t.rkt(&["status", &e2e::pod::read_uuid(&uuid_file)]));
    assert!(status.contains("app-probe=159"), "{status}");
    // The same set with an errno answers it instead.
    let with = probe(&t, &[], &["sys", "personality"], 0);
    assert!(with.contains("=errno 1\n"));
    let out = t.rkt(&[
        "run",
        "example.com/probe",
        "--seccomp=errno=EXFULL,personality,mode=remove",
        "--",
        "sys",
        "personality",
    ]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("sys personality=errno 54\n"),
        "{}",
        stdout(&out)
    );
    // A retain set: only what it names (and what starting and exiting need).
    let out = t.rkt(&[
        "run",
        "example.com/probe",
        "--seccomp=mode=retain,@rkt/default-whitelist",
        "--",
        "sys",
        "keyctl",
    ]);
    assert_eq!(out.status.code(), Some(159), "{}", stdout(&out));
    t.gc_all();
}

#[test]
fn todays_programs_run_under_the_default_filter() {
    let t = setup("sc-modern");
    let manifest = |name: &str, exec: &str| {
        format!(
            r#"{{"acKind":"ImageManifest","acVersion":"0.8.11","name":"{name}","labels":[{{"name":"os","value":"linux"}},{{"name":"arch","value":"amd64"}}],"app":{{"exec":["{exec}"],"user":"0","group":"0"}}}}"#
        )
    };
    let modern = fixture_bin("modern");
    let glibc = t.join("glibc.aci");
    aci::write(
        &glibc,
        &host_programs_tar(
            &manifest("example.com/glibc", "/bin/modern"),
            &[
                (modern.as_path(), "/bin/modern"),
                (std::path::Path::new("/bin/ls"), "/bin/ls"),
                (std::path::Path::new("/bin/sh"), "/bin/sh"),
            ],
        ),
    );
    t.fetch(&glibc);
    for user in ["--user=0", "--user=1000"] {
        let out = t.rkt(&["run", "example.com/glibc", user]);
        assert_ok(&out);
        assert_eq!(
            stdout(&out),
            "pthread=ok\nstatx=ok\nfaccessat2=ok\nposix_spawn=ok\n",
            "{user}: {}",
            stderr(&out)
        );
    }
    let out = t.rkt(&[
        "run",
        "example.com/glibc",
        "--exec=/bin/sh",
        "--",
        "-c",
        "ls -l / >/dev/null && ls /bin && echo done",
    ]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "ls\nmodern\nsh\ndone\n", "{}", stderr(&out));

    let go = fixture_bin("goserver");
    let goimg = t.join("go.aci");
    aci::write(
        &goimg,
        &aci::base(&manifest("example.com/go", "/goserver"))
            .dir("rootfs/tmp", 0o1777)
            .file("rootfs/goserver", 0o755, &std::fs::read(&go).unwrap())
            .finish(),
    );
    t.fetch(&goimg);
    let out = t.rkt(&["run", "--net=none", "example.com/go"]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "go=hello from go\n", "{}", stderr(&out));
    // The static musl probe: every test above.
    t.gc_all();
}

#[test]
fn enter_gets_the_apps_confinement() {
    let t = setup("sc-enter");
    for (flags, want) in [
        (&[][..], expect(DEFAULT_CAPS, DEFAULT_CAPS, 0, 2)),
        (&["--user=1000"][..], expect(DEFAULT_CAPS, NONE, 1, 2)),
        (
            &["--caps-retain=CAP_CHOWN"][..],
            expect("0000000000000001", "0000000000000001", 0, 2),
        ),
    ] {
        let uuid_file = t.join("uuid");
        let _ = std::fs::remove_file(&uuid_file);
        let mut args = vec![
            "run".to_string(),
            format!("--uuid-file-save={}", uuid_file.display()),
        ];
        args.extend(flags.iter().map(|s| s.to_string()));
        args.extend(["example.com/probe", "--", "caps", "+", "sleep", "3600"].map(String::from));
        let pod = t
            .command(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Killed if an assertion fails (the store's drop stops its pod).
        struct Guard(Option<std::process::Child>);
        impl Drop for Guard {
            fn drop(&mut self) {
                if let Some(mut c) = self.0.take() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
        }
        let mut pod = Guard(Some(pod));
        e2e::wait_until("the pod's uuid file", || {
            uuid_file.is_file() && !e2e::pod::read_uuid(&uuid_file).is_empty()
        });
        let uuid = e2e::pod::read_uuid(&uuid_file);
        assert_ok(&t.rkt(&["status", "--wait-ready=120s", &uuid]));
        let out = t.rkt(&["enter", &uuid, "/bin/probe", "caps", "+", "sys", "keyctl"]);
        assert_ok(&out);
        let entered = stdout(&out);
        assert_eq!(status_of(&entered), want, "flags {flags:?}");
        assert!(entered.contains("sys keyctl=errno 1\n"), "{entered}");
        assert_ok(&t.rkt(&["stop", &uuid]));
        let app = pod.0.take().unwrap().wait_with_output().unwrap();
        assert_eq!(
            status_of(&stdout(&app)),
            want,
            "the app itself, flags {flags:?}"
        );
    }
    t.gc_all();
}

#[test]
fn fly_applies_none_of_it() {
    let t = setup("sc-fly");
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "shared", "--"])
        .arg(e2e::rkt_bin())
        .arg(format!("--dir={}", t.store().display()))
        .args([
            "run",
            "--stage1-from-dir=stage1-fly.aci",
            "example.com/probe",
        ])
        .args(["--exec=/bin/probe", "--", "caps", "+", "sys", "keyctl"])
        .output()
        .unwrap();
    assert_ok(&out);
    let s = stdout(&out);
    assert!(
        s.contains("seccomp=0\n") && s.contains("sys keyctl=ok\n"),
        "{s}"
    );
    assert!(s.contains(&format!("capbnd={}\n", host_caps())), "{s}");
    t.gc_all();
}

#[test]
fn bad_confinement_flags_are_one_clear_error() {
    let t = setup("sc-errors");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--seccomp=mode=bogus,read"],
            "invalid seccomp mode command-line override",
        ),
        (
            &["--seccomp=read,write"],
            "invalid seccomp mode command-line override",
        ),
        (&["--seccomp=mode=retain"], "set must be non-empty"),
        (
            &["--seccomp=mode=retain,flag=x,read"],
            "invalid seccomp command-line override",
        ),
        (
            &["--caps-retain=CAP_CHOWN", "--caps-remove=CAP_KILL"],
            "cannot use both --caps-retain and --caps-remove on the same image",
        ),
        (
            &["--caps-retain=CAP_NOPE"],
            "unknown capability \"CAP_NOPE\"",
        ),
        (
            &["--seccomp=mode=remove,no_such_call"],
            "unknown syscall \"no_such_call\"",
        ),
        (
            &["--seccomp=mode=remove,errno=EBOGUS,read"],
            "unknown errno \"EBOGUS\"",
        ),
        (
            &["--seccomp=mode=remove,@systemd/clock"],
            "unknown seccomp wildcard",
        ),
    ];
    for (flags, needle) in cases {
        let mut args = vec!["run", "example.com/probe"];
        args.extend(*flags);
        let out = t.rkt(&args);
        assert_fails(&out, needle);
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }
    assert_eq!(t.pods_in("run"), Vec::<String>::new());
    t.gc_all_with(&["--expire-prepared=0s"]);
}
