//! One failing rule as one block, the way a compiler reports an error: a
//! header (severity, rule id, title, counts), the location of the rule's
//! condition with that one source line underlined, the images (violations,
//! then indeterminate ones, capped by `--max-findings`), and help from the
//! rule's remediation and url. Only the condition's line is shown: the rule's
//! description and the rest of its YAML are the policy, not the finding.

use std::io::Write;

use super::Style;
use super::paint::Paint;
use super::wrap::{glued, width, wrap};
use crate::eval::Finding;
use crate::policy::model::{Origin, Rule};
use crate::report::Report;
use crate::text::{count, thousands};
use crate::text::{escape, snippet_safe};

/// The open findings of one rule, in evaluation order.
#[derive(Default)]
pub(super) struct Group<'r> {
    pub violations: Vec<&'r Finding>,
    pub indeterminate: Vec<&'r Finding>,
}

impl Group<'_> {
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty() && self.indeterminate.is_empty()
    }
}

/// The tail of a capped list: how many more, and where to see them all.
pub(super) fn more_line(rest: usize) -> String {
    format!(
        "… and {} more (--max-findings, or --format json/csv for all)",
        thousands(rest as u64)
    )
}

/// Write the block of `rule` (an index into the policy's rules).
pub(super) fn write(
    out: &mut dyn Write,
    report: &Report<'_>,
    rule: &Rule,
    group: &Group<'_>,
    style: Style,
) -> std::io::Result<()> {
    let paint = Paint { on: style.color };
    let frame = Frame::new(&rule.condition_origin, style, paint);
    let (violations, indeterminate) = (group.violations.len(), group.indeterminate.len());
    header(out, report, rule, violations, indeterminate, &frame)?;
    snippet(out, rule, &label(rule, violations, indeterminate), &frame)?;

    let (show_violations, show_indeterminate) =
        shares(violations, indeterminate, style.max_findings);
    let listed = group.violations[..show_violations]
        .iter()
        .map(|f| (None, *f))
        .chain(
            group.indeterminate[..show_indeterminate]
                .iter()
                .map(|f| (Some("indeterminate:"), *f)),
        );
    for (lead, finding) in listed {
        frame.note(out, lead, &escape(&report.finding_text(finding)))?;
        // A rule that reads usage: what uses the image, ids capped like the images.
        if let Some(evidence) = report.usage_evidence(finding) {
            let text = evidence.text(style.max_findings);
            frame.note(out, Some("usage:"), &escape(&text))?;
        }
    }
    let total = violations + indeterminate;
    // `--max-findings 0` asks for counts only: the header has them.
    if style.max_findings > 0 && total > style.max_findings {
        frame.note(out, None, &more_line(total - style.max_findings))?;
    }
    if let Some(remediation) = &rule.remediation {
        frame.note(out, Some("help:"), &escape(remediation))?;
    }
    if let Some(url) = &rule.url {
        frame.note(out, Some("see:"), &escape(url))?;
    }
    writeln!(out)
}

/// How many violations and indeterminate findings a block lists under a cap
/// of `max`: all when they fit; else indeterminate ones keep up to half the
/// cap (what is left over if there are fewer violations), so a long list of
/// violations never hides that some images could not be decided.
fn shares(violations: usize, indeterminate: usize, max: usize) -> (usize, usize) {
    if violations + indeterminate <= max {
        return (violations, indeterminate);
    }
    let indeterminate = indeterminate.min((max / 2).max(max.saturating_sub(violations)));
    (violations.min(max - indeterminate), indeterminate)
}

