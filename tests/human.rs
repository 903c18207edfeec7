//! The human report as people read it in a terminal or a CI log: image ids
//! never split across lines at any width, one block per failing rule in
//! severity order, the gate's reason after the report, `--max-findings`,
//! `--quiet`, `--color` and its environment, `{images}` and messages that
//! name their image.

use std::collections::BTreeSet;
use std::process::Stdio;

use serde_json::json;

use crate::output::{CHECK, in_repo_at};
use crate::support::Test;

/// Every `img-…` token of `text` is one of `known`: an id broken across
/// lines leaves a part (`img-` or `img-060o`) that is not an id.
#[track_caller]
fn assert_ids_whole(what: &str, text: &str, known: &BTreeSet<String>) {
    let mut rest = text;
    while let Some(at) = rest.find("img-") {
        let tail = &rest[at + 4..];
        let len = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
            .unwrap_or(tail.len());
        let token = &rest[at..at + 4 + len];
        assert!(
            known.contains(token),
            "{what}: `{token}` is not an image id (split across lines?)\n{text}"
        );
        rest = &rest[at + 4..];
    }
}

/// The ImageIds of the example account.
fn example_ids() -> BTreeSet<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/snapshots/account.json"
    );
    let text = std::fs::read_to_string(path).expect("the example snapshot");
    let mut ids = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("\"ImageId\"") {
        rest = &rest[at + 9..];
        if let Some(value) = rest.split('"').nth(1).filter(|v| v.starts_with("img-")) {
            ids.insert(value.to_owned());
        }
    }
    assert!(ids.len() > 10, "{ids:?}");
    ids
}

#[test]
fn image_ids_are_never_split_across_lines() {
    let known = example_ids();
    let with_inventory = ["--policy", "policies", "--policy", "examples/policies"];
    for columns in [40, 80, 120] {
        for extra in [&[][..], &with_inventory[..], &["--max-findings", "50"][..]] {
            let mut args = CHECK.to_vec();
            args.extend(extra);
            let (_, stdout, stderr) = in_repo_at(&args, columns, &[]);
            let what = format!("check {extra:?} at {columns} columns");
            assert!(stdout.contains("img-060ov1xz"), "{what}: {stdout}");
            assert_ids_whole(&what, &stdout, &known);
            assert_ids_whole(&what, &stderr, &known);
        }
        let (_, stdout, stderr) = in_repo_at(
            &[
                "validate",
                "--policy",
                "policies",
                "--policy",
                "examples/policies",
            ],
            columns,
            &[],
        );
        assert_ids_whole("validate", &format!("{stdout}{stderr}"), &known);
        let (_, stdout, stderr) = in_repo_at(&["rules"], columns, &[]);
        assert_ids_whole("rules", &format!("{stdout}{stderr}"), &known);
        let (_, stdout, stderr) = in_repo_at(&["test"], columns, &[]);
        assert_ids_whole("test", &format!("{stdout}{stderr}"), &known);
    }
}

/// Wide and unbreakable text at 40 columns: CJK names, a name longer than
/// the line, a failing policy test that prints image ids, an image id in a
/// flag's diagnostic.
#[test]
fn long_and_wide_text_overflows_rather_than_splitting_an_id() {
    let policy = "rules:\n  - id: state\n    title: Images are NORMAL\n    assert: { ImageState: NORMAL }\n  - id: unique-names\n    title: Names are unique\n    expect: { unique: ImageName }\n";
    let long = "a".repeat(70);
    let images = json!([
        { "ImageId": "img-000000c2", "ImageName": long, "ImageState": "X" },
        { "ImageId": "img-000000c3", "ImageName": "镜像镜像镜像镜像镜像镜像镜像镜像镜像镜像", "ImageState": "X" },
        { "ImageId": "img-000000c4", "ImageName": "镜像镜像镜像镜像镜像镜像镜像镜像镜像镜像", "ImageState": "X" },
    ]);
    let known: BTreeSet<String> = [
        "img-000000c2",
        "img-000000c3",
        "img-000000c4",
        "img-000000c9",
        // The example in the help of `--image`.
        "img-xxxxxxxx",
    ]
    .map(str::to_owned)
    .into();
    let out = Test::new()
        .policy(policy)
        .images(images.clone())
        .env("COLUMNS", "40")
        .check(&[])
        .run()
        .code(1);
    assert_ids_whole("check", &out.stdout, &known);
    assert!(
        out.stdout.lines().any(|l| l.contains(&long)),
        "the long name overflows whole: {}",
        out.stdout
    );
    let out = Test::new()
        .policy(policy)
        .images(images)
        .env("COLUMNS", "40")
        .check(&["--image", "img-000000c9"])
        .run()
        .code(2);
    assert_ids_whole("--image", &out.stderr, &known);
    let test = "now: 2026-01-01T00:00:00+08:00\ncases:\n  - name: a broken image is flagged\n    images:\n      - { ImageId: img-000000c2, ImageState: NORMAL }\n    expect:\n      - { rule: state, image: img-000000c2, status: violation }\n";
    let out = Test::new()
        .policy(policy)
        .file("policies/main.test.yaml", test)
        .env("COLUMNS", "40")
        .args(&["test"])
        .run()
        .code(2);
    assert!(out.stdout.contains("img-000000c2"), "{}", out.stdout);
    assert_ids_whole("test", &format!("{}{}", out.stdout, out.stderr), &known);
}

