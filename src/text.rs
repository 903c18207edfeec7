//! Text from outside (image names and descriptions from the API or a
//! snapshot, API error messages, policy files) made safe to print on a
//! terminal or into a CI log: control characters escaped so they cannot move
//! the cursor, recolour, or start a line of their own, GitHub's legacy
//! `##[command]` form broken up, and very long values clipped.

pub mod markdown;

use std::borrow::Cow;
use std::fmt::Write as _;

/// Longest run of characters a message quotes before it is clipped.
pub(crate) const MAX_QUOTED_CHARS: usize = 2000;

/// Characters that change what a terminal or a log shows without being
/// text: C0 and C1 controls (newline and carriage return included), DEL,
/// the Unicode line and paragraph separators, the bidirectional overrides,
/// isolates and marks that reorder how a line reads, and the zero-width
/// characters that make two different values look alike (`img-a` and
/// `img-\u{200b}a`).
pub fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2060}'..='\u{2064}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{feff}'
        )
}

/// One line of outside text as it is printed: every [`is_control`]
/// character written as `\u{1b}`, and `##[` (which GitHub's runner reads as
/// a workflow command anywhere in a line) as `#\u{23}[`.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) && !text.contains("##[") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_control(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else if c == '#' && out.ends_with('#') && chars.peek() == Some(&'[') {
            out.push_str("\\u{23}");
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`escape`], for text we lay out ourselves over several lines (a
/// list of findings in one message): our own line breaks are kept, and
/// everything inside the lines is escaped.
pub(crate) fn escape_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_control(c)) && !text.contains("##[") {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<'_, str>> = text.split('\n').map(escape).collect();
    Cow::Owned(lines.join("\n"))
}

/// A file's text for a source snippet, with the same length in bytes (so
/// every span still points where it did): a control character becomes `?`
/// (C0, DEL) or `¿` (C1), a separator or bidirectional control `�`; line
/// feeds and tabs stay, a carriage return becomes a space.
pub(crate) fn snippet_safe(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| is_control(c) && !matches!(c, '\n' | '\t'))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => out.push(' '),
            c if is_control(c) => out.push(match c.len_utf8() {
                1 => '?',
                2 => '¿',
                _ => '\u{fffd}',
            }),
            c => out.push(c),
        }
    }
    debug_assert_eq!(out.len(), text.len());
    Cow::Owned(out)
}

/// `2,345`: a count with thousands separators, as people read large numbers.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `1 page`, `24 pages`, `2,345 images`: a count and its noun, singular for
/// exactly one. `many` is spelt out because English plurals are not all
/// `+s` (`1 retry`, `6 retries`).
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// At most `max` characters of `text`, then `… (N more characters)`.
pub(crate) fn clip(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => {
            let rest = text[cut..].chars().count();
            Cow::Owned(format!("{}… ({rest} more characters)", &text[..cut]))
        }
    }
}

/// Longest run of a value's characters a diagnostic quotes: a key, an
/// operand, a path as the user wrote it.
pub const MAX_VALUE_CHARS: usize = 80;

/// A value as a diagnostic quotes it: whole, or its first
/// [`MAX_VALUE_CHARS`] characters then `… (N bytes)`, so a message about a
/// 900 KB value stays one line.
pub fn clip_value(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(MAX_VALUE_CHARS) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!(
            "{}… ({} bytes)",
            &text[..cut],
            thousands(text.len() as u64)
        )),
    }
}

/// A writer for JSON documents that also escapes, as `\u00XX`, what
/// serde_json leaves raw inside strings although a terminal acts on it: DEL,
/// the C1 controls (U+0080–U+009F, `\u{9b}` is CSI), the line and
/// paragraph separators and the bidirectional controls; and the second `#`
/// of `##[` (GitHub's legacy command form). The document means the same;
/// printed, it is inert. (These only ever occur inside strings:
/// JSON's own syntax is ASCII.)
pub(crate) struct JsonControls<W: std::io::Write> {
    inner: W,
    /// The start of a multi-byte character not yet seen whole.
    pending: Vec<u8>,
}

impl<W: std::io::Write> JsonControls<W> {
    pub fn new(inner: W) -> Self {
        JsonControls {
            inner,
            pending: Vec::with_capacity(3),
        }
    }

    /// How much of `bytes` (from its start) is one character that needs
    /// escaping (`Some(len)`), or `None` if it does not; `Err` if more bytes
    /// are needed to tell.
    fn control_at(bytes: &[u8]) -> Result<Option<usize>, ()> {
        match bytes {
            // `##[`: the second `#` is escaped (see below).
            [b'#'] | [b'#', b'#'] => Err(()),
            [b'#', b'#', b'[', ..] => Ok(Some(0)),
            [0x7f, ..] => Ok(Some(1)),
            [0xc2] => Err(()),
            [0xc2, 0x80..=0x9f, ..] => Ok(Some(2)),
            [0xe2] | [0xe2, 0x80 | 0x81] => Err(()),
            [0xe2, 0x80, 0xa8..=0xae, ..] | [0xe2, 0x81, 0xa6..=0xa9, ..] => Ok(Some(3)),
            _ => Ok(None),
        }
    }
}

