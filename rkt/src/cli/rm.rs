//! `rkt rm UUID... | --uuid-file=FILE`: remove exited (or never started) pods now.

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;
use crate::pod::{self, gc, Pod};

#[derive(FromArgs, Debug)]
/// remove all files and resources associated with exited pods
#[argh(subcommand, name = "rm")]
pub(crate) struct Args {
    /// read the pod UUID from this file
    #[argh(option)]
    uuid_file: Option<String>,
    /// pod UUIDs (unique prefixes accepted)
    #[argh(positional, greedy)]
    uuids: Vec<String>,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let mut uuids = args.uuids;
    if let Some(file) = &args.uuid_file {
        uuids.push(pod::read_uuid_file(std::path::Path::new(file)).map_err(super::pod_err("rm"))?);
    }
    if uuids.is_empty() {
        return Err(Error::Usage(
            "rm: must provide at least one pod UUID".into(),
        ));
    }
    let mut errored = false;
    for arg in &uuids {
        let res = Pod::resolve(&config.data_dir, arg).map_err(|e| (arg.clone(), e));
        match res.and_then(gc::rm) {
            Ok(uuid) => super::print_line(&format!("{uuid:?}"))?,
            Err((_, e)) => {
                super::report_error("rm", arg, &e);
                errored = true;
            }
        }
    }
    Ok(super::exit(errored))
}
