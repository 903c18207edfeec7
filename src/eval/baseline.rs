//! Baselines in evaluation: findings already recorded are marked
//! `baselined`, and recorded entries no finding matches are listed as fixed.
//! The file format that stores a baseline lives in `crate::baseline`.

use std::collections::HashSet;

use super::model::{Finding, FixedEntry, Status};
use crate::image::ImageSet;
use crate::policy::PolicySet;

/// One recorded finding: a rule id and an ImageId (none for set-level).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Entry {
    pub rule: String,
    pub image: Option<String>,
}

/// The recorded findings a run is compared with.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    pub entries: Vec<Entry>,
}

impl Baseline {
    /// The entries of every finding that fails or would fail (violations,
    /// indeterminate, violations still in grace, and ones already
    /// baselined), sorted and de-duplicated.
    pub fn of_findings(policy: &PolicySet, images: &ImageSet, findings: &[Finding]) -> Baseline {
        let mut entries: Vec<Entry> = findings
            .iter()
            .filter(|f| f.status.is_open() || matches!(f.status, Status::Baselined | Status::Grace))
            .filter_map(|f| entry(policy, images, f))
            .collect();
        entries.sort();
        entries.dedup();
        Baseline { entries }
    }

    /// Mark findings present in the baseline; return entries no finding
    /// matches. On a `narrowed` selection an entry about an image outside it
    /// (or a set-level entry) is not in play: not fixed, just not judged.
    pub(crate) fn apply(
        &self,
        policy: &PolicySet,
        images: &ImageSet,
        findings: &mut [Finding],
        narrowed: bool,
    ) -> Vec<FixedEntry> {
        let recorded: HashSet<&Entry> = self.entries.iter().collect();
        let mut seen: HashSet<Entry> = HashSet::new();
        for finding in findings.iter_mut() {
            let Some(key) = entry(policy, images, finding) else {
                continue;
            };
            if recorded.contains(&key) && finding.status.is_open() {
                finding.status = Status::Baselined;
            }
            seen.insert(key);
        }
        let checked: HashSet<&str> = if narrowed {
            images.images().iter().filter_map(|i| i.id()).collect()
        } else {
            HashSet::new()
        };
        let in_play =
            |e: &Entry| !narrowed || e.image.as_deref().is_some_and(|id| checked.contains(id));
        self.entries
            .iter()
            .filter(|e| !seen.contains(*e) && in_play(e))
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
