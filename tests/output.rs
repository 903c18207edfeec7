//! Snapshot tests (insta) of the human and JSON reports on the shipped
//! example data and policy pack, with a fixed `--now`.

use std::process::Command;

fn in_repo(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ecmguard"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "120")
        .output()
        .expect("run ecmguard");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const CHECK: &[&str] = &[
    "check",
    "--snapshot",
    "examples/snapshots/account.json",
    "--now",
    "2026-11-27T00:00:00+08:00",
];

#[test]
fn human_report_of_the_example() {
    let (code, stdout, stderr) = in_repo(CHECK);
    assert_eq!(code, 1, "{stderr}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn json_report_of_the_example() {
    let mut args = CHECK.to_vec();
    args.extend(["--format", "json"]);
    let (code, stdout, stderr) = in_repo(&args);
    assert_eq!(code, 1, "{stderr}");
    let mut report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    report["run"]["duration_seconds"] = serde_json::json!(0.0);
    report["tool"]["version"] = serde_json::json!("[version]");
    insta::assert_json_snapshot!(report);
}

#[test]
fn validate_the_shipped_pack() {
    let (code, stdout, stderr) = in_repo(&["validate"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("ok: 6 rules in 3 files valid"), "{stdout}");
}
