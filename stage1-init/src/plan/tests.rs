//! Round-trip, strictness and never-panic tests for the plan encoding.

use super::*;

pub(crate) fn sample() -> Plan {
    Plan {
        uuid: "6f1f0d3c-1a2b-4c5d-8e9f-0123456789ab".into(),
        hostname: "rkt-6f1f0d3c-1a2b-4c5d-8e9f-0123456789ab".into(),
        pod_dir: "/var/lib/rkt/pods/run/6f1f0d3c-1a2b-4c5d-8e9f-0123456789ab".into(),
        net: Net::None,
        hosts: EtcFile::Default("127.0.0.1 localhost\n::1 localhost\n".into()),
        resolv: EtcFile::Bind("/etc/resolv.conf".into()),
        cgroup_mounts: vec![],
        stage1_cgroup_procs: vec![],
        output: Default::default(),
        devices_by_cgroup: true,
        apps: vec![
            App {
                name: "redis".into(),
                lower: "/var/lib/rkt/cas/tree/deps-sha512-aa/rootfs".into(),
                mode: RootfsMode::Overlay {
                    upper: "/var/lib/rkt/pods/run/u/overlay/t/upper/redis".into(),
                    work: "/var/lib/rkt/pods/run/u/overlay/t/work/redis".into(),
                },
                argv: vec!["/bin/redis".into(), "multi\nline arg".into(), "".into()],
                env: vec![
                    ("PATH".into(), "/usr/bin:/bin".into()),
                    ("EMPTY".into(), "".into()),
                    ("EQ".into(), "a=b".into()),
                ],
                uid: 1000,
                gid: 1000,
                supplementary_gids: vec![5, 4294967295],
                cwd: "/data".into(),
                caps: default_caps(),
                readonly_rootfs: false,
                protect_kernel: true,
                no_new_privs: false,
                // Binary: newlines and NULs inside, two programs in order.
                seccomp: vec![b"\n\0\0\x01rkt\n".to_vec(), vec![0; 16]],
                cgroup_procs: vec![],
                cgroup_dir: None,
                oom_score_adj: None,
                interactive: false,
                pre_start: vec!["/bin/prep".into(), "--now".into()],
                post_stop: vec!["/bin/clean".into()],
                mounts: vec![
                    Mount {
                        source: "/srv/data".into(),
                        target: "/var/lib/redis".into(),
                        readonly: false,
                        recursive: true,
                        fill: false,
                    },
                    Mount {
                        source: "/etc/app.conf".into(),
                        target: "/etc/app.conf".into(),
                        readonly: true,
                        recursive: false,
                        fill: false,
                    },
                ],
            },
            App {
                name: "side-car2".into(),
                lower: "/t/rootfs".into(),
                mode: RootfsMode::Copy,
                argv: vec!["/probe".into()],
                env: vec![],
                uid: 0,
                gid: 0,
                supplementary_gids: vec![],
                cwd: "/".into(),
                caps: vec![],
                readonly_rootfs: true,
                protect_kernel: false,
                no_new_privs: true,
                seccomp: vec![],
                cgroup_procs: vec![],
                cgroup_dir: None,
                oom_score_adj: None,
                interactive: true,
                pre_start: vec![],
                post_stop: vec![],
                mounts: vec![],
            },
        ],
    }
}

#[test]
fn round_trip() {
    let plan = sample();
    let bytes = plan.encode().unwrap();
    assert!(bytes.starts_with(b"rkt-stage1-plan 2\nuuid 36\n6f1f0d3c-"));
    assert_eq!(Plan::decode(&bytes).unwrap(), plan);
    let mut filled = sample();
    filled.apps[0].mounts[0].fill = true;
    let bytes = filled.encode().unwrap();
    assert!(bytes.windows(14).any(|w| w == b"rw,rbind,fill\0"));
    assert_eq!(Plan::decode(&bytes).unwrap(), filled);
}

#[test]
fn seccomp_programs_round_trip_in_order_and_must_be_whole_instructions() {
    let plan = sample();
    let back = Plan::decode(&plan.encode().unwrap()).unwrap();
    assert_eq!(back.apps[0].seccomp, plan.apps[0].seccomp);
    assert!(back.apps[1].seccomp.is_empty());
    for bad in [vec![0u8; 7], vec![], vec![0u8; 8 * 4097]] {
        let mut p = sample();
        p.apps[0].seccomp = vec![bad];
        let e = p.encode().unwrap_err();
        assert!(e.msg.contains("seccomp program"), "{e}");
    }
}

