//! `rkt gc [--grace-period=30m] [--expire-prepared=24h] [--mark-only]`: mark exited, aborted
//! and expired prepared pods, then remove those marked long enough ago.

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
    /// duration to wait before expiring prepared pods (default 24h0m0s)
    #[argh(option, default = "String::from(\"24h\")")]
    expire_prepared: String,
    /// only move pods to the garbage; remove nothing
    #[argh(switch)]
    mark_only: bool,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let duration = |flag: &str, v: &str| {
        parse_go_duration(v)
            .map_err(|e| Error::Usage(format!("invalid argument for \"--{flag}\" flag: {e}")))
    };
    let opts = gc::Options {
        grace: duration("grace-period", &args.grace_period)?,
        expire_prepared: duration("expire-prepared", &args.expire_prepared)?,
        mark_only: args.mark_only,
    };
    let report = gc::gc(&config.data_dir, opts).map_err(super::pod_err("gc"))?;
    for uuid in &report.marked {
        eprintln!("rkt: moving pod {uuid:?} to garbage");
    }
    for uuid in &report.removed {
        super::print_line(&format!("Garbage collecting pod {uuid:?}"))?;
    }
    // As rkt 1.30 (`emptyGarbage`): a pod that cannot be removed yet is reported and left
    // marked for the next gc, and gc itself still succeeds, so a busy mount or a pod caught
    // mid-transition by a concurrent rkt never makes every later gc (a timer, the kubelet)
    // fail.
    for (uuid, e) in &report.errors {
        super::report_message(
            "gc: pod",
            uuid,
            &format!(
                "{}; left in place, the next gc retries it",
                crate::error::chain(e)
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}
