//! What the global flags resolve to: directories, `--insecure-options`, debug. Command code
//! consumes a [`Config`], never the raw flags.

use std::fmt;
use std::path::PathBuf;

/// One `--insecure-options` value, as a bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Insecure(u16);

impl Insecure {
    pub(crate) const NONE: Insecure = Insecure(0);
    pub(crate) const IMAGE: Insecure = Insecure(1 << 0);
    pub(crate) const TLS: Insecure = Insecure(1 << 1);
    /// Accepted and ignored, as rkt 1.25+ did after on-disk verification was removed.
    pub(crate) const ONDISK: Insecure = Insecure(1 << 2);
    pub(crate) const HTTP: Insecure = Insecure(1 << 3);
    pub(crate) const PUBKEY: Insecure = Insecure(1 << 4);
    pub(crate) const CAPABILITIES: Insecure = Insecure(1 << 5);
    pub(crate) const PATHS: Insecure = Insecure(1 << 6);
    pub(crate) const SECCOMP: Insecure = Insecure(1 << 7);
    pub(crate) const ALL_FETCH: Insecure =
        Insecure(Self::IMAGE.0 | Self::TLS.0 | Self::HTTP.0 | Self::PUBKEY.0);
    pub(crate) const ALL_RUN: Insecure =
        Insecure(Self::CAPABILITIES.0 | Self::PATHS.0 | Self::SECCOMP.0);
    pub(crate) const ALL: Insecure = Insecure(Self::ALL_FETCH.0 | Self::ALL_RUN.0 | Self::ONDISK.0);

    const NAMES: [(&'static str, Insecure); 12] = [
        ("none", Self::NONE),
        ("image", Self::IMAGE),
        ("tls", Self::TLS),
        ("ondisk", Self::ONDISK),
        ("http", Self::HTTP),
        ("pubkey", Self::PUBKEY),
        ("capabilities", Self::CAPABILITIES),
        ("paths", Self::PATHS),
        ("seccomp", Self::SECCOMP),
        ("all-fetch", Self::ALL_FETCH),
        ("all-run", Self::ALL_RUN),
        ("all", Self::ALL),
    ];

    /// Parses rkt's comma list (`image,tls`, `all-run`, `none`).
    pub(crate) fn parse(list: &str) -> Result<Insecure, Error> {
        let mut bits = 0;
        for word in list.split(',') {
            let word = word.trim();
            let found = Self::NAMES
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(word));
            match found {
                Some((_, opt)) => bits |= opt.0,
                None => return Err(Error::InsecureOption(word.to_string())),
            }
        }
        Ok(Insecure(bits))
    }

    /// Both sets of options.
    pub(crate) fn with(self, other: Insecure) -> Insecure {
        Insecure(self.0 | other.0)
    }

    /// These options minus `other`'s.
    pub(crate) fn without(self, other: Insecure) -> Insecure {
        Insecure(self.0 & !other.0)
    }

    pub(crate) fn contains(self, other: Insecure) -> bool {
        other.0 != 0 && self.0 & other.0 == other.0
    }
}

/// The resolved global flags.
// The config directories and key trust are read by `trust` and `run`, not implemented yet.
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) data_dir: PathBuf,
    pub(crate) local_config: PathBuf,
    pub(crate) system_config: PathBuf,
    pub(crate) user_config: Option<PathBuf>,
    pub(crate) debug: bool,
    pub(crate) insecure: Insecure,
    pub(crate) trust_keys_from_https: bool,
}

#[derive(Debug)]
pub(crate) enum Error {
    InsecureOption(String),
    EmptyDir(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InsecureOption(v) => write!(
                f,
                "invalid argument for --insecure-options: {v:?} (valid: none,image,tls,ondisk,http,pubkey,capabilities,paths,seccomp,all-fetch,all-run,all)"
            ),
            Error::EmptyDir(flag) => write!(f, "invalid argument for {flag}: empty path"),
        }
    }
}

impl std::error::Error for Error {}

/// The raw global flags as typed.
#[derive(Debug, Default)]
pub(crate) struct GlobalFlags {
    pub(crate) dir: Option<String>,
    pub(crate) local_config: Option<String>,
    pub(crate) system_config: Option<String>,
    pub(crate) user_config: Option<String>,
    pub(crate) debug: bool,
    pub(crate) insecure_options: Option<String>,
    pub(crate) trust_keys_from_https: bool,
}

impl Config {
    pub(crate) fn resolve(flags: &GlobalFlags) -> Result<Config, Error> {
        let dir = |value: &Option<String>, flag: &'static str, default: &str| match value {
            Some(v) if v.is_empty() => Err(Error::EmptyDir(flag)),
            Some(v) => Ok(PathBuf::from(v)),
            None => Ok(PathBuf::from(default)),
        };
        Ok(Config {
            data_dir: dir(&flags.dir, "--dir", crate::paths::DEFAULT_DATA_DIR)?,
            local_config: dir(
                &flags.local_config,
                "--local-config",
                crate::paths::DEFAULT_LOCAL_CONFIG,
            )?,
            system_config: dir(
                &flags.system_config,
                "--system-config",
                crate::paths::DEFAULT_SYSTEM_CONFIG,
            )?,
            user_config: flags
                .user_config
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            debug: flags.debug,
            insecure: match &flags.insecure_options {
                Some(list) => Insecure::parse(list)?,
                None => Insecure::NONE,
            },
            trust_keys_from_https: flags.trust_keys_from_https,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_options_lists_and_groups() {
        let all_fetch = Insecure::parse("all-fetch").unwrap();
        for bit in [
            Insecure::IMAGE,
            Insecure::TLS,
            Insecure::HTTP,
            Insecure::PUBKEY,
        ] {
            assert!(all_fetch.contains(bit));
        }
        assert!(!all_fetch.contains(Insecure::SECCOMP));
        let run = Insecure::parse("all-run").unwrap();
        assert!(run.contains(Insecure::CAPABILITIES) && run.contains(Insecure::PATHS));
        assert!(!run.contains(Insecure::IMAGE));
        let list = Insecure::parse("image,tls").unwrap();
        assert!(list.contains(Insecure::IMAGE) && list.contains(Insecure::TLS));
        assert!(!list.contains(Insecure::HTTP));
        assert!(Insecure::parse("all").unwrap().contains(Insecure::ALL_RUN));
        assert!(!Insecure::parse("none").unwrap().contains(Insecure::IMAGE));
        assert!(Insecure::parse("ondisk")
            .unwrap()
            .contains(Insecure::ONDISK));
        let strict = Insecure::parse("image,http")
            .unwrap()
            .without(Insecure::HTTP);
        assert!(strict.contains(Insecure::IMAGE) && !strict.contains(Insecure::HTTP));
    }

    #[test]
    fn insecure_options_unknown_value_is_named() {
        let err = Insecure::parse("image,bogus").unwrap_err();
        assert!(err.to_string().contains("\"bogus\""), "{err}");
        assert!(Insecure::parse("").is_err());
    }

    #[test]
    fn defaults_are_rkts() {
        let c = Config::resolve(&GlobalFlags::default()).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/rkt"));
        assert_eq!(c.local_config, PathBuf::from("/etc/rkt"));
        assert_eq!(c.system_config, PathBuf::from("/usr/lib/rkt"));
        assert!(c.user_config.is_none());
    }
}
