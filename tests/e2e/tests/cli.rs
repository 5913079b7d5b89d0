//! rkt 1.30's command-line syntax, help, errors and exit codes, through the static binary.

use e2e::rkt;

#[test]
fn version_lines_parse_like_orchestrators_expect() {
    let out = rkt(["version"]);
    out.expect_success();
    let mut lines = out.stdout.lines();
    let first = lines.next().unwrap_or_default();
    let version = first.strip_prefix("rkt Version: ").expect("first line");
    let semver: Vec<&str> = version
        .split('+')
        .next()
        .unwrap_or_default()
        .split('.')
        .collect();
    assert_eq!(semver.len(), 3, "{first}");
    let minor: u32 = semver[1].parse().expect("minor");
    assert!(
        semver[0] == "1" && minor >= 30,
        "orchestrators need at least 1.30: {first}"
    );
    assert!(version.contains('+'), "the commit follows a +: {first}");
    assert_eq!(lines.next(), Some("appc Version: 0.8.11"));
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn help_forms_print_usage_and_succeed() {
    for args in [
        vec!["help"],
        vec!["--help"],
        vec![],
        vec!["help", "version"],
        vec!["version", "--help"],
        vec!["image", "build", "-h"],
        vec!["help", "image", "build"],
    ] {
        let out = rkt(&args);
        out.expect_success();
        assert!(
            out.stdout.starts_with("Usage: rkt"),
            "{args:?}: {}",
            out.stdout
        );
    }
    let top = rkt(["help"]);
    assert!(
        top.stdout.contains("version") && top.stdout.contains("image"),
        "{}",
        top.stdout
    );
    let build = rkt(["help", "image", "build"]);
    assert!(
        build.stdout.contains("--no-compression"),
        "{}",
        build.stdout
    );
}

#[test]
fn unknown_command_exits_2() {
    let out = rkt(["frobnicate"]);
    out.expect_code(2);
    assert_eq!(
        out.stderr.trim(),
        "rkt: unknown command \"frobnicate\" for \"rkt\""
    );
    rkt(["image", "frobnicate"]).expect_code(2);
    rkt(["help", "frobnicate"]).expect_code(2);
}

#[test]
fn command_prefixes_resolve() {
    let out = rkt(["vers"]);
    out.expect_success();
    assert!(out.stdout.starts_with("rkt Version: "));
    rkt(["im", "bu", "--help"]).expect_success();
}

#[test]
fn unknown_flags_and_bad_values_are_named() {
    rkt(["version", "--bogus"]).expect_error("unknown flag: --bogus");
    rkt(["--bogus", "version"]).expect_error("--bogus");
    rkt(["--insecure-options=image,bogus", "version"]).expect_error("\"bogus\"");
    rkt(["--debug=maybe", "version"]).expect_error("--debug");
    rkt(["--dir"]).expect_error("--dir");
    rkt(["image", "build", "onlyone"]).expect_error("output");
}

#[test]
fn global_flags_go_before_or_after_the_subcommand() {
    for args in [
        vec!["--dir=/nonexistent", "--debug", "version"],
        vec!["version", "--dir", "/nonexistent", "--debug=true"],
        vec![
            "--insecure-options",
            "all-fetch,all-run",
            "version",
            "--trust-keys-from-https",
        ],
        vec![
            "version",
            "--local-config=/x",
            "--system-config=/y",
            "--user-config=/z",
        ],
    ] {
        rkt(&args).expect_success();
    }
}

#[test]
fn commands_not_implemented_yet_fail_clearly() {
    rkt(["api-service"]).expect_error("rkt api-service: not implemented yet");
    // trust is implemented; without a terminal for the review it says so.
    rkt(["trust", "--prefix=x"]).expect_error("needs a terminal");
}

#[test]
fn nothing_after_double_dash_is_parsed() {
    // `image build` takes two positionals; a flag-looking argument after `--` is one of them.
    let out = rkt([
        "image",
        "build",
        "--",
        "--not-a-flag",
        "/nonexistent/out.aci",
    ]);
    out.expect_code(254);
    assert!(!out.stderr.contains("unknown flag"), "{}", out.stderr);
}
