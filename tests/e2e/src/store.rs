//! Helpers for the image store's end-to-end tests: each test gets its own data directory
//! ([`StoreDir`]), runs the built `rkt` against it, and checks the store's invariants.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

pub use crate::rkt_bin;

/// A fresh directory for one test, removed on drop. The parent chain is world-traversable so
/// that permission tests see only the store's own modes.
pub struct StoreDir {
    pub path: PathBuf,
    /// Kills the test's pods and fails it if it runs past its deadline; declared after `path`
    /// only for reading order: it is dropped (and may panic) before the directory goes.
    watchdog: Option<crate::watchdog::Watchdog>,
}

impl StoreDir {
    pub fn new(name: &str) -> StoreDir {
        Self::with_timeout(name, crate::watchdog::DEFAULT_TIMEOUT)
    }

    /// A store whose test may run for `limit` (soak-sized tests); `RKT_TEST_TIMEOUT` overrides.
    pub fn with_timeout(name: &str, limit: std::time::Duration) -> StoreDir {
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
        let watchdog = crate::watchdog::Watchdog::new(&path, crate::watchdog::timeout(limit));
        StoreDir {
            path,
            watchdog: Some(watchdog),
        }
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

impl StoreDir {
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

impl Drop for StoreDir {
    fn drop(&mut self) {
        // First: a timed-out test's processes are gone before its files are removed.
        drop(self.watchdog.take());
        // A test that failed before its own gc leaves pods; their cgroups live outside the
        // directory, so gc them (best effort) before the files go.
        if self.store().join("pods").is_dir() {
            // A pod outlives an rkt killed after its start: stop those of a failed test.
            let running = std::fs::read_dir(self.store().join("pods/run"))
                .into_iter()
                .flatten()
                .flatten();
            for pod in running {
                let uuid = pod.file_name().to_string_lossy().into_owned();
                for args in [
                    &["stop", "--force", &uuid][..],
                    &["status", "--wait=60s", &uuid],
                ] {
                    let _ = self
                        .command(args, &[])
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .status();
                }
            }
            let _ = self
                .command(&["gc", "--grace-period=0s", "--expire-prepared=0s"], &[])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
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
