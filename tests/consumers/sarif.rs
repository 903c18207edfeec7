//! SARIF: the official validator, `Sarif.Multitool validate` from npm
//! `@microsoft/sarif-multitool` (.NET, self-contained). It exits 0 even when it
//! reports errors, so its `: error XXX1234:` lines are counted; and before any
//! file is trusted to be valid, a deliberately broken one must show its errors
//! (else "no error" would prove nothing).

use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use regex::Regex;

use super::{Reports, run, tool};

const INSTALL: &str = "Install the SARIF validator with `npm install --prefix \
     target/ci-tools/sarif-multitool-5.7.0 @microsoft/sarif-multitool-linux@5.7.0` and set \
     ECMGUARD_SARIF_MULTITOOL to the absolute path of its \
     node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool (`chmod +x` it if npm \
     dropped the execute bit), or `npm install -g @microsoft/sarif-multitool@5.7.0`.";

/// What the validator said about one file.
struct Verdict {
    errors: Vec<String>,
    /// Its whole output, for failure messages.
    log: String,
}

/// Validate one file.
fn validate(path: &std::path::Path) -> Verdict {
    let multitool = tool("ECMGUARD_SARIF_MULTITOOL", "sarif-multitool", INSTALL);
    let ran = run(
        Command::new(&multitool)
            .arg("validate")
            .arg(path)
            // A self-contained .NET program: without ICU it must run in invariant mode.
            .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1"),
        "the SARIF validator",
        Duration::from_secs(180),
    );
    assert_eq!(
        ran.code,
        Some(0),
        "the SARIF validator ({}) failed to run on {}\n{}",
        multitool.display(),
        path.display(),
        ran.log()
    );
    static ERROR: OnceLock<Regex> = OnceLock::new();
    let error = ERROR.get_or_init(|| Regex::new(r": error [A-Z]+[0-9]+:").expect("regex"));
    let log = format!("{}{}", ran.stdout, ran.stderr);
    Verdict {
        errors: log
            .lines()
            .filter(|line| error.is_match(line))
            .map(str::to_owned)
            .collect(),
        log,
    }
}

/// The fixture's SARIF with two schema errors: a property SARIF does not
/// define, and a line number below 1.
fn broken(reports: &Reports) -> std::path::PathBuf {
    let mut log: serde_json::Value =
        serde_json::from_str(&reports.read("fixture.sarif")).expect("the SARIF is JSON");
    log["bogus"] = 1.into();
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    let path = reports.path("broken.sarif");
    std::fs::write(&path, serde_json::to_vec(&log).expect("JSON")).expect("write");
    path
}

/// The validator sees errors: else a clean result below would be vacuous. Run
/// once per test process, before the first file is called valid.
fn validator_sees_errors() {
    static PROVEN: OnceLock<()> = OnceLock::new();
    PROVEN.get_or_init(|| {
        let reports = Reports::fixture();
        let verdict = validate(&broken(&reports));
        let mentions = |needle: &str| verdict.errors.iter().any(|e| e.contains(needle));
        assert!(
            verdict.errors.len() >= 2 && mentions("bogus") && mentions("startLine"),
            "the validator did not report the two errors of a broken file ({} found): \
             the check would be vacuous\n{}",
            verdict.errors.len(),
            verdict.log
        );
    });
}

/// `file` (in `reports`) must have no error.
#[track_caller]
fn assert_valid(reports: &Reports, file: &str) {
    validator_sees_errors();
    let verdict = validate(&reports.path(file));
    assert!(
        verdict.errors.is_empty(),
        "SARIF validator: {} error(s) in {file}\n{}",
        verdict.errors.len(),
        verdict.log
    );
}

#[test]
#[ignore = "needs the SARIF validator (npm @microsoft/sarif-multitool, ECMGUARD_SARIF_MULTITOOL): \
            .ci/run installs it and runs the ignored tests"]
fn the_validator_reports_a_broken_file() {
    validator_sees_errors();
}

#[test]
#[ignore = "needs the SARIF validator (npm @microsoft/sarif-multitool, ECMGUARD_SARIF_MULTITOOL): \
            .ci/run installs it and runs the ignored tests"]
fn the_fixture_report_has_no_validator_error() {
    assert_valid(&Reports::fixture(), "fixture.sarif");
}

#[test]
#[ignore = "needs the SARIF validator (npm @microsoft/sarif-multitool, ECMGUARD_SARIF_MULTITOOL): \
            .ci/run installs it and runs the ignored tests"]
fn the_example_account_report_has_no_validator_error() {
    assert_valid(&Reports::account_sarif(), "account.sarif");
}
