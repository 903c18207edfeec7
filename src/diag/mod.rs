//! The one diagnostic type of ecmguard: a code from the one code table
//! ([`Code`]), a severity, a message, labelled spans in a source file, and
//! help. Every error and warning the tool prints is a [`Diag`].

pub mod code;
mod limit;
mod snippet;

pub use code::Code;
pub use limit::{LARGE_FILE, SMALL_FILE, cap_per_file, clip_values};
pub use snippet::{MAX_LINE_CHARS, MAX_LINES};

use std::fmt;
use std::sync::{Arc, OnceLock};

use miette::{Diagnostic, LabeledSpan, SourceCode};

use snippet::Shown;

use crate::source_text::{LineCol, SourceFile, Span};

/// Whether a diagnostic stops the run or is only reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Warning,
    Error,
}

/// A diagnostic about user input, pointing into the file it came from.
#[derive(Debug, Clone)]
pub struct Diag {
    pub code: Code,
    pub level: Level,
    pub message: String,
    pub help: Option<String>,
    file: Option<Arc<SourceFile>>,
    labels: Vec<(Span, Option<String>)>,
    /// How the file is shown around the labels, worked out when first
    /// rendered (bounded whatever the file holds: `snippet`).
    shown: OnceLock<Shown>,
    /// The errors and warnings this diagnostic counts for others not shown
    /// (`limit`); `None` for a diagnostic that is one problem.
    stands_for: Option<(usize, usize)>,
}

impl Diag {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            level: Level::Error,
            message: message.into(),
            help: None,
            file: None,
            labels: Vec::new(),
            shown: OnceLock::new(),
            stands_for: None,
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Self {
            level: Level::Warning,
            ..Self::error(code, message)
        }
    }

    /// Point at `span` of `file`; the first label is the primary location.
    pub fn at(mut self, file: &Arc<SourceFile>, span: Span, label: impl Into<String>) -> Self {
        if self.file.is_none() {
            self.file = Some(file.clone());
        }
        self.shown = OnceLock::new();
        let label = label.into();
        self.labels
            .push((span, (!label.is_empty()).then_some(label)));
        self
    }

    /// Add a secondary label in the same file.
    pub fn also(mut self, span: Span, label: impl Into<String>) -> Self {
        if self.file.is_some() {
            self.labels.push((span, Some(label.into())));
            self.shown = OnceLock::new();
        }
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Append a "did you mean" suggestion to the help, if there is one.
    pub fn suggest(self, suggestion: Option<&str>) -> Self {
        match suggestion {
            Some(candidate) => {
                let help = match self.help.as_deref() {
                    Some(help) => format!("did you mean `{candidate}`? {help}"),
                    None => format!("did you mean `{candidate}`?"),
                };
                self.with_help(help)
            }
            None => self,
        }
    }

    /// The same diagnostic with every text it prints (message, help,
    /// labels) passed through `mask`, and, if it points into `from`, its
    /// snippet taken from `to` instead: the same file with secrets masked
    /// byte for byte, so every span still points where it did.
    pub fn redacted(
        mut self,
        from: &Arc<SourceFile>,
        to: &Arc<SourceFile>,
        mask: impl Fn(&str) -> String,
    ) -> Self {
        if self.file.as_ref().is_some_and(|f| Arc::ptr_eq(f, from)) {
            self.file = Some(to.clone());
            self.shown = OnceLock::new();
        }
        self.map_text(mask)
    }

    /// The same diagnostic with every text it prints (message, help,
    /// labels) passed through `f`.
    pub fn map_text(mut self, f: impl Fn(&str) -> String) -> Self {
        self.message = f(&self.message);
        self.help = self.help.as_deref().map(&f);
        for (_, label) in &mut self.labels {
            if let Some(text) = label {
                *text = f(text);
            }
        }
        self
    }

    /// The same diagnostic as an error (a warning that, here, stops or fails the run).
    pub fn into_error(mut self) -> Self {
        self.level = Level::Error;
        self
    }

    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }

    /// The errors and warnings this diagnostic stands for: itself, or the
    /// problems of a file it counts without showing them.
    pub fn counts(&self) -> (usize, usize) {
        match (self.stands_for, self.level) {
            (Some(counts), _) => counts,
            (None, Level::Error) => (1, 0),
            (None, Level::Warning) => (0, 1),
        }
    }

    pub fn file(&self) -> Option<&Arc<SourceFile>> {
        self.file.as_ref()
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|(span, _)| *span)
    }

    /// File name and 1-based position of the primary label.
    pub fn location(&self) -> Option<(&str, LineCol)> {
        let file = self.file.as_ref()?;
        let span = self.primary_span()?;
        Some((file.name(), file.line_col(span.start)))
    }
}

