//! The human report: one compiler-style diagnostic per rule and status,
//! pointing at the rule in its policy file, the images listed (capped) with
//! what failed, remediation as help; then waived and baselined findings,
//! warnings, and a closing summary line.

use std::fmt::Write as _;
use std::io::Write;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic,
    Severity as MietteSeverity,
};

use crate::diag::Diag;
use crate::eval::{Finding, SkipReason, Status};
use crate::policy::model::Severity;
use crate::report::Report;
use crate::text::escape;

/// How to draw: the binary decides from the terminal and `NO_COLOR`.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub unicode: bool,
    pub width: usize,
    /// Images listed per group before "… and N more".
    pub max_images: usize,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            color: false,
            unicode: true,
            width: 120,
            max_images: 10,
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
    // line, so they can be copied and searched for in CI logs.
    GraphicalReportHandler::new_themed(theme)
        .with_links(false)
        .with_width(style.width)
        .with_break_words(false)
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
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

pub fn render(report: &Report<'_>, out: &mut dyn Write, style: Style) -> std::io::Result<()> {
    // One pass to group findings by rule and status: filtering the whole
    // list once per rule would be rules x findings (1,000 rules x 100k
    // findings is 10^8 comparisons).
    let mut groups: Vec<[Vec<&Finding>; 2]> =
        vec![[Vec::new(), Vec::new()]; report.policy.rules.len()];
    for finding in &report.evaluation.findings {
        let slot = match finding.status {
            Status::Violation => 0,
            Status::Indeterminate => 1,
            Status::Waived | Status::Baselined | Status::Grace => continue,
        };
        if let Some(group) = groups.get_mut(finding.rule) {
            group[slot].push(finding);
        }
    }
    for (rule_index, by_status) in groups.iter().enumerate() {
        for (group, status) in by_status
            .iter()
            .zip([Status::Violation, Status::Indeterminate])
        {
            if group.is_empty() {
                continue;
            }
            let diagnostic = group_diagnostic(report, rule_index, status, group, style);
            out.write_all(render_diagnostic(diagnostic.as_ref(), style).as_bytes())?;
        }
    }
    render_set_aside(report, out, style)?;
    for warning in &report.evaluation.warnings {
        out.write_all(render_diagnostic(warning, style).as_bytes())?;
    }
    if !report.evaluation.baseline_fixed.is_empty() {
        writeln!(
            out,
            "fixed since the baseline ({}):",
            report.evaluation.baseline_fixed.len()
        )?;
        for entry in &report.evaluation.baseline_fixed {
            // Baseline entries come from a file: escaped like any outside text.
            writeln!(
                out,
                "  {} {}",
                escape(&entry.rule),
                escape(entry.image.as_deref().unwrap_or("(set-level)"))
            )?;
        }
        writeln!(out)?;
    }
    writeln!(out, "{}", summary_line(report))
}