#[test]
fn interactive_bit_round_trips_and_is_required() {
    let text = String::from_utf8(sample().encode().unwrap()).unwrap();
    assert!(text.contains("\ninteractive 5\nfalse\n"));
    assert!(text.contains("no-new-privs 4\ntrue\ninteractive 4\ntrue\n"));
    let back = Plan::decode(text.as_bytes()).unwrap();
    assert!(!back.apps[0].interactive && back.apps[1].interactive);
    rejects(
        &replace("interactive 5\nfalse\n", ""),
        "app \"redis\": missing interactive",
    );
    rejects(
        &replace("interactive 5\nfalse\n", "interactive 3\nyes\n"),
        "interactive: expected true or false",
    );
    rejects(
        &replace("interactive 5\nfalse\n", "interactive 4\ntrue\n"),
        "more than one interactive app",
    );
}

#[test]
fn etc_variants_round_trip() {
    for etc in [
        EtcFile::Keep,
        EtcFile::Bind("/etc/hosts".into()),
        EtcFile::Default("x".into()),
        EtcFile::Write("".into()),
    ] {
        let mut plan = sample();
        plan.hosts = etc.clone();
        plan.net = Net::Host;
        let back = Plan::decode(&plan.encode().unwrap()).unwrap();
        assert_eq!(back.hosts, etc);
        assert_eq!(back.net, Net::Host);
    }
}

#[test]
fn default_caps_are_the_fourteen() {
    let caps = default_caps();
    assert_eq!(caps.len(), 14);
    assert_eq!(cap_from_name("CAP_CHOWN"), Some(0));
    assert_eq!(cap_from_name("CAP_SYS_ADMIN"), Some(21));
    assert_eq!(cap_from_name("CAP_NOPE"), None);
    assert!(!caps.contains(&21));
}

#[test]
fn paths_follow_rkt_layout() {
    let pod = Path::new("/p");
    assert_eq!(stage1_rootfs(pod), Path::new("/p/stage1/rootfs"));
    assert_eq!(app_rootfs_rel("a"), Path::new("opt/stage2/a/rootfs"));
    assert_eq!(
        status_file(pod, "a"),
        Path::new("/p/stage1/rootfs/rkt/status/a")
    );
    assert_eq!(env_file(pod, "a"), Path::new("/p/stage1/rootfs/rkt/env/a"));
}

fn rejects(text: &str, needle: &str) {
    let err = Plan::decode(text.as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains(needle),
        "{err} does not mention {needle:?}"
    );
}

fn replace(from: &str, to: &str) -> String {
    let text = String::from_utf8(sample().encode().unwrap()).unwrap();
    assert!(text.contains(from), "{from:?} not in sample");
    text.replacen(from, to, 1)
}

#[test]
fn rejects_malformed_input() {
    rejects("", "does not start");
    rejects("rkt-stage1-plan 3\n", "unsupported version 3");
    rejects("rkt-stage1-plan 01\n", "bad version");
    rejects("rkt-stage1-plan 2\n", "missing uuid");
    rejects(
        &replace("net 4\nnone\n", "net 4\nnone\nnet 4\nhost\n"),
        "net: given twice",
    );
    rejects(
        &replace("net 4\nnone\n", "net 4\nnope\n"),
        "expected host or none",
    );
    rejects(&replace("net 4\nnone\n", "bogus 1\nx\n"), "unknown pod key");
    rejects(&replace("uid 4\n1000\n", "uid 5\n+1000\n"), "not a decimal");
    rejects(&replace("uid 4\n1000\n", "uid 4\n0100\n"), "not a decimal");
    rejects(
        &replace("uid 4\n1000\n", "uid 10\n4294967296\n"),
        "not a decimal",
    );
    rejects(&replace("uid 4\n1000\n", ""), "missing uid");
    rejects(
        &replace("cap 9\nCAP_CHOWN\n", "cap 9\nCAP_NOPE!\n"),
        "unknown capability",
    );
    rejects(
        &replace("argv 10\n/bin/redis\n", "argv 9\nbin/redis\n"),
        "not an absolute",
    );
    rejects(
        &replace("cwd 5\n/data\n", "cwd 4\ndata\n"),
        "cwd \"data\" is not absolute",
    );
    rejects(
        &replace("app 9\nside-car2\n", "app 5\nredis\n"),
        "duplicate app name",
    );
    rejects(
        &replace("app 9\nside-car2\n", "app 9\nside/car2\n"),
        "not a valid appc name",
    );
    rejects(
        &replace("env 18\nPATH=/usr/bin:/bin", "env 18\nPATH\0/usr/bin:/bin"),
        "NAME=VALUE",
    );
    rejects(&replace("env 6\nEMPTY=\n", "env 7\nEMPTY=\0\n"), "NUL");
    rejects(
        &replace("rootfs 4\ncopy\n", "rootfs 4\ncopy\nupper 2\n/u\n"),
        "upper/work given",
    );
    rejects(
        &replace("hostname 40\nrkt-", "hostname 40\nrk t"),
        "not a valid host name",
    );
    rejects(
        &replace("hostname 40\nrkt-", "hostname 40\nrkt\n"),
        "not a valid host name",
    );
    rejects(
        &replace("/overlay/t/work/redis", "/overlay/t/work,redis"),
        "contains ','",
    );
    // Framing errors.
    rejects(
        &replace("uid 4\n1000\n", "uid 4\n10000"),
        "not followed by a newline",
    );
    rejects(
        &replace("uid 4\n1000\n", "uid4\n1000\n"),
        "not `key length`",
    );
    rejects(&replace("uid 4\n1000\n", "UID 4\n1000\n"), "bad key");
    rejects(
        &replace("uid 4\n1000\n", "uid 9999999\n1000\n"),
        "bad value length",
    );
    let mut text = String::from_utf8(sample().encode().unwrap()).unwrap();
    text.push('x');
    rejects(&text, "without newline");
    // A pod key after the first app is misplaced, not silently accepted.
    rejects(
        &replace("readonly 4\ntrue\n", "readonly 4\ntrue\nnet 4\nhost\n"),
        "unknown app key",
    );
}

