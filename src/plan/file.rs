//! The plan file (`ecmguard/plan/v1`, docs/remediation.md "The plan file"):
//! one JSON object, the [`Plan`]'s members plus `schema` first and `digest`
//! last, written pretty-printed through the atomic writer.
//!
//! `digest` is `sha256:` and the hex SHA-256 of the canonical form of the
//! object without its `digest` member: compact JSON (no whitespace between
//! tokens), object keys sorted by code point at every level, strings
//! escaped as jq escapes them (`"`, `\`, `\b \f \n \r \t`, other control
//! characters and DEL as `\u00XX`, everything else as UTF-8). That is what
//! `jq -jcS 'del(.digest)' plan.json | sha256sum` prints, so a reviewer can
//! verify a plan without ecmguard. It detects an edit (a changed byte of
//! content makes the digest differ); it is not a signature: whoever edits a
//! plan can recompute it, so a plan is trusted as much as the place it is
//! stored (a CI artifact a pull request's review approved).

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::model::Plan;
use crate::diag::{Code, Diag};
use crate::source_text::{LineCol, SourceFile, Span};

/// The schema tag of plan files.
pub const PLAN_SCHEMA: &str = "ecmguard/plan/v1";

/// The largest plan file read. A plan holds at most `--max-actions` actions
/// (20 by default) and the fixes it kept; 64 MiB is far beyond any of them.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// The prefix of the digest's value, naming its algorithm.
const DIGEST_PREFIX: &str = "sha256:";

/// The plan as its file's JSON object: `schema`, the plan's members, and
/// `digest` over everything before it.
pub fn to_json(plan: &Plan) -> serde_json::Result<Value> {
    let Value::Object(members) = serde_json::to_value(plan)? else {
        return Err(serde::ser::Error::custom("a plan serialises to an object"));
    };
    let mut object = Map::with_capacity(members.len() + 2);
    object.insert("schema".to_owned(), Value::String(PLAN_SCHEMA.to_owned()));
    object.extend(members);
    let digest = digest(&object);
    object.insert("digest".to_owned(), Value::String(digest));
    Ok(Value::Object(object))
}

/// Write `plan` as a plan file (pretty-printed, with a final newline).
pub fn write(plan: &Plan, out: &mut dyn Write) -> std::io::Result<()> {
    let value = to_json(plan).map_err(std::io::Error::other)?;
    serde_json::to_writer_pretty(&mut *out, &value)?;
    out.write_all(b"\n")
}

/// `sha256:<hex>` of the canonical form of `object` without its `digest`.
pub fn digest(object: &Map<String, Value>) -> String {
    let mut canonical = String::new();
    canonical.push('{');
    let mut keys: Vec<&String> = object.keys().filter(|k| *k != "digest").collect();
    keys.sort_unstable();
    for (n, key) in keys.into_iter().enumerate() {
        if n > 0 {
            canonical.push(',');
        }
        write_string(&mut canonical, key);
        canonical.push(':');
        write_canonical(&mut canonical, &object[key]);
    }
    canonical.push('}');
    format!(
        "{DIGEST_PREFIX}{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    )
}

fn write_canonical(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (n, (key, item)) in entries.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_canonical(out, item);
            }
            out.push('}');
        }
    }
}

/// A JSON string as jq writes it.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Read and verify the plan file at `path` (see [`load`]).
pub fn read(path: &Path, now: Timestamp) -> Result<Plan, Diag> {
    let name = path.display().to_string();
    let bytes = crate::fs::read::read_capped(path, MAX_FILE_BYTES).map_err(|e| {
        Diag::error(
            Code::FileRead,
            format!("cannot read the plan {}: {e}", crate::text::escape(&name)),
        )
        .with_help("give the file written by `ecmguard plan -o PLAN`")
    })?;
    load(&name, &bytes, now)
}

