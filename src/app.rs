//! The commands, end to end: settings from flags, policies, images,
//! evaluation, reports and the exit code. Output goes to the writers the
//! binary hands in; this module never touches the terminal itself.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use jiff::Timestamp;

use crate::cli::{
    self, CheckArgs, Cli, Command, FailOnArg, FetchArgs, Format, PolicyArgs, RulesArgs,
    RulesFormat, SourceArgs, TestArgs,
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
use crate::source::live::{self, FetchProgress, Fetched as LiveFetched, LiveConfig};
use crate::source::snapshot;
use crate::time::{ApiZone, parse_now};

/// Where a command's output goes, and how it looks.
pub struct Io<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    pub stdin: &'a mut dyn Read,
    pub style: Style,
    /// How diagnostics on stderr look (stderr may be a terminal when stdout is not).
    pub err_style: Style,
    /// The system clock, read once per run when `--now` is not given.
    pub clock: fn() -> Timestamp,
    /// Where fetch progress goes (the binary draws a bar on a terminal).
    pub progress: &'a dyn Progress,
}

/// A sink for fetch progress; the binary's is a progress bar.
pub trait Progress: Send + Sync {
    fn event(&self, event: FetchProgress);
    /// The fetch is over (either way): clear whatever was drawn.
    fn finish(&self) {}
}

/// No progress shown.
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: FetchProgress) {}
}

