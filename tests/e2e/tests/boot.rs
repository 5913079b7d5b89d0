//! Real boots under qemu (tests/boot/boot.sh): a Debian kernel with an initramfs of busybox,
//! the static rkt and the probe image. What this host cannot show: a pure cgroup v2 system
//! (here the memory, pids and cpu controllers are bound to v1) and one with no cgroup
//! filesystem at all (an initramfs).

use std::process::Command;

use e2e::require_root;

/// The guest's `BOOT: ` lines, without the prefix.
fn boot(guest: &str) -> Vec<String> {
    require_root();
    let out = Command::new(e2e::workspace().join("tests/boot/boot.sh"))
        .arg(guest)
        .env("RKT_BIN", e2e::rkt_bin())
        .env("PROBE_BIN", e2e::pod::probe_bin())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "boot {guest}: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .filter_map(|l| l.strip_prefix("BOOT: "))
        .map(str::to_string)
        .collect()
}

fn expect(lines: &[String], want: &str) {
    assert!(
        lines.iter().any(|l| l == want),
        "{want:?} missing:\n{}",
        lines.join("\n")
    );
}

#[test]
fn pure_cgroup_v2_guest_enforces_memory_pids_cpu_and_devices() {
    let l = boot("v2");
    expect(&l, "fetch=ok");
    // memory.max: past it the app is killed (137).
    expect(&l, "memory-rc=137");
    expect(&l, "memory.max=67108864");
    // pids.max: the default limit of 2048 per pod stops a bounded fork loop.
    assert!(
        l.iter()
            .any(|x| x.starts_with("pids forked=20") && x.ends_with("fork-errno=11")),
        "{l:?}"
    );
    expect(&l, "pids-off forked=2500 fork-errno=0");
    expect(&l, "cpu.max=50000 100000");
    expect(&l, "cpu.weight=100");
    // The app's cgroup namespace root.
    expect(&l, "own-cgroup=0::/");
    // The eBPF device program.
    expect(&l, "mknod /dev/n=ok open=ok");
    expect(&l, "mknod /dev/lc=errno 1 open=errno 2");
    expect(&l, "mknod /dev/l=errno 1 open=errno 2");
    expect(&l, "cgroups-left=0");
}

#[test]
fn guest_without_cgroups_falls_back_to_nodev() {
    let l = boot("none");
    expect(&l, "fetch=ok");
    for node in ["/dev/n", "/dev/l", "/v/n"] {
        expect(&l, &format!("mknod {node}=ok open=errno 13"));
    }
    expect(&l, "open /dev/null=ok data=");
    expect(
        &l,
        "memory: rkt: run: resource/memory for probe cannot be applied: this host has no memory cgroup controller rkt can use",
    );
    expect(&l, "exit-rc=3");
}
