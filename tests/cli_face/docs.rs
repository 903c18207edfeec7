//! The docs say what the tool does: the defaults in help and docs agree
//! with the code, commands shown in docs use files of this repository, and
//! flags a command refuses are not offered by its help.

use std::path::Path;

use ecmguard::source::live::{DEFAULT_TIMEOUT, DEFAULT_TIMEOUT_TEXT};

use crate::support::{NOW, Test};

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_timeout_default_is_the_same_in_help_docs_and_code() {
    let seconds = DEFAULT_TIMEOUT.as_secs();
    assert_eq!(DEFAULT_TIMEOUT_TEXT, format!("{seconds}s"));
    for command in ["check", "fetch"] {
        Test::new()
            .args(&[command, "--help"])
            .run()
            .code(0)
            .stdout_has(&format!("[default: {DEFAULT_TIMEOUT_TEXT}]"));
    }
    let live = read("docs/live.md");
    assert!(
        live.contains(&format!("**Timeout default {seconds} s**")),
        "docs/live.md states another default"
    );
    assert!(live.contains(&format!("{seconds} s per request")));
    assert!(read("README.md").contains(&format!("timeout: {DEFAULT_TIMEOUT_TEXT}")));
}

#[test]
fn fetch_offers_no_snapshot_flag() {
    let help = Test::new().args(&["fetch", "--help"]).run().code(0);
    assert!(!help.stdout.contains("--snapshot"), "{}", help.stdout);
    Test::new()
        .args(&["fetch", "-o", "x.json", "--snapshot", "s.json"])
        .run()
        .code(2);
}

/// `--images PATH` and `--snapshot PATH` in the docs name files that are in
/// the repository, so the commands run from a clone.
#[test]
fn files_named_in_doc_commands_are_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for doc in [
        "README.md",
        "docs/live.md",
        "examples/README.md",
        "docs/policy-language.md",
    ] {
        let text = read(doc);
        let words: Vec<&str> = text.split_whitespace().collect();
        for pair in words.windows(2) {
            if matches!(pair[0], "--images" | "--snapshot")
                && !pair[1].starts_with('-')
                && pair[1].contains('/')
                && !pair[1].contains("FILE")
                && !pair[1].starts_with('/')
            {
                let path = pair[1].trim_end_matches(['`', ')', ',']);
                assert!(
                    root.join(path).is_file(),
                    "{doc}: {path} is not in the repository"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "no command with a file was found");
    assert!(read("docs/live.md").contains("--images tests/fixtures/tencent/sample_images.json"));
}

/// A test case without `now` runs at --now: tests never read the clock,
/// and --now is what a user passes for the whole file.
#[test]
fn test_now_is_the_time_of_cases_without_one() {
    let policy = "rules:\n  - id: fresh\n    title: Fresh\n    assert: { ImageCreateTime: { newer_than: 180d } }\n";
    let tests = "cases:\n  - name: old\n    images: [{ ImageId: img-a, ImageCreateTime: \"2025-01-01 00:00:00\" }]\n    expect: [{ rule: fresh, image: img-a, status: violation }]\n";
    Test::new()
        .policy(policy)
        .file("policies/main.test.yaml", tests)
        .args(&["test", "--now", NOW])
        .run()
        .code(0)
        .stdout_has("1 passed, 0 failed");
    Test::new()
        .policy(policy)
        .file("policies/main.test.yaml", tests)
        .args(&["test"])
        .run()
        .code(2)
        .stderr_has("or pass --now");
}