/// Run a parsed command line; returns the process exit code.
pub fn run(cli: Cli, io: &mut Io<'_>) -> ExitCode {
    let result = match cli.command {
        Command::Check(args) => check(&args, io),
        Command::Validate(args) => validate(&args, io),
        Command::Test(args) => policy_tests(&args, io),
        Command::Rules(args) => rules(&args, io),
        Command::Fetch(args) => fetch(&args, io),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            for diagnostic in &failure.diagnostics {
                let text = human::render_diagnostic(diagnostic.as_ref(), io.err_style);
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

/// A failure that is not the input's fault, with the exit code of what it
/// prevented (3: no data obtained; 2: nothing written).
fn internal(exit: ExitCode, message: impl Into<String>) -> Failure {
    Failure::new(
        exit,
        vec![miette::Report::new(
            Diag::error(Code::Internal, message).with_help("this is a bug or a resource limit of the machine; please report it with the command line"),
        )],
    )
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
    let compiled = policy::compile(policy_files.clone(), &options)?;
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
        let results =
            crate::policytests::run_file(&test, &policy_files, &compiled.policy, &options)?;
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

/// `--filter`, `--image`, `--timeout`, `--rate`, `--endpoint`, `--region` and
/// credentials into a validated live configuration. Filters are checked
/// before credentials, and everything before any request.
fn live_config(source: &SourceArgs) -> Result<LiveConfig, Failure> {
    let fail = |code: ExitCode, diagnostic: miette::Report| Failure::new(code, vec![diagnostic]);
    let mut filters = Vec::with_capacity(source.filters.len() + 1);
    for text in &source.filters {
        let filter = live::parse_filter_arg(text)
            .map_err(|e| fail(e.exit_code(), miette::Report::new(e)))?;
        filters.push(filter);
    }
    if !source.images.is_empty() {
        filters.push(live::image_id_filter(source.images.iter().cloned()));
    }
    live::validate_filters(&filters).map_err(|e| fail(e.exit_code(), miette::Report::new(e)))?;
    let timeout = crate::policy::duration::Duration::parse(&source.timeout)
        .ok()
        .filter(|d| d.months == 0 && d.seconds > 0)
        .ok_or_else(|| {
            invalid_arg(
                format!("--timeout `{}` is not a positive duration", source.timeout),
                "for example --timeout 30s or --timeout 2min",
            )
        })?;
    // Everything that needs no secret is checked first, so an invalid
    // invocation is exit 2 whether or not credentials are configured.
    let mut config = LiveConfig::new(live::Credentials::new("", "", None));
    config.endpoint = source.endpoint.clone();
    config.region = source.region.clone();
    config.filters = filters;
    config.rate = source.rate;
    config.timeout =
        std::time::Duration::from_secs(u64::try_from(timeout.seconds).unwrap_or(u64::MAX));
    config
        .validate()
        .map_err(|e| fail(e.exit_code(), miette::Report::new(e)))?;
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let env = |key: &str| std::env::var(key).ok();
    config.credentials =
        live::resolve_credentials(source.profile.as_deref(), &env, home.as_deref())
            .map_err(|e| fail(e.exit_code(), miette::Report::new(e)))?;
    Ok(config)
}

fn fetch_live(config: &LiveConfig, progress: &dyn Progress) -> Result<LiveFetched, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            internal(
                ExitCode::Incomplete,
                format!("cannot start the async runtime: {e}"),
            )
        })?;
    let result = runtime.block_on(live::fetch_all(config, &|event| progress.event(event)));
    progress.finish();
    result.map_err(|e| Failure::new(e.exit_code(), vec![miette::Report::new(e)]))
}

/// Type the images as received; one that does not fit the documented model
/// means we cannot judge the set, so it is incomplete data (exit 3).
fn images_from_api(fetched: &LiveFetched, zone: &ApiZone) -> Result<ImageSet, Failure> {
    let mut images = Vec::with_capacity(fetched.images.len());
    for (index, raw) in fetched.images.iter().enumerate() {
        let image = serde_json::from_str(raw.get()).map_err(|e| {
            Failure::new(
                ExitCode::Incomplete,
                vec![miette::Report::new(
                    Diag::error(Code::SnapshotJson, format!("image {} of the API's answer does not fit the DescribeImage model: {e}", index + 1))
                        .with_help("save the raw answer with `ecmguard fetch -o FILE` and report it; no verdict is given on data that cannot be read"),
                )],
            )
        })?;
        images.push(image);
    }
    Ok(ImageSet::new(images, zone))
}

fn filters_json(config: &LiveConfig) -> serde_json::Value {
    serde_json::to_value(&config.filters).unwrap_or(serde_json::Value::Array(Vec::new()))
}

fn api_source(config: &LiveConfig, fetched: &LiveFetched) -> SourceInfo {
    SourceInfo::Api {
        endpoint: config.endpoint.clone(),
        filters: filters_json(config),
        pages: fetched.stats.pages,
        requests: fetched.stats.requests,
        retries: fetched.stats.retries,
        restarts: fetched.stats.restarts,
        fetch_seconds: fetched.stats.duration.as_secs_f64(),
    }
}

/// A pre-deployment check names images that must exist: judging an image
/// that is not there would pass vacuously, so it is an invalid invocation.
fn require_images(images: &ImageSet, wanted: &[String]) -> Result<(), Failure> {
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|id| !images.images().iter().any(|i| i.id() == Some(id.as_str())))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Failure::invalid([Diag::error(
        Code::InvalidArgument,
        format!(
            "--image: no image {} in the result set",
            missing
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .with_help(
        "check the ImageId (img-xxxxxxxx); a check of an image that does not exist cannot pass",
    )]))
}

/// `--image` with `--snapshot`: judge only those images of the saved set.
fn select_images(images: ImageSet, wanted: &[String], zone: &ApiZone) -> Result<ImageSet, Failure> {
    require_images(&images, wanted)?;
    let selected: Vec<_> = images
        .images()
        .iter()
        .filter(|i| i.id().is_some_and(|id| wanted.iter().any(|w| w == id)))
        .cloned()
        .collect();
    Ok(ImageSet::new(selected, zone))
}

/// `ecmguard fetch -o FILE`: the complete result set, each image exactly as
/// the API sent it, written atomically so a failed run leaves no partial file.
fn fetch(args: &FetchArgs, io: &mut Io<'_>) -> Result<ExitCode, Failure> {
    let zone = ApiZone::parse(&args.api_time_zone).map_err(|m| {
        invalid_arg(
            format!("--api-time-zone: {m}"),
            "for example +08:00 or Asia/Shanghai",
        )
    })?;
    if args.source.snapshot.is_some() {
        return Err(invalid_arg(
            "fetch reads the API; --snapshot cannot be used with it",
            "to copy a snapshot, copy the file",
        ));
    }
    let config = live_config(&args.source)?;
    let fetched = fetch_live(&config, io.progress)?;
    #[derive(serde::Serialize)]
    struct SnapshotOut<'a> {
        schema: &'static str,
        fetched_at: String,
        endpoint: &'a str,
        filters: serde_json::Value,
        total_count: u64,
        #[serde(rename = "ImageSet")]
        image_set: &'a [Box<serde_json::value::RawValue>],
    }
    let document = SnapshotOut {
        schema: snapshot::SNAPSHOT_SCHEMA,
        fetched_at: zone.rfc3339((io.clock)()),
        endpoint: &config.endpoint,
        filters: filters_json(&config),
        total_count: fetched.total_count,
        image_set: &fetched.images,
    };
    let bytes = serde_json::to_vec_pretty(&document).map_err(|e| {
        internal(
            ExitCode::Incomplete,
            format!("cannot serialise the snapshot: {e}"),
        )
    })?;
    if args.output == "-" {
        io.stdout
            .write_all(&bytes)
            .and_then(|()| io.stdout.write_all(b"\n"))
            .map_err(write_failure)?;
    } else {
        let path = Path::new(&args.output);
        let temporary = path.with_extension("partial");
        write_file(&temporary, &bytes)?;
        std::fs::rename(&temporary, path).map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            Failure::invalid([Diag::error(
                Code::FileWrite,
                format!("cannot write {}: {e}", path.display()),
            )])
        })?;
        let stats = &fetched.stats;
        let note = format!(
            "fetched {} images in {} pages ({} requests, {} retries) in {:.1}s into {}\n",
            fetched.images.len(),
            stats.pages,
            stats.requests,
            stats.retries,
            stats.duration.as_secs_f64(),
            path.display()
        );
        let _ = io.stderr.write_all(note.as_bytes());
    }
    Ok(ExitCode::Pass)
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
        Some(name) => {
            if !args.source.filters.is_empty() {
                return Err(invalid_arg(
                    "--filter applies to the API, but --snapshot reads a saved result set",
                    "filter when fetching (`ecmguard fetch --filter …`), select images with --image, or scope rules with `where`",
                ));
            }
            let mut fetched = load_snapshot(name, &options.zone, io.stdin)?;
            if !args.source.images.is_empty() {
                fetched.images = select_images(fetched.images, &args.source.images, &options.zone)?;
            }
            fetched
        }
        None => {
            let config = live_config(&args.source)?;
            let result = fetch_live(&config, io.progress)?;
            let images = images_from_api(&result, &options.zone)?;
            if !args.source.images.is_empty() {
                require_images(&images, &args.source.images)?;
            }
            Fetched {
                images,
                source: api_source(&config, &result),
            }
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
            baseline: args.baseline.as_ref().map(|p| p.display().to_string()),
            root: std::env::current_dir().ok(),
        },
        evaluation,
    };
    if let Some(path) = &args.write_baseline {
        let baseline = Baseline::record(report.policy, report.images, &report.evaluation.findings);
        let text = serde_json::to_string_pretty(&baseline).map_err(|e| {
            internal(
                ExitCode::Invalid,
                format!("cannot serialise the baseline: {e}"),
            )
        })?;
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
    let code = report.exit_code();
    if code == ExitCode::Fail {
        // SPEC 2: every non-zero exit says why on stderr, whatever the format.
        let summary = report.summary();
        let fail_on = report.run.fail_on.as_str();
        let diag = Diag::error(
            Code::GateFailed,
            format!(
                "the gate failed: {} at or above --fail-on {fail_on} ({} violations, {} indeterminate in all)",
                plural(summary.failing, "finding"),
                summary.violations.error + summary.violations.warning + summary.violations.info,
                summary.indeterminate
            ),
        )
        .with_help("fix the images, or record accepted exceptions as waivers (with a reason and an expiry)");
        let _ = io
            .stderr
            .write_all(human::render_diagnostic(&diag, io.err_style).as_bytes());
    }
    Ok(code)
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
        Format::Sarif => report::sarif::render(report, out),
        Format::Junit => report::junit::render(report, out),
        Format::Markdown => report::markdown::render(report, out),
        Format::Html => report::html::render(report, out),
        Format::Csv => report::csv::render(report, out),
        Format::Github => report::github::render(report, out),
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
