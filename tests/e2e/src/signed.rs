//! Signed remote images: a [`TrustEnv`] (store plus its own config dirs) served by the
//! scripted HTTPS server of [`crate::https`] in the test's own network namespace, and signers
//! made with GnuPG or rpgp behind one interface.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::gpg::rpgp::{self, now, Alg, Hash};
use crate::gpg::Gpg;
use crate::https::{Cert, NetNs, Request, Server};
use crate::snapshot;
use crate::store::{stderr, stdout};
use crate::trust::TrustEnv;

pub struct Fx {
    pub env: TrustEnv,
    pub srv: Server,
    _ns: NetNs,
}

impl Fx {
    pub fn new(name: &str) -> Fx {
        Fx::with_cert(name, Cert::Good)
    }

    pub fn with_cert(name: &str, cert: Cert) -> Fx {
        let ns = NetNs::enter();
        let env = TrustEnv::new(name);
        let srv = Server::start(&ns, &env.t.path, cert);
        Fx { env, srv, _ns: ns }
    }

    /// The full command line (`--dir`, both config dirs, then `args`), for `script`.
    pub fn argv(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec![
            crate::rkt_bin().display().to_string(),
            format!("--dir={}", self.env.t.store().display()),
            format!("--system-config={}", self.env.system.display()),
            format!("--local-config={}", self.env.local.display()),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        all
    }

    /// `rkt ARGS` trusting the test CA, bounded by `timeout`, stdin closed.
    pub fn rkt(&self, args: &[&str]) -> Output {
        Command::new("timeout")
            .arg("120")
            .args(self.argv(args))
            .envs(self.srv.env())
            .env_remove("RKT_FAILPOINT")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `rkt ARGS` on a terminal the test drives, typing each answer once `prompt` is shown
    /// (see [`crate::pty::answer_prompts`]): the transcript (both streams) and the exit code.
    pub fn rkt_on_pty(&self, args: &[&str], prompt: &str, answers: &[&str]) -> (String, i32) {
        let argv = self.argv(args);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).envs(self.srv.env());
        let dialogue: Vec<(&str, &str)> = answers.iter().map(|a| (prompt, *a)).collect();
        crate::pty::answer_prompts(&mut cmd, &dialogue)
    }

    pub fn snapshot(&self) -> snapshot::Snapshot {
        snapshot::take(&self.env.t.store())
    }

    /// `rkt fetch ARGS` must succeed with the image ID alone on stdout and `signature
    /// verified:` plus `identity` on stderr; returns the ID and stderr.
    #[track_caller]
    pub fn accepted(&self, args: &[&str], identity: &str) -> (String, String) {
        let mut all = vec!["fetch", "--full"];
        all.extend_from_slice(args);
        let out = self.rkt(&all);
        let (o, e) = (stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(0), "refused: {e}");
        assert_eq!(o.lines().count(), 1, "stdout is the ID alone: {o}");
        assert!(o.starts_with("sha512-"), "stdout: {o}");
        assert!(e.contains("signature verified:"), "stderr: {e}");
        assert!(e.contains(identity), "stderr lacks {identity:?}: {e}");
        (o.trim().to_string(), e)
    }

    /// `rkt fetch ARGS` must fail with one line containing every needle, exit 254, and leave
    /// the store byte-identical; returns the line.
    #[track_caller]
    pub fn refused(&self, args: &[&str], needles: &[&str]) -> String {
        let before = self.snapshot();
        let mut all = vec!["fetch"];
        all.extend_from_slice(args);
        let out = self.rkt(&all);
        let e = stderr(&out);
        assert_eq!(out.status.code(), Some(254), "accepted: {e}");
        assert_eq!(stdout(&out), "", "nothing on stdout");
        assert_eq!(e.lines().count(), 1, "one error line: {e}");
        assert!(e.starts_with("rkt: fetch "), "{e}");
        for needle in needles {
            assert!(e.contains(needle), "stderr lacks {needle:?}: {e}");
        }
        snapshot::assert_same(&before, &self.snapshot(), needles[0]);
        e
    }

    /// Where a key trusted for `prefix` in the local config dir lives.
    pub fn local_key(&self, prefix: &str, fingerprint: &str) -> PathBuf {
        self.env
            .key_dir(crate::trust::Config::Local, Some(prefix))
            .join(fingerprint.to_ascii_lowercase())
    }
}

/// `scheme path` of each request, in order.
pub fn paths(log: &[Request]) -> Vec<String> {
    log.iter()
        .map(|r| format!("{} {}", r.scheme, r.target))
        .collect()
}

/// A gzipped ACI named `name`, version `version`, whose content depends on `marker`.
pub fn image(name: &str, version: &str, marker: &str) -> Vec<u8> {
    let tar = crate::aci::simple(name, version)
        .file("rootfs/marker", 0o644, marker.as_bytes())
        .finish();
    crate::aci::gzip(&tar)
}

/// A key that signs: made by real GnuPG or by rpgp.
pub enum Signer {
    Gpg { gpg: Gpg, fpr: String, dir: PathBuf },
    Rpgp(Box<rpgp::Key>),
}

impl Signer {
    /// An RSA key made by `gpg --quick-gen-key`; signatures are armored.
    pub fn gpg(uid: &str, scratch: &Path) -> Signer {
        let gpg = Gpg::new();
        let fpr = gpg.gen_key(uid, "rsa2048", "sign", "never");
        Signer::Gpg {
            gpg,
            fpr,
            dir: scratch.to_path_buf(),
        }
    }

    /// An Ed25519 key made by rpgp, created a minute ago; signatures are binary.
    pub fn rpgp(uid: &str) -> Signer {
        Signer::Rpgp(Box::new(rpgp::generate(
            Alg::Ed25519,
            uid,
            now() - 60,
            true,
            None,
        )))
    }

    pub fn fingerprint(&self) -> String {
        match self {
            Signer::Gpg { fpr, .. } => fpr.to_ascii_lowercase(),
            Signer::Rpgp(k) => k.fingerprint(),
        }
    }

    /// The public key, armored.
    pub fn public(&self) -> Vec<u8> {
        match self {
            Signer::Gpg { gpg, fpr, .. } => gpg.export(fpr, true),
            Signer::Rpgp(k) => k.armored(),
        }
    }

    /// A detached signature over `data`.
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        match self {
            Signer::Gpg { gpg, fpr, dir } => {
                let file = dir.join(format!("to-sign-{}", std::process::id()));
                std::fs::write(&file, data).unwrap();
                let sig = gpg.sign(&file, fpr, true, None);
                std::fs::remove_file(&file).unwrap();
                sig
            }
            Signer::Rpgp(k) => k.sign(data, false, Hash::Sha256, now(), false),
        }
    }
}
