//! Governance over time: the exit-code matrix (severity × status × --fail-on
//! × format), adoption on an account with existing violations (baseline,
//! waiver, expiry), `ecmguard test` and `ecmguard rules`.

use serde_json::json;

use crate::support::Test;

/// A policy with one rule of `severity`, and the waiver/baseline/grace (with
/// a fresh history) that give the wanted `status` on image `img-x`.
fn matrix_case(severity: &str, status: &str, fail_on: &str, format: &str) -> i32 {
    let grace = if status == "grace" {
        "    grace: 14d\n"
    } else {
        ""
    };
    let mut policy = format!(
        "rules:\n  - id: r\n    title: R\n    severity: {severity}\n{grace}    assert: {{ ImageState: NORMAL }}\n"
    );
    let image = if status == "indeterminate" {
        json!({ "ImageId": "img-x" })
    } else {
        json!({ "ImageId": "img-x", "ImageState": "CREATING" })
    };
    if status == "waived" {
        policy.push_str("waivers:\n  - rules: [r]\n    images: [img-x]\n    reason: accepted\n");
    }
    let mut test = Test::new().policy(&policy).images(json!([image]));
    let mut args = vec!["--fail-on", fail_on, "--format", format];
    if status == "baselined" {
        test = test.file("baseline.json", json!({ "schema": "ecmguard/baseline/v1", "entries": [{ "rule": "r", "image": "img-x" }] }).to_string());
        args.extend(["--baseline", "baseline.json"]);
    }
    if status == "grace" {
        // A new violation of a rule with grace: grace never fails the gate
        // (README, "Exit codes").
        args.extend(["--history", "history.db"]);
    }
    test.check(&args).run().code
}

