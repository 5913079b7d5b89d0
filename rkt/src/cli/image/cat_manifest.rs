//! `rkt image cat-manifest IMAGE`: print an image's manifest.

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;
use crate::store::Store;

#[derive(FromArgs, Debug)]
/// inspect and print the image manifest
#[argh(subcommand, name = "cat-manifest")]
pub(crate) struct Args {
    /// apply indent to format the output (default true)
    #[argh(option, default = "true")]
    pretty_print: bool,
    /// the image ID (prefix) or name
    #[argh(positional)]
    image: String,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let store = Store::open(&config.data_dir)?;
    let key = store.resolve(&args.image)?;
    let manifest = store.manifest(&key)?;
    let text = if args.pretty_print {
        manifest.to_json_pretty()
    } else {
        manifest.to_json()
    };
    crate::cli::print_line(&text)?;
    Ok(ExitCode::SUCCESS)
}
