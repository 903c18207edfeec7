//! What a diagnostic shows of its file. Usually the file itself: miette
//! prints the labelled lines with a line of context around them. When that
//! would print a line too long to read (a 900 KB value on one line) or more
//! lines than a diagnostic should (a label over a huge block, two labels
//! thousands of lines apart), an excerpt instead: each labelled line alone,
//! clipped to a window around its labels, with the file's own line numbers
//! and columns. Either way, what a diagnostic prints is bounded, whatever
//! the file holds.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::source_text::{SourceFile, Span};

/// The longest line a snippet prints whole, in characters; a longer one is
/// clipped to this many around its label.
pub const MAX_LINE_CHARS: usize = 400;

/// The most lines a snippet prints (labels and their context); labels
/// further apart are shown line by line.
pub const MAX_LINES: usize = 40;

/// How much of a clipped line is kept before its first label.
const LEAD_CHARS: usize = 40;

/// The mark where a clipped line was cut.
const CUT: &str = "…";

/// What a diagnostic renders: its source and its labels' spans in it.
#[derive(Debug, Clone)]
pub(super) enum Shown {
    /// The stretch of the file miette prints; labels as they are.
    Window(Window),
    /// The labelled lines, clipped; labels moved into it.
    Excerpt(Excerpt),
}

impl Shown {
    /// How `file` is shown for labels at `spans`.
    pub fn of(file: &SourceFile, spans: &[Span]) -> Shown {
        match fits(file, spans) {
            Some((first, last)) => Shown::Window(Window::new(file, first, last)),
            None => Shown::Excerpt(Excerpt::new(file, spans)),
        }
    }

    pub fn source(&self) -> &dyn SourceCode {
        match self {
            Shown::Window(window) => window,
            Shown::Excerpt(excerpt) => excerpt,
        }
    }

    /// Where label `index` (given at `span` in the file) is in the source.
    pub fn label(&self, index: usize, span: Span) -> Span {
        match self {
            Shown::Window(_) => span,
            Shown::Excerpt(excerpt) => excerpt.labels.get(index).copied().unwrap_or(span),
        }
    }
}

/// The lines of a file miette prints around labels (the labelled lines and
/// one line of context each side), as the whole file would give them: its
/// reads cost the window, not the file, and a file with control characters
/// is made safe to print a window at a time.
#[derive(Debug, Clone)]
pub(super) struct Window {
    name: String,
    text: String,
    /// Where the window starts in the file: byte and 0-based line.
    offset: usize,
    first_line: usize,
}

impl Window {
    fn new(file: &SourceFile, first: usize, last: usize) -> Window {
        let start = file.line_range(first).start;
        // With the last line's line break, as a read of the whole file
        // ends its context.
        let end = if last + 1 < file.line_count() {
            file.line_range(last + 1).start
        } else {
            file.text().len()
        };
        Window {
            name: crate::text::escape(file.name()).into_owned(),
            text: crate::text::snippet_safe(&file.text()[start..end]).into_owned(),
            offset: start,
            first_line: first,
        }
    }
}

impl SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = SourceSpan::new(
            span.offset()
                .checked_sub(self.offset)
                .ok_or(MietteError::OutOfBounds)?
                .into(),
            span.len(),
        );
        let read =
            self.text
                .as_str()
                .read_span(&inner, context_lines_before, context_lines_after)?;
        // Lines are counted from the file's start, as miette compares them
        // to decide which labels share a snippet.
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            read.data(),
            SourceSpan::new(
                (read.span().offset() + self.offset).into(),
                read.span().len(),
            ),
            read.line() + self.first_line,
            read.column(),
            read.line_count() + self.first_line,
        )))
    }
}

/// The lines miette prints around these labels (it joins labels into one
/// stretch of lines, with one line of context), if that is at most
/// [`MAX_LINES`] lines none longer than [`MAX_LINE_CHARS`]: 0-based, first
/// and last.
fn fits(file: &SourceFile, spans: &[Span]) -> Option<(usize, usize)> {
    let lines = spans.iter().map(|s| file.line_of(s.start).0);
    let first = lines.clone().min().unwrap_or(0);
    let last = spans
        .iter()
        .map(|s| file.line_of(s.end().saturating_sub(1).max(s.start)).0)
        .chain(lines)
        .max()
        .unwrap_or(first);
    let (from, to) = (
        first.saturating_sub(1),
        (last + 1).min(file.line_count().saturating_sub(1)),
    );
    let short = |line: usize| {
        let range = file.line_range(line);
        range.len() <= MAX_LINE_CHARS || file.text()[range].chars().count() <= MAX_LINE_CHARS
    };
    (to - from < MAX_LINES && (from..=to).all(short)).then_some((from, to))
}

