//! `rkt trust [--prefix P | --root] [--skip-fingerprint-review] [--insecure-allow-http]
//! [KEY_FILE...]`: review keys and add them to the local trust store, as rkt 1.30 did.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use argh::FromArgs;

use crate::config::Config;
use crate::error::Error;
use crate::trust::{self, Scope};

#[derive(FromArgs, Debug)]
/// trust a key for image verification
#[argh(subcommand, name = "trust")]
pub(crate) struct Args {
    /// the image name prefix the keys are trusted for
    #[argh(option)]
    prefix: Option<String>,
    /// trust the keys for every image name
    #[argh(switch)]
    root: bool,
    /// trust the keys without asking to review their fingerprints
    #[argh(switch)]
    skip_fingerprint_review: bool,
    /// allow fetching keys over plain http
    #[argh(switch)]
    insecure_allow_http: bool,
    /// the key files (armored or binary; a file may hold several keys)
    #[argh(positional)]
    keys: Vec<String>,
}

pub(crate) fn run(args: Args, config: &Config) -> Result<ExitCode, Error> {
    let scope = match (&args.prefix, args.root) {
        (Some(_), true) => {
            return Err(Error::Usage(
                "trust: --root and --prefix are mutually exclusive".into(),
            ))
        }
        (None, false) => return Err(Error::Usage("trust: --prefix or --root is required".into())),
        (None, true) => Scope::Root,
        (Some(p), false) => Scope::prefix(p).map_err(Error::Trust)?,
    };
    // rkt: `--trust-keys-from-https` accepts keys fetched over https without review.
    let reviewed = |location: &str| {
        let auto = config.trust_keys_from_https && location.starts_with("https://");
        !(args.skip_fingerprint_review || auto)
    };
    let terminal = std::io::stdin().is_terminal();
    let no_terminal = || {
        Error::Usage(
            "trust: reviewing a key's fingerprint needs a terminal on stdin; use \
             --skip-fingerprint-review to trust keys without review"
                .into(),
        )
    };
    let all_https = !args.keys.is_empty() && args.keys.iter().all(|k| !reviewed(k));
    if !terminal && !args.skip_fingerprint_review && !config.trust_keys_from_https {
        return Err(no_terminal());
    }
    if !terminal && !args.keys.is_empty() && !all_https {
        return Err(no_terminal());
    }
    let sources: Vec<(String, Vec<trust::key::Key>)> = match (&scope, args.keys.is_empty()) {
        (Scope::Root, true) => {
            return Err(Error::Usage("trust: --root needs a key file".into()));
        }
        (Scope::Prefix(p), true) => {
            trust::discover_keys(config, p, args.insecure_allow_http).map_err(Error::Trust)?
        }
        (_, false) => args
            .keys
            .iter()
            .map(|arg| {
                trust::read_keys(config, arg, args.insecure_allow_http)
                    .map(|keys| (arg.clone(), keys))
            })
            .collect::<Result<_, _>>()
            .map_err(Error::Trust)?,
    };
    if !terminal && sources.iter().any(|(location, _)| reviewed(location)) {
        return Err(no_terminal());
    }
    let mut stdin = std::io::stdin().lock();
    for (location, keys) in sources {
        for key in keys {
            let review = reviewed(&location);
            if review {
                show_key(scope.as_str(), &location, &key);
                if !ask(&mut stdin)? {
                    eprintln!("Not trusting {location:?}");
                    continue;
                }
            }
            let review = if review { "after" } else { "without" };
            eprintln!(
                "Trusting {location:?} for prefix {:?} {review} fingerprint review.",
                scope.as_str()
            );
            let path = trust::store::store_key(&config.local_config, &scope, &key)
                .map_err(Error::Trust)?;
            let line = match &scope {
                Scope::Root => format!("Added root key at {:?}", path.display().to_string()),
                Scope::Prefix(p) => format!(
                    "Added key for prefix {p:?} at {:?}",
                    path.display().to_string()
                ),
            };
            super::print_line(&line)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// rkt's review text, on stderr.
fn show_key(prefix: &str, location: &str, key: &trust::key::Key) {
    let (primary, subkeys) = key.human_fingerprints();
    eprintln!("Prefix: {prefix:?}");
    eprintln!("Key: {location:?}");
    eprintln!("GPG key fingerprint is: {primary}");
    for sub in subkeys {
        eprintln!("    Subkey fingerprint: {sub}");
    }
    for id in key.identities() {
        eprintln!("\t{id}");
    }
}

/// Asks until the answer is `yes` or `no`; end of input is `no`.
fn ask(input: &mut impl BufRead) -> Result<bool, Error> {
    loop {
        eprint!("Are you sure you want to trust this key (yes/no)? ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        let n = input
            .read_line(&mut line)
            .map_err(|e| Error::Usage(format!("trust: read the answer: {e}")))?;
        if n == 0 {
            eprintln!();
            return Ok(false);
        }
        match line.trim().to_ascii_lowercase().as_str() {
            "yes" => return Ok(true),
            "no" => return Ok(false),
            _ => eprintln!("Please enter 'yes' or 'no'"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_yes_or_no_and_eof_is_no() {
        assert!(ask(&mut &b"yes\n"[..]).unwrap());
        assert!(!ask(&mut &b"no\n"[..]).unwrap());
        assert!(ask(&mut &b"maybe\nYES\n"[..]).unwrap());
        assert!(!ask(&mut &b"maybe\n"[..]).unwrap());
    }
}
