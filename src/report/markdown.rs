//! The Markdown report: a compliance summary for a pull-request comment or
//! `$GITHUB_STEP_SUMMARY` (GitHub-flavoured Markdown). Verdict and totals,
//! one table row per rule, the failing images per rule in collapsible
//! `<details>` (capped by `--max-findings`, with the first-seen time under
//! `--history`), waivers,
//! baselined findings, violations in grace and warnings. Every
//! piece of data goes through `cell`/`text`, so names from the API or the
//! policy cannot break a table, start markup or inject HTML.

use std::fmt::Write as _;
use std::io::Write;

use crate::eval::{Finding, RuleStatus, Status};
use crate::policy::model::Severity;
use crate::report::{NO_IMAGE_ID, Report};

/// `max_listed` (`--max-findings`) caps the findings listed per rule and
/// per section; 0 lists none (counts only).
pub fn render(report: &Report<'_>, out: &mut dyn Write, max_listed: usize) -> std::io::Result<()> {
    let mut md = String::new();
    // Writing to a String cannot fail; the results are ignored on purpose.
    let _ = write_report(report, &mut md, max_listed);
    out.write_all(md.as_bytes())
}

fn write_report(report: &Report<'_>, md: &mut String, max: usize) -> std::fmt::Result {
    let summary = report.summary();
    let (icon, verdict) = if summary.passed {
        ("✅", "PASS")
    } else {
        ("❌", "FAIL")
    };
    writeln!(md, "## {icon} ecmguard: {verdict}\n")?;
    writeln!(
        md,
        "{} checked against {} at {}. The gate fails on `{}` and above: exit code {}.\n",
        count(summary.images, "image"),
        count(summary.rules, "rule"),
        text(&report.now_label()),
        report.run.fail_on.as_str(),
        report.exit_code()
    )?;
    writeln!(
        md,
        "| Failing findings | Violations: error / warning / info | Indeterminate | Waived | Baselined | Policy warnings |"
    )?;
    writeln!(md, "|---:|:---:|---:|---:|---:|---:|")?;
    writeln!(
        md,
        "| **{}** | {} / {} / {} | {} | {} | {} | {} |\n",
        summary.failing,
        summary.violations.error,
        summary.violations.warning,
        summary.violations.info,
        summary.indeterminate,
        summary.waived,
        summary.baselined,
        summary.warnings
    )?;
    write_rules(report, md)?;
    write_failing(report, md, max)?;
    write_waived(report, md, max)?;
    write_baselined(report, md, max)?;
    write_grace(report, md, max)?;
    write_warnings(report, md)?;
    writeln!(
        md,
        "<sub>ecmguard {} · {}</sub>",
        env!("CARGO_PKG_VERSION"),
        text(&source_label(report))
    )
}

fn write_rules(report: &Report<'_>, md: &mut String) -> std::fmt::Result {
    writeln!(md, "### Rules\n")?;
    writeln!(
        md,
        "| Result | Rule | Severity | In scope | Violations | Indeterminate | Waived | Baselined |"
    )?;
    writeln!(md, "|---|---|---|---:|---:|---:|---:|---:|")?;
    for (index, rule) in report.policy.rules.iter().enumerate() {
        let Some(result) = report.evaluation.rules.get(index) else {
            continue;
        };
        let failing = report
            .findings_of(index)
            .filter(|f| report.is_failing(f))
            .count();
        let result_label = match result.status {
            RuleStatus::Fail if failing > 0 => "❌ fail",
            // Findings below --fail-on, or all waived or baselined.
            RuleStatus::Fail => "⚠️ findings",
            RuleStatus::Pass => "✅ pass",
            RuleStatus::Skip => "⏭️ skipped",
        };
        let c = &result.counts;
        let scope = if rule.is_set_level() {
            format!("{} (set)", c.in_scope)
        } else {
            c.in_scope.to_string()
        };
        writeln!(
            md,
            "| {result_label} | {}<br>{} | {} | {scope} | {} | {} | {} | {} |",
            code(&rule.id),
            cell(&rule.title),
            severity_label(rule.severity),
            c.violations,
            c.indeterminate,
            c.waived,
            c.baselined
        )?;
    }
    writeln!(md)?;
    let skipped: Vec<(&str, String)> = report
        .policy
        .rules
        .iter()
        .zip(&report.evaluation.rules)
        .filter_map(|(rule, result)| Some((rule.id.as_str(), result.skip.as_ref()?.to_string())))
        .collect();
    if !skipped.is_empty() {
        for (id, reason) in skipped {
            writeln!(md, "- ⏭️ {} not evaluated: {}", code(id), text(&reason))?;
        }
        writeln!(md)?;
    }
    Ok(())
}

