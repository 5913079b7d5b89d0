//! `rkt config`: the configuration in force (auth.d from the system and local directories,
//! the paths), merged, as rkt printed it.

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
    let auth = Auth::load(&[&config.system_config, &config.local_config]).map_err(Error::from)?;
    let images = crate::paths::stage1_images(&config.system_config);
    super::print_line(&auth.config_json(&config.data_dir, &images, args.pretty_print))?;
    Ok(ExitCode::SUCCESS)
}
