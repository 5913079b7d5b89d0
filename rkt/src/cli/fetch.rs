//! `rkt fetch IMAGE...` (and the hidden `rkt image fetch`): import local ACIs, download
//! `http(s)://` URLs and discover appc names into the store, and print their IDs. Each argument is handled on its own; a failing one is reported and the
//! command exits 254 at the end.

use std::process::ExitCode;

use argh::FromArgs;

use crate::config::{Config, Insecure};
use crate::error::Error;
use crate::fetch::{Fetcher, PullPolicy};
use crate::store::{ImageQuery, Store};

#[derive(FromArgs, Debug)]
/// fetch image(s) and store them in the local store
#[argh(subcommand, name = "fetch")]
pub(crate) struct Args {
    /// print the full image hash after fetching
    #[argh(switch)]
    full: bool,
    /// when to pull an image: new (only if not in the store), update (default: always ask
    /// the server, reusing unchanged images) or never (the store only)
    #[argh(option)]
    pull_policy: Option<String>,
    /// deprecated: --pull-policy=update
    #[argh(switch)]
    no_store: bool,
    /// deprecated: --pull-policy=never
    #[argh(switch)]
    store_only: bool,
    /// the images: a path to an .aci file, a file:// URL, an http(s):// URL, an appc name
    /// (name[:version][,label=value...]), or an image ID already in the store
    #[argh(positional, greedy)]
    images: Vec<String>,
}

/// What a fetch argument names.
enum Source<'a> {
    File(&'a str),
    Stored,
    Url(&'a str),
    Name,
    Unsupported(&'static str),
}

fn classify(arg: &str) -> Source<'_> {
    if let Some(path) = arg.strip_prefix("file://") {
        return Source::File(path);
    }
    if crate::fetch::is_url(arg) {
        return Source::Url(arg);
    }
    if arg.starts_with("docker://") || arg.starts_with("docker:") {
        return Source::Unsupported("docker images are not supported");
    }
    if matches!(ImageQuery::parse(arg), Ok(ImageQuery::Id(_))) {
        return Source::Stored;
    }
    // rkt's rule: an absolute path, an existing file, `./` or an `.aci` suffix is a path.
    let path = std::path::Path::new(arg);
    if path.is_absolute() || path.is_file() || arg.contains("./") || arg.ends_with(".aci") {
        return Source::File(arg);
    }
    Source::Name
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    if args.images.is_empty() {
        return Err(Error::Usage(
            "fetch: must provide at least one image".into(),
        ));
    }
    let policy = PullPolicy::from_flags(
        args.pull_policy.as_deref(),
        args.no_store,
        args.store_only,
        PullPolicy::Update,
    )
    .map_err(|e| Error::Usage(format!("fetch: {e}")))?;
    let store = Store::open(&config.data_dir)?;
    let fetcher = Fetcher::new(&store, config, policy);
    let mut errored = false;
    for arg in &args.images {
        let key = match classify(arg) {
            Source::Stored => store.resolve(arg).map_err(Error::from),
            Source::File(path) => {
                if !config.insecure.contains(Insecure::IMAGE) {
                    super::report_message(
                        "fetch",
                        arg,
                        "signature verification is not implemented yet; use \
                         --insecure-options=image to import unverified images",
                    );
                    errored = true;
                    continue;
                }
                store
                    .import(std::path::Path::new(path))
                    .map(|imported| {
                        if imported.existed {
                            crate::log::debug!(
                                "{arg}: image {} was already in the store",
                                imported.key
                            );
                        }
                        imported.key
                    })
                    .map_err(Error::from)
            }
            Source::Url(url) => fetcher.fetch_url(url).map_err(Error::from),
            Source::Name => fetcher.fetch_name(arg).map_err(Error::from),
            Source::Unsupported(why) => {
                super::report_message("fetch", arg, why);
                errored = true;
                continue;
            }
        };
        match key {
            Ok(key) if args.full => super::print_line(key.as_str())?,
            Ok(key) => super::print_line(key.short())?,
            Err(e) => {
                super::report_error("fetch", arg, &e);
                errored = true;
            }
        }
    }
    Ok(super::exit(errored))
}
