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
    /// `--user`, `--group`: a number, a name in the image, or an absolute path in the image.
    pub(crate) user: Option<String>,
    pub(crate) group: Option<String>,
    /// `--supplementary-gids=1,2,3`.
    pub(crate) supplementary_gids: Option<Vec<u32>>,
    /// `--working-dir`.
    pub(crate) working_dir: Option<String>,
    /// `--readonly-rootfs[=bool]`.
    pub(crate) readonly_rootfs: Option<bool>,
    /// `--environment K=V` (repeatable): the highest-precedence env of this app.
    pub(crate) environment: Vec<(String, String)>,
    /// `--annotation K=V`, `--user-annotation K=V`, `--user-label K=V` (repeatable).
    pub(crate) annotations: Vec<(String, String)>,
    pub(crate) user_annotations: Vec<(String, String)>,
    pub(crate) user_labels: Vec<(String, String)>,
    /// `--mount volume=V,target=PATH` (repeatable), as (volume, target).
    pub(crate) mounts: Vec<(String, String)>,
    /// `--signature FILE`: the detached signature of an image file (only after an image).
    pub(crate) signature: Option<String>,
    /// `--caps-retain=CAP_A,CAP_B` and `--caps-remove=...` (deprecated: `--cap-retain`,
    /// `--cap-remove`): replace the image's capability isolators.
    pub(crate) caps_retain: Option<Vec<String>>,
    pub(crate) caps_remove: Option<Vec<String>>,
    /// `--seccomp mode=retain|remove[,errno=E],syscall,...`: replaces the image's seccomp
    /// isolators.
    pub(crate) seccomp: Option<SeccompFlag>,
    /// `--memory=64Mi`, `--cpu=500m`: appended to the image's isolators (the last one counts,
    /// as in rkt); `--cpu-shares`, `--oom-score-adj`: replace the image's of their kind.
    pub(crate) memory: Option<crate::appc::Quantity>,
    pub(crate) cpu: Option<crate::appc::Quantity>,
    pub(crate) cpu_shares: Option<u32>,
    pub(crate) oom_score_adj: Option<i32>,
}

/// A parsed `--seccomp` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeccompFlag {
    /// `mode=retain` (else `remove`).
    pub(crate) retain: bool,
    pub(crate) errno: Option<String>,
    /// Syscall names and wildcards, in order.
    pub(crate) set: Vec<String>,
}

/// rkt 1.30's `--seccomp` grammar (`common/apps/apps.go` `SeccompOverride`): comma-separated
/// items in any order; `key=value` items are `mode` and `errno`, every other item a syscall.
pub(crate) fn parse_seccomp(value: &str) -> Result<SeccompFlag, String> {
    let (mut mode, mut errno, mut set) = (None, None, Vec::new());
    for item in value.split(',') {
        match item.split_once('=') {
            Some((k, v)) if !v.contains('=') => match k {
                "mode" => mode = Some(v.to_string()),
                "errno" => errno = Some(v.to_string()).filter(|e| !e.is_empty()),
                _ => return Err("invalid seccomp command-line override".into()),
            },
            _ if item.is_empty() => return Err("empty syscall name".into()),
            _ => set.push(item.to_string()),
        }
    }
    let retain = match mode.as_deref() {
        Some("retain") => true,
        Some("remove") => false,
        _ => return Err("invalid seccomp mode command-line override".into()),
    };
    if set.is_empty() {
        return Err("set must be non-empty".into());
    }
    Ok(SeccompFlag { retain, errno, set })
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
    /// A value that does not parse: the flag and why.
    BadValue(String, String),
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
            ParseError::BadValue(fl, why) => write!(f, "invalid value for --{fl}: {why}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// What a flag met after an image is, as the command's flag table says (`cli::pod_flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListRole {
    /// The app's, bound to the image before it.
    App { takes_value: bool },
    /// The pod's, read where it stands (rkt's `parseApps` re-parses with the whole flag set,
    /// so `IMAGE --set-env=K=V` sets the pod's env, as Nomad writes it).
    Pod { takes_value: bool },
    /// rkt 1.30 has it; this build does not implement it yet.
    Pending,
}

/// The image list: the apps, and the pod flags found among them, as (flag, value) in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ImageList {
    pub(crate) apps: Vec<AppArg>,
    pub(crate) pod_flags: Vec<(String, String)>,
}

