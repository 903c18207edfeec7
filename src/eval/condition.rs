//! Three-valued evaluation of conditions (docs/policy-language.md) and the explanation of a
//! failed or unknown result, for default messages.

use jiff::Timestamp;

use crate::image::{Field, Image, Value};
use crate::policy::model::{Condition, FieldTest, Op, OpKind, Text};
use crate::time::describe_seconds;

/// A three-valued truth: missing fields make tests unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn from_bool(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }

    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

/// Evaluate a condition on one image.
pub fn eval(condition: &Condition, image: &Image) -> Truth {
    match condition {
        Condition::All(parts) => {
            let mut unknown = false;
            for part in parts {
                match eval(part, image) {
                    Truth::False => return Truth::False,
                    Truth::Unknown => unknown = true,
                    Truth::True => {}
                }
            }
            if unknown { Truth::Unknown } else { Truth::True }
        }
        Condition::Any(parts) => {
            let mut unknown = false;
            for part in parts {
                match eval(part, image) {
                    Truth::True => return Truth::True,
                    Truth::Unknown => unknown = true,
                    Truth::False => {}
                }
            }
            if unknown {
                Truth::Unknown
            } else {
                Truth::False
            }
        }
        Condition::Not(inner) => eval(inner, image).not(),
        Condition::Test(test) => eval_test(test, image),
    }
}

/// All operators of a matcher must hold (`all` semantics).
fn eval_test(test: &FieldTest, image: &Image) -> Truth {
    let value = image.get(test.field);
    let mut unknown = false;
    for op in &test.ops {
        match holds(&op.kind, value) {
            Truth::False => return Truth::False,
            Truth::Unknown => unknown = true,
            Truth::True => {}
        }
    }
    if unknown { Truth::Unknown } else { Truth::True }
}

/// One operator on one value. Every operator but `exists` is unknown on a
/// missing value. Every operator is matched by name, with no catch-all, so
/// an operator added to `OpKind` does not compile until it is evaluated.
/// Load-time type checking guarantees operand and value types agree; a
/// mismatch here could only be a bug, and is unknown, never a pass.
pub fn holds(kind: &OpKind, value: Value<'_>) -> Truth {
    let result = match kind {
        OpKind::Exists(want) => Some(*want != value.is_missing()),
        OpKind::StrEq(t) => on_str(value, |s| text_eq(t, s)),
        OpKind::StrNe(t) => on_str(value, |s| !text_eq(t, s)),
        OpKind::StrIn(ts) => on_str(value, |s| ts.iter().any(|t| text_eq(t, s))),
        OpKind::StrNotIn(ts) => on_str(value, |s| !ts.iter().any(|t| text_eq(t, s))),
        OpKind::Matches(re) | OpKind::Glob(re) => on_str(value, |s| re.is_match(s)),
        OpKind::NotMatches(re) => on_str(value, |s| !re.is_match(s)),
        OpKind::StartsWith(t) => on_str(value, |s| with_case(t, s, |s, t| s.starts_with(t))),
        OpKind::EndsWith(t) => on_str(value, |s| with_case(t, s, |s, t| s.ends_with(t))),
        OpKind::Contains(t) => on_str(value, |s| with_case(t, s, |s, t| s.contains(t))),
        OpKind::IntCmp(op, n) => on_int(value, |v| op.holds(v.cmp(n))),
        OpKind::IntIn(ns) => on_int(value, |v| ns.contains(&v)),
        OpKind::IntNotIn(ns) => on_int(value, |v| !ns.contains(&v)),
        OpKind::BoolEq(b) => on_bool(value, |v| v == *b),
        OpKind::BoolNe(b) => on_bool(value, |v| v != *b),
        OpKind::TimeCmp(op, at) => on_time(value, |v| op.holds(v.cmp(at))),
        // now - value > duration  <=>  value < now - duration
        OpKind::OlderThan { threshold, .. } => on_time(value, |v| v < *threshold),
        // now - value < duration  <=>  value > now - duration
        OpKind::NewerThan { threshold, .. } => on_time(value, |v| v > *threshold),
    };
    result.map_or(Truth::Unknown, Truth::from_bool)
}

