//! Conditions and matchers (docs/policy-language.md, "Conditions") from YAML to `Condition`: field paths
//! resolved, every operator checked against the field's type, operands
//! compiled (regexes, globs, times, durations) once, at load.

use crate::diag::Code;
use crate::diag::did_you_mean;
use crate::image::{Field, FieldType};
use crate::policy::context::Cx;
use crate::policy::duration::Duration;
use crate::policy::model::{CmpOp, Condition, FieldTest, Op, OpKind, Text};
use crate::policy::operator::Operator;
use crate::policy::params::{self, Operand, Want};
use crate::policy::pattern::{self, Pattern};
use crate::policy::read::{Entry, Of, Read};
use crate::policy::yaml::{Node, NodeKind};
use crate::source_text::Span;
use crate::time::parse_time_operand;

const LOGIC: &[&str] = &["all", "any", "not"];

/// The names of the operators that apply to a field type.
fn operator_names(ty: FieldType) -> Vec<&'static str> {
    Operator::for_type(ty)
        .into_iter()
        .map(Operator::name)
        .collect()
}

/// Compile a condition mapping; all its entries must hold.
pub(crate) fn condition(cx: &mut Cx<'_>, node: &Node, what: &str) -> Option<Condition> {
    let Some(entries) = node.as_map() else {
        let diag = cx.err(Code::WrongType, node.span, format!("{what} must be a condition mapping, found {}", node.type_name()), "expected a mapping")
            .with_help("a condition maps field paths to matchers, e.g. { ImageType: PRIVATE_IMAGE }, or uses all/any/not");
        cx.push(diag);
        return None;
    };
    if entries.is_empty() {
        let diag = cx
            .err(
                Code::EmptyCondition,
                node.span,
                format!("{what} is empty"),
                "empty condition",
            )
            .with_help(
                "an empty condition would hold for every image; remove it or add a field test",
            );
        cx.push(diag);
        return None;
    }
    let mut parts = Vec::with_capacity(entries.len());
    let (unique, mut ok) = cx.entries(
        entries,
        Of::new("one condition")
            .again("combine the matchers into one mapping, or use `all: [...]`"),
    );
    for (name, key, value) in unique {
        match entry(cx, name, key, value) {
            Some(c) => parts.push(c),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    Some(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Condition::All(parts)
    })
}

/// One entry of a condition: `all`/`any`/`not`, or `PATH: MATCHER`.
fn entry(cx: &mut Cx<'_>, name: &str, key: &Node, value: &Node) -> Option<Condition> {
    match name {
        "all" => list(cx, value, name).map(Condition::All),
        "any" => list(cx, value, name).map(Condition::Any),
        "not" => condition(cx, value, "`not`").map(|inner| Condition::Not(Box::new(inner))),
        path => match Field::from_path(path) {
            Some(field) => matcher(cx, field, value).map(Condition::Test),
            None => {
                unknown_field(cx, path, key);
                None
            }
        },
    }
}

fn unknown_field(cx: &mut Cx<'_>, path: &str, key: &Node) {
    let candidates = Field::ALL
        .iter()
        .map(|f| f.path())
        .chain(LOGIC.iter().copied());
    let mut diag = cx
        .err(
            Code::UnknownField,
            key.span,
            format!("unknown field `{path}`"),
            "not an Image field",
        )
        .suggest(did_you_mean(path, candidates));
    if diag.help.is_none() {
        diag = diag.with_help("fields are the DescribeImage Image fields, like ImageType or SrcImage.Region; see `docs/policy-language.md`");
    }
    if Operator::from_name(path).is_some() {
        diag = diag.with_help(format!(
            "`{path}` is an operator: put it under a field, e.g. {{ ImageName: {{ {path}: … }} }}"
        ));
    }
    cx.push(diag);
}

fn list(cx: &mut Cx<'_>, node: &Node, name: &str) -> Option<Vec<Condition>> {
    let Some(items) = node.as_seq() else {
        let diag = cx
            .err(
                Code::WrongType,
                node.span,
                format!(
                    "`{name}` must be a list of conditions, found {}",
                    node.type_name()
                ),
                "expected a list",
            )
            .with_help(format!("write `{name}: [{{ … }}, {{ … }}]`"));
        cx.push(diag);
        return None;
    };
    if items.is_empty() {
        let diag = cx
            .err(
                Code::EmptyCondition,
                node.span,
                format!("`{name}` has no conditions"),
                "empty list",
            )
            .with_help(format!(
                "an empty `{name}` is vacuous; add conditions or remove it"
            ));
        cx.push(diag);
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        match condition(cx, item, &format!("an item of `{name}`")) {
            Some(c) => out.push(c),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// `PATH: MATCHER` — a scalar (`eq`), a list (`in`), or a mapping of operators.
fn matcher(cx: &mut Cx<'_>, field: Field, node: &Node) -> Option<FieldTest> {
    let operand = params::resolve(cx, node, Want::Matcher(field.ty()))?;
    let ops = match &operand.node.kind {
        NodeKind::Map(entries) => operator_map(cx, field, entries, &operand)?,
        NodeKind::Seq(_) => vec![operator(cx, field, Operator::In, &operand, false)?],
        NodeKind::Null => {
            let diag = cx
                .err(
                    Code::OperandType,
                    operand.node.span,
                    format!("`{field}: null` is not a test{}", operand.origin_note()),
                    "null",
                )
                .with_help(format!(
                    "to require that {field} is missing, write `{field}: {{ exists: false }}`"
                ));
            cx.push(diag);
            return None;
        }
        _ => vec![operator(cx, field, Operator::Eq, &operand, false)?],
    };
    Some(FieldTest { field, ops })
}

fn operator_map(
    cx: &mut Cx<'_>,
    field: Field,
    entries: &[(Node, Node)],
    whole: &Operand,
) -> Option<Vec<Op>> {
    if entries.is_empty() {
        let diag = cx
            .err(
                Code::EmptyCondition,
                whole.node.span,
                format!("the matcher of `{field}` has no operator"),
                "empty matcher",
            )
            .with_help("add an operator such as eq, in, matches, older_than or exists");
        cx.push(diag);
        return None;
    }
    let (seen, mut ok) = cx.entries(
        entries,
        Of::new(&format!("the matcher of `{field}`"))
            .again("use `all: [...]` to apply one operator twice"),
    );
    // Names to operators first: an unknown name is reported, and the rest
    // of the mapping is still checked.
    let (known, named) = operators(cx, field, &seen);
    ok &= named;
    let (ignore_case, modifier_ok) = ignore_case(cx, field, &known);
    ok &= modifier_ok;
    let mut ops = Vec::with_capacity(known.len());
    for &(op, key, value) in &known {
        if op == Operator::IgnoreCase {
            continue;
        }
        match test(cx, field, op, key, value, ignore_case) {
            Some(op) => ops.push(op),
            None => ok = false,
        }
    }
    ok.then_some(ops)
}

/// An operator written in a matcher: its name, key and operand.
type Written<'n> = (Operator, &'n Node, &'n Node);

/// The operators of a matcher's entries; each unknown name reported (the
/// flag is false then).
fn operators<'n>(cx: &mut Cx<'_>, field: Field, seen: &[Entry<'n>]) -> (Vec<Written<'n>>, bool) {
    let ty = field.ty();
    let mut known = Vec::with_capacity(seen.len());
    let mut ok = true;
    for &(name, key, value) in seen {
        match Operator::from_name(name) {
            Some(op) => known.push((op, key, value)),
            None => {
                let candidates = operator_names(ty);
                let diag = cx
                    .err(
                        Code::UnknownOperator,
                        key.span,
                        format!("unknown operator `{name}`"),
                        "not an operator",
                    )
                    .with_help(format!(
                        "operators for {ty} fields: {}",
                        candidates.join(", ")
                    ))
                    .suggest(did_you_mean(name, candidates.iter().copied()));
                cx.push(diag);
                ok = false;
            }
        }
    }
    (known, ok)
}

/// `ignore_case`, which modifies the whole mapping wherever it is written:
/// its value, and whether it is well placed (the flag).
fn ignore_case(cx: &mut Cx<'_>, field: Field, known: &[Written<'_>]) -> (bool, bool) {
    let ty = field.ty();
    let mut ignore_case = false;
    let mut ok = true;
    for &(op, key, value) in known {
        if op != Operator::IgnoreCase {
            continue;
        }
        if ty != FieldType::String {
            let diag = cx.err(
                Code::OperatorType,
                key.span,
                format!(
                    "`ignore_case` applies to string fields; `{field}` is {}",
                    article(ty)
                ),
                "not a string field",
            );
            cx.push(diag);
            ok = false;
            continue;
        }
        let Some(operand) = params::resolve(cx, value, Want::Bool) else {
            ok = false;
            continue;
        };
        match operand.node.kind {
            NodeKind::Bool(b) => ignore_case = b,
            _ => {
                let diag = cx.err(
                    Code::OperandType,
                    operand.node.span,
                    format!(
                        "`ignore_case` takes true or false, found {}{}",
                        operand.node.type_name(),
                        operand.origin_note()
                    ),
                    "expected a boolean",
                );
                cx.push(diag);
                ok = false;
            }
        }
    }
    if !known.iter().any(|(op, _, _)| op.compares_text())
        && let Some((_, key, _)) = known.iter().find(|(op, _, _)| *op == Operator::IgnoreCase)
    {
        let diag = cx
            .err(
                Code::IgnoreCaseAlone,
                key.span,
                "`ignore_case` has no string operator to modify",
                "nothing to modify",
            )
            .with_help("add an operator such as eq, in, matches or contains to this mapping");
        cx.push(diag);
        ok = false;
    }
    (ignore_case, ok)
}

/// One operator of a matcher: checked against the field's type, its
/// operand resolved (a param) and compiled.
fn test(
    cx: &mut Cx<'_>,
    field: Field,
    op: Operator,
    key: &Node,
    value: &Node,
    ignore_case: bool,
) -> Option<Op> {
    let ty = field.ty();
    if !op.applies_to(ty) {
        return not_applicable(cx, field, op, key.span);
    }
    let operand = params::resolve(cx, value, want_of(op, ty))?;
    operator(cx, field, op, &operand, ignore_case)
}

/// What an operator needs an untyped `--param` value to be.
fn want_of(op: Operator, ty: FieldType) -> Want {
    match op {
        Operator::In | Operator::NotIn => Want::List(ty),
        Operator::Exists | Operator::IgnoreCase => Want::Bool,
        // Durations are text.
        Operator::OlderThan | Operator::NewerThan => Want::Scalar(FieldType::String),
        Operator::Eq
        | Operator::Ne
        | Operator::Matches
        | Operator::NotMatches
        | Operator::Glob
        | Operator::StartsWith
        | Operator::EndsWith
        | Operator::Contains
        | Operator::Gt
        | Operator::Gte
        | Operator::Lt
        | Operator::Lte => Want::Scalar(ty),
    }
}

fn article(ty: FieldType) -> &'static str {
    match ty {
        FieldType::String => "a string",
        FieldType::Integer => "an integer",
        FieldType::Boolean => "a boolean",
        FieldType::Timestamp => "a timestamp",
    }
}

fn operator_type_help(op: Operator, ty: FieldType) -> String {
    let valid = operator_names(ty).join(", ");
    match (op, ty) {
        (Operator::OlderThan | Operator::NewerThan, _) => format!(
            "older_than and newer_than apply to timestamps (ImageCreateTime); {ty} fields take: {valid}"
        ),
        (Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte, FieldType::String) => {
            format!(
                "strings are not ordered; use matches or glob for patterns. string fields take: {valid}"
            )
        }
        (Operator::In | Operator::NotIn, FieldType::Timestamp) => format!(
            "compare timestamps with gt/gte/lt/lte or older_than/newer_than. timestamp fields take: {valid}"
        ),
        _ => format!("{ty} fields take: {valid}"),
    }
}

/// One operator on one field, its operand type-checked and compiled. Every
/// operator is matched by name here, with no catch-all: an operator added to
/// [`Operator`] does not compile until it is handled.
fn operator(
    cx: &mut Cx<'_>,
    field: Field,
    op: Operator,
    operand: &Operand,
    ignore_case: bool,
) -> Option<Op> {
    use FieldType::{Integer, String as Str, Timestamp};
    let ty = field.ty();
    let u = Use {
        field,
        op,
        operand,
        ignore_case,
    };
    let (kind, expected) = match op {
        Operator::Exists => match operand.node.kind {
            NodeKind::Bool(b) => (
                OpKind::Exists(b),
                if b { "present" } else { "missing" }.to_owned(),
            ),
            _ => return type_error(cx, field, op, operand, "true or false"),
        },
        Operator::Eq | Operator::Ne => equality(cx, &u)?,
        Operator::StartsWith | Operator::EndsWith | Operator::Contains if ty == Str => {
            substring(cx, &u)?
        }
        Operator::In | Operator::NotIn if matches!(ty, Str | Integer) => membership(cx, &u)?,
        Operator::Matches | Operator::NotMatches if ty == Str => pattern_test(cx, &u)?,
        Operator::Glob if ty == Str => glob_test(cx, &u)?,
        Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte if ty == Integer => {
            int_comparison(cx, field, op, operand)?
        }
        Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte if ty == Timestamp => {
            time_comparison(cx, field, op, operand)?
        }
        Operator::OlderThan | Operator::NewerThan if ty == Timestamp => {
            age_test(cx, field, op, operand)?
        }
        // On a field type they do not apply to (`operator_map` reports these
        // first), and `ignore_case`, a modifier read before any test.
        Operator::StartsWith
        | Operator::EndsWith
        | Operator::Contains
        | Operator::In
        | Operator::NotIn
        | Operator::Matches
        | Operator::NotMatches
        | Operator::Glob
        | Operator::Gt
        | Operator::Gte
        | Operator::Lt
        | Operator::Lte
        | Operator::OlderThan
        | Operator::NewerThan
        | Operator::IgnoreCase => return not_applicable(cx, field, op, operand.node.span),
    };
    Some(Op { kind, expected })
}

/// An operator as written on a field, with its operand resolved and the
/// mapping's `ignore_case`: what compiling one operator needs.
#[derive(Clone, Copy)]
struct Use<'o> {
    field: Field,
    op: Operator,
    operand: &'o Operand,
    ignore_case: bool,
}

/// `eq` / `ne` on any field type.
fn equality(cx: &mut Cx<'_>, u: &Use<'_>) -> Option<(OpKind, String)> {
    let eq = u.op == Operator::Eq;
    Some(match u.field.ty() {
        FieldType::String => {
            let (text, shown) = text_operand(cx, u.field, u.op, u.operand, u.ignore_case)?;
            if eq {
                (OpKind::StrEq(text), format!("equal to {shown}"))
            } else {
                (OpKind::StrNe(text), format!("not equal to {shown}"))
            }
        }
        FieldType::Integer => int_comparison(cx, u.field, u.op, u.operand)?,
        FieldType::Boolean => match u.operand.node.kind {
            NodeKind::Bool(b) if eq => (OpKind::BoolEq(b), format!("{b}")),
            NodeKind::Bool(b) => (OpKind::BoolNe(b), format!("not {b}")),
            _ => return type_error(cx, u.field, u.op, u.operand, "true or false"),
        },
        FieldType::Timestamp => time_comparison(cx, u.field, u.op, u.operand)?,
    })
}

/// `starts_with`, `ends_with`, `contains` on a string field.
fn substring(cx: &mut Cx<'_>, u: &Use<'_>) -> Option<(OpKind, String)> {
    let (text, shown) = text_operand(cx, u.field, u.op, u.operand, u.ignore_case)?;
    Some(match u.op {
        Operator::StartsWith => (OpKind::StartsWith(text), format!("starting with {shown}")),
        Operator::EndsWith => (OpKind::EndsWith(text), format!("ending with {shown}")),
        _ => (OpKind::Contains(text), format!("containing {shown}")),
    })
}

/// `in` / `not_in` on a string or integer field.
fn membership(cx: &mut Cx<'_>, u: &Use<'_>) -> Option<(OpKind, String)> {
    let inside = u.op == Operator::In;
    let words = if inside { "one of" } else { "none of" };
    if u.field.ty() == FieldType::Integer {
        let values = each_item(cx, u.field, u.op, u.operand, int_operand)?;
        let shown: Vec<String> = values.iter().map(i64::to_string).collect();
        let expected = format!("{words} [{}]", shown.join(", "));
        let kind = if inside {
            OpKind::IntIn(values)
        } else {
            OpKind::IntNotIn(values)
        };
        return Some((kind, expected));
    }
    let texts = each_item(cx, u.field, u.op, u.operand, string_operand)?;
    let shown: Vec<String> = texts.iter().map(|t| format!("{t:?}")).collect();
    let case = ignoring_case(u.ignore_case);
    let expected = format!("{words} [{}]{case}", shown.join(", "));
    let texts: Vec<Text> = texts
        .into_iter()
        .map(|t| make_text(t, u.ignore_case))
        .collect();
    let kind = if inside {
        OpKind::StrIn(texts)
    } else {
        OpKind::StrNotIn(texts)
    };
    Some((kind, expected))
}

/// `matches` / `not_matches` on a string field: the regex compiled once.
fn pattern_test(cx: &mut Cx<'_>, u: &Use<'_>) -> Option<(OpKind, String)> {
    let pattern = string_operand(cx, u.field, u.op, u.operand)?;
    let regex = build_regex(cx, &pattern, u.ignore_case, u.operand, Code::InvalidRegex)?;
    let case = ignoring_case(u.ignore_case);
    Some(if u.op == Operator::Matches {
        (
            OpKind::Matches(regex),
            format!("matching /{pattern}/{case}"),
        )
    } else {
        (
            OpKind::NotMatches(regex),
            format!("not matching /{pattern}/{case}"),
        )
    })
}

/// `glob` on a string field: the glob as an anchored regex, compiled once.
fn glob_test(cx: &mut Cx<'_>, u: &Use<'_>) -> Option<(OpKind, String)> {
    let pattern = string_operand(cx, u.field, u.op, u.operand)?;
    let source = match glob_to_regex(&pattern) {
        Ok(source) => source,
        Err(message) => {
            let note = u.operand.origin_note();
            let diag = cx
                .err(
                    Code::InvalidGlob,
                    u.operand.node.span,
                    format!("invalid glob {pattern:?}: {message}{note}"),
                    "invalid glob",
                )
                .with_help(
                    "globs use * (any text), ? (one character) and [abc] / [a-z] / [!abc] classes",
                );
            cx.push(diag);
            return None;
        }
    };
    let regex = build_regex(cx, &source, u.ignore_case, u.operand, Code::InvalidGlob)?;
    let case = ignoring_case(u.ignore_case);
    Some((
        OpKind::Glob(regex),
        format!("matching glob {pattern:?}{case}"),
    ))
}

/// An operator on a field type it does not apply to. `operator_map` reports
/// these before compiling; this keeps the compiler total, never silent.
fn not_applicable<T>(cx: &mut Cx<'_>, field: Field, op: Operator, span: Span) -> Option<T> {
    let ty = field.ty();
    let diag = cx
        .err(
            Code::OperatorType,
            span,
            format!(
                "`{op}` does not apply to `{field}`, which is {}",
                article(ty)
            ),
            format!("not for {ty} fields"),
        )
        .with_help(operator_type_help(op, ty));
    cx.push(diag);
    None
}

/// A string operand for eq/ne/starts_with/ends_with/contains, lowered when
/// `ignore_case`, and how messages show it.
fn text_operand(
    cx: &mut Cx<'_>,
    field: Field,
    op: Operator,
    operand: &Operand,
    ignore_case: bool,
) -> Option<(Text, String)> {
    let text = string_operand(cx, field, op, operand)?;
    let shown = describe_text(&text, ignore_case);
    Some((make_text(text, ignore_case), shown))
}

fn comparison_of(op: Operator) -> CmpOp {
    // Only eq/ne/gt/gte/lt/lte reach the comparisons below.
    op.comparison().unwrap_or(CmpOp::Eq)
}

fn int_comparison(
    cx: &mut Cx<'_>,
    field: Field,
    op: Operator,
    operand: &Operand,
) -> Option<(OpKind, String)> {
    let value = int_operand(cx, field, op, operand)?;
    let cmp = comparison_of(op);
    Some((
        OpKind::IntCmp(cmp, value),
        format!("{} {value}", cmp_words(cmp, false)),
    ))
}

fn time_comparison(
    cx: &mut Cx<'_>,
    field: Field,
    op: Operator,
    operand: &Operand,
) -> Option<(OpKind, String)> {
    let node = &operand.node;
    let Some(text) = node.as_str() else {
        return type_error(
            cx,
            field,
            op,
            operand,
            "a date (2024-01-31), a time (2024-01-31 08:00:00) or RFC 3339",
        );
    };
    let at = match parse_time_operand(text, &cx.options.zone) {
        Ok(at) => at,
        Err(message) => {
            let note = operand.origin_note();
            let mut diag = cx.err(
                Code::InvalidTime,
                node.span,
                format!("invalid time{note}: {message}"),
                "not a time",
            );
            if Duration::parse(text).is_ok() {
                diag = diag.with_help(format!(
                    "`{text}` is a duration: to compare an age use older_than or newer_than"
                ));
            }
            cx.push(diag);
            return None;
        }
    };
    let cmp = comparison_of(op);
    Some((
        OpKind::TimeCmp(cmp, at),
        format!("{} {text}", cmp_words(cmp, true)),
    ))
}

/// `older_than` / `newer_than`: the duration resolved against `now` once.
fn age_test(
    cx: &mut Cx<'_>,
    field: Field,
    op: Operator,
    operand: &Operand,
) -> Option<(OpKind, String)> {
    let node = &operand.node;
    let note = operand.origin_note();
    let text = match &node.kind {
        NodeKind::Str(s) => s.clone(),
        NodeKind::Int(i) => i.to_string(),
        _ => return type_error(cx, field, op, operand, "a duration such as 180d"),
    };
    let (duration, threshold) = cx.duration_before(node.span, &text, "duration", &note)?;
    let limit = duration.as_str().to_owned();
    Some(if op == Operator::OlderThan {
        (
            OpKind::OlderThan {
                threshold,
                limit: limit.clone(),
            },
            format!("older than {limit}"),
        )
    } else {
        (
            OpKind::NewerThan {
                threshold,
                limit: limit.clone(),
            },
            format!("newer than {limit}"),
        )
    })
}

fn cmp_words(op: CmpOp, time: bool) -> &'static str {
    match (op, time) {
        (CmpOp::Eq, false) => "equal to",
        (CmpOp::Ne, false) => "not equal to",
        (CmpOp::Gt, false) => "greater than",
        (CmpOp::Gte, false) => "at least",
        (CmpOp::Lt, false) => "less than",
        (CmpOp::Lte, false) => "at most",
        (CmpOp::Eq, true) => "at",
        (CmpOp::Ne, true) => "not at",
        (CmpOp::Gt, true) => "after",
        (CmpOp::Gte, true) => "at or after",
        (CmpOp::Lt, true) => "before",
        (CmpOp::Lte, true) => "at or before",
    }
}