/// `error[rule-id]: Title — 3 violations, 1 indeterminate`, wrapped under
/// the notes' text.
fn header(
    out: &mut dyn Write,
    report: &Report<'_>,
    rule: &Rule,
    violations: usize,
    indeterminate: usize,
    frame: &Frame,
) -> std::io::Result<()> {
    let mut counts = Vec::new();
    if violations > 0 {
        counts.push(count(violations as u64, "violation", "violations"));
    }
    if indeterminate > 0 {
        counts.push(format!("{} indeterminate", thousands(indeterminate as u64)));
    }
    let fail_on = report.run.fail_on;
    let note = if fail_on.fails(rule.severity) {
        String::new()
    } else {
        format!(
            " {}",
            glued(&format!("(not failing: --fail-on {})", fail_on.as_str()))
        )
    };
    let severity = rule.severity.as_str();
    // The first count stays with the title's last word and each count with
    // its noun, so no line starts with the dash or leaves a number alone;
    // the line may break between two counts.
    let title = escape(&rule.title);
    let (title, last) = title.rsplit_once(' ').unwrap_or(("", &title));
    let counts: Vec<String> = counts.iter().map(|c| glued(c)).collect();
    let tail = match counts.split_first() {
        Some((first, rest)) => {
            let mut tail = glued(&format!("{last} — {first}"));
            for count in rest {
                tail.push_str(", ");
                tail.push_str(count);
            }
            tail
        }
        None => last.to_owned(),
    };
    // Rule ids are checked at load (`[a-z0-9][a-z0-9._-]*`): no escaping,
    // and no space, so `severity[id]:` is one word and starts line one.
    let text = if title.is_empty() {
        format!("{severity}[{}]: {tail}{note}", rule.id)
    } else {
        format!("{severity}[{}]: {title} {tail}{note}", rule.id)
    };
    let lines = wrap(&text, frame.width, frame.room());
    for (n, line) in lines.iter().enumerate() {
        if n == 0 {
            let rest = line.strip_prefix(severity).unwrap_or(line);
            writeln!(
                out,
                "{}{}",
                frame.paint.severity(rule.severity, severity),
                frame.paint.bold(rest)
            )?;
        } else {
            writeln!(out, "{}{}", frame.indent(), frame.paint.bold(line))?;
        }
    }
    Ok(())
}

/// What the underline says.
fn label(rule: &Rule, violations: usize, indeterminate: usize) -> String {
    if rule.is_set_level() {
        return format!(
            "{} on the images in scope",
            count((violations + indeterminate) as u64, "finding", "findings")
        );
    }
    let fail = |n: usize| format!("{} this", count(n as u64, "image fails", "images fail"));
    match (violations, indeterminate) {
        (v, 0) => fail(v),
        (0, i) => format!(
            "cannot be decided for {}",
            count(i as u64, "image", "images")
        ),
        (v, i) => format!("{}, {} cannot be decided", fail(v), thousands(i as u64)),
    }
}

/// `--> file:line:col`, the condition's line, and its underline.
fn snippet(out: &mut dyn Write, rule: &Rule, label: &str, frame: &Frame) -> std::io::Result<()> {
    let origin = &rule.condition_origin;
    let at = origin.line_col();
    let paint = frame.paint;
    let pad = frame.pad();
    writeln!(
        out,
        "{pad}{} {}:{}:{}",
        paint.frame("-->"),
        escape(origin.file.name()),
        at.line,
        at.column
    )?;
    writeln!(out, "{pad} {}", paint.frame("|"))?;
    let shown = SourceLine::of(origin);
    writeln!(
        out,
        "{} {} {}",
        paint.frame(&at.line.to_string()),
        paint.frame("|"),
        shown.text
    )?;
    let indent = " ".repeat(shown.before);
    let carets = "^".repeat(shown.under);
    let severity = rule.severity;
    if frame.digits + 3 + shown.before + shown.under + 1 + width(label) <= frame.width {
        let mark = format!("{carets} {label}");
        writeln!(
            out,
            "{pad} {} {indent}{}",
            paint.frame("|"),
            paint.severity(severity, &mark)
        )?;
    } else {
        writeln!(
            out,
            "{pad} {} {indent}{}",
            paint.frame("|"),
            paint.severity(severity, &carets)
        )?;
        writeln!(
            out,
            "{pad} {} {indent}{}",
            paint.frame("|"),
            paint.severity(severity, label)
        )?;
    }
    writeln!(out, "{pad} {}", paint.frame("|"))
}

/// The one source line a block shows.
struct SourceLine {
    /// The line as printed: controls made visible, tabs as spaces.
    text: String,
    /// Columns before the condition starts.
    before: usize,
    /// Columns underlined: the condition, to the end of its first line.
    under: usize,
}

