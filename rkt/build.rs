//! Builds `stage1-init` as a static musl program and embeds it, so that one
//! `cargo build` yields the complete `rkt`.
//!
//! The nested cargo uses its own target directory (no deadlock on the outer build's lock) and
//! `musl.toml` explicitly: a `--config` given to the outer cargo is not inherited, and the pod's
//! PID 1 must be static whatever target `rkt` itself is built for (host tests included).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("workspace root").to_path_buf();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));

    for watched in [
        "stage1-init/src",
        "stage1-init/Cargo.toml",
        "musl.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=RKT_STAGE1_INIT");

    let stage1 = match env::var_os("RKT_STAGE1_INIT") {
        Some(prebuilt) => PathBuf::from(prebuilt),
        None => build_stage1(&root),
    };
    std::fs::copy(&stage1, out_dir.join("stage1-init"))
        .unwrap_or_else(|e| panic!("copy {} into OUT_DIR: {e}", stage1.display()));

    println!("cargo:rustc-env=RKT_COMMIT={}", git_commit(&root));
    println!("cargo:rustc-env=RKT_RUSTC_VERSION={}", rustc_version());
    let git_dir = root.join(".git");
    for watched in ["HEAD", "refs/heads"] {
        if git_dir.join(watched).exists() {
            println!("cargo:rerun-if-changed={}", git_dir.join(watched).display());
        }
    }
}

fn build_stage1(root: &Path) -> PathBuf {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = root.join("target").join("stage1");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .arg("--config")
        .arg(root.join("musl.toml"))
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "stage1-init",
            "--target",
            MUSL_TARGET,
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer build's flags, wrappers (clippy) and target must not leak into the nested one.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("run nested cargo for stage1-init");
    assert!(status.success(), "building stage1-init failed: {status}");
    target_dir
        .join(MUSL_TARGET)
        .join("release")
        .join("stage1-init")
}

fn git_commit(root: &Path) -> String {
    Command::new("git")
        .args(["rev-parse", "--short=7", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

fn rustc_version() -> String {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}
