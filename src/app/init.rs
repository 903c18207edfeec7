//! `ecmguard init [DIR]`: a starter project. DIR (default `./policies`)
//! gets the shipped policy pack with its tests (the files of `policies/`,
//! compiled in), and the current directory a commented `ecmguard.yaml`
//! whose `policy:` names DIR, so `ecmguard validate`, `test` and `check`
//! work from there at once. The config goes where ecmguard looks for it
//! (the working directory), not beside DIR: a config elsewhere would need
//! `--config` on every command.
//!
//! Nothing that exists is replaced without `--force`: every destination is
//! checked before anything is written, and each file is written whole or
//! not at all (`fs::write::AtomicFile`).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Io, done, file_failed, to_reader};
use crate::cli::InitArgs;
use crate::config;
use crate::diag::{Code, Diag};
use crate::fs::write::AtomicFile;
use crate::outcome::{Error, Outcome};

/// The shipped pack: every file of `policies/` (a test keeps this list
/// equal to the directory).
pub(crate) const PACK: &[(&str, &str)] = &[
    ("hygiene.yaml", include_str!("../../policies/hygiene.yaml")),
    (
        "hygiene.test.yaml",
        include_str!("../../policies/hygiene.test.yaml"),
    ),
    (
        "lifecycle.yaml",
        include_str!("../../policies/lifecycle.yaml"),
    ),
    (
        "lifecycle.test.yaml",
        include_str!("../../policies/lifecycle.test.yaml"),
    ),
    (
        "platform.yaml",
        include_str!("../../policies/platform.yaml"),
    ),
    (
        "platform.test.yaml",
        include_str!("../../policies/platform.test.yaml"),
    ),
    ("usage.yaml", include_str!("../../policies/usage.yaml")),
    (
        "usage.test.yaml",
        include_str!("../../policies/usage.test.yaml"),
    ),
];

/// A policy file as a new project gets it: without the editor hint that
/// points at this repository's schema, which is not there.
fn for_project(text: &str) -> String {
    text.lines()
        .filter(|line| !line.starts_with("# yaml-language-server:"))
        .map(|line| format!("{line}\n"))
        .collect()
}

pub(super) fn run(args: &InitArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let dir = &args.dir;
    if dir.exists() && !dir.is_dir() {
        return Err(Error::usage(
            Diag::error(
                Code::InvalidArgument,
                format!("{} exists and is not a directory", dir.display()),
            )
            .with_help("give a directory for the policy pack: `ecmguard init DIR`"),
        ));
    }
    let mut files: Vec<(PathBuf, String)> = PACK
        .iter()
        .map(|(name, text)| (dir.join(name), for_project(text)))
        .collect();
    if !args.no_config {
        let Some(named) = dir.to_str() else {
            return Err(Error::usage(
                Diag::error(
                    Code::InvalidArgument,
                    format!(
                        "{} is not valid UTF-8, so ecmguard.yaml cannot name it",
                        dir.display()
                    ),
                )
                .with_help("choose a directory name in UTF-8, or pass --no-config"),
            ));
        };
        files.push((
            PathBuf::from(config::FILE_NAME),
            config::starter_yaml_for(named),
        ));
    }
    if !args.force {
        refuse_overwriting(&files, args.no_config)?;
    }
    std::fs::create_dir_all(dir).map_err(|e| file_failed(dir, &e))?;
    // Every file opened and written before any is put in place: a failure
    // half-way leaves nothing new behind.
    let mut opened = Vec::with_capacity(files.len());
    for (path, text) in &files {
        let mut file = AtomicFile::create(path).map_err(|e| file_failed(path, &e))?;
        file.write_all(text.as_bytes())
            .map_err(|e| file_failed(path, &e))?;
        opened.push(file);
    }
    for file in opened {
        let path = file.path().to_owned();
        file.commit().map_err(|e| file_failed(&path, &e))?;
        to_reader(writeln!(io.stdout, "wrote {}", path.display()))?;
    }
    to_reader(write!(io.stdout, "{}", next_steps(dir, args.no_config)))?;
    done()
}

fn refuse_overwriting(files: &[(PathBuf, String)], no_config: bool) -> Result<(), Error> {
    let existing: Vec<&Path> = files
        .iter()
        .map(|(path, _)| path.as_path())
        .filter(|path| std::fs::symlink_metadata(path).is_ok())
        .collect();
    if existing.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = existing.iter().map(|p| p.display().to_string()).collect();
    let mut help = "nothing was written; choose another directory (`ecmguard init DIR`)".to_owned();
    if !no_config && existing.iter().any(|p| *p == Path::new(config::FILE_NAME)) {
        help.push_str(", pass --no-config to keep your ecmguard.yaml");
    }
    help.push_str(", or pass --force to replace them");
    Err(Error::usage(
        Diag::error(
            Code::WouldOverwrite,
            format!(
                "ecmguard init would replace {}: {}",
                crate::text::count(
                    existing.len() as u64,
                    "file that exists",
                    "files that exist"
                ),
                listed.join(", ")
            ),
        )
        .with_help(help),
    ))
}

fn next_steps(dir: &Path, no_config: bool) -> String {
    let policy = if no_config {
        format!(" --policy {}", dir.display())
    } else {
        String::new()
    };
    let steps = [
        (
            format!("ecmguard validate{policy}"),
            "type-check the policies",
        ),
        (
            format!("ecmguard test{policy}"),
            "run their tests (*.test.yaml)",
        ),
        (
            format!("ecmguard check{policy} --snapshot FILE"),
            "check a saved result set (ecmguard fetch -o FILE)",
        ),
        (
            format!("ecmguard check{policy}"),
            "check the account (credentials: TENCENTCLOUD_SECRET_ID and _KEY)",
        ),
    ];
    let width = steps.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    let mut out = String::from("\nNext, from this directory:\n");
    for (command, what) in steps {
        out.push_str(&format!("  {command:width$}   {what}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `init` writes the shipped pack: every file of `policies/`, and only those.
    #[test]
    fn the_pack_is_the_policies_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("policies/")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut packed: Vec<String> = PACK.iter().map(|(n, _)| (*n).to_owned()).collect();
        packed.sort();
        assert_eq!(packed, on_disk);
    }

    #[test]
    fn the_schema_hint_is_left_out() {
        let text = "# a\n# yaml-language-server: $schema=../schema/policy.schema.json\nrules: []\n";
        assert_eq!(for_project(text), "# a\nrules: []\n");
    }
}
