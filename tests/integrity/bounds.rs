//! Bounded by the tool, not by the input: non-regular files refused, a
//! total budget on patterns, quoted values clipped, a byte-order mark read,
//! loose credentials and a rate above the API's limit warned about.

use std::process::Command;

use serde_json::json;

use crate::live_cli::Server;
use crate::support::{NOW, Test};

const POLICY: &str =
    "rules:\n  - id: state\n    title: Images are NORMAL\n    assert: { ImageState: NORMAL }\n";

fn images() -> serde_json::Value {
    json!([{ "ImageId": "img-a", "ImageState": "NORMAL" }])
}

#[cfg(unix)]
#[test]
fn fifos_and_devices_are_refused_not_waited_on() {
    let test = Test::new().policy(POLICY).images(images());
    let fifo = test.path().join("fifo.yaml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // A read of the FIFO would wait for a writer forever (caught by the
    // harness's hang deadline); refused, it is never opened for reading.
    let out = test
        .check(&["--policy", "fifo.yaml"])
        .run()
        .code(2)
        .stderr_has("it is a FIFO, not a regular file");
    for (flag, path) in [("--policy", "/dev/zero"), ("--baseline", "/dev/zero")] {
        Test::new()
            .policy(POLICY)
            .images(images())
            .check(&[flag, path])
            .run()
            .code(2)
            .stderr_has("it is a device, not a regular file");
    }
    drop(out);
    // A credentials file that is a device is refused too (exit 3: no credentials).
    let server = Server::start(images().as_array().cloned().unwrap_or_default(), |_| {});
    let url = server.url();
    Test::new()
        .policy(POLICY)
        .env("TENCENTCLOUD_CREDENTIALS_FILE", "/dev/zero")
        .env("HOME", "/nonexistent")
        .args(&["check", "--endpoint", &url, "--now", NOW])
        .run()
        .code(3)
        .stderr_has("ecmguard::credentials-unreadable")
        .stderr_has("it is a device");
    assert_eq!(server.requests(), 0);
}

#[test]
fn patterns_are_held_to_a_total_budget() {
    let mut policy = String::from("rules:\n");
    for i in 0..1000 {
        policy.push_str(&format!(
            "  - id: r{i}\n    title: T\n    assert: {{ ImageName: {{ matches: '\\w{{20}}' }} }}\n"
        ));
    }
    Test::new()
        .policy(&policy)
        .args(&["validate"])
        .run()
        .code(2)
        .stderr_has("ecmguard::pattern-budget")
        .stderr_has("need more than 64 MiB compiled");
    // A realistic set of patterns is far below it.
    let mut policy = String::from("rules:\n");
    for i in 0..1000 {
        policy.push_str(&format!(
            "  - id: r{i}\n    title: T\n    assert: {{ ImageName: {{ matches: '^[a-z][a-z0-9]*(-[a-z0-9]+)+$' }} }}\n"
        ));
    }
    Test::new()
        .policy(&policy)
        .args(&["validate"])
        .run()
        .code(0);
}

#[test]
fn a_huge_value_is_clipped_in_diagnostics() {
    let huge = "x".repeat(5 << 20);
    let out = Test::new()
        .policy(POLICY)
        .file(
            "images.json",
            json!([{ "ImageId": "img-a", "ImageSize": huge }]).to_string(),
        )
        .check(&[])
        .run()
        .code(2)
        .stderr_has("more characters)");
    assert!(
        out.stderr.len() < 20_000,
        "{} bytes of stderr",
        out.stderr.len()
    );
}

#[test]
fn a_byte_order_mark_before_a_snapshot_is_read() {
    Test::new()
        .policy(POLICY)
        .file(
            "images.json",
            format!(
                "\u{feff}{}",
                json!({ "TotalCount": 1, "ImageSet": images() })
            ),
        )
        .check(&[])
        .run()
        .code(0);
}

#[cfg(unix)]
/// A project whose credentials file has `mode`, named by the environment.
fn with_credentials_file(mode: u32) -> Test {
    use std::os::unix::fs::PermissionsExt;
    let test = Test::new().policy(POLICY).file(
        "credentials",
        format!(
            "[default]\nsecret_id = {}\nsecret_key = {}\n",
            ecm_emulator::DEFAULT_SECRET_ID,
            ecm_emulator::DEFAULT_SECRET_KEY
        ),
    );
    let file = test.path().join("credentials");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    test.env("TENCENTCLOUD_CREDENTIALS_FILE", file.to_str().unwrap())
        .env("HOME", "/nonexistent")
}

#[test]
fn loose_credentials_and_a_rate_above_the_limit_are_warned_about() {
    let server = Server::start(images().as_array().cloned().unwrap_or_default(), |_| {});
    let url = server.url();
    with_credentials_file(0o644)
        .args(&["check", "--endpoint", &url, "--now", NOW, "--rate", "50"])
        .run()
        .code(0)
        .stderr_has("ecmguard::credentials-exposed")
        .stderr_has("chmod 600")
        .stderr_has("ecmguard::rate-above-limit");
    let out = with_credentials_file(0o600)
        .args(&["check", "--endpoint", &url, "--now", NOW])
        .run()
        .code(0);
    assert!(
        !out.stderr.contains("credentials-exposed"),
        "{}",
        out.stderr
    );
}
