//! `ecmguard plan`: the check, run as `check` runs it, turned into a plan
//! (`crate::plan`), shown like Terraform's and saved for `ecmguard apply`.
//! Reads only: this module reaches no write action (the read client and the
//! snapshot reader are all it uses), so nothing is changed by a plan.

use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};

use super::check::{self, Judged};
use super::{Io, file_failed};
use crate::cli::{PlanArgs, PlanFormat};
use crate::diag::{Code, Diag};
use crate::fs::write::AtomicFile;
use crate::history::account::Fingerprint;
use crate::outcome::{Error, Outcome};
use crate::plan::{self, ActionKind, KeptReason, Plan};
use crate::policy;
use crate::policy::model::Fix;
use crate::report::human;
use crate::settings::PlanSettings;
use crate::text::{count, escape};

pub(super) fn run(args: &PlanArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let settings = PlanSettings::from_args(args, io.clock).map_err(Error::Usage)?;
    let (made, mut output) = make(&settings, io)?;
    match settings.format {
        PlanFormat::Json => {
            super::to_reader(plan::file::write(&made, io.stdout))?;
        }
        PlanFormat::Human => {
            let shown = show(&made, settings.output.as_deref());
            super::to_reader(io.stdout.write_all(shown.as_bytes()))?;
        }
    }
    super::to_reader(io.stdout.flush())?;
    if let Some(file) = &mut output {
        plan::file::write(&made, file).map_err(|e| file_failed(file.path(), &e))?;
    }
    if let Some(file) = output {
        let path = file.path().to_owned();
        file.commit().map_err(|e| file_failed(&path, &e))?;
    }
    Ok(Outcome::Done)
}

/// The plan, made as `ecmguard plan` makes it (for `plan` and for `apply` without a plan
/// file): the check, then the planner, the check's warnings on stderr, and the
/// `--max-actions` bound. With `-o`, the plan file opened (not yet written).
pub(super) fn make(
    settings: &PlanSettings,
    io: &mut Io<'_>,
) -> Result<(Plan, Option<AtomicFile>), Error> {
    let check_settings = &settings.check;
    let options = &check_settings.policy.compile;
    let policy_files = policy::discover(&check_settings.policy.paths).map_err(Error::Policy)?;
    // Opened before any work: a plan that could not be saved stops the run
    // before the fetch, and one that would overwrite an input is refused.
    let output = open_output(settings, &policy_files)?;
    let loaded = policy::load_files(&policy_files, options).map_err(Error::Policy)?;
    let baseline = match &check_settings.baseline {
        Some(path) => Some(check::read_baseline(path)?),
        None => None,
    };
    // Usage is listed for every delete a rule declares, whatever the rules
    // read: a delete is planned only for an image proven unused.
    let mut readers = loaded.policy.usage_readers();
    for rule in &loaded.policy.rules {
        if matches!(rule.fix, Some(Fix::Delete)) && !readers.rules.contains(&rule.id) {
            readers.rules.push(rule.id.clone());
        }
    }
    let Judged {
        images,
        provenance,
        selection,
        evaluation,
        warnings: judged_warnings,
        ..
    } = check::judge(
        check_settings,
        &loaded.policy,
        baseline.as_ref(),
        &readers,
        io,
    )?;
    // What the check would warn about goes to stderr: a plan has no report.
    let mut warnings = loaded.warnings;
    warnings.extend(judged_warnings);
    warnings.extend(evaluation.warnings.iter().cloned());
    // A plan's life is real time: the system clock, never --now.
    let created_at = Timestamp::from_second((io.clock)().as_second()).map_err(|e| internal(&e))?;
    let expires_at = SignedDuration::try_from(settings.ttl)
        .ok()
        .and_then(|ttl| created_at.checked_add(ttl).ok())
        .ok_or_else(|| {
            Error::usage(
                Diag::error(Code::InvalidArgument, "--plan-ttl is too long")
                    .with_help("give a duration of at most a few years, e.g. 24h or 30d"),
            )
        })?;
    let made = plan::plan(
        &loaded.policy,
        &evaluation,
        &images,
        plan::Context {
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at,
            expires_at,
            evaluated_at: options.now,
            endpoint: provenance.endpoint().map(str::to_owned),
            account: Fingerprint::of_images(&images).to_stored(),
            policy_digest: crate::history::record::policy_digest(&loaded.policy),
            selection: selection.map(|s| s.narrowed_by),
        },
    );
    for diag in &warnings {
        let _ = io
            .stderr
            .write_all(human::render_diagnostic(diag, io.err_style).as_bytes());
    }
    if made.actions.len() > settings.max_actions {
        return Err(Error::Plan(too_many(&made, settings.max_actions)));
    }
    Ok((made, output))
}

fn internal(e: &dyn std::fmt::Display) -> Error {
    Error::Output(Diag::error(
        Code::Internal,
        format!("cannot read the system clock: {e}"),
    ))
}

