//! `rkt run [pod flags] IMAGE [--exec=PATH] [--name=N] [-- args... [---]]`: run one app in a
//! new pod and exit with its status.

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::{Config, Insecure};
use crate::error::Error;
use crate::stage0::{self, applist, Net, RunOptions};

/// rkt 1.30's pod flags that this build does not implement yet; each fails naming itself.
pub(crate) const PENDING_FLAGS: &[&str] = &[
    "volume",
    "mount",
    "interactive",
    "dns",
    "dns-search",
    "dns-opt",
    "dns-domain",
    "hosts-entry",
    "set-env",
    "set-env-file",
    "inherit-env",
    "port",
    "private-users",
    "pod-manifest",
    "mds-register",
    "stage1-url",
    "stage1-path",
    "stage1-name",
    "stage1-hash",
    "stage1-from-dir",
    "signature",
    "pull-policy",
    "store-only",
    "no-store",
    "user-annotation",
    "user-label",
    "caps-retain",
    "caps-remove",
    "seccomp",
    "annotation",
];

#[derive(FromArgs, Debug)]
/// run image(s) in a pod
#[argh(subcommand, name = "run")]
pub(crate) struct Args {
    /// network: host (default) or none
    #[argh(option, default = "String::from(\"host\")")]
    pub(super) net: String,
    /// the pod's hostname (default rkt-<uuid>)
    #[argh(option)]
    hostname: Option<String>,
    /// copy the image's tree instead of using overlayfs
    #[argh(switch)]
    no_overlay: bool,
    /// write the pod's UUID to this file
    #[argh(option)]
    uuid_file_save: Option<String>,
    /// the image list: IMAGE [--exec=PATH] [--name=N] [-- args... [---]]
    #[argh(positional, greedy)]
    pub(super) images: Vec<String>,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let net = match args.net.as_str() {
        "host" => Net::Host,
        "none" => Net::None,
        other => {
            return Err(Error::NotImplemented(format!(
                "rkt run --net={other} (only host and none)"
            )))
        }
    };
    let apps =
        applist::parse(&image_list(&args.images)).map_err(|e| Error::Usage(format!("run: {e}")))?;
    if apps.is_empty() {
        return Err(Error::Usage(
            "run: must provide at least one image or specify the pod manifest".into(),
        ));
    }
    if apps.len() > 1 {
        return Err(Error::NotImplemented(
            "rkt run with more than one image".into(),
        ));
    }
    let opts = RunOptions {
        net,
        hostname: args.hostname,
        no_overlay: args.no_overlay,
        uuid_file_save: args.uuid_file_save.map(Into::into),
        insecure_image: config.insecure.contains(Insecure::IMAGE),
        insecure_paths: config.insecure.contains(Insecure::PATHS),
        debug: config.debug,
        apps,
    };
    let code = stage0::run(&config.data_dir, &opts).map_err(Error::Run)?;
    Ok(ExitCode::from(code))
}

/// The image list without the `--` the normalizer puts after the first image (argh keeps it
/// in a greedy positional), so that a user's own `--` is the one the grammar sees.
pub(super) fn image_list(images: &[String]) -> Vec<String> {
    let mut v = images.to_vec();
    if v.get(1).is_some_and(|m| m == "--") {
        v.remove(1);
    }
    v
}
