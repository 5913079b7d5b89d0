//! `rkt image export IMAGE OUT.aci`: write the image's tar (uncompressed, the same ID back).

use std::path::Path;
use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;
use crate::store::{Overwrite, Store};

#[derive(FromArgs, Debug)]
/// export a stored image to an aci file
#[argh(subcommand, name = "export")]
pub(crate) struct Args {
    /// overwrite output aci
    #[argh(switch)]
    overwrite: bool,
    /// the image ID (prefix) or name
    #[argh(positional)]
    image: String,
    /// the file to write
    #[argh(positional)]
    output: String,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let store = Store::open(&config.data_dir)?;
    let key = store.resolve(&args.image)?;
    let overwrite = if args.overwrite {
        Overwrite::Yes
    } else {
        Overwrite::No
    };
    store.export(&key, Path::new(&args.output), overwrite)?;
    Ok(ExitCode::SUCCESS)
}
