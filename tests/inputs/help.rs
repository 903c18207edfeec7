//! The defaults `--help` shows are the library's constants, which settings
//! applies when neither a flag nor the config file gives a value.

use ecmguard::eval::FailOn;
use ecmguard::settings::DEFAULT_POLICY_DIR;
use ecmguard::source::live::{DEFAULT_ENDPOINT, DEFAULT_RATE, DEFAULT_TIMEOUT_TEXT};
use ecmguard::time::DEFAULT_API_ZONE;

use crate::support::Test;

fn help(command: &str) -> String {
    Test::new().args(&[command, "--help"]).run().code(0).stdout
}

#[test]
fn help_shows_the_defaults_settings_apply() {
    let check = help("check");
    for default in [
        format!("[default: {DEFAULT_POLICY_DIR}]"),
        format!("[default: {DEFAULT_API_ZONE}]"),
        format!("[default: {DEFAULT_ENDPOINT}]"),
        format!("[default: {DEFAULT_RATE}]"),
        format!("[default: {DEFAULT_TIMEOUT_TEXT}]"),
        format!("[default: {}]", FailOn::default().as_str()),
    ] {
        assert!(
            check.contains(&default),
            "check --help lacks {default}:\n{check}"
        );
    }
    for flag in ["--config <FILE>", "--param-file <FILE>"] {
        assert!(check.contains(flag), "check --help lacks {flag}");
    }
    let fetch = help("fetch");
    for default in [
        format!("[default: {DEFAULT_API_ZONE}]"),
        format!("[default: {DEFAULT_ENDPOINT}]"),
        format!("[default: {DEFAULT_RATE}]"),
        format!("[default: {DEFAULT_TIMEOUT_TEXT}]"),
    ] {
        assert!(
            fetch.contains(&default),
            "fetch --help lacks {default}:\n{fetch}"
        );
    }
    for command in ["validate", "rules", "test"] {
        let text = help(command);
        assert!(
            text.contains(&format!("[default: {DEFAULT_POLICY_DIR}]")),
            "{command}"
        );
        assert!(
            text.contains(&format!("[default: {DEFAULT_API_ZONE}]")),
            "{command}"
        );
    }
    // And what --help promises is what a run without flags or config uses.
    let out = Test::new()
        .policy("rules:\n  - id: r\n    title: T\n    severity: warning\n    assert: { ImageState: NORMAL }\n")
        .images(serde_json::json!([{ "ImageId": "img-a", "ImageState": "BROKEN" }]))
        .check(&["--format", "json"])
        .run()
        // A warning does not fail the gate at the default --fail-on error.
        .code(0);
    let report = out.json();
    assert_eq!(report["run"]["time_zone"], DEFAULT_API_ZONE);
    assert_eq!(report["run"]["fail_on"], FailOn::default().as_str());
}
