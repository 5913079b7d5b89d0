//! `rkt`: the App Container runtime, one static binary.
//!
//! This file is the edge: parse, run, print an error chain once as `rkt: a: b: c`, map it to an
//! exit code. Dependencies point down:
//! `cli -> {pod, stage0} -> {image, store} -> {appc, sys}`; `appc` does no I/O, `sys` holds the
//! thin syscall helpers, and every on-disk path comes from `paths`.

mod appc;
mod base64;
mod cgroup;
mod cli;
mod config;
mod error;
mod fetch;
mod image;
mod log;
mod mds;
mod net;
mod paths;
mod pod;
mod seccomp;
mod stage0;
mod stage1;
mod store;
mod sys;
mod terminal;
mod trust;

use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match cli::run(argv) {
        Ok(code) => code,
        Err(err) => {
            if err.is_broken_pipe() {
                return ExitCode::SUCCESS;
            }
            eprintln!("rkt: {}", error::chain(&err));
            ExitCode::from(err.exit_code())
        }
    }
}
