//! Params (docs/policy-language.md, "Params"): definitions, `--param` overrides, and substitution of
//! `"${name}"` operands. Values are type-checked where they are used, so
//! substitution hands the value to the operand compiler with the usage span.
//!
//! A `--param` VALUE is text, never YAML: it is taken as written for a string (or regex)
//! param, and parsed as the param's type otherwise. A param's type is its default's; a param
//! without a default is typed where it is used (the field and operator say what they need).

use std::sync::Arc;

use crate::diag::Code;
use crate::diag::{Diag, did_you_mean};
use crate::image::FieldType;
use crate::policy::context::{Cx, ParamSlot, ParamValue};
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
            Some(text) => {
                let value = match &default {
                    Some(template) => match typed_like(name, &text, template) {
                        Ok(node) => Some(ParamValue::Node(node)),
                        Err(diag) => {
                            cx.push(diag);
                            None
                        }
                    },
                    // No default, no type: typed where it is used.
                    None => Some(ParamValue::Text(text)),
                };
                (value, true)
            }
            None => (default.map(ParamValue::Node), false),
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
        let shown = match &value {
            Some(ParamValue::Node(node)) => display_value(node),
            Some(ParamValue::Text(text)) => text.clone(),
            None => String::new(),
        };
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

/// What a use site needs an untyped `--param` value to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// A whole matcher on a field (`Field: "${p}"`): a value of the field's
    /// type, or a flow list `[a, b]` (which means `in`).
    Matcher(FieldType),
    /// One operand of the field's type (strings, regexes, durations and
    /// times are text).
    Scalar(FieldType),
    /// A list of values of the field's type (`in`, `not_in`).
    List(FieldType),
    Bool,
    /// A non-negative integer (a set-level `count`).
    Count,
}

/// The source file a `--param` value is shown from in diagnostics.
fn param_file(name: &str, text: &str) -> Arc<SourceFile> {
    SourceFile::new(format!("--param {name}"), text.to_owned())
}

fn whole(file: &Arc<SourceFile>) -> Span {
    Span::new(0, file.text().len())
}

/// A `--param` value of a param with a default: parsed as the default's type.
fn typed_like(name: &str, text: &str, template: &Node) -> Result<Node, Diag> {
    let file = param_file(name, text);
    let span = whole(&file);
    let kind = match &template.kind {
        NodeKind::Seq(items) => {
            let item_template = items.first().map(|n| &n.kind);
            let parts = list_items(text);
            let mut out = Vec::with_capacity(parts.len());
            for part in parts {
                let kind = match item_template {
                    Some(NodeKind::Int(_)) => NodeKind::Int(parse_int(name, &part, &file)?),
                    Some(NodeKind::Bool(_)) => NodeKind::Bool(parse_bool(name, &part, &file)?),
                    Some(NodeKind::Float(_)) => NodeKind::Float(parse_float(name, &part, &file)?),
                    _ => NodeKind::Str(part),
                };
                out.push(Node { span, kind });
            }
            NodeKind::Seq(out)
        }
        NodeKind::Int(_) => NodeKind::Int(parse_int(name, text, &file)?),
        NodeKind::Bool(_) => NodeKind::Bool(parse_bool(name, text, &file)?),
        NodeKind::Float(_) => NodeKind::Float(parse_float(name, text, &file)?),
        NodeKind::Map(_) => {
            return Err(Diag::error(
                Code::OperandType,
                format!("--param {name}: the param's default is a mapping, which no operand takes"),
            )
            .at(&file, span, "this value")
            .with_help("give the param a scalar or list default"));
        }
        // Strings (and regexes, durations, times) are taken as written.
        NodeKind::Str(_) | NodeKind::Null => NodeKind::Str(text.to_owned()),
    };
    Ok(Node { span, kind })
}