/// `-o PLAN`, opened at the start; refused when it is one of the run's inputs.
fn open_output(
    settings: &PlanSettings,
    policy_files: &[PathBuf],
) -> Result<Option<AtomicFile>, Error> {
    let Some(path) = &settings.output else {
        return Ok(None);
    };
    let inputs = super::check::read_files(&settings.check, policy_files);
    let problems = super::check::over_inputs(path, "the plan", &inputs);
    if !problems.is_empty() {
        return Err(Error::Usage(problems));
    }
    AtomicFile::create(path)
        .map(Some)
        .map_err(|e| file_failed(path, &e))
}

fn too_many(plan: &Plan, max: usize) -> Diag {
    let (delete, rename, describe) = plan.counts();
    Diag::error(
        Code::TooManyActions,
        format!(
            "the plan needs {} ({delete} to delete, {rename} to rename, {describe} to describe), more than --max-actions {max}: nothing was saved",
            count(plan.actions.len() as u64, "action", "actions")
        ),
    )
    .with_help("narrow the selection (--image, --filter, --module), or raise the limit with --max-actions N once that many actions are expected")
}

/// The plan as people read it (docs/remediation.md, "Reading a plan").
pub fn show(plan: &Plan, saved_to: Option<&Path>) -> String {
    let mut out = show_actions(plan);
    match saved_to {
        Some(path) => {
            let shown = escape(&path.display().to_string()).into_owned();
            out.push_str(&format!(
                "Saved the plan to {shown}. To perform exactly these actions: ecmguard apply {shown}\n"
            ));
        }
        None if !plan.actions.is_empty() => out.push_str(
            "The plan was not saved. To perform exactly these actions, save it (-o PLAN) and run ecmguard apply PLAN\n",
        ),
        None => {}
    }
    out
}

/// The plan's actions, the `Plan:` line and what was not planned: what `plan` shows, and
/// `apply` without a plan file shows before it asks.
pub(super) fn show_actions(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.actions.is_empty() {
        out.push_str("ecmguard will perform no action.\n\n");
    } else {
        out.push_str("ecmguard will perform the following actions:\n\n");
    }
    for action in &plan.actions {
        let id = escape(&action.image_id);
        let name = action
            .image_name()
            .map(|n| format!(" ({})", escape(n)))
            .unwrap_or_default();
        out.push_str(&format!("  # {id}{name}: {}\n", escape(&action.rule)));
        match &action.kind {
            ActionKind::Delete => {
                // A delete cannot be undone: the finding that asks for it is shown.
                out.push_str(&format!("  #   {}\n", escape(&action.message)));
                out.push_str(&format!("  - delete {id}\n\n"));
            }
            ActionKind::Rename { to } | ActionKind::Describe { to } => {
                let old = action
                    .old_value()
                    .map(|v| format!("{:?}", escape(v).as_ref()))
                    .unwrap_or_else(|| "(none)".to_owned());
                out.push_str(&format!(
                    "  ~ {} {id}: {old} -> {:?}\n\n",
                    action.kind.name(),
                    escape(to).as_ref()
                ));
            }
        }
    }
    let (delete, rename, describe) = plan.counts();
    out.push_str(&format!(
        "Plan: {delete} to delete, {rename} to rename, {describe} to describe."
    ));
    if !plan.kept.is_empty() {
        out.push_str(&format!(" Kept: {}.", kept_summary(plan)));
    }
    out.push('\n');
    let np = plan.not_planned;
    let not_planned: Vec<String> = [
        (np.indeterminate, "indeterminate"),
        (np.waived, "waived"),
        (np.baselined, "baselined"),
        (np.grace, "in grace"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if !not_planned.is_empty() {
        out.push_str(&format!(
            "Not planned (findings of rules with a fix that are not violations): {}.\n",
            not_planned.join(", ")
        ));
    }
    out
}

/// `2 in use (img-a: 3 instances; img-b: module em-1), 1 too long (img-c: …)`.
fn kept_summary(plan: &Plan) -> String {
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for kept in &plan.kept {
        let tally = kept.reason.tally();
        let detail = format!("{}: {}", escape(&kept.image_id), short(&kept.reason));
        match groups.iter_mut().find(|(t, _)| *t == tally) {
            Some((_, details)) => details.push(detail),
            None => groups.push((tally, vec![detail])),
        }
    }
    groups
        .into_iter()
        .map(|(tally, details)| format!("{} {tally} ({})", details.len(), details.join("; ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A kept fix's reason in a few words, for the summary line.
fn short(reason: &KeptReason) -> String {
    match reason {
        KeptReason::InUse { instances, modules } => {
            let mut parts = Vec::new();
            if !instances.is_empty() {
                parts.push(count(instances.len() as u64, "instance", "instances"));
            }
            match modules.as_slice() {
                [] => {}
                [one] => parts.push(format!("module {}", escape(one))),
                many => parts.push(count(many.len() as u64, "module", "modules")),
            }
            parts.join(", ")
        }
        other => escape(&other.to_string()).into_owned(),
    }
}
