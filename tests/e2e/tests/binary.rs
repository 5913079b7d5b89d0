//! The shipped artifact: `rkt` and its embedded `stage1-init` are static ELF files.

use e2e::{rkt_bin, run, workspace};
use std::process::Command;

fn assert_static(path: &std::path::Path) {
    let file = run(Command::new("file").arg("-b").arg(path));
    assert!(
        file.stdout.contains("statically linked"),
        "{}: {}",
        path.display(),
        file.stdout
    );
    let program_headers = run(Command::new("readelf").args(["-lW"]).arg(path));
    assert!(
        !program_headers.stdout.contains("INTERP"),
        "{} has a program interpreter",
        path.display()
    );
    let dynamic = run(Command::new("readelf").args(["-dW"]).arg(path));
    assert!(
        dynamic.stdout.contains("no dynamic section"),
        "{} has a dynamic section",
        path.display()
    );
}

#[test]
fn rkt_is_a_static_elf() {
    assert_static(&rkt_bin());
}

#[test]
fn stage1_init_is_static_and_embedded_in_rkt() {
    let stage1 = workspace().join("target/stage1/x86_64-unknown-linux-musl/release/stage1-init");
    assert!(
        stage1.is_file(),
        "stage1-init not built at {}",
        stage1.display()
    );
    assert_static(&stage1);
    let stage1_bytes = std::fs::read(&stage1).expect("read stage1-init");
    let rkt_bytes = std::fs::read(rkt_bin()).expect("read rkt");
    assert!(stage1_bytes.len() > 10_000);
    let embedded = rkt_bytes
        .windows(stage1_bytes.len())
        .any(|w| w == stage1_bytes.as_slice());
    assert!(embedded, "rkt does not carry the stage1-init bytes");
    let sha = e2e::run(Command::new("sha512sum").arg(&stage1));
    let version = e2e::rkt(["version"]);
    assert!(
        version
            .stdout
            .contains(&format!("sha512-{}\n", &sha.stdout[..32])),
        "{}",
        version.stdout
    );
    assert!(
        version.stdout.contains(&format!(
            "stage1-init: built-in, {} bytes, sha512-",
            stage1_bytes.len()
        )),
        "{}",
        version.stdout
    );
}
