//! The planner: `(PolicySet, Evaluation, ImageSet with its Usage) -> Plan`.
//! One action per `violation` of a rule with a `fix`; every fix it does not
//! plan is kept with a typed reason. When unsure, it does not act: a delete
//! needs `Usage.InUse` to be `false` (proven unused), only private images are
//! changed, a new value must fit the API's limits, and a new name must be
//! free (no other image has it, no other action takes it, and the run saw
//! the whole account, not a selection, so it could know).

use std::collections::HashMap;

use jiff::Timestamp;

use super::model::{
    Action, ActionKind, Kept, KeptReason, NotPlanned, Plan, SeenUsage, recorded_image,
};
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
            message: finding.message.to_string(),
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
    let seen = recorded_image(&images.images()[c.position]);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{EvalOptions, evaluate};
    use crate::policy::{CompileOptions, compile};
    use crate::source_text::SourceFile;
    use crate::time::ApiZone;
    use crate::usage::{Instance, Module, Usage, UsageSet};

    const NOW: &str = "2026-12-07T00:00:00+08:00";

    /// Rules with fixes; every image below is old (a violation of `old`).
    const POLICY: &str = r#"
rules:
  - id: old-unused
    title: old
    where: { ImageType: PRIVATE_IMAGE }
    assert: { ImageCreateTime: { newer_than: 90d } }
    fix: delete
  - id: lower
    title: lower-case names
    assert: { ImageName: { matches: "^[a-z0-9-]+$" } }
    fix: { rename: "{ImageName}-x" }
  - id: described
    title: described
    assert: { ImageDescription: { exists: true } }
    fix: { describe: "owner unknown, created {ImageCreateTime}" }
