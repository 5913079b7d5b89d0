//! The image list of `rkt run`: `IMAGE [per-app flags] [-- args... [---]] [IMAGE ...]`
//! (rkt `cli_apps.go:parseApps`, rkt-behaviour §5.1). Pure: strings in, apps out.

use std::fmt;

/// One app as the command line describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AppArg {
    /// The image: an ID prefix, a name in the store, or a file.
    pub(crate) image: String,
    /// `--exec`: replaces the image's `exec[0]`.
    pub(crate) exec: Option<String>,
    /// `--name`: the app's name in the pod.
    pub(crate) name: Option<String>,
    /// After `--`: replace the image's arguments.
    pub(crate) args: Option<Vec<String>>,
}

/// A bad image list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// A per-app flag before any image.
    FlagBeforeImage(String),
    /// A flag rkt 1.30 has that this build does not implement yet.
    NotImplemented(String),
    /// A flag rkt never had.
    Unknown(String),
    /// A flag that needs a value got none.
    MissingValue(String),
    /// The same per-app flag twice for one image.
    Repeated(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::FlagBeforeImage(fl) => {
                write!(f, "--{fl} must follow the image it applies to")
            }
            ParseError::NotImplemented(fl) => write!(f, "--{fl}: not implemented yet in this rkt"),
            ParseError::Unknown(fl) => write!(f, "unknown flag: --{fl}"),
            ParseError::MissingValue(fl) => write!(f, "flag needs an argument: --{fl}"),
            ParseError::Repeated(fl) => write!(f, "--{fl} given twice for one image"),
        }
    }
}

impl std::error::Error for ParseError {}

/// rkt 1.30's per-app flags that this build does not implement yet: accepted nowhere, named
/// in the error (never silently ignored). All take a value.
const PENDING: &[&str] = &[
    "mount",
    "set-env",
    "set-env-file",
    "environment",
    "user",
    "group",
    "supplementary-gids",
    "working-dir",
    "readonly-rootfs",
    "seccomp",
    "cap-retain",
    "cap-remove",
    "memory",
    "cpu",
    "cpu-shares",
    "oom-score-adj",
    "user-annotation",
    "user-label",
    "stdin",
    "stdout",
    "stderr",
    "signature",
    "port",
    "volume",
];

/// Parses the image list (everything from the first image on).
pub(crate) fn parse(argv: &[String]) -> Result<Vec<AppArg>, ParseError> {
    let mut apps: Vec<AppArg> = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let arg = &argv[i];
        i += 1;
        if arg == "--" {
            let args: Vec<String> = argv[i..]
                .iter()
                .take_while(|a| *a != "---")
                .cloned()
                .collect();
            i += args.len();
            if argv.get(i).is_some_and(|a| a == "---") {
                i += 1;
            }
            match apps.last_mut() {
                Some(app) => app.args = Some(args),
                None => return Err(ParseError::FlagBeforeImage("-".into())),
            }
            continue;
        }
        let Some(flag) = arg.strip_prefix("--") else {
            apps.push(AppArg {
                image: arg.clone(),
                ..AppArg::default()
            });
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        if PENDING.contains(&name) {
            return Err(ParseError::NotImplemented(name.into()));
        }
        if name != "exec" && name != "name" {
            return Err(ParseError::Unknown(name.into()));
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = argv
                    .get(i)
                    .cloned()
                    .ok_or_else(|| ParseError::MissingValue(name.into()))?;
                i += 1;
                v
            }
        };
        let app = apps
            .last_mut()
            .ok_or_else(|| ParseError::FlagBeforeImage(name.into()))?;
        let slot = if name == "exec" {
            &mut app.exec
        } else {
            &mut app.name
        };
        if slot.is_some() {
            return Err(ParseError::Repeated(name.into()));
        }
        *slot = Some(value);
    }
    Ok(apps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Vec<AppArg>, ParseError> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn image_flags_and_args() {
        let apps = p(&[
            "img",
            "--exec=/bin/x",
            "--name",
            "a",
            "--",
            "-v",
            "--exec",
            "y",
        ])
        .unwrap();
        assert_eq!(
            apps,
            vec![AppArg {
                image: "img".into(),
                exec: Some("/bin/x".into()),
                name: Some("a".into()),
                args: Some(vec!["-v".into(), "--exec".into(), "y".into()]),
            }]
        );
    }

    #[test]
    fn triple_dash_ends_args_and_a_second_image_follows() {
        let apps = p(&["a", "--", "x", "---", "b", "--name=n"]).unwrap();
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0].args, Some(vec!["x".to_string()]));
        assert_eq!(apps[1].image, "b");
        assert_eq!(apps[1].name.as_deref(), Some("n"));
        // An empty `--` gives an empty argument list (the image's args are replaced).
        assert_eq!(p(&["a", "--"]).unwrap()[0].args, Some(vec![]));
        assert_eq!(p(&["a"]).unwrap()[0].args, None);
    }

    #[test]
    fn errors_name_the_flag() {
        assert_eq!(
            p(&["a", "--set-env=X=1"]),
            Err(ParseError::NotImplemented("set-env".into()))
        );
        assert_eq!(
            p(&["a", "--bogus"]),
            Err(ParseError::Unknown("bogus".into()))
        );
        assert_eq!(
            p(&["a", "--exec"]),
            Err(ParseError::MissingValue("exec".into()))
        );
        assert_eq!(
            p(&["a", "--name=x", "--name=y"]),
            Err(ParseError::Repeated("name".into()))
        );
        assert_eq!(
            p(&["--exec=/x", "a"]),
            Err(ParseError::FlagBeforeImage("exec".into()))
        );
        assert_eq!(
            p(&["a", "--memory=1G"]).unwrap_err().to_string(),
            "--memory: not implemented yet in this rkt"
        );
    }
}
