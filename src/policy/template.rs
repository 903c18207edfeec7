//! Message templates: `{ImageId} ({ImageName}) is too old`, with field
//! paths, `{rule.id}`, `{rule.title}`, and for set-level rules `{count}`,
//! `{value}` and `{images}`. `{{` and `}}` write literal braces.

use crate::diag::Code;
use crate::diag::did_you_mean;
use crate::image::Field;
use crate::policy::context::Cx;
use crate::policy::model::{Template, TemplatePart};
use crate::policy::read::Read;
use crate::policy::yaml::Node;
use crate::source_text::Span;

pub(crate) fn compile(cx: &mut Cx<'_>, node: &Node, set_level: bool) -> Option<Template> {
    compile_as(cx, node, set_level, "message")
}

/// A template of the rule's `what` (`message`, or a fix's `rename`/`describe`):
/// the same placeholders and renderer as messages, named as the user wrote it.
pub(crate) fn compile_as(
    cx: &mut Cx<'_>,
    node: &Node,
    set_level: bool,
    what: &str,
) -> Option<Template> {
    let text = cx.string(node, &format!("`{what}`"))?;
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = text.char_indices().peekable();
    let mut ok = true;
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let Some(close) = text[i..].find('}') else {
                    let diag = cx
                        .err(
                            Code::InvalidTemplate,
                            node.span,
                            format!("unclosed `{{` in {what}"),
                            format!("in this {what}"),
                        )
                        .with_help(
                            "close the placeholder with `}`, or write `{{` for a literal brace",
                        );
                    cx.push(diag);
                    return None;
                };
                let name = &text[i + 1..i + close];
                while chars.peek().is_some_and(|(j, _)| *j <= i + close) {
                    chars.next();
                }
                match placeholder(name, set_level) {
                    Ok(part) => {
                        if !literal.is_empty() {
                            parts.push(TemplatePart::Literal(std::mem::take(&mut literal)));
                        }
                        parts.push(part);
                    }
                    Err(help) => {
                        ok = false;
                        let span = inner_span(cx, node, &format!("{{{name}}}"));
                        let mut candidates: Vec<&str> =
                            Field::ALL.iter().map(|f| f.path()).collect();
                        candidates.extend(["rule.id", "rule.title"]);
                        if set_level {
                            candidates.extend(["count", "value", "images"]);
                        }
                        let diag = cx
                            .err(
                                Code::UnknownPlaceholder,
                                span,
                                format!("unknown placeholder `{{{name}}}` in {what}"),
                                "unknown placeholder",
                            )
                            .with_help(help)
                            .suggest(did_you_mean(name, candidates));
                        cx.push(diag);
                    }
                }
            }
            '}' => {
                ok = false;
                let diag = cx
                    .err(
                        Code::InvalidTemplate,
                        node.span,
                        format!("stray `}}` in {what}"),
                        format!("in this {what}"),
                    )
                    .with_help("write `}}` for a literal brace");
                cx.push(diag);
            }
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        parts.push(TemplatePart::Literal(literal));
    }
    ok.then_some(Template { parts })
}

fn placeholder(name: &str, set_level: bool) -> Result<TemplatePart, String> {
    match name {
        "rule.id" => Ok(TemplatePart::RuleId),
        "rule.title" => Ok(TemplatePart::RuleTitle),
        "count" | "value" | "images" if !set_level => Err(format!("`{{{name}}}` is only available in set-level (`expect`) rules; a per-image rule names its image with {{ImageId}}")),
        "count" => Ok(TemplatePart::Count),
        "value" => Ok(TemplatePart::Value),
        "images" => Ok(TemplatePart::Images),
        _ => Field::from_path(name)
            .map(TemplatePart::Field)
            .ok_or_else(|| "placeholders are field paths (like {ImageId}), {rule.id}, {rule.title}, and in set-level rules {count}, {value} and {images}".to_owned()),
    }
}

/// The span of `needle` inside the node's source text when it appears there
/// verbatim (plain or simply quoted scalars); else the whole node.
fn inner_span(cx: &Cx<'_>, node: &Node, needle: &str) -> Span {
    let text = cx.file.text();
    let end = node.span.end().min(text.len());
    let start = node.span.start.min(end);
    text.get(start..end)
        .and_then(|slice| slice.find(needle))
        .map_or(node.span, |offset| Span::new(start + offset, needle.len()))
}
