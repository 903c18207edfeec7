//! What a check records: its report turned into a [`RunRecord`] — run
//! metadata, counts, one row per finding, one per rule. Only what the report
//! already shows goes in: no credential, token or connection string can reach
//! the database through here (the endpoint and filters come from the
//! provenance, which holds none).

use std::cell::OnceCell;

use sha2::{Digest, Sha256};

use super::account::Fingerprint;
use super::store::{Counts, FindingSource, NewFinding, RuleCountRecord, RunRecord};
use crate::eval::open_since::common_prefix;
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
/// index page that SQLite's page cache has already spilled to the WAL.
///
/// The order is worked out when the rows are handed out ([`IndexOrder`]),
/// not before: by then the streaks the run continues have been struck off
/// and freed (`streak::settle`, which needs no order).
pub struct ReportFindings<'r, 'a> {
    report: &'r Report<'a>,
    order: OnceCell<IndexOrder>,
}

impl<'r, 'a> ReportFindings<'r, 'a> {
    pub fn new(report: &'r Report<'a>) -> Self {
        ReportFindings {
            report,
            order: OnceCell::new(),
        }
    }
}

/// The order of a report's findings in the index, worked out as integers
/// (never the findings themselves): the images are ranked by ImageId, their
/// ids copied in that order into one buffer, and each finding's place is a
/// `u64`, its image's rank above its own index, counting-sorted by rule and
/// then sorted within each rule. Handing the rows out then reads the ids in
/// order; only the findings themselves are read out of order.
struct IndexOrder {
    /// `rank << 32 | finding index`, in the order the rows are handed out;
    /// rank 0 is "no ImageId" (a set-level finding, or an image without
    /// one), which sorts first, as NULL does in the index.
    order: Vec<u64>,
    /// The ImageIds by rank (rank `r` is `ids[ends[r - 2]..ends[r - 1]]`,
    /// from 0 for rank 1).
    ids: String,
    ends: Vec<usize>,
}

impl IndexOrder {
    fn new(report: &Report<'_>) -> Self {
        let findings = &report.evaluation.findings;
        let images = report.images.images();
        let by_id = images_by_id(images);
        let mut ids = String::new();
        let mut ends = Vec::with_capacity(by_id.len());
        // An image without an ImageId ranks 0 with the set-level findings:
        // both are NULL in the index.
        let mut image_rank = vec![0u32; images.len()];
        for &image in &by_id {
            if let Some(id) = images[image as usize].id() {
                ids.push_str(id);
                ends.push(ids.len());
                image_rank[image as usize] = u32::try_from(ends.len()).unwrap_or(u32::MAX);
            }
        }
        drop(by_id);
        let rules = &report.policy.rules;
        let mut by_rule: Vec<usize> = (0..rules.len()).collect();
        by_rule.sort_unstable_by(|a, b| rules[*a].id.cmp(&rules[*b].id));
        let mut rule_rank = vec![0usize; rules.len()];
        for (rank, rule) in by_rule.into_iter().enumerate() {
            rule_rank[rule] = rank;
        }
        // Counting sort by rule rank (where each rule's rows start), then
        // each rule's rows sorted by (image rank, index): integers only, and
        // equal ranks (the set-level findings of a rule) keep evaluation's
        // order.
        let mut start = vec![0usize; rules.len() + 1];
        for finding in findings {
            start[rule_rank[finding.rule] + 1] += 1;
        }
        for r in 0..rules.len() {
            start[r + 1] += start[r];
        }
        let mut next = start.clone();
        let mut order = vec![0u64; findings.len()];
        for (index, finding) in findings.iter().enumerate() {
            let rank = finding
                .image
                .and_then(|image| image_rank.get(image).copied())
                .unwrap_or(0);
            let slot = &mut next[rule_rank[finding.rule]];
            order[*slot] = (u64::from(rank) << 32) | index as u64;
            *slot += 1;
        }
        for r in 0..rules.len() {
            order[start[r]..start[r + 1]].sort_unstable();
        }
        IndexOrder { order, ids, ends }
    }

    /// The ImageId of rank `rank` (0: none).
    fn id(&self, rank: u32) -> Option<&str> {
        let rank = usize::try_from(rank).ok()?.checked_sub(1)?;
        let end = *self.ends.get(rank)?;
        let start = rank.checked_sub(1).map_or(0, |r| self.ends[r]);
        self.ids.get(start..end)
    }
}

/// The images' positions ordered by ImageId (an image without one first).
/// Compared by the first eight bytes after the prefix every id shares, as
/// one integer (the byte order, for ids that differ there), and by the
/// whole id only where those are equal: a sort of integers, not of strings
/// all over memory.
fn images_by_id(images: &[crate::image::Image]) -> Vec<u32> {
    let id = |i: u32| images[i as usize].id();
    let shared = images
        .iter()
        .filter_map(|image| image.id())
        .fold(None::<&str>, |common, id| {
            Some(common.map_or(id, |common| &common[..common_prefix(common, id)]))
        })
        .map_or(0, str::len);
    let key = |i: u32| {
        let mut bytes = [0u8; 8];
        if let Some(rest) = id(i).and_then(|id| id.as_bytes().get(shared..)) {
            let n = rest.len().min(8);
            bytes[..n].copy_from_slice(&rest[..n]);
        }
        u64::from_be_bytes(bytes)
    };
    let count = u32::try_from(images.len()).unwrap_or(u32::MAX);
    let mut keyed: Vec<(u64, u32)> = (0..count).map(|i| (key(i), i)).collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| id(a.1).cmp(&id(b.1))));
    keyed.into_iter().map(|(_, i)| i).collect()
}

