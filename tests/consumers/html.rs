//! HTML: the report and the `history --format html` page rendered by headless
//! Chromium (Debian's `chromium`) to a PNG screenshot, which must show a styled
//! page: its size, many colours (text, charts, badges, anti-aliasing), no colour
//! covering nearly all of it, the red FAIL banner, and on the history page the
//! red bars of the violations chart. An unstyled or blank page fails.
//!
//! Chromium's own name lookups are mapped to nothing (`--host-resolver-rules`):
//! the pages load nothing, and the browser's background requests reach no
//! network either.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::screenshot::Screenshot;
use super::{Reports, run, tool};

const INSTALL: &str = "Install Chromium with `apt-get install -y chromium` (as root), or set \
     ECMGUARD_CHROMIUM to a Chromium or Chrome binary.";

/// `name` (an HTML file in `reports`) rendered at `width`×`height` into
/// `png` (a file in `reports`).
fn screenshot(reports: &Reports, name: &str, png: &str, width: u32, height: u32) -> Screenshot {
    let chromium = tool("ECMGUARD_CHROMIUM", "chromium", INSTALL);
    let profile = reports.scratch(&format!("{png}.profile"));
    let page: PathBuf = reports.path(name);
    let ran = run(
        Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--screenshot={}", reports.path(png).display()))
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("file://{}", page.display())),
        "Chromium",
        Duration::from_secs(180),
    );
    assert_eq!(
        ran.code,
        Some(0),
        "Chromium ({}) failed on {name}\n{}",
        chromium.display(),
        ran.log()
    );
    reports.keep(png);
    let image = Screenshot::read(&reports.path(png));
    assert_eq!(
        (image.width, image.height),
        (width, height),
        "the size of the screenshot of {name}"
    );
    image
}

/// The verdict banner at the top left is red (the stylesheet was applied and
/// the verdict is FAIL).
#[track_caller]
fn assert_red_banner(image: &Screenshot, page: &str) {
    let [r, g, b] = image.pixel(8, 8);
    assert!(
        r > 140 && g < 90 && b < 90,
        "{page}: banner pixel {:?} is not red",
        (r, g, b)
    );
}

#[test]
#[ignore = "needs Chromium (Debian chromium, ECMGUARD_CHROMIUM): \
            .ci/run installs it and runs the ignored tests"]
fn chromium_renders_the_report_with_its_red_fail_banner() {
    let reports = Reports::fixture();
    let image = screenshot(&reports, "fixture.html", "fixture.png", 1280, 2000);
    // A blank or unstyled page has a handful of colours; the report has text,
    // charts and coloured badges (thousands with anti-aliasing).
    let (distinct, top) = image.colours();
    assert!(
        distinct >= 500,
        "only {distinct} distinct colours: the page did not render"
    );
    assert!(
        top < 0.9,
        "{:.0}% of the page is one colour: nearly blank",
        top * 100.0
    );
    assert_red_banner(&image, "fixture.html");
}

#[test]
#[ignore = "needs Chromium (Debian chromium, ECMGUARD_CHROMIUM): \
            .ci/run installs it and runs the ignored tests"]
fn chromium_renders_the_history_page_with_its_charts() {
    let reports = Reports::history_page();
    let html = reports.read("history.html");
    assert!(html.contains("<svg"), "history.html has no chart");
    let lower = html.to_lowercase();
    // Self-contained: no resource of any kind is referenced.
    for needle in [
        "src=", "href=", "@import", "url(", "<link", "<script", "<img", "<iframe", "<object",
        "<embed",
    ] {
        assert!(!lower.contains(needle), "history.html has {needle}");
    }

    let image = screenshot(&reports, "history.html", "history.png", 1280, 1600);
    let (distinct, top) = image.colours();
    assert!(
        distinct >= 300,
        "only {distinct} distinct colours: the history page did not render"
    );
    assert!(
        top < 0.92,
        "{:.0}% of the page is one colour: nearly blank",
        top * 100.0
    );
    // The latest run fails (the example account has violations).
    assert_red_banner(&image, "history.html");
    // The chart of violations per run draws red (error) bars below the banner.
    let red = (200..900)
        .step_by(2)
        .flat_map(|y| (0..1280).step_by(2).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let [r, g, b] = image.pixel(x, y);
            r > 150 && g < 80 && b < 80
        })
        .count();
    assert!(
        red > 200,
        "only {red} red pixels in the chart area: no bars were drawn"
    );
}
