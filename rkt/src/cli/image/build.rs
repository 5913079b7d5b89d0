//! `rkt image build DIR OUT.aci`: an ACI from a directory holding `manifest` and `rootfs/`.

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;

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
    let _ = (
        args.no_compression,
        args.owner_root,
        args.overwrite,
        args.dir,
        args.output,
    );
    Err(Error::NotImplemented("rkt image build".into()))
}
