use super::*;

/// This project's machine: v1 controllers, a cgroup2 with only hugetlb at
/// `/sys/fs/cgroup/unified`, rkt in `/process_api/<id>` in the memory hierarchy only.
const HYBRID_MOUNTINFO: &str = "\
23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
const HYBRID_CGROUP: &str = "\
9:name=systemd:/
8:pids:/
5:devices:/
4:memory:/process_api/742d
3:cpuset:/
1:cpu:/
0::/
";

const V2_MOUNTINFO: &str = "\
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate
";

fn hybrid() -> Layout {
    Layout::parse(HYBRID_MOUNTINFO, HYBRID_CGROUP, |_| {
        Some("hugetlb\n".into())
    })
}

fn v2(own: &str) -> Layout {
    Layout::parse(V2_MOUNTINFO, &format!("0::{own}\n"), |_| {
        Some("cpuset cpu io memory hugetlb pids rdma misc\n".into())
    })
}

fn spec(resources: Resources, devices: bool) -> PodSpec {
    PodSpec {
        uuid: "6f1f0d3c-0000-4000-8000-000000000000".into(),
        pod: Resources {
            pids: Some(DEFAULT_PIDS_LIMIT),
            ..Resources::default()
        },
        apps: vec![AppSpec {
            name: "web".into(),
            resources,
            devices: devices.then(default_rules),
        }],
    }
}