/// The labelled lines of a file, one after the other, each clipped to a
/// window around its labels; a label over several lines keeps its first.
#[derive(Debug, Clone)]
pub(super) struct Excerpt {
    name: String,
    text: String,
    pieces: Vec<Piece>,
    /// Each label's span in `text`, in the diagnostic's order.
    labels: Vec<Span>,
}

/// One line of the file in the excerpt.
#[derive(Debug, Clone)]
struct Piece {
    /// Where it starts and ends in the excerpt's text.
    at: usize,
    end: usize,
    /// Its 0-based line in the file.
    line: usize,
    /// The bytes of the file it shows (`from..to`), its line's start, and
    /// the bytes of the cut mark before them.
    from: usize,
    to: usize,
    line_start: usize,
    lead: usize,
}

impl Excerpt {
    fn new(file: &SourceFile, spans: &[Span]) -> Excerpt {
        let text = file.text();
        let mut lines: Vec<usize> = spans.iter().map(|s| file.line_of(s.start).0).collect();
        lines.sort_unstable();
        lines.dedup();
        let mut excerpt = Excerpt {
            name: crate::text::escape(file.name()).into_owned(),
            text: String::new(),
            pieces: Vec::with_capacity(lines.len()),
            labels: Vec::with_capacity(spans.len()),
        };
        for line in lines {
            let range = file.line_range(line);
            // The window starts a little before the line's first label (at
            // a character's start, should a label not be).
            let mut anchor = spans
                .iter()
                .map(|s| s.start)
                .filter(|&s| range.contains(&s) || s == range.end)
                .min()
                .unwrap_or(range.start);
            while !text.is_char_boundary(anchor) {
                anchor -= 1;
            }
            let from = back_chars(text, anchor, range.start, LEAD_CHARS);
            let to = forward_chars(text, from, range.end, MAX_LINE_CHARS);
            if !excerpt.text.is_empty() {
                excerpt.text.push('\n');
            }
            let at = excerpt.text.len();
            let lead = if from > range.start { CUT } else { "" };
            excerpt.text.push_str(lead);
            excerpt
                .text
                .push_str(&crate::text::snippet_safe(&text[from..to]));
            if to < range.end {
                excerpt.text.push_str(CUT);
            }
            excerpt.pieces.push(Piece {
                at,
                end: excerpt.text.len(),
                line,
                from,
                to,
                line_start: range.start,
                lead: lead.len(),
            });
        }
        for span in spans {
            let label = excerpt.place(file, *span);
            excerpt.labels.push(label);
        }
        excerpt
    }

    /// A label's span moved into the excerpt: clamped to its first line's
    /// window.
    fn place(&self, file: &SourceFile, span: Span) -> Span {
        let line = file.line_of(span.start).0;
        let Some(piece) = self.pieces.iter().find(|p| p.line == line) else {
            return Span::new(0, 0);
        };
        let into =
            |byte: usize| piece.at + piece.lead + (byte.clamp(piece.from, piece.to) - piece.from);
        let start = into(span.start);
        let end = into(span.end()).max(start);
        Span::new(start, end - start)
    }

    /// The pieces from the one holding byte `from` of the text to the one
    /// holding byte `to`.
    fn pieces_over(&self, from: usize, to: usize) -> Option<(&Piece, &Piece)> {
        let holding = |byte: usize| {
            let index = self.pieces.partition_point(|p| p.end < byte);
            self.pieces.get(index).filter(|p| p.at <= byte)
        };
        Some((holding(from)?, holding(to)?))
    }
}

impl SourceCode for Excerpt {
    /// The labelled lines a span covers, with the file's line number and
    /// column; no lines of context (the excerpt has none to give). A span
    /// over lines that are not next to each other in the file cannot be
    /// shown as one stretch: miette then shows its labels apart.
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        _context_lines_before: usize,
        _context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let start = span.offset();
        let end = start + span.len().saturating_sub(1);
        let (first, last) = self
            .pieces_over(start, end.max(start))
            .ok_or(MietteError::OutOfBounds)?;
        if last.line - first.line != self.pieces_between(first, last) {
            return Err(MietteError::OutOfBounds);
        }
        // The column as miette counts it (bytes from the line's start), of
        // the span's start in the file.
        let offset_in_piece = start.saturating_sub(first.at + first.lead);
        let column = first.from - first.line_start + offset_in_piece.min(first.to - first.from);
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            &self.text.as_bytes()[first.at..last.end],
            SourceSpan::new(first.at.into(), last.end - first.at),
            first.line,
            column,
            last.line - first.line + 1,
        )))
    }
}

