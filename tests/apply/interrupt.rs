//! Ctrl-C during an apply: the write in flight finishes, no other write is sent, the result
//! file is written complete with the rest marked not attempted, and the exit is 3.

use std::process::Stdio;
use std::time::{Duration, Instant};

use ecm_emulator::{
    DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, DELETE_IMAGE, Fault, FaultRule, FaultScript,
};
use ecmguard::plan::model::ActionKind;
use rustix::process::{Pid, Signal, kill_process};

use super::support::{A, B, C, later_usage_reads_late, plan, plan_file, server};

#[test]
fn ctrl_c_lets_the_write_in_flight_finish_and_starts_no_other() {
    // The first delete's answer is held: it is in flight when the signal comes. The other
    // images are re-read side by side with it; their instance reads answer late, so they
    // are still re-reading (no write sent) when the signal comes, and must send none.
    let server = server(|c| {
        c.faults = FaultScript::new(vec![
            FaultRule::once(Fault::Delay { ms: 1500 }).for_action(DELETE_IMAGE),
            later_usage_reads_late(1500),
        ])
    });
    let plan = plan(
        &server.url(),
        &[
            (ActionKind::Delete, A),
            (ActionKind::Delete, B),
            (ActionKind::Delete, C),
        ],
    );
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(dir.path().join("plan.json"), plan_file(&plan)).unwrap();
    let url = server.url();
    let child = crate::support::ecmguard_command()
        .args([
            "apply",
            "plan.json",
            "--endpoint",
            &url,
            "--output",
            "result.json",
        ])
        .current_dir(dir.path())
        .env("TENCENTCLOUD_SECRET_ID", DEFAULT_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", DEFAULT_SECRET_KEY)
        .env("HOME", "/nonexistent")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + crate::support::HANG_DEADLINE;
    while !server.log().iter().any(|e| e.action == DELETE_IMAGE) {
        assert!(Instant::now() < deadline, "the delete was never sent");
        std::thread::sleep(Duration::from_millis(10));
    }
    kill_process(Pid::from_child(&child), Signal::INT).expect("SIGINT");
    let out = crate::support::wait_or_kill(child, &["apply".to_owned()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("- delete img-00000001: done"), "{stdout}");
    assert!(
        stdout.contains(
            "img-00000002: not attempted (the run was interrupted (Ctrl-C) before this action)"
        ),
        "{stdout}"
    );
    assert!(stderr.contains("apply-stopped"), "{stderr}");
    let deletes = server
        .log()
        .iter()
        .filter(|e| e.action == DELETE_IMAGE)
        .count();
    assert_eq!(deletes, 1, "no action started after Ctrl-C");
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("result.json")).unwrap())
            .unwrap();
    assert_eq!(result["stopped"], "interrupted (Ctrl-C)");
    assert_eq!(result["actions"][0]["outcome"], "done");
    assert_eq!(result["actions"][2]["outcome"], "not_attempted");
}
