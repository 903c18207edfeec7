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

/// The record of a finished check, whose images have the owners `owners`
/// (`Fingerprint::of_images`, worked out once when the run was admitted).
pub(crate) fn run_record(
    report: &Report<'_>,
    account: &str,
    checked: Checked,
    owners: &Fingerprint,
) -> RunRecord {
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
        account_fingerprint: owners.to_stored(),
        rule_counts,
    }
}

/// A report's findings as the rows a run records, borrowed from the report
/// one at a time: a run with hundreds of thousands of findings is recorded
/// without a copy of them.
///
/// In the order of the findings index, (rule id, ImageId): the rows then go
/// to the end of the index in order rather than all over the run's part of
/// it, so a run with hundreds of thousands of findings never rewrites an
/// index page that SQLite's page cache has already spilled to the WAL. The
/// order is worked out once, as a `u32` per finding (never the findings
/// themselves): the images are ranked by ImageId once, and the findings
/// sorted by (rule id's rank, image's rank), integers only.
pub struct ReportFindings<'r, 'a> {
    report: &'r Report<'a>,
    order: Vec<u32>,
}

impl<'r, 'a> ReportFindings<'r, 'a> {
    pub fn new(report: &'r Report<'a>) -> Self {
        let findings = &report.evaluation.findings;
        let images = report.images.images();
        // Each image's place among the ImageIds, 1 on (a set-level finding,
        // without an image, sorts first, as NULL does in the index).
        let mut by_id: Vec<u32> = (0..u32::try_from(images.len()).unwrap_or(u32::MAX)).collect();
        by_id.sort_unstable_by(|a, b| images[*a as usize].id().cmp(&images[*b as usize].id()));
        let mut image_rank = vec![0u32; by_id.len()];
        for (rank, image) in by_id.into_iter().enumerate() {
            image_rank[image as usize] = u32::try_from(rank + 1).unwrap_or(u32::MAX);
        }
        let rules = &report.policy.rules;
        let mut by_rule: Vec<usize> = (0..rules.len()).collect();
        by_rule.sort_unstable_by(|a, b| rules[*a].id.cmp(&rules[*b].id));
        let mut rule_rank = vec![0u32; rules.len()];
        for (rank, rule) in by_rule.into_iter().enumerate() {
            rule_rank[rule] = u32::try_from(rank).unwrap_or(u32::MAX);
        }
        let key = |i: u32| {
            let finding = &findings[i as usize];
            let image = finding
                .image
                .and_then(|image| image_rank.get(image).copied())
                .unwrap_or(0);
            (u64::from(rule_rank[finding.rule]) << 32) | u64::from(image)
        };
        let mut order: Vec<u32> = (0..u32::try_from(findings.len()).unwrap_or(u32::MAX)).collect();
        // Unstable (no buffer beside the order), yet deterministic: equal
        // keys (the set-level findings of a rule) keep evaluation's order.
        order.sort_unstable_by_key(|i| (key(*i), *i));
        ReportFindings { report, order }
    }
}

impl FindingSource for ReportFindings<'_, '_> {
    fn count(&self) -> usize {
        self.order.len()
    }

    fn each<'s>(&'s self, each: &mut dyn FnMut(NewFinding<'s>) -> bool) {
        let report = self.report;
        let now = report.run.now.as_second();
        for &i in &self.order {
            let finding = &report.evaluation.findings[i as usize];
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
