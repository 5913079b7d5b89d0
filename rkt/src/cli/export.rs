//! `rkt export [--app=NAME] [--overwrite] UUID OUT.aci`: an exited pod's app, with its changes,
//! as an ACI that `rkt run` accepts.

use std::path::Path;
use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;
use crate::pod::{export, Pod};

#[derive(FromArgs, Debug)]
/// export an app from an exited pod to an ACI file
#[argh(subcommand, name = "export")]
pub(crate) struct Args {
    /// name of the app to export within the specified pod (needed when it has several)
    #[argh(option)]
    app: Option<String>,
    /// overwrite the output ACI if it exists
    #[argh(switch)]
    overwrite: bool,
    /// the pod's UUID (a unique prefix is enough)
    #[argh(positional)]
    uuid: String,
    /// the ACI file to write
    #[argh(positional)]
    out: String,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let pod = Pod::resolve(&config.data_dir, &args.uuid).map_err(super::pod_err("export"))?;
    export::export(
        &pod,
        args.app.as_deref(),
        Path::new(&args.out),
        args.overwrite,
    )
    .map_err(super::pod_err("export"))?;
    Ok(ExitCode::SUCCESS)
}
