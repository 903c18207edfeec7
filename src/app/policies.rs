//! The commands about policies alone: `validate`, `rules` and `test`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Io, done, to_reader};
use crate::cli::{RulesArgs, RulesFormat, TestArgs, ValidateArgs};
use crate::diag::{Code, Diag};
use crate::outcome::{Error, Outcome};
use crate::policy::{self, CompileOptions};
use crate::report::human;
use crate::settings::{PolicySettings, RulesSettings, TestSettings};
use crate::source_text::SourceFile;
use crate::text::count;
use crate::text::escape;

pub(super) fn validate(args: &ValidateArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let settings = PolicySettings::from_args(&args.policy, io.clock).map_err(Error::Usage)?;
    let loaded = policy::load(&settings.paths, &settings.compile).map_err(Error::Policy)?;
    if args.strict && !loaded.warnings.is_empty() {
        // --strict: a warning is a problem like any other.
        return Err(Error::Policy(loaded.warnings));
    }
    to_reader(human::render_diags(&loaded.warnings, io.stdout, io.style))?;
    let files = loaded.policy.files.len();
    to_reader(writeln!(
        io.stdout,
        "ok: {} in {} valid ({}, {}{})",
        count(loaded.policy.rules.len() as u64, "rule", "rules"),
        count(files as u64, "file", "files"),
        count(loaded.policy.waivers.len() as u64, "waiver", "waivers"),
        count(loaded.policy.params.len() as u64, "param", "params"),
        if loaded.warnings.is_empty() {
            String::new()
        } else {
            format!(
                ", {}",
                count(loaded.warnings.len() as u64, "warning", "warnings")
            )
        }
    ))?;
    to_reader(io.stdout.flush())?;
    done()
}

pub(super) fn rules(args: &RulesArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let settings = RulesSettings::from_args(args, io.clock).map_err(Error::Usage)?;
    let loaded =
        policy::load(&settings.policy.paths, &settings.policy.compile).map_err(Error::Policy)?;
    let written = match settings.format {
        RulesFormat::Human => crate::app::rules::human(&loaded.policy, io.stdout),
        RulesFormat::Json => crate::app::rules::json(&loaded.policy, io.stdout),
        RulesFormat::Markdown => crate::app::rules::markdown(&loaded.policy, io.stdout),
    };
    to_reader(written)?;
    to_reader(io.stdout.flush())?;
    done()
}

