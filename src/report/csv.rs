//! The CSV report: one row per finding under a fixed header (after a row
//! for what was not judged: `nothing-checked`, `usage-image-unknown`, or
//! `skip` for a set-level rule on a narrowed selection), RFC 4180
//! (CRLF line ends, fields quoted when they hold `,` `"` CR or LF, quotes
//! doubled), UTF-8 without a byte-order mark. Cells that a spreadsheet would
//! run as a formula are defused with a leading `'` (see `docs/reports.md`).

use std::borrow::Cow;
use std::io::Write;

use crate::diag::Code;
use crate::eval::SkipReason;
use crate::report::Report;

/// The header row, in column order.
pub const HEADER: [&str; 11] = [
    "rule",
    "status",
    "severity",
    "failing",
    "image_id",
    "image_name",
    "message",
    "file",
    "line",
    "column",
    "waiver_reason",
];

/// Appended to [`HEADER`] when the run had a history (`check --history`);
/// without one the columns are absent, so existing consumers see no change.
pub(crate) const HISTORY_HEADER: [&str; 2] = ["first_seen", "open_for_seconds"];

/// Appended (after the history columns) when the run listed usage; filled for the
/// findings of rules that read usage: the counts, `InUse` (`true`, `false`, empty when
/// unknown), and every instance and module id behind the counts, space-separated.
pub const USAGE_HEADER: [&str; 6] = [
    "usage_instances",
    "usage_running_instances",
    "usage_modules",
    "usage_in_use",
    "usage_instance_ids",
    "usage_module_ids",
];

pub fn render(report: &Report<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let history = report.has_history();
    let usage = report.usage_summary().is_some();
    let mut header: Vec<&str> = HEADER.to_vec();
    if history {
        header.extend(HISTORY_HEADER);
    }
    if usage {
        header.extend(USAGE_HEADER);
    }
    write_record(out, &header)?;
    // What was not judged comes first, told apart by its status: nothing
    // checked at all, instances whose image is unknown (they change what every
    // usage count means), and set-level rules skipped on a narrowed selection.
    for (code, status) in [
        (Code::NothingChecked, "nothing-checked"),
        (Code::UsageImageUnknown, "usage-image-unknown"),
    ] {
        let Some(warning) = report.evaluation.warnings.iter().find(|w| w.code == code) else {
            continue;
        };
        let (severity, failing) = if warning.is_error() {
            ("error", "true")
        } else {
            ("warning", "false")
        };
        write_record(
            out,
            &padded(
                &[
                    "",
                    status,
                    severity,
                    failing,
                    "",
                    "",
                    warning.message.as_str(),
                    "",
                    "",
                    "",
                    "",
                ],
                history,
                usage,
            ),
        )?;
    }
    for (rule, result) in report.policy.rules.iter().zip(&report.evaluation.rules) {
        if let Some(reason @ SkipReason::Narrowed(_)) = &result.skip {
            let location = rule.origin.location();
            let reason = reason.to_string();
            let (line, column) = (location.line.to_string(), location.column.to_string());
            write_record(
                out,
                &padded(
                    &[
                        rule.id.as_str(),
                        "skip",
                        rule.severity.as_str(),
                        "false",
                        "",
                        "",
                        reason.as_str(),
                        location.file.as_str(),
                        line.as_str(),
                        column.as_str(),
                        "",
                    ],
                    history,
                    usage,
                ),
            )?;
        }
    }
    for finding in &report.evaluation.findings {
        let rule = report.rule(finding);
        let image = finding.image.map(|i| report.image(i));
        let location = rule.origin.location();
        let waiver = finding.waiver.and_then(|i| report.policy.waivers.get(i));
        let line = location.line.to_string();
        let column = location.column.to_string();
        let record = [
            rule.id.as_str(),
            finding.status.as_str(),
            rule.severity.as_str(),
            if report.is_failing(finding) {
                "true"
            } else {
                "false"
            },
            image.and_then(|i| i.id()).unwrap_or(""),
            image.and_then(|i| i.name()).unwrap_or(""),
            &finding.message,
            location.file.as_str(),
            line.as_str(),
            column.as_str(),
            waiver.map_or("", |w| w.reason.as_str()),
        ];
        let mut extra: Vec<String> = Vec::new();
        if history {
            extra.push(report.first_seen_rfc3339(finding).unwrap_or_default());
            extra.push(
                report
                    .open_for_seconds(finding)
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
            );
        }
        if usage {
            extra.extend(usage_cells(report, finding));
        }
        let mut full = record.to_vec();
        full.extend(extra.iter().map(String::as_str));
        write_record(out, &full)?;
    }
    Ok(())
}

/// The usage columns of a finding: filled for a rule that reads usage, empty otherwise.
fn usage_cells(report: &Report<'_>, finding: &crate::eval::Finding) -> [String; 6] {
    let Some(evidence) = report.usage_evidence(finding) else {
        return Default::default();
    };
    let counts = evidence.usage.counts;
    [
        counts.instances.to_string(),
        counts.running.to_string(),
        counts.modules.to_string(),
        evidence.in_use.map(|b| b.to_string()).unwrap_or_default(),
        evidence.instances.join(" "),
        evidence.modules.join(" "),
    ]
}

/// A row that is not a finding, with empty history and usage columns when the run had
/// them.
fn padded<'a>(row: &[&'a str], history: bool, usage: bool) -> Vec<&'a str> {
    let mut row = row.to_vec();
    if history {
        row.extend(std::iter::repeat_n("", HISTORY_HEADER.len()));
    }
    if usage {
        row.extend(std::iter::repeat_n("", USAGE_HEADER.len()));
    }
    row
}

fn write_record(out: &mut dyn Write, fields: &[&str]) -> std::io::Result<()> {
    for (n, field) in fields.iter().enumerate() {
        if n > 0 {
            out.write_all(b",")?;
        }
        out.write_all(quote(&defuse(field)).as_bytes())?;
    }
    out.write_all(b"\r\n")
}

/// RFC 4180: quote a field holding a comma, a quote, CR or LF, and double
/// the quotes inside it; every other field is written as is.
pub fn quote(field: &str) -> Cow<'_, str> {
    if field.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
    }
}

/// Image names, descriptions and waiver reasons are written by whoever can
/// create images or policies; a cell starting with `=`, `+`, `-`, `@`, tab
/// or CR is run as a formula by spreadsheet programs (CSV injection). Such
/// a cell gets a leading `'`, which spreadsheets hide and scripts can strip.
pub fn defuse(field: &str) -> Cow<'_, str> {
    if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{field}"))
    } else {
        Cow::Borrowed(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(quote("plain text"), "plain text");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
        assert_eq!(quote("cr\r"), "\"cr\r\"");
    }

    #[test]
    fn formula_cells_are_defused() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("-1+2"), "'-1+2");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("img-1"), "img-1");
        assert_eq!(defuse(""), "");
    }
}
