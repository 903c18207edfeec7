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