/// Parses the image list (everything from the first image on), keeping the pod flags found
/// in it; `role` says what each flag is.
pub(crate) fn parse_list(
    argv: &[String],
    role: &dyn Fn(&str) -> Option<ListRole>,
) -> Result<ImageList, ParseError> {
    let mut apps: Vec<AppArg> = Vec::new();
    let mut pod_flags = Vec::new();
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
        let (is_pod, takes_value) = match role(name) {
            None => return Err(ParseError::Unknown(name.into())),
            Some(ListRole::Pending) => return Err(ParseError::NotImplemented(name.into())),
            Some(ListRole::App { takes_value }) => (false, takes_value),
            Some(ListRole::Pod { takes_value }) => (true, takes_value),
        };
        let value = match inline {
            Some(v) => v,
            // pflag's bool flags take no separate value.
            None if !takes_value => "true".to_string(),
            None => {
                let v = argv
                    .get(i)
                    .cloned()
                    .ok_or_else(|| ParseError::MissingValue(name.into()))?;
                i += 1;
                v
            }
        };
        if is_pod {
            pod_flags.push((name.to_string(), value));
            continue;
        }
        let app = apps
            .last_mut()
            .ok_or_else(|| ParseError::FlagBeforeImage(name.into()))?;
        apply_flag(app, name, &value)?;
    }
    Ok(ImageList { apps, pod_flags })
}

/// Sets one per-app flag (`name` without dashes) on `app`: singular flags may be given once,
/// `--environment` and the annotation flags repeat.
pub(crate) fn apply_flag(app: &mut AppArg, name: &str, value: &str) -> Result<(), ParseError> {
    fn once<T>(slot: &mut Option<T>, name: &str, v: T) -> Result<(), ParseError> {
        if slot.is_some() {
            return Err(ParseError::Repeated(name.into()));
        }
        *slot = Some(v);
        Ok(())
    }
    let bad = |why: &str| ParseError::BadValue(name.into(), format!("{value:?}: {why}"));
    let kv = || -> Result<(String, String), ParseError> {
        match value.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(bad("expected NAME=VALUE")),
        }
    };
    match name {
        "exec" => once(&mut app.exec, name, value.to_string()),
        "name" => once(&mut app.name, name, value.to_string()),
        "signature" if value.is_empty() => Err(bad("empty")),
        "signature" => once(&mut app.signature, name, value.to_string()),
        "user" | "group" | "working-dir" if value.is_empty() => Err(bad("empty")),
        "user" => once(&mut app.user, name, value.to_string()),
        "group" => once(&mut app.group, name, value.to_string()),
        "working-dir" => once(&mut app.working_dir, name, value.to_string()),
        "supplementary-gids" => {
            let gids = value
                .split(',')
                .map(|g| g.trim().parse::<u32>())
                .collect::<Result<Vec<u32>, _>>()
                .map_err(|_| bad("expected a comma-separated list of numbers"))?;
            once(&mut app.supplementary_gids, name, gids)
        }
        "readonly-rootfs" => {
            let on = match value {
                "true" | "1" | "t" | "T" | "TRUE" | "True" => true,
                "false" | "0" | "f" | "F" | "FALSE" | "False" => false,
                _ => return Err(bad("expected true or false")),
            };
            once(&mut app.readonly_rootfs, name, on)
        }
        "environment" => {
            app.environment.push(kv()?);
            Ok(())
        }
        "annotation" => {
            app.annotations.push(kv()?);
            Ok(())
        }
        "user-annotation" => {
            app.user_annotations.push(kv()?);
            Ok(())
        }
        "user-label" => {
            app.user_labels.push(kv()?);
            Ok(())
        }
        "mount" => {
            let m = super::volumes::parse_mount(value).map_err(|why| bad(&why))?;
            app.mounts.push(m);
            Ok(())
        }
        "caps-retain" | "caps-remove" | "cap-retain" | "cap-remove" => {
            let caps: Vec<String> = value.split(',').map(|c| c.trim().to_string()).collect();
            if caps.iter().any(String::is_empty) {
                return Err(bad("expected CAP_NAME[,CAP_NAME...]"));
            }
            let slot = if name.ends_with("retain") {
                &mut app.caps_retain
            } else {
                &mut app.caps_remove
            };
            once(slot, name, caps)
        }
        "seccomp" => {
            let flag = parse_seccomp(value).map_err(|why| bad(&why))?;
            once(&mut app.seccomp, name, flag)
        }
        "memory" | "cpu" => {
            let q = crate::appc::Quantity::parse(value).map_err(|e| bad(&e.to_string()))?;
            if name == "memory" {
                // rkt 1.30's words.
                if q.value() < 4096 {
                    return Err(bad(&format!(
                        "memory limit of {} bytes too low. Try a reasonable value, such as \
                         --memory=16M",
                        q.value()
                    )));
                }
                once(&mut app.memory, name, q)
            } else {
                if q.milli_value() <= 0 {
                    return Err(bad("cpu limit must be positive"));
                }
                once(&mut app.cpu, name, q)
            }
        }
        "cpu-shares" => {
            let n: i64 = value.parse().map_err(|_| bad("not an integer"))?;
            if !(2..=262_144).contains(&n) {
                return Err(bad(&format!(
                    "os/linux/cpu-shares must be between 2 and 262144, got {n}"
                )));
            }
            once(&mut app.cpu_shares, name, n as u32)
        }
        "oom-score-adj" => {
            let n: i64 = value.parse().map_err(|_| bad("not an integer"))?;
            if !(-1000..=1000).contains(&n) {
                return Err(bad(&format!(
                    "os/linux/oom-score-adj must be between -1000 and 1000, got {n}"
                )));
            }
            once(&mut app.oom_score_adj, name, n as i32)
        }
        _ => Err(ParseError::Unknown(name.into())),
    }
}

