//! The human report: one compiler-style block per failing rule (`block`),
//! the lists of what was set aside, the policy's warnings, a closing table of
//! every rule (`table`) and the verdict line; and the miette rendering of
//! diagnostics (policy and load errors keep their full source snippets).
//! Text is wrapped by us, at spaces only (`wrap`), so identifiers stay whole;
//! colour (`paint`) is optional and only on our own words.

mod block;
mod paint;
mod table;
mod wrap;

use std::fmt::Write as _;
use std::io::Write;

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::diag::Diag;
use crate::eval::{Finding, SkipReason, Status};
use crate::report::Report;
use crate::text::{count, escape, thousands};
use block::Group;
use paint::Paint;

/// How to draw, and how much: the binary decides colour (`--color`,
/// `NO_COLOR`, `CLICOLOR_FORCE`, the terminal) and width (`COLUMNS`); the
/// check's flags decide the rest.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub unicode: bool,
    pub width: usize,
    /// `--max-findings`: images listed per rule (and per list of waived,
    /// baselined or grace findings) before "… and N more"; 0 lists none.
    pub max_findings: usize,
    /// `--quiet`: the rules table and the verdict only.
    pub quiet: bool,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            color: false,
            unicode: true,
            width: 120,
            max_findings: crate::report::DEFAULT_MAX_FINDINGS,
            quiet: false,
        }
    }
}

/// A miette handler configured for `style`.
pub fn handler(style: Style) -> GraphicalReportHandler {
    let theme = match (style.unicode, style.color) {
        (true, true) => GraphicalTheme::unicode(),
        (true, false) => GraphicalTheme::unicode_nocolor(),
        (false, _) => GraphicalTheme::none(),
    };
    // Wrap at spaces only: image ids, regexes, paths and URLs stay on one
    // line, so they can be copied and searched for in CI logs. Text without
    // spaces (an API message in Chinese) breaks between its characters.
    GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_width(style.width)
        .with_break_words(false)
        .with_word_separator(textwrap::WordSeparator::Custom(wrap::breakable_words))
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation)
}

/// Render a diagnostic of any kind as text.
pub fn render_diagnostic(diagnostic: &dyn miette::Diagnostic, style: Style) -> String {
    let mut out = String::new();
    if handler(style).render_report(&mut out, diagnostic).is_err() {
        out = format!("{diagnostic}\n");
    }
    out
}

/// The human report of a check: one block per rule with open findings
/// (errors first, then warnings, then info; file order within a severity),
/// what was set aside (skipped rules; waived, baselined and grace
/// findings), the policy's warnings, the table of every rule, and the
/// verdict. `--quiet`: the table and the verdict only.
pub fn render(report: &Report<'_>, out: &mut dyn Write, style: Style) -> std::io::Result<()> {
    let order = rule_order(report);
    if !style.quiet {
        let groups = groups(report);
        for &index in &order {
            if let (Some(rule), Some(group)) = (report.policy.rules.get(index), groups.get(index))
                && !group.is_empty()
            {
                block::write(out, report, rule, group, style)?;
            }
        }
        render_set_aside(report, out, style)?;
        for warning in &report.evaluation.warnings {
            out.write_all(render_diagnostic(warning, style).as_bytes())?;
            writeln!(out)?;
        }
        render_fixed(report, out, style)?;
    }
    table::write(out, report, &order, style)?;
    let paint = Paint { on: style.color };
    let summary = summary_line(report);
    match summary.split_once(':') {
        Some((verdict, rest)) => writeln!(out, "{}:{rest}", paint.result(verdict)),
        None => writeln!(out, "{summary}"),
    }
}

/// The rules in the order the report shows them: by severity (error,
/// warning, info), then as loaded (file order).
fn rule_order(report: &Report<'_>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..report.policy.rules.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(report.policy.rules[index].severity));
    order
}

/// The open findings of each rule, in one pass over the findings: filtering
/// the whole list once per rule would be rules × findings (1,000 rules ×
/// 100k findings is 10^8 comparisons).
fn groups<'r>(report: &'r Report<'_>) -> Vec<Group<'r>> {
    let mut groups: Vec<Group<'r>> = Vec::new();
    groups.resize_with(report.policy.rules.len(), Group::default);
    for finding in &report.evaluation.findings {
        let Some(group) = groups.get_mut(finding.rule) else {
            continue;
        };
        match finding.status {
            Status::Violation => group.violations.push(finding),
            Status::Indeterminate => group.indeterminate.push(finding),
            Status::Waived | Status::Baselined | Status::Grace => {}
        }
    }
    groups
}

/// One item of a list: `first` before its first line, `rest` before the
/// others, wrapped at spaces to the style's width.
fn item(
    out: &mut dyn Write,
    first: &str,
    rest: &str,
    text: &str,
    style: Style,
) -> std::io::Result<()> {
    let room = |prefix: &str| style.width.saturating_sub(wrap::width(prefix));
    for (n, line) in wrap::wrap(text, room(first), room(rest)).iter().enumerate() {
        writeln!(out, "{}{line}", if n == 0 { first } else { rest })?;
    }
    Ok(())
}

