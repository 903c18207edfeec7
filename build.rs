//! Build script: the version `ecmguard --version` shows. Built from a git
//! checkout of this crate it is `0.1.0 (abc1234)`, or `0.1.0 (abc1234-dirty)`
//! with uncommitted changes to tracked files; anywhere else (a crates.io
//! tarball, git missing, the crate inside another project's repository) it
//! is the package version alone, and the build never fails over it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let text = match commit() {
        Some(commit) => format!("{version} ({commit})"),
        None => version,
    };
    println!("cargo:rustc-env=ECMGUARD_VERSION={text}");
}

/// `git` in the crate's directory, its output if it succeeded.
fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The short commit, `-dirty` when tracked files differ from it; `None`
/// unless the crate's own directory is the top of a git work tree.
fn commit() -> Option<String> {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    if !same_dir(&top, &manifest_dir) {
        return None;
    }
    // Run again when HEAD moves (a checkout, a commit: HEAD or the branch's
    // ref changes) or the index does (`git add`, `git commit`); and when a
    // source changes, which may make the tree dirty. In a linked worktree
    // these files are outside the crate's directory: git says where.
    let mut watched = vec![
        "HEAD".to_owned(),
        "index".to_owned(),
        "packed-refs".to_owned(),
    ];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in &watched {
        if let Some(path) = git(&["rev-parse", "--git-path", name]) {
            let path = manifest_dir.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    for source in ["src", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={source}");
    }
    let short = git(&["rev-parse", "--short=7", "HEAD"])?;
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|changes| !changes.is_empty());
    Some(if dirty {
        format!("{short}-dirty")
    } else {
        short
    })
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
