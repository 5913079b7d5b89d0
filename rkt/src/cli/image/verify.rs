//! `rkt image verify IMAGE...`: check rendered trees against their images, rebuilding any that
//! changed.

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;
use crate::store::{Store, Verified};

#[derive(FromArgs, Debug)]
/// verify one or more rendered images in the local store
#[argh(subcommand, name = "verify")]
pub(crate) struct Args {
    /// image IDs (prefixes) or names
    #[argh(positional, greedy)]
    images: Vec<String>,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    if args.images.is_empty() {
        return Err(Error::Usage("must provide at least one image ID".into()));
    }
    let store = Store::open(&config.data_dir)?;
    let mut errored = false;
    for arg in &args.images {
        match store
            .resolve(arg)
            .and_then(|key| store.verify(&key).map(|v| (key, v)))
        {
            Ok((key, Verified::Intact)) => crate::cli::print_line(&format!(
                "successfully verified checksum for image: {arg:?} ({:?})",
                key.as_str()
            ))?,
            Ok((key, Verified::Repaired)) => crate::cli::print_line(&format!(
                "tree cache verification failed for image {arg} ({key}): the rendered tree \
                 differs from the image; rebuilt it"
            ))?,
            Ok((key, Verified::HashRewritten)) => crate::cli::print_line(&format!(
                "successfully verified checksum for image: {arg:?} ({:?}); its tree's hash \
                 file was wrong or missing: rewrote it",
                key.as_str()
            ))?,
            Err(e) => {
                crate::cli::report_error("image verify", arg, &e);
                errored = true;
            }
        }
    }
    Ok(crate::cli::exit(errored))
}
