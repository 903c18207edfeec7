//! A narrowed selection (`--image`, `--filter`, a snapshot fetched with
//! filters) is not the account: set-level rules are skipped with their
//! reason in every format, and waivers and baseline entries about images
//! outside it are neither unused nor fixed.

use serde_json::{Value, json};

use crate::live_cli::{Server, with_credentials};
use crate::support::{NOW, Test};

const POLICY: &str = r#"rules:
  - id: state
    title: Images are NORMAL
    assert: { ImageState: NORMAL }
  - id: ubuntu-base
    title: A usable Ubuntu base image exists
    where: { Platform: Ubuntu, ImageState: NORMAL }
    expect: { count: { gte: 1 } }
waivers:
  - rules: [state]
    images: [img-broken]
    reason: Import re-run tracked in OPS-7
"#;

fn account() -> Value {
    json!([
        { "ImageId": "img-good", "ImageState": "NORMAL", "Platform": "CentOS" },
        { "ImageId": "img-broken", "ImageState": "IMPORTFAILED", "Platform": "CentOS" },
    ])
}

const FORMATS: [&str; 8] = [
    "human", "json", "sarif", "junit", "markdown", "html", "csv", "github",
];
const REASON: &str =
    "the selection is narrowed by --image img-good; set-level rules need the whole result set";

#[test]
fn a_pre_deployment_check_judges_exactly_the_image_about_to_be_used() {
    // The whole account fails: no Ubuntu image exists.
    Test::new()
        .policy(POLICY)
        .images(account())
        .check(&[])
        .run()
        .code(1)
        .stdout_has("no image matched: count is 0");
    // The healthy image passes: the set-level rule is skipped, the waiver for
    // another image is not "unused".
    for format in FORMATS {
        let out = Test::new()
            .policy(POLICY)
            .images(account())
            .check(&["--image", "img-good", "--format", format])
            .run()
            .code(0);
        assert!(
            !out.stdout.contains("waiver-unused"),
            "{format}: {}",
            out.stdout
        );
        assert!(
            !out.stderr.contains("waiver-unused"),
            "{format}: {}",
            out.stderr
        );
        // The human report wraps its lines at spaces: read it as one text.
        let shown = out
            .stdout
            .replace("&#39;", "'")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(shown.contains("ubuntu-base"), "{format}");
        assert!(
            shown.contains(REASON),
            "{format}: the reason is shown: {}",
            out.stdout
        );
    }
    let out = Test::new()
        .policy(POLICY)
        .images(account())
        .check(&["--image", "img-good", "--format", "json"])
        .run();
    let report = out.json();
    let rule = &report["rules"][1];
    assert_eq!(rule["id"], "ubuntu-base");
    assert_eq!(rule["status"], "skip");
    assert_eq!(rule["skip_reason"], REASON);
    assert_eq!(report["warnings"], json!([]));
    assert_eq!(report["summary"]["images"], 1);
}

#[test]
fn the_waived_image_is_still_waived_when_it_is_the_one_selected() {
    let report = Test::new()
        .policy(POLICY)
        .images(account())
        .check(&["--image", "img-broken", "--format", "json"])
        .run()
        .code(0)
        .json();
    assert_eq!(report["findings"][0]["status"], "waived");
    assert_eq!(report["warnings"], json!([]));
    // A waiver naming the selected image that covers nothing is unused.
    let unused = POLICY.replace("images: [img-broken]", "images: [img-good]");
    Test::new()
        .policy(&unused)
        .images(account())
        .check(&["--image", "img-good", "--format", "json"])
        .run()
        .code(0)
        .stdout_has("waiver-unused");
}

#[test]
fn baseline_entries_outside_the_selection_are_not_fixed() {
    let baseline = json!({
        "schema": "ecmguard/baseline/v1",
        "entries": [
            { "rule": "state", "image": "img-broken" },
            { "rule": "state", "image": "img-good" },
            { "rule": "ubuntu-base", "image": null },
        ]
    });
    let report = Test::new()
        .policy(POLICY)
        .images(account())
        .file("baseline.json", baseline.to_string())
        .check(&[
            "--image",
            "img-good",
            "--baseline",
            "baseline.json",
            "--format",
            "json",
        ])
        .run()
        .code(0)
        .json();
    // img-good was checked and passes: its entry is fixed; the others are not in play.
    assert_eq!(
        report["baseline_fixed"],
        json!([{ "rule": "state", "image": "img-good" }])
    );
}

#[test]
fn a_filtered_live_check_and_a_filtered_snapshot_are_selections_too() {
    let server = Server::start(account().as_array().cloned().unwrap_or_default(), |_| {});
    let url = server.url();
    let out = with_credentials(Test::new().policy(POLICY))
        .args(&[
            "check",
            "--endpoint",
            &url,
            "--now",
            NOW,
            "--format",
            "json",
            "--filter",
            "image-id=img-good",
        ])
        .run()
        .code(0);
    assert_eq!(
        out.json()["rules"][1]["skip_reason"],
        "the selection is narrowed by --filter image-id=img-good; set-level rules need the whole result set"
    );
    // `fetch --image` records the filter; checking that snapshot is a selection.
    let fetched = with_credentials(Test::new().policy(POLICY))
        .args(&[
            "fetch",
            "--endpoint",
            &url,
            "--image",
            "img-good",
            "-o",
            "one.json",
        ])
        .run()
        .code(0);
    let report = Test::new()
        .policy(POLICY)
        .file("images.json", fetched.read("one.json"))
        .check(&["--format", "json"])
        .run()
        .code(0)
        .json();
    assert_eq!(
        report["rules"][1]["skip_reason"],
        "the selection is narrowed by the snapshot's filters (image-id=img-good); set-level rules need the whole result set"
    );
}
