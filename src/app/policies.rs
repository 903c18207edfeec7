//! The commands about policies alone: `validate`, `rules` and `test`.

use super::{Io, done, plural, stdout_failed};
use crate::cli::{PolicyArgs, RulesArgs, RulesFormat, TestArgs};
use crate::diag::{Code, Diag};
use crate::outcome::{Error, Outcome};
use crate::policy;
use crate::report::human;
use crate::settings::{PolicySettings, RulesSettings, TestSettings};

pub(super) fn validate(args: &PolicyArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let settings = PolicySettings::from_args(args, io.clock).map_err(Error::Usage)?;
    let loaded = policy::load(&settings.paths, &settings.compile).map_err(Error::Policy)?;
    human::render_diags(&loaded.warnings, io.stdout, io.style).map_err(stdout_failed)?;
    let files = loaded.policy.files.len();
    writeln!(
        io.stdout,
        "ok: {} in {} valid ({} waivers, {} params{})",
        plural(loaded.policy.rules.len(), "rule"),
        plural(files, "file"),
        loaded.policy.waivers.len(),
        loaded.policy.params.len(),
        if loaded.warnings.is_empty() {
            String::new()
        } else {
            format!(", {}", plural(loaded.warnings.len(), "warning"))
        }
    )
    .map_err(stdout_failed)?;
    done()
}

pub(super) fn rules(args: &RulesArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let settings = RulesSettings::from_args(args, io.clock).map_err(Error::Usage)?;
    let loaded =
        policy::load(&settings.policy.paths, &settings.policy.compile).map_err(Error::Policy)?;
    let written = match settings.format {
        RulesFormat::Human => crate::listing::human(&loaded.policy, io.stdout),
        RulesFormat::Json => crate::listing::json(&loaded.policy, io.stdout),
        RulesFormat::Markdown => crate::listing::markdown(&loaded.policy, io.stdout),
    };
    written.map_err(stdout_failed)?;
    done()
}

/// `ecmguard test`: every case of every test file; a failing case is
/// [`Outcome::TestsFailed`].
pub(super) fn test(args: &TestArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let settings = TestSettings::from_args(args, io.clock).map_err(Error::Usage)?;
    let options = &settings.policy.compile;
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
    let mut policy_files = Vec::new();
    let mut problems = Vec::new();
    for path in policy::discover(&settings.policy.paths).map_err(Error::Policy)? {
        match policy::read_source(&path) {
            Ok(source) => policy_files.push(source),
            Err(diag) => problems.push(diag),
        }
    }
    // The policies must load on their own before any case runs.
    let compiled = policy::compile(policy_files.clone(), options).map_err(Error::Policy)?;
    let (mut passed, mut failed) = (0usize, 0usize);
    for path in &test_paths {
        let file = match policy::read_source(path) {
            Ok(file) => file,
            Err(diag) => {
                problems.push(diag);
                continue;
            }
        };
        let test = match crate::policytests::parse(&file, options) {
            Ok(test) => test,
            Err(mut found) => {
                problems.append(&mut found);
                continue;
            }
        };
        let results = crate::policytests::run_file(&test, &policy_files, &compiled.policy, options)
            .map_err(Error::TestFile)?;
        let out = &mut *io.stdout;
        writeln!(out, "{}", file.name()).map_err(stdout_failed)?;
        for result in results {
            if result.passed() {
                passed += 1;
                writeln!(out, "  ok    {}", result.name).map_err(stdout_failed)?;
                continue;
            }
            failed += 1;
            writeln!(out, "  FAIL  {}", result.name).map_err(stdout_failed)?;
            if let Some(error) = &result.error {
                writeln!(out, "          {error}").map_err(stdout_failed)?;
            }
            for entry in &result.missing {
                writeln!(out, "          expected, not found: {entry}").map_err(stdout_failed)?;
            }
            for entry in &result.unexpected {
                writeln!(out, "          found, not expected: {entry}").map_err(stdout_failed)?;
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::TestFile(problems));
    }
    writeln!(io.stdout, "policy-tests: {passed} passed, {failed} failed").map_err(stdout_failed)?;
    Ok(if failed == 0 {
        Outcome::Done
    } else {
        Outcome::TestsFailed
    })
}
