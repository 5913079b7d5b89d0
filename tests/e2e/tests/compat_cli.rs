//! rkt 1.30 compatibility of the command line (issue 16): what rkt's own functional tests and
//! the tools written for rkt pass and expect, with the same inputs and outcomes.

use std::process::Command;

use e2e::require_root;
use e2e::store::{assert_fails, assert_ok, stderr, stdout, StoreDir};

fn setup(name: &str) -> StoreDir {
    require_root();
    let t = StoreDir::new(name);
    t.probe_image();
    t
}

/// `rkt run --mds-register=false` is rkt's default spelled out (tools pass it): accepted; true
/// needs the metadata service, which this rkt does not have yet, and says so.
#[test]
fn run_takes_mds_register_false_and_names_true_as_not_implemented() {
    let t = setup("compat-mds");
    let out = t.rkt(&[
        "run",
        "--mds-register=false",
        "example.com/probe",
        "--",
        "exit",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    for flag in ["--mds-register=true", "--mds-register"] {
        let out = t.rkt(&["run", flag, "example.com/probe"]);
        assert_fails(&out, "--mds-register=true");
        assert!(stderr(&out).contains("not implemented"), "{}", stderr(&out));
    }
    let out = t.rkt(&["prepare", "--quiet", "example.com/probe"]);
    assert_ok(&out);
    let uuid = stdout(&out).trim().to_string();
    let out = t.rkt(&["run-prepared", "--mds-register=false", "--net=none", &uuid]);
    assert_ok(&out);
    t.gc_all();
}

/// rkt 1.30's ensureSuperuser: the commands that make, start, enter or remove pods refuse an
/// unprivileged user with one line and 254, before touching anything.
#[test]
fn pod_commands_refuse_an_unprivileged_user() {
    let t = setup("compat-root");
    let rkt = e2e::rkt_bin();
    let dir = format!("--dir={}", t.store().display());
    for args in [
        vec!["run", "example.com/probe"],
        vec!["prepare", "example.com/probe"],
        vec!["run-prepared", "0badc0de"],
        vec!["enter", "0badc0de"],
        vec!["rm", "0badc0de"],
        vec!["gc"],
    ] {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&rkt)
            .arg(&dir)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(254), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            "rkt: cannot run as unprivileged user\n",
            "{args:?}"
        );
    }
    // Commands that read only are left to the file permissions, as in rkt.
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&rkt)
        .arg("version")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(t.pods_in("prepare").is_empty() && t.pods_in("run").is_empty());
}
