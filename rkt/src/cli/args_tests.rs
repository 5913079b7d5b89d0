//! The normalizer's cases: rkt's pflag syntax in, argh's out.

use super::*;

const fn spec(
    path: &'static [&'static str],
    flags: &'static [(&'static str, Kind)],
    verbatim_after: Option<usize>,
    implemented: bool,
) -> CommandSpec {
    CommandSpec {
        path,
        flags,
        verbatim_after,
        implemented,
        pending: &[],
        pod: None,
    }
}

static SPECS: &[CommandSpec] = &[
    spec(&["version"], &[], None, true),
    spec(
        &["status"],
        &[("wait", Kind::Optional("true")), ("format", Kind::Value)],
        None,
        true,
    ),
    spec(&["enter"], &[("app", Kind::Value)], Some(1), true),
    spec(
        &["image", "list"],
        &[
            ("full", Kind::Switch),
            ("no-legend", Kind::Switch),
            ("fields", Kind::Value),
        ],
        None,
        true,
    ),
    spec(
        &["image", "cat-manifest"],
        &[("pretty-print", Kind::Bool)],
        None,
        true,
    ),
    spec(&["image", "rm"], &[], None, true),
    spec(&["run"], &[], None, false),
    spec(&["rm"], &[], None, true),
    spec(&["image", "gc"], &[], None, true),
];

fn norm(args: &[&str]) -> Result<Normalized, Error> {
    let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    normalize(SPECS, &argv)
}

fn args(args: &[&str]) -> Vec<String> {
    norm(args).unwrap().args
}

#[test]
fn equals_and_space_forms_agree() {
    assert_eq!(
        args(&["image", "list", "--fields=id,name"]),
        args(&["image", "list", "--fields", "id,name"])
    );
    assert_eq!(
        args(&["image", "list", "--fields=a=b"]),
        ["image", "list", "--fields", "a=b"]
    );
}

#[test]
fn switches_take_optional_booleans() {
    assert_eq!(
        args(&["image", "list", "--full"]),
        ["image", "list", "--full"]
    );
    assert_eq!(
        args(&["image", "list", "--full=true"]),
        ["image", "list", "--full"]
    );
    assert_eq!(
        args(&["image", "list", "--no-legend=false"]),
        ["image", "list"]
    );
    assert!(
        matches!(norm(&["image", "list", "--full=maybe"]), Err(Error::Usage(m)) if m.contains("--full"))
    );
}

#[test]
fn a_repeated_global_flag_keeps_the_last_value() {
    let argv: Vec<String> = [
        "--insecure-options=image",
        "rm",
        "--insecure-options",
        "tls",
        "x",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let n = normalize(SPECS, &argv).unwrap();
    assert_eq!(
        n.args.iter().filter(|a| *a == "--insecure-options").count(),
        1,
        "{:?}",
        n.args
    );
    assert!(n.args.contains(&"tls".to_string()), "{:?}", n.args);
    assert!(!n.args.contains(&"image".to_string()), "{:?}", n.args);
}

#[test]
fn bool_options_default_to_true_when_bare() {
    assert_eq!(
        args(&["image", "cat-manifest", "--pretty-print"]),
        ["image", "cat-manifest", "--pretty-print", "true"]
    );
    assert_eq!(
        args(&["image", "cat-manifest", "--pretty-print=false", "x"]),
        ["image", "cat-manifest", "--pretty-print", "false", "x"]
    );
}

#[test]
fn optional_values() {
    assert_eq!(
        args(&["status", "--wait", "u"]),
        ["status", "--wait", "true", "u"]
    );
    assert_eq!(
        args(&["status", "--wait=10s", "u"]),
        ["status", "--wait", "10s", "u"]
    );
}

#[test]
fn global_flags_anywhere_move_to_the_front() {
    let want = ["--dir", "/d", "--debug", "image", "list", "--full"];
    assert_eq!(
        args(&["--dir=/d", "--debug", "image", "list", "--full"]),
        want
    );
    assert_eq!(
        args(&["image", "list", "--dir", "/d", "--full", "--debug"]),
        want
    );
    assert_eq!(args(&["--debug=false", "version"]), ["version"]);
    assert_eq!(
        args(&["--insecure-options=image,tls", "version"]),
        ["--insecure-options", "image,tls", "version"]
    );
}

#[test]
fn command_prefixes_resolve_when_unambiguous() {
    assert_eq!(norm(&["ver"]).unwrap().command, ["version"]);
    assert_eq!(norm(&["im", "li"]).unwrap().command, ["image", "list"]);
    // "image" appears in several entries, not next to each other: still one command.
    assert_eq!(norm(&["im", "g"]).unwrap().command, ["image", "gc"]);
    assert_eq!(
        norm(&["image", "c", "x"]).unwrap().command,
        ["image", "cat-manifest"]
    );
    // "r" could be run or rm.
    assert!(matches!(norm(&["r"]), Err(Error::UnknownCommand(_))));
    assert!(matches!(norm(&["bogus"]), Err(Error::UnknownCommand(c)) if c == "bogus"));
    assert!(
        matches!(norm(&["image", "bogus"]), Err(Error::UnknownCommand(c)) if c == "image bogus")
    );
    assert_eq!(norm(&["rm", "x"]).unwrap().command, ["rm"]);
}

#[test]
fn nothing_after_double_dash_is_touched() {
    assert_eq!(
        args(&["image", "rm", "--", "--dir=/x", "--full", "-h"]),
        ["image", "rm", "--", "--dir=/x", "--full", "-h"]
    );
}

#[test]
fn enter_command_is_verbatim_after_the_uuid() {
    assert_eq!(
        args(&[
            "enter",
            "--app=a",
            "uuid",
            "/bin/sh",
            "-c",
            "--dir=/x --help"
        ]),
        [
            "enter",
            "--app",
            "a",
            "uuid",
            "--",
            "/bin/sh",
            "-c",
            "--dir=/x --help"
        ]
    );
    assert_eq!(args(&["enter", "uuid"]), ["enter", "uuid"]);
}

#[test]
fn unknown_flags_are_named() {
    assert!(
        matches!(norm(&["image", "list", "--bogus"]), Err(Error::Usage(m)) if m == "unknown flag: --bogus")
    );
    assert!(matches!(norm(&["--bogus", "version"]), Err(Error::Usage(m)) if m.contains("--bogus")));
    assert!(matches!(norm(&["image", "list", "-x"]), Err(Error::Usage(m)) if m.contains("-x")));
    assert!(matches!(norm(&["--dir"]), Err(Error::Usage(m)) if m.contains("--dir")));
}

#[test]
fn help_forms() {
    assert_eq!(args(&["help"]), ["--help"]);
    assert_eq!(args(&[]), ["--help"]);
    assert_eq!(
        args(&["help", "image", "list"]),
        ["image", "list", "--help"]
    );
    assert_eq!(
        args(&["image", "list", "--help"]),
        ["image", "list", "--help"]
    );
    assert_eq!(args(&["image"]), ["image", "--help"]);
    assert!(matches!(
        norm(&["help", "bogus"]),
        Err(Error::UnknownCommand(_))
    ));
}

#[test]
fn unimplemented_commands_say_so() {
    assert!(matches!(norm(&["run", "x"]), Err(Error::NotImplemented(m)) if m == "rkt run"));
    assert!(matches!(
        norm(&["run", "--help"]),
        Err(Error::NotImplemented(_))
    ));
}
