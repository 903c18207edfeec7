//! SARIF: valid against the official SARIF 2.1.0 JSON schema, and carrying
//! what code-scanning consumers use: rules, locations, fingerprints,
//! suppressions and baseline states.
//!
//! `tests/fixtures/sarif-2.1.0.json` is the schema file shipped inside the
//! npm package `@microsoft/sarif-multitool-linux` 5.7.0 (the official SARIF
//! validator; file `sarif-2.1.0.json`, sha256 1c49a0f2b604…ed798c), copied
//! unchanged. It is the SARIF 2.1.0 schema as the validator itself uses it:
//! declared as JSON Schema 2020-12, with the `language` pattern fixed to
//! `^[a-zA-Z]{2}(-[a-zA-Z]{2})?$`. The file published by OASIS declares
//! draft-07 and has `^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$` (a stray `]`);
//! the `jsonschema` crate checks a draft-07 schema against its meta-schema,
//! where a `pattern` must be a valid ECMA-262 regex, and refuses to build a
//! validator ("… is not a \"regex\""). This copy needs no patch; should it
//! ever be replaced by the OASIS file, patch that one pattern to the form
//! above (checked with jsonschema 0.61).

use std::collections::HashSet;

use serde_json::Value;

use super::support::{check, check_in, fixture_dir, json, render};

