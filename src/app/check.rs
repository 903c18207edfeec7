//! `ecmguard check`: policies and images in, reports and a verdict out.

use std::time::Instant;

use super::{Io, file_failed, history, plural, stdout_failed, write_file};
use crate::cli::CheckArgs;
use crate::diag::{Code, Diag};
use crate::eval::baseline::Baseline;
use crate::eval::{EvalOptions, Evaluation, Verdict, evaluate};
use crate::exit::ExitCode;
use crate::history::record::Checked;
use crate::image::ImageSet;
use crate::outcome::{Error, Outcome};
use crate::policy::{self, PolicySet};
use crate::report::human::{self, Style};
use crate::report::{self, Report, RunInfo};
use crate::settings::{CheckSettings, ReportTarget, SourceSettings};
use crate::source::Provenance;
use crate::source::snapshot;
use crate::time::ApiZone;

pub(super) fn run(args: &CheckArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let started = Instant::now();
    let settings = CheckSettings::from_args(args, io.clock).map_err(Error::Usage)?;
    let options = &settings.policy.compile;
    let loaded = policy::load(&settings.policy.paths, options).map_err(Error::Policy)?;
    let baseline = match &settings.baseline {
        Some(path) => Some(read_baseline(path)?),
        None => None,
    };
    // Opened before any image is fetched: a history that cannot be used
    // stops the run before the API is asked for anything.
    let mut history = history::open_for_check(settings.history.as_ref(), options.now)?;
    let (images, provenance) = images(&settings, io)?;
    let checked = checked_by_run(&settings, &provenance, &images);
    let mut evaluation = evaluate(
        &loaded.policy,
        &images,
        EvalOptions {
            now: options.now,
            baseline: baseline.as_ref(),
            history: history.as_ref().map(|h| &h.facts.open),
        },
    );
    let mut warnings = loaded.warnings;
    warnings.append(&mut evaluation.warnings);
    evaluation.warnings = warnings;
    let verdict = evaluation.verdict(&loaded.policy, settings.fail_on);
    let report = Report {
        policy: &loaded.policy,
        images: &images,
        run: RunInfo {
            now: options.now,
            zone: options.zone.clone(),
            source: provenance,
            fail_on: settings.fail_on,
            exit_code: ExitCode::of_verdict(verdict).code(),
            duration_seconds: started.elapsed().as_secs_f64(),
            duplicates_dropped: images.duplicates_dropped(),
            baseline: settings.baseline.as_ref().map(|p| p.display().to_string()),
            root: std::env::current_dir().ok(),
        },
        evaluation,
    };
    if let Some(history) = &mut history {
        // Before any report is written: a run that cannot be recorded ends
        // with exit 2 and no report that could pass for a result.
        history::record(history, &report, checked)?;
    }
    if let Some(path) = &settings.write_baseline {
        write_baseline(path, &loaded.policy, &images, &report.evaluation)?;
    }
    for target in &settings.reports {
        write_report(&report, target, io)?;
    }
    if verdict == Verdict::Fail {
        // Every failing exit says why on stderr, whatever the format.
        let summary = report.summary();
        let diag = Diag::error(
            Code::GateFailed,
            format!(
                "the gate failed: {} at or above --fail-on {} ({} violations, {} indeterminate in all)",
                plural(summary.failing, "finding"),
                report.run.fail_on.as_str(),
                summary.violations.error + summary.violations.warning + summary.violations.info,
                summary.indeterminate
            ),
        )
        .with_help("fix the images, or record accepted exceptions as waivers (with a reason and an expiry)");
        let _ = io
            .stderr
            .write_all(human::render_diagnostic(&diag, io.err_style).as_bytes());
    }
    Ok(Outcome::Verdict(verdict))
}

fn read_baseline(path: &std::path::Path) -> Result<Baseline, Error> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        Error::Baseline(
            Diag::error(Code::FileRead, format!("cannot read baseline {name}: {e}"))
                .with_help("write one with `ecmguard check --write-baseline FILE`"),
        )
    })?;
    crate::baseline::read(&name, &bytes).map_err(Error::Baseline)
}