const MIXED: &str = "rules:\n  - id: note-desc\n    title: Images have a description\n    severity: info\n    assert: { ImageDescription: { exists: true } }\n  - id: cloud-init\n    title: Images support cloud-init\n    severity: warning\n    assert: { IsSupportCloudInit: true }\n  - id: state\n    title: Images are NORMAL\n    remediation: Fix the image.\n    url: https://example.com/policies/state\n    assert:\n      ImageState: NORMAL\n  - id: never\n    title: No image is SHARED\n    where: { ImageType: SHARED_IMAGE }\n    assert: { ImageState: NORMAL }\n";

fn mixed_images() -> serde_json::Value {
    json!([
        { "ImageId": "img-a", "ImageState": "NORMAL", "IsSupportCloudInit": false },
        { "ImageId": "img-b", "ImageName": "b", "ImageState": "CREATING" },
        { "ImageId": "img-c", "ImageState": "NORMAL", "IsSupportCloudInit": true, "ImageDescription": "ok" },
    ])
}

#[test]
fn one_block_per_failing_rule_in_severity_order() {
    let out = Test::new()
        .policy(MIXED)
        .images(mixed_images())
        .check(&[])
        .run()
        .code(1);
    let text = &out.stdout;
    let error = text.find("error[state]").expect("the error block");
    let warning = text.find("warning[cloud-init]").expect("the warning block");
    let info = text.find("info[note-desc]").expect("the info block");
    assert!(error < warning && warning < info, "{text}");
    // Violations and indeterminate findings of a rule: one block.
    assert_eq!(text.matches("warning[cloud-init]").count(), 1, "{text}");
    assert!(
        text.contains(
            "warning[cloud-init]: Images support cloud-init — 1 violation, 1 indeterminate"
        ),
        "{text}"
    );
    assert!(
        text.contains("= indeterminate: img-b (b): cannot be decided"),
        "{text}"
    );
    // One location, one source line: the condition, underlined.
    assert!(text.contains("--> policies/main.yaml:15:7\n"), "{text}");
    assert!(text.contains("15 |       ImageState: NORMAL\n"), "{text}");
    assert!(
        text.contains("   |       ^^^^^^^^^^^^^^^^^^ 1 image fails this\n"),
        "{text}"
    );
    assert!(
        !text.contains("title: Images are NORMAL"),
        "no policy source beyond the line: {text}"
    );
    assert!(text.contains("= help: Fix the image.\n"), "{text}");
    assert!(
        text.contains("= see: https://example.com/policies/state\n"),
        "{text}"
    );
    // The table lists every rule, the skipped one too; the verdict closes.
    let table = &text[text.find("rule ").expect("the table")..];
    for row in [
        "state       error            3           1              0       0          0  fail",
        "cloud-init  warning          3           1              1       0          0  findings",
        "note-desc   info             3           2              0       0          0  findings",
        "never       error            0           0              0       0          0  skip",
    ] {
        assert!(table.contains(row), "{row}\n{table}");
    }
    assert!(
        text.trim_end()
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("FAIL: 3 images")),
        "{text}"
    );
}

/// stdout and stderr into one pipe, as `2>&1` or a CI log has them.
fn interleaved(dir: &std::path::Path, args: &[&str]) -> String {
    let log = dir.join("log.txt");
    let file = std::fs::File::create(&log).expect("log file");
    let status = crate::support::ecmguard_command()
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("clone"))
        .stderr(file)
        .status()
        .expect("run ecmguard");
    assert_eq!(status.code(), Some(1));
    std::fs::read_to_string(&log).expect("log")
}