#[test]
fn rejects_bad_mounts() {
    for target in ["relative", "/", "/./", "/a/../b", "/var/lib/redis"] {
        let mut plan = sample();
        plan.apps[0].mounts[1].target = target.into();
        let err = plan.encode().unwrap_err().to_string();
        assert!(err.contains("mount target"), "{target}: {err}");
    }
    let bad_flags = replace("ro,bind\0/etc/app.conf", "ro,xxxx\0/etc/app.conf");
    rejects(&bad_flags, "flags must be");
    rejects(
        &replace("rw,rbind\0/srv/data\0", "rw,rbind\0/srv/dat\0\0"),
        "expected FLAGS",
    );
}

#[test]
fn encode_refuses_invalid_plans() {
    let mut plan = sample();
    plan.apps[0].argv.clear();
    assert!(plan
        .encode()
        .unwrap_err()
        .to_string()
        .contains("argv is empty"));
    let mut plan = sample();
    plan.apps.clear();
    assert!(plan.encode().is_err());
    let mut plan = sample();
    plan.apps[1].caps = vec![3, 3];
    assert!(plan.encode().is_err());
    let mut plan = sample();
    plan.uuid = "6F1F0D3C-1A2B-4C5D-8E9F-0123456789AB".into();
    assert!(plan.encode().is_err());
    // Host names: what rkt 1.30 took (an underscore) up to the kernel's 64 bytes.
    for (name, ok) in [
        ("custom_hostname_setting", true),
        ("-dash.first", true),
        (&"a".repeat(64), true),
        (&"a".repeat(65), false),
        ("", false),
        ("two words", false),
        ("tab\there", false),
    ] {
        let mut plan = sample();
        plan.hostname = name.to_string();
        assert_eq!(plan.encode().is_ok(), ok, "{name:?}");
    }
}

/// xorshift64*: deterministic, dependency-free randomness for the fuzz loops.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn string(&mut self) -> String {
        const CHARS: &[char] = &['a', 'Z', '0', '\n', ' ', '=', ':', 'é', '/', '\t', '🦀'];
        (0..self.below(12))
            .map(|_| CHARS[self.below(CHARS.len())])
            .collect()
    }
}

#[test]
fn fuzz_arbitrary_bytes_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let len = rng.below(200);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if rng.below(2) == 0 {
            let mut framed = b"rkt-stage1-plan 2\n".to_vec();
            framed.append(&mut bytes);
            bytes = framed;
        }
        let _ = Plan::decode(&bytes);
    }
}

#[test]
fn fuzz_mutated_plans_never_panic() {
    let good = sample().encode().unwrap();
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let mut bytes = good.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len());
            match rng.below(4) {
                0 => bytes[at] = rng.next() as u8,
                1 => bytes.truncate(at),
                2 => bytes.insert(at, b"\n 0123456789"[rng.below(12)]),
                _ => {
                    bytes.remove(at);
                }
            }
            if bytes.is_empty() {
                break;
            }
        }
        if let Ok(plan) = Plan::decode(&bytes) {
            // Whatever survives mutation must still be a valid, re-encodable plan.
            assert_eq!(Plan::decode(&plan.encode().unwrap()).unwrap(), plan);
        }
    }
}

#[test]
fn fuzz_random_plans_round_trip() {
    let mut rng = Rng(7);
    for _ in 0..2_000 {
        let mut plan = sample();
        for app in &mut plan.apps {
            app.argv = vec![format!("/{}", rng.string())];
            for _ in 0..rng.below(4) {
                app.argv.push(rng.string());
            }
            app.env = (0..rng.below(4))
                .map(|i| (format!("K{i}"), rng.string()))
                .collect();
            app.uid = rng.next() as u32;
            app.supplementary_gids = (0..rng.below(3)).map(|_| rng.next() as u32).collect();
            app.cwd = format!("/{}", rng.string());
            app.caps = (0..41u8).filter(|_| rng.below(2) == 0).collect();
        }
        plan.hosts = EtcFile::Write(rng.string());
        let bytes = plan.encode().unwrap();
        assert_eq!(Plan::decode(&bytes).unwrap(), plan);
    }
}
