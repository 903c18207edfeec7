//! The planner: `(PolicySet, Evaluation, ImageSet with its Usage) -> Plan`.
//! One action per `violation` of a rule with a `fix`; every fix it does not
//! plan is kept with a typed reason. When unsure, it does not act: a delete
//! needs `Usage.InUse` to be `false` (proven unused), only private images are
//! changed, a new value must fit the API's limits, and a new name must be
//! free (no other image has it, no other action takes it, and the run saw
//! the whole account, not a selection, so it could know).

use std::collections::HashMap;

use jiff::Timestamp;

use super::model::{Action, ActionKind, Kept, KeptReason, NotPlanned, Plan, SeenUsage};
use crate::eval::message::{SetValues, render};
use crate::eval::{Evaluation, Status};
use crate::image::{Field, Image, ImageSet, Value};
use crate::policy::PolicySet;
use crate::policy::model::Fix;

/// Where and when a plan is made: what the plan file records besides its
/// actions. The command fills it in (the system clock, the endpoint, the
/// account fingerprint, the policy digest); the planner copies it.
#[derive(Debug, Clone)]
pub struct Context {
    pub tool_version: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub evaluated_at: Timestamp,
    pub endpoint: Option<String>,
    pub account: Option<String>,
    pub policy_digest: String,
    /// What narrowed the check, if anything: renames are then not planned
    /// (whether another image has the name cannot be known).
    pub selection: Option<String>,
}

/// A fix proposed by a violation, before the plan-wide checks.
struct Candidate {
    kind: ActionKind,
    position: usize,
    image_id: String,
    rule: String,
    message: String,
}

/// Make the plan.
pub fn plan(
    policy: &PolicySet,
    evaluation: &Evaluation,
    images: &ImageSet,
    context: Context,
) -> Plan {
    let mut not_planned = NotPlanned::default();
    let mut kept = Vec::new();
    let mut passing: Vec<Candidate> = Vec::new();
    for finding in &evaluation.findings {
        let rule = &policy.rules[finding.rule];
        let (Some(fix), Some(position)) = (&rule.fix, finding.image) else {
            continue;
        };
        match finding.status {
            Status::Violation => {}
            Status::Indeterminate => {
                not_planned.indeterminate += 1;
                continue;
            }
            Status::Waived => {
                not_planned.waived += 1;
                continue;
            }
            Status::Baselined => {
                not_planned.baselined += 1;
                continue;
            }
            Status::Grace => {
                not_planned.grace += 1;
                continue;
            }
        }
        let image = &images.images()[position];
        // Images without an id never reach evaluation (refused when read).
        let Some(image_id) = image.id() else { continue };
        let kind = match fix {
            Fix::Delete => ActionKind::Delete,
            Fix::Rename(t) => ActionKind::Rename {
                to: render(t, rule, Some(image), SetValues::default()),
            },
            Fix::Describe(t) => ActionKind::Describe {
                to: render(t, rule, Some(image), SetValues::default()),
            },
        };
        let candidate = Candidate {
            kind,
            position,
            image_id: image_id.to_owned(),
            rule: rule.id.clone(),
            message: finding.message.clone(),
        };
        match refusal(&candidate.kind, image, images, position) {
            Some(reason) => kept.push(keep(candidate, reason)),
            None => passing.push(candidate),
        }
    }
    let (passing, mut refused) = resolve_per_image(passing);
    let (passing, names_refused) = check_names(passing, images, context.selection.as_deref());
    refused.extend(names_refused);
    kept.extend(refused);
    let actions = passing.into_iter().map(|c| action(c, images)).collect();
    Plan {
        tool_version: context.tool_version,
        created_at: context.created_at,
        expires_at: context.expires_at,
        evaluated_at: context.evaluated_at,
        endpoint: context.endpoint,
        account: context.account,
        policy_digest: context.policy_digest,
        selection: context.selection,
        actions,
        kept,
        not_planned,
    }
}

fn keep(c: Candidate, reason: KeptReason) -> Kept {
    Kept {
        kind: c.kind,
        image_id: c.image_id,
        rule: c.rule,
        message: c.message,
        reason,
    }
}

fn action(c: Candidate, images: &ImageSet) -> Action {
    let image = &images.images()[c.position];
    let seen = match serde_json::to_value(image) {
        Ok(serde_json::Value::Object(map)) => map,
        // An image always serialises to an object; keep at least its id.
        _ => {
            let mut map = serde_json::Map::new();
            map.insert("ImageId".into(), c.image_id.clone().into());
            map
        }
    };
    Action {
        kind: c.kind,
        image_id: c.image_id,
        rule: c.rule,
        message: c.message,
        image: seen,
        usage: usage_of(images, c.position),
    }
}

fn usage_of(images: &ImageSet, position: usize) -> Option<SeenUsage> {
    images
        .used_by(position)
        .map(|(instances, modules)| SeenUsage {
            instances: instances.into_iter().map(str::to_owned).collect(),
            modules: modules.into_iter().map(str::to_owned).collect(),
        })
}

