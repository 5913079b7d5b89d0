//! `rkt prepare [pod flags] IMAGE [app flags] [-- args... [---]] [IMAGE ...]`: resolve the
//! images and create the pod, leaving it `prepared` for `rkt run-prepared`; prints its UUID.

use std::process::ExitCode;

use super::pod_flags::Cmd;
use super::run::{run_options, start_options, wants_fly, StartFlags};
use crate::config::Config;
use crate::error::Error;
use crate::stage0;

super::pod_flags::pod_command!(Args, Cmd::Prepare);

pub(crate) fn run(Args(args): Args, config: &Config) -> Result<ExitCode, Error> {
    // The start-time options are given to run-prepared; these defaults are never used.
    let mut start = start_options(
        Cmd::Prepare,
        StartFlags {
            ipc: args.last("ipc"),
            ..StartFlags::default()
        },
        config,
    )?;
    // Recorded with the pod, as rkt recorded its stage1: run-prepared then flies it.
    start.fly = wants_fly(Cmd::Prepare, &args)?;
    if start.fly && start.ipc == stage0::Ipc::Private {
        return Err(Error::Usage(
            "prepare: --ipc=private: fly runs the app in the host's namespaces".into(),
        ));
    }
    let opts = run_options(Cmd::Prepare, &args, start, config)?;
    let uuid = stage0::prepare_only(&config.data_dir, &opts)
        .map_err(|e| Error::Launch("prepare", Box::new(e)))?;
    if !args.on("quiet") {
        eprintln!("rkt: pod {uuid} prepared: start it with `rkt run-prepared {uuid}`");
    }
    super::print_line(&uuid)?;
    Ok(ExitCode::SUCCESS)
}