impl Excerpt {
    /// How many pieces after `first` it takes to reach `last`.
    fn pieces_between(&self, first: &Piece, last: &Piece) -> usize {
        let index = |piece: &Piece| {
            self.pieces
                .iter()
                .position(|p| p.at == piece.at)
                .unwrap_or(0)
        };
        index(last) - index(first)
    }
}

/// The byte offset `n` characters before `at`, not before `floor`.
fn back_chars(text: &str, at: usize, floor: usize, n: usize) -> usize {
    text[floor..at]
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map_or(floor, |(i, _)| floor + i)
}

/// The byte offset `n` characters after `at`, not after `ceiling`.
fn forward_chars(text: &str, at: usize, ceiling: usize, n: usize) -> usize {
    text[at..ceiling]
        .char_indices()
        .nth(n)
        .map_or(ceiling, |(i, _)| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Code, Diag};

    fn render(diag: &Diag) -> String {
        let mut out = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .render_report(&mut out, diag)
            .expect("renders");
        out
    }

    proptest::proptest! {
        /// Whatever the text and wherever the labels (past the end, inside
        /// a character, over many lines), a diagnostic renders without a
        /// panic, and what it prints does not grow with the file.
        #[test]
        fn any_labels_on_any_text_render_bounded(
            text in "(?s)[a-z:é镜\\n\\r\\t\u{202e} ]{0,400}",
            long in 0usize..5_000,
            lines in 0usize..200,
            spans in proptest::collection::vec((0usize..12_000, 0usize..12_000), 1..4),
        ) {
            let text = format!("{text}{}\n{}{text}", "é".repeat(long), "a\n".repeat(lines));
            let file = SourceFile::new("f.yaml", text.clone());
            let mut diag = Diag::error(Code::WrongType, "m");
            for (i, (start, len)) in spans.into_iter().enumerate() {
                let span = Span::new(start.min(text.len()), len);
                diag = if i == 0 { diag.at(&file, span, "a") } else { diag.also(span, "b") };
            }
            let out = render(&diag);
            proptest::prop_assert!(out.len() < 60_000, "{} bytes", out.len());
        }
    }

    #[test]
    fn a_short_file_is_shown_as_it_is() {
        let file = SourceFile::new("c.yaml", "a: 1\nb: 2\nc: 3\n");
        let shown = Shown::of(&file, &[Span::new(5, 1)]);
        assert!(matches!(shown, Shown::Window(_)));
    }

    #[test]
    fn a_huge_line_is_clipped_around_its_label_with_its_line_and_column() {
        let text = format!("a: 1\nfail_on: {}x\nc: 3\n", "a".repeat(900_000));
        let file = SourceFile::new("c.yaml", text.clone());
        let value = text.find("aaa").expect("value");
        let x = text.find('x').expect("x");
        let diag = Diag::error(Code::ConfigValue, "bad")
            .at(&file, Span::new(value, x + 1 - value), "not a level")
            .also(Span::new(x, 1), "the end");
        let out = render(&diag);
        assert!(out.len() < 4_000, "{} bytes:\n{out}", out.len());
        assert!(out.contains("[c.yaml:2:10]"), "{out}");
        assert!(out.contains(" 2 │ fail_on: aaaa"), "{out}");
        assert!(out.contains("not a level"), "{out}");
        assert!(out.contains('…'), "{out}");
    }

    #[test]
    fn labels_far_apart_are_shown_line_by_line() {
        let text = format!("a: 1\n{}a: 2\n", "# filler\n".repeat(5_000));
        let file = SourceFile::new("c.yaml", text.clone());
        let second = text.rfind("a:").expect("second");
        let diag = Diag::error(Code::DuplicateKey, "twice")
            .at(&file, Span::new(second, 1), "second here")
            .also(Span::new(0, 1), "first here");
        let out = render(&diag);
        assert!(out.len() < 2_000, "{} bytes:\n{out}", out.len());
        assert!(out.contains("[c.yaml:5002:1]"), "{out}");
        assert!(
            out.contains("5002 │ a: 2") && out.contains(" 1 │ a: 1"),
            "{out}"
        );
        assert!(!out.contains("filler"), "{out}");
    }

    #[test]
    fn a_label_over_a_huge_block_keeps_its_first_line() {
        let text = format!("rules:\n{}", "  a: 1\n".repeat(50_000));
        let file = SourceFile::new("p.yaml", text.clone());
        let diag = Diag::error(Code::WrongType, "not a list").at(
            &file,
            Span::new(7, text.len() - 8),
            "expected a list",
        );
        let out = render(&diag);
        assert!(out.len() < 1_000, "{} bytes:\n{out}", out.len());
        assert!(
            out.contains("[p.yaml:2:1]") && out.contains("expected a list"),
            "{out}"
        );
    }
}