fn write_failing(report: &Report<'_>, md: &mut String, max: usize) -> std::fmt::Result {
    let mut header = false;
    for (index, rule) in report.policy.rules.iter().enumerate() {
        let open: Vec<&Finding> = report
            .findings_of(index)
            .filter(|f| matches!(f.status, Status::Violation | Status::Indeterminate))
            .collect();
        if open.is_empty() {
            continue;
        }
        if !header {
            writeln!(md, "### Findings\n")?;
            header = true;
        }
        let failing = open.iter().filter(|f| report.is_failing(f)).count();
        let note = if failing == 0 { ", not failing" } else { "" };
        // Inside an HTML block GitHub does not read Markdown: HTML escaping only.
        writeln!(
            md,
            "<details><summary><code>{}</code> {}: {}{note}</summary>\n",
            html(&rule.id),
            html(&rule.title),
            count(open.len(), "finding")
        )?;
        if max == 0 {
            more(md, open.len(), max)?;
            writeln!(md, "\n</details>\n")?;
            continue;
        }
        // With --history, a "First seen" column; without it the table is as it was.
        let history = report.has_history();
        if history {
            writeln!(md, "| Image | Name | Status | First seen | Message |")?;
            writeln!(md, "|---|---|---|---|---|")?;
        } else {
            writeln!(md, "| Image | Name | Status | Message |")?;
            writeln!(md, "|---|---|---|---|")?;
        }
        for finding in open.iter().take(max) {
            let (id, name) = image_cells(report, finding);
            let seen = if history {
                format!(
                    " {} |",
                    report
                        .first_seen_label(finding)
                        .map_or(String::new(), |l| cell(&l))
                )
            } else {
                String::new()
            };
            // A rule that reads usage: what uses the image, ids capped like the images.
            let message = match report.usage_evidence(finding) {
                Some(evidence) => format!("{} (usage: {})", finding.message, evidence.text(max)),
                None => finding.message.clone(),
            };
            writeln!(
                md,
                "| {id} | {name} | {} |{seen} {} |",
                finding.status.as_str(),
                cell(&message)
            )?;
        }
        more(md, open.len(), max)?;
        writeln!(md, "\n</details>\n")?;
    }
    Ok(())
}

fn write_waived(report: &Report<'_>, md: &mut String, max: usize) -> std::fmt::Result {
    let waived: Vec<&Finding> = report.findings_with(Status::Waived).collect();
    if waived.is_empty() {
        return Ok(());
    }
    writeln!(md, "### Waived ({})\n", waived.len())?;
    if max == 0 {
        more(md, waived.len(), max)?;
        return writeln!(md);
    }
    // Set-level findings have no image: their message says what was waived.
    writeln!(md, "| Rule | Finding | Reason | Owner | Expires |")?;
    writeln!(md, "|---|---|---|---|---|")?;
    for finding in waived.iter().take(max) {
        let rule = report.rule(finding);
        let waiver = finding.waiver.and_then(|i| report.policy.waivers.get(i));
        let image = match finding.image {
            Some(i) => cell(&crate::report::image_label(report.image(i))),
            None => cell(&finding.message),
        };
        writeln!(
            md,
            "| {} | {image} | {} | {} | {} |",
            code(&rule.id),
            waiver.map_or(String::new(), |w| cell(&w.reason)),
            waiver
                .and_then(|w| w.owner.as_deref())
                .map_or(String::new(), cell),
            waiver
                .and_then(|w| w.expires.as_ref())
                .map_or("never".to_owned(), |(date, _)| cell(date)),
        )?;
    }
    more(md, waived.len(), max)?;
    writeln!(md)
}

fn write_baselined(report: &Report<'_>, md: &mut String, max: usize) -> std::fmt::Result {
    let baselined: Vec<&Finding> = report.findings_with(Status::Baselined).collect();
    let fixed = &report.evaluation.baseline_fixed;
    if baselined.is_empty() && fixed.is_empty() {
        return Ok(());
    }
    writeln!(md, "### Baseline\n")?;
    if !baselined.is_empty() {
        writeln!(
            md,
            "<details><summary>{} recorded in the baseline (not failing)</summary>\n",
            count(baselined.len(), "finding")
        )?;
        if max > 0 {
            writeln!(md, "| Rule | Image | Message |")?;
            writeln!(md, "|---|---|---|")?;
        }
        for finding in baselined.iter().take(max) {
            let image = report
                .image_label(finding)
                .map_or("(set-level)".to_owned(), |l| cell(&l));
            writeln!(
                md,
                "| {} | {image} | {} |",
                code(&report.rule(finding).id),
                cell(&finding.message)
            )?;
        }
        more(md, baselined.len(), max)?;
        writeln!(md, "\n</details>\n")?;
    }
    if !fixed.is_empty() {
        writeln!(
            md,
            "Fixed since the baseline: {}\n",
            count(fixed.len(), "entry")
        )?;
        for entry in fixed.iter().take(max) {
            writeln!(
                md,
                "- {} {}",
                code(&entry.rule),
                entry
                    .image
                    .as_deref()
                    .map_or("(set-level)".to_owned(), text)
            )?;
        }
        if max > 0 && fixed.len() > max {
            writeln!(md, "- … and {} more", fixed.len() - max)?;
        }
        writeln!(md)?;
    }
    Ok(())
}

