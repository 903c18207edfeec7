//! The fast path for large snapshot files: split the `ImageSet` array into
//! one image's bytes at a time and parse each with serde_json's in-memory
//! parser, which is about twice as fast as its reader-based one, while
//! holding only a window of the file.
//!
//! It knows nothing of snapshot shapes: it cuts each top-level JSON object
//! (one, or several one after another, as `cat` writes pages) into the images
//! of its `ImageSet` array and an *envelope* (every other key, with `ImageSet`
//! emptied), and gives up — returning `None` — on anything it is not sure
//! of: a JSON error, an escaped key, `ImageSet` that is not an array.
//! The parent reads the envelope with the exact parser to decide the shape,
//! and on `None` reads the file again with the exact streaming parser, so
//! every error message, and every shape, comes from one place; this module
//! only has to agree with it on input it accepts, which is tested
//! differentially (the parent's tests, properties and the fuzz target).

use std::io::{self, Read};
use std::ops::Range;

use super::SnapshotImage;

/// Bytes asked of the reader at a time; the window grows past this only for
/// a single value larger than it.
const CHUNK: usize = 1 << 20;

/// Top-level values other than `ImageSet` are copied into a small envelope
/// and parsed by the exact parser; past this size the fast path gives up
/// rather than hold a large copy. The `usage` section (instances and modules,
/// tens of MB on a large account) is not counted: the exact parser reads it
/// anyway, and giving up would read every image the slow way as well.
const ENVELOPE_LIMIT: usize = 1 << 20;

/// The top-level objects of an input, cut: the images of all of them, in
/// order, and each one's envelope.
pub(super) struct Split<T> {
    pub(super) documents: Vec<Envelope>,
    pub(super) images: Vec<T>,
}

/// A top-level object without its images.
pub(super) struct Envelope {
    /// The object with `"ImageSet": []`: small, for the exact parser.
    pub(super) bytes: Vec<u8>,
    /// Where its `ImageSet` images are in [`Split::images`].
    pub(super) images: Range<usize>,
    /// How many of `bytes` are its `usage` section's (not counted against the limit).
    usage: usize,
}

/// Cut every top-level object of the input (one, or several one after
/// another), each with one `ImageSet` array. `None`: not handled here
/// (including every malformed input); read it the exact way.
pub(super) fn split_documents<T: SnapshotImage, R: Read>(
    reader: R,
) -> io::Result<Option<Split<T>>> {
    let mut window = Window::new(reader);
    let mut split = Split {
        documents: Vec::new(),
        images: Vec::new(),
    };
    let mut envelopes = 0;
    while window.skip_ws()?.is_some() {
        let Some(envelope) = split_object(&mut window, &mut split.images)? else {
            return Ok(None);
        };
        // The envelopes are held until the last document is read: bounded
        // in all, as each one is.
        envelopes += envelope.bytes.len() - envelope.usage;
        if envelopes > ENVELOPE_LIMIT {
            return Ok(None);
        }
        split.documents.push(envelope);
    }
    Ok((!split.documents.is_empty()).then_some(split))
}

/// Cut the object at the window's start, its images appended to `images`.
fn split_object<T: SnapshotImage, R: Read>(
    window: &mut Window<R>,
    images: &mut Vec<T>,
) -> io::Result<Option<Envelope>> {
    let mut envelope: Vec<u8> = vec![b'{'];
    let start = images.len();
    let mut seen_image_set = false;
    // Bytes of the envelope that are the `usage` section's.
    let mut usage_bytes = 0;
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
        let is_usage = key == b"\"usage\"";
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
            if !read_images(window, images)? {
                return Ok(None);
            }
            envelope.extend_from_slice(b"[]");
        } else {
            window.skip_ws()?;
            let Some(len) = window.value_len()? else {
                return Ok(None);
            };
            if is_usage {
                usage_bytes += len;
            }
            envelope.extend_from_slice(window.take(len));
            if envelope.len() - usage_bytes > ENVELOPE_LIMIT {
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
    if !seen_image_set {
        return Ok(None);
    }
    envelope.push(b'}');
    Ok(Some(Envelope {
        bytes: envelope,
        images: start..images.len(),
        usage: usage_bytes,
    }))
}

/// The elements of an `ImageSet` array whose `[` was consumed. `false`: give up.
fn read_images<T: SnapshotImage, R: Read>(
    window: &mut Window<R>,
    images: &mut Vec<T>,
) -> io::Result<bool> {
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
        match T::deserialize(&mut de).and_then(|image| de.end().map(|()| image)) {
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
    use crate::image::Image;

    fn documents(json: &str) -> Option<Split<Image>> {
        split_documents(json.as_bytes()).expect("no I/O error")
    }

    /// The one document of `json`: its envelope, and how many images it has.
    fn split(json: &str) -> Option<(Vec<u8>, usize)> {
        documents(json).and_then(|mut split| {
            (split.documents.len() == 1)
                .then(|| (split.documents.remove(0).bytes, split.images.len()))
        })
    }

    #[test]
    fn the_envelope_keeps_every_other_key_and_empties_the_image_set() {
        let (envelope, images) =
            split(r#" { "a" : [1, {"b": "]"}], "ImageSet" : [{"ImageId":"x"}], "c": null } "#)
                .expect("handled");
        assert_eq!(
            String::from_utf8(envelope).unwrap(),
            r#"{"a":[1, {"b": "]"}],"ImageSet":[],"c":null}"#
        );
        assert_eq!(images, 1);
    }

    #[test]
    fn anything_unsure_is_left_to_the_exact_parser() {
        for json in [
            r#"[{"ImageId":"a"}]"#,
            r#"{"ImageSet":null}"#,
            r#"{"Image\u0053et":[]}"#,
            r#"{"ImageSet":[{"ImageId":"a"},]}"#,
            r#"{"ImageSet":[],"ImageSet":[]}"#,
            r#"{"ImageSet":[{"ImageId":"a"}]"#,
            r#"{"ImageSet":[]} x"#,
            r#"{"ImageSet":[]} []"#,
            r#"{"ImageSet":[]} {"TotalCount":1}"#,
            r#"{"TotalCount":1}"#,
            "",
            "  ",
            r#"{"ImageSet":[{"ImageSize":"50"}]}"#,
        ] {
            assert!(documents(json).is_none(), "{json}");
        }
    }

    #[test]
    fn values_larger_than_a_chunk_are_handled() {
        let long = "x".repeat(3 * CHUNK);
        let json = format!(r#"{{"ImageSet":[{{"ImageId":"{long}"}},{{"ImageName":"b"}}]}}"#);
        let (_, images) = split(&json).expect("handled");
        assert_eq!(images, 2);
    }

    #[test]
    fn documents_one_after_another_are_cut_one_by_one() {
        let split = documents(
            "{\"TotalCount\":3,\"ImageSet\":[{\"ImageId\":\"a\"},{\"ImageId\":\"b\"}]}\n{\"ImageSet\":[{\"ImageId\":\"c\"}],\"TotalCount\":3}{\"ImageSet\":[]}",
        )
        .expect("handled");
        let ranges: Vec<Range<usize>> = split.documents.iter().map(|d| d.images.clone()).collect();
        assert_eq!(ranges, [0..2, 2..3, 3..3]);
        assert_eq!(split.images.len(), 3);
        assert_eq!(
            String::from_utf8(split.documents[1].bytes.clone()).unwrap(),
            r#"{"ImageSet":[],"TotalCount":3}"#
        );
    }
}
