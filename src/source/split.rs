//! The fast path for large snapshot files: split the `ImageSet` array into
//! one image's bytes at a time and parse each with serde_json's in-memory
//! parser, which is about twice as fast as its reader-based one, while
//! holding only a window of the file.
//!
//! It handles the shapes whose images sit in a top-level `ImageSet` (ours and
//! tccli's) and gives up — returning `None` — on anything it is not sure of:
//! a JSON error, an escaped key, `ImageSet` that is not an array, a
//! different shape. The caller then reads the file again with the exact
//! streaming parser, so every error message, and every shape, comes from one
//! place; this module only has to agree with it on input it accepts, which
//! is tested differentially (unit tests, properties and the fuzz target).

use std::io::{self, Read};

use serde::Deserialize;

use super::snapshot::{self, Snapshot};
use crate::image::Image;

/// Bytes asked of the reader at a time; the window grows past this only for
/// a single value larger than it.
const CHUNK: usize = 1 << 20;

/// Top-level values other than `ImageSet` are copied into a small envelope
/// and parsed by the exact parser; past this size the fast path gives up
/// rather than hold a large copy.
const ENVELOPE_LIMIT: usize = 1 << 20;

/// Read a top-level-object snapshot through the fast path. `None`: not
/// handled here (including every malformed input); read it the exact way.
pub fn read_top_object(name: &str, reader: impl Read) -> io::Result<Option<Snapshot>> {
    let mut window = Window::new(reader);
    let mut envelope: Vec<u8> = vec![b'{'];
    let mut images: Vec<Image> = Vec::new();
    let mut seen_image_set = false;
    if window.skip_ws()? != Some(b'{') {
        return Ok(None);
    }
    window.advance(1);
    let mut first = true;
    loop {
        match window.skip_ws()? {
            Some(b'}') if first => {
                window.advance(1);
                break;
            }
            Some(b'"') => {}
            _ => return Ok(None),
        }
        let Some(key_len) = window.value_len()? else {
            return Ok(None);
        };
        let key = window.take(key_len);
        if key.contains(&b'\\') {
            // Escaped keys are legal but rare; the exact parser decodes them.
            return Ok(None);
        }
        let is_image_set = key == b"\"ImageSet\"";
        if !first {
            envelope.push(b',');
        }
        envelope.extend_from_slice(key);
        if window.skip_ws()? != Some(b':') {
            return Ok(None);
        }
        window.advance(1);
        envelope.push(b':');
        if is_image_set {
            if seen_image_set || window.skip_ws()? != Some(b'[') {
                return Ok(None);
            }
            seen_image_set = true;
            window.advance(1);
            if !read_images(&mut window, &mut images)? {
                return Ok(None);
            }
            envelope.extend_from_slice(b"[]");
        } else {
            window.skip_ws()?;
            let Some(len) = window.value_len()? else {
                return Ok(None);
            };
            envelope.extend_from_slice(window.take(len));
            if envelope.len() > ENVELOPE_LIMIT {
                return Ok(None);
            }
        }
        first = false;
        match window.skip_ws()? {
            Some(b',') => window.advance(1),
            Some(b'}') => {
                window.advance(1);
                break;
            }
            _ => return Ok(None),
        }
    }
    if window.skip_ws()?.is_some() || !seen_image_set {
        return Ok(None);
    }
    envelope.push(b'}');
    // The exact parser decides the shape, the total and the provenance.
    let Ok(mut snapshot) = snapshot::read(name, &envelope) else {
        return Ok(None);
    };
    if !matches!(
        snapshot.shape,
        snapshot::Shape::Ecmguard | snapshot::Shape::Tccli
    ) {
        return Ok(None);
    }
    snapshot.images = images;
    Ok(Some(snapshot))
}

