//! `rkt image gc`: remove leftovers, unreferenced trees and images unused for a grace period.

use std::process::ExitCode;

use argh::FromArgs;

use super::format::parse_go_duration;
use crate::config::Config;
use crate::error::Error;
use crate::store::Store;
use crate::sys::lock::LockKind;

#[derive(FromArgs, Debug)]
/// garbage collect the local store
#[argh(subcommand, name = "gc")]
pub(crate) struct Args {
    /// duration to wait since an image was last used before removing it (default 24h)
    #[argh(option, default = "String::from(\"24h\")")]
    grace_period: String,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let grace = parse_go_duration(&args.grace_period)
        .map_err(|e| Error::Usage(format!("invalid argument for \"--grace-period\" flag: {e}")))?;
    let store = Store::open(&config.data_dir)?;
    // Images and trees of pods in prepare, prepared or run are never collected; the prepare
    // lock keeps a pod being prepared from naming an image gc is removing.
    let _prepare =
        crate::pod::prepare_lock(&config.data_dir, LockKind::Exclusive).map_err(Error::Pod)?;
    let keep = crate::pod::in_use(&config.data_dir).map_err(Error::Pod)?;
    let report = store.gc_keeping(grace, &keep)?;
    for path in &report.stale_tmp {
        crate::log::debug!("removed stale temporary entry `{}`", path.display());
    }
    for tree in &report.trees {
        eprintln!("rkt: removed treestore {tree:?}");
    }
    for key in report.images.iter().chain(&report.orphans) {
        crate::cli::print_line(&format!(
            "successfully removed aci for image: {:?}",
            key.as_str()
        ))?;
    }
    if !report.images.is_empty() {
        eprintln!("rkt: {} image(s) successfully removed", report.images.len());
    }
    for skipped in &report.skipped {
        eprintln!("rkt: image gc: skipped: {}", crate::error::chain(skipped));
    }
    Ok(ExitCode::SUCCESS)
}
