//! Waivers (docs/policy-language.md, "Waivers"): which findings each waiver covers, with hit tracking
//! for "matched nothing", and warnings for expired waivers.

use std::collections::HashSet;

use super::model::{Finding, Status};
use crate::diag::Code;
use crate::diag::Diag;
use crate::image::{Image, ImageSet};
use crate::policy::PolicySet;
use crate::policy::model::Waiver;

use super::condition::{Truth, eval};

/// Mark waived findings and return the waiver warnings. On a `narrowed`
/// selection, a waiver about nothing the selection holds is not in play:
/// neither unused nor expired-and-failing, and no warning is given for it.
pub(crate) fn apply(
    policy: &PolicySet,
    images: &ImageSet,
    findings: &mut [Finding],
    narrowed: bool,
) -> Vec<Diag> {
    let id_sets: Vec<Option<HashSet<&str>>> = policy
        .waivers
        .iter()
        .map(|w| {
            w.images
                .as_ref()
                .map(|ids| ids.iter().map(String::as_str).collect())
        })
        .collect();
    let mut hits = vec![0usize; policy.waivers.len()];
    let mut would_hit = vec![0usize; policy.waivers.len()];
    for finding in findings.iter_mut() {
        if !matches!(finding.status, Status::Violation | Status::Indeterminate) {
            continue;
        }
        let image = finding.image.map(|i| &images.images()[i]);
        for (index, waiver) in policy.waivers.iter().enumerate() {
            if !covers(waiver, id_sets[index].as_ref(), finding, image) {
                continue;
            }
            if waiver.expired {
                would_hit[index] += 1;
                continue;
            }
            finding.status = Status::Waived;
            finding.waiver = Some(index);
            hits[index] += 1;
            break;
        }
    }
    let mut warnings = Vec::new();
    for (index, waiver) in policy.waivers.iter().enumerate() {
        if narrowed
            && hits[index] + would_hit[index] == 0
            && !in_play(waiver, id_sets[index].as_ref(), images)
        {
            continue;
        }
        let origin = &waiver.origin;
        if let (true, Some((date, _))) = (waiver.expired, &waiver.expires) {
            let effect = match would_hit[index] {
                0 => "it matches no finding now either".to_owned(),
                1 => "1 finding it covered fails again".to_owned(),
                n => format!("{n} findings it covered fail again"),
            };
            warnings.push(
                Diag::warning(Code::WaiverExpired, format!("waiver expired on {date}: {effect}"))
                    .at(&origin.file, origin.span, "expired waiver")
                    .with_help("fix the findings, or renew the waiver with a new `expires` date and a current reason"),
            );
        } else if hits[index] == 0 {
            warnings.push(
                Diag::warning(Code::WaiverUnused, "waiver matched no finding")
                    .at(&origin.file, origin.span, "matched nothing")
                    .with_help("the problem it covered may be fixed: remove the waiver, or check its rule ids, images and `where`"),
            );
        }
    }
    warnings
}

/// On a narrowed selection: does the waiver concern any image the selection
/// holds? A set-level waiver never does (set-level rules are skipped).
fn in_play(waiver: &Waiver, ids: Option<&HashSet<&str>>, images: &ImageSet) -> bool {
    if waiver.is_set_level() {
        return false;
    }
    images.images().iter().any(|image| {
        ids.is_none_or(|ids| image.id().is_some_and(|id| ids.contains(id)))
            && waiver
                .scope
                .as_ref()
                .is_none_or(|scope| eval(scope, image) == Truth::True)
    })
}

/// Does the waiver cover this finding (ignoring expiry)? With both `images`
/// and `where`, both must hold: a waiver is as narrow as written.
fn covers(
    waiver: &Waiver,
    ids: Option<&HashSet<&str>>,
    finding: &Finding,
    image: Option<&Image>,
) -> bool {
    if !waiver.rules.contains(&finding.rule) {
        return false;
    }
    match image {
        None => waiver.is_set_level(),
        Some(image) => {
            if waiver.is_set_level() {
                return false;
            }
            if let Some(ids) = ids
                && !image.id().is_some_and(|id| ids.contains(id))
            {
                return false;
            }
            waiver
                .scope
                .as_ref()
                .is_none_or(|scope| eval(scope, image) == Truth::True)
        }
    }
}
