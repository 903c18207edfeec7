//! No output format changes the exit code (README, "Exit codes"; docs/reports.md).
//! Every format, alone and all together through `--report`, exits like
//! `--format json`, under every `--fail-on` and with and without the baseline.

use super::support::{check_in, fixture_dir};

const FORMATS: [&str; 8] = [
    "human", "json", "sarif", "junit", "markdown", "html", "csv", "github",
];

#[test]
fn every_format_exits_like_json() {
    let dir = fixture_dir();
    for fail_on in ["error", "warning", "info", "never"] {
        for base in [&["--baseline", "baseline.json"][..], &[][..]] {
            let code = |format: &str| {
                check_in(&dir, base, &["--fail-on", fail_on, "--format", format])
                    .status
                    .code()
            };
            let expected = code("json");
            assert!(
                matches!(expected, Some(0 | 1)),
                "fail-on {fail_on}: {expected:?}"
            );
            for format in FORMATS {
                assert_eq!(
                    code(format),
                    expected,
                    "--format {format} --fail-on {fail_on} {base:?}"
                );
            }
        }
    }
}

#[test]
fn fail_on_never_passes_and_error_fails() {
    let dir = fixture_dir();
    let code = |fail_on: &str| {
        check_in(&dir, &[], &["--fail-on", fail_on, "--format", "json"])
            .status
            .code()
    };
    assert_eq!(code("never"), Some(0));
    assert_eq!(code("error"), Some(1));
}

#[test]
fn one_run_writes_every_report() {
    let out = tempfile::tempdir().expect("a temp dir");
    let mut args = vec!["--format".to_owned(), "json".to_owned()];
    for format in FORMATS {
        args.push("--report".to_owned());
        args.push(format!(
            "{format}={}",
            out.path().join(format!("report.{format}")).display()
        ));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = check_in(&fixture_dir(), &["--baseline", "baseline.json"], &args);
    assert_eq!(output.status.code(), Some(1));
    let stdout: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    for format in FORMATS {
        let path = out.path().join(format!("report.{format}"));
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(!bytes.is_empty(), "{} was written", path.display());
    }
    // The file written through --report is the same report as stdout.
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("report.json")).unwrap_or_default())
            .expect("JSON file");
    assert_eq!(file["findings"], stdout["findings"]);
}

#[test]
fn a_malformed_report_flag_is_exit_2() {
    for (bad, says) in [
        ("pdf=out.pdf", "unknown format `pdf`"),
        ("sarif", "FORMAT=FILE"),
        ("sarif=", "FORMAT=FILE"),
    ] {
        let output = check_in(&fixture_dir(), &[], &["--report", bad]);
        assert_eq!(output.status.code(), Some(2), "--report {bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "--report {bad}: {stderr}");
    }
}