fn group_diagnostic(
    report: &Report<'_>,
    rule_index: usize,
    status: Status,
    group: &[&Finding],
    style: Style,
) -> miette::Report {
    let rule = &report.policy.rules[rule_index];
    let noun = match (status, group.len()) {
        (Status::Violation, 1) => "1 violation".to_owned(),
        (Status::Violation, n) => format!("{n} violations"),
        (_, 1) => "1 indeterminate finding".to_owned(),
        (_, n) => format!("{n} indeterminate findings"),
    };
    // Titles, image names and messages come from outside: each line is
    // escaped on its own, and only our line breaks separate them.
    let mut message = format!("{}: {noun}", escape(&rule.title));
    for finding in group.iter().take(style.max_images) {
        let _ = write!(message, "\n  • {}", escape(&finding_line(report, finding)));
    }
    if group.len() > style.max_images {
        let _ = write!(message, "\n  … and {} more", group.len() - style.max_images);
    }
    let severity = match rule.severity {
        Severity::Error => MietteSeverity::Error,
        Severity::Warning => MietteSeverity::Warning,
        Severity::Info => MietteSeverity::Advice,
    };
    let check_label = if rule.is_set_level() {
        "the set-level check that failed".to_owned()
    } else if status == Status::Indeterminate {
        format!("cannot be decided for {}", plural(group.len(), "image"))
    } else if group.len() == 1 {
        "1 image fails this".to_owned()
    } else {
        format!("{} images fail this", group.len())
    };
    let mut diagnostic = MietteDiagnostic::new(message)
        .with_code(rule.id.clone())
        .with_severity(severity)
        .with_labels([
            LabeledSpan::new_primary_with_span(Some("rule defined here".into()), rule.origin.span),
            LabeledSpan::new_with_span(Some(check_label), rule.check_origin.span),
        ]);
    let mut help = rule
        .remediation
        .as_deref()
        .map(|r| escape(r).into_owned())
        .unwrap_or_default();
    if let Some(url) = &rule.url {
        if !help.is_empty() {
            help.push(' ');
        }
        let _ = write!(help, "({})", escape(url));
    }
    if !help.is_empty() {
        diagnostic = diagnostic.with_help(help);
    }
    miette::Report::new(diagnostic).with_source_code(rule.origin.file.named_source())
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `img-060ov1xz (CentOS 6.9 32位): message`, or the message of a set-level finding.
pub fn finding_line(report: &Report<'_>, finding: &Finding) -> String {
    match finding.image {
        Some(index) => {
            let image = report.image(index);
            let id = image.id().unwrap_or("<no ImageId>");
            match image.name() {
                Some(name) if !name.is_empty() => format!("{id} ({name}): {}", finding.message),
                _ => format!("{id}: {}", finding.message),
            }
        }
        None => finding.message.clone(),
    }
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
            writeln!(out, "  [{id}] not evaluated: {}", escape(&reason))?;
        }
        writeln!(out)?;
    }
    for status in [Status::Waived, Status::Baselined, Status::Grace] {
        let set: Vec<&Finding> = report.findings_with(status).collect();
        if set.is_empty() {
            continue;
        }
        writeln!(out, "{} ({}), not failing:", status.as_str(), set.len())?;
        for finding in set.iter().take(style.max_images) {
            let rule = report.rule(finding);
            let mut line = format!("  [{}] {}", rule.id, escape(&finding_line(report, finding)));
            if let Some(index) = finding.waiver {
                let waiver = &report.policy.waivers[index];
                let _ = write!(line, "\n      waived: {}", escape(&waiver.reason));
                if let Some((date, _)) = &waiver.expires {
                    let _ = write!(line, " (until {date})");
                }
            }
            if status == Status::Grace
                && let (Some(seen), Some(ends)) =
                    (report.first_seen_label(finding), report.grace_ends(finding))
            {
                let _ = write!(
                    line,
                    "\n      first seen {seen}; fails from {}",
                    report.run.zone.format(ends)
                );
            }
            writeln!(out, "{line}")?;
        }
        if set.len() > style.max_images {
            writeln!(
                out,
                "  … and {} more (see --format json for all)",
                set.len() - style.max_images
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The closing line: images, rules, violations by severity, indeterminate,
/// waived, baselined, and the verdict.
pub fn summary_line(report: &Report<'_>) -> String {
    let s = report.summary();
    let verdict = if s.passed { "PASS" } else { "FAIL" };
    format!(
        "{verdict}: {} checked against {}: {} error, {} warning, {} info violations; {} indeterminate; {} waived; {} baselined{}{}",
        plural(s.images, "image"),
        plural(s.rules, "rule"),
        s.violations.error,
        s.violations.warning,
        s.violations.info,
        s.indeterminate,
        s.waived,
        s.baselined,
        // Shown only when a rule has `grace` in force, so runs without it read as before.
        if s.grace > 0 {
            format!("; {} in grace", s.grace)
        } else {
            String::new()
        },
        if s.warnings > 0 {
            format!("; {}", plural(s.warnings, "warning"))
        } else {
            String::new()
        },
    )
}

/// Render warnings or errors from loading (used by `validate` and on failure).
pub fn render_diags(diags: &[Diag], out: &mut dyn Write, style: Style) -> std::io::Result<()> {
    for diag in diags {
        out.write_all(render_diagnostic(diag, style).as_bytes())?;
    }
    Ok(())
}
