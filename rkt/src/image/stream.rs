//! The byte pipeline under an ACI's tar parser:
//!
//! ```text
//! plain:      source -> Guarded -> BufReader 256 KiB ---------------------\
//! compressed: source -> Guarded -> BufReader 64 KiB -> Concatenated       |
//!                       (decoder thread: 1 MiB chunks, 4 in flight) -> Pipelined
//!                                                                          v
//!                    TarStream (SHA-512 of every byte, metadata budget) -> tar::Archive
//! ```
//!
//! `Guarded` records the source's own I/O errors; `Concatenated` decodes one or more
//! concatenated gzip, bzip2 or xz streams and refuses trailing data.
//!
//! Errors cross the `tar` crate as `io::Error`s, which lose which layer failed. So each layer
//! records its first failure in a [`Shared`] slot, and the reader maps that back to a precise
//! [`Error`](super::Error) (`read` vs `corrupt gzip` vs `trailing data` vs `bad tar`).

use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::{Digest, Sha512};

use super::Compression;

/// Reads of a plain tar: large, to keep syscalls rare.
const OUTPUT_BUFFER: usize = 256 << 10;
/// Input side of the decoders: enough to keep syscalls rare.
const INPUT_BUFFER: usize = 64 << 10;
/// The xz decoder's dictionary limit. `xz -9` needs 64 MiB; a hostile header could ask for
/// 4 GiB. 512 MiB accepts anything a sane encoder writes.
const XZ_MEM_LIMIT_KIB: u32 = 512 << 10;
/// `budget` value meaning "not armed".
const UNLIMITED: u64 = u64::MAX;

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const BZIP2_MAGIC: &[u8] = b"BZh";
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];

/// What the first bytes of a file say it is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Aci(Compression),
    Unsupported(&'static str),
    Unknown,
    Empty,
}

/// How many leading bytes [`sniff`] wants: a tar header, whose `ustar` magic sits at 257.
pub(crate) const SNIFF_LEN: usize = 512;

/// Detects the format as appc's `DetectFileType` does, naming well-known formats ACIs may not use.
pub(crate) fn sniff(head: &[u8]) -> Sniffed {
    if head.is_empty() {
        return Sniffed::Empty;
    }
    if head.starts_with(GZIP_MAGIC) {
        Sniffed::Aci(Compression::Gzip)
    } else if head.starts_with(BZIP2_MAGIC) {
        Sniffed::Aci(Compression::Bzip2)
    } else if head.starts_with(XZ_MAGIC) {
        Sniffed::Aci(Compression::Xz)
    } else if head.len() > 262 && &head[257..262] == b"ustar" {
        Sniffed::Aci(Compression::None)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Sniffed::Unsupported("zstd")
    } else if head.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        Sniffed::Unsupported("lz4")
    } else {
        Sniffed::Unknown
    }
}

/// Reads up to [`SNIFF_LEN`] bytes, fewer only at EOF.
pub(crate) fn read_head(source: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    source.take(SNIFF_LEN as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// The first failure seen anywhere in the pipeline.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The file or stream itself.
    Source(io::Error),
    /// The decompressor: corrupt or truncated data.
    Decode(io::Error),
    /// Something other than another stream of the same format after the compressed data.
    Trailing,
    /// The tar parser read more metadata than the armed budget allows.
    TooLarge,
}

/// State the pipeline layers and the ACI reader share (across threads when decoding runs in
/// its own thread).
#[derive(Debug)]
pub(crate) struct Shared {
    /// Bytes the tar parser may still read before failing; [`UNLIMITED`] when not armed.
    budget: AtomicU64,
    failure: Mutex<Option<Failure>>,
}

impl Shared {
    pub(crate) fn new() -> Arc<Shared> {
        Arc::new(Shared {
            budget: AtomicU64::new(UNLIMITED),
            failure: Mutex::new(None),
        })
    }

    fn slot(&self) -> MutexGuard<'_, Option<Failure>> {
        // A panic while holding this lock cannot leave the Option half-written.
        self.failure.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps the first failure: later ones are consequences.
    fn record(&self, failure: Failure) {
        let mut slot = self.slot();
        if slot.is_none() {
            *slot = Some(failure);
        }
    }

    pub(crate) fn take_failure(&self) -> Option<Failure> {
        self.slot().take()
    }

    /// Limits what the tar parser may read until [`Shared::disarm`]: the `tar` crate reads
    /// PAX and GNU long-name payloads whole into memory, so unarmed a header claiming 100 GiB
    /// would be buffered.
    pub(crate) fn arm(&self, limit: u64) {
        self.budget.store(limit, Ordering::Relaxed);
    }

    pub(crate) fn disarm(&self) {
        self.budget.store(UNLIMITED, Ordering::Relaxed);
    }
}

/// An `io::Error` to hand upwards while the original stays in the shared slot.
fn echo(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}

/// The source, recording its own failures as [`Failure::Source`].
pub(crate) struct Guarded<R> {
    inner: R,
    shared: Arc<Shared>,
}

impl<R: Read> Guarded<R> {
    pub(crate) fn new(inner: R, shared: Arc<Shared>) -> Self {
        Guarded { inner, shared }
    }
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                return e;
            }
            let up = echo(&e);
            self.shared.record(Failure::Source(e));
            up
        })
    }
}