impl FindingSource for ReportFindings<'_, '_> {
    fn count(&self) -> usize {
        self.report.evaluation.findings.len()
    }

    fn each<'s>(&'s self, each: &mut dyn FnMut(NewFinding<'s>) -> bool) {
        let report = self.report;
        let now = report.run.now.as_second();
        let order = self.order.get_or_init(|| IndexOrder::new(report));
        for &place in &order.order {
            let finding = &report.evaluation.findings[(place & u64::from(u32::MAX)) as usize];
            let rule = report.rule(finding);
            let row = NewFinding {
                rule: &rule.id,
                image: order.id((place >> 32) as u32),
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

    /// In evaluation's order: the findings and their images read in order.
    fn each_key<'s>(&'s self, each: &mut dyn FnMut(&'s str, Option<&'s str>)) {
        let report = self.report;
        for finding in &report.evaluation.findings {
            let image = finding.image.and_then(|i| report.image(i).id());
            each(&report.rule(finding).id, image);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{EvalOptions, FailOn, Verdict, evaluate};
    use crate::image::{Image, ImageSet};
    use crate::policy::{CompileOptions, compile};
    use crate::report::RunInfo;
    use crate::source::snapshot::Shape;
    use crate::source_text::SourceFile;
    use crate::time::ApiZone;

    /// Ids that tie in the integer part of the order (shared prefix, same
    /// next eight bytes, one a prefix of another, NUL bytes, characters of
    /// several bytes, the empty id) and images without an ImageId.
    fn ids(seed: u64) -> Vec<Option<String>> {
        let alphabet = ["a", "b", "\0", "é", "è", "z", "0"];
        let mut state = seed;
        let mut next = move |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        (0..300)
            .map(|_| match next(20) {
                0 => None,
                1 => Some(String::new()),
                _ => {
                    let len = next(14);
                    let rest: String = (0..len).map(|_| alphabet[next(7) as usize]).collect();
                    Some(format!("img-{rest}"))
                }
            })
            .collect()
    }

    #[test]
    fn rows_come_in_the_index_order_and_keys_cover_every_finding() {
        let yaml = "rules:\n  - id: zeta\n    title: Z\n    assert: { ImageSize: { gte: 10 } }\n  - id: alpha\n    title: A\n    assert: { ImageSize: { gte: 20 } }\n  - id: mid\n    title: M\n    expect: { count: { gte: 1000 } }\n";
        let now = jiff::Timestamp::from_second(1_800_000_000).expect("time");
        let options = CompileOptions {
            now,
            zone: ApiZone::default(),
            params: Vec::new(),
        };
        let policy = compile(vec![SourceFile::new("p.yaml", yaml)], &options)
            .expect("policy")
            .policy;
        for seed in 0..20 {
            let images: Vec<Image> = ids(seed)
                .into_iter()
                .enumerate()
                .map(|(n, id)| {
                    let mut image = serde_json::json!({ "ImageSize": n % 30 });
                    if let Some(id) = id {
                        image["ImageId"] = id.into();
                    }
                    serde_json::from_value(image).expect("image")
                })
                .collect();
            let images = ImageSet::new(images, &ApiZone::default());
            let evaluation = evaluate(
                &policy,
                &images,
                EvalOptions {
                    now,
                    baseline: None,
                    selection: None,
                    history: None,
                },
            );
            let report = Report {
                policy: &policy,
                images: &images,
                run: RunInfo {
                    now,
                    zone: ApiZone::default(),
                    source: Provenance::Snapshot {
                        path: "s.json".into(),
                        shape: Shape::Ecmguard,
                        assumed_complete: false,
                        fetched_at: None,
                        endpoint: None,
                        filters: None,
                    },
                    fail_on: FailOn::Error,
                    verdict: Verdict::Fail,
                    exit_code: 1,
                    duration_seconds: 0.0,
                    duplicates_dropped: 0,
                    baseline: None,
                    root: None,
                },
                evaluation,
            };
            // The order by its definition: (rule id, ImageId), evaluation's
            // order among equals; an image without an id has none in its row.
            let findings = &report.evaluation.findings;
            let mut expected: Vec<usize> = (0..findings.len()).collect();
            expected.sort_by(|a, b| {
                let key = |i: usize| {
                    let f = &findings[i];
                    (
                        &report.rule(f).id,
                        f.image.and_then(|i| report.image(i).id()),
                    )
                };
                key(*a).cmp(&key(*b)).then(a.cmp(b))
            });
            let expected: Vec<(String, Option<String>, String)> = expected
                .into_iter()
                .map(|i| {
                    let f = &findings[i];
                    (
                        report.rule(f).id.to_string(),
                        f.image
                            .and_then(|i| report.image(i).id())
                            .map(str::to_owned),
                        f.message.to_string(),
                    )
                })
                .collect();
            assert!(
                expected.len() > 200,
                "seed {seed}: {} findings",
                expected.len()
            );
            let rows = ReportFindings::new(&report);
            let mut got = Vec::new();
            rows.each(&mut |row| {
                got.push((
                    row.rule.to_owned(),
                    row.image.map(str::to_owned),
                    row.message.to_owned(),
                ));
                true
            });
            assert_eq!(got, expected, "seed {seed}");
            let mut keys = Vec::new();
            rows.each_key(&mut |rule, image| {
                keys.push((rule.to_owned(), image.map(str::to_owned)))
            });
            let mut expected_keys: Vec<_> = expected.into_iter().map(|(r, i, _)| (r, i)).collect();
            keys.sort();
            expected_keys.sort();
            assert_eq!(keys, expected_keys, "seed {seed}");
        }
    }
}
