//! A store plus its own system and local config dirs for the trust tests, with helpers to place
//! trusted keys, write signed images and check that a refusal leaves the store untouched.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::aci;
use crate::snapshot;
use crate::store::{stderr, stdout, StoreDir};

/// Which config dir a key file goes to.
#[derive(Clone, Copy, Debug)]
pub enum Config {
    System,
    Local,
}

pub struct TrustEnv {
    pub t: StoreDir,
    pub system: PathBuf,
    pub local: PathBuf,
}

impl TrustEnv {
    /// A fresh store that already holds one unrelated image (so "unchanged" means something).
    pub fn new(name: &str) -> TrustEnv {
        let t = StoreDir::new(name);
        let system = t.join("usr-lib-rkt");
        let local = t.join("etc-rkt");
        std::fs::create_dir_all(&system).unwrap();
        std::fs::create_dir_all(&local).unwrap();
        t.fetch(&aci::write(
            &t.join("other.aci"),
            &aci::simple("example.com/other", "1").finish(),
        ));
        TrustEnv { t, system, local }
    }

    /// `rkt --dir=... --system-config=... --local-config=... args...`
    pub fn rkt(&self, args: &[&str]) -> Output {
        let mut all = vec![
            format!("--system-config={}", self.system.display()),
            format!("--local-config={}", self.local.display()),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        self.t.rkt(&all)
    }

    /// The directory a key trusted for `prefix` (`None`: root) lives in.
    pub fn key_dir(&self, config: Config, prefix: Option<&str>) -> PathBuf {
        let base = match config {
            Config::System => &self.system,
            Config::Local => &self.local,
        }
        .join("trustedkeys");
        match prefix {
            None => base.join("root.d"),
            Some(p) => base.join("prefix.d").join(p),
        }
    }

    /// Places a key file as `rkt trust` would (or wrongly, when `file_name` is not the key's
    /// fingerprint).
    pub fn place_key(&self, config: Config, prefix: Option<&str>, file_name: &str, key: &[u8]) {
        let dir = self.key_dir(config, prefix);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file_name.to_ascii_lowercase()), key).unwrap();
    }

    /// Writes an ACI named `name` (distinct content per `file`) and returns its path.
    pub fn image(&self, name: &str, file: &str) -> PathBuf {
        let tar = aci::simple(name, "1")
            .file("rootfs/marker", 0o644, file.as_bytes())
            .finish();
        aci::write(&self.t.join(file), &aci::gzip(&tar))
    }

    /// As [`TrustEnv::image`], an uncompressed tar.
    pub fn image_plain(&self, name: &str, file: &str) -> PathBuf {
        let tar = aci::simple(name, "1")
            .file("rootfs/marker", 0o644, file.as_bytes())
            .finish();
        aci::write(&self.t.join(file), &tar)
    }

    /// Writes `sig` beside `image` as `<image>.asc` (rkt's default signature path).
    pub fn sign_beside(&self, image: &Path, sig: &[u8]) {
        let mut p = image.as_os_str().to_os_string();
        p.push(".asc");
        std::fs::write(PathBuf::from(p), sig).unwrap();
    }

    /// `rkt fetch IMAGE [--signature FILE]` must succeed with the image ID alone on stdout and
    /// `signature verified:` plus `identity` on stderr; returns the ID.
    #[track_caller]
    pub fn accepted(&self, image: &Path, signature: Option<&Path>, identity: &str) -> String {
        let mut args = vec!["fetch".to_string(), image.display().to_string()];
        if let Some(s) = signature {
            args.push(format!("--signature={}", s.display()));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.rkt(&args);
        let (o, e) = (stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(0), "refused: {e}");
        assert_eq!(o.lines().count(), 1, "stdout is the ID alone: {o}");
        assert!(o.starts_with("sha512-"), "stdout: {o}");
        assert!(e.contains("signature verified:"), "stderr: {e}");
        assert!(e.contains(identity), "stderr lacks {identity:?}: {e}");
        o.trim().to_string()
    }

    /// `rkt fetch IMAGE [--signature FILE]` must fail with one line containing `needle`, exit
    /// 254, and leave the store byte-identical.
    #[track_caller]
    pub fn refused(&self, image: &Path, signature: Option<&Path>, needle: &str) {
        let before = snapshot::take(&self.t.store());
        let mut args = vec!["fetch".to_string(), image.display().to_string()];
        if let Some(s) = signature {
            args.push("--signature".into());
            args.push(s.display().to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.rkt(&args);
        let e = stderr(&out);
        assert_eq!(out.status.code(), Some(254), "accepted: {e}");
        assert_eq!(stdout(&out), "", "nothing on stdout");
        assert_eq!(e.lines().count(), 1, "one error line: {e}");
        assert!(e.starts_with("rkt: fetch "), "{e}");
        assert!(e.contains(needle), "stderr lacks {needle:?}: {e}");
        snapshot::assert_same(&before, &snapshot::take(&self.t.store()), needle);
    }
}