/// Verify a plan file's bytes and read the plan: its schema, then its
/// digest (an edited plan is refused whatever it says), then its shape,
/// then its expiry against `now`, which must be the system clock (a plan's
/// life is real time; `--now` does not extend it). Each refusal is a
/// diagnostic located in the file; `name` is the path as given.
pub fn load(name: &str, bytes: &[u8], now: Timestamp) -> Result<Plan, Diag> {
    let text = String::from_utf8_lossy(bytes);
    let file = SourceFile::new(name, text.as_ref());
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let diag = Diag::error(
            Code::InvalidPlan,
            format!("{name}:{}:{}: not a plan file: {e}", e.line(), e.column()),
        );
        let at = file.offset_of(LineCol {
            line: e.line(),
            column: e.column().max(1),
        });
        located(diag, &file, at.map(|at| Span::new(at, 0)), "here")
            .with_help("a plan is the JSON file written by `ecmguard plan -o PLAN`; make it again")
    })?;
    let Value::Object(object) = value else {
        return Err(Diag::error(
            Code::InvalidPlan,
            format!("{name}: not a plan file: not a JSON object"),
        )
        .with_help("a plan is the JSON file written by `ecmguard plan -o PLAN`"));
    };
    let schema = object.get("schema").and_then(Value::as_str);
    if schema != Some(PLAN_SCHEMA) {
        let diag = Diag::error(
            Code::PlanSchema,
            match schema {
                Some(schema) => format!(
                    "{name}: the plan's schema is `{}`; this ecmguard reads `{PLAN_SCHEMA}`",
                    crate::text::escape(schema)
                ),
                None => format!("{name}: no `schema`: not an ecmguard plan file"),
            },
        );
        return Err(
            located(diag, &file, value_span(&file, "schema"), "this schema").with_help(
                "make the plan again with this version of ecmguard (`ecmguard plan -o PLAN`)",
            ),
        );
    }
    let stated = object.get("digest").and_then(Value::as_str);
    let actual = digest(&object);
    if stated != Some(actual.as_str()) {
        let diag = Diag::error(
            Code::PlanEdited,
            format!(
                "{name}: the plan was changed after it was made: its digest is {}, its content hashes to {actual}",
                stated.map_or_else(
                    || "missing".to_owned(),
                    |s| crate::text::escape(s).into_owned()
                ),
            ),
        );
        return Err(located(diag, &file, value_span(&file, "digest"), "the digest written when the plan was made")
            .with_help("nothing was done: a plan is applied exactly as it was reviewed. Make a new plan (`ecmguard plan -o PLAN`) and review it"));
    }
    let mut members = object;
    members.remove("schema");
    members.remove("digest");
    let plan: Plan = serde_json::from_value(Value::Object(members)).map_err(|e| {
        Diag::error(
            Code::InvalidPlan,
            format!("{name}: not a plan file of this version: {e}"),
        )
        .with_help("make the plan again with this version of ecmguard (`ecmguard plan -o PLAN`)")
    })?;
    if now >= plan.expires_at {
        let diag = Diag::error(
            Code::PlanExpired,
            format!(
                "{name}: the plan expired at {} (it was made at {}); it is now {}",
                plan.expires_at,
                plan.created_at,
                Timestamp::from_second(now.as_second()).unwrap_or(now)
            ),
        );
        return Err(located(diag, &file, value_span(&file, "expires_at"), "expired")
            .with_help("nothing was done: the account may have changed since. Make a new plan and review it (`--plan-ttl` sets how long a plan lives)"));
    }
    Ok(plan)
}

fn located(diag: Diag, file: &Arc<SourceFile>, span: Option<Span>, label: &str) -> Diag {
    match span {
        Some(span) => diag.at(file, span, label),
        None => diag,
    }
}