#[test]
fn the_gate_reason_follows_the_report_once() {
    let test = Test::new().policy(MIXED).images(mixed_images());
    for format in ["human", "json", "github", "markdown"] {
        let text = interleaved(
            test.path(),
            &[
                "check",
                "--snapshot",
                "images.json",
                "--now",
                crate::support::NOW,
                "--format",
                format,
            ],
        );
        assert_eq!(
            text.matches("ecmguard::gate-failed").count(),
            1,
            "{format}: {text}"
        );
        let reason = text.find("ecmguard::gate-failed").expect("the reason");
        let verdict = match format {
            "human" => "FAIL: 3 images",
            "json" => "}",
            "github" => "::notice title=ecmguard%3A FAIL",
            _ => "<sub>ecmguard",
        };
        let report_end = text
            .rfind(verdict)
            .unwrap_or_else(|| panic!("{format}: {text}"));
        assert!(
            report_end < reason,
            "{format}: the reason comes last: {text}"
        );
    }
}

#[test]
fn max_findings_caps_every_list_and_zero_lists_none() {
    let images: Vec<serde_json::Value> = (0..15)
        .map(|i| json!({ "ImageId": format!("img-{i:04}"), "ImageState": "CREATING" }))
        .collect();
    let policy =
        "rules:\n  - id: state\n    title: Images are NORMAL\n    assert: { ImageState: NORMAL }\n";
    let run = |extra: &[&str]| {
        Test::new()
            .policy(policy)
            .images(json!(images))
            .check(extra)
            .run()
            .code(1)
    };
    // Default 10.
    let out = run(&[]);
    assert_eq!(out.stdout.matches("= img-").count(), 10, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("= … and 5 more (--max-findings, or --format json/csv for all)"),
        "{}",
        out.stdout
    );
    let out = run(&["--max-findings", "3"]);
    assert_eq!(out.stdout.matches("= img-").count(), 3);
    assert!(out.stdout.contains("… and 12 more"));
    let out = run(&["--max-findings", "0"]);
    assert_eq!(out.stdout.matches("img-").count(), 0, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("error[state]: Images are NORMAL — 15 violations")
    );
    // github and markdown follow it too; json and csv list everything.
    let out = run(&["--max-findings", "4", "--format", "github"]);
    assert_eq!(
        out.stdout
            .lines()
            .filter(|l| l.starts_with("::error "))
            .count(),
        4
    );
    assert!(
        out.stdout
            .contains("11 more findings of state are not annotated")
    );
    let out = run(&["--max-findings", "4", "--format", "markdown"]);
    assert_eq!(out.stdout.matches("| `img-").count(), 4);
    assert!(
        out.stdout
            .contains("… and 11 more (--max-findings, or the JSON or CSV report for all)")
    );
    let out = run(&["--max-findings", "0", "--format", "markdown"]);
    assert_eq!(out.stdout.matches("| `img-").count(), 0);
    assert!(out.stdout.contains("15 findings not listed"));
    let out = run(&["--max-findings", "1", "--format", "csv"]);
    assert_eq!(out.stdout.matches("img-").count(), 15);
    // The waived list uses the same cap.
    let waived = format!(
        "{policy}waivers:\n  - rules: [state]\n    where: {{ ImageState: CREATING }}\n    reason: Imports in flight\n"
    );
    let out = Test::new()
        .policy(&waived)
        .images(json!(images))
        .check(&["--max-findings", "2"])
        .run()
        .code(0);
    assert!(
        out.stdout.contains("waived (15), not failing:"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout.matches("[state] img-").count(),
        2,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("  … and 13 more (--max-findings"),
        "{}",
        out.stdout
    );
}

#[test]
fn max_findings_must_be_a_whole_number() {
    for bad in ["-1", "ten", "2.5", ""] {
        Test::new()
            .policy(MIXED)
            .images(mixed_images())
            .check(&["--max-findings", bad])
            .run()
            .code(2)
            .stderr_has("ecmguard::invalid-argument")
            .stderr_has("is not a whole number of images (0 or more)")
            .stderr_has("0 lists none");
    }
}

#[test]
fn quiet_prints_the_table_and_the_verdict() {
    let out = Test::new()
        .policy(MIXED)
        .images(mixed_images())
        .check(&["--quiet"])
        .run()
        .code(1)
        .stderr_has("ecmguard::gate-failed");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        6,
        "header, four rules, verdict: {}",
        out.stdout
    );
    assert!(lines[0].starts_with("rule "));
    assert!(lines[5].starts_with("FAIL: "));
    assert!(!out.stdout.contains("img-"));
    // A report file written in the same run is whole.
    let out = Test::new()
        .policy(MIXED)
        .images(mixed_images())
        .check(&["--quiet", "--report", "human=report.txt"])
        .run()
        .code(1);
    assert!(out.read("report.txt").contains("error[state]"));
}

