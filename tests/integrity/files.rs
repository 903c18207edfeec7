//! Files are complete or absent: written whole or not at all, never over an
//! input, never through a symlink, and a failed write is never a success.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::live_cli::{Server, with_credentials};
use crate::support::{NOW, Test};

const POLICY: &str =
    "rules:\n  - id: state\n    title: Images are NORMAL\n    assert: { ImageState: NORMAL }\n";

fn images() -> serde_json::Value {
    json!([{ "ImageId": "img-a", "ImageState": "FAILED" }, { "ImageId": "img-b", "ImageState": "NORMAL" }])
}

/// Files beside the ones a test made, such as a temporary left behind.
fn others(dir: &Path, expected: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !expected.contains(&n.as_str()))
        .collect();
    found.sort();
    found
}

#[test]
fn an_output_that_is_an_input_is_refused_before_any_work() {
    let snapshot = serde_json::to_string_pretty(&images()).unwrap();
    // The same path, another spelling of it, a hard link and a symlink.
    for output in ["images.json", "./images.json", "hard.json", "soft.json"] {
        let test = Test::new().policy(POLICY).image_array(images());
        let dir = test.path().to_owned();
        std::fs::hard_link(dir.join("images.json"), dir.join("hard.json")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.join("images.json"), dir.join("soft.json")).unwrap();
        let out = test
            .check(&["--format", "json", "--output", output])
            .run()
            .code(2)
            .stderr_has("ecmguard::output-is-input")
            .stderr_has("the snapshot");
        assert_eq!(
            out.read("images.json"),
            snapshot,
            "{output}: the snapshot is untouched"
        );
    }
    let out = Test::new()
        .policy(POLICY)
        .images(images())
        .check(&["--report", "html=policies/main.yaml"])
        .run()
        .code(2)
        .stderr_has("a policy file");
    assert_eq!(out.read("policies/main.yaml"), POLICY);
    Test::new()
        .policy(POLICY)
        .images(images())
        .check(&[
            "--output",
            "r.json",
            "--format",
            "json",
            "--report",
            "sarif=./r.json",
        ])
        .run()
        .code(2)
        .stderr_has("another output");
    // The SQLite history holds every recorded run: a report is never
    // written over it, whether it exists yet or not.
    // (The refusal comes before the database is opened, so any bytes
    // stand in for recorded runs.)
    let out = Test::new()
        .policy(POLICY)
        .images(images())
        .file("h.db", "recorded runs")
        .check(&["--history", "h.db", "--report", "json=./h.db"])
        .run()
        .code(2)
        .stderr_has("the history database");
    assert_eq!(out.read("h.db"), "recorded runs");
    Test::new()
        .policy(POLICY)
        .images(images())
        .check(&["--history", "new.db", "--report", "sarif=new.db"])
        .run()
        .code(2)
        .stderr_has("the history database");
    // Writing the baseline that was read is the one allowed case.
    let baseline = json!({ "schema": "ecmguard/baseline/v1", "entries": [{ "rule": "state", "image": "img-a" }] }).to_string();
    Test::new()
        .policy(POLICY)
        .images(images())
        .file("b.json", &baseline)
        .check(&["--baseline", "b.json", "--write-baseline", "b.json"])
        .run()
        .code(0);
}

#[test]
fn lost_output_is_never_a_success() {
    for format in ["human", "sarif", "json"] {
        let dir = Test::new().policy(POLICY).images(images());
        let path = dir.path().to_owned();
        let status = crate::support::ecmguard_command()
            .args([
                "check",
                "--snapshot",
                "images.json",
                "--now",
                NOW,
                "--format",
                format,
            ])
            .current_dir(&path)
            .env_remove("GITHUB_ACTIONS")
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(status.status.code(), Some(2), "{format} > /dev/full");
        let stderr = String::from_utf8_lossy(&status.stderr);
        assert!(stderr.contains("ecmguard::file-write"), "{stderr}");
        assert!(stderr.contains("No space left on device"), "{stderr}");
    }
}

#[test]
fn a_reader_that_stops_reading_keeps_the_verdict() {
    let test = Test::new().policy(POLICY).images(images());
    let mut child = crate::support::ecmguard_command()
        .args([
            "check",
            "--snapshot",
            "images.json",
            "--now",
            NOW,
            "--format",
            "json",
        ])
        .current_dir(test.path())
        .env_remove("GITHUB_ACTIONS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Close the pipe without reading: `| head -c 0`.
    drop(child.stdout.take());
    assert_eq!(
        child.wait().unwrap().code(),
        Some(1),
        "the verdict, not a write error"
    );
}

#[test]
fn a_failed_write_leaves_the_previous_file_and_no_temporary() {
    let test = Test::new()
        .policy(POLICY)
        .images(images())
        .file("report.json", "the previous, complete report");
    let dir = test.path().to_owned();
    // The file size limit (10 KiB) makes the write fail part way, as a full
    // disk would; SIGXFSZ is ignored so the write reports EFBIG instead.
    let bin = env!("CARGO_BIN_EXE_ecmguard");
    // A larger input than `images()`: the shipped example gives a report of ~60 KiB.
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/snapshots/account.json"),
        dir.join("examples.json"),
    )
    .unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -f 20; trap '' XFSZ; exec '{bin}' check --snapshot examples.json --policy '{}' --now {NOW} --format json --output report.json",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("policies").display()
        ))
        .current_dir(&dir)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write report.json"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("report.json")).unwrap(),
        "the previous, complete report"
    );
    assert_eq!(
        others(
            &dir,
            &["report.json", "examples.json", "images.json", "policies"]
        ),
        Vec::<String>::new()
    );
    drop(test);
}

