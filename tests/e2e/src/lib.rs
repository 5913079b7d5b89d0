//! Helpers for the end-to-end tests: they drive the built static `rkt` (`RKT_BIN`, default
//! `target/x86_64-unknown-linux-musl/release/rkt`, made by `scripts/build.sh`).
//!
//! A missing binary or requirement is a failure, never a silent skip: with `CI=true` the test
//! fails; locally it fails too, telling what to run.

pub mod aci;
pub mod gpg;
pub mod https;
pub mod net;
pub mod pod;
pub mod pty;
pub mod signed;
pub mod snapshot;
pub mod store;
pub mod trust;
pub mod watchdog;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The static `rkt` under test.
pub fn rkt_bin() -> PathBuf {
    let bin = match std::env::var_os("RKT_BIN") {
        Some(p) => PathBuf::from(p),
        None => workspace().join("target/x86_64-unknown-linux-musl/release/rkt"),
    };
    assert!(
        bin.is_file(),
        "the static rkt is missing at {}: run scripts/build.sh first (or set RKT_BIN)",
        bin.display()
    );
    bin
}

/// A load count for soak-style tests (cycles, parallel pods, race iterations): the
/// environment variable `RKT_SOAK_<NAME>` when set (`scripts/soak.sh` sets large ones),
/// else `default`, the small figure `scripts/test.sh` runs with.
pub fn soak_count(name: &str, default: usize) -> usize {
    let var = format!("RKT_SOAK_{name}");
    match std::env::var(&var) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{var}={v:?} is not a count")),
        Err(_) => default,
    }
}

/// A shell function for test scripts: `wait_until SECONDS CMD [ARGS...]` runs CMD until it
/// succeeds, and fails (naming CMD) once SECONDS have passed. Waits are on conditions, with
/// generous deadlines: a loaded machine is slow, never wrong.
pub const SH_WAIT_UNTIL: &str = r#"
wait_until() {
    local end=$(( $(date +%s) + $1 )); shift
    until "$@"; do
        if [ "$(date +%s)" -ge "$end" ]; then echo "timed out waiting for: $*" >&2; return 1; fi
        sleep 0.02
    done
}
"#;

/// How long a test waits for something rkt or a pod does (a file, a state, an exit) before it
/// fails: generous, since a loaded machine is slow, never wrong. It is a guard against a hang,
/// not a timing assertion; the store's watchdog bounds the whole test anyway.
pub const WAIT: Duration = Duration::from_secs(120);

/// `WAIT` as an rkt duration (`status --wait-ready=...`, `--wait=...`).
pub const WAIT_FLAG: &str = "120s";

/// Polls `done` until it holds; fails naming `what` once [`WAIT`] has passed.
#[track_caller]
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < WAIT,
            "timed out after {} s waiting for {what}",
            WAIT.as_secs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Fails the test when not root: end-to-end tests need namespaces and mounts.
pub fn require_root() {
    // SAFETY-free: geteuid via /proc to avoid a libc dependency.
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("Uid line");
    assert_eq!(
        euid, "0",
        "this end-to-end test needs root (CI runs as root)"
    );
}

/// What a finished command did.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts the exit code, showing both streams on failure.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn expect_success(&self) -> &Self {
        self.expect_code(0)
    }

    /// Asserts the one-line `rkt: ...` error of a failed command and exit 254.
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

/// Runs the static rkt with the given arguments, no stdin, a clean `RKT_*`-free environment.
pub fn rkt<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(rkt_bin());
    cmd.args(args).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("RKT_") {
            cmd.env_remove(key);
        }
    }
    run(&mut cmd)
}

/// Runs any command and collects its output.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh directory under the system temp dir, removed when dropped.
#[derive(Debug)]
pub struct TestDir {
    path: PathBuf,
}

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("rkt-e2e-{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create test dir");
        TestDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
