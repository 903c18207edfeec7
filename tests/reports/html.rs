//! HTML: self-contained (nothing loaded from anywhere), hostile text shown
//! as text, and the parts a compliance reader looks for.

use super::support::{many_violations, render, render_in};

#[test]
fn loads_nothing_from_the_network() {
    let (html, code) = render("html");
    assert_eq!(code, 1);
    let lower = html.to_lowercase();
    // No resource of any kind is referenced, so none from http(s) either.
    for needle in [
        "src=", "href=", "@import", "url(", "<link", "<script", "<img", "<iframe", "<object",
        "<embed",
    ] {
        assert!(!lower.contains(needle), "found {needle}");
    }
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<style>"));
}

#[test]
fn hostile_text_is_escaped() {
    let (html, _) = render("html");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(!html.contains("<b>\"fresh\"</b>"));
    assert!(html.contains("&lt;b&gt;&quot;fresh&quot;&lt;/b&gt;"));
    assert!(html.contains("视频转码节点镜像"));
}

#[test]
fn has_summary_charts_rules_images_waivers_and_warnings() {
    let (html, _) = render("html");
    for part in [
        "ecmguard compliance report",
        ">FAIL<",
        "failing findings",
        "Age of private images",
        "Findings per rule",
        "Violating images",
        "Waivers",
        "Baseline",
        "Warnings",
        "platform-team",
        "2027-03-31",
        "img-gone0001",
        "waiver-expired",
    ] {
        assert!(html.contains(part), "missing {part}");
    }
    assert_eq!(html.matches("<svg").count(), 2);
    // The age limits of both age rules are marked on the histogram.
    assert!(html.contains("180d: private-image-max-age"));
    assert!(html.contains("1y: private-image-stale"));
    // Every rule has a row.
    for rule in [
        "private-image-max-age",
        "rocky-base-available",
        "image-size-limit",
        "shared-image-owner",
    ] {
        assert!(html.contains(&format!("<code>{rule}</code>")), "{rule}");
    }
}

#[test]
fn long_lists_are_capped() {
    let max = ecmguard::report::html::MAX_LISTED;
    let dir = many_violations(max + 3);
    let html = render_in(dir.path(), "html");
    assert!(html.contains("… and 3 more"), "cap note");
    assert_eq!(html.matches("<td class=\"id\"><code>img-").count(), max);
}
