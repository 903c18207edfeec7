//! `ecmguard check`: policies and images in, reports and a verdict out.

use std::time::Instant;

use std::path::{Path, PathBuf};

use super::{Io, file_failed, history};
use crate::cli::CheckArgs;
use crate::diag::{Code, Diag};
use crate::eval::baseline::Baseline;
use crate::eval::{EvalOptions, Evaluation, Selection, Verdict, evaluate};
use crate::exit::ExitCode;
use crate::fs::write::{AtomicFile, file_identity};
use crate::history::Target;
use crate::history::record::Checked;
use crate::image::ImageSet;
use crate::outcome::{Error, Outcome};
use crate::policy::model::UsageReaders;
use crate::policy::{self, PolicySet};
use crate::report::human::{self, Style};
use crate::report::{self, Report, RunInfo};
use crate::settings::{CheckSettings, HistorySettings, SourceSettings};
use crate::source::Provenance;
use crate::source::snapshot;
use crate::text::count;
use crate::time::ApiZone;
use crate::usage::Usage;

use super::modules::Resolved;

pub(super) fn run(args: &CheckArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let started = Instant::now();
    let settings = CheckSettings::from_args(args, io.clock).map_err(Error::Usage)?;
    let options = &settings.policy.compile;
    let policy_files = policy::discover(&settings.policy.paths).map_err(Error::Policy)?;
    // Every output is opened before any work: one that would overwrite an
    // input, or that cannot be written, stops the run before the fetch.
    let mut outputs = Outputs::open(&settings, &policy_files)?;
    let loaded = policy::load_files(&policy_files, options).map_err(Error::Policy)?;
    let baseline = match &settings.baseline {
        Some(path) => Some(read_baseline(path)?),
        None => None,
    };
    // Usage is listed only when something reads it: a policy without usage rules makes no
    // request an account granting only ecm:DescribeImage would refuse.
    let readers = loaded.policy.usage_readers();
    let Judged {
        images,
        provenance,
        selection,
        checked,
        mut history,
        mut evaluation,
        warnings: judged_warnings,
    } = judge(&settings, &loaded.policy, baseline.as_ref(), &readers, io)?;
    let mut warnings = loaded.warnings;
    let nothing_checked = images
        .is_empty()
        .then(|| nothing_checked(&settings, &provenance, selection.as_ref()));
    // In every report, as the first warning: it is the gate's first fact.
    warnings.extend(nothing_checked.clone());
    warnings.extend(judged_warnings);
    warnings.append(&mut evaluation.warnings);
    evaluation.warnings = warnings;
    let verdict = evaluation.verdict(&loaded.policy, settings.fail_on, settings.allow_empty);
    let report = Report {
        policy: &loaded.policy,
        images: &images,
        run: RunInfo {
            now: options.now,
            zone: options.zone.clone(),
            source: provenance,
            fail_on: settings.fail_on,
            verdict,
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
    let _closing = history.map(history::Closing::start);
    if let Some(file) = &mut outputs.baseline {
        let baseline = Baseline::of_findings(&loaded.policy, &images, &report.evaluation.findings);
        crate::baseline::write(&baseline, file).map_err(|e| file_failed(file.path(), &e))?;
    }
    for (target, file) in settings.reports.iter().zip(&mut outputs.reports) {
        match file {
            None => {
                // `--quiet` is for what is printed; a report file is whole.
                let style = Style {
                    max_findings: settings.max_findings,
                    quiet: settings.quiet,
                    ..io.style
                };
                super::to_reader(report::render(&report, target.format, io.stdout, style))?;
            }
            Some(file) => {
                let style = Style {
                    color: false,
                    max_findings: settings.max_findings,
                    quiet: false,
                    ..io.style
                };
                report::render(&report, target.format, file, style)
                    .map_err(|e| file_failed(file.path(), &e))?;
            }
        }
    }
    // The report is complete on stdout before the gate's reason goes to
    // stderr: when both are one pipe or terminal (`2>&1`, a CI log), the
    // reason comes after the report, once, as its last word.
    super::to_reader(io.stdout.flush())?;
    // Only now, with everything written, do the files change.
    outputs.commit()?;
    if verdict == Verdict::Fail {
        // Every failing exit says why on stderr, whatever the format.
        let summary = report.summary();
        let mut reasons = Vec::new();
        if let (Some(diag), false) = (nothing_checked, settings.allow_empty) {
            reasons.push(diag);
        }
        if summary.failing > 0 {
            reasons.push(Diag::error(
                Code::GateFailed,
                format!(
                    "the gate failed: {} at or above --fail-on {} ({} violations, {} indeterminate in all)",
                    count(summary.failing as u64, "finding", "findings"),
                    report.run.fail_on.as_str(),
                    summary.violations.error + summary.violations.warning + summary.violations.info,
                    summary.indeterminate
                ),
            )
            .with_help("fix the images, or record accepted exceptions as waivers (with a reason and an expiry)"));
        }
        for diag in reasons {
            let _ = io
                .stderr
                .write_all(human::render_diagnostic(&diag, io.err_style).as_bytes());
        }
    }
    Ok(Outcome::Verdict(verdict))
}

/// What `check` and `plan` judge alike, before anything is written: the images (live or a
/// snapshot, with usage when something reads it), the history's open streaks admitted for
/// them, and the evaluation.
pub(super) struct Judged {
    pub(super) images: ImageSet,
    pub(super) provenance: Provenance,
    pub(super) selection: Option<Selection>,
    /// What the run checked, as the history records it.
    pub(super) checked: Checked,
    pub(super) history: Option<history::CheckHistory>,
    pub(super) evaluation: Evaluation,
    /// What the verdict rests on, in report order: a completeness the user vouched for, a
    /// history that had to be corrected, `--module`s that deploy no image, instances whose
    /// image is unknown. Evaluation's own warnings stay in `evaluation`.
    pub(super) warnings: Vec<Diag>,
}

/// The steps `check` and `plan` share, from the history's opening to the evaluation.
/// `readers` are what reads usage (a plan adds its delete rules): usage is listed when
/// there is one, or with `--usage`.
pub(super) fn judge(
    settings: &CheckSettings,
    policy: &PolicySet,
    baseline: Option<&Baseline>,
    readers: &UsageReaders,
    io: &mut Io<'_>,
) -> Result<Judged, Error> {
    let now = settings.policy.compile.now;
    // Opened before any image is fetched: a history that cannot be used
    // stops the run before the API is asked for anything.
    let opening = history::open_for_check(settings.history.as_ref(), now)?;
    let needed_by = if !readers.is_empty() {
        Some(readers.describe())
    } else {
        settings.usage.then(|| "--usage".to_owned())
    };
    let Source {
        images,
        provenance,
        warnings: source_warnings,
        modules,
    } = images(settings, needed_by.as_deref(), io)?;
    let mut history = opening.map(history::Opening::wait).transpose()?;
    let selection = selection(settings, &provenance, &modules);
    let checked = checked_by_run(selection.as_ref(), &images);
    if let Some(history) = &mut history {
        // Before anything is judged: one label's streaks are never continued
        // (or ended) by another account's run.
        history::admit(history, &images, &checked)?;
    }
    let evaluation = evaluate(
        policy,
        &images,
        EvalOptions {
            now,
            baseline,
            selection: selection.as_ref(),
            history: history.as_ref().map(|h| &h.facts.open),
        },
    );
    let mut warnings = source_warnings;
    warnings.extend(history.as_ref().and_then(|h| h.facts.clamped_warning()));
    warnings.extend(modules.warnings);
    warnings.extend(images.usage().and_then(unknown_images));
    Ok(Judged {
        images,
        provenance,
        selection,
        checked,
        history,
        evaluation,
        warnings,
    })
}

pub(super) fn read_baseline(path: &std::path::Path) -> Result<Baseline, Error> {
    let name = path.display().to_string();
    let bytes =
        crate::fs::read::read_capped(path, crate::baseline::MAX_FILE_BYTES).map_err(|e| {
            Error::Baseline(
                Diag::error(Code::FileRead, format!("cannot read baseline {name}: {e}"))
                    .with_help("write one with `ecmguard check --write-baseline FILE`"),
            )
        })?;
    crate::baseline::read(&name, &bytes).map_err(Error::Baseline)
}

/// The files a check writes, opened at its start, committed at its end.
struct Outputs {
    /// One per report target, `None` for stdout.
    reports: Vec<Option<AtomicFile>>,
    baseline: Option<AtomicFile>,
}

impl Outputs {
    /// Refuse an output that is an input (the snapshot, a policy, the
    /// baseline, the config file, a param file) or another output, by file identity, so a different path
    /// to the same file is caught; then open every output.
    fn open(settings: &CheckSettings, policy_files: &[PathBuf]) -> Result<Outputs, Error> {
        let inputs = read_files(settings, policy_files);
        let mut targets: Vec<(&Path, &str)> = settings
            .reports
            .iter()
            .filter_map(|t| t.path.as_deref().map(|p| (p, "a report")))
            .collect();
        if let Some(path) = &settings.write_baseline {
            targets.push((path.as_path(), "--write-baseline"));
        }
        let mut problems = Vec::new();
        for (n, (target, what)) in targets.iter().enumerate() {
            problems.extend(over_inputs(target, what, &inputs));
            for (earlier, _) in &targets[..n] {
                if same_destination(target, earlier) {
                    problems.push(same_file(target, what, earlier, "another output"));
                }
            }
        }
        if !problems.is_empty() {
            return Err(Error::Usage(problems));
        }
        let open = |path: &Path| AtomicFile::create(path).map_err(|e| file_failed(path, &e));
        let mut reports = Vec::with_capacity(settings.reports.len());
        for target in &settings.reports {
            reports.push(match &target.path {
                Some(path) => Some(open(path)?),
                None => None,
            });
        }
        let baseline = match &settings.write_baseline {
            Some(path) => Some(open(path)?),
            None => None,
        };
        Ok(Outputs { reports, baseline })
    }

    fn commit(self) -> Result<(), Error> {
        for file in self.reports.into_iter().flatten().chain(self.baseline) {
            let path = file.path().to_owned();
            file.commit().map_err(|e| file_failed(&path, &e))?;
        }
        Ok(())
    }
}

/// Whether two output paths name one file: the same existing file, or the
/// same name in the same (existing) directory.
fn same_destination(a: &Path, b: &Path) -> bool {
    if let (Some(x), Some(y)) = (file_identity(a), file_identity(b)) {
        return x == y;
    }
    let place = |p: &Path| {
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        (
            std::fs::canonicalize(dir).ok(),
            p.file_name().map(|n| n.to_owned()),
        )
    };
    place(a) == place(b)
}

/// Every file a check reads (the policies, the snapshot, the baseline, the config and param
/// files, the SQLite history), as a diagnostic names it: no output may be one of them.
pub(super) fn read_files(
    settings: &CheckSettings,
    policy_files: &[PathBuf],
) -> Vec<(PathBuf, &'static str)> {
    let mut inputs: Vec<(PathBuf, &'static str)> = policy_files
        .iter()
        .map(|p| (p.clone(), "a policy file"))
        .collect();
    if let SourceSettings::Snapshot { path: name, .. } = &settings.source
        && name != "-"
    {
        inputs.push((PathBuf::from(name), "the snapshot"));
    }
    if let Some(path) = &settings.baseline {
        inputs.push((path.clone(), "the baseline"));
    }
    inputs.extend(settings.policy.inputs.iter().cloned());
    // An output written over the SQLite history would destroy every recorded run.
    if let Some(HistorySettings {
        target: Target::Sqlite(path),
        ..
    }) = &settings.history
    {
        inputs.push((path.clone(), "the history database"));
    }
    inputs
}

/// The output `target` (`what`) is one of `inputs`, by file identity, so a different path to
/// the same file is caught: one diagnostic per input it would destroy.
pub(super) fn over_inputs(target: &Path, what: &str, inputs: &[(PathBuf, &str)]) -> Vec<Diag> {
    let identity = file_identity(target);
    let mut problems = Vec::new();
    for (input, input_what) in inputs {
        // Rewriting the baseline that was read is the one allowed case: it is read whole
        // before anything is written.
        if what == "--write-baseline" && *input_what == "the baseline" {
            continue;
        }
        let same = match identity {
            Some(_) => identity == file_identity(input),
            // Not there yet: the history file is created by this run.
            None => *input_what == "the history database" && same_destination(target, input),
        };
        if same {
            problems.push(same_file(target, what, input, input_what));
        }
    }
    problems
}

fn same_file(output: &Path, what: &str, input: &Path, input_what: &str) -> Diag {
    Diag::error(
        Code::OutputIsInput,
        format!(
            "{what} {} is the same file as {input_what} {}: writing it would destroy what the run reads",
            output.display(),
            input.display()
        ),
    )
    .with_help("write it somewhere else; nothing was read or written")
}

/// The images of a run, where they came from, what every report must say about that
/// source, and the `--module`s they were chosen for.
pub(super) struct Source {
    pub images: ImageSet,
    pub provenance: Provenance,
    pub warnings: Vec<Diag>,
    pub modules: Resolved,
}

/// The images of the run and where they came from, with their usage when something reads
/// it (`needed_by`); with `--module`, the modules' default images too.
pub(super) fn images(
    settings: &CheckSettings,
    needed_by: Option<&str>,
    io: &mut Io<'_>,
) -> Result<Source, Error> {
    let zone = &settings.policy.compile.zone;
    match &settings.source {
        SourceSettings::Snapshot { path, completeness } => {
            let loaded = snapshot::load(path, zone, *completeness, io.stdin)?;
            // A snapshot's modules are in its usage, checked whole before they are used.
            let usage = match (needed_by, settings.modules.is_empty()) {
                (None, true) => None,
                (Some(needed_by), _) => Some(snapshot::usage(path, loaded.usage, needed_by)?),
                (None, false) => Some(snapshot::usage(path, loaded.usage, "--module")?),
            };
            let modules = match &usage {
                Some(usage) if !settings.modules.is_empty() => {
                    let found = &usage.set().modules;
                    super::modules::resolve(&settings.modules, found, || Ok(found.clone()))?
                }
                _ => Resolved::default(),
            };
            let wanted = wanted_images(settings, &modules);
            let mut images = if wanted.is_empty() && settings.modules.is_empty() {
                loaded.images
            } else {
                select_images(loaded.images, &wanted, zone)?
            };
            require_module_images(&images, &modules)?;
            // Judged exactly as the live check would be: with the usage it saved, when
            // something reads usage, and not otherwise.
            if let (Some(usage), Some(_)) = (usage, needed_by) {
                images.attach_usage(usage);
            }
            Ok(Source {
                images,
                provenance: loaded.provenance,
                warnings: loaded.warnings,
                modules,
            })
        }
        SourceSettings::Live(live) => {
            let wanted = super::fetch::Wanted {
                usage: needed_by,
                modules: &settings.modules,
            };
            let listed = super::fetch::fetch_live(live, wanted, io)?;
            let mut images = listed.fetched.image_set(zone)?;
            require_images(&images, &settings.images)?;
            require_module_images(&images, &listed.modules)?;
            let mut provenance = listed.fetched.provenance(&listed.config);
            provenance.add_requests(&listed.module_stats);
            if let Some(usage) = listed.usage {
                provenance.add_requests(&usage.stats);
                images.attach_usage(Usage::new(usage.set));
            }
            Ok(Source {
                images,
                provenance,
                warnings: Vec::new(),
                modules: listed.modules,
            })
        }
    }
}

/// `--image` and the `--module`s' default images, each once.
fn wanted_images(settings: &CheckSettings, modules: &Resolved) -> Vec<String> {
    let mut wanted = settings.images.clone();
    for image in modules.images() {
        if !wanted.contains(&image) {
            wanted.push(image);
        }
    }
    wanted
}

/// A module's default image that is not in the result set: what the module would deploy
/// cannot be judged, so the check is refused, as an `--image` that does not exist is.
fn require_module_images(images: &ImageSet, modules: &Resolved) -> Result<(), Error> {
    for (module, image) in &modules.modules {
        let Some(image) = image else { continue };
        if !images
            .images()
            .iter()
            .any(|i| i.id() == Some(image.as_str()))
        {
            return Err(Error::usage(
                Diag::error(
                    Code::InvalidArgument,
                    format!(
                        "--module {}: its default image {} is not in the result set",
                        crate::text::escape(module),
                        crate::text::escape(image)
                    ),
                )
                .with_help("the module would deploy an image DescribeImage does not list (deleted, or of another account); give the module an existing default image"),
            ));
        }
    }
    Ok(())
}

/// Instances whose image the API does not name: a warning in every report, with how many,
/// since it changes what `Usage.*` means for the whole run.
pub(super) fn unknown_images(usage: &Usage) -> Option<Diag> {
    let n = usage.unknown_image_instances();
    (n > 0).then(|| {
        Diag::warning(
            Code::UsageImageUnknown,
            format!(
                "{} an image the API does not name (`Image: null`): usage counts are lower bounds, and Usage.InUse is unknown for every image with no counted use",
                if n == 1 {
                    "1 instance runs".to_owned()
                } else {
                    format!("{} instances run", crate::text::thousands(n))
                }
            ),
        )
        .with_help("rules that read Usage.InUse are indeterminate for those images until the instances name their image again (or are gone); no image is taken for unused on a guess")
    })
}

/// The selection this run checks, when it is narrower than the account:
/// `--image`, `--filter`, or a snapshot fetched with filters.
pub(super) fn selection(
    settings: &CheckSettings,
    provenance: &Provenance,
    modules: &Resolved,
) -> Option<Selection> {
    let mut by = Vec::new();
    if !settings.images.is_empty() {
        by.push(format!("--image {}", settings.images.join(", ")));
    }
    if !modules.modules.is_empty() {
        by.push(modules.describe());
    }
    if let SourceSettings::Live(live) = &settings.source {
        let filters: Vec<String> = live
            .config
            .filters
            .iter()
            .filter(|f| f.name != "image-id" || settings.images.is_empty())
            .map(|f| format!("--filter {}={}", f.name, f.values.join(",")))
            .collect();
        by.extend(filters);
    }
    if let Provenance::Snapshot {
        filters: Some(recorded),
        ..
    } = provenance
    {
        let recorded = filter_list(recorded);
        if !recorded.is_empty() {
            by.push(format!("the snapshot's filters ({recorded})"));
        }
    }
    (!by.is_empty()).then(|| Selection {
        narrowed_by: by.join(" and "),
    })
}

/// `image-type=PRIVATE_IMAGE, image-id=a,b` from filters as the API takes them.
fn filter_list(filters: &serde_json::Value) -> String {
    filters
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|f| {
                    let name = f.get("Name")?.as_str()?;
                    let values: Vec<&str> = f
                        .get("Values")?
                        .as_array()?
                        .iter()
                        .filter_map(|v| v.as_str())
                        .collect();
                    Some(format!("{name}={}", values.join(",")))
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Zero images evaluated: a warning in every report, and (without
/// `--allow-empty`) the reason the gate fails. Says why nothing was checked.
fn nothing_checked(
    settings: &CheckSettings,
    provenance: &Provenance,
    selection: Option<&Selection>,
) -> Diag {
    let why = match (provenance, selection) {
        (Provenance::Snapshot { path, .. }, None) => format!("the snapshot {path} holds no image"),
        (Provenance::Snapshot { path, .. }, Some(s)) => {
            format!(
                "the snapshot {path} holds no image (narrowed by {})",
                s.narrowed_by
            )
        }
        (Provenance::Api { endpoint, .. }, Some(s)) => {
            format!("no image of {endpoint} matched {}", s.narrowed_by)
        }
        (Provenance::Api { endpoint, .. }, None) => {
            format!("the account at {endpoint} has no image")
        }
    };
    let help = if settings.allow_empty {
        "--allow-empty accepts an empty result set".to_owned()
    } else {
        "check the source and any filter values (image-type takes PRIVATE_IMAGE or PUBLIC_IMAGE); \
         if an empty set is expected, pass --allow-empty"
            .to_owned()
    };
    let diag = Diag::warning(
        Code::NothingChecked,
        format!("nothing was checked: {why}; no rule was evaluated on any image"),
    )
    .with_help(help);
    // Without --allow-empty it is what fails the gate.
    if settings.allow_empty {
        diag
    } else {
        diag.into_error()
    }
}

/// What this run checked, for the history's streaks: the whole account, or
/// a selection with the ImageIds it held. A selection's run never ends a
/// streak of an image it did not check (docs/history.md, "Narrowed runs").
pub(super) fn checked_by_run(selection: Option<&Selection>, images: &ImageSet) -> Checked {
    if selection.is_none() {
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