/// The span of the value of the top-level member `key` in the file's text,
/// found by its key at the object's first level (nesting counted outside
/// strings); `None` when it is not there.
fn value_span(file: &SourceFile, key: &str) -> Option<Span> {
    let text = file.text();
    let bytes = text.as_bytes();
    let wanted = format!("\"{key}\"");
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let end = string_end(bytes, i)?;
                if depth == 1 && text[i..end] == wanted {
                    let rest = &text[end..];
                    let colon = rest.find(|c: char| !c.is_whitespace())?;
                    if !rest[colon..].starts_with(':') {
                        i = end;
                        continue;
                    }
                    let after = end + colon + 1;
                    let start = after + (text[after..].len() - text[after..].trim_start().len());
                    let len = match bytes.get(start) {
                        Some(b'"') => string_end(bytes, start)? - start,
                        _ => text[start..]
                            .find([',', '}', '\n'])
                            .unwrap_or(text.len() - start),
                    };
                    return Some(Span::new(start, len));
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The offset just past the string that starts at `start` (a `"`).
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::{Action, ActionKind, Kept, KeptReason, NotPlanned, SeenUsage};

    fn at(text: &str) -> Timestamp {
        text.parse().expect("a time")
    }

    fn sample() -> Plan {
        let mut image = Map::new();
        image.insert("ImageId".into(), "img-a".into());
        image.insert("ImageName".into(), "Legacy\u{7f}\"x\"\n".into());
        image.insert("ImageOwner".into(), 100012345678u64.into());
        Plan {
            tool_version: "0.0.0-test".into(),
            created_at: at("2026-12-07T10:00:00Z"),
            expires_at: at("2026-12-08T10:00:00Z"),
            evaluated_at: at("2026-01-01T00:00:00Z"),
            endpoint: Some("https://ecm.tencentcloudapi.com".into()),
            account: Some("0123456789abcdef".into()),
            policy_digest: "ab".repeat(32),
            selection: None,
            actions: vec![Action {
                kind: ActionKind::Rename {
                    to: "legacy".into(),
                },
                image_id: "img-a".into(),
                rule: "naming".into(),
                message: "bad name".into(),
                image,
                usage: Some(SeenUsage::default()),
            }],
            kept: vec![Kept {
                kind: ActionKind::Delete,
                image_id: "img-b".into(),
                rule: "unused".into(),
                message: "old".into(),
                reason: KeptReason::InUse {
                    instances: vec!["ein-1".into()],
                    modules: vec![],
                },
            }],
            not_planned: NotPlanned::default(),
        }
    }

    fn written(plan: &Plan) -> Vec<u8> {
        let mut out = Vec::new();
        write(plan, &mut out).expect("written");
        out
    }

    #[test]
    fn a_written_plan_loads_as_it_was() {
        let plan = sample();
        let loaded = load("p.json", &written(&plan), at("2026-12-07T12:00:00Z")).expect("loads");
        assert_eq!(loaded, plan);
    }

    #[test]
    fn the_digest_is_last_and_schema_first() {
        let text = String::from_utf8(written(&sample())).expect("utf-8");
        let value: Value = serde_json::from_str(&text).expect("json");
        let keys: Vec<&String> = value.as_object().expect("object").keys().collect();
        assert_eq!(keys.first().map(|k| k.as_str()), Some("schema"));
        assert_eq!(keys.last().map(|k| k.as_str()), Some("digest"));
    }

    #[test]
    fn a_changed_byte_is_refused_as_edited_at_the_digest() {
        let text = String::from_utf8(written(&sample())).expect("utf-8");
        let edited = text.replace("\"legacy\"", "\"legacz\"");
        assert_ne!(edited, text);
        let err = load("p.json", edited.as_bytes(), at("2026-12-07T12:00:00Z")).unwrap_err();
        assert_eq!(err.code, Code::PlanEdited);
        let (file, place) = err.location().expect("located");
        assert_eq!(file, "p.json");
        assert!(
            text.lines()
                .nth(place.line - 1)
                .unwrap()
                .contains("\"digest\"")
        );
    }

    #[test]
    fn an_expired_plan_is_refused_at_its_expiry() {
        let bytes = written(&sample());
        let err = load("p.json", &bytes, at("2026-12-08T10:00:00Z")).unwrap_err();
        assert_eq!(err.code, Code::PlanExpired);
        assert!(err.location().is_some());
        assert!(load("p.json", &bytes, at("2026-12-08T09:59:59Z")).is_ok());
    }

    #[test]
    fn another_schema_is_refused_before_the_digest_is_read() {
        let text = String::from_utf8(written(&sample())).expect("utf-8");
        let foreign = text.replace(PLAN_SCHEMA, "ecmguard/plan/v9");
        let err = load("p.json", foreign.as_bytes(), at("2026-12-07T12:00:00Z")).unwrap_err();
        assert_eq!(err.code, Code::PlanSchema);
        assert!(err.message.contains("ecmguard/plan/v9"));
        assert!(err.location().is_some());
    }

    #[test]
    fn not_json_is_located() {
        let err = load("p.json", b"{\n  \"schema\": ", at("2026-12-07T12:00:00Z")).unwrap_err();
        assert_eq!(err.code, Code::InvalidPlan);
        assert!(load("p.json", b"[1]", at("2026-12-07T12:00:00Z")).is_err());
    }

    #[test]
    fn the_canonical_form_escapes_as_jq_does() {
        let mut object = Map::new();
        object.insert("b".into(), "\u{7f}\u{1}\t\u{e9}".into());
        object.insert("a".into(), serde_json::json!({"z": 1, "y": [true, null]}));
        let mut canonical = String::new();
        write_canonical(&mut canonical, &Value::Object(object));
        assert_eq!(
            canonical,
            "{\"a\":{\"y\":[true,null],\"z\":1},\"b\":\"\\u007f\\u0001\\t\u{e9}\"}"
        );
    }

    #[test]
    fn the_target_must_be_the_plans() {
        let plan = sample();
        let endpoint = "https://ecm.tencentcloudapi.com";
        assert!(
            plan.check_target(endpoint, Some("0123456789abcdef"))
                .is_ok()
        );
        assert!(
            plan.check_target("https://ecm.tencentcloudapi.com/", Some("0123456789abcdef"))
                .is_ok()
        );
        let other = plan
            .check_target("http://127.0.0.1:9/", Some("0123456789abcdef"))
            .unwrap_err();
        assert_eq!(other.code, Code::PlanTarget);
        assert!(
            plan.check_target(endpoint, Some("fedcba9876543210"))
                .is_err()
        );
        assert!(plan.check_target(endpoint, None).is_err());
        let no_endpoint = Plan {
            endpoint: None,
            ..plan
        };
        assert!(
            no_endpoint
                .check_target(endpoint, Some("0123456789abcdef"))
                .is_err()
        );
    }
}
