//! The everyday commands: `completions`, `man`, `explain`, `--version`.

use std::process::Command;

use ecmguard::diag::Code;
use ecmguard::image::Field;
use ecmguard::policy::operator::Operator;

use crate::support::{Output, Test};

fn run(args: &[&str]) -> Output {
    Test::new().args(args).run()
}

/// Whitespace runs as one space: explain wraps its text to the terminal.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

const COMMANDS: [&str; 10] = [
    "check",
    "fetch",
    "validate",
    "test",
    "rules",
    "history",
    "explain",
    "init",
    "completions",
    "man",
];

#[test]
fn completions_name_every_command_in_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completions", shell]).code(0);
        for command in COMMANDS {
            assert!(out.stdout.contains(command), "{shell} lacks {command}");
        }
    }
    run(&["completions", "tcsh"]).code(2);
}

#[test]
fn bash_completion_is_valid_bash() {
    let out = run(&["completions", "bash"]).code(0);
    let script = out.dir().join("ecmguard.bash");
    std::fs::write(&script, &out.stdout).expect("write");
    match Command::new("bash").arg("-n").arg(&script).output() {
        Ok(checked) => assert!(
            checked.status.success(),
            "bash -n: {}",
            String::from_utf8_lossy(&checked.stderr)
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("bash is not installed: syntax not checked")
        }
        Err(e) => panic!("bash: {e}"),
    }
}

#[test]
fn the_man_page_is_roff_for_ecmguard_and_each_command() {
    let out = run(&["man"]).code(0);
    assert!(out.stdout.contains(".TH ecmguard 1"), "{}", out.stdout);
    assert!(out.stdout.contains(".SH NAME"));
    for command in COMMANDS {
        assert!(
            out.stdout.contains(&format!("ecmguard\\-{command}(1)")),
            "ecmguard(1) does not refer to ecmguard-{command}(1)"
        );
    }
    let check = run(&["man", "check"]).code(0);
    assert!(check.stdout.contains(".TH ecmguard-check 1"));
    assert!(check.stdout.contains("\\-\\-snapshot"));
    run(&["man", "chek"])
        .code(2)
        .stderr_has("did you mean `check`?");
    let all = run(&["man", "--out-dir", "man/man1"]).code(0);
    for name in ["ecmguard.1", "ecmguard-check.1", "ecmguard-history-prune.1"] {
        assert!(all.dir().join("man/man1").join(name).is_file(), "{name}");
    }
}

#[test]
fn version_shows_the_package_version_and_the_commit() {
    let out = run(&["--version"]).code(0);
    let line = out.stdout.trim_end();
    let shape =
        regex::Regex::new(r"^ecmguard (\d+\.\d+\.\d+\S*)(?: \(([0-9a-f]{7,40})(-dirty)?\))?$")
            .expect("regex");
    let caps = shape
        .captures(line)
        .unwrap_or_else(|| panic!("--version: {line:?}"));
    assert_eq!(&caps[1], env!("CARGO_PKG_VERSION"));
    // Built from a git checkout: the commit is the one checked out.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if let Some(head) = head {
        let commit = caps.get(2).map(|m| m.as_str()).unwrap_or_else(|| {
            panic!("built from a git checkout, --version names no commit: {line:?}")
        });
        assert!(head.starts_with(commit), "{commit} is not HEAD {head}");
    }
    assert_eq!(run(&["-V"]).code(0).stdout, out.stdout);
}

#[test]
fn explain_says_what_every_code_means_with_an_example_and_the_fix() {
    for code in Code::ALL {
        let out = run(&["explain", code.name()]).code(0);
        let text = flat(&out.stdout);
        for part in [code.description(), code.example(), code.fix()] {
            assert!(
                text.contains(&flat(part)),
                "{}: lacks {part:?}",
                code.name()
            );
        }
        assert!(text.contains("Example:") && text.contains("Fix:"));
    }
    let prefixed = run(&["explain", "ecmguard::gate-failed"]).code(0);
    let bare = run(&["explain", "gate-failed"]).code(0);
    assert_eq!(prefixed.stdout, bare.stdout);
    assert!(bare.stdout.starts_with("ecmguard::gate-failed"));
}

#[test]
fn explain_an_unknown_code_suggests_and_points_at_the_reference() {
    run(&["explain", "gate-faild"])
        .code(2)
        .stderr_has("did you mean `gate-failed`?")
        .stderr_has("docs/diagnostics.md");
    let far = run(&["explain", "zzzzzz"]).code(2);
    assert!(!far.stderr.contains("did you mean"), "{}", far.stderr);
}

#[test]
fn explain_lists_codes_fields_and_operators() {
    let all = run(&["explain"]).code(0);
    for code in Code::ALL {
        assert!(all.stdout.contains(code.name()), "{}", code.name());
    }
    let fields = run(&["explain", "fields"]).code(0);
    for field in Field::ALL {
        let row = fields
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(field.path()))
            .unwrap_or_else(|| panic!("{} is not listed", field.path()));
        assert!(row.ends_with(&field.ty().to_string()), "{row}");
    }
    let operators = run(&["explain", "operators"]).code(0);
    for op in Operator::ALL {
        assert!(
            operators
                .stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(op.name())),
            "{op}"
        );
        assert!(operators.stdout.contains(op.example()), "{op}");
    }
    run(&["explain", "older_than"])
        .code(0)
        .stdout_has("field types: timestamp")
        .stdout_has(Operator::OlderThan.example());
    // Where a user looks for it: the help names both listings.
    run(&["--help"])
        .code(0)
        .stdout_has("explain fields")
        .stdout_has("explain operators");
}
