//! The `github` report: GitHub Actions workflow commands that annotate the
//! rule in its policy file, one per failing finding (violation or
//! indeterminate), capped per rule (`--max-findings`), then notices for what
//! was left out, for waived and baselined findings, for violations in grace,
//! the policy's warnings (at their line), and the verdict.

use std::io::Write;

use crate::eval::{Finding, SkipReason, Status};
use crate::policy::model::{Rule, Severity};
use crate::report::{Report, source_path};
use crate::text::{count, thousands};

/// Paths are relative to the run's root (the working directory): GitHub
/// resolves annotation files against the repository root, where workflows run.
/// At most `max_per_rule` annotations per rule (`--max-findings`, default
/// [`crate::report::DEFAULT_MAX_FINDINGS`]: GitHub itself shows at most 10
/// error and 10 warning annotations per step); the rest are summed up in one
/// notice.
pub fn render(
    report: &Report<'_>,
    out: &mut dyn Write,
    max_per_rule: usize,
) -> std::io::Result<()> {
    let root = report.run.root.as_deref();
    for (index, rule) in report.policy.rules.iter().enumerate() {
        let open: Vec<&Finding> = report
            .findings_of(index)
            .filter(|f| matches!(f.status, Status::Violation | Status::Indeterminate))
            .collect();
        let file = source_path(rule.origin.file.name(), root).slash_path();
        for finding in open.iter().take(max_per_rule) {
            let mut message = report.finding_text(finding);
            // A rule that reads usage: what uses the image, ids capped like the findings.
            if let Some(evidence) = report.usage_evidence(finding) {
                message.push_str(&format!(" (usage: {})", evidence.text(max_per_rule)));
            }
            let status = match finding.status {
                Status::Indeterminate => " (indeterminate)",
                _ => "",
            };
            command(
                out,
                level(rule.severity),
                &located(rule, &file, &format!("{}{status}: {}", rule.id, rule.title)),
                &message,
            )?;
        }
        if open.len() > max_per_rule {
            let rest = open.len() - max_per_rule;
            command(
                out,
                "notice",
                &located(
                    rule,
                    &file,
                    &format!("{}: {} more not shown", rule.id, thousands(rest as u64)),
                ),
                &format!(
                    "{} of {} {} not annotated (at most {max_per_rule} per rule, --max-findings); the JSON and CSV reports list them all",
                    count(rest as u64, "more finding", "more findings"),
                    rule.id,
                    if rest == 1 { "is" } else { "are" },
                ),
            )?;
        }
    }
    for (rule, result) in report.policy.rules.iter().zip(&report.evaluation.rules) {
        if let Some(reason @ SkipReason::Narrowed(_)) = &result.skip {
            let file = source_path(rule.origin.file.name(), root).slash_path();
            command(
                out,
                "notice",
                &located(rule, &file, &format!("{}: not evaluated", rule.id)),
                &reason.to_string(),
            )?;
        }
    }
    // Policy warnings (expired and unused waivers, unused params, nothing
    // checked): an annotation each, at their line when they have one, so
    // exceptions cannot rot silently in CI either.
    for warning in &report.evaluation.warnings {
        let name = if warning.is_error() {
            "error"
        } else {
            "warning"
        };
        let title = format!("ecmguard::{}", warning.code.name());
        let mut properties: Vec<(&str, String)> = Vec::new();
        if let Some((file, at)) = warning.location() {
            properties.push(("file", source_path(file, root).slash_path()));
            properties.push(("line", at.line.to_string()));
            properties.push(("col", at.column.to_string()));
        }
        properties.push(("title", title));
        let message = match &warning.help {
            Some(help) => format!("{}\n{help}", warning.message),
            None => warning.message.clone(),
        };
        command(out, name, &properties, &message)?;
    }
    let summary = report.summary();
    if summary.waived + summary.baselined > 0 {
        let mut parts = Vec::new();
        for (index, rule) in report.policy.rules.iter().enumerate() {
            let waived = report
                .findings_of(index)
                .filter(|f| f.status == Status::Waived)
                .count();
            let baselined = report
                .findings_of(index)
                .filter(|f| f.status == Status::Baselined)
                .count();
            if waived + baselined > 0 {
                parts.push(format!(
                    "{} ({waived} waived, {baselined} baselined)",
                    rule.id
                ));
            }
        }
        command(
            out,
            "notice",
            &[("title", "ecmguard: waived and baselined findings")],
            &format!(
                "{} waived and {} baselined findings do not fail the gate and are not annotated: {}",
                summary.waived,
                summary.baselined,
                parts.join(", ")
            ),
        )?;
    }
    if summary.grace > 0 {
        // A separate notice, so runs without grace print what they always did.
        let parts: Vec<String> = report
            .policy
            .rules
            .iter()
            .enumerate()
            .filter_map(|(index, rule)| {
                let n = report
                    .findings_of(index)
                    .filter(|f| f.status == Status::Grace)
                    .count();
                (n > 0).then(|| format!("{} ({n})", rule.id))
            })
            .collect();
        command(
            out,
            "notice",
            &[("title", "ecmguard: violations in their grace period")],
            &format!(
                "{} violations are younger than their rule's grace period and do not fail the gate yet: {}",
                summary.grace,
                parts.join(", ")
            ),
        )?;
    }
    let verdict = if summary.passed {
        "ecmguard: PASS"
    } else {
        "ecmguard: FAIL"
    };
    command(
        out,
        "notice",
        &[("title", verdict)],
        &crate::report::human::summary_line(report),
    )
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

fn located(rule: &Rule, file: &str, title: &str) -> [(&'static str, String); 4] {
    let at = rule.origin.line_col();
    [
        ("file", file.to_owned()),
        ("line", at.line.to_string()),
        ("col", at.column.to_string()),
        ("title", title.to_owned()),
    ]
}

/// `::name key=value,key=value::message`, every part escaped.
fn command<K: AsRef<str>, V: AsRef<str>>(
    out: &mut dyn Write,
    name: &str,
    properties: &[(K, V)],
    message: &str,
) -> std::io::Result<()> {
    let properties: Vec<String> = properties
        .iter()
        .map(|(k, v)| format!("{}={}", k.as_ref(), escape_property(v.as_ref())))
        .collect();
    writeln!(
        out,
        "::{name} {}::{}",
        properties.join(","),
        escape_data(message)
    )
}

/// Escape a workflow command's message as GitHub's runner expects
/// (`%`, CR, LF: a raw newline would end the command), and beyond that what
/// the runner or its log would still act on: other control characters
/// (shown as `\u{1b}`) and the legacy `##[` command form, honoured
/// anywhere in a line (shown as `#%23[`).
pub fn escape_data(text: &str) -> String {
    escape(text, false)
}

/// Escape a property value: as data, plus `:` and `,`, which would end the
/// value or the property list.
pub fn escape_property(text: &str) -> String {
    escape(text, true)
}

fn escape(text: &str, property: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' if property => out.push_str("%3A"),
            ',' if property => out.push_str("%2C"),
            '#' if out.ends_with('#') && chars.peek() == Some(&'[') => out.push_str("%23"),
            c if crate::text::is_control(c) => out.push_str(&crate::text::escape(&c.to_string())),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_properties_are_escaped() {
        assert_eq!(escape_data("100% a\r\nb::c,d"), "100%25 a%0D%0Ab::c,d");
        assert_eq!(
            escape_property("100% a\r\nb::c,d"),
            "100%25 a%0D%0Ab%3A%3Ac%2Cd"
        );
        assert_eq!(escape_data("%0A"), "%250A");
    }
}
