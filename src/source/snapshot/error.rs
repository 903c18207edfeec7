//! What can be wrong with a snapshot, as a typed [`SnapshotError`] holding its
//! diagnostic: an unreadable file, and JSON errors located (line and column,
//! with the line quoted when the input is small enough to show).

use std::sync::Arc;

use super::reader::BOM;
use crate::diag::{Code, Diag};
use crate::source_text::{SourceFile, Span};

/// Why a snapshot cannot be judged. Each holds the diagnostic that says so.
#[derive(Debug)]
pub enum SnapshotError {
    /// The file could not be read at all.
    Unreadable(Diag),
    /// Not JSON, none of the accepted shapes, or a field of the wrong type.
    Malformed(Diag),
    /// The snapshot is not known to be the complete result set.
    Incomplete(Diag),
    /// The snapshot holds an API error response in place of images.
    ApiError(Diag),
}

impl SnapshotError {
    /// The diagnostic that explains the error.
    pub fn diag(&self) -> &Diag {
        match self {
            SnapshotError::Unreadable(d)
            | SnapshotError::Malformed(d)
            | SnapshotError::Incomplete(d)
            | SnapshotError::ApiError(d) => d,
        }
    }

    pub(crate) fn into_diag(self) -> Diag {
        match self {
            SnapshotError::Unreadable(d)
            | SnapshotError::Malformed(d)
            | SnapshotError::Incomplete(d)
            | SnapshotError::ApiError(d) => d,
        }
    }
}

/// Files up to this size get a source snippet in JSON error messages.
pub(super) const SNIPPET_LIMIT: usize = 16 * 1024 * 1024;

/// Lines longer than this are not quoted in JSON error messages.
const SNIPPET_LINE_LIMIT: usize = 1024;

pub(super) fn read_failure(name: &str, err: &std::io::Error) -> SnapshotError {
    SnapshotError::Unreadable(
        Diag::error(
            Code::FileRead,
            format!("cannot read snapshot {name}: {err}"),
        )
        .with_help("create one with `ecmguard fetch -o FILE`, or pass `-` to read stdin"),
    )
}

pub(super) fn json_error(
    name: &str,
    bytes: Option<&[u8]>,
    err: &serde_json::Error,
) -> SnapshotError {
    let (line, column) = (err.line(), err.column());
    let message = strip_position(&err.to_string());
    let mut diag = Diag::error(
        Code::SnapshotJson,
        format!("{name}:{line}:{column}: invalid snapshot: {message}"),
    )
    .with_help(if err.is_eof() {
        "the snapshot ends early: it was cut off; fetch it again".to_owned()
    } else {
        "a snapshot is JSON as `ecmguard fetch` writes it, a DescribeImage response, tccli output, the pages of one listing (a JSON array of them, or one after another), or an array of images".to_owned()
    });
    if let Some(bytes) = bytes
        && bytes.len() <= SNIPPET_LIMIT
    {
        let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        // A recording can end inside a character; show the valid prefix.
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
        };
        let file = SourceFile::new(name, text);
        let line_start = file.offset_of(crate::source_text::LineCol { line, column: 1 });
        // A minified snapshot is one long line: quoting it would flood the
        // terminal, and the line and column in the message say enough.
        let line_len = |start: usize| text[start..].find('\n').unwrap_or(text.len() - start);
        if let Some(start) = line_start.filter(|&start| line_len(start) <= SNIPPET_LINE_LIMIT) {
            let mut offset = (start + column.saturating_sub(1)).min(text.len());
            while !text.is_char_boundary(offset) {
                offset -= 1;
            }
            diag = diag.at(&Arc::clone(&file), Span::new(offset, 0), "here");
        }
    }
    SnapshotError::Malformed(diag)
}

/// serde_json appends " at line L column C"; we show the position up front.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}
