//! `rkt run-prepared [--net --dns* --hosts-entry --hostname --mds-register=false] UUID`: start
//! a prepared pod and exit with its status, as `run` does.

use std::process::ExitCode;

use super::pod_flags::Cmd;
use super::run::{start_options, StartFlags};
use crate::config::Config;
use crate::error::Error;
use crate::stage0;

super::pod_flags::pod_command!(Args, Cmd::RunPrepared);

pub(crate) fn run(Args(args): Args, config: &Config) -> Result<ExitCode, Error> {
    let opts = start_options(Cmd::RunPrepared, StartFlags::from_args(&args), config)?;
    let code = stage0::run_prepared(&config.data_dir, &args.positionals[0], &opts)
        .map_err(|e| Error::Launch("run-prepared", Box::new(e)))?;
    Ok(ExitCode::from(code))
}
