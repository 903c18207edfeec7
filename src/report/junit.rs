//! The JUnit XML report (with `quick-junit`): one test suite, one test case
//! per rule. A rule with failing findings fails, listing them; a per-image
//! rule with no image in scope is skipped; every other rule passes. Waived,
//! baselined, grace and non-failing findings are noted in the test case's
//! `system-out`, so CI test views show them without failing.

use std::fmt::Write as _;
use std::io::Write;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use crate::diag::Code;
use crate::eval::{Finding, RuleStatus, Status};
use crate::report::Report;
use crate::text::escape;

/// Findings listed in one failure's text before "… and N more".
pub const MAX_LISTED: usize = 100;

pub fn render(report: &Report<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let mut suite = TestSuite::new("ecmguard");
    let summary = report.summary();
    suite.add_properties([
        Property::new("now", report.run.now.to_string()),
        Property::new("time_zone", report.run.zone.label()),
        // Where the images came from, with a completeness the user vouched for.
        Property::new("source", report.run.source.label()),
        Property::new("fail_on", report.run.fail_on.as_str()),
        Property::new("images", report.images.len().to_string()),
        Property::new("exit_code", report.exit_code().to_string()),
        Property::new("verdict", if summary.passed { "pass" } else { "fail" }),
    ]);
    // What the run listed of usage, when it did.
    if let Some(usage) = report.usage_summary() {
        suite.add_property(Property::new("usage", usage.label()));
    }
    for (index, rule) in report.policy.rules.iter().enumerate() {
        let findings: Vec<&Finding> = report.findings_of(index).collect();
        let failing: Vec<&Finding> = findings
            .iter()
            .copied()
            .filter(|f| report.is_failing(f))
            .collect();
        let status = if !failing.is_empty() {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(failure_message(&failing, rule.title.as_str()))
                .set_type(rule.severity.as_str())
                .set_description(listing(report, &failing));
            status
        } else if let Some(reason) = report
            .evaluation
            .rules
            .get(index)
            .filter(|r| r.status == RuleStatus::Skip)
            .and_then(|r| r.skip.as_ref())
        {
            let mut status = TestCaseStatus::skipped();
            status.set_message(reason.to_string());
            status
        } else {
            TestCaseStatus::success()
        };
        let mut case = TestCase::new(rule.id.as_str(), status);
        let location = rule.origin.location();
        case.set_classname(format!("ecmguard.{}", location.file));
        // `file` and `line` are read by GitLab and other viewers to link the test.
        case.extra
            .insert("file".into(), location.file.as_str().into());
        case.extra
            .insert("line".into(), location.line.to_string().into());
        case.add_properties([
            Property::new("title", escape(&rule.title).as_ref()),
            Property::new("severity", rule.severity.as_str()),
        ]);
        let notes = system_out(report, &findings);
        if !notes.is_empty() {
            case.set_system_out(notes);
        }
        suite.add_test_case(case);
    }
    if let Some(nothing) = report
        .evaluation
        .warnings
        .iter()
        .find(|w| w.code == Code::NothingChecked)
    {
        // Nothing was checked: a case of its own, failing when that fails the gate.
        let status = if nothing.is_error() {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(nothing.message.as_str())
                .set_type("nothing-checked");
            status
        } else {
            let mut status = TestCaseStatus::skipped();
            status.set_message(nothing.message.as_str());
            status
        };
        let mut case = TestCase::new("nothing-checked", status);
        case.set_classname("ecmguard");
        suite.add_test_case(case);
    }
    let mut junit = quick_junit::Report::new("ecmguard");
    junit.add_test_suite(suite);
    junit.serialize(&mut *out).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

/// `4 violations, 1 indeterminate: <title>`.
fn failure_message(failing: &[&Finding], title: &str) -> String {
    let violations = failing
        .iter()
        .filter(|f| f.status == Status::Violation)
        .count();
    let indeterminate = failing.len() - violations;
    let mut parts = Vec::new();
    if violations > 0 {
        parts.push(crate::text::count(
            violations as u64,
            "violation",
            "violations",
        ));
    }
    if indeterminate > 0 {
        parts.push(format!(
            "{} indeterminate",
            crate::text::thousands(indeterminate as u64)
        ));
    }
    format!("{}: {}", parts.join(", "), escape(title))
}

/// One finding on one line. Names and messages are escaped: XML 1.0 cannot
/// hold most control characters at all, and CI logs print what test views show.
fn line(report: &Report<'_>, finding: &Finding) -> String {
    let mut text = format!(
        "{} {}",
        finding.status.as_str(),
        report.finding_text(finding)
    );
    // A rule that reads usage: what uses the image, ids capped like the images.
    if let Some(evidence) = report.usage_evidence(finding) {
        text.push_str(&format!(" (usage: {})", evidence.text(MAX_LISTED)));
    }
    escape(&text).into_owned()
}

fn listing(report: &Report<'_>, findings: &[&Finding]) -> String {
    let mut text = String::new();
    for finding in findings.iter().take(MAX_LISTED) {
        let _ = writeln!(text, "{}", line(report, finding));
    }
    if findings.len() > MAX_LISTED {
        let _ = writeln!(text, "… and {} more", findings.len() - MAX_LISTED);
    }
    text
}

/// Everything about the rule that does not fail it.
fn system_out(report: &Report<'_>, findings: &[&Finding]) -> String {
    let mut text = String::new();
    let set_aside: Vec<&Finding> = findings
        .iter()
        .copied()
        .filter(|f| !report.is_failing(f))
        .collect();
    for finding in set_aside.iter().take(MAX_LISTED) {
        let _ = write!(text, "{}", line(report, finding));
        match finding.status {
            Status::Waived => {
                if let Some(waiver) = finding.waiver.and_then(|i| report.policy.waivers.get(i)) {
                    let _ = write!(text, "\n  waiver: {}", escape(&waiver.reason));
                    if let Some(owner) = &waiver.owner {
                        let _ = write!(text, " (owner {})", escape(owner));
                    }
                    if let Some((date, _)) = &waiver.expires {
                        let _ = write!(text, " (until {date})");
                    }
                }
            }
            Status::Baselined => text.push_str("\n  recorded in the baseline: not failing"),
            Status::Grace => {
                let _ = write!(text, "\n  in grace: not failing yet");
                if let Some(ends) = report.grace_ends(finding) {
                    let _ = write!(text, " (fails from {})", report.run.zone.format(ends));
                }
            }
            _ => {
                let _ = write!(
                    text,
                    "\n  not failing under --fail-on {}",
                    report.run.fail_on.as_str()
                );
            }
        }
        text.push('\n');
    }
    if set_aside.len() > MAX_LISTED {
        let _ = writeln!(text, "… and {} more", set_aside.len() - MAX_LISTED);
    }
    text
}
