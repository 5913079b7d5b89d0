//! Helpers for the end-to-end tests: find the built `rkt`, give each test its own data
//! directory, build fixture ACIs (including hostile ones) byte by byte, and snapshot a store.
//!
//! The tests drive the shipped binary (`RKT_BIN`, default the musl release build). A missing
//! binary is a failure with instructions, never a silent skip.

#![allow(clippy::unwrap_used)]

pub mod aci;
pub mod pod;
pub mod snapshot;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// The `rkt` under test.
pub fn rkt_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("RKT_BIN") {
        let bin = PathBuf::from(bin);
        assert!(bin.is_file(), "RKT_BIN={} does not exist", bin.display());
        return bin;
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = workspace.join("target/x86_64-unknown-linux-musl/release/rkt");
    if !bin.is_file() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        panic!(
            "{} not found{}: build it first with scripts/build.sh \
             (cargo --config musl.toml build --release), or set RKT_BIN",
            bin.display(),
            if ci { " in CI" } else { "" }
        );
    }
    bin
}

/// A fresh directory for one test, removed on drop. The parent chain is world-traversable so
/// that permission tests see only the store's own modes.
pub struct TestDir {
    pub path: PathBuf,
}

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir().join("rkt-e2e");
        std::fs::create_dir_all(&base).unwrap();
        set_mode(&base, 0o755);
        let path = base.join(format!(
            "{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).unwrap();
        set_mode(&path, 0o755);
        TestDir { path }
    }

    /// The `--dir` of this test's store.
    pub fn store(&self) -> PathBuf {
        self.path.join("data")
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.path.join(p)
    }

    /// `rkt --dir=<store> args...`
    pub fn rkt(&self, args: &[&str]) -> Output {
        self.rkt_env(args, &[])
    }

    pub fn rkt_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().unwrap()
    }

    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(rkt_bin());
        cmd.arg(format!("--dir={}", self.store().display()));
        cmd.args(args);
        cmd.env_remove("RKT_FAILPOINT");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// `rkt fetch --insecure-options=image FILE`, which must succeed; returns the printed ID.
    pub fn fetch(&self, file: &Path) -> String {
        let out = self.rkt(&[
            "fetch",
            "--insecure-options=image",
            "--full",
            file.to_str().unwrap(),
        ]);
        assert_ok(&out);
        stdout(&out).trim().to_string()
    }

    /// The IDs `image list` shows, full length.
    pub fn list_ids(&self) -> Vec<String> {
        let out = self.rkt(&["image", "list", "--full", "--no-legend", "--fields=id"]);
        assert_ok(&out);
        let mut ids: Vec<String> = stdout(&out).lines().map(|l| l.trim().to_string()).collect();
        ids.sort();
        ids
    }
}

impl TestDir {
    /// Asserts the store's invariants: every record has its blob, manifest and a rendered
    /// tree naming it; no blob, manifest or tree lacks a record; `cas/tmp` is empty.
    /// Call it after a gc, which removes what crashed imports left.
    #[track_caller]
    pub fn assert_consistent(&self) {
        let cas = self.store().join("cas");
        let names = |dir: &Path| -> Vec<String> {
            let mut v: Vec<String> = match std::fs::read_dir(dir) {
                Ok(rd) => rd
                    .map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect(),
                Err(_) => Vec::new(),
            };
            v.sort();
            v
        };
        let fanned = |top: &str| -> Vec<String> {
            let mut v = Vec::new();
            for fan in names(&cas.join(top)) {
                v.extend(names(&cas.join(top).join(fan)));
            }
            v.sort();
            v
        };
        let index: Vec<String> = names(&cas.join("index"))
            .into_iter()
            .filter(|n| n.starts_with("sha512-"))
            .collect();
        assert_eq!(fanned("blob/sha512"), index, "blobs vs index");
        assert_eq!(fanned("imageManifest/sha512"), index, "manifests vs index");
        let mut tree_images = Vec::new();
        for tree in names(&cas.join("tree")) {
            let dir = cas.join("tree").join(&tree);
            assert!(
                dir.join("rendered").is_file(),
                "tree {tree} not marked rendered"
            );
            tree_images.push(std::fs::read_to_string(dir.join("image")).unwrap());
        }
        tree_images.sort();
        assert_eq!(tree_images, index, "trees vs index");
        assert_eq!(
            names(&cas.join("tmp")),
            Vec::<String>::new(),
            "cas/tmp not empty"
        );
        for id in &index {
            let out = self.rkt(&["image", "verify", id]);
            assert_ok(&out);
            assert!(
                stdout(&out).contains("successfully verified"),
                "{}",
                stdout(&out)
            );
        }
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "rkt failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// Asserts rkt's own failure: exit 254 and a one-line `rkt: ...` message containing `needle`.
#[track_caller]
pub fn assert_fails(out: &Output, needle: &str) {
    assert_eq!(
        out.status.code(),
        Some(254),
        "expected exit 254, got {:?}\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
    let err = stderr(out);
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert!(err.starts_with("rkt: "), "stderr: {err}");
}

/// `sha512-` + hex of the sha512 of a file's bytes (the image ID of an uncompressed ACI).
pub fn sha512_id(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha512};
    let d = Sha512::digest(bytes);
    let mut s = String::from("sha512-");
    for b in d.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Fails the test when not root: end-to-end tests need namespaces and mounts (CI runs as root).
pub fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap();
    assert_eq!(
        euid, "0",
        "this end-to-end test needs root (CI runs as root)"
    );
}

/// What a finished command did, as text.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Asserts the exit code, showing both streams on failure.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn expect_success(&self) -> &Self {
        self.expect_code(0)
    }

    /// Asserts the one-line `rkt: ...` error of a failed command and exit 254.
    #[track_caller]
    pub fn expect_error(&self, needle: &str) -> &Self {
        self.expect_code(254);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one error line, got:\n{}",
            self.stderr
        );
        assert!(
            lines[0].starts_with("rkt: "),
            "error line must start with `rkt: `: {}",
            lines[0]
        );
        assert!(
            lines[0].contains(needle),
            "error line lacks {needle:?}: {}",
            lines[0]
        );
        self
    }
}

/// Runs the static rkt with the given arguments, no stdin, without `RKT_*` variables.
pub fn rkt<I, S>(args: I) -> Ran
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(rkt_bin());
    cmd.args(args).stdin(std::process::Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("RKT_") {
            cmd.env_remove(key);
        }
    }
    run(&mut cmd)
}

/// Runs any command and collects its output as text.
pub fn run(cmd: &mut Command) -> Ran {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
