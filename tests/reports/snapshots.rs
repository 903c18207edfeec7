//! Every format of the fixture run, pinned. A change in any report shows up
//! here as a reviewable diff (`cargo insta review`).

use super::support::{check, render, root_uri};

fn snapshot(format: &str) -> String {
    let (text, code) = render(format);
    assert_eq!(code, 1, "the fixture has failing findings");
    text
}

#[test]
fn sarif() {
    let text = snapshot("sarif");
    let log: serde_json::Value = serde_json::from_str(&text).expect("SARIF");
    let text = text.replace(&root_uri(&log), "file:///ROOT/");
    assert!(
        text.contains("file:///ROOT/"),
        "the root URI is the fixture directory"
    );
    insta::assert_snapshot!("sarif", text);
}

#[test]
fn junit() {
    insta::assert_snapshot!("junit", snapshot("junit"));
}

#[test]
fn markdown() {
    insta::assert_snapshot!("markdown", snapshot("markdown"));
}

#[test]
fn html() {
    let html = snapshot("html");
    // The stylesheet is not content: leave it out, and put each tag on its
    // own line so that a change reads as a small diff.
    let (head, rest) = html.split_once("<style>").unwrap_or((&html, ""));
    let (_, tail) = rest.split_once("</style>").unwrap_or(("", rest));
    let readable = format!("{head}<style>/* CSS */</style>{tail}").replace("><", ">\n<");
    insta::assert_snapshot!("html", readable);
}

#[test]
fn csv() {
    insta::assert_snapshot!("csv", snapshot("csv"));
}

#[test]
fn github() {
    insta::assert_snapshot!("github", snapshot("github"));
}

/// The human report of every status at 80 columns: set-level blocks,
/// waived, baselined and fixed lists, a policy warning, hostile names.
#[test]
fn human() {
    let output = check(&["--format", "human"]);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    insta::assert_snapshot!("human", text);
}