#[test]
fn colour_follows_the_flag_then_the_environment() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut test = Test::new().policy(MIXED).images(mixed_images());
        for (key, value) in env {
            test = test.env(key, value);
        }
        test.check(args).run()
    };
    let coloured = |text: &str| text.contains("\u{1b}[");
    // Not a terminal, NO_COLOR=1 (the test default): plain.
    let out = run(&[], &[]);
    assert!(!coloured(&out.stdout) && !coloured(&out.stderr));
    // An explicit --color beats NO_COLOR, on both streams.
    let out = run(&["--color", "always"], &[]);
    assert!(coloured(&out.stdout) && coloured(&out.stderr));
    assert!(
        out.stdout
            .contains("\u{1b}[1;31merror\u{1b}[0m\u{1b}[1m[state]"),
        "{}",
        out.stdout
    );
    // CLICOLOR_FORCE turns auto on when NO_COLOR is not set …
    let out = run(&[], &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "1")]);
    assert!(coloured(&out.stdout));
    // … but not when it is, nor when it is 0; --color never beats it.
    let out = run(&[], &[("CLICOLOR_FORCE", "1")]);
    assert!(!coloured(&out.stdout));
    let out = run(&[], &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "0")]);
    assert!(!coloured(&out.stdout));
    let out = run(
        &["--color", "never"],
        &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "1")],
    );
    assert!(!coloured(&out.stdout) && !coloured(&out.stderr));
    // Ids are never cut by a colour code.
    let out = run(&["--color", "always"], &[]);
    assert!(
        out.stdout.contains("\u{1b}[0m img-b (b): "),
        "{}",
        out.stdout
    );
    // A global flag: validate's diagnostics too, before or after the command.
    for args in [
        ["--color", "always", "validate"],
        ["validate", "--color", "always"],
    ] {
        let out = Test::new()
            .policy("rules:\n  - id: a\n    title: T\n    assert: { ImageStat: NORMAL }\n")
            .args(&args)
            .run()
            .code(2);
        assert!(coloured(&out.stderr), "{}", out.stderr);
    }
}

/// `{images}` lists the images of a set-level finding; a message that names
/// its image (`{ImageId}`) is not prefixed with it again.
#[test]
fn messages_list_and_name_images_once() {
    let policy = "rules:\n  - id: unique-names\n    title: Names are unique\n    severity: warning\n    expect: { unique: ImageName }\n    message: \"{count} images are named {value}: {images}\"\n  - id: state\n    title: Images are NORMAL\n    assert: { ImageState: NORMAL }\n    message: \"{ImageId} is {ImageState}\"\n";
    let images = json!([
        { "ImageId": "img-a", "ImageName": "web", "ImageState": "NORMAL" },
        { "ImageId": "img-b", "ImageName": "web", "ImageState": "CREATING" },
    ]);
    let out = Test::new()
        .policy(policy)
        .images(images)
        .check(&[])
        .run()
        .code(1);
    assert!(
        out.stdout
            .contains("= 2 images are named \"web\": img-a, img-b\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("= img-b is CREATING\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("img-b (web): img-b"), "{}", out.stdout);
}

/// Figures read as the other reports write them: `1,500 violations`, in the
/// block, the summary line and the table alike (the JSON has the number).
#[test]
fn large_figures_have_thousands_separators() {
    let images: Vec<serde_json::Value> = (0..1500)
        .map(|i| json!({ "ImageId": format!("img-{i:05}"), "ImageState": "CREATING" }))
        .collect();
    let out = Test::new()
        .policy("rules:\n  - id: state\n    title: Images are NORMAL\n    assert: { ImageState: NORMAL }\n")
        .images(json!(images))
        .check(&["--max-findings", "1"])
        .run()
        .code(1);
    for figure in [
        "Images are NORMAL — 1,500 violations",
        "1,500 images fail this",
        "… and 1,499 more",
        "1,500 images checked against 1 rule: 1,500 error, 0 warning",
    ] {
        assert!(
            out.stdout.contains(figure),
            "no `{figure}` in\n{}",
            out.stdout
        );
    }
    let table = out
        .stdout
        .lines()
        .find(|line| line.starts_with("state "))
        .expect("the table row");
    assert_eq!(
        table.split_whitespace().collect::<Vec<_>>(),
        ["state", "error", "1,500", "1,500", "0", "0", "0", "fail"]
    );
}