fn on_str(value: Value<'_>, test: impl FnOnce(&str) -> bool) -> Option<bool> {
    match value {
        Value::Str(s) => Some(test(s)),
        _ => None,
    }
}

fn on_int(value: Value<'_>, test: impl FnOnce(i64) -> bool) -> Option<bool> {
    match value {
        Value::Int(i) => Some(test(i)),
        _ => None,
    }
}

fn on_bool(value: Value<'_>, test: impl FnOnce(bool) -> bool) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(test(b)),
        _ => None,
    }
}

fn on_time(value: Value<'_>, test: impl FnOnce(jiff::Timestamp) -> bool) -> Option<bool> {
    match value {
        Value::Time(t) => Some(test(t)),
        _ => None,
    }
}

fn text_eq(text: &Text, value: &str) -> bool {
    if text.ignore_case {
        // The operand was lowercased at load; compare without allocating.
        let mut lowered = value.chars().flat_map(char::to_lowercase);
        let mut operand = text.value.chars();
        loop {
            match (lowered.next(), operand.next()) {
                (None, None) => return true,
                (a, b) if a == b => continue,
                _ => return false,
            }
        }
    } else {
        text.value == value
    }
}

fn with_case(text: &Text, value: &str, test: impl Fn(&str, &str) -> bool) -> bool {
    if text.ignore_case {
        test(&value.to_lowercase(), &text.value)
    } else {
        test(value, &text.value)
    }
}

/// Why a condition did not come out as wanted: the failed tests, described,
/// and the fields whose absence made it unknown.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub failed: Vec<String>,
    pub missing: Vec<Field>,
    pub unreadable: Vec<(Field, String)>,
}

/// Explain why `condition` is not `want` on `image`.
pub fn explain(
    condition: &Condition,
    image: &Image,
    want: bool,
    now: Timestamp,
    out: &mut Explanation,
) {
    let wanted = Truth::from_bool(want);
    match condition {
        Condition::All(parts) | Condition::Any(parts) => {
            for part in parts {
                if eval(part, image) != wanted {
                    explain(part, image, want, now, out);
                }
            }
        }
        Condition::Not(inner) => explain(inner, image, !want, now, out),
        Condition::Test(test) => {
            let value = image.get(test.field);
            for op in &test.ops {
                match holds(&op.kind, value) {
                    Truth::Unknown => note_missing(test.field, value, out),
                    t if t != wanted => out
                        .failed
                        .push(describe(test.field, op, image, value, want, now)),
                    _ => {}
                }
            }
        }
    }
}

fn note_missing(field: Field, value: Value<'_>, out: &mut Explanation) {
    match value {
        Value::Unreadable(raw) => {
            if !out.unreadable.iter().any(|(f, _)| *f == field) {
                out.unreadable.push((field, raw.to_owned()));
            }
        }
        _ => {
            if !out.missing.contains(&field) {
                out.missing.push(field);
            }
        }
    }
}

fn describe(
    field: Field,
    op: &Op,
    image: &Image,
    value: Value<'_>,
    want: bool,
    now: Timestamp,
) -> String {
    let actual = match value {
        Value::Missing => "missing".to_owned(),
        Value::Unreadable(raw) => format!("{raw:?} (unreadable)"),
        Value::Str(s) => format!("{s:?}"),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Time(at) => {
            let raw = image.raw_str(field).unwrap_or_default();
            match &op.kind {
                OpKind::OlderThan { .. } | OpKind::NewerThan { .. } => {
                    let age = now.duration_since(at).as_secs();
                    format!("{raw} (age {})", describe_seconds(age))
                }
                _ => raw.to_owned(),
            }
        }
    };
    let expected = if want {
        op.expected.clone()
    } else {
        format!("not {}", op.expected)
    };
    format!("{field} is {actual}, expected {expected}")
}