"#;

    fn image(id: &str, name: &str, ty: &str) -> serde_json::Value {
        serde_json::json!({"ImageId": id, "ImageName": name, "ImageType": ty,
            "ImageCreateTime": "2020-01-01 00:00:00", "ImageDescription": "d"})
    }

    fn made(
        policy: &str,
        images: Vec<serde_json::Value>,
        usage: Option<UsageSet>,
        selection: Option<&str>,
    ) -> Plan {
        let options = CompileOptions {
            now: NOW.parse().expect("time"),
            zone: ApiZone::default(),
            params: Vec::new(),
        };
        let loaded =
            compile(vec![SourceFile::new("p.yaml", policy)], &options).expect("a valid policy");
        let images = serde_json::from_value(serde_json::Value::Array(images)).expect("images");
        let mut images = ImageSet::new(images, &options.zone);
        if let Some(usage) = usage {
            images.attach_usage(Usage::new(usage));
        }
        let evaluation = evaluate(
            &loaded.policy,
            &images,
            EvalOptions {
                now: options.now,
                baseline: None,
                selection: None,
                history: None,
            },
        );
        let at: Timestamp = "2026-12-07T00:00:00Z".parse().expect("time");
        plan(
            &loaded.policy,
            &evaluation,
            &images,
            Context {
                tool_version: "test".into(),
                created_at: at,
                expires_at: at,
                evaluated_at: at,
                endpoint: None,
                account: None,
                policy_digest: String::new(),
                selection: selection.map(str::to_owned),
            },
        )
    }

    fn usage(instances: &[(&str, Option<&str>)], modules: &[(&str, &str)]) -> UsageSet {
        let instances: Vec<Instance> = instances
            .iter()
            .map(|(id, image)| Instance::new(id, "RUNNING", *image))
            .collect();
        let modules: Vec<Module> = modules
            .iter()
            .map(|(id, image)| Module::new(id, Some(image)))
            .collect();
        let (ni, nm) = (instances.len() as u64, modules.len() as u64);
        UsageSet::new(instances, ni, modules, nm).expect("usage")
    }

    fn reasons(plan: &Plan) -> Vec<(&str, &str, &KeptReason)> {
        plan.kept
            .iter()
            .map(|k| (k.image_id.as_str(), k.rule.as_str(), &k.reason))
            .collect()
    }

    const DELETE_ONLY: &str = "rules:\n  - id: old-unused\n    title: old\n    where: { ImageType: PRIVATE_IMAGE }\n    assert: { ImageCreateTime: { newer_than: 90d } }\n    fix: delete\n";

    #[test]
    fn a_delete_is_planned_only_for_an_image_proven_unused() {
        let images = vec![
            image("img-free", "a", "PRIVATE_IMAGE"),
            image("img-run", "b", "PRIVATE_IMAGE"),
            image("img-mod", "c", "PRIVATE_IMAGE"),
        ];
        let plan = made(
            DELETE_ONLY,
            images,
            Some(usage(&[("ein-1", Some("img-run"))], &[("em-1", "img-mod")])),
            None,
        );
        let ids: Vec<&str> = plan.actions.iter().map(|a| a.image_id.as_str()).collect();
        assert_eq!(ids, ["img-free"]);
        assert_eq!(plan.actions[0].usage, Some(SeenUsage::default()));
        assert_eq!(plan.actions[0].image["ImageName"], "a");
        assert_eq!(
            reasons(&plan),
            [
                (
                    "img-run",
                    "old-unused",
                    &KeptReason::InUse {
                        instances: vec!["ein-1".into()],
                        modules: vec![]
                    }
                ),
                (
                    "img-mod",
                    "old-unused",
                    &KeptReason::InUse {
                        instances: vec![],
                        modules: vec!["em-1".into()]
                    }
                ),
            ]
        );
    }

    #[test]
    fn no_delete_when_use_is_unknown_or_not_listed() {
        let images = vec![image("img-a", "a", "PRIVATE_IMAGE")];
        let plan = made(
            DELETE_ONLY,
            images.clone(),
            Some(usage(&[("ein-1", None)], &[])),
            None,
        );
        assert!(plan.actions.is_empty());
        assert!(matches!(
            plan.kept[0].reason,
            KeptReason::UnknownUse {
                unknown_image_instances: 1,
                ..
            }
        ));
        let plan = made(DELETE_ONLY, images, None, None);
        assert!(plan.actions.is_empty());
        assert_eq!(plan.kept[0].reason, KeptReason::UsageNotListed);
    }

    #[test]
    fn a_public_image_is_never_changed() {
        let policy = "rules:\n  - id: old\n    title: old\n    assert: { ImageCreateTime: { newer_than: 90d } }\n    fix: delete\n";
        let plan = made(
            policy,
            vec![image("img-pub", "a", "PUBLIC_IMAGE")],
            Some(usage(&[], &[])),
            None,
        );
        assert!(plan.actions.is_empty());
        assert_eq!(
            plan.kept[0].reason,
            KeptReason::NotPrivate {
                image_type: Some("PUBLIC_IMAGE".into())
            }
        );
    }

    #[test]
    fn only_violations_are_planned() {
        let policy = "rules:\n  - id: old\n    title: old\n    where: { ImageType: PRIVATE_IMAGE }\n    assert: { ImageCreateTime: { newer_than: 90d } }\n    fix: delete\nwaivers:\n  - rules: [old]\n    images: [img-w]\n    reason: kept\n";
        let mut no_time = image("img-u", "u", "PRIVATE_IMAGE");
        no_time["ImageCreateTime"] = serde_json::Value::Null;
        let plan = made(
            policy,
            vec![image("img-w", "w", "PRIVATE_IMAGE"), no_time],
            Some(usage(&[], &[])),
            None,
        );
        assert!(plan.actions.is_empty());
        assert_eq!(plan.not_planned.waived, 1);
        assert_eq!(plan.not_planned.indeterminate, 1);
    }

    #[test]
    fn renames_and_descriptions_within_the_apis_limits() {
        let images = vec![
            image("img-ok", "Short", "PRIVATE_IMAGE"),
            image("img-long", "ThisNameIsLongEnough", "PRIVATE_IMAGE"),
            // 19 CJK characters + "-x" = 21 characters: too long, though well under 60 bytes.
            image("img-cjk", &"镜".repeat(19), "PRIVATE_IMAGE"),
        ];
        let policy = "rules:\n  - id: lower\n    title: t\n    assert: { ImageName: { matches: \"^[a-z]+$\" } }\n    fix: { rename: \"{ImageName}-x\" }\n";
        let plan = made(policy, images, None, None);
        assert_eq!(plan.actions.len(), 1);
        assert_eq!(
            plan.actions[0].kind,
            ActionKind::Rename {
                to: "Short-x".into()
            }
        );
        assert_eq!(
            plan.kept[0].reason,
            KeptReason::TooLong {
                field: "ImageName".into(),
                chars: 22,
                limit: 20
            }
        );
        assert_eq!(
            plan.kept[1].reason,
            KeptReason::TooLong {
                field: "ImageName".into(),
                chars: 21,
                limit: 20
            }
        );
        let describe = "rules:\n  - id: d\n    title: t\n    assert: { ImageDescription: { eq: ok } }\n    fix: { describe: \"{ImageDescription}{ImageDescription}{ImageName}\" }\n";
        let mut long = image("img-d", &"n".repeat(61), "PRIVATE_IMAGE");
        long["ImageDescription"] = "".into();
        let plan = made(describe, vec![long], None, None);
        assert_eq!(
            plan.kept[0].reason,
            KeptReason::TooLong {
                field: "ImageDescription".into(),
                chars: 61,
                limit: 60
            }
        );
    }

    #[test]
    fn a_new_name_must_be_free() {
        let policy = "rules:\n  - id: lower\n    title: t\n    assert: { ImageName: { matches: \"^[a-z]+$\" } }\n    fix: { rename: \"{ImageName}x\" }\n  - id: fixed\n    title: t\n    assert: { ImageName: { matches: \"^[a-z]+$\" } }\n    fix: { rename: same }\n";
        let images = vec![
            image("img-a", "A", "PRIVATE_IMAGE"),
            image("img-taker", "Ax", "PRIVATE_IMAGE"),
            image("img-b", "B", "PRIVATE_IMAGE"),
        ];
        let plan = made(policy, images.clone(), None, None);
        let by_image = |id: &str, rule: &str| {
            plan.kept
                .iter()
                .find(|k| k.image_id == id && k.rule == rule)
                .map(|k| k.reason.clone())
        };
        // Two rules rename each image differently: a conflict, nothing done.
        assert!(matches!(
            by_image("img-b", "lower"),
            Some(KeptReason::Conflict { .. })
        ));
        assert!(plan.actions.is_empty(), "{:?}", plan.actions);
        // One rule giving two images one name: both kept.
        let collide = "rules:\n  - id: one-name\n    title: t\n    assert: { ImageName: { matches: \"^[a-z]+$\" } }\n    fix: { rename: \"same\" }\n";
        let plan = made(collide, images.clone(), None, None);
        assert!(plan.actions.is_empty());
        assert!(
            plan.kept
                .iter()
                .all(|k| matches!(k.reason, KeptReason::NameCollision { .. }))
        );
        let taken = "rules:\n  - id: x\n    title: t\n    assert: { ImageId: { eq: img-a } }\n    fix: { rename: \"Ax\" }\n";
        let plan = made(taken, images.clone(), None, None);
        assert!(plan.kept.iter().any(|k| k.image_id == "img-b"
            && k.reason
                == KeptReason::NameTaken {
                    by: "img-taker".into()
                }));
        // The image's own name: unchanged, nothing to do.
        assert!(
            plan.kept
                .iter()
                .any(|k| k.image_id == "img-taker"
                    && matches!(k.reason, KeptReason::Unchanged { .. }))
        );
        let plan = made(
            "rules:\n  - id: x\n    title: t\n    assert: { ImageName: { ne: A } }\n    fix: { rename: \"free\" }\n",
            images[..2].to_vec(),
            None,
            Some("--image img-taker"),
        );
        assert!(matches!(
            plan.kept[0].reason,
            KeptReason::NameUnverifiable { .. }
        ));
    }

    #[test]
    fn a_delete_makes_the_other_fixes_of_its_image_moot() {
        let plan = made(
            POLICY,
            vec![image("img-a", "Upper", "PRIVATE_IMAGE")],
            Some(usage(&[], &[])),
            None,
        );
        assert_eq!(plan.actions.len(), 1);
        assert_eq!(plan.actions[0].kind, ActionKind::Delete);
        assert_eq!(
            reasons(&plan),
            [(
                "img-a",
                "lower",
                &KeptReason::Deleted {
                    by_rule: "old-unused".into()
                }
            )]
        );
    }
}
