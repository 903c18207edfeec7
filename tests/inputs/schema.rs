//! The JSON Schema of the config file (`schema/config.schema.json`), for
//! editors: the shipped example and the starter validate, mistakes are
//! rejected, and it knows exactly the config keys the code reads.

use std::path::Path;

use ecmguard::config::{self, KEYS};
use ecmguard::policy::yaml;
use ecmguard::source_text::SourceFile;
use serde_json::Value;

use crate::support::Test;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn schema() -> Value {
    let text = std::fs::read_to_string(root().join("schema/config.schema.json")).expect("schema");
    serde_json::from_str(&text).expect("schema is JSON")
}

fn as_json(text: &str) -> Value {
    yaml::parse(&SourceFile::new("ecmguard.yaml", text))
        .expect("YAML parses")
        .to_json()
}

/// The starter with every commented example switched on.
fn starter_uncommented() -> String {
    config::starter_yaml()
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if KEYS.iter().any(|k| rest.starts_with(&format!("{k}:"))) => rest,
            _ => line,
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn the_shipped_config_files_validate_and_load() {
    let validator = jsonschema::draft7::new(&schema()).expect("schema compiles");
    let example = root().join("examples/config/ecmguard.yaml");
    let example_text = std::fs::read_to_string(&example).expect("example");
    assert!(example_text.contains("# yaml-language-server: $schema="));
    for (name, text) in [
        ("examples/config/ecmguard.yaml", example_text),
        ("starter", config::starter_yaml().to_owned()),
        ("starter, uncommented", starter_uncommented()),
    ] {
        let errors: Vec<String> = validator
            .iter_errors(&as_json(&text))
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}:\n{}", errors.join("\n"));
    }
    assert!(
        config::load(Some(&example))
            .expect("the example loads")
            .is_some()
    );
}

/// The example in README's "Configuration" section is a valid config file.
#[test]
fn the_readme_example_is_valid() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let start = readme
        .find("```yaml\n# ecmguard.yaml\n")
        .expect("the example")
        + "```yaml\n".len();
    let end = start + readme[start..].find("```").expect("its end");
    let text = &readme[start..end];
    let config = config::parse(
        &SourceFile::new("ecmguard.yaml", text),
        Path::new("ecmguard.yaml"),
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(
        KEYS.iter()
            .filter(|k| text.contains(&format!("\n{k}:")))
            .count(),
        KEYS.len(),
        "the example shows every key"
    );
    assert!(config.history.is_some());
    let validator = jsonschema::draft7::new(&schema()).expect("schema compiles");
    assert!(validator.is_valid(&as_json(text)));
}

#[test]
fn the_schema_rejects_what_ecmguard_rejects() {
    let validator = jsonschema::draft7::new(&schema()).expect("schema compiles");
    for text in [
        "fail-on: error\n",
        "fail_on: eror\n",
        "secret_key: x\n",
        "policy: 5\n",
        "policy: []\n",
        "rate: \"20\"\n",
        "rate: 0\n",
        "timeout: 30\n",
        "timeout: 1mo\n",
        "reports: [jsno=x.json]\n",
        "history: postgres://u:pw@db/x\n",
        "account: \"\"\n",
        "- policy\n",
    ] {
        assert!(
            !validator.is_valid(&as_json(text)),
            "the schema accepts:\n{text}"
        );
        assert!(
            config::parse(
                &SourceFile::new("ecmguard.yaml", text),
                Path::new("ecmguard.yaml")
            )
            .is_err(),
            "ecmguard accepts:\n{text}"
        );
    }
}

#[test]
fn the_schema_knows_every_config_key_and_no_other() {
    let schema = schema();
    let mut properties: Vec<&str> = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .map(String::as_str)
        .collect();
    properties.sort_unstable();
    let mut keys = KEYS.to_vec();
    keys.sort_unstable();
    assert_eq!(properties, keys);
}

/// The example runs from anywhere: its paths are relative to itself.
#[test]
fn the_example_config_works_from_another_directory() {
    let example = root().join("examples/config/ecmguard.yaml");
    let example = example.to_str().expect("utf-8 path");
    let out = Test::new()
        .args(&["rules", "--format", "json", "--config", example])
        .run()
        .code(0);
    let report = out.json();
    let param = report["params"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "max_private_age").cloned())
        .expect("max_private_age");
    assert_eq!(param["value"], "90d");
    assert_eq!(param["source"]["kind"], "param_file");
    assert!(
        param["source"]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("examples/config/params/production.yaml")),
        "{param}"
    );
    assert!(
        report["rules"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["id"] == "ubuntu-base-image-available")),
        "the example inventory rules are loaded"
    );
}
