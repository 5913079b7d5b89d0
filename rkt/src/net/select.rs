//! `--net`: rkt 1.30's list syntax (`--net=name[:K=V;K2=V2],name2`, repeatable, bare `--net`
//! meaning `default`) and its rule for which networks a pod joins: the named networks of
//! `<local-config>/net.d` first, in file order, then a built-in one (`default` when asked for
//! or with `all`, else `default-restricted`) unless a file defined `default` or
//! `default-restricted` itself.

use std::fmt;

use super::{Builtin, DEFAULT, DEFAULT_RESTRICTED};

/// One `--net` entry: a network name and its CNI_ARGS, verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) name: String,
    pub(crate) args: String,
}

/// What `--net` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    /// The host's network namespace.
    Host,
    /// A namespace with only `lo`.
    None,
    /// A namespace of its own, joined to these networks (`all` included as given).
    Contained(Vec<Request>),
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SelectError {
    EmptyName,
    Duplicate(String),
    SpecialWithArgs(String),
    BadArgs(String, String),
    Exclusive(String),
    NotFound(Vec<String>),
}

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectError::EmptyName => f.write_str("netname must not be empty"),
            SelectError::Duplicate(n) => {
                write!(f, "found duplicate netname {:?}", crate::error::bounded(n))
            }
            SelectError::SpecialWithArgs(n) => {
                write!(f, "arguments are not supported by special netname {n:?}")
            }
            SelectError::BadArgs(n, a) => write!(
                f,
                "network {:?} provided with invalid arguments: {:?}",
                crate::error::bounded(n),
                crate::error::bounded(a)
            ),
            SelectError::Exclusive(n) => {
                write!(f, "network {n:?} cannot be combined with other networks")
            }
            SelectError::NotFound(names) => {
                let names: Vec<String> = names.iter().map(|n| crate::error::bounded(n)).collect();
                write!(f, "networks not found: {}", names.join(", "))
            }
        }
    }
}

impl std::error::Error for SelectError {}

/// Parses every `--net` value given (none: `default`).
pub(crate) fn parse(values: &[String]) -> Result<Selection, SelectError> {
    let mut list: Vec<Request> = Vec::new();
    for value in values {
        for item in value.split(',') {
            let mut parts = item.splitn(3, ':');
            let name = parts.next().unwrap_or_default();
            let args = parts.next();
            if let Some(extra) = parts.next() {
                return Err(SelectError::BadArgs(
                    name.into(),
                    format!("{}:{extra}", args.unwrap_or_default()),
                ));
            }
            if name.is_empty() {
                return Err(SelectError::EmptyName);
            }
            if args.is_some() && matches!(name, "all" | "host" | "none") {
                return Err(SelectError::SpecialWithArgs(name.into()));
            }
            if list.iter().any(|r| r.name == name) {
                return Err(SelectError::Duplicate(name.into()));
            }
            list.push(Request {
                name: name.into(),
                args: args.unwrap_or_default().into(),
            });
        }
    }
    if list.is_empty() {
        list.push(Request {
            name: DEFAULT.name.into(),
            args: String::new(),
        });
    }
    for special in ["host", "none"] {
        if list.iter().any(|r| r.name == special) {
            if list.len() > 1 {
                return Err(SelectError::Exclusive(special.into()));
            }
            return Ok(if special == "host" {
                Selection::Host
            } else {
                Selection::None
            });
        }
    }
    Ok(Selection::Contained(list))
}

/// A network a pod joins, in interface order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attachment<U> {
    Builtin {
        net: &'static Builtin,
        args: String,
    },
    /// One of `net.d`'s networks (`U` is its loaded conf).
    User {
        conf: U,
        args: String,
    },
}