impl AppArg {
    /// Fills what this app leaves unset from the flags given before the first image (rkt:
    /// they apply to every app; the app's own flags win, repeatable ones come after).
    pub(crate) fn with_defaults(mut self, d: &AppArg) -> AppArg {
        fn or<T: Clone>(own: &mut Option<T>, d: &Option<T>) {
            if own.is_none() {
                own.clone_from(d);
            }
        }
        or(&mut self.user, &d.user);
        or(&mut self.group, &d.group);
        or(&mut self.supplementary_gids, &d.supplementary_gids);
        or(&mut self.working_dir, &d.working_dir);
        or(&mut self.readonly_rootfs, &d.readonly_rootfs);
        // Capability flags replace each other's set: an app's own --caps-remove wins over a
        // --caps-retain given for every app.
        if self.caps_retain.is_none() && self.caps_remove.is_none() {
            self.caps_retain.clone_from(&d.caps_retain);
            self.caps_remove.clone_from(&d.caps_remove);
        }
        or(&mut self.seccomp, &d.seccomp);
        or(&mut self.memory, &d.memory);
        or(&mut self.cpu, &d.cpu);
        or(&mut self.cpu_shares, &d.cpu_shares);
        or(&mut self.oom_score_adj, &d.oom_score_adj);
        for (own, def) in [
            (&mut self.environment, &d.environment),
            (&mut self.annotations, &d.annotations),
            (&mut self.user_annotations, &d.user_annotations),
            (&mut self.user_labels, &d.user_labels),
        ] {
            let mut v = def.clone();
            v.append(own);
            *own = v;
        }
        // rkt: an app's own --mount on a path wins over one given for every app.
        let mut mounts: Vec<(String, String)> = d
            .mounts
            .iter()
            .filter(|(_, t)| !self.mounts.iter().any(|(_, own)| own == t))
            .cloned()
            .collect();
        mounts.append(&mut self.mounts);
        self.mounts = mounts;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grammar with the real flag table.
    fn parse(argv: &[String]) -> Result<Vec<AppArg>, ParseError> {
        parse_list(argv, &|n| {
            crate::cli::pod_flags::list_role(crate::cli::pod_flags::Cmd::Run, n)
        })
        .map(|l| l.apps)
    }

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
                ..AppArg::default()
            }]
        );
    }

    #[test]
    fn signature_belongs_to_the_image_before_it() {
        let apps = p(&[
            "a.aci",
            "--signature=a.asc",
            "b.aci",
            "--signature",
            "b.asc",
            "c",
        ])
        .unwrap();
        assert_eq!(apps[0].signature.as_deref(), Some("a.asc"));
        assert_eq!(apps[1].signature.as_deref(), Some("b.asc"));
        assert_eq!(apps[2].signature, None);
        assert_eq!(
            p(&["--signature=x", "a"]),
            Err(ParseError::FlagBeforeImage("signature".into()))
        );
        assert_eq!(
            p(&["a", "--signature=x", "--signature=y"]),
            Err(ParseError::Repeated("signature".into()))
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
            p(&["a", "--stdin=x"]),
            Err(ParseError::NotImplemented("stdin".into()))
        );
        assert!(matches!(
            p(&["a", "--mount=volume=v"]),
            Err(ParseError::BadValue(..))
        ));
        assert!(matches!(
            p(&["a", "--supplementary-gids=1,x"]),
            Err(ParseError::BadValue(..))
        ));
        assert!(matches!(
            p(&["a", "--environment=NOEQUALS"]),
            Err(ParseError::BadValue(..))
        ));
        assert!(matches!(
            p(&["a", "--readonly-rootfs=maybe"]),
            Err(ParseError::BadValue(..))
        ));
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
            p(&["a", "--stdin=x"]).unwrap_err().to_string(),
            "--stdin: not implemented yet in this rkt"
        );
    }

    #[test]
    fn every_app_flag_and_defaults_from_before_the_first_image() {
        let apps = p(&[
            "a",
            "--user=web",
            "--group",
            "33",
            "--supplementary-gids=1,2",
            "--working-dir=/srv",
            "--readonly-rootfs",
            "--environment=X=1",
            "--environment",
            "Y=a=b",
            "--annotation=k=v",
            "--user-annotation=ua=1",
            "--user-label=ul=2",
            "b",
            "--readonly-rootfs=false",
            "c",
        ])
        .unwrap();
        let a = &apps[0];
        assert_eq!(a.user.as_deref(), Some("web"));
        assert_eq!(a.group.as_deref(), Some("33"));
        assert_eq!(a.supplementary_gids, Some(vec![1, 2]));
        assert_eq!(a.working_dir.as_deref(), Some("/srv"));
        assert_eq!(a.readonly_rootfs, Some(true));
        assert_eq!(
            a.environment,
            vec![("X".into(), "1".into()), ("Y".into(), "a=b".into())]
        );
        assert_eq!(a.annotations, vec![("k".into(), "v".into())]);
        assert_eq!(a.user_annotations, vec![("ua".into(), "1".into())]);
        assert_eq!(a.user_labels, vec![("ul".into(), "2".into())]);
        // A bare bool flag does not eat the next image.
        assert_eq!(apps[1].image, "b");
        assert_eq!(apps[1].readonly_rootfs, Some(false));
        assert_eq!(apps[2].image, "c");

        let mut d = AppArg::default();
        apply_flag(&mut d, "user", "1").unwrap();
        apply_flag(&mut d, "readonly-rootfs", "true").unwrap();
        apply_flag(&mut d, "environment", "X=0").unwrap();
        apply_flag(&mut d, "mount", "volume=all,target=/x").unwrap();
        apply_flag(&mut d, "mount", "volume=all,target=/y").unwrap();
        let mut own = AppArg::default();
        apply_flag(&mut own, "mount", "volume=mine,target=/y").unwrap();
        assert_eq!(
            own.with_defaults(&d).mounts,
            vec![
                ("all".to_string(), "/x".to_string()),
                ("mine".to_string(), "/y".to_string())
            ]
        );
        let b = apps[1].clone().with_defaults(&d);
        assert_eq!(b.user.as_deref(), Some("1"));
        // The app's own value wins; repeatable flags: defaults first, so the app's win later.
        assert_eq!(b.readonly_rootfs, Some(false));
        assert_eq!(b.environment, vec![("X".into(), "0".into())]);
        let a = apps[0].clone().with_defaults(&d);
        assert_eq!(a.user.as_deref(), Some("web"));
        assert_eq!(a.environment[0], ("X".into(), "0".into()));
        assert_eq!(a.environment[1], ("X".into(), "1".into()));
        assert_eq!(
            apply_flag(&mut d, "user", "2"),
            Err(ParseError::Repeated("user".into()))
        );
    }

    #[test]
    fn pod_flags_among_the_images_are_kept_for_the_pod() {
        let argv: Vec<String> = [
            "a",
            "--set-env=X=1",
            "--inherit-env",
            "b",
            "--set-env",
            "Y=2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let l = parse_list(&argv, &|n| {
            crate::cli::pod_flags::list_role(crate::cli::pod_flags::Cmd::Run, n)
        })
        .unwrap();
        assert_eq!(l.apps.len(), 2);
        assert_eq!(l.apps[1].image, "b");
        assert_eq!(
            l.pod_flags,
            vec![
                ("set-env".to_string(), "X=1".to_string()),
                ("inherit-env".to_string(), "true".to_string()),
                ("set-env".to_string(), "Y=2".to_string()),
            ]
        );
    }
}