fn type_error<T>(
    cx: &mut Cx<'_>,
    field: Field,
    name: Operator,
    operand: &Operand,
    expected: &str,
) -> Option<T> {
    let node = &operand.node;
    let diag = cx.err(
        Code::OperandType,
        node.span,
        format!(
            "`{name}` on `{field}` needs {expected}, found {}{}",
            node.type_name(),
            operand.origin_note()
        ),
        format!("expected {expected}"),
    );
    cx.push(diag);
    None
}

fn string_operand(
    cx: &mut Cx<'_>,
    field: Field,
    name: Operator,
    operand: &Operand,
) -> Option<String> {
    match &operand.node.kind {
        NodeKind::Str(s) => Some(s.clone()),
        NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_) => {
            let raw = operand.node.display();
            let diag = cx
                .err(
                    Code::OperandType,
                    operand.node.span,
                    format!(
                        "`{field}` is a string but `{name}` is given {}{}",
                        operand.node.type_name(),
                        operand.origin_note()
                    ),
                    "not a string",
                )
                .with_help(format!("quote it: \"{raw}\""));
            cx.push(diag);
            None
        }
        _ => type_error(cx, field, name, operand, "a string"),
    }
}

fn int_operand(cx: &mut Cx<'_>, field: Field, name: Operator, operand: &Operand) -> Option<i64> {
    match &operand.node.kind {
        NodeKind::Int(i) => Some(*i),
        NodeKind::Str(s) => {
            let mut diag = cx.err(
                Code::OperandType,
                operand.node.span,
                format!(
                    "`{field}` is an integer but `{name}` is given a string{}",
                    operand.origin_note()
                ),
                "a string, not an integer",
            );
            if s.trim().parse::<i64>().is_ok() {
                diag = diag.with_help(format!("remove the quotes: {}", s.trim()));
            }
            cx.push(diag);
            None
        }
        _ => type_error(cx, field, name, operand, "an integer"),
    }
}