/// The networks a pod joins for `requests`, given the confs of `net.d` in file order (the
/// first of a name wins) with their names.
pub(crate) fn resolve<U: Clone>(
    requests: &[Request],
    user: &[(String, U)],
) -> Result<Vec<Attachment<U>>, SelectError> {
    let all = requests.iter().any(|r| r.name == "all");
    let wanted = |name: &str| requests.iter().find(|r| r.name == name);
    let mut out = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (name, conf) in user {
        if seen.contains(&name.as_str()) {
            continue;
        }
        seen.push(name);
        if all || wanted(name).is_some() {
            out.push(Attachment::User {
                conf: conf.clone(),
                args: wanted(name).map(|r| r.args.clone()).unwrap_or_default(),
            });
        }
    }
    let user_defines = |n: &str| {
        user.iter()
            .any(|(name, _)| name == n && (all || wanted(n).is_some()))
    };
    if !user_defines(DEFAULT.name) && !user_defines(DEFAULT_RESTRICTED.name) {
        let builtin = if all || wanted(DEFAULT.name).is_some() {
            &DEFAULT
        } else {
            &DEFAULT_RESTRICTED
        };
        out.push(Attachment::Builtin {
            net: builtin,
            args: wanted(builtin.name)
                .map(|r| r.args.clone())
                .unwrap_or_default(),
        });
    }
    let joined = |n: &str| {
        out.iter().any(|a| match a {
            Attachment::Builtin { net, .. } => net.name == n,
            Attachment::User { .. } => user.iter().any(|(name, _)| name == n),
        })
    };
    let missing: Vec<String> = requests
        .iter()
        .filter(|r| r.name != "all" && !joined(&r.name))
        .map(|r| r.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(SelectError::NotFound(missing));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(name: &str, args: &str) -> Request {
        Request {
            name: name.into(),
            args: args.into(),
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_rkts_syntax() {
        assert_eq!(
            parse(&[]).unwrap(),
            Selection::Contained(vec![req("default", "")])
        );
        assert_eq!(parse(&strings(&["host"])).unwrap(), Selection::Host);
        assert_eq!(parse(&strings(&["none"])).unwrap(), Selection::None);
        assert_eq!(
            parse(&strings(&["a:K=V;K2=V2,b", "default:IP=172.16.28.9"])).unwrap(),
            Selection::Contained(vec![
                req("a", "K=V;K2=V2"),
                req("b", ""),
                req("default", "IP=172.16.28.9")
            ])
        );
    }

    #[test]
    fn rkts_errors() {
        let e = |v: &[&str]| parse(&strings(v)).unwrap_err().to_string();
        assert_eq!(e(&["a,,b"]), "netname must not be empty");
        assert_eq!(e(&["a", "a"]), r#"found duplicate netname "a""#);
        assert_eq!(
            e(&["all:x=1"]),
            r#"arguments are not supported by special netname "all""#
        );
        assert_eq!(
            e(&["a:b:c"]),
            r#"network "a" provided with invalid arguments: "b:c""#
        );
        assert_eq!(
            e(&["host,default"]),
            r#"network "host" cannot be combined with other networks"#
        );
    }

    #[test]
    fn the_builtin_comes_last_unless_a_file_defines_it() {
        let user = vec![("mynet".to_string(), 1), ("other".to_string(), 2)];
        let got = resolve(&[req("mynet", "IP=10.1.0.9"), req("default", "")], &user).unwrap();
        assert_eq!(
            got,
            [
                Attachment::User {
                    conf: 1,
                    args: "IP=10.1.0.9".into()
                },
                Attachment::Builtin {
                    net: &DEFAULT,
                    args: String::new()
                }
            ]
        );
        // Without default: default-restricted, as rkt 1.30 added it.
        let got = resolve(&[req("mynet", "")], &user).unwrap();
        assert!(matches!(
            got[1],
            Attachment::Builtin {
                net: &DEFAULT_RESTRICTED,
                ..
            }
        ));
        // A file named default replaces the built-in one.
        let over = vec![("default".to_string(), 7)];
        assert_eq!(
            resolve(&[req("default", "")], &over).unwrap(),
            [Attachment::User {
                conf: 7,
                args: String::new()
            }]
        );
        assert_eq!(
            resolve(&[req("nope", ""), req("gone", "")], &user)
                .unwrap_err()
                .to_string(),
            "networks not found: nope, gone"
        );
        assert_eq!(resolve(&[req("all", "")], &user).unwrap().len(), 3);
    }
}