/// The elements of an `ImageSet` array whose `[` was consumed. `false`: give up.
fn read_images<R: Read>(window: &mut Window<R>, images: &mut Vec<Image>) -> io::Result<bool> {
    if window.skip_ws()? == Some(b']') {
        window.advance(1);
        return Ok(true);
    }
    loop {
        if window.skip_ws()? != Some(b'{') {
            return Ok(false);
        }
        let Some(len) = window.value_len()? else {
            return Ok(false);
        };
        let mut de = serde_json::Deserializer::from_slice(window.take(len));
        match Image::deserialize(&mut de).and_then(|image| de.end().map(|()| image)) {
            Ok(image) => images.push(image),
            Err(_) => return Ok(false),
        }
        match window.skip_ws()? {
            Some(b',') => window.advance(1),
            Some(b']') => {
                window.advance(1);
                return Ok(true);
            }
            _ => return Ok(false),
        }
    }
}

/// A sliding window over the input: `buf[start..end]` is read, not consumed.
struct Window<R> {
    reader: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl<R: Read> Window<R> {
    fn new(reader: R) -> Self {
        Self {
            reader,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
        }
    }

    /// Make `buf[start + at]` available if the input has it.
    fn ensure(&mut self, at: usize) -> io::Result<bool> {
        while self.start + at >= self.end {
            if self.eof {
                return Ok(false);
            }
            if self.start > 0 {
                // Keep only what is not consumed yet.
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() < self.end + CHUNK {
                self.buf.resize(self.end + CHUNK, 0);
            }
            let n = loop {
                match self.reader.read(&mut self.buf[self.end..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
        }
        Ok(true)
    }

    fn byte(&mut self, at: usize) -> io::Result<Option<u8>> {
        Ok(if self.ensure(at)? {
            Some(self.buf[self.start + at])
        } else {
            None
        })
    }

    fn advance(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Consume `n` bytes that `value_len` has made available.
    fn take(&mut self, n: usize) -> &[u8] {
        let from = self.start;
        self.advance(n);
        &self.buf[from..self.start]
    }

    /// Skip JSON whitespace; the next byte, not consumed.
    fn skip_ws(&mut self) -> io::Result<Option<u8>> {
        loop {
            match self.byte(0)? {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.advance(1),
                other => return Ok(other),
            }
        }
    }

    /// The length of the JSON value at the window's start, found by
    /// brackets and string quotes only (the parser that reads it checks the
    /// rest). `None` if the input ends first.
    fn value_len(&mut self) -> io::Result<Option<usize>> {
        let Some(first) = self.byte(0)? else {
            return Ok(None);
        };
        match first {
            b'"' => self.string_end(0).map(|end| end.map(|e| e + 1)),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut at = 0;
                loop {
                    if !self.ensure(at)? {
                        return Ok(None);
                    }
                    // Scan what is buffered in a tight loop (a call per byte
                    // was a sixth of reading a snapshot); strings, which may
                    // hold brackets, are skipped by `string_end`.
                    let buffered = &self.buf[self.start + at..self.end];
                    let mut string_at = None;
                    for (i, &b) in buffered.iter().enumerate() {
                        match b {
                            b'"' => {
                                string_at = Some(at + i);
                                break;
                            }
                            b'{' | b'[' => depth += 1,
                            b'}' | b']' => {
                                // The first byte opened, so depth is at least 1 here.
                                depth = depth.saturating_sub(1);
                                if depth == 0 {
                                    return Ok(Some(at + i + 1));
                                }
                            }
                            _ => {}
                        }
                    }
                    match string_at {
                        Some(open) => match self.string_end(open)? {
                            Some(close) => at = close + 1,
                            None => return Ok(None),
                        },
                        None => at += buffered.len(),
                    }
                }
            }
            _ => {
                // A number or literal: up to the next delimiter.
                let mut at = 0;
                while let Some(b) = self.byte(at)? {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    at += 1;
                }
                Ok(Some(at))
            }
        }
    }

    /// Offset of the quote closing the string that opens at `open`.
    fn string_end(&mut self, open: usize) -> io::Result<Option<usize>> {
        let mut at = open + 1;
        loop {
            // Scan what is buffered without a call per byte.
            if self.start + at < self.end {
                let rest = &self.buf[self.start + at..self.end];
                match rest.iter().position(|&b| b == b'"' || b == b'\\') {
                    Some(i) if rest[i] == b'"' => return Ok(Some(at + i)),
                    // A backslash escapes the next byte, whatever it is.
                    Some(i) => at += i + 2,
                    None => at += rest.len(),
                }
            } else if !self.ensure(at)? {
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{GenOptions, write_snapshot};

    fn same(bytes: &[u8]) {
        let exact = snapshot::read("t.json", bytes);
        let fast = read_top_object("t.json", bytes).expect("no I/O error");
        if let Some(fast) = fast {
            let exact = exact.expect("the fast path accepted what the exact one refuses");
            assert_eq!(fast.shape, exact.shape);
            assert_eq!(fast.total_count, exact.total_count);
            assert_eq!(fast.fetched_at, exact.fetched_at);
            assert_eq!(fast.endpoint, exact.endpoint);
            assert_eq!(fast.filters, exact.filters);
            let json = |s: &Snapshot| serde_json::to_string(&s.images).unwrap();
            assert_eq!(json(&fast), json(&exact));
        }
    }

    #[test]
    fn generated_snapshots_take_the_fast_path_and_agree() {
        let mut bytes = Vec::new();
        write_snapshot(
            &GenOptions {
                count: 2000,
                violating: 0.5,
                ..GenOptions::default()
            },
            &mut bytes,
        )
        .unwrap();
        let fast = read_top_object("t.json", bytes.as_slice()).unwrap();
        assert_eq!(fast.map(|s| s.images.len()), Some(2000));
        same(&bytes);
    }

    #[test]
    fn only_top_level_image_sets_are_handled() {
        for (json, handled) in [
            (
                r#"{"TotalCount":1,"ImageSet":[{"ImageId":"a"}],"RequestId":"r"}"#,
                true,
            ),
            (r#" { "ImageSet" : [ ] , "TotalCount" : 0 } "#, true),
            (
                r#"{"Response":{"TotalCount":1,"ImageSet":[{"ImageId":"a"}]}}"#,
                false,
            ),
            (r#"[{"ImageId":"a"}]"#, false),
            (r#"{"ImageSet":null}"#, false),
            (r#"{"Image\u0053et":[]}"#, false),
            (r#"{"ImageSet":[{"ImageId":"a"},]}"#, false),
            (r#"{"ImageSet":[],"ImageSet":[]}"#, false),
            (r#"{"ImageSet":[{"ImageId":"a"}]"#, false),
            (r#"{"ImageSet":[{"ImageId":"a\"}]}"}]}"#, true),
            (r#"{"ImageSet":[]} x"#, false),
            (r#"{"schema":"other","ImageSet":[]}"#, false),
            (
                r#"{"filters":[1,{"a":"]"}],"ImageSet":[{"ImageSize":"50"}]}"#,
                false,
            ),
            (
                r#"{"filters":[1,{"a":"]"}],"ImageSet":[{"ImageSize":50}]}"#,
                true,
            ),
        ] {
            let fast = read_top_object("t.json", json.as_bytes()).unwrap();
            assert_eq!(fast.is_some(), handled, "{json}");
            same(json.as_bytes());
        }
    }

    #[test]
    fn values_larger_than_a_chunk_are_handled() {
        let long = "x".repeat(3 * CHUNK);
        let json = format!(r#"{{"ImageSet":[{{"ImageId":"{long}"}},{{"ImageName":"b"}}]}}"#);
        let fast = read_top_object("t.json", json.as_bytes()).unwrap().unwrap();
        assert_eq!(fast.images.len(), 2);
        same(json.as_bytes());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, failure_persistence: None, ..Default::default() })]

        /// Random edits of a valid snapshot: whatever the fast path accepts,
        /// the exact parser reads the same way.
        #[test]
        fn the_fast_path_agrees_with_the_exact_parser(
            at in 0usize..4000,
            byte in proptest::prelude::any::<u8>(),
            cut in proptest::prelude::any::<bool>(),
        ) {
            let mut bytes = Vec::new();
            write_snapshot(&GenOptions { count: 6, ..GenOptions::default() }, &mut bytes).unwrap();
            let at = at % bytes.len();
            if cut {
                bytes.truncate(at);
            } else {
                bytes[at] = byte;
            }
            same(&bytes);
        }
    }
}
