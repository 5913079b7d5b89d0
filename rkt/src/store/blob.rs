//! Reading a stored blob back as the tar it was imported from. Blobs are kept as imported
//! (gzip, bzip2, xz or plain tar), and were validated by the ACI reader on the way in, so a
//! plain multi-stream decoder suffices here; the caller still checks the tar's hash against
//! the key, so a damaged blob is caught, never exported.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::{Error, Result};

const BUFFER: usize = 256 << 10;

/// The uncompressed tar stream of the blob at `path`.
pub(crate) fn open_tar(path: &Path) -> Result<Box<dyn Read>> {
    let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut input = BufReader::with_capacity(BUFFER, file);
    let head = input.fill_buf().map_err(|e| Error::io("read", path, e))?;
    let decoder: Box<dyn Read> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(input))
    } else if head.starts_with(b"BZh") {
        Box::new(bzip2::bufread::MultiBzDecoder::new(input))
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Box::new(lzma_rust2::XzReader::new(input, true))
    } else {
        Box::new(input)
    };
    Ok(Box::new(BufReader::with_capacity(BUFFER, decoder)))
}
