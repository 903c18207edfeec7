//! Every format of the fixture run, pinned. A change in any report shows up
//! here as a reviewable diff (`cargo insta review`).

use super::support::{render, root_uri};

fn snapshot(format: &str) -> String {
    let (text, code) = render(format);
    assert_eq!(code, 1, "the fixture has failing findings");
    text
}

#[test]
fn sarif() {
    let text = snapshot("sarif").replace(&root_uri(), "file:///ROOT/");
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
    insta::assert_snapshot!("html", snapshot("html"));
}

#[test]
fn csv() {
    insta::assert_snapshot!("csv", snapshot("csv"));
}

#[test]
fn github() {
    insta::assert_snapshot!("github", snapshot("github"));
}
