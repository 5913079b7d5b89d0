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
    /// the detached signature of the image it follows (default: <file>.aci.asc beside a file)
    #[argh(option)]
    signature: Vec<String>,
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
    /// (name[:version][,label=value...]), or an image ID already in the store, each
    /// optionally followed by --signature FILE
    #[argh(positional, greedy)]
    images: Vec<String>,
}

/// One image argument and the `--signature` that followed it.
#[derive(Debug, PartialEq, Eq)]
struct ImageArg {
    image: String,
    signature: Option<String>,
}

/// Splits the image list (argh keeps everything after the first image, in order) into images
/// and their signatures: `--signature FILE` applies to the image before it, as in rkt.
fn image_args(args: &Args) -> Result<(Vec<ImageArg>, bool), Error> {
    if !args.signature.is_empty() {
        return Err(Error::Usage(
            "fetch: --signature must follow the image it applies to".into(),
        ));
    }
    let mut out: Vec<ImageArg> = Vec::new();
    let mut full = args.full;
    let mut iter = args.images.iter();
    while let Some(arg) = iter.next() {
        let value = match arg.as_str() {
            "--full" => {
                full = true;
                continue;
            }
            "--signature" => iter.next().cloned(),
            other => match other.strip_prefix("--signature=") {
                Some(v) => Some(v.to_string()),
                None if other.starts_with("--") => {
                    return Err(Error::Usage(format!("fetch: unknown flag: {other}")))
                }
                None => {
                    out.push(ImageArg {
                        image: other.to_string(),
                        signature: None,
                    });
                    continue;
                }
            },
        };
        let value = value
            .ok_or_else(|| Error::Usage("fetch: flag needs an argument: --signature".into()))?;
        match out.last_mut() {
            Some(last) if last.signature.is_none() => last.signature = Some(value),
            Some(last) => {
                return Err(Error::Usage(format!(
                    "fetch: --signature given twice for {}",
                    last.image
                )))
            }
            None => unreachable!("argh puts flags before the first image in Args"),
        }
    }
    Ok((out, full))
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
    let (images, full) = image_args(&args)?;
    if images.is_empty() {
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
    for ImageArg { image, signature } in &images {
        let arg = image;
        let key = match classify(arg) {
            Source::Stored if signature.is_some() => {
                super::report_message(
                    "fetch",
                    arg,
                    "--signature applies to image files, URLs and names being fetched; this image is in the store",
                );
                errored = true;
                continue;
            }
            Source::Stored => store.resolve(arg).map_err(Error::from),
            Source::File(path) => {
                crate::log::debug!(
                    "image: using image from file {}",
                    crate::fetch::shown_path(path)
                );
                let signature = signature.as_deref().map(std::path::Path::new);
                let checked = crate::trust::check_local_image(
                    &crate::trust::TrustDirs::new(config),
                    config.insecure.contains(Insecure::IMAGE),
                    std::path::Path::new(path),
                    signature,
                );
                let checked = match checked {
                    Ok(c) => c,
                    Err(e) => {
                        super::report_error("fetch", arg, &e);
                        errored = true;
                        continue;
                    }
                };
                store
                    .import(std::path::Path::new(path))
                    .map(|imported| {
                        checked.report();
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
            Source::Url(url) => fetcher
                .fetch_url(url, signature.as_deref().map(std::path::Path::new))
                .map_err(Error::from),
            Source::Name => fetcher
                .fetch_name(arg, signature.as_deref().map(std::path::Path::new))
                .map_err(Error::from),
            Source::Unsupported(why) => {
                super::report_message("fetch", arg, why);
                errored = true;
                continue;
            }
        };
        match key {
            Ok(key) if full => super::print_line(key.as_str())?,
            Ok(key) => super::print_line(key.short())?,
            Err(e) => {
                super::report_error("fetch", arg, &e);
                errored = true;
            }
        }
    }
    Ok(super::exit(errored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(images: &[&str], signature: &[&str]) -> Args {
        Args {
            full: false,
            signature: signature.iter().map(|s| s.to_string()).collect(),
            pull_policy: None,
            no_store: false,
            store_only: false,
            images: images.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn signatures_follow_their_image() {
        let (list, full) = image_args(&args(
            &[
                "a.aci",
                "--signature",
                "a.asc",
                "b.aci",
                "c.aci",
                "--signature=c.asc",
                "--full",
            ],
            &[],
        ))
        .unwrap();
        assert!(full);
        let sig = |s: &str| Some(s.to_string());
        assert_eq!(
            list,
            vec![
                ImageArg {
                    image: "a.aci".into(),
                    signature: sig("a.asc")
                },
                ImageArg {
                    image: "b.aci".into(),
                    signature: None
                },
                ImageArg {
                    image: "c.aci".into(),
                    signature: sig("c.asc")
                },
            ]
        );
        assert!(image_args(&args(&["a"], &["x"])).is_err());
        assert!(image_args(&args(&["a", "--signature"], &[])).is_err());
        assert!(image_args(&args(&["a", "--signature=x", "--signature=y"], &[])).is_err());
        assert!(image_args(&args(&["a", "--bogus"], &[])).is_err());
    }
}
