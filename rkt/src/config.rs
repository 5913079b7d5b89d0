//! What the global flags resolve to: directories, `--insecure-options`, debug. Command code
//! consumes a [`Config`], never the raw flags.

use std::fmt;
use std::path::{Path, PathBuf};

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
        let mut seen: Vec<&str> = Vec::new();
        for word in list.split(',') {
            let word = word.trim();
            let found = Self::NAMES
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(word));
            match found {
                // rkt 1.30's OptionList.Set refused an option named twice in one value.
                Some((name, _)) if seen.contains(name) => {
                    return Err(Error::DuplicatedOption(name))
                }
                Some((name, opt)) => {
                    seen.push(name);
                    bits |= opt.0
                }
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
    /// What `paths.d` and `stage1.d` say.
    pub(crate) settings: Settings,
}

#[derive(Debug)]
pub(crate) enum Error {
    InsecureOption(String),
    DuplicatedOption(&'static str),
    EmptyDir(&'static str),
    /// A `paths.d` file rkt 1.30 would refuse.
    Paths {
        path: PathBuf,
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InsecureOption(v) => write!(
                f,
                "invalid argument for --insecure-options: {v:?} (valid: none,image,tls,ondisk,http,pubkey,capabilities,paths,seccomp,all-fetch,all-run,all)"
            ),
            Error::EmptyDir(flag) => write!(f, "invalid argument for {flag}: empty path"),
            Error::DuplicatedOption(name) => write!(
                f,
                "invalid argument for --insecure-options: duplicated option {name:?}"
            ),
            Error::Paths { path, reason } => {
                write!(f, "failed to parse `{}`: {reason}", path.display())
            }
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
        let mut config = Config {
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
            settings: Settings::default(),
        };
        config.settings = read_settings(&config.config_dirs())?;
        // rkt 1.30 calculateDataDir: an explicit --dir, else paths.d's `data`, else the default.
        if flags.dir.is_none() {
            if let Some(data) = &config.settings.data {
                config.data_dir = PathBuf::from(data);
            }
        }
        Ok(config)
    }

    /// The configuration directories in rkt's order, later ones overriding earlier ones:
    /// system, local, and the user's when `--user-config` is given.
    pub(crate) fn config_dirs(&self) -> Vec<&Path> {
        let mut dirs = vec![self.system_config.as_path(), self.local_config.as_path()];
        dirs.extend(self.user_config.as_deref());
        dirs
    }
}

/// What the `paths.d` and `stage1.d` files set, merged over the configuration directories
/// (later ones override: per path field; stage1 name and version as a pair, location alone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) data: Option<String>,
    pub(crate) stage1_images: Option<String>,
    pub(crate) stage1_name: Option<(String, String)>,
    pub(crate) stage1_location: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SettingsFile {
    rkt_kind: String,
    rkt_version: String,
    #[serde(default)]
    data: String,
    #[serde(default, rename = "stage1-images")]
    stage1_images: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    location: String,
}

fn json_files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn read_settings_file(path: &Path, kind: &str) -> Result<SettingsFile, Error> {
    let bad = |reason: String| Error::Paths {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    if bytes.len() > 64 * 1024 {
        return Err(bad("larger than 64 KiB".into()));
    }
    let file: SettingsFile = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if file.rkt_kind != kind || file.rkt_version != "v1" {
        return Err(bad(format!("expected rktKind {kind:?}, rktVersion \"v1\"")));
    }
    Ok(file)
}

/// Sets `slot` from `value` once per directory (rkt: "... is already specified"), absolute.
fn set_path(
    slot: &mut Option<String>,
    value: String,
    what: &str,
    path: &Path,
) -> Result<(), Error> {
    let bad = |reason: String| Error::Paths {
        path: path.to_path_buf(),
        reason,
    };
    if value.is_empty() {
        return Ok(());
    }
    if slot.is_some() {
        return Err(bad(format!("{what} is already specified")));
    }
    if !Path::new(&value).is_absolute() {
        return Err(bad(format!("{what} must be an absolute path")));
    }
    *slot = Some(value);
    Ok(())
}

/// rkt 1.30's `paths.d` (`data`, `stage1-images`) and `stage1.d` (`name`, `version`,
/// `location`) of `dirs`, in order.
pub(crate) fn read_settings(dirs: &[&Path]) -> Result<Settings, Error> {
    let mut merged = Settings::default();
    for dir in dirs {
        let mut here = Settings::default();
        for path in json_files_in(&crate::paths::config_paths_d(dir)) {
            let f = read_settings_file(&path, "paths")?;
            set_path(&mut here.data, f.data, "data directory", &path)?;
            set_path(
                &mut here.stage1_images,
                f.stage1_images,
                "stage1 images directory",
                &path,
            )?;
        }
        for path in json_files_in(&crate::paths::config_stage1_d(dir)) {
            let f = read_settings_file(&path, "stage1")?;
            if !f.name.is_empty() {
                if here.stage1_name.is_some() {
                    return Err(Error::Paths {
                        path,
                        reason: "default stage1 image is already specified".into(),
                    });
                }
                here.stage1_name = Some((f.name, f.version));
            }
            if !f.location.is_empty() {
                here.stage1_location = Some(f.location);
            }
        }
        merged.data = here.data.or(merged.data);
        merged.stage1_images = here.stage1_images.or(merged.stage1_images);
        merged.stage1_name = here.stage1_name.or(merged.stage1_name);
        merged.stage1_location = here.stage1_location.or(merged.stage1_location);
    }
    Ok(merged)
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
    fn an_option_named_twice_in_one_value_is_refused() {
        let e = Insecure::parse("image,tls,IMAGE").unwrap_err().to_string();
        assert!(e.contains("duplicated option \"image\""), "{e}");
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
