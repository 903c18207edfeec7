//! The JSON Schema for policy files (`schema/policy.schema.json`), used by
//! editors through the yaml-language-server header: every shipped policy and
//! example validates, invalid ones are rejected, and its field list is the
//! code's.

use std::path::{Path, PathBuf};

use ecmguard::image::Field;
use ecmguard::policy::yaml;
use ecmguard::source_text::SourceFile;
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/policy.schema.json"),
    )
    .expect("schema");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::draft7::new(&schema).expect("schema compiles")
}

fn as_json(name: &str, text: &str) -> Value {
    yaml::parse(&SourceFile::new(name, text))
        .expect("YAML parses")
        .to_json()
}

fn policy_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            policy_files(&path, out);
        } else if (name.ends_with(".yaml") || name.ends_with(".yml"))
            && !name.contains(".test.")
            && !path.components().any(|c| c.as_os_str() == "ci")
        {
            out.push(path);
        }
    }
}

#[test]
fn every_shipped_policy_and_example_validates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    policy_files(&root.join("policies"), &mut files);
    policy_files(&root.join("examples/policies"), &mut files);
    assert!(files.len() >= 3, "{files:?}");
    let validator = validator();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let instance = as_json(&file.display().to_string(), &text);
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{}:\n{}",
            file.display(),
            errors.join("\n")
        );
        assert!(
            text.contains("# yaml-language-server: $schema="),
            "{} lacks the schema header",
            file.display()
        );
    }
}

#[test]
fn invalid_policies_are_rejected_by_the_schema() {
    let validator = validator();
    let rule = |body: &str| format!("rules:\n  - id: r\n    title: T\n{body}");
    let invalid = [
        "rulez: []\n".to_owned(),
        rule("    assert: { ImageSize: \"50\" }\n"),
        rule("    assert: { ImageName: { newer_then: 180d } }\n"),
        rule("    assert: { ImageTyp: PRIVATE_IMAGE }\n"),
        rule("    assert: { ImageCreateTime: { older_than: 180 } }\n"),
        rule("    assert: { ImageState: NORMAL }\n    expect: { count: { gte: 1 } }\n"),
        rule("    severity: critical\n    assert: { ImageState: NORMAL }\n"),
        "rules:\n  - id: Bad_Id\n    title: T\n    assert: { ImageState: NORMAL }\n".to_owned(),
        format!(
            "{}waivers:\n  - rules: [r]\n",
            rule("    assert: { ImageState: NORMAL }\n")
        ),
    ];
    for text in invalid {
        assert!(
            !validator.is_valid(&as_json("t.yaml", &text)),
            "the schema accepts:\n{text}"
        );
    }
    let valid = rule(
        "    assert: { ImageSize: { lte: \"${max}\" }, Platform: [Ubuntu], ImageCreateTime: { newer_than: 1y6mo } }\n",
    );
    assert!(validator.is_valid(&as_json("t.yaml", &valid)));
}

#[test]
fn the_schema_knows_every_field_path() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/policy.schema.json"),
    )
    .unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let properties = &schema["definitions"]["condition"]["properties"];
    for field in Field::ALL {
        assert!(
            properties.get(field.path()).is_some(),
            "schema lacks {}",
            field.path()
        );
    }
}
