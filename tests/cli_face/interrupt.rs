//! Ctrl-C in the middle of a fetch: the run ends at once with `interrupted`
//! on stderr and exit 130 (not a verdict, not 0-3), no output file is
//! written or changed and no temporary is left; on a terminal the bar is
//! cleared first.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ecm_emulator::{DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, Fault, FaultRule, FaultScript};
use rustix::process::{Pid, Signal, kill_process};

use crate::live_cli::Server;
use crate::support::NOW;

/// An emulator that holds every answer for a few seconds: the fetch is in
/// flight when the signal comes.
fn slow_server() -> Server {
    Server::start(ecm_emulator::generate_images(250), |c| {
        c.faults = FaultScript::new(vec![FaultRule::once(Fault::Delay { ms: 4000 }).forever()])
    })
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::TempDir::new().expect("dir");
    std::fs::create_dir_all(dir.path().join("policies")).expect("mkdir");
    std::fs::write(
        dir.path().join("policies/main.yaml"),
        "rules:\n  - id: state\n    title: Images are NORMAL\n    assert: { ImageState: NORMAL }\n",
    )
    .expect("policy");
    dir
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = crate::support::ecmguard_command();
    command
        .args(args)
        .current_dir(dir)
        .env("TENCENTCLOUD_SECRET_ID", DEFAULT_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", DEFAULT_SECRET_KEY)
        .env("HOME", "/nonexistent")
        .env("NO_COLOR", "1")
        // The terminal type a bar is drawn for (the harness passes none on).
        .env("TERM", "xterm")
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

/// Wait (bounded) until `seen` says the fetch has started, then send SIGINT
/// and wait (bounded) for the process to end; its exit code.
fn interrupt_when_started(
    child: &mut Child,
    started: impl FnOnce(Duration) -> bool,
) -> Option<i32> {
    if !started(crate::support::HANG_DEADLINE) {
        let _ = child.kill();
        panic!("the fetch never started");
    }
    // The first request is now held by the emulator.
    std::thread::sleep(Duration::from_millis(300));
    kill_process(Pid::from_child(child), Signal::INT).expect("send SIGINT");
    let deadline = Instant::now() + crate::support::HANG_DEADLINE;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ecmguard did not stop on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every entry of `dir` (hidden temporaries included).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn run_interrupted(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = command(dir, args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut seen = Vec::new();
    let code = interrupt_when_started(&mut child, |within| {
        let deadline = Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match received.recv_timeout(left) {
                Ok(line) => {
                    let start = line.starts_with("fetching images from");
                    seen.push(line);
                    if start {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    });
    let _ = reader.join();
    seen.extend(received.try_iter());
    (code, seen.join("\n"))
}

#[test]
fn ctrl_c_during_a_fetch_exits_130_and_writes_nothing() {
    let server = slow_server();
    let url = server.url();
    let dir = project();
    let (code, stderr) = run_interrupted(
        dir.path(),
        &["fetch", "--endpoint", &url, "-o", "snap.json"],
    );
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by Ctrl-C"), "{stderr}");
    assert!(stderr.contains("ecmguard::interrupted"), "{stderr}");
    assert_eq!(
        entries(dir.path()),
        ["policies"],
        "nothing written, no temporary"
    );

    // A check with reports: the previous report stays as it was.
    std::fs::write(dir.path().join("r.json"), "previous").expect("write");
    let (code, stderr) = run_interrupted(
        dir.path(),
        &[
            "check",
            "--endpoint",
            &url,
            "--now",
            NOW,
            "--format",
            "json",
            "--output",
            "r.json",
            "--report",
            "sarif=r.sarif",
            "--write-baseline",
            "b.json",
        ],
    );
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(entries(dir.path()), ["policies", "r.json"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("r.json")).unwrap(),
        "previous"
    );
}

#[test]
fn ctrl_c_on_a_terminal_clears_the_bar_then_says_interrupted() {
    let (master, slave) = crate::support::pseudo_terminal();

    let server = slow_server();
    let url = server.url();
    let dir = project();
    let mut child = command(
        dir.path(),
        &["fetch", "--endpoint", &url, "-o", "snap.json"],
    )
    .stderr(Stdio::from(slave))
    .spawn()
    .expect("spawn");
    let (chunks, received) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut file = std::fs::File::from(master);
        let mut buf = [0u8; 4096];
        // EIO when the child's side closes: the end.
        while let Ok(n) = file.read(&mut buf) {
            if n == 0 || chunks.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let code = interrupt_when_started(&mut child, |within| {
        let deadline = Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match received.recv_timeout(left) {
                Ok(chunk) => {
                    seen.extend(chunk);
                    if String::from_utf8_lossy(&seen).contains("fetching images: page 0/?") {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    });
    assert_eq!(code, Some(130));
    // What the terminal got after the signal.
    while let Ok(chunk) = received.recv_timeout(Duration::from_secs(2)) {
        seen.extend(chunk);
    }
    drop(received);
    let _ = reader.join();
    let seen = String::from_utf8_lossy(&seen).into_owned();
    let bar = seen
        .rfind("fetching images: page")
        .expect("the bar was drawn");
    let said = seen
        .rfind("interrupted by Ctrl-C")
        .unwrap_or_else(|| panic!("{seen:?}"));
    assert!(said > bar, "{seen:?}");
    assert!(
        seen[bar..said].contains("\u{1b}[2K"),
        "the bar's line is cleared before the message: {seen:?}"
    );
    assert_eq!(entries(dir.path()), ["policies"]);
}