/// `ecmguard test`: every case of every test file; a failing case is
/// [`Outcome::TestsFailed`].
///
/// Which policies a test file tests: with `--policy`, (or with no path, the
/// default policy directory) the whole loaded set; `ecmguard test FILE…`
/// without `--policy` tests each file against the policy beside it
/// (`org.test.yaml` → `org.yaml`), so a test never silently runs against
/// another directory's rules.
pub(super) fn test(args: &TestArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let settings = TestSettings::from_args(args, io.clock).map_err(Error::Usage)?;
    let options = &settings.policy.compile;
    let beside = !settings.paths.is_empty() && !settings.policy.paths_given;
    let roots = if settings.paths.is_empty() {
        &settings.policy.paths
    } else {
        &settings.paths
    };
    let test_paths = policy::discover_tests(roots).map_err(Error::Usage)?;
    if test_paths.is_empty() {
        return Err(Error::usage(
            Diag::error(
                Code::InvalidArgument,
                format!(
                    "no *.test.yaml file under {}",
                    roots
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .with_help(
                "write test files next to the policies: lifecycle.test.yaml tests lifecycle.yaml",
            ),
        ));
    }
    // The policy sets under test, each compiled once: the whole loaded set,
    // or one per sibling policy file.
    let mut sets: Vec<(Vec<PathBuf>, PolicyUnderTest)> = Vec::new();
    let mut problems = Vec::new();
    let mut plan: Vec<(PathBuf, usize)> = Vec::with_capacity(test_paths.len());
    for path in &test_paths {
        let policy_paths = if beside {
            match crate::policy::test_files::sibling_policy(path) {
                Some(sibling) => vec![sibling],
                None => {
                    problems.push(
                        Diag::error(
                            Code::InvalidArgument,
                            format!(
                                "no policy file beside {} to test (expected {})",
                                path.display(),
                                sibling_name(path)
                            ),
                        )
                        .with_help("name the test file after its policy (lifecycle.test.yaml tests lifecycle.yaml), or pass --policy"),
                    );
                    continue;
                }
            }
        } else {
            settings.policy.paths.clone()
        };
        let index = match sets.iter().position(|(paths, _)| *paths == policy_paths) {
            Some(index) => index,
            None => {
                sets.push((
                    policy_paths.clone(),
                    load_for_tests(&policy_paths, options)?,
                ));
                sets.len() - 1
            }
        };
        plan.push((path.clone(), index));
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for (path, index) in &plan {
        let under_test = &sets[*index].1;
        let file = match policy::read_source(path) {
            Ok(file) => file,
            Err(diag) => {
                problems.push(diag);
                continue;
            }
        };
        let test = match crate::policy::test_files::parse(&file, options, settings.policy.now_given)
        {
            Ok(test) => test,
            Err(mut found) => {
                problems.append(&mut found);
                continue;
            }
        };
        let results = match crate::policy::test_files::run_file(
            &test,
            &under_test.files,
            &under_test.compiled,
            options,
        ) {
            Ok(results) => results,
            Err(mut found) => {
                problems.append(&mut found);
                continue;
            }
        };
        let out = &mut *io.stdout;
        // Case names and expected entries are written by people: printed escaped.
        to_reader(writeln!(out, "{}", escape(file.name())))?;
        for result in results {
            if result.passed() {
                passed += 1;
                to_reader(writeln!(out, "  ok    {}", escape(&result.name)))?;
                continue;
            }
            failed += 1;
            to_reader(writeln!(out, "  FAIL  {}", escape(&result.name)))?;
            if let Some(error) = &result.error {
                to_reader(writeln!(out, "          {}", escape(error)))?;
            }
            for entry in &result.missing {
                to_reader(writeln!(
                    out,
                    "          expected, not found: {}",
                    escape(&entry.to_string())
                ))?;
            }
            for entry in &result.unexpected {
                to_reader(writeln!(
                    out,
                    "          found, not expected: {}",
                    escape(&entry.to_string())
                ))?;
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::TestFile(problems));
    }
    to_reader(writeln!(
        io.stdout,
        "policy-tests: {passed} passed, {failed} failed"
    ))?;
    to_reader(io.stdout.flush())?;
    Ok(if failed == 0 {
        Outcome::Done
    } else {
        Outcome::TestsFailed
    })
}

/// A policy set as tests use it: its files (each case compiles them again
/// with its own `now` and params) and the set compiled once.
struct PolicyUnderTest {
    files: Vec<Arc<SourceFile>>,
    compiled: crate::policy::PolicySet,
}

/// The policies must load on their own before any case runs.
fn load_for_tests(paths: &[PathBuf], options: &CompileOptions) -> Result<PolicyUnderTest, Error> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in policy::discover(paths).map_err(Error::Policy)? {
        match policy::read_source(&path) {
            Ok(source) => files.push(source),
            Err(diag) => problems.push(diag),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Policy(problems));
    }
    let compiled = policy::compile(files.clone(), options).map_err(Error::Policy)?;
    Ok(PolicyUnderTest {
        files,
        compiled: compiled.policy,
    })
}

fn sibling_name(test: &Path) -> String {
    let name = test
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".test.yaml")
        .or_else(|| name.strip_suffix(".test.yml"))
        .unwrap_or(name);
    test.with_file_name(format!("{stem}.yaml"))
        .display()
        .to_string()
}
