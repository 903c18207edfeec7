//! Finding messages: the rule's template, or a default that names the failed
//! check, the actual value and the expected one (the missing field, for an
//! indeterminate result).

use jiff::Timestamp;

use super::model::Status;
use crate::image::Image;
use crate::policy::model::{Condition, Rule, Template, TemplatePart};

use super::condition::{Explanation, explain};

/// Set-level values for `{count}`, `{value}` and `{images}`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SetValues<'a> {
    pub count: Option<u64>,
    pub value: Option<&'a str>,
    /// The ImageIds, listed (only computed when the template asks for them).
    pub images: Option<&'a str>,
}

pub(crate) fn render(
    template: &Template,
    rule: &Rule,
    image: Option<&Image>,
    set: SetValues<'_>,
) -> String {
    let mut out = String::new();
    for part in &template.parts {
        match part {
            TemplatePart::Literal(text) => out.push_str(text),
            TemplatePart::Field(field) => match image {
                Some(image) => out.push_str(&image.display(*field)),
                None => out.push_str("<no image>"),
            },
            TemplatePart::RuleId => out.push_str(&rule.id),
            TemplatePart::RuleTitle => out.push_str(&rule.title),
            TemplatePart::Count => {
                out.push_str(&set.count.map(|c| c.to_string()).unwrap_or_default())
            }
            TemplatePart::Value => out.push_str(set.value.unwrap_or_default()),
            TemplatePart::Images => out.push_str(set.images.unwrap_or_default()),
        }
    }
    out
}

pub(crate) fn for_image(
    rule: &Rule,
    condition: &Condition,
    image: &Image,
    status: Status,
    now: Timestamp,
) -> String {
    let mut explanation = Explanation::default();
    explain(condition, image, true, now, &mut explanation);
    let unknown_part = || {
        let mut parts: Vec<String> = explanation
            .missing
            .iter()
            .map(|f| format!("{f} is missing"))
            .collect();
        parts.extend(explanation.unreadable.iter().map(|(f, raw)| {
            format!("{f} {raw:?} could not be read (expected YYYY-MM-DD hh:mm:ss)")
        }));
        parts.join("; ")
    };
    match (&rule.message, status) {
        (Some(template), Status::Indeterminate) => {
            format!(
                "{} (indeterminate: {})",
                render(template, rule, Some(image), SetValues::default()),
                unknown_part()
            )
        }
        (Some(template), _) => render(template, rule, Some(image), SetValues::default()),
        (None, Status::Indeterminate) => format!("cannot be decided: {}", unknown_part()),
        (None, _) => {
            if explanation.failed.is_empty() {
                // Only reachable if explanation and evaluation disagree.
                "the assertion does not hold".to_owned()
            } else {
                explanation.failed.join("; ")
            }
        }
    }
}
