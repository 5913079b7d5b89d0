//! `rkt cat-manifest [--pretty-print] (UUID | --uuid-file=FILE)`: print a pod's manifest.

use std::process::ExitCode;

use argh::FromArgs;

use crate::appc::PodManifest;
use crate::config::Config;
use crate::error::Error;

#[derive(FromArgs, Debug)]
/// inspect and print the pod manifest
#[argh(subcommand, name = "cat-manifest")]
pub(crate) struct Args {
    /// apply indent to format the output (default true)
    #[argh(option, default = "true")]
    pretty_print: bool,
    /// read the pod UUID from this file
    #[argh(option)]
    uuid_file: Option<String>,
    /// the pod's UUID (a unique prefix is enough)
    #[argh(positional)]
    uuid: Option<String>,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    // rkt 1.30: --uuid-file wins and an argument beside it is ignored (its TestCatManifest
    // passes one).
    let uuid = args.uuid.as_deref().filter(|_| args.uuid_file.is_none());
    let pod = super::one_pod("cat-manifest", uuid, args.uuid_file.as_deref(), config)?;
    let bytes = pod
        .manifest_bytes()
        .map_err(super::pod_err("cat-manifest"))?;
    let manifest = PodManifest::from_json(&bytes).map_err(|e| {
        Error::Usage(format!(
            "cat-manifest: pod {}: invalid pod manifest: {e}",
            pod.uuid
        ))
    })?;
    let text = if args.pretty_print {
        manifest.to_json_pretty()
    } else {
        manifest.to_json()
    };
    super::print_line(&text)?;
    Ok(ExitCode::SUCCESS)
}
