//! Runs with nothing to report: every rule passes, or there are no images at
//! all. Every format still renders, validly, and exits 0.

use serde_json::Value;

use super::sarif::{errors, validator};
use super::support::{check_in, render_in};

const FORMATS: [&str; 8] = [
    "human", "json", "sarif", "junit", "markdown", "html", "csv", "github",
];

fn dir_with(policy: &str, images: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("policy.yaml"), policy).expect("write policy");
    std::fs::write(dir.path().join("snapshot.json"), images).expect("write snapshot");
    dir
}

const POLICY: &str = "rules:\n  - id: image-state-normal\n    title: Images are NORMAL\n    assert: { ImageState: NORMAL }\n";

#[test]
fn a_clean_run_renders_every_format() {
    let dir = dir_with(
        POLICY,
        r#"[{"ImageId": "img-1", "ImageName": "ok", "ImageState": "NORMAL", "ImageType": "PRIVATE_IMAGE"}]"#,
    );
    for format in FORMATS {
        let output = check_in(dir.path(), &[], &["--format", format]);
        assert_eq!(output.status.code(), Some(0), "{format}");
        assert!(!output.stdout.is_empty(), "{format}");
    }
    let sarif: Value = serde_json::from_str(&render_in(dir.path(), "sarif")).expect("SARIF");
    assert_eq!(errors(&validator(), &sarif), Vec::<String>::new());
    assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(sarif["runs"][0]["invocations"][0]["exitCode"], 0);
    assert_eq!(
        render_in(dir.path(), "csv").lines().count(),
        1,
        "the header alone"
    );
    let github = render_in(dir.path(), "github");
    assert_eq!(github.lines().count(), 1, "{github}");
    assert!(
        github.starts_with("::notice title=ecmguard%3A PASS::PASS"),
        "{github}"
    );
    let junit = render_in(dir.path(), "junit");
    assert!(junit.contains("failures=\"0\""), "{junit}");
    assert!(render_in(dir.path(), "markdown").starts_with("## ✅ ecmguard: PASS"));
    let html = render_in(dir.path(), "html");
    assert!(html.contains("No findings: every rule passed."));
    // One private image without findings: the histogram is still drawn.
    assert_eq!(html.matches("<svg").count(), 1);
}

#[test]
fn an_empty_result_set_renders_every_format() {
    let dir = dir_with(POLICY, "[]");
    for format in FORMATS {
        let output = check_in(dir.path(), &[], &["--format", format]);
        assert_eq!(output.status.code(), Some(0), "{format}");
    }
    let html = render_in(dir.path(), "html");
    assert!(html.contains("No private images in this result set."));
    let junit = render_in(dir.path(), "junit");
    assert!(
        junit.contains("<skipped message=\"no image in scope\"/>"),
        "{junit}"
    );
    let sarif: Value = serde_json::from_str(&render_in(dir.path(), "sarif")).expect("SARIF");
    assert_eq!(errors(&validator(), &sarif), Vec::<String>::new());
}
