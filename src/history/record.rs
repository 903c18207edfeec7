//! What a check records: its report turned into a [`RunRecord`] — run
//! metadata, counts, one row per finding, one per rule. Only what the report
//! already shows goes in: no credential, token or connection string can reach
//! the database through here (the endpoint and filters come from the
//! provenance, which holds none).

use sha2::{Digest, Sha256};

use super::account::Fingerprint;
use super::store::{Counts, FindingSource, NewFinding, RuleCountRecord, RunRecord};
use crate::policy::PolicySet;
use crate::report::Report;
use crate::source::Provenance;

/// What a run checked, for streaks: the whole account, or a selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    WholeAccount,
    /// `--image`, `--filter`, or a snapshot fetched with filters: the
    /// ImageIds that were checked.
    Selection(Vec<String>),
}

/// The record of a finished check.
pub(crate) fn run_record(report: &Report<'_>, account: &str, checked: Checked) -> RunRecord {
    let summary = report.summary();
    let policy = report.policy;
    let to_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let now = report.run.now.as_second();
    let rule_counts = policy
        .rules
        .iter()
        .zip(&report.evaluation.rules)
        .map(|(rule, result)| {
            let c = &result.counts;
            RuleCountRecord {
                rule: rule.id.clone(),
                severity: rule.severity.as_str().to_owned(),
                violations: to_i64(c.violations),
                indeterminate: to_i64(c.indeterminate),
                grace: to_i64(c.grace),
                waived: to_i64(c.waived),
                baselined: to_i64(c.baselined),
            }
        })
        .collect();
    let source = report.run.source.kind();
    let source_path = match &report.run.source {
        Provenance::Snapshot { path, .. } => Some(path.clone()),
        Provenance::Api { .. } => None,
    };
    let (narrowed, checked_images) = match checked {
        Checked::WholeAccount => (false, None),
        Checked::Selection(ids) => (true, Some(ids)),
    };
    RunRecord {
        time: now,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        account: account.to_owned(),
        source: source.to_owned(),
        source_path,
        endpoint: report.run.source.endpoint().map(str::to_owned),
        filters: report.run.source.filters().to_string(),
        policy_digest: policy_digest(policy),
        fail_on: report.run.fail_on.as_str().to_owned(),
        images: to_i64(summary.images),
        rules: to_i64(summary.rules),
        counts: Counts {
            violations_error: to_i64(summary.violations.error),
            violations_warning: to_i64(summary.violations.warning),
            violations_info: to_i64(summary.violations.info),
            indeterminate: to_i64(summary.indeterminate),
            grace: to_i64(summary.grace),
            waived: to_i64(summary.waived),
            baselined: to_i64(summary.baselined),
            failing: to_i64(summary.failing),
        },
        verdict: if summary.passed { "pass" } else { "fail" }.to_owned(),
        exit_code: i64::from(report.exit_code()),
        narrowed,
        checked_images,
        account_fingerprint: Fingerprint::of_images(report.images).to_stored(),
        rule_counts,
    }
}

/// A report's findings as the rows a run records, borrowed from the report
/// one at a time: a run with hundreds of thousands of findings is recorded
/// without a copy of them.
pub struct ReportFindings<'r, 'a>(pub &'r Report<'a>);

impl FindingSource for ReportFindings<'_, '_> {
    fn count(&self) -> usize {
        self.0.evaluation.findings.len()
    }

    /// In the order of the findings index, (rule id, ImageId): the rows
    /// then go to the end of the index in order rather than all over the
    /// run's part of it, so a run with hundreds of thousands of findings
    /// never rewrites an index page that SQLite's page cache has already
    /// spilled to the WAL. Evaluation gives them rule by rule; what is
    /// sorted is a `u32` per finding (never the findings), within each rule
    /// by ImageId, and the rules by id.
    fn each<'s>(&'s self, each: &mut dyn FnMut(NewFinding<'s>) -> bool) {
        let report = self.0;
        let now = report.run.now.as_second();
        let findings = &report.evaluation.findings;
        let image_of = |i: u32| {
            findings[i as usize]
                .image
                .and_then(|image| report.image(image).id())
        };
        let mut order: Vec<u32> = (0..u32::try_from(findings.len()).unwrap_or(u32::MAX)).collect();
        // Runs of one rule, each sorted by ImageId…
        let mut runs: Vec<(&str, std::ops::Range<usize>)> = Vec::new();
        let mut start = 0;
        while start < order.len() {
            let rule = findings[start].rule;
            let end = start
                + findings[start..]
                    .iter()
                    .take_while(|f| f.rule == rule)
                    .count();
            order[start..end].sort_unstable_by(|a, b| image_of(*a).cmp(&image_of(*b)));
            runs.push((report.rule(&findings[start]).id.as_str(), start..end));
            start = end;
        }
        // …taken in rule id order.
        runs.sort_by(|a, b| a.0.cmp(b.0));
        let sorted = runs
            .into_iter()
            .flat_map(|(_, range)| order[range].iter().copied())
            .map(|i| &findings[i as usize]);
        for finding in sorted {
            let rule = report.rule(finding);
            let row = NewFinding {
                rule: &rule.id,
                image: finding.image.and_then(|i| report.image(i).id()),
                status: finding.status.as_str(),
                severity: rule.severity.as_str(),
                message: &finding.message,
                first_seen: finding.first_seen.map_or(now, |at| at.as_second()),
            };
            if !each(row) {
                return;
            }
        }
    }
}

/// sha256 over the policy files' names and contents, in load order: two
/// runs with the same digest judged by the same rules.
pub fn policy_digest(policy: &PolicySet) -> String {
    let mut hasher = Sha256::new();
    for file in &policy.files {
        for part in [file.name().as_bytes(), file.text().as_bytes()] {
            // Length-prefixed, so no two different sets hash alike.
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
    }
    hex::encode(hasher.finalize())
}
