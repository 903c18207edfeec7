//! Params (docs/policy-language.md, "Params"): definitions, `--param` overrides, and substitution of
//! `"${name}"` operands. Values are type-checked where they are used, so
//! substitution hands the value to the operand compiler with the usage span.

use std::sync::Arc;

use crate::diag::Code;
use crate::diag::{Diag, did_you_mean};
use crate::policy::context::{Cx, ParamSlot};
use crate::policy::model::{Origin, Param};
use crate::policy::yaml::{self, Node, NodeKind};
use crate::source_text::{SourceFile, Span};

/// An operand after substitution: the node to type-check (spanned at the
/// usage site) and the param it came from, for messages.
#[derive(Debug, Clone)]
pub(crate) struct Operand {
    pub node: Node,
    pub param: Option<String>,
}

impl Operand {
    /// ` (from param `x`)` for messages, or nothing.
    pub fn origin_note(&self) -> String {
        self.param
            .as_ref()
            .map(|p| format!(" (from param `{p}`)"))
            .unwrap_or_default()
    }
}

fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `${name}` as a whole string.
fn reference(text: &str) -> Option<&str> {
    text.strip_prefix("${")?
        .strip_suffix('}')
        .filter(|name| is_param_name(name))
}

/// Read one file's `params:` mapping. Definitions are collected from every
/// file before any rule is compiled, because params are global to the set.
pub(crate) fn define(
    cx: &mut Cx<'_>,
    node: &Node,
    defined: &mut Vec<Param>,
    origins: &mut Vec<(String, Origin)>,
) {
    let Some(entries) = node.as_map() else {
        cx.wrong_type(
            node,
            "`params`",
            "a mapping of param names to { default, description }",
        );
        return;
    };
    for (key, value) in entries {
        let Some(name) = key.as_str() else {
            cx.wrong_type(key, "a param name", "a string");
            continue;
        };
        if !is_param_name(name) {
            let diag = cx
                .err(
                    Code::InvalidParamName,
                    key.span,
                    format!("`{name}` is not a valid param name"),
                    "invalid name",
                )
                .with_help(
                    "param names are letters, digits and `_`, starting with a letter or `_`",
                );
            cx.push(diag);
            continue;
        }
        if let Some((_, first)) = origins.iter().find(|(n, _)| n == name) {
            let diag = Diag::error(
                Code::DuplicateParam,
                format!("param `{name}` is defined twice"),
            )
            .at(&cx.file, key.span, "defined again here")
            .with_help(format!(
                "the first definition is in {} at line {}; params are shared by all policy files",
                first.file.name(),
                first.line_col().line
            ));
            cx.push(diag);
            continue;
        }
        let origin = Origin {
            file: cx.file.clone(),
            span: key.span,
        };
        origins.push((name.to_owned(), origin.clone()));
        let Some(mapping) = cx.mapping(
            value,
            &format!("param `{name}`"),
            &["default", "description"],
        ) else {
            continue;
        };
        let description = mapping
            .get("description")
            .and_then(|d| cx.string(d, "`description`"));
        let default = mapping.get("default").cloned();
        let override_text = cx
            .options
            .params
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone());
        let (value, from_command_line) = match override_text {
            Some(text) => match command_line_value(name, &text) {
                Ok(pair) => (Some(pair), true),
                Err(diag) => {
                    cx.push(diag);
                    (None, true)
                }
            },
            None => (default.map(|node| (cx.file.clone(), node)), false),
        };
        if value.is_none() && !from_command_line {
            let diag = cx
                .err(
                    Code::MissingParamValue,
                    key.span,
                    format!("param `{name}` has no value"),
                    "no default",
                )
                .with_help(format!(
                    "give one with --param {name}=VALUE, or add `default:` to the param"
                ));
            cx.push(diag);
        }
        let shown = value
            .as_ref()
            .map(|(_, node)| display_value(node))
            .unwrap_or_default();
        defined.push(Param {
            name: name.to_owned(),
            description,
            value: shown,
            from_command_line,
            origin,
        });
        cx.params
            .insert(name.to_owned(), ParamSlot { value, used: false });
    }
}

