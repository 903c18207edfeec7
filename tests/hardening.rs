//! Hostile and malformed input. The malformed-policy corpus
//! (`tests/fixtures/malformed/`, manifest `expected.txt`) is table-driven:
//! every file must give exit 2 from `validate`, a diagnostic located as
//! `FILE:LINE:COL`, and the diagnostic code the manifest pins. Hostile inputs
//! (alias bombs, deep nesting, oversized files, deep or cut-off JSON) must be
//! refused with exit 2, never a hang or a stack overflow. The work is bounded
//! by the tool (the YAML parser's budgets, the size cap checked before
//! parsing, serde_json's depth limit), which these tests check by the
//! diagnostic each bound gives; no test times itself (a hang is caught by
//! the harness's deadline, `support::HANG_DEADLINE`), and the timings are in
//! `benches/hostile.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ecmguard::generate::{GenOptions, write_snapshot};
use ecmguard::policy::yaml::MAX_FILE_BYTES;

use crate::support::{NOW, Test};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/malformed")
}

/// `file -> code` from the manifest.
fn manifest() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(corpus().join("expected.txt")).expect("manifest");
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (file, code) = line.split_once(' ').expect("`file code` lines");
            (file.to_owned(), code.trim().to_owned())
        })
        .collect()
}

/// The first `ecmguard::<code>` in rendered diagnostics (errors come first).
fn first_code(stderr: &str) -> Option<&str> {
    let start = stderr.find("ecmguard::")? + "ecmguard::".len();
    let rest = &stderr[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Does `text` hold `name:LINE:COL`?
fn located(text: &str, name: &str) -> bool {
    text.match_indices(&format!("{name}:")).any(|(at, m)| {
        let rest = &text[at + m.len()..];
        let mut parts = rest.splitn(3, ':');
        let digits = |s: Option<&str>| {
            s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        };
        let line = parts.next();
        let column = parts.next().map(|c| {
            c.split(|ch: char| !ch.is_ascii_digit())
                .next()
                .unwrap_or("")
        });
        digits(line) && digits(column)
    })
}

#[test]
fn the_corpus_and_its_manifest_agree() {
    let listed = manifest();
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus())
        .expect("corpus dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    let listed_names: Vec<String> = listed.keys().cloned().collect();
    assert_eq!(on_disk, listed_names);
    assert!(
        listed.len() >= 40,
        "only {} malformed policies",
        listed.len()
    );
}

#[test]
fn every_malformed_policy_is_refused_with_its_located_code() {
    let mut failures = Vec::new();
    for (file, code) in manifest() {
        let bytes = std::fs::read(corpus().join(&file)).expect("fixture");
        let path = format!("p/{file}");
        let out = Test::new()
            .file(&path, bytes)
            .args(&["validate", "--policy", &path])
            .run();
        let problem = if out.code != 2 {
            Some(format!("exit {}", out.code))
        } else if first_code(&out.stderr) != Some(code.as_str()) {
            Some(format!(
                "first code {:?}, expected {code}",
                first_code(&out.stderr)
            ))
        } else if !located(&out.stderr, &path) {
            Some(format!("no {path}:LINE:COL in stderr"))
        } else {
            None
        };
        if let Some(problem) = problem {
            failures.push(format!("{file}: {problem}\n{}", out.stderr));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

#[test]
fn the_size_limit_is_exact_and_checked_before_parsing() {
    let rule = "rules:\n  - id: r1\n    title: A rule\n    assert: { ImageState: NORMAL }\n";
    // A comment pads the file to exactly the limit: still accepted.
    let pad = MAX_FILE_BYTES - rule.len() - 3;
    let at_limit = format!("{rule}# {}\n", "x".repeat(pad));
    assert_eq!(at_limit.len(), MAX_FILE_BYTES);
    Test::new()
        .file("p.yaml", &at_limit)
        .args(&["validate", "--policy", "p.yaml"])
        .run()
        .code(0);
    // One byte more, and garbage YAML after it: refused for its size alone.
    let over = format!("{at_limit}\x07[{{");
    let out = Test::new()
        .file("p.yaml", over)
        .args(&["validate", "--policy", "p.yaml"])
        .run()
        .code(2)
        .stderr_has("ecmguard::file-too-large");
    // Refused for its size before parsing: the garbage after it is not reached.
    assert!(!out.stderr.contains("yaml-syntax"), "{}", out.stderr);
}

/// Deep nesting never overflows the stack. Where the snapshot reads values
/// (the document, `filters`), serde_json's limit of 128 levels makes it exit
/// 2; a `Response`'s `Error` is an API error whatever its shape (exit 3);
/// unknown fields are kept verbatim (skipped without recursion) up to 64
/// levels, and refused deeper (exit 2).
#[test]
fn deeply_nested_snapshot_json_never_overflows_the_stack() {
    let depth = 100_000;
    let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let cases = [
        ("top level", deep.clone(), 2),
        (
            "filters",
            format!(
                r#"{{"schema": "ecmguard/snapshot/v1", "filters": {deep}, "total_count": 0, "ImageSet": []}}"#
            ),
            2,
        ),
        (
            "an image field",
            format!(r#"[{{"ImageId": "img-a", "ImageName": {deep}}}]"#),
            2,
        ),
        // Unknown fields are kept and written back into reports: deeper than
        // 64 levels they would make a JSON report unreadable to jq or Python.
        (
            "an unknown image field",
            format!(r#"[{{"ImageId": "img-a", "ImageState": "NORMAL", "Labels": {deep}}}]"#),
            2,
        ),
        (
            "an unknown SrcImage field",
            format!(
                r#"[{{"ImageId": "img-a", "ImageState": "NORMAL", "SrcImage": {{"Zone": {deep}}}}}]"#
            ),
            2,
        ),
        (
            "an unknown field 64 levels deep",
            format!(
                r#"{{"TotalCount": 1, "ImageSet": [{{"ImageId": "img-a", "ImageState": "NORMAL", "Labels": {}{}}}]}}"#,
                "[".repeat(64),
                "]".repeat(64)
            ),
            0,
        ),
        (
            // Any `Error` at all means the request failed: incomplete, exit 3.
            "a response's Error",
            format!(r#"{{"Response": {{"TotalCount": 0, "Error": {deep}}}}}"#),
            3,
        ),
    ];
    for (name, json, code) in cases {
        let out = Test::new()
            .policy("rules:\n  - id: r1\n    title: A rule\n    assert: { ImageState: NORMAL }\n")
            .file("images.json", json)
            .check(&[])
            .run();
        assert_eq!(out.code, code, "{name}: {}", out.stderr);
        if code == 2 {
            assert!(
                out.stderr.contains("ecmguard::snapshot-json"),
                "{name}: {}",
                out.stderr
            );
            // The one long line is not quoted back.
            assert!(
                out.stderr.len() < 4096,
                "{name}: {} bytes of stderr",
                out.stderr.len()
            );
        }
    }
}

#[test]
fn a_large_snapshot_cut_off_on_stdin_is_exit_2_quickly() {
    // Past the 16 MiB kept for error snippets, so the streaming reader's
    // "too large to quote" path is taken too.
    let mut bytes = Vec::new();
    write_snapshot(
        &GenOptions {
            count: 40_000,
            ..GenOptions::default()
        },
        &mut bytes,
    )
    .expect("generate");
    assert!(bytes.len() > 16 * 1024 * 1024, "{} bytes", bytes.len());
    for cut in [bytes.len() / 2, bytes.len() - 3] {
        Test::new()
            .policy("rules:\n  - id: r1\n    title: A rule\n    assert: { ImageState: NORMAL }\n")
            .stdin(bytes[..cut].to_vec())
            .args(&["check", "--snapshot", "-", "--now", NOW])
            .run()
            .code(2)
            .stderr_has("ecmguard::snapshot-json")
            .stderr_has("cut off");
    }
}

#[test]
fn a_small_snapshot_error_on_stdin_quotes_the_line() {
    Test::new()
        .policy("rules:\n  - id: r1\n    title: A rule\n    assert: { ImageState: NORMAL }\n")
        .stdin("[\n{\"ImageId\": \"img-a\",\n \"ImageSize\": \"50\"}]")
        .args(&["check", "--snapshot", "-", "--now", NOW])
        .run()
        .code(2)
        .stderr_has("-:3:")
        .stderr_has("\"ImageSize\": \"50\"");
}

/// A document over one of the YAML parser's limits says which limit, in
/// words, and what to do about it, not the parser's Rust value
/// (`Nodes { nodes: 250001 }`).
#[test]
fn a_parser_limit_is_named_in_words_with_what_to_do() {
    for (file, says, help) in [
        (
            "syntax-alias-bomb.yaml",
            "the YAML is too large to load: more than 250,000 values once its aliases are expanded",
            "instead of nesting aliases",
        ),
        (
            "syntax-deep-block-nesting.yaml",
            "the YAML is too large to load: nested more than 64 levels deep",
            "flatten the structure",
        ),
    ] {
        let bytes = std::fs::read(corpus().join(file)).expect("fixture");
        let path = format!("p/{file}");
        let out = Test::new()
            .file(&path, bytes)
            .args(&["validate", "--policy", &path])
            .run()
            .code(2)
            .stderr_has(says)
            .stderr_has(help);
        assert!(!out.stderr.contains("{ "), "{file}: {}", out.stderr);
    }
}
