//! `rkt image rm IMAGE...`: remove images from the store.

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;
use crate::store::Store;

#[derive(FromArgs, Debug)]
/// remove one or more images with the given IDs or image names from the local store
#[argh(subcommand, name = "rm")]
pub(crate) struct Args {
    /// image IDs (sha512-... prefixes) or names
    #[argh(positional, greedy)]
    images: Vec<String>,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    if args.images.is_empty() {
        return Err(Error::Usage("must provide at least one image ID".into()));
    }
    let store = Store::open(&config.data_dir)?;
    let mut errored = false;
    let mut done = 0;
    for arg in &args.images {
        match store
            .resolve(arg)
            .and_then(|key| store.remove(&key).map(|()| key))
        {
            Ok(key) => {
                crate::cli::print_line(&format!(
                    "successfully removed aci for image: {:?}",
                    key.as_str()
                ))?;
                done += 1;
            }
            Err(e) => {
                crate::cli::report_error("image rm", arg, &e);
                errored = true;
            }
        }
    }
    if done > 0 {
        eprintln!("rkt: {done} image(s) successfully removed");
    }
    Ok(crate::cli::exit(errored))
}
