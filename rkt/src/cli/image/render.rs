//! `rkt image render IMAGE DIR`: write the image rendered with its dependencies into a new directory.

use std::process::ExitCode;

use argh::FromArgs;

use super::extract::{to_dir, Deps};
use crate::config::Config;
use crate::error::Error;

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
    let (image, dir) = (&args.image, &args.dir);
    to_dir(
        config,
        image,
        dir,
        args.rootfs_only,
        args.overwrite,
        Deps::With,
    )
}