/// What a terminal shows: text from outside is escaped and clipped here, at
/// the one place every diagnostic is printed through (reports that carry
/// data, such as JSON, read `message` as it is).
impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shown(&self.message))
    }
}

fn shown(text: &str) -> String {
    crate::text::escape_lines(&crate::text::clip(text, crate::text::MAX_QUOTED_CHARS)).into_owned()
}

impl std::error::Error for Diag {}

impl Diag {
    /// How the file is shown around the labels, if the diagnostic has one.
    fn shown(&self) -> Option<&Shown> {
        let file = self.file.as_ref()?;
        Some(self.shown.get_or_init(|| {
            let spans: Vec<Span> = self.labels.iter().map(|(span, _)| *span).collect();
            Shown::of(file, &spans)
        }))
    }
}

impl Diagnostic for Diag {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("ecmguard::{}", self.code.name())))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.level {
            Level::Error => miette::Severity::Error,
            Level::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_deref()
            .map(|h| Box::new(shown(h)) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.shown().map(Shown::source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        let shown = self.shown();
        Some(Box::new(self.labels.iter().enumerate().map(
            move |(i, (span, label))| {
                let span = shown.map_or(*span, |shown| shown.label(i, *span));
                let label = label
                    .as_deref()
                    .map(|l| crate::text::escape(&crate::text::clip(l, 200)).into_owned());
                if i == 0 {
                    LabeledSpan::new_primary_with_span(label, span)
                } else {
                    LabeledSpan::new_with_span(label, span)
                }
            },
        )))
    }
}

/// The closest candidate to `input`, if it is close enough to be a typo:
/// few edits for its length (a third of it: `r2` for `r1`, a transposed or
/// dropped letter in a long name), or a candidate that continues what was
/// typed (`sev` for `severity`). A candidate that continues the input comes
/// first (`ImageOs` is `ImageOsName` rather than `ImageId`), then the fewest
/// edits, then the longest shared start. An input whose first half is typed
/// right may have one edit more (`violated` for `violation`). A shared start alone is not enough:
/// `private-image-max-age` is never answered with `private-image-names-unique`
/// (nine edits: not a typo, whatever they share).
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lowered = input.to_lowercase();
    let length = lowered.chars().count();
    let budget = (length / 3).max(1);
    candidates
        .into_iter()
        .filter_map(|c| {
            let other = c.to_lowercase();
            let edits = strsim::damerau_levenshtein(&lowered, &other);
            let continues = length >= 3 && other.starts_with(&lowered);
            let shared = lowered
                .chars()
                .zip(other.chars())
                .take_while(|(a, b)| a == b)
                .count();
            // A word typed whole for most of its length earns one more edit
            // for a wrong ending (`violated` for `violation`).
            let near = edits <= budget || (edits <= budget + 1 && shared * 2 >= length);
            (near || continues).then_some((!continues, edits, std::cmp::Reverse(shared), c))
        })
        .min()
        .map(|(_, _, _, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["severity", "remediation", "assert", "expect"];
        assert_eq!(did_you_mean("severty", keys), Some("severity"));
        assert_eq!(did_you_mean("remedation", keys), Some("remediation"));
        assert_eq!(did_you_mean("zzz", keys), None);
        assert_eq!(did_you_mean("r2", ["r1", "other"]), Some("r1"));
        assert_eq!(
            did_you_mean("ImageTyp", ["ImageType", "ImageId"]),
            Some("ImageType")
        );
        assert_eq!(did_you_mean("sev", keys), Some("severity"));
        let statuses = ["violation", "indeterminate", "waived", "baselined", "grace"];
        assert_eq!(did_you_mean("violated", statuses), Some("violation"));
        assert_eq!(did_you_mean("waved", statuses), Some("waived"));
    }

    /// A shared prefix is not a typo: a waiver naming a rule that is not
    /// loaded gets no suggestion from a sibling rule with the same start,
    /// and the closest of several siblings wins.
    #[test]
    fn a_shared_prefix_alone_suggests_nothing() {
        let ids = ["private-image-names-unique", "image-state-normal"];
        assert_eq!(did_you_mean("private-image-max-age", ids), None);
        let ids = [
            "private-image-names-unique",
            "private-image-max-age-days",
            "private-image-max-size",
        ];
        assert_eq!(
            did_you_mean("private-image-max-age", ids),
            Some("private-image-max-age-days")
        );
        assert_eq!(
            did_you_mean("private-image-max-sise", ids),
            Some("private-image-max-size")
        );
        assert_eq!(
            did_you_mean("ImageOs", ["ImageId", "ImageOsName"]),
            Some("ImageOsName")
        );
        assert_eq!(
            did_you_mean("Asia/Shanghia", ["Asia/Shanghai", "Asia/Singapore"]),
            Some("Asia/Shanghai")
        );
    }
}
