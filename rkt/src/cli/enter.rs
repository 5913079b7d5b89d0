//! `rkt enter [--app=NAME] UUID [CMD [ARGS...]]`: run a command in a running pod's app, as
//! the app; exits with the command's status. Nothing after the UUID is parsed.

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;
use crate::pod::{enter, Pod};

#[derive(FromArgs, Debug)]
/// enter the namespaces of an app within a rkt pod
#[argh(subcommand, name = "enter")]
pub(crate) struct Args {
    /// name of the app to enter within the specified pod (needed when it has several)
    #[argh(option)]
    app: Option<String>,
    /// the pod's UUID (a unique prefix is enough)
    #[argh(positional)]
    uuid: String,
    /// the command and its arguments (default /bin/bash, else /bin/sh)
    #[argh(positional, greedy)]
    cmd: Vec<String>,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let pod = Pod::resolve(&config.data_dir, &args.uuid).map_err(super::pod_err("enter"))?;
    let code =
        enter::enter(&pod, args.app.as_deref(), &args.cmd).map_err(super::pod_err("enter"))?;
    Ok(ExitCode::from(code))
}
