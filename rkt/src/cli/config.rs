//! `rkt config`: the configuration in force (auth.d, paths.d, stage1.d from the system, local
//! and user directories), merged, as rkt printed it.

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;
use crate::fetch::Auth;

#[derive(FromArgs, Debug)]
/// print the merged configuration as JSON
#[argh(subcommand, name = "config")]
pub(crate) struct Args {
    /// print the JSON indented (default true)
    #[argh(option, default = "true")]
    pretty_print: bool,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let auth = Auth::load(&config.config_dirs()).map_err(Error::from)?;
    super::print_line(&auth.config_json(&config.settings, args.pretty_print))?;
    Ok(ExitCode::SUCCESS)
}