/// Killed while writing a large report (SIGKILL: nothing can clean up):
/// the previous report is intact and nothing is left beside it.
#[test]
fn a_run_killed_mid_write_leaves_the_previous_file_intact() {
    let test = Test::new()
        .policy(POLICY)
        .file("report.json", "the previous, complete report");
    let dir = test.path().to_owned();
    let mut snapshot = Vec::new();
    ecmguard::generate::write_snapshot(
        &ecmguard::generate::GenOptions {
            count: 60_000,
            violating: 1.0,
            ..ecmguard::generate::GenOptions::default()
        },
        &mut snapshot,
    )
    .unwrap();
    std::fs::write(dir.join("big.json"), snapshot).unwrap();
    let mut child = crate::support::ecmguard_command()
        .args([
            "check",
            "--snapshot",
            "big.json",
            "--now",
            NOW,
            "--format",
            "json",
            "--output",
            "report.json",
        ])
        .current_dir(&dir)
        .env_remove("GITHUB_ACTIONS")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it has written a few MiB of the report, then kill it.
    let started = std::time::Instant::now();
    let io = format!("/proc/{}/io", child.id());
    loop {
        let written = std::fs::read_to_string(&io)
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("wchar: "))
                    .and_then(|n| n.trim().parse::<u64>().ok())
            })
            .unwrap_or(0);
        if written > 4 << 20 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be killed mid-write; make the report larger"
        );
        assert!(
            started.elapsed() < crate::support::HANG_DEADLINE,
            "never started writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed by a signal");
    assert_eq!(
        std::fs::read_to_string(dir.join("report.json")).unwrap(),
        "the previous, complete report"
    );
    assert_eq!(
        others(&dir, &["report.json", "big.json", "policies"]),
        Vec::<String>::new()
    );
}

/// `--output /dev/null`, `--report json=/dev/stdout`, a named pipe, a
/// shell's `>(…)`: a destination that is a device or a pipe is a stream,
/// written to, never replaced by a regular file (as root, replacing
/// `/dev/null` broke the machine). A named pipe stands in for the device.
#[cfg(unix)]
#[test]
fn a_device_or_pipe_as_the_destination_is_written_not_replaced() {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let test = Test::new().policy(POLICY).images(images());
    let pipe = test.path().join("pipe");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &pipe,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    // Opened without waiting for a writer, so a regression fails rather than hangs.
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(&pipe)
        .unwrap();
    let out = test.check(&["--report", "json=pipe"]).run().code(1);
    assert!(
        std::fs::symlink_metadata(out.dir().join("pipe"))
            .unwrap()
            .file_type()
            .is_fifo(),
        "the pipe was replaced"
    );
    let mut streamed = String::new();
    let _ = reader.read_to_string(&mut streamed);
    assert!(streamed.contains("ecmguard/report/v1"), "{streamed:?}");
}

#[cfg(unix)]
#[test]
fn a_symlink_at_the_destination_is_replaced_not_followed() {
    let test = Test::new()
        .policy(POLICY)
        .images(images())
        .file("precious.txt", "keep me");
    std::os::unix::fs::symlink(
        test.path().join("precious.txt"),
        test.path().join("report.json"),
    )
    .unwrap();
    let out = test
        .check(&["--format", "json", "--output", "report.json"])
        .run()
        .code(1);
    assert_eq!(out.read("precious.txt"), "keep me");
    assert!(out.read("report.json").contains("ecmguard/report/v1"));
}

#[test]
fn fetch_finds_an_unwritable_destination_before_fetching_and_touches_nothing_else() {
    let server = Server::start(images().as_array().cloned().unwrap_or_default(), |_| {});
    let url = server.url();
    with_credentials(Test::new())
        .args(&["fetch", "--endpoint", &url, "-o", "no/such/dir/data.json"])
        .run()
        .code(2)
        .stderr_has("cannot write no/such/dir/data.json");
    assert_eq!(server.requests(), 0, "found before the fetch");
    // The old `data.partial` scheme deleted a user's file of that name and
    // followed a planted symlink: neither is touched now.
    let test = with_credentials(Test::new())
        .file("data.partial", "a user's file")
        .file("victim.txt", "keep me");
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        test.path().join("victim.txt"),
        test.path().join("link.partial"),
    )
    .unwrap();
    let out = test
        .args(&["fetch", "--endpoint", &url, "-o", "data.json"])
        .run()
        .code(0);
    assert_eq!(out.read("data.partial"), "a user's file");
    assert_eq!(out.read("victim.txt"), "keep me");
    let snapshot: serde_json::Value = serde_json::from_str(&out.read("data.json")).unwrap();
    assert_eq!(snapshot["total_count"], 2);
}

#[test]
fn fetch_to_a_closed_pipe_is_not_a_success() {
    let server = Server::start(images().as_array().cloned().unwrap_or_default(), |_| {});
    let url = server.url();
    let test = with_credentials(Test::new());
    let mut child = crate::support::ecmguard_command()
        .args(["fetch", "--endpoint", &url, "-o", "-"])
        .current_dir(test.path())
        .env("TENCENTCLOUD_SECRET_ID", ecm_emulator::DEFAULT_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", ecm_emulator::DEFAULT_SECRET_KEY)
        .env("HOME", "/nonexistent")
        .env_remove("GITHUB_ACTIONS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
