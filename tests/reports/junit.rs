//! JUnit: one test case per rule, failed exactly when the rule has failing
//! findings. (A real consumer, Python's junitparser, reads the file in
//! `tests/consumers/junit.rs`.)

use super::support::{json, render};

fn attribute<'a>(xml: &'a str, element: &str, name: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{element} "))?;
    let tag = &xml[start..start + xml[start..].find('>')?];
    let key = format!(" {name}=\"");
    let value = &tag[tag.find(&key)? + key.len()..];
    Some(&value[..value.find('"')?])
}

#[test]
fn a_case_per_rule_failed_when_it_fails_the_gate() {
    let (xml, code) = render("junit");
    assert_eq!(code, 1);
    let report = json();
    let rules = report["rules"].as_array().expect("rules").len();
    assert_eq!(xml.matches("<testcase ").count(), rules);
    assert_eq!(
        attribute(&xml, "testsuites", "tests"),
        Some(rules.to_string().as_str())
    );
    // Failing rules: max-age, state-normal, rocky (error severity, --fail-on error).
    assert_eq!(attribute(&xml, "testsuite", "failures"), Some("3"));
    assert_eq!(attribute(&xml, "testsuite", "skipped"), Some("1"));
    assert_eq!(xml.matches("<failure ").count(), 3);
    assert!(xml.contains("<failure message=\"4 violations, 1 indeterminate: "));
    assert!(!xml.contains("<script>"));
    assert!(xml.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(xml.contains("waiver: Legacy &quot;billing&quot; workload"));
    assert!(xml.contains("recorded in the baseline"));
}

#[test]
fn fail_on_never_has_no_failures() {
    let output = super::support::check(&["--format", "junit", "--fail-on", "never"]);
    let xml = String::from_utf8(output.stdout).expect("UTF-8");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(attribute(&xml, "testsuite", "failures"), Some("0"));
}
