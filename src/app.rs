//! The commands, end to end: settings from flags, policies, images,
//! evaluation, reports and the exit code. Output goes to the writers the
//! binary hands in; this module never touches the terminal itself.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use jiff::Timestamp;

use crate::cli::{
    self, CheckArgs, Cli, Command, FailOnArg, Format, PolicyArgs, RulesArgs, RulesFormat, TestArgs,
};
use crate::diag::Diag;
use crate::eval::baseline::Baseline;
use crate::eval::{EvalOptions, evaluate};
use crate::exit::ExitCode;
use crate::failure::Failure;
use crate::image::ImageSet;
use crate::policy::codes::Code;
use crate::policy::{self, CompileOptions};
use crate::report::human::{self, Style};
use crate::report::{self, FailOn, Report, RunInfo, SourceInfo};
use crate::source::snapshot;
use crate::time::{ApiZone, parse_now};

/// Where a command's output goes, and how it looks.
pub struct Io<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    pub stdin: &'a mut dyn Read,
    pub style: Style,
    /// The system clock, read once per run when `--now` is not given.
    pub clock: fn() -> Timestamp,
}

/// Run a parsed command line; returns the process exit code.
pub fn run(cli: Cli, io: &mut Io<'_>) -> ExitCode {
    let result = match cli.command {
        Command::Check(args) => check(&args, io),
        Command::Validate(args) => validate(&args, io),
        Command::Test(args) => policy_tests(&args, io),
        Command::Rules(args) => rules(&args, io),
        Command::Fetch(_) => Err(Failure::invalid([Diag::error(
            Code::InvalidArgument,
            "this command is not available in this build yet",
        )])),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            for diagnostic in &failure.diagnostics {
                let text = human::render_diagnostic(diagnostic.as_ref(), io.style);
                // stderr may be closed; the exit code still says what happened.
                let _ = io.stderr.write_all(text.as_bytes());
            }
            failure.exit
        }
    }
}

fn invalid_arg(message: impl Into<String>, help: impl Into<String>) -> Failure {
    Failure::invalid([Diag::error(Code::InvalidArgument, message).with_help(help)])
}

/// `--now`, `--api-time-zone` and `--param`s into compile options.
pub fn compile_options(
    args: &PolicyArgs,
    clock: fn() -> Timestamp,
) -> Result<CompileOptions, Failure> {
    let mut diags = Vec::new();
    let now = match &args.now {
        Some(text) => parse_now(text)
            .map_err(|m| diags.push(Diag::error(Code::InvalidArgument, format!("--now: {m}"))))
            .ok(),
        None => Some(clock()),
    };
    let zone = ApiZone::parse(&args.api_time_zone)
        .map_err(|m| {
            diags.push(Diag::error(
                Code::InvalidArgument,
                format!("--api-time-zone: {m}"),
            ))
        })
        .ok();
    let mut params = Vec::new();
    for text in &args.params {
        match cli::split_assignment(text) {
            Some((name, value)) => params.push((name.to_owned(), value.to_owned())),
            None => diags.push(
                Diag::error(
                    Code::InvalidArgument,
                    format!("--param `{text}` is not NAME=VALUE"),
                )
                .with_help("for example --param max_private_age=90d"),
            ),
        }
    }
    match (now, zone) {
        (Some(now), Some(zone)) if diags.is_empty() => Ok(CompileOptions { now, zone, params }),
        _ => Err(Failure::invalid(diags)),
    }
}

fn validate(args: &PolicyArgs, io: &mut Io<'_>) -> Result<ExitCode, Failure> {
    let options = compile_options(args, io.clock)?;
    let loaded = policy::load(&args.policies, &options)?;
    human::render_diags(&loaded.warnings, io.stdout, io.style).map_err(write_failure)?;
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
    .map_err(write_failure)?;
    Ok(ExitCode::Pass)
}

fn rules(args: &RulesArgs, io: &mut Io<'_>) -> Result<ExitCode, Failure> {
    let options = compile_options(&args.policy, io.clock)?;
    let loaded = policy::load(&args.policy.policies, &options)?;
    let written = match args.format {
        RulesFormat::Human => crate::listing::human(&loaded.policy, io.stdout),
        RulesFormat::Json => crate::listing::json(&loaded.policy, io.stdout),
        RulesFormat::Markdown => crate::listing::markdown(&loaded.policy, io.stdout),
    };
    written.map_err(write_failure)?;
    Ok(ExitCode::Pass)
}

