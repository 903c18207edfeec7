//! `ecmguard apply [PLAN]`: load the plan (refusing an edited, expired or foreign one) or,
//! without a plan file, make one as `ecmguard plan` does, show it and ask for `yes`; check
//! that this run reaches the endpoint and account it was made for, then apply its actions
//! (`apply::engine`, several images at once), printing a line per action as it completes
//! and the summary, write the `ecmguard/apply/v1` result and record the actions in the
//! history when asked.
//! Nothing is done before every check that can refuse the plan has passed.

use std::path::Path;

use jiff::Timestamp;

use super::{Io, file_failed, stdout_failed};
use crate::apply::report::{self, Context};
use crate::apply::{self, Applied, Hooks};
use crate::cli::ApplyArgs;
use crate::diag::{Code, Diag};
use crate::exit::ExitCode;
use crate::fs::write::AtomicFile;
use crate::history::account::Fingerprint;
use crate::history::actions::{ActionRecord, ApplyRecord};
use crate::outcome::{ApplyEnd, Error, Outcome};
use crate::plan::model::{ActionKind, Plan};
use crate::settings::{ApplySettings, PlanSource};
use crate::source::live::{self, ApiFilter, FetchError, FetchProgress, Session};
use crate::time::ApiZone;

/// The most values one `image-id` filter of `DescribeImage` is sent with when the plan's
/// images are read for the account check (a plan holds at most a few hundred actions).
const IDS_PER_READ: usize = 100;

pub(super) fn run(args: &ApplyArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let settings = ApplySettings::from_args(args, io.clock).map_err(Error::Usage)?;
    match &settings.plan {
        PlanSource::File(path) => {
            // Expiry is judged by the system clock: a plan's lifetime is real time, whatever
            // a test or a replay says `now` is.
            let plan = crate::plan::file::read(path, (io.clock)()).map_err(Error::Plan)?;
            if let Some(output) = &settings.output {
                refuse_overwriting_the_plan(path, output)?;
            }
            let file = open_output(&settings)?;
            perform(&plan, Some(path), file, &settings, io)
        }
        PlanSource::Make(plan_settings) => {
            // Refused before anything is read: nobody is there to answer the question, and
            // in CI a saved, reviewed plan is the approval.
            if !settings.auto_approve && !io.stdin_is_terminal {
                return Err(Error::usage(needs_approval()));
            }
            let file = open_output(&settings)?;
            let (plan, _) = super::plan::make(plan_settings, io)?;
            let shown = super::plan::show_actions(&plan);
            super::to_reader(io.stdout.write_all(shown.as_bytes()))?;
            super::to_reader(io.stdout.flush())?;
            if plan.actions.is_empty() {
                super::to_reader(writeln!(io.stdout, "Nothing to do."))?;
                return Ok(Outcome::Applied(ApplyEnd::AllDone));
            }
            if !settings.auto_approve && !approved(io)? {
                let diag = Diag::error(
                    Code::ApplyCancelled,
                    "the actions were not approved (only `yes` approves them): nothing was done",
                )
                .with_help("run it again and answer yes, or save the plan for review: ecmguard plan -o plan.json");
                super::print_diagnostics(&[diag], io);
                return Ok(Outcome::Applied(ApplyEnd::Skipped));
            }
            perform(&plan, None, file, &settings, io)
        }
    }
}

/// The question `apply` without a plan file asks on a terminal.
pub const QUESTION: &str = "Do you want to perform these actions? Only 'yes' will be accepted: ";

/// The longest answer read: anything longer is not `yes`.
const MAX_ANSWER: usize = 1024;

/// Ask on stderr (stdout holds the plan, and may be a file) and read one line of stdin:
/// `true` only for `yes` (surrounding spaces aside). End of input is a no.
fn approved(io: &mut Io<'_>) -> Result<bool, Error> {
    let _ = write!(io.stderr, "\n{QUESTION}");
    let _ = io.stderr.flush();
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match io.stdin.read(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) if answer.len() < MAX_ANSWER => answer.push(byte[0]),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    Ok(String::from_utf8_lossy(&answer).trim() == "yes")
}

fn needs_approval() -> Diag {
    Diag::error(
        Code::ApplyNeedsApproval,
        "`ecmguard apply` without a plan file asks before it acts, and stdin is not a terminal: nothing was planned or done",
    )
    .with_help("in CI, apply a reviewed plan: ecmguard plan -o plan.json, then ecmguard apply plan.json; or, knowingly, add --auto-approve")
}

fn open_output(settings: &ApplySettings) -> Result<Option<AtomicFile>, Error> {
    match &settings.output {
        Some(path) => Ok(Some(
            AtomicFile::create(path).map_err(|e| file_failed(path, &e))?,
        )),
        None => Ok(None),
    }
}

