//! `rkt version`: the first two lines are parsed by orchestrators
//! (`rkt Version: (\d+\.\d+\.\d+)`, `appc Version:`), so their shape never changes.

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;

/// The appc spec version this rkt implements.
pub(crate) const APPC_VERSION: &str = "0.8.11";

#[derive(FromArgs, Debug)]
/// print the version and exit
#[argh(subcommand, name = "version")]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args, _config: &Config) -> Result<ExitCode, Error> {
    use std::io::Write;
    let text = format!(
        "rkt Version: {}+{}\nappc Version: {APPC_VERSION}\nRust Version: {}\nOS/Arch: linux/{}\nFeatures: -TPM -SDJOURNAL +STATIC\nstage1-init: built-in, {} bytes, {}\n",
        env!("CARGO_PKG_VERSION"),
        env!("RKT_COMMIT"),
        env!("RKT_RUSTC_VERSION"),
        go_arch(),
        crate::stage1::STAGE1_INIT.len(),
        crate::stage1::digest(),
    );
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

/// The architecture in appc's (Go's) spelling, as rkt printed it.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}
