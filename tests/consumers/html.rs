//! HTML: the report and the `history --format html` page rendered by headless
//! Chromium (Debian's `chromium`) to a PNG screenshot, which must show a styled
//! page: its size, many colours (text, charts, badges, anti-aliasing), no colour
//! covering nearly all of it, the red FAIL banner, and on the history page the
//! red bars of the violations chart. An unstyled or blank page fails.
//!
//! The layout of the tables is measured in the same browser: a copy of a page
//! with a script added reports where each cell is and where its content is
//! drawn (`getBoundingClientRect`, read back with `--dump-dom`), and no
//! cell's content may leave its cell or cover its neighbour's.
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

/// Headless Chromium with a profile of its own in `reports`, reaching no
/// network, on `name` (a file in `reports`) at `width`×`height`, with
/// `action` (`--screenshot=…`, `--dump-dom`).
fn chromium(reports: &Reports, name: &str, action: &str, width: u32, height: u32) -> super::Ran {
    let chromium = tool("ECMGUARD_CHROMIUM", "chromium", INSTALL);
    let profile = reports.scratch(&format!("{name}.profile"));
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
            .arg(action)
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
    ran
}

/// `name` (an HTML file in `reports`) rendered at `width`×`height` into
/// `png` (a file in `reports`).
fn screenshot(reports: &Reports, name: &str, png: &str, width: u32, height: u32) -> Screenshot {
    let screenshot = format!("--screenshot={}", reports.path(png).display());
    chromium(reports, name, &screenshot, width, height);
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
    let found = overlaps(&table_rows(&reports, "history.html", 1280));
    assert!(
        found.is_empty(),
        "history.html at 1280 px:\n{}",
        found.join("\n")
    );
}

/// Added to a copy of a page: for every table row, each cell's box and the
/// box of what is drawn in it (a range over its contents, which overflowing
/// text extends), left and right in CSS pixels; whether the cell clips what
/// overflows. Written into the page as JSON, read back with `--dump-dom`.
const MEASURE: &str = r#"<script>
(() => {
  const rows = [];
  for (const table of document.querySelectorAll("table")) {
    for (const row of table.querySelectorAll("tr")) {
      const cells = [];
      for (const cell of row.children) {
        const box = cell.getBoundingClientRect();
        const range = document.createRange();
        range.selectNodeContents(cell);
        const drawn = range.getBoundingClientRect();
        cells.push({
          text: (cell.innerText || cell.textContent).slice(0, 80),
          cell: [box.left, box.right],
          drawn: drawn.width > 0 ? [drawn.left, drawn.right] : null,
          clips: getComputedStyle(cell).overflowX !== "visible",
        });
      }
      rows.push({ table: table.className, cells });
    }
  }
  const out = document.createElement("pre");
  out.id = "ecmguard-boxes";
  out.textContent = JSON.stringify(rows);
  document.body.appendChild(out);
})();
</script>"#;

/// Every table row of `name` (an HTML file in `reports`) laid out by
/// Chromium at `width` pixels: `(table class, [(text, cell, drawn, clips)])`.
fn table_rows(reports: &Reports, name: &str, width: u32) -> Vec<serde_json::Value> {
    let measured = format!("measured-{name}");
    let page = reports.read(name);
    let with_script = page.replace("</body>", &format!("{MEASURE}</body>"));
    assert_ne!(page, with_script, "{name} has no </body>");
    std::fs::write(reports.path(&measured), with_script).expect("write the measured copy");
    let ran = chromium(reports, &measured, "--dump-dom", width, 1000);
    let start = ran
        .stdout
        .find("<pre id=\"ecmguard-boxes\">")
        .unwrap_or_else(|| panic!("the measuring script did not run on {name}\n{}", ran.log()));
    let json = &ran.stdout[start..];
    let json =
        &json[json.find('>').map_or(0, |at| at + 1)..json.find("</pre>").unwrap_or(json.len())];
    let json = json
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).expect("the boxes are JSON");
    assert!(!rows.is_empty(), "{name}: no table rows measured");
    rows
}

/// Cells whose content is drawn outside them, or over a neighbour's, in
/// the rows of `rows` (half a pixel of rounding allowed).
fn overlaps(rows: &[serde_json::Value]) -> Vec<String> {
    let span = |v: &serde_json::Value| Some((v[0].as_f64()?, v[1].as_f64()?));
    let mut found = Vec::new();
    for row in rows {
        let cells = row["cells"].as_array().cloned().unwrap_or_default();
        let mut drawn: Vec<(f64, f64, String)> = Vec::new();
        for cell in &cells {
            let text = cell["text"].as_str().unwrap_or_default().replace('\n', " ");
            let (Some((left, right)), Some((mut from, mut to))) =
                (span(&cell["cell"]), span(&cell["drawn"]))
            else {
                continue;
            };
            if cell["clips"].as_bool() == Some(true) {
                (from, to) = (from.max(left), to.min(right));
            }
            if from < left - 0.5 || to > right + 0.5 {
                found.push(format!(
                    "`{text}` is drawn over {from:.1}..{to:.1}, outside its cell {left:.1}..{right:.1}"
                ));
            }
            drawn.push((from, to, text));
        }
        for (i, (from, to, text)) in drawn.iter().enumerate() {
            for (other_from, other_to, other) in &drawn[i + 1..] {
                if from < &(other_to - 0.5) && other_from < &(to - 0.5) {
                    found.push(format!("`{text}` and `{other}` are drawn over each other"));
                }
            }
        }
    }
    found
}

#[test]
#[ignore = "needs Chromium (Debian chromium, ECMGUARD_CHROMIUM): \
            .ci/run installs it and runs the ignored tests"]
fn no_table_cell_runs_into_another_at_1280_pixels() {
    let reports = Reports::fixture_with_history();
    let html = reports.read("first-seen.html");
    assert!(
        html.contains("First seen"),
        "the report has no First seen column"
    );
    let rows = table_rows(&reports, "first-seen.html", 1280);
    let findings_rows = rows.iter().filter(|r| r["table"] == "findings").count();
    assert!(
        findings_rows > 5,
        "only {findings_rows} rows of findings were measured"
    );
    let found = overlaps(&rows);
    assert!(found.is_empty(), "at 1280 px:\n{}", found.join("\n"));
}
