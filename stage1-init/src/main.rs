//! `stage1-init`: the PID-1 program of a pod.
//!
//! rkt embeds this binary in its own bytes and execs it (from a sealed memfd) as the first
//! process of every pod. It must stay small and single-threaded and never parse JSON: stage0
//! hands it a plain launch plan. Until pods run, it only answers `--version`.

use std::process::ExitCode;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("--version") | None => {
            println!("stage1-init {VERSION}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("stage1: unknown argument {other:?}");
            ExitCode::from(254)
        }
    }
}