/// The tail of a list capped at `--max-findings`.
fn more(out: &mut dyn Write, total: usize, style: Style) -> std::io::Result<()> {
    if style.max_findings > 0 && total > style.max_findings {
        writeln!(out, "  {}", block::more_line(total - style.max_findings))?;
    }
    Ok(())
}

fn render_set_aside(report: &Report<'_>, out: &mut dyn Write, style: Style) -> std::io::Result<()> {
    let narrowed: Vec<(&str, String)> = report
        .policy
        .rules
        .iter()
        .zip(&report.evaluation.rules)
        .filter_map(|(rule, result)| match &result.skip {
            Some(reason @ SkipReason::Narrowed(_)) => Some((rule.id.as_str(), reason.to_string())),
            _ => None,
        })
        .collect();
    if !narrowed.is_empty() {
        writeln!(out, "skipped ({}), not failing:", narrowed.len())?;
        for (id, reason) in narrowed {
            let text = format!("[{id}] not evaluated: {}", escape(&reason));
            item(out, "  ", "      ", &text, style)?;
        }
        writeln!(out)?;
    }
    for status in [Status::Waived, Status::Baselined, Status::Grace] {
        let set: Vec<&Finding> = report.findings_with(status).collect();
        if set.is_empty() {
            continue;
        }
        writeln!(out, "{} ({}), not failing:", status.as_str(), set.len())?;
        for finding in set.iter().take(style.max_findings) {
            let rule = report.rule(finding);
            let text = format!("[{}] {}", rule.id, escape(&report.finding_text(finding)));
            item(out, "  ", "      ", &text, style)?;
            if let Some(waiver) = finding.waiver.and_then(|i| report.policy.waivers.get(i)) {
                let mut text = format!("waived: {}", escape(&waiver.reason));
                if let Some((date, _)) = &waiver.expires {
                    let _ = write!(text, " (until {date})");
                }
                item(out, "      ", "        ", &text, style)?;
            }
            if status == Status::Grace
                && let (Some(seen), Some(ends)) =
                    (report.first_seen_label(finding), report.grace_ends(finding))
            {
                let text = format!(
                    "first seen {seen}; fails from {}",
                    report.run.zone.format(ends)
                );
                item(out, "      ", "        ", &text, style)?;
            }
        }
        more(out, set.len(), style)?;
        writeln!(out)?;
    }
    Ok(())
}

/// Baseline entries no finding matches any more.
fn render_fixed(report: &Report<'_>, out: &mut dyn Write, style: Style) -> std::io::Result<()> {
    let fixed = &report.evaluation.baseline_fixed;
    if fixed.is_empty() {
        return Ok(());
    }
    writeln!(out, "fixed since the baseline ({}):", fixed.len())?;
    for entry in fixed.iter().take(style.max_findings) {
        // Baseline entries come from a file: escaped like any outside text.
        writeln!(
            out,
            "  {} {}",
            escape(&entry.rule),
            escape(entry.image.as_deref().unwrap_or("(set-level)"))
        )?;
    }
    more(out, fixed.len(), style)?;
    writeln!(out)
}

/// The closing line: images, rules, violations by severity, indeterminate,
/// waived, baselined, and the verdict.
pub(crate) fn summary_line(report: &Report<'_>) -> String {
    let s = report.summary();
    let verdict = if s.passed { "PASS" } else { "FAIL" };
    format!(
        "{verdict}: {} checked{} against {}: {} error, {} warning, {} info violations; {} indeterminate; {} waived; {} baselined{}{}",
        count(s.images as u64, "image", "images"),
        // A verdict on images taken as the whole set on the user's word says so.
        if report.run.source.assumed_complete() {
            format!(" ({})", crate::source::ASSUMED_COMPLETE)
        } else {
            String::new()
        },
        count(s.rules as u64, "rule", "rules"),
        thousands(s.violations.error as u64),
        thousands(s.violations.warning as u64),
        thousands(s.violations.info as u64),
        thousands(s.indeterminate as u64),
        thousands(s.waived as u64),
        thousands(s.baselined as u64),
        // Shown only when a rule has `grace` in force, so runs without it read as before.
        if s.grace > 0 {
            format!("; {} in grace", thousands(s.grace as u64))
        } else {
            String::new()
        },
        if s.warnings > 0 {
            format!("; {}", count(s.warnings as u64, "warning", "warnings"))
        } else {
            String::new()
        },
    )
}

/// Render warnings or errors from loading (used by `validate` and on failure).
pub(crate) fn render_diags(
    diags: &[Diag],
    out: &mut dyn Write,
    style: Style,
) -> std::io::Result<()> {
    for diag in diags {
        out.write_all(render_diagnostic(diag, style).as_bytes())?;
    }
    Ok(())
}
