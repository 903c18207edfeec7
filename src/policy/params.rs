//! Params (docs/policy-language.md, "Params"): definitions, the values given
//! from outside (param files, `ECMGUARD_PARAM_<name>`, `--param`: see
//! `inputs`), and substitution of `"${name}"` operands. Values are
//! type-checked where they are used, so substitution hands the value to the
//! operand compiler with the usage span.
//!
//! A given value is text, never YAML: it is taken as written for a string (or regex)
//! param, and parsed as the param's type otherwise. A param's type is its default's; a param
//! without a default is typed where it is used (the field and operator say what they need).
//! A param file's YAML list is a list; its scalars are text like any other value.

use std::collections::{HashMap, HashSet};

use crate::diag::Code;
use crate::diag::{Diag, did_you_mean};
use crate::image::FieldType;
use crate::policy::context::{Cx, ParamSlot, ParamValue};
use crate::policy::inputs::{ENV_PREFIX, Given, ParamInput};
use crate::policy::model::{Origin, Param, ParamSource};
use crate::policy::read::{Of, Read};
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
    pub(crate) fn origin_note(&self) -> String {
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
    origins: &mut HashMap<String, Origin>,
) {
    let Some(entries) = node.as_map() else {
        cx.wrong_type(
            node,
            "`params`",
            "a mapping of param names to { default, description }",
        );
        return;
    };
    // The values given for each name, found once rather than searched for
    // each param; lowest precedence first.
    let options = cx.options;
    let mut given: HashMap<&str, Vec<&ParamInput>> = HashMap::new();
    for input in &options.params {
        given.entry(input.name.as_str()).or_default().push(input);
    }
    let names = Of::new("`params`").keys("a param name", "expected a string");
    for (key, value) in entries {
        let Some(name) = cx.key_name(key, names) else {
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
        // A name is defined once in the whole set, so a repeat is found
        // across files (and named by where the first is), not per mapping.
        if let Some(first) = origins.get(name) {
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
        origins.insert(name.to_owned(), origin.clone());
        let values = given.get(name).map_or(&[][..], Vec::as_slice);
        if let Some(param) = definition(cx, name, value, values, origin) {
            defined.push(param);
        }
    }
}

/// One param's `{ default, description }`, with its value in force.
fn definition(
    cx: &mut Cx<'_>,
    name: &str,
    node: &Node,
    given: &[&ParamInput],
    origin: Origin,
) -> Option<Param> {
    let mapping = cx.mapping(
        node,
        &format!("param `{name}`"),
        &["default", "description"],
    )?;
    let description = mapping.optional::<String>(cx, "description").flatten();
    let (value, source) = in_force(cx, given, mapping.get("default"));
    if value.is_none() && source == ParamSource::Default {
        let diag = cx
            .err(
                Code::MissingParamValue,
                origin.span,
                format!("param `{name}` has no value"),
                "no default",
            )
            .with_help(format!(
                "give one with --param {name}=VALUE, a --param-file or {ENV_PREFIX}{name}, or add `default:` to the param"
            ));
        cx.push(diag);
    }
    let shown = value.as_ref().map(shown_value).unwrap_or_default();
    cx.params
        .insert(name.to_owned(), ParamSlot { value, used: false });
    Some(Param {
        name: name.to_owned(),
        description,
        value: shown,
        source,
        origin,
    })
}

/// A param's value in force and where it comes from: the last value given
/// (typed like the default, if there is one), else the default.
fn in_force(
    cx: &mut Cx<'_>,
    given: &[&ParamInput],
    default: Option<&Node>,
) -> (Option<ParamValue>, ParamSource) {
    match (given.split_last(), default) {
        (None, _) => (default.cloned().map(ParamValue::Node), ParamSource::Default),
        (Some((in_force, overridden)), Some(template)) => {
            // Every value given for a typed param is checked, not only
            // the one in force: a param file is checked whole, so a
            // mistake in it shows before the environment it serves.
            for input in overridden {
                if let Err(diag) = typed_like(input, template) {
                    cx.push(diag);
                }
            }
            let value = match typed_like(in_force, template) {
                Ok(node) => Some(ParamValue::Node(node)),
                Err(diag) => {
                    cx.push(diag);
                    None
                }
            };
            (value, in_force.source.clone())
        }
        // No default, no type: typed where it is used.
        (Some((in_force, _)), None) => (
            Some(ParamValue::Given((*in_force).clone())),
            in_force.source.clone(),
        ),
    }
}

/// A param's value as `ecmguard rules` shows it.
fn shown_value(value: &ParamValue) -> String {
    match value {
        ParamValue::Node(node) => display_value(node),
        ParamValue::Given(input) => match &input.value {
            Given::Text(text) => text.clone(),
            Given::List(items) => {
                let texts: Vec<&str> = items.iter().map(|(t, _)| t.as_str()).collect();
                format!("[{}]", texts.join(", "))
            }
        },
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

/// One item of a given list value: its text and where it is.
type Part = (String, Span);

/// The value as a list: a param file's YAML list item by item, or text as
/// `a,b,c` or a flow list `[a, b]` (located at the whole text).
fn list_parts(input: &ParamInput) -> Vec<Part> {
    match &input.value {
        Given::List(items) => items.clone(),
        Given::Text(text) => list_items(text)
            .into_iter()
            .map(|item| (item, input.span))
            .collect(),
    }
}

/// The value as one scalar; a YAML list where one value is needed is an error.
fn scalar<'i>(input: &'i ParamInput, expected: &str, example: &str) -> Result<&'i str, Diag> {
    match &input.value {
        Given::Text(text) => Ok(text),
        Given::List(_) => Err(Diag::error(
            Code::ParamValueType,
            format!("{}: a list is not {expected}", input.what()),
        )
        .at(&input.file, input.span, format!("not {expected}"))
        .with_help(format!(
            "this param takes {expected}, e.g. {}",
            input.example(example)
        ))),
    }
}

/// A given value of a param with a default: parsed as the default's type.
fn typed_like(input: &ParamInput, template: &Node) -> Result<Node, Diag> {
    let span = input.span;
    let kind = match &template.kind {
        NodeKind::Seq(items) => {
            let item_template = items.first().map(|n| &n.kind);
            let parts = list_parts(input);
            let mut out = Vec::with_capacity(parts.len());
            for (part, at) in parts {
                let kind = match item_template {
                    Some(NodeKind::Int(_)) => NodeKind::Int(parse_int(input, &part, at)?),
                    Some(NodeKind::Bool(_)) => NodeKind::Bool(parse_bool(input, &part, at)?),
                    Some(NodeKind::Float(_)) => NodeKind::Float(parse_float(input, &part, at)?),
                    _ => NodeKind::Str(part),
                };
                out.push(Node { span: at, kind });
            }
            NodeKind::Seq(out)
        }
        NodeKind::Int(_) => {
            NodeKind::Int(parse_int(input, scalar(input, "an integer", "50")?, span)?)
        }
        NodeKind::Bool(_) => NodeKind::Bool(parse_bool(
            input,
            scalar(input, "true or false", "true")?,
            span,
        )?),
        NodeKind::Float(_) => {
            NodeKind::Float(parse_float(input, scalar(input, "a number", "0.5")?, span)?)
        }
        NodeKind::Map(_) => {
            return Err(Diag::error(
                Code::ParamValueType,
                format!(
                    "{}: the param's default is a mapping, which no operand takes",
                    input.what()
                ),
            )
            .at(&input.file, span, "this value")
            .with_help("give the param a scalar or list default"));
        }
        // Strings (and regexes, durations, times) are taken as written.
        NodeKind::Str(_) | NodeKind::Null => {
            NodeKind::Str(scalar(input, "one value", "text")?.to_owned())
        }
    };
    Ok(Node { span, kind })
}

/// A given value of a param without a default, typed for a use site.
fn typed_for(input: &ParamInput, want: Want) -> Result<Node, Diag> {
    let span = input.span;
    let one = |ty: FieldType, part: &str, at: Span| -> Result<NodeKind, Diag> {
        Ok(match ty {
            FieldType::Integer => NodeKind::Int(parse_int(input, part, at)?),
            FieldType::Boolean => NodeKind::Bool(parse_bool(input, part, at)?),
            FieldType::String | FieldType::Timestamp => NodeKind::Str(part.to_owned()),
        })
    };
    let list = |ty: FieldType| -> Result<NodeKind, Diag> {
        let items = list_parts(input)
            .into_iter()
            .map(|(part, at)| one(ty, &part, at).map(|kind| Node { span: at, kind }))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NodeKind::Seq(items))
    };
    let is_list = match &input.value {
        Given::List(_) => true,
        Given::Text(text) => is_flow_list(text),
    };
    let kind = match want {
        Want::Matcher(ty) if is_list => list(ty)?,
        Want::Matcher(ty) | Want::Scalar(ty) => one(ty, scalar(input, "one value", "x")?, span)?,
        Want::List(ty) => list(ty)?,
        Want::Bool => NodeKind::Bool(parse_bool(
            input,
            scalar(input, "true or false", "true")?,
            span,
        )?),
        Want::Count => NodeKind::Int(parse_int(input, scalar(input, "an integer", "1")?, span)?),
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

fn bad_value(input: &ParamInput, at: Span, found: &str, expected: &str, example: &str) -> Diag {
    Diag::error(
        Code::ParamValueType,
        format!("{}: `{found}` is not {expected}", input.what()),
    )
    .at(&input.file, at, format!("not {expected}"))
    .with_help(format!(
        "this param takes {expected}, e.g. {}",
        input.example(example)
    ))
}

fn parse_int(input: &ParamInput, text: &str, at: Span) -> Result<i64, Diag> {
    text.trim()
        .parse()
        .map_err(|_| bad_value(input, at, text, "an integer", "50"))
}

fn parse_float(input: &ParamInput, text: &str, at: Span) -> Result<f64, Diag> {
    text.trim()
        .parse()
        .map_err(|_| bad_value(input, at, text, "a number", "0.5"))
}

fn parse_bool(input: &ParamInput, text: &str, at: Span) -> Result<bool, Diag> {
    match text.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad_value(input, at, text, "true or false", "true")),
    }
}

fn display_value(node: &Node) -> String {
    match &node.kind {
        NodeKind::Str(s) => s.clone(),
        _ => node.display(),
    }
}

/// Check that every given value names a defined param, and warn about
/// params no file references (`referenced`: from the raw documents, broken
/// rules too).
pub(crate) fn finish(
    cx: &mut Cx<'_>,
    defined: &[Param],
    referenced: &std::collections::HashSet<String>,
) {
    let names: HashSet<&str> = defined.iter().map(|p| p.name.as_str()).collect();
    // A file naming thousands of unknown params shows only its first ones
    // (`diag::cap_per_file`): the rest are counted without looking for
    // what each might have meant among every defined param.
    let mut unknown_in: HashMap<*const SourceFile, usize> = HashMap::new();
    for input in &cx.options.params {
        if !names.contains(input.name.as_str()) {
            let seen = unknown_in
                .entry(std::sync::Arc::as_ptr(&input.file))
                .or_default();
            *seen += 1;
            let diag = unknown_name(input, defined, *seen <= crate::diag::SMALL_FILE);
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

/// A value given for a param that no policy file defines: an error where a
/// person wrote it for this run (a param file, `--param`), a warning for the
/// environment, which is shared by every run on the machine or CI job and
/// may serve other policy sets (Terraform ignores unknown `TF_VAR_`s
/// silently; a typo there would silently keep a default, so we say so).
fn unknown_name(input: &ParamInput, defined: &[Param], shown: bool) -> Diag {
    let name = &input.name;
    let suggestion = if shown {
        did_you_mean(name, defined.iter().map(|p| p.name.as_str()))
    } else {
        None
    };
    let define = "define it under `params:` in a policy file";
    match &input.source {
        ParamSource::ParamFile { file, .. } => Diag::error(
            Code::UnknownParamInFile,
            format!("{file} sets `{name}`, but no policy file defines a param `{name}`"),
        )
        .at(
            &input.file,
            input.name_span.unwrap_or(input.span),
            "no such param",
        )
        .with_help(if defined.is_empty() || !shown {
            define.to_owned()
        } else {
            format!(
                "the params are: {}",
                defined
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .suggest(suggestion),
        ParamSource::Env { variable } => Diag::warning(
            Code::UnknownParamEnv,
            format!(
                "{variable} is set, but no policy file defines a param `{name}`; it is ignored"
            ),
        )
        .with_help(match suggestion {
            Some(candidate) => {
                format!("did you mean {ENV_PREFIX}{candidate}? param names are case-sensitive")
            }
            None => "unset it, unless it is meant for another policy set".to_owned(),
        }),
        ParamSource::CommandLine | ParamSource::TestCase | ParamSource::Default => {
            let diag = Diag::error(
                Code::UnknownParamArgument,
                format!("{}: no policy file defines a param `{name}`", input.what()),
            )
            .suggest(suggestion);
            if defined.is_empty() {
                diag.with_help(define)
            } else {
                diag
            }
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
        let known: Vec<String> = if cx.room() {
            cx.params.keys().cloned().collect()
        } else {
            Vec::new()
        };
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
        ParamValue::Given(input) => match typed_for(input, want) {
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
