//! `ops()` is asserted as an exact list: order and flags are the contract.

use super::MountOp::*;
use super::*;
use stage1_init::plan::{default_caps, App, EtcFile, Net};

fn plan() -> Plan {
    let app = |name: &str, mode: RootfsMode, ro: bool| App {
        name: name.into(),
        lower: format!("/cas/{name}").into(),
        mode,
        argv: vec!["/bin/probe".into()],
        env: vec![],
        uid: 0,
        gid: 0,
        supplementary_gids: vec![],
        cwd: "/".into(),
        caps: default_caps(),
        readonly_rootfs: ro,
        protect_kernel: true,
        no_new_privs: false,
        seccomp: vec![],
        cgroup_procs: vec![],
        cgroup_dir: None,
        oom_score_adj: None,
        interactive: false,
        pre_start: vec![],
        post_stop: vec![],
        mounts: vec![],
    };
    Plan {
        uuid: "00000000-0000-4000-8000-000000000000".into(),
        hostname: "rkt-x".into(),
        pod_dir: "/pod".into(),
        net: Net::None,
        hosts: EtcFile::Keep,
        resolv: EtcFile::Keep,
        cgroup_mounts: vec![],
        stage1_cgroup_procs: vec![],
        output: Default::default(),
        devices_by_cgroup: true,
        apps: vec![
            app(
                "a",
                RootfsMode::Overlay {
                    upper: "/pod/up/a".into(),
                    work: "/pod/work/a".into(),
                },
                false,
            ),
            app("b", RootfsMode::Copy, true),
        ],
    }
}

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

#[test]
fn ops_are_exact() {
    let ns = MountFlags::NOSUID | MountFlags::NOEXEC;
    let mut want = vec![
        Dir {
            path: p("/pod/stage1/rootfs"),
            mode: 0o755,
        },
        Bind {
            src: p("/pod/stage1/rootfs"),
            dst: p("/pod/stage1/rootfs"),
            rec: false,
        },
    ];
    for d in ["proc", "sys", "dev", "rkt/status", "rkt/env", "etc"] {
        want.push(Dir {
            path: p(&format!("/pod/stage1/rootfs/{d}")),
            mode: 0o755,
        });
    }
    want.push(File {
        path: p("/pod/stage1/rootfs/rkt/inaccessible"),
        mode: 0,
    });
    want.extend([
        Fs {
            fstype: "proc",
            dst: p("/pod/stage1/rootfs/proc"),
            flags: ns | MountFlags::NODEV,
            data: "",
        },
        Fs {
            fstype: "sysfs",
            dst: p("/pod/stage1/rootfs/sys"),
            flags: ns | MountFlags::NODEV | MountFlags::RDONLY,
            data: "",
        },
        Fs {
            fstype: "tmpfs",
            dst: p("/pod/stage1/rootfs/dev"),
            flags: ns | MountFlags::STRICTATIME,
            data: "mode=755,size=65536k",
        },
        CharDev {
            path: p("/pod/stage1/rootfs/dev/null"),
            major: 1,
            minor: 3,
        },
        CharDev {
            path: p("/pod/stage1/rootfs/dev/zero"),
            major: 1,
            minor: 5,
        },
        CharDev {
            path: p("/pod/stage1/rootfs/dev/full"),
            major: 1,
            minor: 7,
        },
        CharDev {
            path: p("/pod/stage1/rootfs/dev/random"),
            major: 1,
            minor: 8,
        },
        CharDev {
            path: p("/pod/stage1/rootfs/dev/urandom"),
            major: 1,
            minor: 9,
        },
        CharDev {
            path: p("/pod/stage1/rootfs/dev/tty"),
            major: 5,
            minor: 0,
        },
        File {
            path: p("/pod/stage1/rootfs/dev/console"),
            mode: 0o600,
        },
        Dir {
            path: p("/pod/stage1/rootfs/dev/pts"),
            mode: 0o755,
        },
        Fs {
            fstype: "devpts",
            dst: p("/pod/stage1/rootfs/dev/pts"),
            flags: ns,
            data: "newinstance,ptmxmode=0666,mode=0620,gid=5",
        },
        Symlink {
            target: "pts/ptmx",
            link: p("/pod/stage1/rootfs/dev/ptmx"),
        },
        Dir {
            path: p("/pod/stage1/rootfs/dev/shm"),
            mode: 0o755,
        },
        Fs {
            fstype: "tmpfs",
            dst: p("/pod/stage1/rootfs/dev/shm"),
            flags: ns | MountFlags::NODEV,
            data: "mode=1777,size=65536k",
        },
        Symlink {
            target: "/proc/self/fd",
            link: p("/pod/stage1/rootfs/dev/fd"),
        },
        Symlink {
            target: "/proc/self/fd/0",
            link: p("/pod/stage1/rootfs/dev/stdin"),
        },
        Symlink {
            target: "/proc/self/fd/1",
            link: p("/pod/stage1/rootfs/dev/stdout"),
        },
        Symlink {
            target: "/proc/self/fd/2",
            link: p("/pod/stage1/rootfs/dev/stderr"),
        },
        Dir {
            path: p("/pod/stage1/rootfs/opt/stage2/a/rootfs"),
            mode: 0o755,
        },
        Overlay {
            lower: p("/cas/a"),
            upper: p("/pod/up/a"),
            work: p("/pod/work/a"),
            dst: p("/pod/stage1/rootfs/opt/stage2/a/rootfs"),
        },
        Dir {
            path: p("/pod/stage1/rootfs/opt/stage2/b/rootfs"),
            mode: 0o755,
        },
        Copy {
            src: p("/cas/b"),
            dst: p("/pod/stage1/rootfs/opt/stage2/b/rootfs"),
        },
    ]);
    let got = ops(&plan());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "op {i}");
    }
    assert_eq!(got.len(), want.len());
}

#[test]
fn console_is_the_pods_pty_or_its_null() {
    assert_eq!(
        console_op(&plan(), None),
        Bind {
            src: p("/pod/stage1/rootfs/dev/null"),
            dst: p("/pod/stage1/rootfs/dev/console"),
            rec: false,
        }
    );
    assert_eq!(
        console_op(&plan(), Some(Path::new("/pod/stage1/rootfs/dev/pts/0"))),
        Bind {
            src: p("/pod/stage1/rootfs/dev/pts/0"),
            dst: p("/pod/stage1/rootfs/dev/console"),
            rec: false,
        }
    );
}

#[test]
fn final_ops_make_readonly_apps_readonly() {
    assert_eq!(
        final_ops(&plan()),
        vec![Remount {
            dst: p("/pod/stage1/rootfs/opt/stage2/b/rootfs"),
            flags: MountFlags::RDONLY | MountFlags::NODEV,
        }]
    );
}
