//! Image names and API text written by an attacker: a newline then
//! `::error::`, GitHub's legacy `##[set-output …]`, ESC/OSC colour and
//! hyperlink sequences, a carriage return. Human output and stderr show them
//! escaped; data formats keep them exactly (escaped by their own syntax); in
//! GitHub Actions every stdout format but `github` is wrapped in
//! `::stop-commands::`, and `github` escapes its data.

use serde_json::json;

use crate::support::Test;

const HOSTILE: &str = "evil\n::error file=x::forged\r##[set-output name=gate;]pass \u{1b}[31mred\u{1b}]8;;http://x\u{7}link\u{9b}";

const POLICY: &str =
    "rules:\n  - id: state\n    title: Images are NORMAL\n    assert: { ImageState: NORMAL }\n";

const FORMATS: [&str; 8] = [
    "human", "json", "sarif", "junit", "markdown", "html", "csv", "github",
];

fn hostile_images() -> serde_json::Value {
    json!([
        { "ImageId": "img-evil", "ImageName": HOSTILE, "ImageState": "FAILED", "ImageDescription": HOSTILE },
        { "ImageId": "img-good", "ImageName": "good", "ImageState": "NORMAL" },
    ])
}

fn run(format: &str, github_actions: bool) -> crate::support::Output {
    let mut test = Test::new().policy(POLICY).images(hostile_images());
    if github_actions {
        test = test.env("GITHUB_ACTIONS", "true");
    }
    test.check(&["--format", format]).run().code(1)
}

/// What a terminal or a log would act on: raw controls (tab and our own
/// line feeds aside), and workflow commands.
fn assert_inert(what: &str, text: &str) {
    for c in text.chars() {
        assert!(
            !(c.is_control() && c != '\n' && c != '\t'),
            "{what} holds a raw control character {c:?}:\n{text}"
        );
    }
    assert!(!text.contains("##["), "{what} holds `##[`:\n{text}");
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "{what} has a line that is a workflow command: {line}"
        );
    }
}

#[test]
fn human_output_and_stderr_show_outside_text_escaped() {
    let out = run("human", false);
    assert_inert("human stdout", &out.stdout);
    assert_inert("stderr", &out.stderr);
    assert!(
        out.stdout
            .contains("evil\\u{a}::error file=x::forged\\u{d}#\\u{23}[set-output"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\\u{1b}[31mred"), "{}", out.stdout);
    for format in FORMATS {
        assert_inert(&format!("stderr of {format}"), &run(format, false).stderr);
    }
}

#[test]
fn data_formats_keep_the_value_exactly() {
    let out = run("json", false);
    let report = out.json();
    let names: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["image"]["ImageName"].as_str())
        .collect();
    assert_eq!(names, [HOSTILE]);
    assert_inert("json", &out.stdout);
    let sarif: serde_json::Value = serde_json::from_str(&run("sarif", false).stdout).unwrap();
    assert!(
        sarif.to_string().contains("##[set-output"),
        "kept, as JSON text"
    );
    // XML 1.0 cannot hold most control characters at all: the JUnit report
    // stays well-formed and shows them escaped.
    let junit = run("junit", false).stdout;
    assert_inert("junit", &junit);
    assert!(junit.contains("\\u{1b}[31mred"), "{junit}");
}

#[test]
fn the_github_format_cannot_be_made_to_issue_a_command() {
    let out = run("github", false);
    for line in out.stdout.lines() {
        let command = line.split("::").nth(1).unwrap_or_default();
        let name = command.split(' ').next().unwrap_or_default();
        assert!(
            ["error", "warning", "notice"].contains(&name),
            "an unexpected command: {line}"
        );
        assert!(!line.contains("##["), "{line}");
        assert!(!line.contains('\r') && !line.contains('\u{1b}'), "{line:?}");
    }
    assert!(
        out.stdout
            .contains("evil%0A::error file=x::forged%0D#%23[set-output"),
        "{}",
        out.stdout
    );
}

#[test]
fn in_github_actions_every_other_format_is_wrapped_in_stop_commands() {
    let mut tokens = Vec::new();
    for format in FORMATS.iter().filter(|f| **f != "github") {
        let out = run(format, true);
        let lines: Vec<&str> = out.stdout.lines().collect();
        let first = lines.first().copied().unwrap_or_default();
        let token = first
            .strip_prefix("::stop-commands::")
            .unwrap_or_else(|| panic!("{format}: not wrapped: {first}"));
        assert!(
            token.len() >= 32,
            "{format}: a token hard to guess: {token}"
        );
        assert_eq!(
            lines.last().copied(),
            Some(format!("::{token}::").as_str()),
            "{format}"
        );
        // The token does not appear in between: nothing can end the block early.
        assert_eq!(out.stdout.matches(token).count(), 2, "{format}");
        tokens.push(token.to_owned());
        assert_inert(&format!("stderr of {format}"), &out.stderr);
    }
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 7, "a fresh token every run");
    // `github` issues commands on purpose: not wrapped, data escaped.
    let out = run("github", true);
    assert!(out.stdout.starts_with("::error"), "{}", out.stdout);
    // A report written to a file is not wrapped, and stdout stays empty.
    let out = Test::new()
        .policy(POLICY)
        .images(hostile_images())
        .env("GITHUB_ACTIONS", "true")
        .check(&["--format", "json", "--output", "report.json"])
        .run()
        .code(1);
    assert_eq!(out.stdout, "");
    let file: serde_json::Value =
        serde_json::from_str(&out.read("report.json")).expect("plain JSON");
    assert_eq!(file["summary"]["images"], 2);
}

#[test]
fn api_error_text_reaches_stderr_escaped() {
    let error = json!({ "Response": { "Error": { "Code": "AuthFailure", "Message": HOSTILE }, "RequestId": "r" } });
    let out = Test::new()
        .policy(POLICY)
        .file("images.json", error.to_string())
        .check(&[])
        .run()
        .code(3);
    assert_inert("stderr", &out.stderr);
    assert!(out.stderr.contains("evil\\u{a}::error"), "{}", out.stderr);
}
