//! The JSON Schema for policy files that editors use (`schema/policy.schema.json`,
//! draft-07, named by the yaml-language-server header of a policy file), generated
//! from the code: the field paths from [`Field::ALL`] with their types, each type's
//! operators from [`Operator`], and the keys of a rule and a waiver, which a test
//! holds to the keys the validator reads. Regenerate the file with
//! `UPDATE_DOCS=1 cargo test --lib policy_schema`.
//!
//! To add a key to rules (or waivers): add it to `RULE_KEYS` (`WAIVER_KEYS`) where
//! the validator reads it, and its schema to [`rule`] ([`waiver`]) in the same
//! position; then regenerate.

use serde_json::{Map, Value, json};

use crate::image::{Field, FieldType};
use crate::policy::operator::Operator;

/// A name a param may have, and a reference to one as a value is written.
const PARAM_NAME: &str = r"^[A-Za-z_][A-Za-z0-9_]*$";
const PARAM_REFERENCE: &str = r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$";

/// Where the file is kept in the repository.
const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/policy.schema.json");

/// The whole schema.
fn policy_schema() -> Value {
    let mut definitions = Map::new();
    definitions.insert("param".into(), param());
    definitions.insert("rule".into(), rule());
    definitions.insert("condition".into(), condition());
    definitions.insert("waiver".into(), waiver());
    for ty in [
        FieldType::String,
        FieldType::Integer,
        FieldType::Boolean,
        FieldType::Timestamp,
    ] {
        definitions.insert(format!("{ty}Matcher"), matcher(ty));
    }
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://ecmguard.dev/schema/policy.schema.json",
        "title": "ecmguard policy file",
        "description": "Rules, waivers and params for ecmguard. Generated from its field table and operators (UPDATE_DOCS=1 cargo test --lib policy_schema).",
        "type": ["object", "null"],
        "additionalProperties": false,
        "properties": {
            "rules": {"type": "array", "items": {"$ref": "#/definitions/rule"}},
            "waivers": {"type": "array", "items": {"$ref": "#/definitions/waiver"}},
            "params": {
                "type": "object",
                "propertyNames": {"pattern": PARAM_NAME},
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "default": {"description": "Value used when no --param is given"},
                        "description": {"type": "string"},
                    },
                },
            },
        },
        "definitions": definitions,
    })
}

fn param() -> Value {
    json!({"type": "string", "pattern": PARAM_REFERENCE, "description": "A param reference: \"${name}\""})
}

/// A duration operand (`older_than`, `newer_than`, a rule's `grace`).
fn duration() -> Value {
    json!({
        "type": "string",
        "pattern": r"^(\$\{[A-Za-z_][A-Za-z0-9_]*\}|([0-9]+(s|min|h|d|w|mo|y))+)$",
        "description": "<integer><unit> groups, units s, min, h, d, w, mo, y (180d, 1y6mo, 36h), or a param",
    })
}

/// A time operand.
fn time() -> Value {
    json!({"type": "string", "description": "2024-01-31, 2024-01-31 08:00:00 (API zone) or RFC 3339 with an offset, or a param"})
}

fn one_or_param(schema: Value) -> Value {
    json!({"anyOf": [schema, {"$ref": "#/definitions/param"}]})
}

fn integer() -> Value {
    one_or_param(json!({"type": "integer"}))
}

/// The one-value operand of a field type (`eq`, `ne`, `gt`, …).
fn scalar(ty: FieldType) -> Value {
    match ty {
        FieldType::String => json!({"type": "string"}),
        FieldType::Integer => integer(),
        FieldType::Boolean => one_or_param(json!({"type": "boolean"})),
        FieldType::Timestamp => time(),
    }
}

/// The list operand of a field type (`in`, `not_in`).
fn list(ty: FieldType) -> Value {
    let items = match ty {
        FieldType::Integer => integer(),
        _ => json!({"type": "string"}),
    };
    one_or_param(json!({"type": "array", "minItems": 1, "items": items}))
}

/// What an operator takes on a field of type `ty`. Matched without a catch-all: an
/// operator added to [`Operator`] does not compile until its operand is written here.
fn operand(op: Operator, ty: FieldType) -> Value {
    match op {
        Operator::Eq
        | Operator::Ne
        | Operator::Gt
        | Operator::Gte
        | Operator::Lt
        | Operator::Lte => scalar(ty),
        Operator::In | Operator::NotIn => list(ty),
        Operator::Matches => {
            json!({"type": "string", "description": "Rust regex; anchor with ^…$"})
        }
        Operator::Glob => json!({"type": "string", "description": "*, ?, [abc]; whole value"}),
        Operator::NotMatches | Operator::StartsWith | Operator::EndsWith | Operator::Contains => {
            json!({"type": "string"})
        }
        Operator::OlderThan | Operator::NewerThan => duration(),
        Operator::Exists => json!({"type": "boolean", "description": op.meaning()}),
        Operator::IgnoreCase => json!({"type": "boolean"}),
    }
}

