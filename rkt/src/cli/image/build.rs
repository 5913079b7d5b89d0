//! `rkt image build DIR OUT.aci`: an ACI from a directory holding `manifest` and `rootfs/`.
//! Prints the new image's ID in the form `rkt fetch --full` prints (`sha512-` + 64 hex, rkt's
//! store key).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;
use crate::image::build::{build, Options};

#[derive(FromArgs, Debug)]
/// build an ACI from a directory holding a manifest and a rootfs; prints the image ID
#[argh(subcommand, name = "build")]
pub(crate) struct Args {
    /// write a plain tar instead of gzip
    #[argh(switch)]
    no_compression: bool,
    /// store every file as owned by root (uid 0, gid 0)
    #[argh(switch)]
    owner_root: bool,
    /// replace OUT.aci if it exists
    #[argh(switch)]
    overwrite: bool,
    /// the directory holding `manifest` and `rootfs/`
    #[argh(positional)]
    dir: String,
    /// the ACI file to write
    #[argh(positional)]
    output: String,
}

pub(crate) fn run(args: Args, _config: &Config) -> Result<ExitCode, Error> {
    let options = Options {
        compress: !args.no_compression,
        owner_root: args.owner_root,
        overwrite: args.overwrite,
    };
    let id = build(Path::new(&args.dir), Path::new(&args.output), &options)?;
    crate::log::debug!("built {} from {}: {id}", args.output, args.dir);
    writeln!(std::io::stdout(), "{}", id.store_key()).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}
