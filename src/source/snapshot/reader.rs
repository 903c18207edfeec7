//! The byte reader under the streaming parser: a UTF-8 byte-order mark at the
//! start skipped, and a small input's bytes kept as they pass, so that a JSON
//! error can quote its line without reading the input again (stdin cannot be).

use std::cell::RefCell;
use std::io::Read;
use std::rc::Rc;

use super::error::SNIPPET_LIMIT;

/// A UTF-8 byte-order mark: not JSON, but some editors start a file with one.
pub(super) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Passes a reader through, without a byte-order mark at its start.
pub(super) struct SkipBom<R> {
    inner: R,
    /// The first bytes, read to look for a mark, not yet handed on.
    head: Vec<u8>,
    checked: bool,
}

impl<R: Read> SkipBom<R> {
    pub(super) fn new(inner: R) -> Self {
        SkipBom {
            inner,
            head: Vec::new(),
            checked: false,
        }
    }
}

impl<R: Read> Read for SkipBom<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.checked {
            self.checked = true;
            let mut head = [0u8; 3];
            let mut filled = 0;
            while filled < head.len() {
                match self.inner.read(&mut head[filled..])? {
                    0 => break,
                    n => filled += n,
                }
            }
            if &head[..filled] != BOM {
                self.head = head[..filled].to_vec();
            }
        }
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            self.head.drain(..n);
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// How much the streaming reader asks the OS for at a time.
pub(super) const READ_CHUNK: usize = 256 * 1024;

/// The bytes read so far, while they fit under `SNIPPET_LIMIT`
/// (`overflowed` from the start when nothing is to be kept).
#[derive(Default)]
pub(super) struct Recording {
    pub(super) bytes: Vec<u8>,
    pub(super) overflowed: bool,
}

/// Passes reads through, keeping a copy of a small input so that a JSON error
/// can show the offending line; a large input is not kept (and no snippet
/// is shown for it, as for in-memory input over the limit).
pub(super) struct Recorder<R> {
    pub(super) inner: R,
    pub(super) recording: Rc<RefCell<Recording>>,
}

impl<R: Read> Read for Recorder<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut recording = self.recording.borrow_mut();
        if !recording.overflowed {
            if recording.bytes.len() + n > SNIPPET_LIMIT {
                recording.overflowed = true;
                recording.bytes = Vec::new();
            } else {
                recording.bytes.extend_from_slice(&buf[..n]);
            }
        }
        Ok(n)
    }
}
