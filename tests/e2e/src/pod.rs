//! Helpers for the `rkt run` tests: the static probe in an ACI, a store with it, and cleanup
//! that leaves no pod behind.

use std::path::{Path, PathBuf};

use crate::aci::{self, Tar};
use crate::store::StoreDir;

/// The static probe (`scripts/fixtures.sh` copies it to `target/fixtures/probe`).
pub fn probe_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("PROBE_BIN") {
        return PathBuf::from(p);
    }
    let p = crate::workspace().join("target/fixtures/probe");
    assert!(
        p.is_file(),
        "{} not found: run scripts/fixtures.sh first (or set PROBE_BIN)",
        p.display()
    );
    p
}

/// A manifest for `name` whose app runs `/bin/probe` as root, with extra JSON fields in `app`.
pub fn probe_manifest(name: &str, os_arch: &str, app_extra: &str) -> String {
    format!(
        r#"{{"acKind":"ImageManifest","acVersion":"0.8.11","name":"{name}","labels":[{{"name":"version","value":"1"}}{os_arch}],"app":{{"exec":["/bin/probe","true"],"user":"0","group":"0"{app_extra}}}}}"#
    )
}

/// The host's os/arch labels, for `probe_manifest`.
pub const LINUX_AMD64: &str = r#",{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}"#;

/// The probe image's tar: `rootfs/bin/probe`, `/etc`, `/tmp`; `more` adds entries.
pub fn probe_tar(manifest: &str, more: impl FnOnce(Tar) -> Tar) -> Vec<u8> {
    let probe = std::fs::read(probe_bin()).unwrap();
    let tar = aci::base(manifest)
        .dir("rootfs/bin", 0o755)
        .dir("rootfs/etc", 0o755)
        .dir("rootfs/tmp", 0o1777)
        .file("rootfs/bin/probe", 0o755, &probe);
    more(tar).finish()
}

impl StoreDir {
    /// Writes the probe image `example.com/probe` and imports it; returns the ACI path.
    pub fn probe_image(&self) -> PathBuf {
        let aci = self.join("probe.aci");
        aci::write(
            &aci,
            &probe_tar(&probe_manifest("example.com/probe", LINUX_AMD64, ""), |t| t),
        );
        self.fetch(&aci);
        aci
    }

    /// `rkt run` of the stored probe with probe arguments.
    pub fn run_probe(&self, pod_flags: &[&str], probe_args: &[&str]) -> std::process::Output {
        let mut args = vec!["run"];
        args.extend_from_slice(pod_flags);
        args.push("example.com/probe");
        args.push("--");
        args.extend_from_slice(probe_args);
        self.rkt(&args)
    }

    /// Pod directories in one state.
    pub fn pods_in(&self, state: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.store().join("pods").join(state))
            .map(|rd| {
                rd.map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    pub fn pod_dir(&self, state: &str, uuid: &str) -> PathBuf {
        self.store().join("pods").join(state).join(uuid)
    }

    /// `gc --grace-period=0s`, then asserts that no pod is left in any state.
    #[track_caller]
    pub fn gc_all(&self) {
        self.gc_all_with(&[]);
    }

    /// [`gc_all`](Self::gc_all) with more gc flags (`--expire-prepared=0s`).
    #[track_caller]
    pub fn gc_all_with(&self, flags: &[&str]) {
        let mut args = vec!["gc", "--grace-period=0s"];
        args.extend_from_slice(flags);
        let out = self.rkt(&args);
        crate::store::assert_ok(&out);
        for state in [
            "embryo",
            "prepare",
            "prepared",
            "run",
            "exited-garbage",
            "garbage",
        ] {
            assert_eq!(
                self.pods_in(state),
                Vec::<String>::new(),
                "pods left in {state}; gc said: {}",
                crate::store::stderr(&out)
            );
        }
    }
}

/// A background `rkt run` whose pod has started, killed if the test fails (the store's drop
/// then stops the pod).
pub struct Background {
    pub child: std::process::Child,
    pub uuid: String,
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl StoreDir {
    /// Starts `rkt run run_args...` in the background, its stdout to `stdout`, and waits until
    /// every app has started.
    pub fn start(&self, run_args: &[&str], stdout: std::process::Stdio) -> Background {
        let uuid_file = self.join("uuid");
        let _ = std::fs::remove_file(&uuid_file);
        let save = format!("--uuid-file-save={}", uuid_file.display());
        let mut args = vec!["run", save.as_str()];
        args.extend_from_slice(run_args);
        let child = self.command(&args, &[]).stdout(stdout).spawn().unwrap();
        let mut pod = Background {
            child,
            uuid: String::new(),
        };
        crate::wait_until("the uuid file", || {
            uuid_file.is_file() && !read_uuid(&uuid_file).is_empty()
        });
        pod.uuid = read_uuid(&uuid_file);
        let ready = format!("--wait-ready={}", crate::WAIT_FLAG);
        crate::store::assert_ok(&self.rkt(&["status", &ready, &pod.uuid]));
        pod
    }

    /// Stops the pod started by [`start`](Self::start) and removes every pod.
    pub fn finish(&self, mut pod: Background) {
        crate::store::assert_ok(&self.rkt(&["stop", "--force", &pod.uuid]));
        let _ = pod.child.wait();
        self.gc_all();
    }
}

/// Reads a UUID file written by `--uuid-file-save`.
pub fn read_uuid(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_string()
}

/// A payload built by `scripts/fixtures.sh` into `target/fixtures/` (`modern`, `goserver`).
pub fn fixture_bin(name: &str) -> PathBuf {
    let p = crate::workspace().join("target/fixtures").join(name);
    assert!(
        p.is_file(),
        "{} not found: run scripts/fixtures.sh first",
        p.display()
    );
    p
}

/// An image tar holding host programs (`(host path, path in the image)`) and every shared
/// library they load, at the paths `ldd` names (symlinks resolved to files), plus `/tmp`.
pub fn host_programs_tar(manifest: &str, programs: &[(&Path, &str)]) -> Vec<u8> {
    use std::collections::BTreeSet;
    let mut files: Vec<(PathBuf, String)> = programs
        .iter()
        .map(|(host, at)| (host.to_path_buf(), at.to_string()))
        .collect();
    let mut libs = BTreeSet::new();
    for (host, _) in programs {
        let out = std::process::Command::new("ldd")
            .arg(host)
            .output()
            .unwrap();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-... (0x...)"
            let path = match line.split_once("=>") {
                Some((_, rest)) => rest.split_whitespace().next(),
                None => line.split_whitespace().next(),
            };
            if let Some(p) = path.filter(|p| p.starts_with('/')) {
                libs.insert(p.to_string());
            }
        }
    }
    files.extend(libs.into_iter().map(|l| (PathBuf::from(&l), l)));
    let mut dirs = BTreeSet::new();
    for (_, at) in &files {
        let mut p = Path::new(at).parent();
        while let Some(d) = p.filter(|d| *d != Path::new("/")) {
            dirs.insert(d.to_path_buf());
            p = d.parent();
        }
    }
    let mut tar = aci::base(manifest).dir("rootfs/tmp", 0o1777);
    for d in &dirs {
        tar = tar.dir(&format!("rootfs{}", d.display()), 0o755);
    }
    for (host, at) in &files {
        let data = std::fs::read(std::fs::canonicalize(host).unwrap()).unwrap();
        tar = tar.file(&format!("rootfs{at}"), 0o755, &data);
    }
    tar.finish()
}