/// One compressed stream's decoder over a buffered source.
enum Decoder<S: BufRead> {
    Gzip(Box<flate2::bufread::GzDecoder<S>>),
    Bzip2(bzip2::bufread::BzDecoder<S>),
    Xz(Box<lzma_rust2::XzReader<S>>),
}

impl<S: BufRead> Decoder<S> {
    /// Gives the source back for [`Compression::None`], which needs no decoder.
    fn new(compression: Compression, source: S) -> Result<Self, S> {
        match compression {
            Compression::Gzip => Ok(Decoder::Gzip(Box::new(flate2::bufread::GzDecoder::new(
                source,
            )))),
            Compression::Bzip2 => Ok(Decoder::Bzip2(bzip2::bufread::BzDecoder::new(source))),
            Compression::Xz => Ok(Decoder::Xz(Box::new(
                // Single stream: the loop in `Concatenated` handles what follows, so that
                // trailing garbage gets its own error.
                lzma_rust2::XzReader::new_mem_limit(source, false, XZ_MEM_LIMIT_KIB),
            ))),
            Compression::None => Err(source),
        }
    }

    /// The source, positioned right after this stream: each decoder consumes exactly its
    /// stream's bytes from a `BufRead` (gzip and bzip2 through `consume`, xz because LZMA2
    /// chunks and the index carry their sizes).
    fn into_inner(self) -> S {
        match self {
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Bzip2(d) => d.into_inner(),
            Decoder::Xz(d) => d.into_inner(),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Bzip2(d) => d.read(buf),
            Decoder::Xz(d) => d.read(buf),
        }
    }
}

/// Decodes one or more concatenated streams of one format and refuses anything else after
/// them. Concatenation is what `gzip -dc`, `bzip2 -dc` and `xz -dc` accept (and Go's gzip
/// reader, which rkt used, is multistream by default); anything that does not start like another
/// stream is trailing garbage. xz stream padding (NULs in multiples of four) is allowed, as
/// the xz format says; gzip and bzip2 have none, so trailing NULs are garbage there.
pub(crate) struct Concatenated<S: BufRead> {
    decoder: Option<Decoder<S>>,
    compression: Compression,
    shared: Arc<Shared>,
}

impl<S: BufRead> Concatenated<S> {
    /// Gives the source back for [`Compression::None`], which needs no decoder.
    pub(crate) fn new(compression: Compression, source: S, shared: Arc<Shared>) -> Result<Self, S> {
        Ok(Concatenated {
            decoder: Some(Decoder::new(compression, source)?),
            compression,
            shared,
        })
    }

    /// After a stream: is there another one?
    fn next_stream(&self, source: &mut S) -> io::Result<bool> {
        let magic = match self.compression {
            Compression::Gzip => GZIP_MAGIC,
            Compression::Bzip2 => BZIP2_MAGIC,
            Compression::Xz => XZ_MAGIC,
            Compression::None => return Ok(false),
        };
        let mut padding = 0u64;
        loop {
            let buf = source.fill_buf()?;
            if buf.is_empty() {
                return if padding.is_multiple_of(4) {
                    Ok(false)
                } else {
                    Err(self.trailing_error())
                };
            }
            if self.compression == Compression::Xz && buf[0] == 0 {
                let zeros = buf.iter().take_while(|b| **b == 0).count();
                source.consume(zeros);
                padding += zeros as u64;
                continue;
            }
            if !padding.is_multiple_of(4) {
                return Err(self.trailing_error());
            }
            // Only what is buffered is compared; a stream that starts right but goes wrong
            // later fails in its decoder, as corrupt data.
            let n = buf.len().min(magic.len());
            return if buf[..n] == magic[..n] {
                Ok(true)
            } else {
                Err(self.trailing_error())
            };
        }
    }

