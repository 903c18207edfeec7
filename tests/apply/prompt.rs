//! `ecmguard apply` without a plan file: it plans as `plan` does, shows the plan, and on a
//! terminal asks before it acts (answered through a real pseudo-terminal: yes, no, end of
//! input); `--auto-approve` does not ask; off a terminal without it nothing is read or done.

use std::io::{Read, Write};
use std::process::Stdio;

use super::support::{A, server, writes};
use crate::live_cli::{Server, with_credentials};
use crate::support::{NOW, Test};

/// One describe for each private image whose description is not the reviewed one.
const POLICY: &str = "rules:
  - id: reviewed-description
    title: Private images carry the reviewed description
    where: { ImageType: PRIVATE_IMAGE }
    assert: { ImageDescription: { matches: \"^reviewed$\" } }
    fix: { describe: \"reviewed\" }
";

const QUESTION: &str = "Do you want to perform these actions? Only 'yes' will be accepted:";

fn args(server: &Server) -> Vec<String> {
    [
        "apply",
        "--endpoint",
        &server.url(),
        "--image",
        A,
        "--now",
        NOW,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Runs `apply` with its stdin on a pseudo-terminal and `typed` written to it
/// (`None`: end of input, Ctrl-D). Returns (exit code, stdout, stderr).
fn on_a_terminal(server: &Server, typed: Option<&str>) -> (i32, String, String) {
    let (master, terminal) = crate::support::pseudo_terminal();
    let test = Test::new().policy(POLICY);
    let mut child = crate::support::ecmguard_command()
        .args(args(server))
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .env("TENCENTCLOUD_SECRET_ID", ecm_emulator::DEFAULT_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", ecm_emulator::DEFAULT_SECRET_KEY)
        .env("HOME", "/nonexistent")
        .stdin(Stdio::from(terminal))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut keyboard = std::fs::File::from(master);
    // The line waits in the terminal until the question reads it.
    match typed {
        Some(line) => keyboard.write_all(line.as_bytes()).expect("type"),
        // Ctrl-D at the start of a line: the reader sees the end of input.
        None => keyboard.write_all(&[4]).expect("type Ctrl-D"),
    }
    // What the terminal echoes is drained so that it never fills up.
    let echo = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let _ = keyboard.read_to_end(&mut seen);
    });
    let argv = args(server);
    let output = crate::support::wait_or_kill(child_take(&mut child), &argv);
    drop(echo);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn child_take(child: &mut std::process::Child) -> std::process::Child {
    std::mem::replace(
        child,
        std::process::Command::new("true").spawn().expect("true"),
    )
}

#[test]
fn yes_on_a_terminal_performs_the_plan_it_showed() {
    let server = server(|_| {});
    let (code, stdout, stderr) = on_a_terminal(&server, Some("yes\n"));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("ecmguard will perform the following actions:"),
        "{stdout}"
    );
    assert!(stdout.contains("~ describe img-00000001"), "{stdout}");
    assert!(stderr.contains(QUESTION), "{stderr}");
    assert!(stdout.contains("Apply: 1 done"), "{stdout}");
    assert_eq!(writes(&server), 1);
}

#[test]
fn any_other_answer_or_none_does_nothing() {
    for typed in [Some("no\n"), Some("y\n"), Some("yes please\n"), None] {
        let server = server(|_| {});
        let (code, stdout, stderr) = on_a_terminal(&server, typed);
        assert_eq!(code, 1, "{typed:?}: {stdout}\n{stderr}");
        assert!(stderr.contains(QUESTION), "{stderr}");
        assert!(stderr.contains("ecmguard::apply-cancelled"), "{stderr}");
        assert!(!stdout.contains("Apply:"), "{stdout}");
        assert_eq!(writes(&server), 0, "{typed:?}");
    }
}

#[test]
fn auto_approve_does_not_ask() {
    let server = server(|_| {});
    let mut argv = args(&server);
    argv.push("--auto-approve".to_owned());
    argv.extend(["--output".to_owned(), "apply.json".to_owned()]);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = with_credentials(Test::new().policy(POLICY).args(&argv))
        .run()
        .code(0)
        .stdout_has("~ describe img-00000001")
        .stdout_has("Apply: 1 done");
    assert!(!out.stderr.contains(QUESTION), "{}", out.stderr);
    assert_eq!(writes(&server), 1);
    let result: serde_json::Value = serde_json::from_str(&out.read("apply.json")).expect("json");
    assert_eq!(result["plan"], serde_json::Value::Null);
    assert_eq!(result["actions"][0]["outcome"], "done");
    // A second run finds nothing to do.
    with_credentials(Test::new().policy(POLICY).args(&argv))
        .run()
        .code(0)
        .stdout_has("Nothing to do.");
    assert_eq!(writes(&server), 1);
}

#[test]
fn off_a_terminal_without_auto_approve_nothing_is_read_or_done() {
    let server = server(|_| {});
    let argv = args(&server);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    with_credentials(Test::new().policy(POLICY).args(&argv))
        .stdin("yes\n")
        .run()
        .code(2)
        .stderr_has("ecmguard::apply-needs-approval");
    assert!(server.log().is_empty(), "{:?}", server.log().len());
}

#[test]
fn planning_flags_are_refused_with_a_plan_file() {
    Test::new()
        .file("plan.json", "{}")
        .args(&["apply", "plan.json", "--image", A, "--max-actions", "3"])
        .run()
        .code(2)
        .stderr_has("--image plans")
        .stderr_has("--max-actions plans");
}
