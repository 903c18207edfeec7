//! JUnit: read by Python's junitparser (PyPI), the reader behind many CI
//! tools' JUnit handling. A small Python program prints what junitparser
//! understood of the file as JSON (suites, their counts, every case with its
//! results and system-out); the test compares that with the JSON report of
//! the same run.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::{Reports, run, tool};

const INSTALL: &str = "Make a Python with junitparser: `python3 -m venv target/ci-tools/venv && \
     target/ci-tools/venv/bin/pip install 'junitparser>=3,<6'`, and set ECMGUARD_PYTHON to \
     target/ci-tools/venv/bin/python (an absolute path).";

/// junitparser's reading of a JUnit file (argv[1]), as JSON on stdout.
const READ: &str = r#"
import json, sys
from junitparser import JUnitXml, Failure, Skipped, Error

xml = JUnitXml.fromfile(sys.argv[1])
suites = list(xml) if isinstance(xml, JUnitXml) else [xml]

def kind(result):
    for cls, name in ((Failure, "failure"), (Skipped, "skipped"), (Error, "error")):
        if isinstance(result, cls):
            return name
    return type(result).__name__

json.dump([{
    "name": suite.name,
    "tests": suite.tests,
    "failures": suite.failures,
    "skipped": suite.skipped,
    "errors": suite.errors,
    "cases": [{
        "name": case.name,
        "results": [{"kind": kind(r), "message": r.message, "text": r.text} for r in case.result],
        "system_out": case.system_out,
    } for case in suite],
} for suite in suites], sys.stdout)
"#;

#[test]
#[ignore = "needs Python with junitparser (PyPI, ECMGUARD_PYTHON): \
            .ci/run installs it and runs the ignored tests"]
fn junitparser_reads_the_counts_and_statuses_of_the_json_report() {
    let python = tool("ECMGUARD_PYTHON", "python3", INSTALL);
    let probe = run(
        Command::new(&python).args(["-c", "import junitparser"]),
        "Python",
        Duration::from_secs(60),
    );
    assert_eq!(
        probe.code,
        Some(0),
        "{} cannot import junitparser. {INSTALL}\n{}",
        python.display(),
        probe.log()
    );

    let reports = Reports::fixture();
    let ran = run(
        Command::new(&python)
            .args(["-c", READ])
            .arg(reports.path("fixture.xml")),
        "junitparser",
        Duration::from_secs(60),
    );
    assert_eq!(
        ran.code,
        Some(0),
        "junitparser could not read the JUnit report\n{}",
        ran.log()
    );
    let suites: Value = serde_json::from_str(&ran.stdout).expect("the reader prints JSON");
    let report: Value =
        serde_json::from_str(&reports.read("fixture.json")).expect("the JSON report parses");

    let rules: Vec<&str> = report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["id"].as_str().expect("rule id"))
        .collect();
    let findings = report["findings"].as_array().expect("findings");
    let failing: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f["failing"] == true)
        .map(|f| f["rule"].as_str().expect("rule"))
        .collect();
    let skipped: BTreeSet<&str> = report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter(|r| r["status"] == "skip")
        .map(|r| r["id"].as_str().expect("rule id"))
        .collect();
    // Vacuity: the fixture has rules of every outcome.
    assert!(
        !failing.is_empty() && !skipped.is_empty() && rules.len() > failing.len() + skipped.len()
    );

    let suites = suites.as_array().expect("suites");
    assert_eq!(suites.len(), 1, "one suite: {suites:?}");
    let suite = &suites[0];
    let cases = suite["cases"].as_array().expect("cases");
    let names: Vec<&str> = cases
        .iter()
        .map(|c| c["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, rules, "a case per rule, in the report's order");
    assert_eq!(suite["tests"], rules.len(), "tests");
    assert_eq!(suite["failures"], failing.len(), "failures: {failing:?}");
    assert_eq!(suite["skipped"], skipped.len(), "skipped: {skipped:?}");
    assert_eq!(suite["errors"], 0, "errors");

    for case in cases {
        let name = case["name"].as_str().expect("name");
        let results = case["results"].as_array().expect("results");
        let kinds: Vec<&str> = results
            .iter()
            .map(|r| r["kind"].as_str().unwrap_or(""))
            .collect();
        if failing.contains(name) {
            assert_eq!(kinds, ["failure"], "{name}");
            let count = findings
                .iter()
                .filter(|f| f["rule"] == name && f["failing"] == true)
                .count();
            let lines = results[0]["text"]
                .as_str()
                .unwrap_or("")
                .trim()
                .lines()
                .count();
            assert!(
                lines >= count,
                "{name}: {lines} line(s) of failure text for {count} failing finding(s)"
            );
        } else if skipped.contains(name) {
            assert_eq!(kinds, ["skipped"], "{name}");
        } else {
            assert!(kinds.is_empty(), "{name} passes, but has {kinds:?}");
        }
    }
    assert!(
        cases.iter().any(|c| c["system_out"]
            .as_str()
            .is_some_and(|s| s.contains("waiver:"))),
        "waived findings are noted in system-out"
    );
}