/// Apply `plan` (read from `plan_path`, or made by this run): check that this run reaches
/// the endpoint and account it was made for, then act, print, write the result file and
/// record the actions in the history.
fn perform(
    plan: &Plan,
    plan_path: Option<&Path>,
    mut file: Option<AtomicFile>,
    settings: &ApplySettings,
    io: &mut Io<'_>,
) -> Result<Outcome, Error> {
    // Opened before anything is done: a history that cannot take the record stops the
    // apply while nothing has changed.
    let mut history = super::history::open_for_apply(settings.history.as_ref())?;
    let config = super::fetch::live_config(&settings.live, io)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::Fetch(FetchError::Runtime {
                detail: e.to_string(),
            })
        })?;
    let session = runtime.block_on(async { Session::new(&config) })?;
    let account = runtime.block_on(account_of(&session, plan))?;
    plan.check_target(&config.endpoint, account.as_deref())
        .map_err(Error::Plan)?;
    if let (Some(history), Some(target)) = (&mut history, &settings.history) {
        history
            .admit_apply(&target.account, account.as_deref())
            .map_err(Error::History)?;
    }

    let started_at = (io.clock)();
    let stdout = &mut *io.stdout;
    let mut printed: std::io::Result<()> = Ok(());
    let applied = {
        let _cooperating = apply::stop::Cooperating::start();
        let mut on_outcome = |outcome: &apply::ActionOutcome| {
            if printed.is_ok() {
                printed = writeln!(stdout, "{}", outcome.line()).and_then(|()| stdout.flush());
            }
        };
        let hooks = Hooks {
            stop_requested: &apply::stop::requested,
            on_outcome: &mut on_outcome,
            clock: io.clock,
        };
        runtime.block_on(apply::apply(&session, &plan.actions, hooks))
    };
    let finished_at = (io.clock)();
    let plan_shown = plan_path.map(|p| p.display().to_string());
    let digest = crate::plan::file::to_json(plan)
        .ok()
        .and_then(|v| v.get("digest")?.as_str().map(str::to_owned));
    // The result file first: it is the record of what was done, whatever stdout does.
    if let Some(mut out) = file.take() {
        let context = Context {
            plan: plan_shown.as_deref(),
            plan_digest: digest.as_deref(),
            endpoint: &config.endpoint,
            account: account.as_deref(),
            started_at: started_at.to_string(),
            finished_at: finished_at.to_string(),
        };
        let path = out.path().to_owned();
        report::write(&applied, &context, &mut out)
            .and_then(|()| out.commit())
            .map_err(|e| file_failed(&path, &e))?;
    }
    printed
        .and_then(|()| writeln!(io.stdout, "{}", applied.summary()))
        .and_then(|()| io.stdout.flush())
        .map_err(stdout_failed)?;
    if let Some(why) = &applied.stopped {
        let diag = Diag::error(
            Code::ApplyStopped,
            format!(
                "the apply stopped before its end: {}",
                crate::text::escape(why)
            ),
        )
        .with_help("apply the same plan again: what is done is recognised as done, and the rest is re-checked and done");
        super::print_diagnostics(&[diag], io);
    }
    let end = applied.end();
    if let (Some(history), Some(target)) = (&mut history, &settings.history) {
        let record = ApplyRecord {
            time: started_at.as_second(),
            finished: finished_at.as_second(),
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            account: target.account.clone(),
            account_fingerprint: account.clone(),
            endpoint: config.endpoint.clone(),
            plan: plan_shown,
            plan_digest: digest,
            stopped: applied.stopped.clone(),
            exit_code: i64::from(ExitCode::of_outcome(Outcome::Applied(end)).code()),
            actions: action_records(plan, &applied, finished_at),
        };
        history.record_apply(&record).map_err(Error::History)?;
    }
    Ok(Outcome::Applied(end))
}

/// Each outcome as the history stores it, with the value the plan saw beside the new one.
fn action_records(plan: &Plan, applied: &Applied, finished: Timestamp) -> Vec<ActionRecord> {
    applied
        .outcomes
        .iter()
        .map(|o| {
            let action = plan.actions.get(o.index);
            // A delete has no new value: what is kept is the name of the image it removed.
            let old_value = action.and_then(|a| match a.kind {
                ActionKind::Delete => a.image_name(),
                _ => a.old_value(),
            });
            ActionRecord {
                position: i64::try_from(o.index).unwrap_or(i64::MAX),
                action: o.action.to_owned(),
                image_id: o.image_id.clone(),
                rule: o.rule.clone(),
                old_value: old_value.map(str::to_owned),
                new_value: o.new_value.clone(),
                outcome: o.outcome.key().to_owned(),
                reason: o.reason.clone(),
                code: o.code.clone(),
                request_id: o.request_id.clone(),
                time: o.time.parse::<Timestamp>().unwrap_or(finished).as_second(),
            }
        })
        .collect()
}

/// `--output` naming the plan file would replace the plan with its result.
fn refuse_overwriting_the_plan(plan: &Path, output: &Path) -> Result<(), Error> {
    let same = match (
        crate::fs::write::file_identity(plan),
        crate::fs::write::file_identity(output),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => plan == output,
    };
    if same {
        return Err(Error::usage(
            Diag::error(
                Code::InvalidArgument,
                format!(
                    "--output {} is the plan file: the result would replace the plan",
                    crate::text::escape(&output.display().to_string())
                ),
            )
            .with_help("write the result to another file, e.g. --output apply.json"),
        ));
    }
    Ok(())
}

/// The account this run's credentials reach, as the plan recorded its own: the fingerprint
/// of the owners of the plan's images as the API shows them now, or, when none of them is
/// left (a plan applied before), of the account's private images.
async fn account_of(session: &Session, plan: &Plan) -> Result<Option<String>, Error> {
    let silent = |_: FetchProgress| {};
    let zone = ApiZone::default();
    let ids: Vec<String> = plan.actions.iter().map(|a| a.image_id.clone()).collect();
    let mut owners = Fingerprint::default();
    for chunk in ids.chunks(IDS_PER_READ) {
        let filters = [live::image_id_filter(chunk.iter().cloned())];
        let fetched = session.images(&filters, &silent).await?;
        let found = Fingerprint::of_images(&fetched.image_set(&zone)?);
        if let Some(stored) = found.to_stored() {
            owners.add_stored(&stored);
        }
    }
    if owners.is_empty() {
        let private = [ApiFilter::new("image-type", ["PRIVATE_IMAGE".to_owned()])];
        let fetched = session.images(&private, &silent).await?;
        owners = Fingerprint::of_images(&fetched.image_set(&zone)?);
    }
    Ok(owners.to_stored())
}
