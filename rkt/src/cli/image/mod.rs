//! `rkt image ...`: one file per subcommand.

mod build;
mod validate;

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;

#[derive(FromArgs, Debug)]
/// operate on images in the local store
#[argh(subcommand, name = "image")]
pub(crate) struct Args {
    #[argh(subcommand)]
    command: Command,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum Command {
    Build(build::Args),
    Validate(validate::Args),
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    match args.command {
        Command::Build(a) => build::run(a, config),
        Command::Validate(a) => validate::run(a, config),
    }
}