/// Why this one fix cannot be taken on this image, by itself.
fn refusal(
    kind: &ActionKind,
    image: &Image,
    images: &ImageSet,
    position: usize,
) -> Option<KeptReason> {
    match image.get(Field::ImageType) {
        Value::Str("PRIVATE_IMAGE") => {}
        other => {
            return Some(KeptReason::NotPrivate {
                image_type: match other {
                    Value::Str(s) => Some(s.to_owned()),
                    _ => None,
                },
            });
        }
    }
    if let ActionKind::Delete = kind {
        let (instances, modules) = usage_of(images, position)
            .map(|u| (u.instances, u.modules))
            .unwrap_or_default();
        return match image.get(Field::UsageInUse) {
            Value::Bool(false) => None,
            Value::Bool(true) => Some(KeptReason::InUse { instances, modules }),
            _ => match images.usage() {
                None => Some(KeptReason::UsageNotListed),
                Some(usage) => Some(KeptReason::UnknownUse {
                    instances,
                    modules,
                    unknown_image_instances: usage.unknown_image_instances(),
                }),
            },
        };
    }
    let (field, limit) = kind.field_limit()?;
    let to = kind.new_value()?;
    if to.trim().is_empty() {
        return Some(KeptReason::Empty {
            field: field.to_owned(),
        });
    }
    // The API counts characters, not bytes (a CJK name of 20 characters fits).
    let chars = to.chars().count();
    if chars > limit {
        return Some(KeptReason::TooLong {
            field: field.to_owned(),
            chars,
            limit,
        });
    }
    let current = Field::from_path(field).and_then(|f| image.raw_str(f));
    if current == Some(to) {
        return Some(KeptReason::Unchanged {
            field: field.to_owned(),
        });
    }
    None
}

/// At most one action per image and field: a delete makes every other fix
/// of its image moot; the same change from two rules is one action; two
/// rules that would set one field to different values are both kept (which
/// one is right is for a person to say). Returns the actions and the fixes kept.
fn resolve_per_image(candidates: Vec<Candidate>) -> (Vec<Candidate>, Vec<Kept>) {
    let mut by_image: HashMap<&str, Vec<usize>> = HashMap::new();
    for (n, c) in candidates.iter().enumerate() {
        by_image.entry(c.image_id.as_str()).or_default().push(n);
    }
    let mut verdict: Vec<Option<KeptReason>> = vec![None; candidates.len()];
    for group in by_image.values() {
        let delete = group
            .iter()
            .copied()
            .find(|&n| candidates[n].kind == ActionKind::Delete);
        for &n in group {
            let c = &candidates[n];
            if let Some(d) = delete {
                if n == d {
                    continue;
                }
                verdict[n] = Some(if c.kind == ActionKind::Delete {
                    KeptReason::Duplicate {
                        of_rule: candidates[d].rule.clone(),
                    }
                } else {
                    KeptReason::Deleted {
                        by_rule: candidates[d].rule.clone(),
                    }
                });
                continue;
            }
            let same_field: Vec<usize> = group
                .iter()
                .copied()
                .filter(|&m| m != n && candidates[m].kind.name() == c.kind.name())
                .collect();
            let differing: Vec<String> = same_field
                .iter()
                .filter(|&&m| candidates[m].kind != c.kind)
                .map(|&m| candidates[m].rule.clone())
                .collect();
            if !differing.is_empty() {
                verdict[n] = Some(KeptReason::Conflict { rules: differing });
            } else if let Some(&first) = same_field.iter().find(|&&m| m < n) {
                verdict[n] = Some(KeptReason::Duplicate {
                    of_rule: candidates[first].rule.clone(),
                });
            }
        }
    }
    split(candidates, verdict)
}

/// A rename's new name must be free: no other image of the account has it,
/// and no other action gives it to another image. On a selection the other
/// images are not known, so no rename is planned.
fn check_names(
    candidates: Vec<Candidate>,
    images: &ImageSet,
    selection: Option<&str>,
) -> (Vec<Candidate>, Vec<Kept>) {
    let mut taking: HashMap<&str, Vec<usize>> = HashMap::new();
    for (n, c) in candidates.iter().enumerate() {
        if let ActionKind::Rename { to } = &c.kind {
            taking.entry(to.as_str()).or_default().push(n);
        }
    }
    // Every image's name, once: a million images are scanned once, not per rename.
    let mut named: HashMap<&str, Vec<&str>> = HashMap::new();
    for image in images.images() {
        if let (Some(name), Some(id)) = (image.name(), image.id()) {
            named.entry(name).or_default().push(id);
        }
    }
    let mut verdict: Vec<Option<KeptReason>> = vec![None; candidates.len()];
    for (n, c) in candidates.iter().enumerate() {
        let ActionKind::Rename { to } = &c.kind else {
            continue;
        };
        verdict[n] = if let Some(selection) = selection {
            Some(KeptReason::NameUnverifiable {
                selection: selection.to_owned(),
            })
        } else if let Some(by) = named
            .get(to.as_str())
            .into_iter()
            .flatten()
            .find(|id| **id != c.image_id)
        {
            Some(KeptReason::NameTaken {
                by: (*by).to_owned(),
            })
        } else {
            let others: Vec<String> = taking
                .get(to.as_str())
                .into_iter()
                .flatten()
                .filter(|&&m| m != n)
                .map(|&m| candidates[m].image_id.clone())
                .collect();
            (!others.is_empty()).then_some(KeptReason::NameCollision { with: others })
        };
    }
    split(candidates, verdict)
}

fn split(
    candidates: Vec<Candidate>,
    verdict: Vec<Option<KeptReason>>,
) -> (Vec<Candidate>, Vec<Kept>) {
    let mut passing = Vec::new();
    let mut kept = Vec::new();
    for (c, reason) in candidates.into_iter().zip(verdict) {
        match reason {
            None => passing.push(c),
            Some(reason) => kept.push(keep(c, reason)),
        }
    }
    (passing, kept)
}