#[test]
fn exit_code_matrix() {
    let formats = [
        "human", "json", "sarif", "junit", "markdown", "html", "csv", "github",
    ];
    let mut wrong = Vec::new();
    let mut runs = 0;
    for severity in ["error", "warning", "info"] {
        for status in ["violation", "indeterminate", "waived", "baselined", "grace"] {
            for fail_on in ["error", "warning", "info", "never"] {
                let rank = |s: &str| match s {
                    "error" => 3,
                    "warning" => 2,
                    "info" => 1,
                    _ => 4,
                };
                let fails = matches!(status, "violation" | "indeterminate")
                    && fail_on != "never"
                    && rank(severity) >= rank(fail_on);
                let expected = i32::from(fails);
                for format in formats {
                    runs += 1;
                    let got = matrix_case(severity, status, fail_on, format);
                    if got != expected {
                        wrong.push(format!("{severity} {status} --fail-on {fail_on} --format {format}: expected {expected}, got {got}"));
                    }
                }
            }
        }
    }
    // Nothing checked fails whatever --fail-on says (it is not a finding),
    // unless --allow-empty; a narrowed selection never fails on a
    // set-level rule (it is skipped), where the whole account does.
    let set_level = "rules:\n  - id: ubuntu\n    title: Ubuntu exists\n    where: { Platform: Ubuntu }\n    expect: { count: { gte: 1 } }\n";
    for fail_on in ["error", "warning", "info", "never"] {
        for format in formats {
            for (case, images, extra, expected) in [
                ("empty", json!([]), vec![], 1),
                // Accepted as empty: only the rule's own finding (no Ubuntu image) counts.
                (
                    "empty --allow-empty",
                    json!([]),
                    vec!["--allow-empty"],
                    i32::from(fail_on != "never"),
                ),
                (
                    "selection",
                    json!([{ "ImageId": "img-x", "Platform": "CentOS" }]),
                    vec!["--image", "img-x"],
                    0,
                ),
            ] {
                runs += 1;
                let mut args = vec!["--fail-on", fail_on, "--format", format];
                args.extend(extra);
                let got = Test::new()
                    .policy(set_level)
                    .images(images)
                    .check(&args)
                    .run()
                    .code;
                if got != expected {
                    wrong.push(format!("{case} --fail-on {fail_on} --format {format}: expected {expected}, got {got}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {runs} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

const POLICY: &str = "\
rules:
  - id: state
    title: Images are NORMAL
    assert: { ImageState: NORMAL }
";

fn account(violations: usize) -> Vec<serde_json::Value> {
    (0..violations)
        .map(|i| json!({ "ImageId": format!("img-{i:08}"), "ImageState": "IMPORTFAILED" }))
        .collect()
}

#[test]
fn adopting_on_an_account_with_300_violations() {
    // 1. Today's account has 300 violations: the gate fails.
    let existing = account(300);
    let first = Test::new()
        .policy(POLICY)
        .images(json!(existing))
        .check(&["--write-baseline", "baseline.json"])
        .run()
        .code(1);
    let baseline = first.read("baseline.json");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&baseline).unwrap()["entries"]
            .as_array()
            .unwrap()
            .len(),
        300
    );

    // 2. With the baseline, the same account passes: all 300 are baselined.
    let out = Test::new()
        .policy(POLICY)
        .images(json!(existing))
        .file("baseline.json", &baseline)
        .check(&["--baseline", "baseline.json", "--format", "json"])
        .run()
        .code(0);
    assert_eq!(out.json()["summary"]["baselined"], 300);

    // 3. A new violation fails the gate; the old ones stay baselined.
    let mut grown = existing.clone();
    grown.push(json!({ "ImageId": "img-new", "ImageState": "CREATING" }));
    Test::new()
        .policy(POLICY)
        .images(json!(grown))
        .file("baseline.json", &baseline)
        .check(&["--baseline", "baseline.json"])
        .run()
        .code(1)
        .stdout_has("img-new: ImageState is \"CREATING\"")
        .stdout_has(
            "1 error, 0 warning, 0 info violations; 0 indeterminate; 0 waived; 300 baselined",
        );

    // 4. Waive the new image until 2026-03-31: the gate passes again.
    let waived = format!(
        "{POLICY}waivers:\n  - rules: [state]\n    images: [img-new]\n    reason: rebuild tracked in OPS-7\n    expires: 2026-03-31\n    owner: platform-team\n"
    );
    Test::new()
        .policy(&waived)
        .images(json!(grown))
        .file("baseline.json", &baseline)
        .check(&["--baseline", "baseline.json"])
        .run()
        .code(0)
        .stdout_has("rebuild tracked in OPS-7 (until 2026-03-31)");

    // 5. After the expiry date the waiver stops applying and warns.
    let after = Test::new()
        .policy(&waived)
        .images(json!(grown))
        .file("baseline.json", &baseline)
        .args(&[
            "check",
            "--snapshot",
            "images.json",
            "--baseline",
            "baseline.json",
            "--now",
            "2026-04-01T09:00:00+08:00",
        ])
        .run()
        .code(1)
        .stdout_has("waiver expired on 2026-03-31: 1 finding it covered fails again")
        .stdout_has("… and 290 more");
    assert!(
        after.stdout.contains("policies/main.yaml:6:5"),
        "{}",
        after.stdout
    );

    // 6. Fixing old images shows up as fixed baseline entries.
    let fixed: Vec<_> = existing.iter().skip(10).cloned().collect();
    let out = Test::new()
        .policy(POLICY)
        .images(json!(fixed))
        .file("baseline.json", &baseline)
        .check(&["--baseline", "baseline.json", "--format", "json"])
        .run()
        .code(0);
    assert_eq!(out.json()["baseline_fixed"].as_array().unwrap().len(), 10);
}

#[test]
fn unused_waivers_and_params_warn_without_failing() {
    let policy = format!(
        "params:\n  spare: {{ default: 1 }}\n{POLICY}waivers:\n  - rules: [state]\n    images: [img-gone]\n    reason: old\n"
    );
    let out = Test::new()
        .policy(&policy)
        .images(json!([{ "ImageId": "img-a", "ImageState": "NORMAL" }]))
        .check(&["--format", "json"])
        .run()
        .code(0);
    let codes: Vec<String> = out.json()["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, ["unused-param", "waiver-unused"]);
}

const TESTED: &str = "now: 2026-01-01T00:00:00+08:00\ncases:\n  - name: a failed import is flagged\n    images:\n      - { ImageId: img-a, ImageState: IMPORTFAILED }\n    expect:\n      - { rule: state, image: img-a, status: violation }\n";

#[test]
fn policy_tests_pass_and_fail_with_a_difference() {
    Test::new()
        .file("policies/main.yaml", POLICY)
        .file("policies/main.test.yaml", TESTED)
        .args(&["test"])
        .run()
        .code(0)
        .stdout_has("ok    a failed import is flagged")
        .stdout_has("policy-tests: 1 passed, 0 failed");
    let wrong = TESTED.replace("status: violation", "status: indeterminate");
    Test::new()
        .file("policies/main.yaml", POLICY)
        .file("policies/main.test.yaml", wrong)
        .args(&["test"])
        .run()
        .code(2)
        .stdout_has("FAIL  a failed import is flagged")
        .stdout_has("expected, not found: { rule: state, image: img-a, status: indeterminate }")
        .stdout_has("found, not expected: { rule: state, image: img-a, status: violation }")
        .stdout_has("policy-tests: 0 passed, 1 failed");
}

#[test]
fn policy_test_files_are_validated_with_locations() {
    let bad = "now: 2026-01-01T00:00:00+08:00\ncases:\n  - name: x\n    images: [{ ImageId: img-a, ImageSize: \"50\" }]\n    expect: [{ rule: state, status: violated }]\n";
    Test::new()
        .file("policies/main.yaml", POLICY)
        .file("policies/main.test.yaml", bad)
        .args(&["test"])
        .run()
        .code(2)
        .stderr_has("policies/main.test.yaml:4:43")
        .stderr_has("`ImageSize` is an integer, found a string")
        .stderr_has("remove the quotes: 50")
        .stderr_has("unknown status \"violated\"")
        .stderr_has("did you mean `violation`?");
}

#[test]
fn the_shipped_pack_passes_its_own_tests() {
    let output = crate::support::ecmguard_command()
        .arg("test")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

/// Every rule of the shipped pack is tested both ways by its `*.test.yaml`
/// files (found, not listed): a case in which the rule fails with the
/// findings the case expects of it, and a case in which it is evaluated on
/// an image in its scope (the whole set, for a set-level rule) and passes.
/// Every case passes, as `ecmguard test` runs it.
#[test]
fn every_shipped_rule_has_a_failing_and_a_passing_case() {
    use ecmguard::eval::{RuleStatus, Status};
    use ecmguard::policy::test_files::{self, Expected};
    use ecmguard::source_text::SourceFile;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let options = crate::support::options();
    let files = ecmguard::policy::discover(std::slice::from_ref(&root)).expect("the pack");
    let sources: Vec<Arc<SourceFile>> = files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("a policy file");
            SourceFile::new(path.display().to_string(), text)
        })
        .collect();
    let pack = ecmguard::policy::compile(sources.clone(), &options).expect("the pack loads");
    let mut test_files: Vec<_> = std::fs::read_dir(&root)
        .expect("policies/")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.to_string_lossy().ends_with(".test.yaml"))
        .collect();
    test_files.sort();
    assert!(!test_files.is_empty(), "no *.test.yaml in policies/");
    let (mut failing, mut passing) = (BTreeSet::new(), BTreeSet::new());
    for path in &test_files {
        let text = std::fs::read_to_string(path).expect("a test file");
        let file = SourceFile::new(path.display().to_string(), text);
        let tests = test_files::parse(&file, &options, None)
            .unwrap_or_else(|problems| panic!("{}: {problems:?}", path.display()));
        let results = test_files::run_file(&tests, &sources, &pack.policy, &options)
            .unwrap_or_else(|problems| panic!("{}: {problems:?}", path.display()));
        for result in &results {
            assert!(
                result.passed(),
                "{}: case `{}` fails: {result:?}",
                path.display(),
                result.name
            );
        }
        for case in &tests.cases {
            let (policy, _, evaluation) = test_files::evaluate_case(case, &sources, &options)
                .unwrap_or_else(|p| panic!("case `{}`: {p:?}", case.name));
            for (rule, result) in policy.rules.iter().zip(&evaluation.rules) {
                let expected_failing = case.expect.iter().any(|e: &Expected| {
                    e.rule == rule.id
                        && matches!(e.status, Status::Violation | Status::Indeterminate)
                });
                // A set-level rule passes on the set; a per-image rule must
                // have passed on at least one image (not skipped for none).
                let passed = result.status == RuleStatus::Pass
                    && (rule.is_set_level() || result.counts.passed > 0);
                if result.status == RuleStatus::Fail && expected_failing {
                    failing.insert(rule.id.clone());
                }
                if passed {
                    passing.insert(rule.id.clone());
                }
            }
        }
    }
    let ids: BTreeSet<String> = pack.policy.rules.iter().map(|r| r.id.clone()).collect();
    let no_failing: Vec<&String> = ids.difference(&failing).collect();
    let no_passing: Vec<&String> = ids.difference(&passing).collect();
    assert!(
        no_failing.is_empty(),
        "no case fails these rules as it expects: {no_failing:?}"
    );
    assert!(
        no_passing.is_empty(),
        "no case passes these rules on an image in scope: {no_passing:?}"
    );
}

#[test]
fn rules_lists_in_three_formats() {
    let t = || {
        Test::new().policy("rules:\n  - id: a\n    title: A | pipe\n    tags: [x]\n    assert: { ImageState: NORMAL }\n")
    };
    t().args(&["rules"])
        .run()
        .code(0)
        .stdout_has("a  error    image  A | pipe");
    let out = t().args(&["rules", "--format", "json"]).run().code(0);
    assert_eq!(
        out.json()["rules"][0]["location"],
        json!({ "file": "policies/main.yaml", "line": 2, "column": 5 })
    );
    t().args(&["rules", "--format", "markdown"])
        .run()
        .code(0)
        .stdout_has("| `a` | error | image | A \\| pipe | x |");
}
