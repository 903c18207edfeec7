//! The Markdown report: a compliance summary for a pull-request comment or
//! `$GITHUB_STEP_SUMMARY` (GitHub-flavoured Markdown). Verdict and totals,
//! one table row per rule, the failing images per rule in collapsible
//! `<details>` (capped by `--max-findings`, with the first-seen time under
//! `--history`), waivers,
//! baselined findings, violations in grace and warnings. Every
//! piece of data goes through `text::markdown`, so names from the API or the
//! policy cannot break a table, start markup, inject HTML or mention anyone.

use std::fmt::Write as _;
use std::io::Write;

use crate::eval::{Finding, RuleStatus, Status};
use crate::policy::model::Severity;
use crate::report::{NO_IMAGE_ID, Report};
use crate::text::markdown::{cell, code, html, inline};
use crate::text::{count, thousands};

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
        count(summary.images as u64, "image", "images"),
        count(summary.rules as u64, "rule", "rules"),
        inline(&report.now_label()),
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
        thousands(summary.failing as u64),
        thousands(summary.violations.error as u64),
        thousands(summary.violations.warning as u64),
        thousands(summary.violations.info as u64),
        thousands(summary.indeterminate as u64),
        thousands(summary.waived as u64),
        thousands(summary.baselined as u64),
        thousands(summary.warnings as u64)
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
        inline(&source_label(report))
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
            format!("{} (set)", thousands(c.in_scope as u64))
        } else {
            thousands(c.in_scope as u64)
        };
        writeln!(
            md,
            "| {result_label} | {}<br>{} | {} | {scope} | {} | {} | {} | {} |",
            code(&rule.id),
            cell(&rule.title),
            severity_label(rule.severity),
            thousands(c.violations as u64),
            thousands(c.indeterminate as u64),
            thousands(c.waived as u64),
            thousands(c.baselined as u64)
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
            writeln!(md, "- ⏭️ {} not evaluated: {}", code(id), inline(&reason))?;
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
            count(open.len() as u64, "finding", "findings")
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
                None => finding.message.to_string(),
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
    writeln!(md, "### Waived ({})\n", thousands(waived.len() as u64))?;
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
            count(baselined.len() as u64, "finding", "findings")
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
            count(fixed.len() as u64, "entry", "entries")
        )?;
        for entry in fixed.iter().take(max) {
            writeln!(
                md,
                "- {} {}",
                code(&entry.rule),
                entry
                    .image
                    .as_deref()
                    .map_or("(set-level)".to_owned(), inline)
            )?;
        }
        if max > 0 && fixed.len() > max {
            writeln!(md, "- … and {} more", thousands((fixed.len() - max) as u64))?;
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
    writeln!(md, "### In grace ({})\n", thousands(grace.len() as u64))?;
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
    writeln!(md, "### Warnings ({})\n", thousands(warnings.len() as u64))?;
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
            inline(&warning.message)
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
            count(total as u64, "finding", "findings")
        )?;
    } else if total > max {
        writeln!(
            md,
            "\n… and {} more (--max-findings, or the JSON or CSV report for all)",
            thousands((total - max) as u64)
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
