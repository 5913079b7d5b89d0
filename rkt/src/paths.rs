//! Every on-disk location rkt uses, as functions of the data or config directory.
//! No other module joins path components of the store, pods or config (rkt common/common.go).

use std::path::{Path, PathBuf};

/// The data directory when `--dir` is not given.
pub(crate) const DEFAULT_DATA_DIR: &str = "/var/lib/rkt";
/// The administrator's configuration (`--local-config`).
pub(crate) const DEFAULT_LOCAL_CONFIG: &str = "/etc/rkt";
/// The vendor's configuration (`--system-config`).
pub(crate) const DEFAULT_SYSTEM_CONFIG: &str = "/usr/lib/rkt";

/// `<dir>/cas`: the image store.
pub(crate) fn cas(data_dir: &Path) -> PathBuf {
    data_dir.join("cas")
}

/// `<dir>/pods`: pod directories, one subdirectory per state.
pub(crate) fn pods(data_dir: &Path) -> PathBuf {
    data_dir.join("pods")
}