/// A `--param` value is read as a YAML scalar or flow list, so `50` is an
/// integer, `true` a boolean, `[a, b]` a list and `90d` a string — the same
/// as if it were written as the default.
fn command_line_value(name: &str, text: &str) -> Result<(Arc<SourceFile>, Node), Diag> {
    let file = SourceFile::new(format!("--param {name}"), text.to_owned());
    if text.trim().is_empty() {
        return Ok((
            file,
            Node {
                span: Span::new(0, 0),
                kind: NodeKind::Str(String::new()),
            },
        ));
    }
    let node = yaml::parse(&file)?;
    if matches!(node.kind, NodeKind::Map(_)) {
        return Err(Diag::error(
            Code::OperandType,
            format!("--param {name}: a param value cannot be a mapping"),
        )
        .at(&file, node.span, "a mapping")
        .with_help("give a scalar (90d, 50, true) or a list ([Ubuntu, CentOS])"));
    }
    Ok((file, node))
}

fn display_value(node: &Node) -> String {
    match &node.kind {
        NodeKind::Str(s) => s.clone(),
        _ => node.display(),
    }
}

/// Check that every `--param` names a defined param, and warn about unused ones.
pub(crate) fn finish(cx: &mut Cx<'_>, defined: &[Param]) {
    for (name, _) in &cx.options.params {
        if !defined.iter().any(|p| &p.name == name) {
            let mut diag = Diag::error(
                Code::UnknownParamArgument,
                format!("--param {name}: no policy file defines a param `{name}`"),
            )
            .suggest(did_you_mean(name, defined.iter().map(|p| p.name.as_str())));
            if defined.is_empty() {
                diag = diag.with_help("define it under `params:` in a policy file");
            }
            cx.push(diag);
        }
    }
    for param in defined {
        let used = cx.params.get(&param.name).is_some_and(|slot| slot.used);
        if !used {
            let diag = Diag::warning(
                Code::UnusedParam,
                format!("param `{}` is never used", param.name),
            )
            .at(&param.origin.file, param.origin.span, "defined here")
            .with_help(format!(
                "reference it as \"${{{}}}\" in an operand, or remove it",
                param.name
            ));
            cx.push(diag);
        }
    }
}

/// Substitute a `"${name}"` operand. Returns `None` after reporting an error.
pub(crate) fn resolve(cx: &mut Cx<'_>, node: &Node) -> Option<Operand> {
    let Some(text) = node.as_str() else {
        return Some(Operand {
            node: node.clone(),
            param: None,
        });
    };
    let Some(name) = reference(text) else {
        if let Some(start) = text.find("${")
            && text[start..]
                .find('}')
                .is_some_and(|end| is_param_name(&text[start + 2..start + end]))
        {
            let diag = cx
                .warn(
                    Code::EmbeddedParam,
                    node.span,
                    "a `${…}` inside a longer string is not substituted",
                    "taken literally",
                )
                .with_help(
                    "params replace a whole operand: write the operand as \"${name}\" alone",
                );
            cx.push(diag);
        }
        return Some(Operand {
            node: node.clone(),
            param: None,
        });
    };
    let Some(slot) = cx.params.get_mut(name) else {
        let known: Vec<String> = cx.params.keys().cloned().collect();
        let diag = cx
            .err(
                Code::UnknownParam,
                node.span,
                format!("unknown param `{name}`"),
                "not defined",
            )
            .with_help("define it under `params:` in a policy file")
            .suggest(did_you_mean(name, known.iter().map(String::as_str)));
        cx.push(diag);
        return None;
    };
    slot.used = true;
    // A param without a value was already reported at its definition.
    let (_, value) = slot.value.as_ref()?;
    let mut node_value = value.clone();
    respan(&mut node_value, node.span);
    Some(Operand {
        node: node_value,
        param: Some(name.to_owned()),
    })
}

/// Point a substituted value (and its items) at the usage site.
fn respan(node: &mut Node, span: Span) {
    node.span = span;
    match &mut node.kind {
        NodeKind::Seq(items) => items.iter_mut().for_each(|item| respan(item, span)),
        NodeKind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            respan(k, span);
            respan(v, span);
        }),
        _ => {}
    }
}
