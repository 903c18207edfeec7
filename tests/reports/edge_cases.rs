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
        r#"{"TotalCount": 1, "ImageSet": [{"ImageId": "img-1", "ImageName": "ok", "ImageState": "NORMAL", "ImageType": "PRIVATE_IMAGE"}]}"#,
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

/// Nothing checked is not a pass: exit 1 in every format, and every format
/// says so; `--allow-empty` accepts it (exit 0), still saying so.
#[test]
fn an_empty_result_set_fails_in_every_format_unless_allowed() {
    let dir = dir_with(POLICY, r#"{"TotalCount": 0, "ImageSet": []}"#);
    for format in FORMATS {
        let output = check_in(dir.path(), &[], &["--format", format]);
        assert_eq!(output.status.code(), Some(1), "{format}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("nothing was checked: the snapshot snapshot.json holds no image"),
            "{format}: {stdout}"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("ecmguard::nothing-checked"),
            "{format}: {stderr}"
        );
        assert!(!stderr.contains("gate-failed"), "{format}: {stderr}");
        let allowed = check_in(dir.path(), &[], &["--format", format, "--allow-empty"]);
        assert_eq!(allowed.status.code(), Some(0), "{format} --allow-empty");
        assert!(
            String::from_utf8_lossy(&allowed.stdout).contains("nothing was checked"),
            "{format} --allow-empty"
        );
    }
    let report: Value = serde_json::from_str(&render_in(dir.path(), "json")).expect("JSON");
    assert_eq!(report["summary"]["images"], 0);
    assert_eq!(report["summary"]["passed"], false);
    assert_eq!(report["run"]["exit_code"], 1);
    assert_eq!(report["warnings"][0]["code"], "nothing-checked");
    let html = render_in(dir.path(), "html");
    assert!(html.contains("No private images in this result set."));
    let junit = render_in(dir.path(), "junit");
    assert!(
        junit.contains("<skipped message=\"no image in scope\"/>"),
        "{junit}"
    );
    assert!(junit.contains("name=\"nothing-checked\""), "{junit}");
    let csv = render_in(dir.path(), "csv");
    assert!(
        csv.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with(",nothing-checked,error,true,")),
        "{csv}"
    );
    let github = render_in(dir.path(), "github");
    assert!(
        github.contains("::error title=ecmguard%3A%3Anothing-checked::nothing was checked"),
        "{github}"
    );
    let sarif: Value = serde_json::from_str(&render_in(dir.path(), "sarif")).expect("SARIF");
    assert_eq!(errors(&validator(), &sarif), Vec::<String>::new());
    assert_eq!(
        sarif["runs"][0]["invocations"][0]["toolConfigurationNotifications"][0]["descriptor"]["id"],
        "nothing-checked"
    );
}
