//! Markdown: a summary that hostile names cannot break or inject into.

use super::support::{many_violations, render, render_in};

/// `|` that end cells (not escaped with a backslash).
fn cell_separators(line: &str) -> usize {
    let mut count = 0;
    let mut escaped = false;
    for c in line.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => count += 1,
            _ => escaped = false,
        }
    }
    count
}

#[test]
fn tables_keep_their_shape_and_no_html_gets_in() {
    let (md, code) = render("markdown");
    assert_eq!(code, 1);
    assert!(md.starts_with("## ❌ ecmguard: FAIL"));
    // Every row of a table has as many cells as its header.
    let mut columns = None;
    for line in md.lines() {
        if line.starts_with('|') {
            let n = cell_separators(line);
            match columns {
                None => columns = Some(n),
                Some(expected) => assert_eq!(n, expected, "{line}"),
            }
        } else {
            columns = None;
        }
    }
    assert!(!md.contains("<script"));
    assert!(!md.contains("<b>"));
    assert!(md.contains("&lt;script&gt;"));
    assert!(md.contains("pipe\\|comma"));
    // The only tags are our own.
    let tags: std::collections::BTreeSet<&str> = md
        .split('<')
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| c == '>' || c.is_whitespace()).next())
        .collect();
    let ours: std::collections::BTreeSet<&str> = [
        "details", "/details", "summary", "/summary", "code", "/code", "br", "sub", "/sub",
    ]
    .into_iter()
    .collect();
    assert!(tags.is_subset(&ours), "{tags:?}");
}

#[test]
fn has_verdict_rules_waivers_baseline_and_warnings() {
    let (md, _) = render("markdown");
    for part in [
        "| Result | Rule |",
        "❌ fail",
        "✅ pass",
        "⏭️ skipped",
        "### Waived (2)",
        "platform-team",
        "Fixed since the baseline",
        "### Warnings (1)",
        "`waiver-expired`",
        "视频转码节点镜像",
    ] {
        assert!(md.contains(part), "missing {part}");
    }
}

#[test]
fn long_lists_are_capped() {
    let max = ecmguard::report::DEFAULT_MAX_FINDINGS;
    let dir = many_violations(max + 4);
    let md = render_in(dir.path(), "markdown");
    assert!(md.contains("… and 4 more"));
    assert_eq!(md.matches("| `img-").count(), max);
}

/// One name that tries everything Markdown and GitHub would act on: a
/// mention, an issue reference, a link, an image tag, emphasis, a code span,
/// a table pipe, bare links GitHub makes clickable, and a line break that
/// would start a list.
const HOSTILE: &str = "@octocat fixes #12 [click](https://evil.example) <img src=x> **bold** _em_ \
                       ~gone~ `code` | pipe www.evil.example http://evil.example\n- listed";

/// The marks of [`HOSTILE`] acting as markup, any one of which is a failure.
/// A line that is an HTML block (`<details><summary>`) is not read as
/// Markdown, so only what HTML and GitHub act on counts there.
#[track_caller]
fn assert_inert(md: &str, consumer: &str) {
    const GITHUB: [&str; 5] = ["@octocat", "#12", "www.evil", "http://evil", "<img"];
    const MARKDOWN: [&str; 5] = ["](", "**bold**", "_em_", "~gone~", "`code`"];
    for line in md.lines() {
        let html_block = line.starts_with("<details><summary>");
        for live in GITHUB
            .iter()
            .chain(if html_block { &[][..] } else { &MARKDOWN[..] })
        {
            assert!(
                !line.contains(live),
                "{consumer}: `{live}` is left live in\n{line}"
            );
        }
    }
    assert!(
        !md.lines()
            .any(|line| line.trim_start().starts_with("- listed")),
        "{consumer}: the line break starts a list item\n{md}"
    );
    // The text is all still there, only escaped.
    for shown in ["octocat", "click", "bold", "pipe", "listed"] {
        assert!(md.contains(shown), "{consumer}: `{shown}` was lost\n{md}");
    }
}

#[test]
fn a_hostile_name_is_text_in_every_markdown_consumer() {
    let policy = format!(
        "rules:\n  - id: named\n    title: {title:?}\n    description: {text:?}\n    \
         remediation: {text:?}\n    assert: {{ ImageName: {{ starts_with: web- }} }}\n",
        title = HOSTILE.replace('\n', " "),
        text = HOSTILE,
    );
    let images = serde_json::json!([{ "ImageId": "img-1", "ImageName": HOSTILE }]);
    // The Markdown report: the name in a findings table.
    let report = crate::support::Test::new()
        .policy(&policy)
        .images(images.clone())
        .check(&["--format", "markdown"])
        .run()
        .code(1);
    assert_inert(&report.stdout, "check --format markdown");
    // `rules --format markdown`: title, description and remediation.
    let rules = crate::support::Test::new()
        .policy(&policy)
        .args(&["rules", "--format", "markdown"])
        .run()
        .code(0);
    assert_inert(&rules.stdout, "rules --format markdown");
    // SARIF: the rule's help in Markdown.
    let sarif = crate::support::Test::new()
        .policy(&policy)
        .images(images)
        .check(&["--format", "sarif"])
        .run()
        .code(1);
    let log: serde_json::Value = serde_json::from_str(&sarif.stdout).expect("SARIF");
    let help = log["runs"][0]["tool"]["driver"]["rules"][0]["help"]["markdown"]
        .as_str()
        .expect("a Markdown help");
    assert_inert(help, "SARIF help.markdown");
}