/// What a field of type `ty` may be matched with: a value alone (equal to), a list
/// alone (one of; not for booleans and times), or a mapping of the operators that
/// apply to the type.
fn matcher(ty: FieldType) -> Value {
    let operators: Map<String, Value> = Operator::for_type(ty)
        .into_iter()
        .map(|op| (op.name().to_owned(), operand(op, ty)))
        .collect();
    let mapping = json!({
        "type": "object",
        "minProperties": 1,
        "additionalProperties": false,
        "properties": operators,
    });
    let forms = match ty {
        FieldType::String => vec![
            json!({"type": "string", "description": "equal to"}),
            json!({"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "one of"}),
            mapping,
        ],
        FieldType::Integer => vec![
            json!({"type": "integer"}),
            json!({"$ref": "#/definitions/param"}),
            json!({"type": "array", "minItems": 1, "items": integer()}),
            mapping,
        ],
        FieldType::Boolean => vec![
            json!({"type": "boolean"}),
            json!({"$ref": "#/definitions/param"}),
            mapping,
        ],
        FieldType::Timestamp => vec![time(), mapping],
    };
    json!({"anyOf": forms})
}

/// A condition: one field path per key, or `all`/`any`/`not` of conditions.
fn condition() -> Value {
    let mut properties: Map<String, Value> = Field::ALL
        .iter()
        .map(|field| {
            let reference = format!("#/definitions/{}Matcher", field.ty());
            (field.path().to_owned(), json!({"$ref": reference}))
        })
        .collect();
    let conditions =
        json!({"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/condition"}});
    properties.insert("all".into(), conditions.clone());
    properties.insert("any".into(), conditions);
    properties.insert("not".into(), json!({"$ref": "#/definitions/condition"}));
    json!({"type": "object", "minProperties": 1, "additionalProperties": false, "properties": properties})
}

/// A rule, its keys in the order of `RULE_KEYS`.
fn rule() -> Value {
    let count = one_or_param(json!({"type": "integer", "minimum": 0}));
    let counts: Map<String, Value> = ["eq", "gte", "gt", "lte", "lt"]
        .into_iter()
        .map(|op| (op.to_owned(), count.clone()))
        .collect();
    let paths: Vec<&str> = Field::ALL.iter().map(|f| f.path()).collect();
    let mut grace = duration();
    grace["description"] = json!(
        "How long a new violation may stay open before it fails the gate (status grace until then); needs `check --history`, without it violations fail at once"
    );
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["id", "title"],
        "oneOf": [{"required": ["assert"]}, {"required": ["expect"]}],
        "properties": {
            "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]*$"},
            "title": {"type": "string", "minLength": 1},
            "severity": {"enum": ["error", "warning", "info"], "default": "error"},
            "description": {"type": "string"},
            "remediation": {"type": "string"},
            "url": {"type": "string", "pattern": "^https?://"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "where": {"$ref": "#/definitions/condition"},
            "assert": {"$ref": "#/definitions/condition"},
            "expect": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": false,
                "properties": {
                    "count": {"type": "object", "minProperties": 1, "additionalProperties": false, "properties": counts},
                    "unique": {"anyOf": [
                        {"enum": paths},
                        {"type": "array", "minItems": 1, "uniqueItems": true, "items": {"enum": paths}},
                    ]},
                },
            },
            "message": {"type": "string"},
            "unknown": {"enum": ["fail", "pass"], "default": "fail"},
            "grace": grace,
            "fix": {
                "description": "What `ecmguard plan` does to an image that violates this per-image rule (not on `expect` rules); templates as in `message`",
                "anyOf": [
                    {"enum": ["delete"]},
                    {
                        "type": "object",
                        "additionalProperties": false,
                        "minProperties": 1,
                        "maxProperties": 1,
                        "properties": {
                            "rename": {"type": "string", "description": "New ImageName (at most 20 characters)"},
                            "describe": {"type": "string", "description": "New ImageDescription (at most 60 characters)"},
                        },
                    },
                ],
            },
        },
    })
}

/// A waiver, its keys in the order of `WAIVER_KEYS`.
fn waiver() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["rules", "reason"],
        "properties": {
            "rules": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            "images": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            "where": {"$ref": "#/definitions/condition"},
            "reason": {"type": "string", "minLength": 1},
            "expires": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
            "owner": {"type": "string"},
        },
    })
}

/// The keys of a schema object's `properties`, in order.
fn property_names(schema: &Value) -> Vec<&str> {
    schema["properties"]
        .as_object()
        .map(|properties| properties.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// The schema knows exactly the keys the validator reads, in the same order.
#[test]
fn policy_schema_keys_are_the_validators() {
    use crate::policy::validate::{RULE_KEYS, TOP_KEYS, WAIVER_KEYS};
    let schema = policy_schema();
    assert_eq!(property_names(&schema), TOP_KEYS, "top-level keys");
    assert_eq!(
        property_names(&schema["definitions"]["rule"]),
        RULE_KEYS,
        "a rule's keys: add the new key's schema to `rule` in src/policy/schema.rs"
    );
    assert_eq!(
        property_names(&schema["definitions"]["waiver"]),
        WAIVER_KEYS,
        "a waiver's keys: add the new key's schema to `waiver` in src/policy/schema.rs"
    );
}

/// schema/policy.schema.json is the generated schema.
#[test]
fn policy_schema_is_generated_from_the_fields_and_operators() {
    let mut expected = serde_json::to_string_pretty(&policy_schema()).expect("JSON");
    expected.push('\n');
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(PATH, &expected).expect("write schema/policy.schema.json");
    }
    let actual = std::fs::read_to_string(PATH).expect("schema/policy.schema.json");
    assert!(
        actual == expected,
        "schema/policy.schema.json is stale: run UPDATE_DOCS=1 cargo test --lib policy_schema"
    );
}
