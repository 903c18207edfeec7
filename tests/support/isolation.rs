//! The harness keeps the test process's environment out of every run: a
//! child copy of this test binary is started with a developer's worst
//! environment exported (a history, params, credentials in a file and in
//! `HOME`, a session token, GitHub Actions), and its probe runs the binary
//! through the harness and checks that none of it reached the run.

use std::path::Path;
use std::process::Command;

use ecm_emulator::{DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, Key};
use serde_json::json;

use super::{NOW, Test};
use crate::live_cli::{STATE, Server, sample};

/// The probe's full name, as `--exact` takes it.
const PROBE: &str = "support::isolation::probe_a_run_sees_nothing_of_the_environment";
/// The session token the probe's emulator wants and the leaked environment has.
const PROBE_TOKEN: &str = "probe-token-from-the-environment";
/// Names a directory the leaked environment points into, for the probe.
const LEAK_DIR: &str = "ECMGUARD_TEST_LEAK_DIR";

const CREDENTIALS: &str =
    "[default]\nsecret_id = AKIDleakedFromTheEnvironment\nsecret_key = leaked\n";

#[test]
fn the_developers_environment_never_reaches_a_run() {
    let leak = tempfile::TempDir::new().expect("temp dir");
    let home = leak.path().join("home");
    std::fs::create_dir_all(home.join(".tencentcloud")).expect("mkdir");
    std::fs::write(home.join(".tencentcloud/credentials"), CREDENTIALS).expect("write");
    std::fs::write(leak.path().join("credentials"), CREDENTIALS).expect("write");
    let history = leak.path().join("history.db");
    let output = Command::new(std::env::current_exe().expect("this test binary"))
        .args([PROBE, "--exact", "--include-ignored", "--test-threads=1"])
        .env(LEAK_DIR, leak.path())
        .env("ECMGUARD_HISTORY", &history)
        .env("ECMGUARD_PARAM_name_re", "^never$")
        .env(
            "TENCENTCLOUD_CREDENTIALS_FILE",
            leak.path().join("credentials"),
        )
        .env("TENCENTCLOUD_TOKEN", PROBE_TOKEN)
        .env("HOME", &home)
        .env("GITHUB_ACTIONS", "true")
        .output()
        .expect("run the probe");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // "1 passed": the probe ran (a filter that matched nothing passes too).
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the probe failed or did not run\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!history.exists(), "a run recorded into ECMGUARD_HISTORY");
}

/// Meaningful in any environment; [`the_developers_environment_never_reaches_a_run`]
/// runs it in the worst one.
#[test]
#[ignore = "run by support::isolation::the_developers_environment_never_reaches_a_run \
            in an environment it fills"]
fn probe_a_run_sees_nothing_of_the_environment() {
    let leak_dir = std::env::var_os(LEAK_DIR).unwrap_or_default();
    let leaked = |text: &str| !leak_dir.is_empty() && text.contains(&*leak_dir.to_string_lossy());
    // No history is recorded, no param changes the policy, and stdout is not
    // wrapped for GitHub Actions.
    let out = Test::new()
        .policy("params:\n  name_re: { default: '^web' }\nrules:\n  - id: naming\n    title: N\n    assert: { ImageName: { matches: \"${name_re}\" } }\n")
        .images(json!([{ "ImageId": "img-a", "ImageName": "web-1" }]))
        .check(&[])
        .run()
        .code(0);
    assert!(!out.stdout.contains("::stop-commands::"), "{}", out.stdout);
    if let Some(history) = std::env::var_os("ECMGUARD_HISTORY") {
        assert!(
            !Path::new(&history).exists(),
            "a run recorded into ECMGUARD_HISTORY"
        );
    }
    // No credentials: not the file the environment names, nor the one in HOME.
    let out = Test::new()
        .policy(STATE)
        .args(&["fetch", "--endpoint", "http://127.0.0.1:9", "-o", "s.json"])
        .run()
        .stderr_has("ecmguard::credentials-not-found");
    assert!(!leaked(&out.stderr), "{}", out.stderr);
    // No session token: an emulator that wants one refuses the run.
    let server = Server::start(sample(), |c| {
        c.keys = vec![Key::new(DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY).with_token(PROBE_TOKEN)]
    });
    Test::new()
        .policy(STATE)
        .env("TENCENTCLOUD_SECRET_ID", DEFAULT_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", DEFAULT_SECRET_KEY)
        .args(&["check", "--endpoint", &server.url(), "--now", NOW])
        .run()
        .stderr_has("ecmguard::api-token-failure");
}