/// `ecmguard test`: every case of every test file; exit 2 if any fails.
fn policy_tests(args: &TestArgs, io: &mut Io<'_>) -> Result<ExitCode, Failure> {
    let options = compile_options(&args.policy, io.clock)?;
    let roots = if args.paths.is_empty() {
        &args.policy.policies
    } else {
        &args.paths
    };
    let test_paths = policy::discover_tests(roots)?;
    if test_paths.is_empty() {
        return Err(invalid_arg(
            format!(
                "no *.test.yaml file under {}",
                roots
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "write test files next to the policies: lifecycle.test.yaml tests lifecycle.yaml",
        ));
    }
    let mut policy_files = Vec::new();
    let mut diags = Vec::new();
    for path in policy::discover(&args.policy.policies)? {
        match policy::read_source(&path) {
            Ok(source) => policy_files.push(source),
            Err(diag) => diags.push(diag),
        }
    }
    // The policies must load on their own before any case runs.
    policy::compile(policy_files.clone(), &options)?;
    let (mut passed, mut failed) = (0usize, 0usize);
    for path in &test_paths {
        let file = match policy::read_source(path) {
            Ok(file) => file,
            Err(diag) => {
                diags.push(diag);
                continue;
            }
        };
        let test = match crate::policytests::parse(&file, &options) {
            Ok(test) => test,
            Err(mut problems) => {
                diags.append(&mut problems);
                continue;
            }
        };
        let results = crate::policytests::run_file(&test, &policy_files, &options)?;
        writeln!(io.stdout, "{}", file.name()).map_err(write_failure)?;
        for result in results {
            if result.passed() {
                passed += 1;
                writeln!(io.stdout, "  ok    {}", result.name).map_err(write_failure)?;
                continue;
            }
            failed += 1;
            writeln!(io.stdout, "  FAIL  {}", result.name).map_err(write_failure)?;
            if let Some(error) = &result.error {
                writeln!(io.stdout, "          {error}").map_err(write_failure)?;
            }
            for entry in &result.missing {
                writeln!(io.stdout, "          expected, not found: {entry}")
                    .map_err(write_failure)?;
            }
            for entry in &result.unexpected {
                writeln!(io.stdout, "          found, not expected: {entry}")
                    .map_err(write_failure)?;
            }
        }
    }
    if !diags.is_empty() {
        return Err(Failure::invalid(diags));
    }
    writeln!(io.stdout, "policy-tests: {passed} passed, {failed} failed").map_err(write_failure)?;
    Ok(if failed == 0 {
        ExitCode::Pass
    } else {
        ExitCode::Invalid
    })
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn write_failure(err: std::io::Error) -> Failure {
    invalid_arg(
        format!("cannot write output: {err}"),
        "check the output destination",
    )
}

/// A report destination: a format and a file (or stdout).
struct Destination {
    format: Format,
    path: Option<PathBuf>,
}

fn destinations(args: &CheckArgs) -> Result<Vec<Destination>, Failure> {
    let mut out = vec![Destination {
        format: args.format,
        path: args.output.clone(),
    }];
    let mut diags = Vec::new();
    for text in &args.reports {
        let parsed = cli::split_assignment(text).and_then(|(format, path)| {
            let format = <Format as clap::ValueEnum>::from_str(format, true).ok()?;
            (!path.is_empty()).then(|| Destination {
                format,
                path: Some(PathBuf::from(path)),
            })
        });
        match parsed {
            Some(destination) => out.push(destination),
            None => diags.push(
                Diag::error(Code::InvalidArgument, format!("--report `{text}` is not FORMAT=FILE"))
                    .with_help("FORMAT is one of human, json, sarif, junit, markdown, html, csv, github; e.g. --report sarif=ecmguard.sarif"),
            ),
        }
    }
    for destination in &out {
        if !matches!(destination.format, Format::Human | Format::Json) {
            diags.push(Diag::error(
                Code::InvalidArgument,
                format!(
                    "the {:?} format is not available in this build yet",
                    destination.format
                )
                .to_lowercase(),
            ));
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(Failure::invalid(diags))
    }
}

fn fail_on(arg: FailOnArg) -> FailOn {
    match arg {
        FailOnArg::Error => FailOn::Error,
        FailOnArg::Warning => FailOn::Warning,
        FailOnArg::Info => FailOn::Info,
        FailOnArg::Never => FailOn::Never,
    }
}

/// Images and where they came from.
struct Fetched {
    images: ImageSet,
    source: SourceInfo,
}

fn load_snapshot(name: &str, zone: &ApiZone, stdin: &mut dyn Read) -> Result<Fetched, Failure> {
    let loaded = snapshot::load(name, zone, stdin)?;
    Ok(Fetched {
        images: loaded.images,
        source: SourceInfo::Snapshot {
            path: name.to_owned(),
            shape: loaded.shape,
            fetched_at: loaded.fetched_at,
            endpoint: loaded.endpoint,
            filters: loaded.filters,
        },
    })
}

fn check(args: &CheckArgs, io: &mut Io<'_>) -> Result<ExitCode, Failure> {
    let started = Instant::now();
    let options = compile_options(&args.policy, io.clock)?;
    let destinations = destinations(args)?;
    let loaded = policy::load(&args.policy.policies, &options)?;
    let baseline = match &args.baseline {
        Some(path) => {
            let name = path.display().to_string();
            let bytes = std::fs::read(path).map_err(|e| {
                Failure::invalid([Diag::error(
                    Code::FileRead,
                    format!("cannot read baseline {name}: {e}"),
                )
                .with_help("write one with `ecmguard check --write-baseline FILE`")])
            })?;
            Some(Baseline::read(&name, &bytes)?)
        }
        None => None,
    };
    let fetched = match &args.source.snapshot {
        Some(name) => load_snapshot(name, &options.zone, io.stdin)?,
        None => {
            return Err(invalid_arg(
                "no --snapshot given, and the live API path is not available in this build yet",
                "pass --snapshot FILE",
            ));
        }
    };
    let mut evaluation = evaluate(
        &loaded.policy,
        &fetched.images,
        EvalOptions {
            now: options.now,
            baseline: baseline.as_ref(),
        },
    );
    let mut warnings = loaded.warnings;
    warnings.append(&mut evaluation.warnings);
    evaluation.warnings = warnings;
    let report = Report {
        policy: &loaded.policy,
        images: &fetched.images,
        run: RunInfo {
            now: options.now,
            zone: options.zone.clone(),
            source: fetched.source,
            fail_on: fail_on(args.fail_on),
            duration_seconds: started.elapsed().as_secs_f64(),
            duplicates_dropped: fetched.images.duplicates_dropped(),
        },
        evaluation,
    };
    if let Some(path) = &args.write_baseline {
        let baseline = Baseline::record(report.policy, report.images, &report.evaluation.findings);
        let text =
            serde_json::to_string_pretty(&baseline).map_err(|e| invalid_arg(e.to_string(), ""))?;
        write_file(path, text.as_bytes())?;
    }
    for destination in &destinations {
        match &destination.path {
            None => {
                render(&report, destination.format, io.stdout, io.style).map_err(write_failure)?
            }
            Some(path) => {
                let mut buffer = Vec::new();
                render(
                    &report,
                    destination.format,
                    &mut buffer,
                    Style {
                        color: false,
                        ..io.style
                    },
                )
                .map_err(write_failure)?;
                write_file(path, &buffer)?;
            }
        }
    }
    Ok(report.exit_code())
}

fn render(
    report: &Report<'_>,
    format: Format,
    out: &mut dyn Write,
    style: Style,
) -> std::io::Result<()> {
    match format {
        Format::Human => report::human::render(report, out, style),
        Format::Json => report::json::render(report, out),
        _ => Ok(()),
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, bytes).map_err(|e| {
        Failure::invalid([Diag::error(
            Code::FileWrite,
            format!("cannot write {}: {e}", path.display()),
        )
        .with_help("check that the directory exists and is writable")])
    })
}
