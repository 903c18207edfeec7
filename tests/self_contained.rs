//! A user's clone has only this repository: nothing it ships (sources,
//! tests, the emulator, docs, examples, the README) may read or cite files
//! that sit outside it. Only CI scripts may name such paths.

use std::path::{Path, PathBuf};

use regex::Regex;

const SHIPPED: &[&str] = &[
    "src",
    "tests",
    "emulator",
    "docs",
    "examples",
    "benches",
    "README.md",
];

fn files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            // Build output and snapshot baselines are not written by hand.
            if p.file_name()
                .is_some_and(|n| n == "target" || n == "snapshots")
            {
                continue;
            }
            files(&p, out);
        }
    } else {
        out.push(path.to_owned());
    }
}

#[test]
fn nothing_shipped_reads_or_cites_files_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Pieces, so that this file does not match itself.
    let outside = Regex::new(&format!(
        r"\.\./{}|{}(\.md| section| \d)|{}-{}",
        "shared", "SPEC", "api", "facts"
    ))
    .expect("pattern");
    let mut all = Vec::new();
    for top in SHIPPED {
        files(&root.join(top), &mut all);
    }
    assert!(all.len() > 100, "found only {} files", all.len());
    let mut found = Vec::new();
    for file in &all {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue; // not text
        };
        for (n, line) in text.lines().enumerate() {
            if outside.is_match(line) {
                let shown = file.strip_prefix(root).unwrap_or(file).display();
                found.push(format!("{shown}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "outside references:\n{}",
        found.join("\n")
    );
}

/// Remediation changes real images: a test file that names a write action never names the
/// real endpoint, so no test (or a copy-pasted line from one) can point a write at it. Writes
/// are tested against the emulator only.
#[test]
fn no_test_file_names_a_write_action_and_the_real_endpoint() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    files(&root.join("tests"), &mut all);
    // Pieces, so that this file does not match itself.
    let real_host = format!("{}.{}", "tencentcloudapi", "com");
    let writes = [
        format!("Delete{}", "Image"),
        format!("Modify{}", "ImageAttribute"),
    ];
    let mut found = Vec::new();
    for file in &all {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue; // not text
        };
        if text.contains(&real_host) && writes.iter().any(|w| text.contains(w.as_str())) {
            found.push(
                file.strip_prefix(root)
                    .unwrap_or(file)
                    .display()
                    .to_string(),
            );
        }
    }
    assert!(
        found.is_empty(),
        "files that name a write action and the real endpoint (use the emulator's URL, or \
         `ecm.example.invalid` in copied examples):\n{}",
        found.join("\n")
    );
}
