//! First-seen times and the grace status in every report format: present
//! with `--history`, absent without it (so reports of runs without a history
//! are exactly what they were).

use serde_json::{Value, json};

use crate::support::{Output, Test};

const POLICY: &str = "\
rules:
  - id: state
    title: Images are NORMAL
    assert: { ImageState: NORMAL }
  - id: named
    title: Images are named
    severity: warning
    grace: 7d
    assert: { ImageName: { exists: true } }
";

fn images() -> Value {
    json!([
        { "ImageId": "img-a", "ImageName": "a", "ImageState": "CREATING" },
        { "ImageId": "img-b", "ImageState": "NORMAL" }
    ])
}

/// Two runs a day apart, in `format`; the second one's output.
fn with_history(format: &str) -> Output {
    let first = Test::new()
        .policy(POLICY)
        .images(images())
        .args(&[
            "check",
            "--snapshot",
            "images.json",
            "--now",
            "2026-01-01T00:00:00+08:00",
            "--history",
            "h.db",
        ])
        .run();
    let history = first.dir().join("h.db");
    Test::new()
        .policy(POLICY)
        .images(images())
        .args(&[
            "check",
            "--snapshot",
            "images.json",
            "--now",
            "2026-01-02T00:00:00+08:00",
            "--history",
            &history.display().to_string(),
            "--format",
            format,
        ])
        .run()
        .code(1)
}

fn without_history(format: &str) -> Output {
    Test::new()
        .policy(POLICY)
        .images(images())
        .check(&["--format", format])
        .run()
        .code(1)
}

#[test]
fn json_has_first_seen_and_open_for_with_history_only() {
    let report = with_history("json").json();
    for finding in report["findings"].as_array().expect("findings") {
        assert_eq!(finding["first_seen"], "2026-01-01T00:00:00+08:00");
        assert_eq!(finding["open_for_seconds"], 86_400);
    }
    assert_eq!(report["findings"][1]["status"], "grace");
    assert_eq!(
        report["findings"][1]["grace_ends"],
        "2026-01-08T00:00:00+08:00"
    );
    assert_eq!(report["summary"]["grace"], 1);
    assert_eq!(report["rules"][1]["counts"]["grace"], 1);
    let plain = without_history("json").json();
    for finding in plain["findings"].as_array().expect("findings") {
        for key in ["first_seen", "open_for_seconds", "grace_ends"] {
            assert!(finding.get(key).is_none(), "{key} without --history");
        }
    }
}

#[test]
fn first_seen_follows_the_api_time_zone() {
    let first = Test::new()
        .policy(POLICY)
        .images(images())
        .args(&[
            "check",
            "--snapshot",
            "images.json",
            "--now",
            "2026-01-01T00:00:00+08:00",
            "--history",
            "h.db",
            "--api-time-zone",
            "UTC",
            "--format",
            "json",
        ])
        .run()
        .code(1);
    assert_eq!(
        first.json()["findings"][0]["first_seen"],
        "2025-12-31T16:00:00+00:00"
    );
}

#[test]
fn csv_has_two_more_columns_with_history_only() {
    let out = with_history("csv");
    let header = out.stdout.lines().next().expect("header");
    assert!(
        header.ends_with(",waiver_reason,first_seen,open_for_seconds"),
        "{header}"
    );
    let row = out.stdout.lines().nth(1).expect("row");
    assert!(row.ends_with(",2026-01-01T00:00:00+08:00,86400"), "{row}");
    let plain = without_history("csv");
    let header = plain.stdout.lines().next().expect("header");
    assert_eq!(header, ecmguard::report::csv::HEADER.join(","));
}

#[test]
fn sarif_results_carry_first_seen_as_properties() {
    let log: Value = serde_json::from_str(&with_history("sarif").stdout).expect("SARIF");
    let props = &log["runs"][0]["results"][0]["properties"];
    assert_eq!(props["firstSeen"], "2026-01-01T00:00:00+08:00");
    assert_eq!(props["openForSeconds"], 86_400);
    assert_eq!(
        log["runs"][0]["results"][1]["properties"]["status"],
        "grace"
    );
    let plain: Value = serde_json::from_str(&without_history("sarif").stdout).expect("SARIF");
    assert!(
        plain["runs"][0]["results"][0]["properties"]
            .get("firstSeen")
            .is_none()
    );
}

#[test]
fn markdown_and_html_show_first_seen_and_grace() {
    let md = with_history("markdown");
    md.stdout_has("| Image | Name | Status | First seen | Message |")
        .stdout_has("2026-01-01 00:00:00 \\(open 1d\\)")
        .stdout_has("### In grace (1)")
        .stdout_has("2026-01-08 00:00:00");
    let html = with_history("html");
    html.stdout_has("<th>First seen</th>")
        .stdout_has("<h2>In grace</h2>")
        .stdout_has("2026-01-01 00:00:00 (open 1d)");
    assert!(!without_history("markdown").stdout.contains("First seen"));
    assert!(!without_history("html").stdout.contains("First seen"));
}

#[test]
fn human_junit_and_github_set_grace_findings_aside() {
    with_history("human")
        .stdout_has("grace (1), not failing:")
        .stdout_has("first seen 2026-01-01 00:00:00 (open 1d); fails from 2026-01-08 00:00:00")
        .stdout_has("; 1 in grace");
    with_history("junit").stdout_has("in grace: not failing yet (fails from 2026-01-08 00:00:00)");
    with_history("github")
        .stdout_has("::notice title=ecmguard%3A violations in their grace period::1 violations");
    assert!(!without_history("human").stdout.contains("in grace"));
}

/// The human history lists accounts and rule ids whole, however long: they
/// are what a reader copies and searches for.
#[test]
fn the_human_history_never_cuts_an_account_or_a_rule_id() {
    let db = super::db::Db::sqlite();
    let account = "production-guangzhou-ecm-images-of-the-platform-team";
    let rule = "private-images-are-rebuilt-at-least-every-one-hundred-eighty-days";
    let policy = format!(
        "rules:\n  - id: {rule}\n    title: Images are NORMAL\n    assert: {{ ImageState: NORMAL }}\n"
    );
    super::db::check(&db, 1, &policy, images(), &["--account", account]).code(1);
    let out = super::db::history_run(&db, 2, "human", &[]).code(0);
    assert!(out.stdout.contains(account), "{}", out.stdout);
    assert!(out.stdout.contains(rule), "{}", out.stdout);
    assert!(!out.stdout.contains('…'), "{}", out.stdout);
}

/// Text from images (here through a message naming the image) is escaped in
/// the human history as in the check's report: no bidirectional override to
/// reorder the line, no `##[…]` for GitHub's runner to read as a command.
#[test]
fn the_human_history_escapes_hostile_text() {
    let db = super::db::Db::sqlite();
    let policy = "rules:\n  - id: state\n    title: Images are NORMAL\n    message: \"{ImageName} is not NORMAL\"\n    assert: { ImageState: NORMAL }\n";
    let hostile = json!([{
        "ImageId": "img-a",
        "ImageName": "evil\u{202e}txt.exe ##[set-output name=gate;]pass",
        "ImageState": "CREATING"
    }]);
    super::db::check(&db, 1, policy, hostile, &[]).code(1);
    let out = super::db::history_run(&db, 2, "human", &[]).code(0);
    assert!(out.stdout.contains("is not NORMAL"), "{}", out.stdout);
    assert!(!out.stdout.contains('\u{202e}'), "{}", out.stdout);
    assert!(!out.stdout.contains("##[set-output"), "{}", out.stdout);
}
