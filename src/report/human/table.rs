//! The closing table of the human report: every rule, failing or not, with
//! its severity, images in scope, counts by status and result. Headers are
//! written out when they fit the terminal and abbreviated when they do not;
//! rule ids are never cut (a long id widens the table instead).

use std::io::Write;

use super::Style;
use super::paint::Paint;
use super::wrap::width;
use crate::eval::RuleStatus;
use crate::report::Report;
use crate::text::thousands;

/// A column: its header written out, abbreviated, and whether numbers
/// (right-aligned).
struct Column {
    long: &'static str,
    short: &'static str,
    numeric: bool,
}

const fn column(long: &'static str, short: &'static str, numeric: bool) -> Column {
    Column {
        long,
        short,
        numeric,
    }
}

const RULE: Column = column("rule", "rule", false);
const SEVERITY: Column = column("severity", "severity", false);
const SCOPE: Column = column("in scope", "scope", true);
const VIOLATIONS: Column = column("violations", "viol", true);
const INDETERMINATE: Column = column("indeterminate", "indet", true);
const WAIVED: Column = column("waived", "waived", true);
const BASELINED: Column = column("baselined", "base", true);
const GRACE: Column = column("grace", "grace", true);
const RESULT: Column = column("result", "result", false);

const GAP: usize = 2;

/// A rule's result as the table shows it: `fail` (it fails the gate),
/// `findings` (open findings below `--fail-on`: reported, not failing),
/// `pass` (nothing open; waived, baselined or grace findings may remain),
/// `skip` (not judged: no image in scope, or a narrowed selection).
pub(super) fn result(report: &Report<'_>, index: usize) -> &'static str {
    let (Some(rule), Some(result)) = (
        report.policy.rules.get(index),
        report.evaluation.rules.get(index),
    ) else {
        return "skip";
    };
    let open = result.counts.violations + result.counts.indeterminate;
    if result.status == RuleStatus::Skip {
        "skip"
    } else if open == 0 {
        "pass"
    } else if report.run.fail_on.fails(rule.severity) {
        "fail"
    } else {
        "findings"
    }
}

/// Write the table, rows in `order` (indices into the policy's rules).
pub(super) fn write(
    out: &mut dyn Write,
    report: &Report<'_>,
    order: &[usize],
    style: Style,
) -> std::io::Result<()> {
    let paint = Paint { on: style.color };
    let mut columns = vec![
        RULE,
        SEVERITY,
        SCOPE,
        VIOLATIONS,
        INDETERMINATE,
        WAIVED,
        BASELINED,
    ];
    // Grace needs a history; without one the column would only ever say 0.
    if report.has_history() {
        columns.push(GRACE);
    }
    columns.push(RESULT);
    let rows: Vec<Vec<String>> = order
        .iter()
        .filter_map(|&index| {
            let rule = report.policy.rules.get(index)?;
            let c = &report.evaluation.rules.get(index)?.counts;
            let mut row = vec![
                rule.id.clone(),
                rule.severity.as_str().to_owned(),
                thousands(c.in_scope as u64),
                thousands(c.violations as u64),
                thousands(c.indeterminate as u64),
                thousands(c.waived as u64),
                thousands(c.baselined as u64),
            ];
            if report.has_history() {
                row.push(thousands(c.grace as u64));
            }
            row.push(result(report, index).to_owned());
            Some(row)
        })
        .collect();
    let widths = |header: fn(&Column) -> &'static str| -> Vec<usize> {
        columns
            .iter()
            .enumerate()
            .map(|(n, column)| {
                rows.iter()
                    .map(|row| width(&row[n]))
                    .chain([width(header(column))])
                    .max()
                    .unwrap_or(0)
            })
            .collect()
    };
    let total = |widths: &[usize]| widths.iter().sum::<usize>() + GAP * (widths.len() - 1);
    let mut header: fn(&Column) -> &'static str = |c| c.long;
    let mut sizes = widths(header);
    if total(&sizes) > style.width {
        header = |c| c.short;
        sizes = widths(header);
    }
    let heading: Vec<String> = columns.iter().map(|c| header(c).to_owned()).collect();
    let last = columns.len() - 1;
    let line = |cells: &[String], paint_last: &dyn Fn(&str) -> String| -> String {
        let mut text = String::new();
        for (n, (cell, column)) in cells.iter().zip(&columns).enumerate() {
            let pad = " ".repeat(sizes[n].saturating_sub(width(cell)));
            if n == last {
                // Last and left-aligned: no padding after it.
                text.push_str(&paint_last(cell));
            } else if column.numeric {
                text.push_str(&pad);
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&pad);
            }
            if n != last {
                text.push_str(&" ".repeat(GAP));
            }
        }
        text
    };
    writeln!(out, "{}", paint.bold(&line(&heading, &|c| c.to_owned())))?;
    for row in &rows {
        writeln!(out, "{}", line(row, &|c| paint.result(c)))?;
    }
    Ok(())
}
