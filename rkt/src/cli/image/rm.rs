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
    // The trees of existing pods stay (their images may go); the prepare lock keeps a pod
    // being prepared from naming an image being removed.
    let _prepare =
        crate::pod::prepare_lock(&config.data_dir, crate::sys::lock::LockKind::Exclusive)
            .map_err(Error::Pod)?;
    let keep = crate::pod::in_use(&config.data_dir).map_err(Error::Pod)?;
    let mut errored = false;
    // rkt 1.30 rmImages: every argument is resolved first; an image named twice (by name and
    // by ID, or twice by ID) is removed once.
    let mut keys = Vec::new();
    for arg in &args.images {
        match store.resolve(arg) {
            Ok(key) if !keys.contains(&key) => keys.push(key),
            Ok(_) => {}
            Err(e) => {
                crate::cli::report_error("image rm", arg, &e);
                errored = true;
            }
        }
    }
    let mut done = 0;
    for key in keys {
        match store.remove_keeping(&key, &keep) {
            Ok(()) => {
                crate::cli::print_line(&format!(
                    "successfully removed aci for image: {:?}",
                    key.as_str()
                ))?;
                done += 1;
            }
            Err(e) => {
                crate::cli::report_error("image rm", key.as_str(), &e);
                errored = true;
            }
        }
    }
    if done > 0 {
        eprintln!("rkt: {done} image(s) successfully removed");
    }
    Ok(crate::cli::exit(errored))
}
