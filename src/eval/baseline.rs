//! Baselines (SPEC 5.3): record the current findings, and mark findings
//! already recorded as `baselined`, listing entries that are now fixed.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::diag::Diag;
use crate::failure::Failure;
use crate::image::ImageSet;
use crate::policy::PolicySet;
use crate::policy::codes::Code;
use crate::report::{Finding, FixedEntry, Status};

pub const BASELINE_SCHEMA: &str = "ecmguard/baseline/v1";

/// One recorded finding: a rule id and an ImageId (none for set-level).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub rule: String,
    pub image: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Baseline {
    pub schema: String,
    pub entries: Vec<Entry>,
}

impl Baseline {
    /// Record every finding that fails or would fail (violations,
    /// indeterminate, and ones already baselined), sorted and de-duplicated.
    pub fn record(policy: &PolicySet, images: &ImageSet, findings: &[Finding]) -> Baseline {
        let mut entries: Vec<Entry> = findings
            .iter()
            .filter(|f| {
                matches!(
                    f.status,
                    Status::Violation | Status::Indeterminate | Status::Baselined
                )
            })
            .filter_map(|f| entry(policy, images, f))
            .collect();
        entries.sort();
        entries.dedup();
        Baseline {
            schema: BASELINE_SCHEMA.to_owned(),
            entries,
        }
    }

    pub fn read(name: &str, bytes: &[u8]) -> Result<Baseline, Failure> {
        let baseline: Baseline = serde_json::from_slice(bytes).map_err(|e| {
            Failure::invalid([Diag::error(
                Code::SnapshotJson,
                format!("{name}:{}:{}: invalid baseline: {e}", e.line(), e.column()),
            )
            .with_help(
                "a baseline is the JSON file written by `ecmguard check --write-baseline FILE`",
            )])
        })?;
        if baseline.schema != BASELINE_SCHEMA {
            return Err(Failure::invalid([Diag::error(
                Code::SnapshotShape,
                format!(
                    "{name}: baseline schema is `{}`; this ecmguard reads `{BASELINE_SCHEMA}`",
                    baseline.schema
                ),
            )]));
        }
        Ok(baseline)
    }

    /// Mark findings present in the baseline; return entries no finding matches.
    pub(crate) fn apply(
        &self,
        policy: &PolicySet,
        images: &ImageSet,
        findings: &mut [Finding],
    ) -> Vec<FixedEntry> {
        let recorded: HashSet<&Entry> = self.entries.iter().collect();
        let mut seen: HashSet<Entry> = HashSet::new();
        for finding in findings.iter_mut() {
            let Some(key) = entry(policy, images, finding) else {
                continue;
            };
            if recorded.contains(&key)
                && matches!(finding.status, Status::Violation | Status::Indeterminate)
            {
                finding.status = Status::Baselined;
            }
            seen.insert(key);
        }
        self.entries
            .iter()
            .filter(|e| !seen.contains(*e))
            .map(|e| FixedEntry {
                rule: e.rule.clone(),
                image: e.image.clone(),
            })
            .collect()
    }
}

/// The baseline key of a finding; images without an ImageId cannot be keyed.
fn entry(policy: &PolicySet, images: &ImageSet, finding: &Finding) -> Option<Entry> {
    let rule = policy.rules[finding.rule].id.clone();
    match finding.image {
        None => Some(Entry { rule, image: None }),
        Some(i) => images.images()[i].id().map(|id| Entry {
            rule,
            image: Some(id.to_owned()),
        }),
    }
}
