//! Snapshot tests (insta) of the human and JSON reports on the shipped
//! example data and policy pack, with a fixed `--now`: the human report at
//! 80 and 120 columns, with and without colour, `--quiet` and
//! `--max-findings 2`.

/// Run the binary in the repository with `COLUMNS` and extra environment;
/// colour off unless the arguments ask for it.
pub fn in_repo_at(args: &[&str], columns: u16, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = crate::support::ecmguard_command();
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("GITHUB_ACTIONS")
        // Results never depend on the machine's zone; the test proves it.
        .env("TZ", "America/Los_Angeles")
        .env("COLUMNS", columns.to_string());
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run ecmguard");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn in_repo(args: &[&str]) -> (i32, String, String) {
    in_repo_at(args, 120, &[])
}

pub const CHECK: &[&str] = &[
    "check",
    "--snapshot",
    "examples/snapshots/account.json",
    "--now",
    "2026-11-27T00:00:00+08:00",
];

/// The example check with `extra` flags at `columns`: its stdout, after
/// checking the exit code.
fn human(extra: &[&str], columns: u16) -> String {
    let mut args = CHECK.to_vec();
    args.extend(extra);
    let (code, stdout, stderr) = in_repo_at(&args, columns, &[]);
    assert_eq!(code, 1, "{stderr}");
    stdout
}

#[test]
fn human_report_at_80_columns() {
    insta::assert_snapshot!(human(&[], 80));
}

#[test]
fn human_report_at_120_columns() {
    insta::assert_snapshot!(human(&[], 120));
}

/// Colour forced on a pipe, the escape codes made visible (`␛[1;31m`).
#[test]
fn human_report_in_colour() {
    let stdout = human(&["--color", "always"], 80);
    assert!(stdout.contains("\u{1b}["), "{stdout}");
    insta::assert_snapshot!(stdout.replace('\u{1b}', "␛"));
}

#[test]
fn human_report_quiet() {
    insta::assert_snapshot!(human(&["--quiet"], 80));
}

#[test]
fn human_report_with_two_findings_per_rule() {
    insta::assert_snapshot!(human(&["--max-findings", "2"], 80));
}

/// With the inventory rules and the waiver: set-level blocks, a `{value}`
/// and `{images}` message, the waived list.
#[test]
fn human_report_with_the_inventory_rules() {
    insta::assert_snapshot!(human(
        &["--policy", "policies", "--policy", "examples/policies"],
        100
    ));
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
    assert!(stdout.contains("ok: 7 rules in 4 files valid"), "{stdout}");
}
