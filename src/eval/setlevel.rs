//! Set-level rules (`expect`): `count` over the images in scope, and
//! `unique` paths, one finding per duplicated value.

use std::collections::HashMap;

use super::model::{Duplicate, Finding, RuleCounts, Status};
use crate::image::{Field, ImageSet, Value};
use crate::policy::model::{Expectation, Rule};

use super::condition::{Truth, eval};
use super::message::{SetValues, render};

/// How many image ids a default `unique` message lists.
const LISTED: usize = 10;

pub(crate) fn evaluate(
    index: usize,
    rule: &Rule,
    expectation: &Expectation,
    images: &ImageSet,
    findings: &mut Vec<Finding>,
) -> RuleCounts {
    let in_scope: Vec<usize> = images
        .images()
        .iter()
        .enumerate()
        .filter(|(_, image)| {
            rule.scope
                .as_ref()
                .is_none_or(|scope| eval(scope, image) == Truth::True)
        })
        .map(|(i, _)| i)
        .collect();
    let count = in_scope.len() as u64;

    let failed: Vec<_> = expectation
        .count
        .iter()
        .filter(|test| !test.holds(count))
        .collect();
    if !failed.is_empty() {
        let expected: Vec<String> = expectation
            .count
            .iter()
            .map(|t| format!("{} {}", t.op.symbol(), t.value))
            .collect();
        let message = match &rule.message {
            Some(template) => render(
                template,
                rule,
                None,
                SetValues {
                    count: Some(count),
                    value: None,
                    images: template
                        .lists_images()
                        .then(|| id_list(images, &in_scope))
                        .as_deref(),
                },
            ),
            None if count == 0 => format!(
                "no image matched: count is 0, expected {}",
                expected.join(" and ")
            ),
            None => format!(
                "{} matched, expected {}",
                crate::text::count(count, "image", "images"),
                expected.join(" and ")
            ),
        };
        findings.push(Finding {
            rule: index,
            status: Status::Violation,
            image: None,
            message: message.into_boxed_str(),
            waiver: None,
            duplicate: None,
            first_seen: None,
        });
    }

    if !expectation.unique.is_empty() {
        for (value, members) in duplicates(&expectation.unique, images, &in_scope) {
            let message = match &rule.message {
                Some(template) => render(
                    template,
                    rule,
                    None,
                    SetValues {
                        count: Some(members.len() as u64),
                        value: Some(&value),
                        images: template
                            .lists_images()
                            .then(|| id_list(images, &members))
                            .as_deref(),
                    },
                ),
                None => {
                    let paths: Vec<&str> = expectation.unique.iter().map(|f| f.path()).collect();
                    format!(
                        "{} {value} is shared by {} images: {}",
                        paths.join(" + "),
                        members.len(),
                        id_list(images, &members)
                    )
                }
            };
            findings.push(Finding {
                rule: index,
                status: Status::Violation,
                image: None,
                message: message.into_boxed_str(),
                waiver: None,
                duplicate: Some(Box::new(Duplicate {
                    value,
                    images: members,
                })),
                first_seen: None,
            });
        }
    }
    RuleCounts {
        in_scope: in_scope.len(),
        ..RuleCounts::default()
    }
}

/// `img-a, img-b, img-c`: the ImageIds of `members`, at most [`LISTED`],
/// then ` and N more` (the `related_images` of the finding hold them all).
fn id_list(images: &ImageSet, members: &[usize]) -> String {
    let ids: Vec<&str> = members
        .iter()
        .take(LISTED)
        .map(|&i| images.images()[i].id().unwrap_or("<no ImageId>"))
        .collect();
    let mut list = ids.join(", ");
    let more = members.len().saturating_sub(LISTED);
    if more > 0 {
        list.push_str(&format!(" and {more} more"));
    }
    list
}

/// Groups of two or more in-scope images with equal values on every path,
/// in order of first appearance. An image missing any path takes no part.
fn duplicates(paths: &[Field], images: &ImageSet, in_scope: &[usize]) -> Vec<(String, Vec<usize>)> {
    let mut groups: HashMap<Vec<Key<'_>>, usize> = HashMap::new();
    let mut ordered: Vec<(Vec<Key<'_>>, Vec<usize>)> = Vec::new();
    for &i in in_scope {
        let image = &images.images()[i];
        let key: Option<Vec<Key<'_>>> = paths.iter().map(|f| Key::of(image.get(*f))).collect();
        let Some(key) = key else { continue };
        match groups.get(&key) {
            Some(&slot) => ordered[slot].1.push(i),
            None => {
                groups.insert(key.clone(), ordered.len());
                ordered.push((key, vec![i]));
            }
        }
    }
    ordered
        .into_iter()
        .filter(|(_, members)| members.len() > 1)
        .map(|(key, members)| {
            let shown: Vec<String> = key.iter().map(Key::display).collect();
            (shown.join(", "), members)
        })
        .collect()
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Time(jiff::Timestamp),
}

impl<'a> Key<'a> {
    fn of(value: Value<'a>) -> Option<Key<'a>> {
        match value {
            Value::Str(s) => Some(Key::Str(s)),
            Value::Int(i) => Some(Key::Int(i)),
            Value::Bool(b) => Some(Key::Bool(b)),
            Value::Time(t) => Some(Key::Time(t)),
            Value::Missing | Value::Unreadable(_) => None,
        }
    }

    fn display(&self) -> String {
        match self {
            Key::Str(s) => format!("{s:?}"),
            Key::Int(i) => i.to_string(),
            Key::Bool(b) => b.to_string(),
            Key::Time(t) => t.to_string(),
        }
    }
}