fn write_baseline(
    path: &std::path::Path,
    policy: &PolicySet,
    images: &ImageSet,
    evaluation: &Evaluation,
) -> Result<(), Error> {
    let baseline = Baseline::of_findings(policy, images, &evaluation.findings);
    let mut bytes = Vec::new();
    crate::baseline::write(&baseline, &mut bytes).map_err(|e| file_failed(path, &e))?;
    write_file(path, &bytes)
}

fn write_report(report: &Report<'_>, target: &ReportTarget, io: &mut Io<'_>) -> Result<(), Error> {
    match &target.path {
        None => report::render(report, target.format, io.stdout, io.style).map_err(stdout_failed),
        Some(path) => {
            let mut buffer = Vec::new();
            let style = Style {
                color: false,
                ..io.style
            };
            report::render(report, target.format, &mut buffer, style)
                .map_err(|e| file_failed(path, &e))?;
            write_file(path, &buffer)
        }
    }
}

/// The images of the run and where they came from.
fn images(settings: &CheckSettings, io: &mut Io<'_>) -> Result<(ImageSet, Provenance), Error> {
    let zone = &settings.policy.compile.zone;
    match &settings.source {
        SourceSettings::Snapshot(name) => {
            let loaded = snapshot::load(name, zone, io.stdin)?;
            let images = if settings.images.is_empty() {
                loaded.images
            } else {
                select_images(loaded.images, &settings.images, zone)?
            };
            Ok((images, loaded.provenance))
        }
        SourceSettings::Live(live) => {
            let (config, fetched) = super::fetch::fetch_live(live, io.progress)?;
            let images = fetched.image_set(zone)?;
            require_images(&images, &settings.images)?;
            Ok((images, fetched.provenance(&config)))
        }
    }
}

/// What this run checked, for the history's streaks: the whole account, or
/// a selection — `--image`, a live `--filter`, or a snapshot whose recorded
/// filters are not empty — with the ImageIds it held. A selection's run
/// never ends a streak of an image it did not check (docs/history.md,
/// "Narrowed runs"; to be unified with the selection concept when it lands).
fn checked_by_run(settings: &CheckSettings, provenance: &Provenance, images: &ImageSet) -> Checked {
    let narrowed = !settings.images.is_empty()
        || match &settings.source {
            SourceSettings::Live(live) => !live.config.filters.is_empty(),
            SourceSettings::Snapshot(_) => provenance
                .filters()
                .as_array()
                .is_some_and(|filters| !filters.is_empty()),
        };
    if !narrowed {
        return Checked::WholeAccount;
    }
    Checked::Selection(
        images
            .images()
            .iter()
            .filter_map(|image| image.id().map(str::to_owned))
            .collect(),
    )
}

/// A pre-deployment check names images that must exist: judging an image
/// that is not there would pass vacuously, so it is an invalid invocation.
fn require_images(images: &ImageSet, wanted: &[String]) -> Result<(), Error> {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|id| !images.images().iter().any(|i| i.id() == Some(id.as_str())))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::usage(
        Diag::error(
            Code::InvalidArgument,
            format!("--image: no image {} in the result set", missing.join(", ")),
        )
        .with_help(
            "check the ImageId (img-xxxxxxxx); a check of an image that does not exist cannot pass",
        ),
    ))
}

/// `--image` with `--snapshot`: judge only those images of the saved set.
fn select_images(images: ImageSet, wanted: &[String], zone: &ApiZone) -> Result<ImageSet, Error> {
    require_images(&images, wanted)?;
    let selected: Vec<_> = images
        .images()
        .iter()
        .filter(|i| i.id().is_some_and(|id| wanted.iter().any(|w| w == id)))
        .cloned()
        .collect();
    Ok(ImageSet::new(selected, zone))
}
