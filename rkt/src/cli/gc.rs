//! `rkt gc [--grace-period=DURATION]`: mark exited pods, remove those marked long enough ago.

use std::process::ExitCode;

use argh::FromArgs;

use super::image::format::parse_go_duration;
use crate::config::Config;
use crate::error::Error;
use crate::pod::gc;

#[derive(FromArgs, Debug)]
/// garbage collect rkt pods no longer in use
#[argh(subcommand, name = "gc")]
pub(crate) struct Args {
    /// duration to wait before discarding inactive pods from garbage (default 30m0s)
    #[argh(option, default = "String::from(\"30m\")")]
    grace_period: String,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let grace = parse_go_duration(&args.grace_period)
        .map_err(|e| Error::Usage(format!("invalid argument for \"--grace-period\" flag: {e}")))?;
    let report = gc::gc(&config.data_dir, grace).map_err(Error::Pod)?;
    for uuid in &report.marked {
        eprintln!("rkt: moving pod {uuid:?} to garbage");
    }
    for uuid in &report.removed {
        super::print_line(&format!("Garbage collecting pod {uuid:?}"))?;
    }
    for (uuid, e) in &report.errors {
        super::report_error("gc: pod", uuid, e);
    }
    Ok(super::exit(!report.errors.is_empty()))
}