impl SourceLine {
    fn of(origin: &Origin) -> SourceLine {
        let text = origin.file.text();
        let start = floor_boundary(text, origin.span.start);
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let end = floor_boundary(text, origin.span.end().clamp(start, line_end));
        let shown = |part: &str| snippet_safe(part).replace('\t', " ");
        let mut under = width(shown(&text[start..end]).trim_end());
        if under == 0 {
            under = width(shown(&text[start..line_end]).trim_end());
        }
        SourceLine {
            text: shown(&text[line_start..line_end]).trim_end().to_owned(),
            before: width(&shown(&text[line_start..start])),
            under: under.max(1),
        }
    }
}

/// `offset`, moved back to a character boundary of `text` (and into it).
fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The gutter of one block: as wide as the line number it shows.
struct Frame {
    digits: usize,
    width: usize,
    paint: Paint,
}

impl Frame {
    fn new(origin: &Origin, style: Style, paint: Paint) -> Frame {
        Frame {
            digits: origin.line_col().line.to_string().len(),
            width: style.width,
            paint,
        }
    }

    /// Spaces as wide as the line number.
    fn pad(&self) -> String {
        " ".repeat(self.digits)
    }

    /// Where the text of a note starts (after `= `).
    fn indent(&self) -> String {
        " ".repeat(self.digits + 3)
    }

    /// Columns left for a note's text.
    fn room(&self) -> usize {
        self.width.saturating_sub(self.digits + 3)
    }

    /// `= lead text`, wrapped at spaces under its own text.
    fn note(&self, out: &mut dyn Write, lead: Option<&str>, text: &str) -> std::io::Result<()> {
        let plain = match lead {
            Some(lead) => format!("{lead} {text}"),
            None => text.to_owned(),
        };
        for (n, line) in wrap(&plain, self.room(), self.room()).iter().enumerate() {
            if n == 0 {
                let line = match lead.and_then(|l| Some((l, line.strip_prefix(l)?))) {
                    Some((lead, rest)) => format!("{}{rest}", self.paint.bold(lead)),
                    None => line.clone(),
                };
                writeln!(out, "{} {} {line}", self.pad(), self.paint.frame("="))?;
            } else {
                writeln!(out, "{}{line}", self.indent())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source_text::{SourceFile, Span};

    fn origin(text: &str, needle: &str, len: usize) -> Origin {
        let file = SourceFile::new("p.yaml", text);
        let start = text.find(needle).expect("needle");
        Origin {
            file,
            span: Span::new(start, len),
        }
    }

    #[test]
    fn a_cap_is_shared_between_violations_and_indeterminate_findings() {
        assert_eq!(shares(3, 1, 10), (3, 1));
        assert_eq!(shares(20, 2, 10), (8, 2));
        assert_eq!(shares(20, 20, 10), (5, 5));
        assert_eq!(shares(20, 20, 3), (2, 1));
        assert_eq!(shares(2, 20, 10), (2, 8));
        assert_eq!(shares(0, 20, 10), (0, 10));
        assert_eq!(shares(20, 0, 10), (10, 0));
        assert_eq!(shares(5, 5, 1), (1, 0));
        assert_eq!(shares(5, 5, 0), (0, 0));
    }

    #[test]
    fn the_source_line_is_shown_alone_and_underlined_from_the_condition() {
        let text = "rules:\n  - assert:\n      ImageState: NORMAL\n      X: 1\n";
        let shown = SourceLine::of(&origin(text, "ImageState", 30));
        assert_eq!(shown.text, "      ImageState: NORMAL");
        assert_eq!((shown.before, shown.under), (6, 18));
        // A zero-length span underlines the rest of its line.
        let shown = SourceLine::of(&origin(text, "ImageState", 0));
        assert_eq!(shown.under, 18);
        // Wide characters and a control character keep the columns right.
        let text = "a: { 镜像: \u{1b}x }\n";
        let shown = SourceLine::of(&origin(text, "{", 100));
        assert_eq!(shown.text, "a: { 镜像: ?x }");
        assert_eq!((shown.before, shown.under), (3, 12));
        // A span past the end of the file does not panic.
        let file = SourceFile::new("p.yaml", "ab");
        let shown = SourceLine::of(&Origin {
            file,
            span: Span::new(99, 5),
        });
        assert_eq!(shown.under, 1);
    }
}
