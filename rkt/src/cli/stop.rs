//! `rkt stop [--force] (UUID... | --uuid-file=FILE)`: SIGTERM (SIGKILL with `--force`) to
//! running pods; an exited pod is "already stopped", not an error.

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;
use crate::pod::stop::{stop, Stopped};
use crate::pod::{self, Pod};

#[derive(FromArgs, Debug)]
/// stop pods
#[argh(subcommand, name = "stop")]
pub(crate) struct Args {
    /// kill the pod (SIGKILL) instead of asking it to stop (SIGTERM)
    #[argh(switch)]
    force: bool,
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
        uuids
            .push(pod::read_uuid_file(std::path::Path::new(file)).map_err(super::pod_err("stop"))?);
    }
    if uuids.is_empty() {
        return Err(Error::Usage(
            "stop: must provide at least one pod UUID".into(),
        ));
    }
    let mut failed = false;
    for arg in &uuids {
        let res = Pod::resolve(&config.data_dir, arg).and_then(|p| Ok((stop(&p, args.force)?, p)));
        match res {
            Ok((Stopped::Signalled, p)) => super::print_line(&format!("{:?}", p.uuid))?,
            Ok((Stopped::AlreadyStopped, p)) => {
                super::print_line(&format!("pod {:?} is already stopped", p.uuid))?
            }
            Err(e) => {
                super::report_error("stop", arg, &e);
                failed = true;
            }
        }
    }
    Ok(super::exit(failed))
}
