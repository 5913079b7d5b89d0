//! `rkt image ...`: one file per subcommand.

mod build;
mod cat_manifest;
mod export;
mod extract;
pub(super) mod format;
mod gc;
mod list;
mod render;
mod rm;
mod validate;
mod verify;

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
    CatManifest(cat_manifest::Args),
    Export(export::Args),
    Extract(extract::Args),
    Fetch(super::fetch::Args),
    Gc(gc::Args),
    List(list::Args),
    Render(render::Args),
    Rm(rm::Args),
    Verify(verify::Args),
    Validate(validate::Args),
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    match args.command {
        Command::Build(a) => build::run(a, config),
        Command::CatManifest(a) => cat_manifest::run(a, config),
        Command::Export(a) => export::run(a, config),
        Command::Extract(a) => extract::run(a, config),
        Command::Fetch(a) => super::fetch::run(a, config),
        Command::Gc(a) => gc::run(a, config),
        Command::List(a) => list::run(a, config),
        Command::Render(a) => render::run(a, config),
        Command::Rm(a) => rm::run(a, config),
        Command::Verify(a) => verify::run(a, config),
        Command::Validate(a) => validate::run(a, config),
    }
}
