//! `rkt image extract IMAGE DIR`: write the image alone, without its dependencies into a new directory.

use std::path::Path;
use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;
use crate::store::{Output, Overwrite, Store};

#[derive(FromArgs, Debug)]
/// extract a stored image to a directory
#[argh(subcommand, name = "extract")]
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
    to_dir(
        config,
        &args.image,
        &args.dir,
        args.rootfs_only,
        args.overwrite,
        Deps::Without,
    )
}

/// Whether the directory gets the image alone (`extract`) or rendered over its dependencies
/// (`render`).
pub(super) enum Deps {
    Without,
    With,
}

/// The body of `image extract` and `image render`, which differ only in `deps`.
pub(super) fn to_dir(
    config: &Config,
    image: &str,
    dir: &str,
    rootfs_only: bool,
    overwrite: bool,
    deps: Deps,
) -> Result<ExitCode, Error> {
    let store = Store::open(&config.data_dir)?;
    let key = store.resolve(image)?;
    let output = if rootfs_only {
        Output::RootfsOnly
    } else {
        Output::Full
    };
    let overwrite = if overwrite {
        Overwrite::Yes
    } else {
        Overwrite::No
    };
    match deps {
        Deps::Without => store.extract_to(&key, Path::new(dir), output, overwrite)?,
        Deps::With => store.render_to(&key, Path::new(dir), output, overwrite)?,
    }
    Ok(ExitCode::SUCCESS)
}
