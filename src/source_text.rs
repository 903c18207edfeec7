//! Source files (policies, snapshots, tests) and their line index: byte offsets
//! to 1-based line and character column, and the miette source for rendering.

use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Length in bytes (may be zero for a point).
    pub len: usize,
}

impl Span {
    pub const fn new(start: usize, len: usize) -> Self {
        Self { start, len }
    }

    pub const fn end(&self) -> usize {
        self.start + self.len
    }
}

impl From<Span> for SourceSpan {
    fn from(span: Span) -> Self {
        SourceSpan::new(span.start.into(), span.len)
    }
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

/// The text of one input file with a line index, shared cheaply between
/// diagnostics, the compiled policy and reports.
#[derive(Debug)]
pub struct SourceFile {
    name: String,
    text: Arc<str>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// `name` is the path as the user gave it; it is what diagnostics show.
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Arc<Self> {
        let text: Arc<str> = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Arc::new(Self {
            name: name.into(),
            text,
            line_starts,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Line and character column of a byte offset. Offsets past the end, or in
    /// the middle of a UTF-8 sequence, are clamped to the nearest character
    /// boundary before it, so this never panics.
    pub fn line_col(&self, byte: usize) -> LineCol {
        let mut byte = byte.min(self.text.len());
        while !self.text.is_char_boundary(byte) {
            byte -= 1;
        }
        let line_index = match self.line_starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let line_start = self.line_starts[line_index];
        let column = self.text[line_start..byte].chars().count() + 1;
        LineCol {
            line: line_index + 1,
            column,
        }
    }

    /// The 0-based index of the line holding byte `byte` (clamped to the
    /// text), and that line's byte range without its line break.
    pub fn line_of(&self, byte: usize) -> (usize, std::ops::Range<usize>) {
        let byte = byte.min(self.text.len());
        let index = match self.line_starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        (index, self.line_range(index))
    }

    /// The byte range of the 0-based line `index` without its line break
    /// (`\n`, or `\r\n`); empty past the last line.
    pub fn line_range(&self, index: usize) -> std::ops::Range<usize> {
        let Some(&start) = self.line_starts.get(index) else {
            return self.text.len()..self.text.len();
        };
        let mut end = self
            .line_starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1);
        if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        start..end
    }

    /// How many lines the text has.
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Byte offset of a 1-based line and character column, if it exists.
    pub fn offset_of(&self, at: LineCol) -> Option<usize> {
        let line_start = *self.line_starts.get(at.line.checked_sub(1)?)?;
        let line_end = self
            .line_starts
            .get(at.line)
            .map_or(self.text.len(), |next| next - 1);
        let line = &self.text[line_start..line_end];
        if at.column == 0 {
            return None;
        }
        if at.column == line.chars().count() + 1 {
            return Some(line_end);
        }
        line.char_indices()
            .nth(at.column - 1)
            .map(|(offset, _)| line_start + offset)
    }

    /// The miette source for rendering snippets of this file: its text with
    /// control characters replaced by visible ones of the same byte length
    /// (spans still point where they did), and its name escaped.
    pub fn named_source(&self) -> NamedSource<Arc<str>> {
        let text = match crate::text::snippet_safe(&self.text) {
            std::borrow::Cow::Borrowed(_) => self.text.clone(),
            std::borrow::Cow::Owned(safe) => Arc::from(safe),
        };
        NamedSource::new(crate::text::escape(&self.name), text).with_language("yaml")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let file = SourceFile::new("p.yaml", "a: 1\nname: 镜像x\n");
        assert_eq!(file.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(file.line_col(5), LineCol { line: 2, column: 1 });
        let x = file.text().find('x').unwrap();
        assert_eq!(file.line_col(x), LineCol { line: 2, column: 9 });
        // Inside a multi-byte character: clamped to its start.
        let jing = file.text().find('镜').unwrap();
        assert_eq!(file.line_col(jing + 1), file.line_col(jing));
        assert_eq!(file.line_col(10_000).line, 3);
    }

    #[test]
    fn offset_of_inverts_line_col() {
        let file = SourceFile::new("p.yaml", "a: 1\nname: 镜像x\nlast");
        for (offset, _) in file.text().char_indices() {
            assert_eq!(file.offset_of(file.line_col(offset)), Some(offset));
        }
    }
}