/// An untyped `--param` value (its param has no default) typed for a use site.
fn typed_for(name: &str, text: &str, want: Want) -> Result<Node, Diag> {
    let file = param_file(name, text);
    let span = whole(&file);
    let scalar = |ty: FieldType, part: &str| -> Result<NodeKind, Diag> {
        Ok(match ty {
            FieldType::Integer => NodeKind::Int(parse_int(name, part, &file)?),
            FieldType::Boolean => NodeKind::Bool(parse_bool(name, part, &file)?),
            FieldType::String | FieldType::Timestamp => NodeKind::Str(part.to_owned()),
        })
    };
    let list = |ty: FieldType| -> Result<NodeKind, Diag> {
        let items = list_items(text)
            .iter()
            .map(|part| scalar(ty, part).map(|kind| Node { span, kind }))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NodeKind::Seq(items))
    };
    let kind = match want {
        Want::Matcher(ty) if is_flow_list(text) => list(ty)?,
        Want::Matcher(ty) | Want::Scalar(ty) => scalar(ty, text)?,
        Want::List(ty) => list(ty)?,
        Want::Bool => NodeKind::Bool(parse_bool(name, text, &file)?),
        Want::Count => NodeKind::Int(parse_int(name, text, &file)?),
    };
    Ok(Node { span, kind })
}

fn is_flow_list(text: &str) -> bool {
    let t = text.trim();
    t.starts_with('[') && t.ends_with(']')
}

/// `a,b,c` or a flow list `[a, b]` (items may be quoted, as in YAML).
fn list_items(text: &str) -> Vec<String> {
    let trimmed = text.trim();
    if is_flow_list(trimmed) {
        let file = SourceFile::new("--param", trimmed.to_owned());
        if let Ok(Node {
            kind: NodeKind::Seq(items),
            ..
        }) = yaml::parse(&file)
        {
            return items
                .iter()
                .map(|item| match &item.kind {
                    NodeKind::Str(s) => s.clone(),
                    _ => item.display(),
                })
                .collect();
        }
    }
    if trimmed.is_empty() {
        return Vec::new();
    }
    text.split(',').map(|part| part.trim().to_owned()).collect()
}

fn bad_value(
    name: &str,
    file: &Arc<SourceFile>,
    found: &str,
    expected: &str,
    example: &str,
) -> Diag {
    Diag::error(
        Code::OperandType,
        format!("--param {name}: `{found}` is not {expected}"),
    )
    .at(file, whole(file), format!("not {expected}"))
    .with_help(format!(
        "this param takes {expected}, e.g. --param {name}={example}"
    ))
}

fn parse_int(name: &str, text: &str, file: &Arc<SourceFile>) -> Result<i64, Diag> {
    text.trim()
        .parse()
        .map_err(|_| bad_value(name, file, text, "an integer", "50"))
}

fn parse_float(name: &str, text: &str, file: &Arc<SourceFile>) -> Result<f64, Diag> {
    text.trim()
        .parse()
        .map_err(|_| bad_value(name, file, text, "a number", "0.5"))
}

fn parse_bool(name: &str, text: &str, file: &Arc<SourceFile>) -> Result<bool, Diag> {
    match text.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad_value(name, file, text, "true or false", "true")),
    }
}

fn display_value(node: &Node) -> String {
    match &node.kind {
        NodeKind::Str(s) => s.clone(),
        _ => node.display(),
    }
}

/// Check that every `--param` names a defined param, and warn about ones no
/// file references (`referenced`: from the raw documents, broken rules too).
pub(crate) fn finish(
    cx: &mut Cx<'_>,
    defined: &[Param],
    referenced: &std::collections::HashSet<String>,
) {
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
        let used = cx.params.get(&param.name).is_some_and(|slot| slot.used)
            || referenced.contains(&param.name);
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
pub(crate) fn resolve(cx: &mut Cx<'_>, node: &Node, want: Want) -> Option<Operand> {
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
    let mut node_value = match slot.value.as_ref()? {
        ParamValue::Node(value) => value.clone(),
        ParamValue::Text(text) => match typed_for(name, text, want) {
            Ok(value) => value,
            Err(diag) => {
                cx.push(diag);
                return None;
            }
        },
    };
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
