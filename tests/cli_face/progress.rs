//! Fetch progress where stderr is not a terminal (a CI log): a line when the
//! fetch starts, one per retry and restart with its whole reason, and one
//! closing line with the counts in English. The same for `check` and
//! `fetch`; nothing of it for a `--snapshot` run.

use ecm_emulator::{Fault, FaultRule, FaultScript};
use serde_json::Value;

use crate::live_cli::{STATE, Server, sample, with_credentials};
use crate::support::{NOW, Output, Test};

fn faulty(images: Vec<Value>, rules: Vec<FaultRule>) -> Server {
    Server::start(images, |c| c.faults = FaultScript::new(rules))
}

fn run(args: &[&str]) -> Output {
    with_credentials(Test::new().policy(STATE)).args(args).run()
}

/// The lines of stderr that are progress (not diagnostics).
fn progress_lines(out: &Output) -> Vec<&str> {
    out.stderr
        .lines()
        .filter(|l| {
            [
                "fetching images",
                "retrying the page",
                "restarting the listing",
                "fetched ",
            ]
            .iter()
            .any(|start| l.starts_with(start))
        })
        .collect()
}

#[test]
fn a_live_check_says_it_starts_each_retry_and_how_it_ended() {
    // 2,345 images: 24 pages, the fourth failing once.
    let server = faulty(
        ecm_emulator::generate_images(2345),
        vec![FaultRule::once(Fault::InternalError).at_offset(300)],
    );
    let url = server.url();
    let out = run(&[
        "check",
        "--endpoint",
        &url,
        "--now",
        NOW,
        "--format",
        "json",
    ])
    .code(0);
    let lines = progress_lines(&out);
    assert_eq!(lines.len(), 3, "{}", out.stderr);
    assert_eq!(lines[0], format!("fetching images from {url} …"));
    assert!(
        lines[1].starts_with("retrying the page at offset 300 in ")
            && lines[1].ends_with(" s (attempt 2): InternalError"),
        "{}",
        lines[1]
    );
    let closing = format!("fetched 2,345 images from {url} in 24 pages (25 requests, 1 retry) in ");
    assert!(
        lines[2].starts_with(&closing) && lines[2].ends_with(" s"),
        "{}",
        lines[2]
    );
    // The report is untouched by progress: stdout is the JSON report alone.
    assert_eq!(out.json()["run"]["retries"], 1);
}

#[test]
fn fetch_counts_one_page_one_retry_in_the_singular() {
    let server = faulty(
        sample(),
        vec![FaultRule::once(Fault::InternalError).at_offset(0)],
    );
    let url = server.url();
    let out = run(&["fetch", "--endpoint", &url, "-o", "snap.json"]).code(0);
    let lines = progress_lines(&out);
    assert_eq!(lines.len(), 3, "{}", out.stderr);
    assert!(
        lines[1].ends_with("(attempt 2): InternalError"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(&format!(
            "fetched 11 images from {url} in 1 page (2 requests, 1 retry) in "
        )),
        "{}",
        lines[2]
    );
    assert!(
        out.stderr.contains("snapshot written to snap.json"),
        "{}",
        out.stderr
    );
    // No retry at all is "0 retries", and one request is "1 request".
    let clean = Server::start(sample(), |_| {});
    let clean_url = clean.url();
    let out = run(&["fetch", "--endpoint", &clean_url, "-o", "-"]).code(0);
    assert!(
        out.stderr.contains(&format!(
            "fetched 11 images from {clean_url} in 1 page (1 request, 0 retries) in "
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn a_restart_is_one_line_with_its_whole_reason() {
    // The first answer overstates TotalCount: the listing does not add up
    // and starts again.
    let server = faulty(
        sample(),
        vec![FaultRule::once(Fault::TotalCountDelta { delta: 1 })],
    );
    let url = server.url();
    let out = run(&["fetch", "--endpoint", &url, "-o", "snap.json"]).code(0);
    let restart = out
        .stderr
        .lines()
        .find(|l| l.starts_with("restarting the listing (restart 1 of 3): "))
        .unwrap_or_else(|| panic!("no restart line:\n{}", out.stderr));
    assert!(restart.len() > "restarting the listing (restart 1 of 3): ".len() + 10);
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with("fetched 11 images") && l.contains(", 1 restart)")),
        "{}",
        out.stderr
    );
}

#[test]
fn a_snapshot_check_prints_no_progress() {
    let images: Value = sample().into();
    let out = Test::new()
        .policy(STATE)
        .images(images)
        .check(&["--format", "json"])
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(progress_lines(&out).is_empty(), "{}", out.stderr);
}

#[test]
fn a_quiet_check_says_nothing_about_the_fetch() {
    let server = faulty(
        ecm_emulator::generate_images(250),
        vec![FaultRule::once(Fault::InternalError).at_offset(100)],
    );
    let url = server.url();
    let out = run(&["check", "--endpoint", &url, "--now", NOW, "--quiet"]).code(0);
    assert_eq!(progress_lines(&out), Vec::<&str>::new(), "{}", out.stderr);
    // The verdict still is on stdout, and the fetch was complete.
    assert!(out.stdout.contains("PASS"), "{}", out.stdout);
}
