//! `rkt image validate FILE...`: checks ACI files as `actool validate` did (compression, layout,
//! manifest) without importing them, and prints each one's image ID.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::{Error, EXIT_FAILURE};
use crate::image::aci;

#[derive(FromArgs, Debug)]
/// validate ACI files without importing them; prints the image ID of each
#[argh(subcommand, name = "validate")]
pub(crate) struct Args {
    /// print the whole sha512 (128 hex digits) instead of rkt's store key (64)
    #[argh(switch)]
    full: bool,
    /// the ACI files
    #[argh(positional, greedy)]
    files: Vec<String>,
}

pub(crate) fn run(args: Args, _config: &Config) -> Result<ExitCode, Error> {
    if args.files.is_empty() {
        return Err(Error::Usage("image validate: no ACI file given".into()));
    }
    let mut failed = false;
    for file in &args.files {
        match aci::inspect(Path::new(file)) {
            Ok(info) => {
                let id = if args.full {
                    info.id.to_string()
                } else {
                    info.id.store_key()
                };
                writeln!(std::io::stdout(), "{id}").map_err(Error::Output)?;
            }
            Err(err) => {
                // Each bad file is reported and the others still checked, as `rkt image rm`.
                eprintln!("rkt: {}", crate::error::chain(&err));
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}