impl<W: std::io::Write> JsonControls<W> {
    /// Write `data`, escaped; a character cut at its end waits in `pending`.
    fn escape(&mut self, data: &[u8]) -> std::io::Result<()> {
        let mut start = 0;
        let mut i = 0;
        while i < data.len() {
            // Skip to the next byte that can start one (a fast scan: JSON is
            // mostly ASCII, and these bytes are rare).
            match data[i..]
                .iter()
                .position(|&b| matches!(b, 0x7f | 0xc2 | 0xe2 | b'#'))
            {
                Some(skip) => i += skip,
                None => break,
            }
            match Self::control_at(&data[i..]) {
                Ok(None) => i += 1,
                // `##[`, which GitHub's runner reads as a command anywhere in
                // a line: the second `#` written as `\u0023`.
                Ok(Some(0)) => {
                    self.inner.write_all(&data[start..=i])?;
                    self.inner.write_all(b"\\u0023")?;
                    i += 2;
                    start = i;
                }
                Ok(Some(len)) => {
                    self.inner.write_all(&data[start..i])?;
                    let c = std::str::from_utf8(&data[i..i + len])
                        .ok()
                        .and_then(|s| s.chars().next())
                        .map_or(0xfffd, |c| c as u32);
                    write!(self.inner, "\\u{c:04x}")?;
                    i += len;
                    start = i;
                }
                Err(()) => {
                    self.inner.write_all(&data[start..i])?;
                    self.pending = data[i..].to_vec();
                    return Ok(());
                }
            }
        }
        self.inner.write_all(&data[start..])
    }
}

impl<W: std::io::Write> std::io::Write for JsonControls<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The common case copies nothing: no partial character is pending,
        // and `buf` is scanned where it lies.
        if self.pending.is_empty() {
            self.escape(buf)?;
        } else {
            let mut data = std::mem::take(&mut self.pending);
            data.extend_from_slice(buf);
            self.escape(&data)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.inner.write_all(&pending)?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_english() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(2345), "2,345");
        assert_eq!(thousands(10_000_000), "10,000,000");
        assert_eq!(count(1, "retry", "retries"), "1 retry");
        assert_eq!(count(0, "retry", "retries"), "0 retries");
        assert_eq!(count(2345, "image", "images"), "2,345 images");
    }

    #[test]
    fn controls_and_workflow_commands_are_escaped() {
        assert_eq!(escape("web-01"), "web-01");
        assert_eq!(escape("a\n::error::x"), "a\\u{a}::error::x");
        assert_eq!(
            escape("\u{1b}[31mred\u{1b}]8;;x\u{7}"),
            "\\u{1b}[31mred\\u{1b}]8;;x\\u{7}"
        );
        assert_eq!(escape("back\roops"), "back\\u{d}oops");
        assert_eq!(
            escape("x ##[set-output name=gate;]pass"),
            "x #\\u{23}[set-output name=gate;]pass"
        );
        assert_eq!(escape("# [a] #[b]"), "# [a] #[b]");
        assert_eq!(escape("\u{202e}evil"), "\\u{202e}evil");
        assert_eq!(escape("img-\u{200b}a\u{feff}"), "img-\\u{200b}a\\u{feff}");
        assert_eq!(escape("\u{200f}\u{2060}"), "\\u{200f}\\u{2060}");
        assert_eq!(escape("\u{85}"), "\\u{85}");
        assert_eq!(escape("镜像 ok"), "镜像 ok");
        assert_eq!(escape_lines("a\u{1b}\nb"), "a\\u{1b}\nb");
    }

    #[test]
    fn snippets_keep_their_length() {
        for text in [
            "plain\n",
            "a\u{1b}b\r\n",
            "\u{85}x\u{202e}y\u{2028}",
            "tab\there",
        ] {
            let safe = snippet_safe(text);
            assert_eq!(safe.len(), text.len(), "{text:?}");
            assert!(
                !safe
                    .chars()
                    .any(|c| is_control(c) && !matches!(c, '\n' | '\t'))
            );
        }
    }

    #[test]
    fn json_controls_are_escaped_whole_even_across_writes() {
        use std::io::Write;
        let value =
            serde_json::json!({ "name": "a\u{9b}b\u{7f}c\u{202e}d\u{2028}é镜 ##[x] ###[y] #" });
        let text = serde_json::to_string(&value).unwrap();
        for split in 0..text.len() {
            let mut out = JsonControls::new(Vec::new());
            out.write_all(&text.as_bytes()[..split]).unwrap();
            out.write_all(&text.as_bytes()[split..]).unwrap();
            out.flush().unwrap();
            let written = String::from_utf8(out.inner).unwrap();
            assert!(!written.chars().any(is_control), "{written:?}");
            assert!(!written.contains("##["), "{written:?}");
            let back: serde_json::Value = serde_json::from_str(&written).unwrap();
            assert_eq!(back, value, "split at {split}");
        }
    }

    #[test]
    fn long_text_is_clipped_on_a_character_boundary() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("镜像镜像", 2), "镜像… (2 more characters)");
    }
}
