//! STAND-IN for branch `extract`'s `store/extract.rs` (deleted at the merge). NOT SAFE.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub(crate) struct Error(std::io::Error);
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl std::error::Error for Error {}

#[derive(Debug, Default)]
pub(crate) struct ExtractOptions;
#[derive(Debug, Default)]
pub(crate) struct ExtractStats {
    pub(crate) bytes: u64,
}
pub(crate) struct Extractor {
    root: PathBuf,
    bytes: u64,
}
impl Extractor {
    pub(crate) fn new(root: &Path, _o: ExtractOptions) -> Result<Extractor, Error> {
        Ok(Extractor {
            root: root.to_path_buf(),
            bytes: 0,
        })
    }
    pub(crate) fn extract<R: Read>(
        &mut self,
        rel: &Path,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), Error> {
        self.bytes += entry.header().size().unwrap_or(0);
        if rel.as_os_str().is_empty() {
            return Ok(());
        }
        if let Some(p) = rel.parent() {
            std::fs::create_dir_all(self.root.join(p)).map_err(Error)?;
        }
        entry.set_preserve_permissions(true);
        entry.set_preserve_mtime(true);
        entry.unpack(self.root.join(rel)).map(|_| ()).map_err(Error)
    }
    pub(crate) fn finish(self) -> Result<ExtractStats, Error> {
        Ok(ExtractStats { bytes: self.bytes })
    }
}