    fn trailing_error(&self) -> io::Error {
        self.shared.record(Failure::Trailing);
        io::Error::new(io::ErrorKind::InvalidData, "trailing data")
    }
}

impl<S: BufRead> Read for Concatenated<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(0);
            };
            match decoder.read(buf) {
                Ok(0) => {
                    let mut source = match self.decoder.take() {
                        Some(d) => d.into_inner(),
                        None => return Ok(0),
                    };
                    if !self.next_stream(&mut source)? {
                        return Ok(0);
                    }
                    self.decoder = Decoder::new(self.compression, source).ok();
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
                Err(e) => {
                    let up = echo(&e);
                    // A source failure was recorded first and wins.
                    self.shared.record(Failure::Decode(e));
                    return Err(up);
                }
            }
        }
    }
}

/// What the tar parser reads from: every byte it reads is hashed, and while the budget is armed
/// reads beyond it fail.
pub(crate) struct TarStream {
    inner: Box<dyn Read + Send>,
    hasher: Sha512,
    len: u64,
    shared: Arc<Shared>,
}

impl TarStream {
    pub(crate) fn new(inner: Box<dyn Read + Send>, shared: Arc<Shared>) -> Self {
        TarStream {
            inner,
            hasher: Sha512::new(),
            len: 0,
            shared,
        }
    }

    /// Reads to EOF so that the digest covers the whole uncompressed stream, including the
    /// tar's end blocks and record padding (what `gzip -dc x | sha512sum` hashes), and so that
    /// the decoders see the end of their input and check for trailing data. Returns the SHA-512
    /// and the uncompressed length.
    pub(crate) fn finish(mut self) -> io::Result<(Vec<u8>, u64)> {
        let mut buf = vec![0u8; OUTPUT_BUFFER];
        while self.read(&mut buf)? != 0 {}
        Ok((self.hasher.finalize().to_vec(), self.len))
    }
}

impl Read for TarStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let budget = self.shared.budget.load(Ordering::Relaxed);
        if budget != UNLIMITED {
            if n as u64 > budget {
                self.shared.record(Failure::TooLarge);
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "tar metadata over the limit",
                ));
            }
            self.shared
                .budget
                .store(budget - n as u64, Ordering::Relaxed);
        }
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// Size of the buffers the decoding thread fills and hands over. zlib-rs is much faster with
/// large output reads than with 8 KiB ones (deps-notes §4).
const CHUNK: usize = 1 << 20;
/// Full buffers in flight: enough to ride out bursts on either side, bounded memory (about
/// `(CHUNK_QUEUE + 2) * CHUNK`).
const CHUNK_QUEUE: usize = 4;

enum Chunk {
    Data(Vec<u8>),
    End,
    /// The error, and what the decoding thread's layers recorded about it.
    Failed(io::Error, Option<Failure>),
}

/// A decoder running in its own thread, so that decompression overlaps hashing and whatever
/// the tar consumer does (extraction). Buffers come back through `recycle`, so steady state
/// allocates nothing.
///
/// The thread's layers record failures in a slot of their own; a failure reaches the
/// consumer's [`Shared`] only when the consumer reads it. The decoder runs megabytes ahead, and
/// an error the consumer never got to must not replace the one it did hit.
pub(crate) struct Pipelined {
    chunks: Receiver<Chunk>,
    shared: Arc<Shared>,
    recycle: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    ended: bool,
}

impl Pipelined {
    /// Runs `decoder`, whose layers record into `private`; failures are forwarded to `shared`.
    pub(crate) fn spawn(
        mut decoder: Box<dyn Read + Send>,
        private: Arc<Shared>,
        shared: Arc<Shared>,
    ) -> io::Result<Pipelined> {
        let (tx, chunks) = mpsc::sync_channel(CHUNK_QUEUE);
        let (recycle, recycled) = mpsc::sync_channel::<Vec<u8>>(CHUNK_QUEUE + 2);
        std::thread::Builder::new()
            .name("aci-decode".into())
            .spawn(move || loop {
                let mut buf = recycled.try_recv().unwrap_or_default();
                buf.resize(CHUNK, 0);
                let chunk = match fill(&mut decoder, &mut buf) {
                    Ok(0) => Chunk::End,
                    Ok(n) => {
                        buf.truncate(n);
                        Chunk::Data(buf)
                    }
                    Err(e) => Chunk::Failed(e, private.take_failure()),
                };
                let last = !matches!(chunk, Chunk::Data(_));
                // A closed channel means the reader gave up: stop decoding.
                if tx.send(chunk).is_err() || last {
                    return;
                }
            })?;
        Ok(Pipelined {
            chunks,
            shared,
            recycle,
            current: Vec::new(),
            pos: 0,
            ended: false,
        })
    }
}

