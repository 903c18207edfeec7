//! Running the binary on the report fixture.

use std::path::{Path, PathBuf};
use std::process::Output;

/// `--now` of every fixture run: the fixture's ages and expiries assume it.
pub const NOW: &str = "2026-11-27T00:00:00+08:00";

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports")
}

/// `ecmguard check` in the fixture directory (so policy paths are relative
/// and stable), on the fixture policy and snapshot, with the baseline.
pub fn check(extra: &[&str]) -> Output {
    check_in(&fixture_dir(), &["--baseline", "baseline.json"], extra)
}

pub fn check_in(dir: &Path, base: &[&str], extra: &[&str]) -> Output {
    let mut command = crate::support::ecmguard_command();
    command
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "80")
        .env_remove("GITHUB_ACTIONS")
        .args([
            "check",
            "--policy",
            "policy.yaml",
            "--snapshot",
            "snapshot.json",
        ])
        .args(base)
        .args(extra);
    if !base.iter().chain(extra).any(|a| *a == "--now") {
        command.args(["--now", NOW]);
    }
    command.output().expect("ecmguard runs")
}

/// stdout of a fixture run in one format, with its exit code.
pub fn render(format: &str) -> (String, i32) {
    let output = check(&["--format", format]);
    let stdout = String::from_utf8(output.stdout).expect("reports are UTF-8");
    (stdout, output.status.code().unwrap_or(-1))
}

/// The fixture run as JSON, the reference every other format is compared to.
pub fn json() -> serde_json::Value {
    let (text, _) = render("json");
    serde_json::from_str(&text).expect("the JSON report parses")
}

/// The `%SRCROOT%` URI of a SARIF log, checked to be the fixture directory:
/// `file://`, a trailing `/`, and a path that percent-decodes to the
/// directory the binary ran in (with symlinks resolved, as it sees it).
pub fn root_uri(sarif: &serde_json::Value) -> String {
    let uri = sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .expect("a %SRCROOT% URI")
        .to_owned();
    let path = uri
        .strip_prefix("file://")
        .and_then(|p| p.strip_suffix('/'))
        .unwrap_or_else(|| panic!("not a file:// directory URI: {uri}"));
    let dir = fixture_dir()
        .canonicalize()
        .unwrap_or_else(|_| fixture_dir());
    assert_eq!(
        percent_decode(path),
        dir.to_string_lossy(),
        "the root URI {uri} is not the fixture directory"
    );
    uri
}

/// `%XX` escapes back to bytes (as RFC 3986 defines them), then UTF-8.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("the URI decodes to UTF-8")
}

/// A temp dir with a one-rule policy and `n` images that all violate it
/// (for the caps of the formats that list findings).
pub fn many_violations(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let policy = "rules:\n  - id: image-state-normal\n    title: Images are NORMAL\n    assert: { ImageState: NORMAL }\n";
    std::fs::write(dir.path().join("policy.yaml"), policy).expect("write policy");
    let images: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({"ImageId": format!("img-{i:08}"), "ImageName": format!("image {i}"), "ImageState": "CREATING"}))
        .collect();
    std::fs::write(
        dir.path().join("snapshot.json"),
        serde_json::json!({ "TotalCount": n, "ImageSet": images }).to_string(),
    )
    .expect("write snapshot");
    dir
}

/// stdout of a run in `dir` in one format.
pub fn render_in(dir: &Path, format: &str) -> String {
    String::from_utf8(check_in(dir, &[], &["--format", format]).stdout).expect("UTF-8")
}
