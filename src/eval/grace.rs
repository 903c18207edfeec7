//! First seen and grace: what a history knows, handed to evaluation as plain
//! data ([`OpenSince`]), never as a database. Each finding gets the start of
//! its streak (`first_seen`); a violation of a rule with `grace` that is
//! younger than the grace period becomes `grace` (reported, not failing).
//! Without a history a grace period cannot be known, so such violations keep
//! failing (fail-closed) and a warning says so.

use jiff::Timestamp;

use super::model::{Finding, Status};
use super::open_since::OpenSince;
use crate::diag::{Code, Diag};
use crate::image::ImageSet;
use crate::policy::PolicySet;

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