fn writes(p: &PodCgroups) -> Vec<(String, String)> {
    p.ops
        .iter()
        .filter_map(|o| match o {
            Op::Write { file, value } => Some((file.display().to_string(), value.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn hybrid_layout_is_read_from_mountinfo_and_proc_self_cgroup() {
    let l = hybrid();
    assert_eq!(l.hierarchies.len(), 7);
    let mem = l
        .hierarchies
        .iter()
        .find(|h| h.mount == Path::new("/sys/fs/cgroup/memory"))
        .unwrap();
    assert_eq!(mem.own, "/process_api/742d");
    assert_eq!(mem.under_sys_fs_cgroup.as_deref(), Some("memory"));
    let uni = l.hierarchies.last().unwrap();
    assert_eq!(
        uni.version,
        Version::V2 {
            available: vec!["hugetlb".into()]
        }
    );
    assert!(l.has("memory") && l.has("pids") && l.has("devices"));
    // Neither a tmpfs nor a missing /proc/self/cgroup is a hierarchy.
    assert!(Layout::parse(HYBRID_MOUNTINFO, "", |_| None)
        .hierarchies
        .is_empty());
    assert!(Layout::parse("", HYBRID_CGROUP, |_| None)
        .hierarchies
        .is_empty());
}

#[test]
fn pods_go_under_rkts_own_cgroup_or_a_fixed_child_of_the_root() {
    let p = plan(&hybrid(), &spec(Resources::default(), true)).unwrap();
    let uuid = "6f1f0d3c-0000-4000-8000-000000000000";
    // The memory hierarchy: under rkt's own cgroup, never above it.
    assert!(p.owned.contains(&PathBuf::from(format!(
        "/sys/fs/cgroup/memory/process_api/742d/{uuid}/web.app"
    ))));
    // At a hierarchy's root: under `rkt/`, shared by pods and only removed when empty.
    assert!(p.bases.contains(&PathBuf::from("/sys/fs/cgroup/cpu/rkt")));
    assert!(!p
        .bases
        .iter()
        .any(|b| b.starts_with("/sys/fs/cgroup/memory")));
    assert!(p.owned.contains(&PathBuf::from(format!(
        "/sys/fs/cgroup/cpu/rkt/{uuid}/stage1.init"
    ))));
    // Parents before children.
    let dirs: Vec<&PathBuf> = p
        .ops
        .iter()
        .filter_map(|o| match o {
            Op::Mkdir { dir, .. } => Some(dir),
            _ => None,
        })
        .collect();
    for (i, d) in dirs.iter().enumerate() {
        if let Some(parent) = dirs.iter().position(|o| Some(o.as_path()) == d.parent()) {
            assert!(parent < i, "{} before its parent", d.display());
        }
    }
    // v1: joined through `tasks`; v2: created there.
    assert_eq!(p.stage1_procs.len(), 6);
    assert!(p
        .stage1_procs
        .iter()
        .all(|f| f.ends_with("stage1.init/tasks")));
    assert_eq!(p.app_procs[0].len(), 6);
    assert_eq!(
        p.app_v2[0].as_deref(),
        Some(Path::new(&format!(
            "/sys/fs/cgroup/unified/rkt/{uuid}/web.app"
        )))
    );
    assert!(p.stage1_v2.is_some());
    assert_eq!(p.subcgroup, format!("rkt/{uuid}"));
}

#[test]
fn v1_knobs_devices_and_cpuset() {
    let r = Resources {
        memory: Some(64 << 20),
        cpu_millis: Some(900),
        cpu_shares: Some(12345),
        pids: None,
    };
    let p = plan(&hybrid(), &spec(r, true)).unwrap();
    let w = writes(&p);
    let uuid = "6f1f0d3c-0000-4000-8000-000000000000";
    let has = |f: &str, v: &str| w.iter().any(|(a, b)| a == f && b == v);
    assert!(has(
        &format!("/sys/fs/cgroup/memory/process_api/742d/{uuid}/web.app/memory.limit_in_bytes"),
        "67108864"
    ));
    assert!(has(
        &format!("/sys/fs/cgroup/cpu/rkt/{uuid}/web.app/cpu.cfs_quota_us"),
        "90000"
    ));
    assert!(has(
        &format!("/sys/fs/cgroup/cpu/rkt/{uuid}/web.app/cpu.cfs_period_us"),
        "100000"
    ));
    assert!(has(
        &format!("/sys/fs/cgroup/cpu/rkt/{uuid}/web.app/cpu.shares"),
        "12345"
    ));
    assert!(has(
        &format!("/sys/fs/cgroup/pids/rkt/{uuid}/pids.max"),
        "2048"
    ));
    // Deny everything, then the list.
    let dev = format!("/sys/fs/cgroup/devices/rkt/{uuid}/web.app/");
    let d: Vec<&(String, String)> = w.iter().filter(|(f, _)| f.starts_with(&dev)).collect();
    assert_eq!(d[0], &(format!("{dev}devices.deny"), "a".to_string()));
    assert!(d.contains(&&(format!("{dev}devices.allow"), "c 1:3 rwm".to_string())));
    assert!(p.devices_enforced);
    // The v1 devices controller enforces it; no device program on the unified hierarchy.
    assert!(!p.ops.iter().any(|o| matches!(o, Op::DeviceProgram { .. })));
    // Every new cpuset cgroup copies its parent's cpus and mems.
    let copies = p
        .ops
        .iter()
        .filter(|o| matches!(o, Op::CopyFromParent(f) if f.ends_with("cpuset.cpus")))
        .count();
    assert_eq!(copies, 4, "rkt/, the pod, stage1.init, web.app");
    // Without a policy (--insecure-options=paths) nothing is written to devices.
    let p = plan(&hybrid(), &spec(Resources::default(), false)).unwrap();
    assert!(!writes(&p).iter().any(|(f, _)| f.contains("devices.")));
    assert!(!p.devices_enforced);
}

#[test]
fn v2_enables_controllers_top_down_and_attaches_a_device_program() {
    let r = Resources {
        memory: Some(1 << 30),
        cpu_millis: Some(500),
        cpu_shares: Some(1024),
        pids: None,
    };
    let p = plan(&v2("/"), &spec(r, true)).unwrap();
    let uuid = "6f1f0d3c-0000-4000-8000-000000000000";
    let w = writes(&p);
    let order: Vec<&str> = w.iter().map(|(f, _)| f.as_str()).collect();
    let pos = |f: &str| {
        order
            .iter()
            .position(|o| *o == f)
            .unwrap_or_else(|| panic!("{f}"))
    };
    assert!(
        pos("/sys/fs/cgroup/cgroup.subtree_control")
            < pos("/sys/fs/cgroup/rkt/cgroup.subtree_control")
    );
    assert!(
        pos(&format!("/sys/fs/cgroup/rkt/{uuid}/cgroup.subtree_control"))
            < pos(&format!("/sys/fs/cgroup/rkt/{uuid}/web.app/memory.max"))
    );
    assert!(w.contains(&(
        "/sys/fs/cgroup/rkt/cgroup.subtree_control".into(),
        "+cpu +memory +pids".into()
    )));
    assert!(w.contains(&(
        format!("/sys/fs/cgroup/rkt/{uuid}/web.app/cpu.max"),
        "50000 100000".into()
    )));
    assert!(w.contains(&(
        format!("/sys/fs/cgroup/rkt/{uuid}/web.app/cpu.weight"),
        "100".into()
    )));
    assert!(p
        .ops
        .iter()
        .any(|o| matches!(o, Op::DeviceProgram { dir, .. }
        if dir.ends_with("web.app"))));
    assert_eq!(p.inside[0].rel, "");
    assert_eq!(p.inside[0].fstype, "cgroup2");
    // Under a delegated subtree (systemd's unit), no `rkt/` child and nothing above it.
    let p = plan(
        &v2("/system.slice/rkt.service"),
        &spec(Resources::default(), true),
    )
    .unwrap();
    assert!(p.bases.is_empty());
    assert!(p.owned[0].starts_with("/sys/fs/cgroup/system.slice/rkt.service/"));
    assert!(!writes(&p)
        .iter()
        .any(|(f, _)| f == "/sys/fs/cgroup/cgroup.subtree_control"));
}

#[test]
fn limits_without_a_controller_are_refused_and_no_cgroups_plans_nothing() {
    let uni_only = Layout::parse(
        "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
        "0::/\n",
        |_| Some("hugetlb\n".into()),
    );
    let r = Resources {
        memory: Some(1 << 20),
        ..Resources::default()
    };
    let e = plan(&uni_only, &spec(r.clone(), true)).unwrap_err();
    assert!(
        e.0.contains("resource/memory for web") && e.0.contains("no memory cgroup controller"),
        "{e}"
    );
    // The default pids limit is skipped where there is no pids controller.
    let p = plan(&uni_only, &spec(Resources::default(), true)).unwrap();
    assert!(!writes(&p).iter().any(|(f, _)| f.ends_with("pids.max")));
    assert!(
        p.devices_enforced,
        "the v2 device program needs no controller"
    );
    let none = Layout::default();
    assert!(plan(&none, &spec(r, true)).is_err());
    let p = plan(&none, &spec(Resources::default(), true)).unwrap();
    assert!(p.ops.is_empty() && !p.devices_enforced);
}

#[test]
fn cpu_shares_convert_to_weight() {
    assert_eq!(shares_to_weight(2), 1);
    assert_eq!(shares_to_weight(1024), 100);
    assert_eq!(shares_to_weight(262_144), 10_000);
    assert_eq!(shares_to_weight(12345), 745);
}

#[test]
fn mountinfo_escapes_and_subtree_mounts() {
    let l = Layout::parse(
        "41 31 0:38 /kube /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
        "0::/kube/pod1\n",
        |_| Some(String::new()),
    );
    assert_eq!(l.hierarchies[0].own, "/pod1");
    let l = Layout::parse(
        "41 31 0:38 /other /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
        "0::/kube/pod1\n",
        |_| Some(String::new()),
    );
    assert!(
        l.hierarchies.is_empty(),
        "rkt's cgroup is outside that mount"
    );
    assert_eq!(layout_unescape_for_test("/a\\040b"), "/a b");
}

fn layout_unescape_for_test(s: &str) -> String {
    let l = Layout::parse(
        &format!("1 1 0:1 / {s} rw - cgroup2 cgroup2 rw\n"),
        "0::/\n",
        |_| None,
    );
    l.hierarchies[0].mount.display().to_string()
}

#[test]
fn the_record_round_trips() {
    let p = plan(&hybrid(), &spec(Resources::default(), true)).unwrap();
    let records = parse_record(&p.record());
    assert_eq!(records, p.records);
    assert_eq!(
        resolve_records(&hybrid(), &records),
        (p.owned.clone(), p.bases.clone())
    );
    // Another mount namespace: the unified hierarchy at /sys/fs/cgroup (pure v2 view).
    let (owned, _) = resolve_records(&v2("/"), &records);
    assert!(
        owned.iter().all(|o| o.starts_with("/sys/fs/cgroup/rkt/")),
        "{owned:?}"
    );
    assert_eq!(
        owned.len(),
        3,
        "the pod, stage1.init, web.app in the unified hierarchy"
    );
    let junk = "junk\nowned cgroup2 /abs\nowned cgroup2 a/../b\nbase x\n";
    assert_eq!(parse_record(junk), vec![]);
}

#[test]
fn a_hierarchy_under_a_later_mount_is_out_of_reach() {
    let covered =
        format!("{HYBRID_MOUNTINFO}99 41 0:99 / /sys/fs/cgroup/unified rw - tmpfs tmpfs rw\n");
    let l = Layout::parse(&covered, HYBRID_CGROUP, |_| Some("hugetlb\n".into()));
    assert_eq!(l.hierarchies.len(), 6);
    assert!(l.hierarchies.iter().all(|h| h.key() != "cgroup2"));
    let all = format!("{HYBRID_MOUNTINFO}99 23 0:99 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n");
    assert!(Layout::parse(&all, HYBRID_CGROUP, |_| None)
        .hierarchies
        .is_empty());
}
