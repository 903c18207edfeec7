//! `ecmguard init`: a starter project that validates, whose tests pass, and
//! that checks a snapshot at once; nothing is overwritten without --force.

use std::path::Path;

use crate::support::NOW;

/// Run the binary in `dir`: (exit code, stdout, stderr).
fn ecmguard(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = crate::support::ecmguard_command()
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("run ecmguard");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, stdout, stderr) = ecmguard(dir, args);
    assert_eq!(code, 0, "{args:?}\n{stdout}\n{stderr}");
    stdout
}

#[test]
fn an_initialised_project_validates_tests_and_checks() {
    let dir = tempfile::TempDir::new().expect("dir");
    let dir = dir.path();
    let written = ok(dir, &["init"]);
    assert!(
        written.contains("wrote policies/lifecycle.test.yaml"),
        "{written}"
    );
    assert!(written.contains("wrote ecmguard.yaml"), "{written}");
    let config = std::fs::read_to_string(dir.join("ecmguard.yaml")).expect("config");
    assert!(config.starts_with("# ecmguard.yaml"), "commented: {config}");
    assert!(ok(dir, &["validate"]).starts_with("ok: "));
    let tests = ok(dir, &["test"]);
    assert!(tests.contains(" passed, 0 failed"), "{tests}");
    // The pack reads usage: a snapshot that holds it (the example account's).
    let snapshot =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/snapshots/account.json");
    let (code, stdout, stderr) = ecmguard(
        dir,
        &[
            "check",
            "--snapshot",
            snapshot.to_str().expect("utf-8"),
            "--now",
            NOW,
        ],
    );
    // A verdict on the whole set (the sample holds old and failed images).
    assert!(code == 0 || code == 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("images checked against 7 rules"),
        "{stdout}"
    );
}

#[test]
fn init_refuses_to_overwrite_and_says_which_and_what_to_do() {
    let dir = tempfile::TempDir::new().expect("dir");
    let dir = dir.path();
    std::fs::write(dir.join("ecmguard.yaml"), "fail_on: warning\n").expect("mine");
    let (code, _, stderr) = ecmguard(dir, &["init"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("ecmguard::would-overwrite"), "{stderr}");
    assert!(stderr.contains("ecmguard.yaml"), "{stderr}");
    assert!(
        stderr.contains("--force") && stderr.contains("--no-config"),
        "{stderr}"
    );
    assert!(!dir.join("policies").exists(), "nothing written");
    assert_eq!(
        std::fs::read_to_string(dir.join("ecmguard.yaml")).unwrap(),
        "fail_on: warning\n"
    );
    // Keep my config, get the pack.
    ok(dir, &["init", "--no-config"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("ecmguard.yaml")).unwrap(),
        "fail_on: warning\n"
    );
    assert!(dir.join("policies/hygiene.yaml").is_file());
    // Again: the pack is there now.
    let (code, _, stderr) = ecmguard(dir, &["init", "--no-config"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("policies/hygiene.yaml"), "{stderr}");
    std::fs::write(dir.join("policies/hygiene.yaml"), "edited").unwrap();
    ok(dir, &["init", "--force"]);
    assert_ne!(
        std::fs::read_to_string(dir.join("policies/hygiene.yaml")).unwrap(),
        "edited"
    );
    // No temporary is left anywhere.
    for entry in std::fs::read_dir(dir.join("policies")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".ecmguard-"), "{name}");
    }
}

#[test]
fn init_into_another_directory_names_it_in_the_config() {
    let dir = tempfile::TempDir::new().expect("dir");
    let dir = dir.path();
    ok(dir, &["init", "ci/gate"]);
    assert!(dir.join("ci/gate/platform.yaml").is_file());
    assert!(!dir.join("policies").exists());
    let config = std::fs::read_to_string(dir.join("ecmguard.yaml")).unwrap();
    assert!(config.contains("policy: [\"ci/gate\"]"), "{config}");
    assert!(ok(dir, &["validate"]).starts_with("ok: 7 rules in 4 files"));
    let tests = ok(dir, &["test"]);
    assert!(tests.contains("0 failed"), "{tests}");
}
