//! First seen and grace: what a history knows, handed to evaluation as plain
//! data ([`OpenSince`]), never as a database. Each finding gets the start of
//! its streak (`first_seen`); a violation of a rule with `grace` that is
//! younger than the grace period becomes `grace` (reported, not failing).
//! Without a history a grace period cannot be known, so such violations keep
//! failing (fail-closed) and a warning says so.

use std::collections::HashMap;

use jiff::Timestamp;

use super::model::{Finding, Status};
use crate::diag::{Code, Diag};
use crate::image::ImageSet;
use crate::policy::PolicySet;

/// Since when each (rule id, ImageId) has been failing without a gap, as the
/// recorded runs of one account say (docs/history.md, "Streaks"). A key that
/// is absent has no open streak: a finding for it is new in this run.
#[derive(Debug, Clone, Default)]
pub struct OpenSince {
    rules: HashMap<String, RuleStreaks>,
}

/// One rule's streaks. Compact on purpose: a history of a large account
/// holds one entry per failing image (hundreds of thousands), so an entry is
/// a boxed ImageId and Unix seconds, not a `String` and a `Timestamp`.
#[derive(Debug, Clone, Default)]
struct RuleStreaks {
    images: HashMap<Box<str>, i64>,
    set_level: Option<Timestamp>,
}

impl OpenSince {
    pub fn new() -> Self {
        Self::default()
    }

    /// Record that `rule` has failed for `image` (`None`: set-level) since `at`.
    pub fn insert(&mut self, rule: &str, image: Option<&str>, at: Timestamp) {
        // Look up before allocating: a history inserts thousands of
        // findings of a few rules.
        if !self.rules.contains_key(rule) {
            self.rules.insert(rule.to_owned(), RuleStreaks::default());
        }
        let Some(streaks) = self.rules.get_mut(rule) else {
            return;
        };
        match image {
            Some(id) => {
                streaks.images.insert(id.into(), at.as_second());
            }
            None => streaks.set_level = Some(at),
        }
    }

    /// Forget the streak of `rule` for `image`.
    pub fn remove(&mut self, rule: &str, image: Option<&str>) -> Option<Timestamp> {
        let streaks = self.rules.get_mut(rule)?;
        match image {
            Some(id) => streaks
                .images
                .remove(id)
                .and_then(|at| Timestamp::from_second(at).ok()),
            None => streaks.set_level.take(),
        }
    }

    /// Forget every per-image streak of `image` (a run that checked the image
    /// and is about to say which rules it fails now).
    pub fn remove_image(&mut self, image: &str) {
        for streaks in self.rules.values_mut() {
            streaks.images.remove(image);
        }
    }

    /// Keep only the per-image streaks whose ImageId `keep` accepts
    /// (set-level streaks are kept).
    pub fn retain_images(&mut self, mut keep: impl FnMut(&str) -> bool) {
        for streaks in self.rules.values_mut() {
            streaks.images.retain(|image, _| keep(image));
        }
    }

    /// Forget everything.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn get(&self, rule: &str, image: Option<&str>) -> Option<Timestamp> {
        let streaks = self.rules.get(rule)?;
        match image {
            Some(id) => streaks
                .images
                .get(id)
                .and_then(|at| Timestamp::from_second(*at).ok()),
            None => streaks.set_level,
        }
    }

    /// Every open streak: `(rule id, ImageId or None, first seen)`, in no
    /// particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>, Timestamp)> + '_ {
        self.rules.iter().flat_map(|(rule, streaks)| {
            streaks
                .images
                .iter()
                .filter_map(move |(image, at)| {
                    let at = Timestamp::from_second(*at).ok()?;
                    Some((rule.as_str(), Some(&**image), at))
                })
                .chain(streaks.set_level.map(|at| (rule.as_str(), None, at)))
        })
    }

    pub fn len(&self) -> usize {
        self.rules
            .values()
            .map(|s| s.images.len() + usize::from(s.set_level.is_some()))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Set `first_seen` on every finding (with a history) and turn young
/// violations of rules with `grace` into `grace`. Runs after waivers and the
/// baseline: what they set aside is not a violation any more, and keeps its
/// status. Returns the warnings for grace periods that cannot be known.
pub(crate) fn apply(
    policy: &PolicySet,
    images: &ImageSet,
    now: Timestamp,
    history: Option<&OpenSince>,
    findings: &mut [Finding],
) -> Vec<Diag> {
    let Some(history) = history else {
        return unknown_grace_warnings(policy, findings);
    };
    for finding in findings.iter_mut() {
        let rule = &policy.rules[finding.rule];
        let image = finding.image.and_then(|i| images.images()[i].id());
        // A finding without a recorded streak starts one now. (An image
        // without an ImageId cannot be keyed, so it is always new; the
        // sources refuse such images anyway.)
        let first_seen = match finding.image {
            Some(_) if image.is_none() => now,
            _ => history.get(&rule.id, image).unwrap_or(now),
        };
        finding.first_seen = Some(first_seen);
        if finding.status == Status::Violation
            && let Some(grace) = &rule.grace
            && grace.covers(first_seen)
        {
            finding.status = Status::Grace;
        }
    }
    Vec::new()
}

/// One warning per rule with `grace` that has violations the grace period
/// would have been asked about: they fail at once.
fn unknown_grace_warnings(policy: &PolicySet, findings: &[Finding]) -> Vec<Diag> {
    let mut counts = vec![0usize; policy.rules.len()];
    for finding in findings {
        if finding.status == Status::Violation && policy.rules[finding.rule].grace.is_some() {
            counts[finding.rule] += 1;
        }
    }
    policy
        .rules
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .filter_map(|(rule, n)| {
            let grace = rule.grace.as_ref()?;
            let what = if n == 1 {
                "its violation fails".to_owned()
            } else {
                format!("its {n} violations fail")
            };
            Some(
                Diag::warning(
                    Code::GraceWithoutHistory,
                    format!(
                        "rule `{}` has `grace: {}`, but without --history no violation's age is known: {what} at once",
                        rule.id, grace.duration
                    ),
                )
                .at(&grace.origin.file, grace.origin.span, "needs --history")
                .with_help("record runs with `ecmguard check --history FILE` (a SQLite file) or a postgres:// URL, so new violations get their grace period"),
            )
        })
        .collect()
}
