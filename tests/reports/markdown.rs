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