pub(super) fn validator() -> jsonschema::Validator {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif-2.1.0.json");
    let schema: Value =
        serde_json::from_slice(&std::fs::read(path).expect("schema file")).expect("schema JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

pub(super) fn errors(validator: &jsonschema::Validator, sarif: &Value) -> Vec<String> {
    validator
        .iter_errors(sarif)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn sarif() -> Value {
    let (text, _) = render("sarif");
    serde_json::from_str(&text).expect("SARIF is JSON")
}

#[test]
fn passes_the_official_schema() {
    let validator = validator();
    let log = sarif();
    assert_eq!(errors(&validator, &log), Vec::<String>::new());
    // Without the baseline too (no baselineState at all then).
    let output = check_in(&fixture_dir(), &[], &["--format", "sarif"]);
    let plain: Value = serde_json::from_slice(&output.stdout).expect("SARIF is JSON");
    assert_eq!(errors(&validator, &plain), Vec::<String>::new());
}

#[test]
fn the_schema_check_is_not_vacuous() {
    let validator = validator();
    let mut log = sarif();
    log["runs"][0]["results"][0]["level"] = Value::from("fatal");
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    assert_eq!(
        errors(&validator, &log).len(),
        2,
        "{:?}",
        errors(&validator, &log)
    );
}

#[test]
fn one_descriptor_per_rule_and_one_result_per_finding() {
    let log = sarif();
    let report = json();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let policy_rules = report["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), policy_rules.len());
    for (descriptor, rule) in rules.iter().zip(policy_rules) {
        assert_eq!(descriptor["id"], rule["id"]);
        assert_eq!(descriptor["shortDescription"]["text"], rule["title"]);
        let level = match rule["severity"].as_str() {
            Some("error") => "error",
            Some("warning") => "warning",
            _ => "note",
        };
        assert_eq!(descriptor["defaultConfiguration"]["level"], level);
    }
    let max_age = &rules[0];
    assert_eq!(
        max_age["helpUri"],
        "https://example.com/policies/private-image-max-age"
    );
    assert_eq!(
        max_age["properties"]["tags"],
        serde_json::json!(["lifecycle", "security"])
    );
    assert_eq!(max_age["name"], "PrivateImageMaxAge");

    let all_results = run["results"].as_array().expect("results");
    // Findings first, then a `notApplicable` result per rule not evaluated.
    let (results, not_applicable): (Vec<&Value>, Vec<&Value>) = all_results
        .iter()
        .partition(|r| r["kind"] != "notApplicable");
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(results.len(), findings.len());
    let skipped: Vec<&str> = report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter(|r| r["status"] == "skip")
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(
        not_applicable
            .iter()
            .filter_map(|r| r["ruleId"].as_str())
            .collect::<Vec<_>>(),
        skipped
    );
    assert!(not_applicable.iter().all(|r| r["level"] == "none"));
    for (result, finding) in results.iter().zip(findings) {
        assert_eq!(result["ruleId"], finding["rule"]);
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let physical = &result["locations"][0]["physicalLocation"];
        assert_eq!(physical["artifactLocation"]["uri"], "policy.yaml");
        assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(physical["region"]["startLine"], finding["location"]["line"]);
        assert_eq!(
            physical["region"]["startColumn"],
            finding["location"]["column"]
        );
        match finding["image"]["ImageId"].as_str() {
            Some(id) => {
                let logical = &result["locations"][0]["logicalLocations"][0];
                assert_eq!(logical["name"], id);
                assert_eq!(logical["kind"], "resource");
                assert_eq!(logical["fullyQualifiedName"], format!("ecm/images/{id}"));
            }
            None => assert!(result["locations"][0]["logicalLocations"].is_null()),
        }
        match finding["status"].as_str() {
            Some("waived") => {
                let suppression = &result["suppressions"][0];
                assert_eq!(suppression["kind"], "external");
                assert_eq!(suppression["status"], "accepted");
                assert_eq!(suppression["justification"], finding["waiver"]["reason"]);
                assert_eq!(result["baselineState"], "new");
            }
            Some("baselined") => {
                assert_eq!(result["baselineState"], "unchanged");
                assert!(result["suppressions"].is_null());
            }
            _ => {
                assert_eq!(result["baselineState"], "new");
                assert!(result["suppressions"].is_null());
            }
        }
    }
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    assert_eq!(run["invocations"][0]["exitCode"], 1);
    assert_eq!(run["tool"]["driver"]["name"], "ecmguard");
    assert_eq!(run["tool"]["driver"]["version"], env!("CARGO_PKG_VERSION"));
    let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .expect("SRCROOT");
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );
}

#[test]
fn without_a_baseline_there_is_no_baseline_state() {
    let output = check_in(&fixture_dir(), &[], &["--format", "sarif"]);
    let log: Value = serde_json::from_slice(&output.stdout).expect("SARIF");
    for result in log["runs"][0]["results"].as_array().expect("results") {
        assert!(result["baselineState"].is_null(), "{result}");
    }
}

fn fingerprints(log: &Value) -> Vec<String> {
    log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            r["partialFingerprints"]["ecmguard/v1"]
                .as_str()
                .expect("fingerprint")
                .to_owned()
        })
        .collect()
}

#[test]
fn fingerprints_are_unique_and_stable_across_runs() {
    let first = fingerprints(&sarif());
    let unique: HashSet<&String> = first.iter().collect();
    assert_eq!(unique.len(), first.len(), "{first:?}");
    assert!(first.contains(&"private-image-max-age/img-xss00001".to_owned()));
    assert!(first.contains(&"rocky-base-available".to_owned()));
    assert!(first.contains(&"private-image-names-unique/value:\"视频转码节点镜像\"".to_owned()));

    // Same data, images in the reverse order and read a day later: the
    // findings that remain keep their fingerprints.
    let dir = tempfile::tempdir().expect("temp dir");
    let fixture = fixture_dir();
    std::fs::copy(fixture.join("policy.yaml"), dir.path().join("policy.yaml"))
        .expect("copy policy");
    let mut snapshot: Value =
        serde_json::from_slice(&std::fs::read(fixture.join("snapshot.json")).expect("snapshot"))
            .expect("JSON");
    if let Some(images) = snapshot["ImageSet"].as_array_mut() {
        images.reverse();
    }
    std::fs::write(dir.path().join("snapshot.json"), snapshot.to_string()).expect("write snapshot");
    let output = check_in(
        dir.path(),
        &["--now", "2026-11-28T00:00:00+08:00"],
        &["--format", "sarif"],
    );
    let later: Value = serde_json::from_slice(&output.stdout).expect("SARIF");
    let second: HashSet<String> = fingerprints(&later).into_iter().collect();
    let first_without_baseline: HashSet<String> = {
        let output = check_in(&fixture, &[], &["--format", "sarif"]);
        fingerprints(&serde_json::from_slice(&output.stdout).expect("SARIF"))
            .into_iter()
            .collect()
    };
    assert_eq!(second, first_without_baseline);
}

#[test]
fn policy_paths_are_percent_encoded_uris() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("策略 policies");
    std::fs::create_dir(&nested).expect("mkdir");
    let fixture = fixture_dir();
    std::fs::copy(fixture.join("policy.yaml"), nested.join("a:b.yaml")).expect("copy policy");
    std::fs::copy(
        fixture.join("snapshot.json"),
        dir.path().join("snapshot.json"),
    )
    .expect("copy snapshot");
    std::fs::copy(fixture.join("policy.yaml"), dir.path().join("x:y #1%.yaml"))
        .expect("copy policy");
    // Each file's first result, as SARIF locates it.
    let uri_of = |policy: &str| {
        let output = crate::support::ecmguard_command()
            .current_dir(dir.path())
            .args(["check", "--policy", policy, "--snapshot", "snapshot.json"])
            .args(["--now", super::support::NOW, "--format", "sarif"])
            .output()
            .expect("runs");
        let log: Value = serde_json::from_slice(&output.stdout).expect("SARIF");
        assert_eq!(errors(&validator(), &log), Vec::<String>::new());
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .clone()
    };
    assert_eq!(
        uri_of("策略 policies/a:b.yaml"),
        "%E7%AD%96%E7%95%A5%20policies/a:b.yaml"
    );
    // `x:y…` alone would read as a URI with the scheme `x`.
    assert_eq!(uri_of("x:y #1%.yaml"), "./x:y%20%231%25.yaml");
}

#[test]
fn warnings_are_configuration_notifications() {
    let log = sarif();
    let notifications = &log["runs"][0]["invocations"][0]["toolConfigurationNotifications"];
    assert_eq!(notifications[0]["descriptor"]["id"], "waiver-expired");
    assert_eq!(notifications[0]["level"], "warning");
    assert_eq!(
        notifications[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        86
    );
    // The exit code is the report's, whatever the format.
    assert_eq!(check(&["--format", "sarif"]).status.code(), Some(1));
}