fn list_operand<'o>(
    cx: &mut Cx<'_>,
    field: Field,
    name: Operator,
    operand: &'o Operand,
) -> Option<&'o [Node]> {
    let Some(items) = operand.node.as_seq() else {
        let diag = cx
            .err(
                Code::OperandType,
                operand.node.span,
                format!(
                    "`{name}` on `{field}` needs a list, found {}{}",
                    operand.node.type_name(),
                    operand.origin_note()
                ),
                "expected a list",
            )
            .with_help(match &operand.param {
                // A param's values take the type of its default, so a
                // one-value default makes every value given for it one value.
                Some(param) => format!(
                    "param `{param}` holds one value: give it a list default, `default: [a, b]`; \
                     then a list on the command line is --param '{param}=[a, b]' (or {param}=a,b), \
                     in a param file `{param}: [a, b]`"
                ),
                None => format!("write `{name}: [a, b]`, or use eq for a single value"),
            });
        cx.push(diag);
        return None;
    };
    if items.is_empty() {
        let diag = cx
            .err(
                Code::EmptyCondition,
                operand.node.span,
                format!(
                    "`{name}` on `{field}` has an empty list{}",
                    operand.origin_note()
                ),
                "empty list",
            )
            .with_help("an empty list matches nothing; add values");
        cx.push(diag);
        return None;
    }
    Some(items)
}