/// Reads until `buf` is full or EOF.
fn fill(source: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match source.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl Read for Pipelined {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.ended {
                return Ok(0);
            }
            let used = std::mem::take(&mut self.current);
            // Dropped when the decoder has enough spares already.
            let _ = self.recycle.try_send(used);
            self.pos = 0;
            match self.chunks.recv() {
                Ok(Chunk::Data(data)) => self.current = data,
                Ok(Chunk::End) => self.ended = true,
                Ok(Chunk::Failed(e, failure)) => {
                    self.ended = true;
                    if let Some(failure) = failure {
                        self.shared.record(failure);
                    }
                    return Err(e);
                }
                // Without `End` the decoder died (a panic): never mistake that for EOF.
                Err(_) => {
                    self.ended = true;
                    return Err(io::Error::other("the decompression thread died"));
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Builds the decoding half of the pipeline over `source`, whose first bytes `head` were already
/// read for sniffing. Compressed input is decoded in a thread of its own: on two cores that
/// made hashing a 330 MB gzip ACI about 30% faster (hashing and inflating take about the same
/// time), and during an import it overlaps decompression with extraction. A plain tar needs
/// no thread: reading it is cheap next to hashing.
pub(crate) fn decoded<R: Read + Send + 'static>(
    compression: Compression,
    head: Vec<u8>,
    source: R,
    shared: &Arc<Shared>,
) -> io::Result<Box<dyn Read + Send>> {
    // Plain: everything runs in the consumer's thread and records straight into `shared`.
    let private = match compression {
        Compression::None => Arc::clone(shared),
        _ => Shared::new(),
    };
    let source = io::Cursor::new(head).chain(Guarded::new(source, Arc::clone(&private)));
    // A plain tar's only buffer is the input one, so it gets the output buffer's size.
    let capacity = match compression {
        Compression::None => OUTPUT_BUFFER,
        _ => INPUT_BUFFER,
    };
    let input = BufReader::with_capacity(capacity, source);
    match Concatenated::new(compression, input, Arc::clone(&private)) {
        Ok(decoder) => Ok(Box::new(Pipelined::spawn(
            Box::new(decoder),
            private,
            Arc::clone(shared),
        )?)),
        Err(plain) => Ok(Box::new(plain)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_follows_appc_and_names_known_formats() {
        let mut tar = vec![0u8; 512];
        tar[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(sniff(&tar), Sniffed::Aci(Compression::None));
        assert_eq!(sniff(&tar[..262]), Sniffed::Unknown);
        assert_eq!(sniff(&[0x1f, 0x8b, 8]), Sniffed::Aci(Compression::Gzip));
        assert_eq!(sniff(b"BZh91AY"), Sniffed::Aci(Compression::Bzip2));
        assert_eq!(sniff(XZ_MAGIC), Sniffed::Aci(Compression::Xz));
        assert_eq!(
            sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Sniffed::Unsupported("zstd")
        );
        assert_eq!(
            sniff(&[0x04, 0x22, 0x4d, 0x18]),
            Sniffed::Unsupported("lz4")
        );
        assert_eq!(sniff(b"PK\x03\x04"), Sniffed::Unknown);
        assert_eq!(sniff(b""), Sniffed::Empty);
    }

    #[test]
    fn the_decoder_thread_hands_over_data_and_errors() {
        struct Then(io::Cursor<Vec<u8>>, Option<io::Error>);
        impl Read for Then {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                match self.0.read(buf)? {
                    0 => self.1.take().map_or(Ok(0), Err),
                    n => Ok(n),
                }
            }
        }
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| i as u8).collect();
        let spawn = |r: Then| Pipelined::spawn(Box::new(r), Shared::new(), Shared::new());
        let mut p = spawn(Then(io::Cursor::new(data.clone()), None)).unwrap();
        let mut out = Vec::new();
        p.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);

        let failing = Then(io::Cursor::new(vec![1; 10]), Some(io::Error::other("bad")));
        let mut p = spawn(failing).unwrap();
        let e = p.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(e.to_string(), "bad");
    }

    #[test]
    fn a_dead_decoder_thread_is_an_error_not_eof() {
        struct Panics;
        impl Read for Panics {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                panic!("decoder bug (expected by this test)");
            }
        }
        let mut p = Pipelined::spawn(Box::new(Panics), Shared::new(), Shared::new()).unwrap();
        let e = p.read(&mut [0u8; 16]).unwrap_err();
        assert_eq!(e.to_string(), "the decompression thread died");
    }
}
