//! `rkt image render IMAGE DIR`: write the image rendered with its dependencies into a new directory.

use std::path::Path;
use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;
use crate::store::{Output, Overwrite, Store};

#[derive(FromArgs, Debug)]
/// render a stored image to a directory with all its dependencies
#[argh(subcommand, name = "render")]
pub(crate) struct Args {
    /// write only the rootfs, not the manifest
    #[argh(switch)]
    rootfs_only: bool,
    /// replace the output directory if it exists
    #[argh(switch)]
    overwrite: bool,
    /// the image ID (prefix) or name
    #[argh(positional)]
    image: String,
    /// the directory to create
    #[argh(positional)]
    dir: String,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let store = Store::open(&config.data_dir)?;
    let key = store.resolve(&args.image)?;
    let output = if args.rootfs_only {
        Output::RootfsOnly
    } else {
        Output::Full
    };
    let overwrite = if args.overwrite {
        Overwrite::Yes
    } else {
        Overwrite::No
    };
    store.render_to(&key, Path::new(&args.dir), output, overwrite)?;
    Ok(ExitCode::SUCCESS)
}