/// Each item of a list operand, checked by `check`; items keep the list's
/// param origin for messages.
fn each_item<T>(
    cx: &mut Cx<'_>,
    field: Field,
    name: Operator,
    operand: &Operand,
    check: fn(&mut Cx<'_>, Field, Operator, &Operand) -> Option<T>,
) -> Option<Vec<T>> {
    let items = list_operand(cx, field, name, operand)?;
    let mut out = Vec::with_capacity(items.len());
    for node in items {
        let item = Operand {
            node: node.clone(),
            param: operand.param.clone(),
        };
        out.push(check(cx, field, name, &item)?);
    }
    Some(out)
}

/// ` (ignoring case)` after an expected value, or nothing.
fn ignoring_case(ignore_case: bool) -> &'static str {
    if ignore_case { " (ignoring case)" } else { "" }
}

fn make_text(value: String, ignore_case: bool) -> Text {
    if ignore_case {
        Text {
            value: value.to_lowercase(),
            ignore_case,
        }
    } else {
        Text { value, ignore_case }
    }
}

fn describe_text(value: &str, ignore_case: bool) -> String {
    if ignore_case {
        format!("{value:?} (ignoring case)")
    } else {
        format!("{value:?}")
    }
}

fn build_regex(
    cx: &mut Cx<'_>,
    pattern: &str,
    ignore_case: bool,
    operand: &Operand,
    code: Code,
) -> Option<Pattern> {
    match pattern::compile(pattern, ignore_case) {
        Ok(compiled) => {
            cx.pattern_bytes += compiled.memory();
            if cx.pattern_bytes > pattern::MAX_TOTAL_PATTERN_BYTES && !cx.pattern_budget_reported {
                cx.pattern_budget_reported = true;
                let diag = cx
                    .err(
                        Code::PatternBudget,
                        operand.node.span,
                        format!(
                            "the patterns of this policy set need more than {} MiB compiled; this one crosses the budget",
                            pattern::MAX_TOTAL_PATTERN_BYTES >> 20
                        ),
                        "over the budget",
                    )
                    .with_help("a Unicode class such as \\w repeated many times compiles to a large program: use [a-z0-9_] (ASCII) or fewer repetitions, or fewer patterns");
                cx.push(diag);
                return None;
            }
            Some(compiled)
        }
        Err(pattern::PatternError(detail)) => {
            let diag = cx.err(code, operand.node.span, format!("invalid regular expression{}: {detail}", operand.origin_note()), "does not compile")
                .with_help("patterns use Rust `regex` syntax (no look-around or back-references); anchor with ^…$");
            cx.push(diag);
            None
        }
    }
}

