//! `grace` in the policy language: validated like every duration (params
//! too), fail-closed with a warning without `--history`, and testable in
//! policy tests with `status: grace` and a case's `history:`.

use serde_json::json;

use crate::support::{Test, diagnostics};

/// `state` with a 14-day grace period: a violation first seen on day 1 is in
/// grace until day 15 and fails from then on.
pub(super) const GRACE: &str = "\
rules:
  - id: state
    title: Images are NORMAL
    grace: 14d
    assert: { ImageState: NORMAL }
";

#[test]
fn without_history_grace_fails_at_once_with_a_warning() {
    let out = Test::new()
        .policy(GRACE)
        .images(json!([{ "ImageId": "img-a", "ImageState": "CREATING" }]))
        .check(&["--format", "json"])
        .run()
        .code(1);
    let report = out.json();
    assert_eq!(report["findings"][0]["status"], "violation");
    assert!(report["findings"][0].get("first_seen").is_none());
    let warning = &report["warnings"][0];
    assert_eq!(warning["code"], "grace-without-history");
    assert_eq!(warning["location"]["line"], 4);
    assert!(
        warning["message"]
            .as_str()
            .is_some_and(|m| m.contains("fails at once")),
        "{warning}"
    );
    // Nothing to warn about when nothing violates the rule.
    let clean = Test::new()
        .policy(GRACE)
        .images(json!([{ "ImageId": "img-a", "ImageState": "NORMAL" }]))
        .check(&["--format", "json"])
        .run()
        .code(0);
    assert_eq!(clean.json()["warnings"], json!([]));
}

#[test]
fn grace_is_validated_like_every_duration() {
    let cases = [
        ("grace: 14", "has no unit", "14d"),
        ("grace: 5m", "ambiguous", "min"),
        ("grace: [14d]", "must be a duration", "grace: 14d"),
        ("grace: \"${nope}\"", "unknown param `nope`", "params:"),
    ];
    for (line, message, help) in cases {
        let policy = GRACE.replace("grace: 14d", line);
        let diags = diagnostics(&policy);
        assert_eq!(diags.len(), 1, "{line}: {diags:?}");
        let diag = &diags[0];
        assert!(diag.message.contains(message), "{line}: {}", diag.message);
        assert!(
            diag.help.as_deref().is_some_and(|h| h.contains(help)),
            "{line}: {:?}",
            diag.help
        );
        let (_, at) = diag.location().expect("located");
        assert_eq!((at.line, at.column), (4, 12), "{line}");
    }
    // A param gives the grace period like any other duration operand.
    let with_param = format!(
        "{}params:\n  grace_period: {{ default: 7d }}\n",
        GRACE.replace("grace: 14d", "grace: \"${grace_period}\"")
    );
    let loaded = crate::support::compile(&with_param).expect("valid");
    let grace = loaded.policy.rules[0].grace.as_ref().expect("grace");
    assert_eq!(grace.duration.as_str(), "7d");
}

#[test]
fn policy_tests_know_the_grace_status() {
    let test_file = "\
now: 2026-01-15T00:00:00+08:00
cases:
  - name: first seen 5 days ago, within 14 days
    images: [{ ImageId: img-a, ImageState: CREATING }]
    history:
      - { rule: state, image: img-a, first_seen: 2026-01-10T00:00:00+08:00 }
    expect:
      - { rule: state, image: img-a, status: grace }
  - name: first seen 20 days ago, past its grace
    images: [{ ImageId: img-a, ImageState: CREATING }]
    history:
      - { rule: state, image: img-a, first_seen: 2025-12-26T00:00:00+08:00 }
    expect:
      - { rule: state, image: img-a, status: violation }
  - name: new in a history with nothing open
    images: [{ ImageId: img-b, ImageState: CREATING }]
    history: []
    expect:
      - { rule: state, image: img-b, status: grace }
  - name: without a history the grace is unknown, so it fails
    images: [{ ImageId: img-b, ImageState: CREATING }]
    expect:
      - { rule: state, image: img-b, status: violation }
";
    Test::new()
        .policy(GRACE)
        .file("policies/main.test.yaml", test_file)
        .args(&["test"])
        .run()
        .code(0)
        .stdout_has("4 passed");
    // A wrong expectation is caught: the status really is computed.
    Test::new()
        .policy(GRACE)
        .file(
            "policies/main.test.yaml",
            test_file.replacen("status: grace", "status: violation", 1),
        )
        .args(&["test"])
        .run()
        .code(2);
    // Unknown statuses list grace among the valid ones.
    Test::new()
        .policy(GRACE)
        .file(
            "policies/main.test.yaml",
            "now: 2026-01-15T00:00:00+08:00\ncases:\n  - name: x\n    images: []\n    expect:\n      - { rule: state, status: gracee }\n",
        )
        .args(&["test"])
        .run()
        .code(2)
        .stderr_has("did you mean `grace`");
}

#[test]
fn the_example_with_grace_passes_its_tests() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecmguard"))
        .current_dir(root)
        .args([
            "test",
            "--policy",
            "policies",
            "--policy",
            "examples/policies",
        ])
        .env("NO_COLOR", "1")
        .output()
        .expect("run ecmguard test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("examples/policies/remediation.test.yaml"),
        "{stdout}"
    );
    assert!(stdout.contains("a failed import seen three days ago is in grace"));
}

#[test]
fn a_written_baseline_includes_findings_in_grace() {
    let out = Test::new()
        .policy(GRACE)
        .images(json!([{ "ImageId": "img-a", "ImageState": "CREATING" }]))
        .check(&["--history", "h.db", "--write-baseline", "baseline.json"])
        .run()
        .code(0);
    let baseline: serde_json::Value =
        serde_json::from_str(&out.read("baseline.json")).expect("baseline JSON");
    assert_eq!(
        baseline["entries"],
        json!([{ "rule": "state", "image": "img-a" }]),
        "a violation in grace today fails later: adopting records it"
    );
}