/// Violations younger than their rule's `grace`: not failing yet, and when
/// they will.
fn write_grace(report: &Report<'_>, md: &mut String, max: usize) -> std::fmt::Result {
    let grace: Vec<&Finding> = report.findings_with(Status::Grace).collect();
    if grace.is_empty() {
        return Ok(());
    }
    writeln!(md, "### In grace ({})\n", grace.len())?;
    writeln!(
        md,
        "Violations younger than their rule's `grace` period: reported, not failing yet.\n"
    )?;
    if max == 0 {
        more(md, grace.len(), max)?;
        return writeln!(md);
    }
    writeln!(md, "| Rule | Finding | First seen | Fails from | Message |")?;
    writeln!(md, "|---|---|---|---|---|")?;
    for finding in grace.iter().take(max) {
        let image = report
            .image_label(finding)
            .map_or("(set-level)".to_owned(), |l| cell(&l));
        writeln!(
            md,
            "| {} | {image} | {} | {} | {} |",
            code(&report.rule(finding).id),
            report
                .first_seen_label(finding)
                .map_or(String::new(), |l| cell(&l)),
            report
                .grace_ends(finding)
                .map_or(String::new(), |at| cell(&report.run.zone.format(at))),
            cell(&finding.message)
        )?;
    }
    more(md, grace.len(), max)?;
    writeln!(md)
}

fn write_warnings(report: &Report<'_>, md: &mut String) -> std::fmt::Result {
    let warnings = &report.evaluation.warnings;
    if warnings.is_empty() {
        return Ok(());
    }
    writeln!(md, "### Warnings ({})\n", warnings.len())?;
    for warning in warnings {
        let at = match warning.location() {
            Some((file, at)) => {
                format!(" at {}", code(&format!("{file}:{}:{}", at.line, at.column)))
            }
            None => String::new(),
        };
        writeln!(
            md,
            "- ⚠️ {}{at}: {}",
            code(warning.code.name()),
            text(&warning.message)
        )?;
    }
    writeln!(md)
}

/// The tail of a capped list. The HTML report stops at 200 per rule too:
/// only the JSON and CSV reports list every finding.
fn more(md: &mut String, total: usize, max: usize) -> std::fmt::Result {
    if max == 0 {
        writeln!(
            md,
            "\n{} not listed (--max-findings 0; the JSON or CSV report lists them all)",
            count(total, "finding")
        )?;
    } else if total > max {
        writeln!(
            md,
            "\n… and {} more (--max-findings, or the JSON or CSV report for all)",
            total - max
        )?;
    }
    Ok(())
}

fn image_cells(report: &Report<'_>, finding: &Finding) -> (String, String) {
    match finding.image.map(|i| report.image(i)) {
        Some(image) => (
            code(image.id().unwrap_or(NO_IMAGE_ID)),
            image.name().map_or(String::new(), cell),
        ),
        None => ("(set-level)".to_owned(), String::new()),
    }
}

fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "🔴 error",
        Severity::Warning => "🟠 warning",
        Severity::Info => "🔵 info",
    }
}

fn source_label(report: &Report<'_>) -> String {
    report.with_usage(report.run.source.label())
}

fn count(n: usize, noun: &str) -> String {
    match (n, noun) {
        (1, _) => format!("1 {noun}"),
        (_, "entry") => format!("{n} entries"),
        _ => format!("{n} {noun}s"),
    }
}

/// Escape text for Markdown (also inside a table cell): HTML-significant
/// characters become entities, Markdown punctuation gets a backslash, `|`
/// cannot end the cell, line breaks cannot end the row, and `@` cannot
/// mention anyone.
pub fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '`' => out.push_str("&#96;"),
            '@' => out.push_str("&#64;"),
            '|' => out.push_str("\\|"),
            '\r' => {}
            '\n' => out.push(' '),
            '\\' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Text inside an HTML block (`<summary>`), where Markdown is not read.
pub fn html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '@' => out.push_str("&#64;"),
            // A blank line would end the HTML block.
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A table cell: [`text`], with line breaks kept as `<br>`.
pub fn cell(raw: &str) -> String {
    raw.split('\n').map(text).collect::<Vec<_>>().join("<br>")
}

/// A code span for identifiers (rule ids, ImageIds, codes). Backticks and
/// `|` cannot occur in rule ids, but ImageIds come from the API: anything
/// that could end the span or the cell falls back to escaped text.
pub fn code(raw: &str) -> String {
    if raw.is_empty()
        || raw
            .chars()
            .any(|c| matches!(c, '`' | '|' | '\n' | '\r') || c.is_control())
    {
        text(raw)
    } else {
        format!("`{raw}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_stays_text() {
        assert_eq!(
            text("<script>alert(1)</script>"),
            "&lt;script&gt;alert\\(1\\)&lt;/script&gt;"
        );
        assert_eq!(text("a|b"), "a\\|b");
        assert_eq!(
            text("`x` @team [l](u)"),
            "&#96;x&#96; &#64;team \\[l\\]\\(u\\)"
        );
        assert_eq!(cell("one\ntwo"), "one<br>two");
        assert_eq!(code("img-1"), "`img-1`");
        assert_eq!(code("img`|x"), "img&#96;\\|x");
    }
}