/// A glob as an anchored regex: `*` any text, `?` one character,
/// `[abc]`, `[a-z]`, `[!abc]` / `[^abc]` classes; everything else literal.
pub(crate) fn glob_to_regex(glob: &str) -> Result<String, String> {
    let mut out = String::from("(?s)^");
    let chars: Vec<char> = glob.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                let mut j = i + 1;
                let mut class = String::from("[");
                if j < chars.len() && (chars[j] == '!' || chars[j] == '^') {
                    class.push('^');
                    j += 1;
                }
                let body_start = j;
                while j < chars.len() && (chars[j] != ']' || j == body_start) {
                    let c = chars[j];
                    if c == '-' && j != body_start && j + 1 < chars.len() && chars[j + 1] != ']' {
                        class.push('-');
                    } else {
                        if matches!(c, '\\' | '[' | ']' | '&' | '~' | '-' | '^') {
                            class.push('\\');
                        }
                        class.push(c);
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(format!("the `[` at character {} is never closed", i + 1));
                }
                class.push(']');
                out.push_str(&class);
                i = j;
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    out.push('$');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(pattern: &str, text: &str) -> bool {
        regex::Regex::new(&glob_to_regex(pattern).unwrap())
            .unwrap()
            .is_match(text)
    }

    #[test]
    fn globs_match_whole_values() {
        assert!(glob("web-*", "web-edge-01"));
        assert!(!glob("web-*", "my-web-edge"));
        assert!(glob("img-????????", "img-060ov1xz"));
        assert!(glob("v[0-9].*", "v1.2"));
        assert!(!glob("v[!0-9]*", "v1"));
        assert!(glob("a.b", "a.b") && !glob("a.b", "axb"));
        assert!(glob("[]]", "]"));
        assert!(glob("镜像*", "镜像-1"));
        assert!(glob_to_regex("[abc").is_err());
    }
}
