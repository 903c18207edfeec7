//! `ecmguard apply PLAN`: load the plan (refusing an edited, expired or foreign one), check
//! that this run reaches the endpoint and account it was made for, then apply its actions
//! one by one (`apply::engine`), printing a line per action as it completes and the summary,
//! and write the `ecmguard/apply/v1` result when asked. Nothing is done before every check
//! that can refuse the plan has passed.

use std::path::Path;

use super::{Io, file_failed, stdout_failed};
use crate::apply::report::{self, Context};
use crate::apply::{self, Applied, Hooks};
use crate::cli::ApplyArgs;
use crate::diag::{Code, Diag};
use crate::fs::write::AtomicFile;
use crate::history::account::Fingerprint;
use crate::outcome::{ApplyEnd, Error, Outcome};
use crate::plan::model::Plan;
use crate::settings::ApplySettings;
use crate::source::live::{self, ApiFilter, FetchError, FetchProgress, Session};
use crate::time::ApiZone;

/// The most values one `image-id` filter of `DescribeImage` is sent with when the plan's
/// images are read for the account check (a plan holds at most a few hundred actions).
const IDS_PER_READ: usize = 100;

pub(super) fn run(args: &ApplyArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let settings = ApplySettings::from_args(args).map_err(Error::Usage)?;
    // Expiry is judged by the system clock: a plan's lifetime is real time, whatever a
    // test or a replay says `now` is.
    let plan = crate::plan::file::read(&settings.plan, (io.clock)()).map_err(Error::Plan)?;
    if let Some(output) = &settings.output {
        refuse_overwriting_the_plan(&settings.plan, output)?;
    }
    let mut file = match &settings.output {
        Some(path) => Some(AtomicFile::create(path).map_err(|e| file_failed(path, &e))?),
        None => None,
    };
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
    let account = runtime.block_on(account_of(&session, &plan))?;
    plan.check_target(&config.endpoint, account.as_deref())
        .map_err(Error::Plan)?;

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
    // The result file first: it is the record of what was done, whatever stdout does.
    if let Some(mut out) = file.take() {
        let plan_path = settings.plan.display().to_string();
        let digest = crate::plan::file::to_json(&plan)
            .ok()
            .and_then(|v| v.get("digest")?.as_str().map(str::to_owned));
        let context = Context {
            plan: Some(&plan_path),
            plan_digest: digest.as_deref(),
            endpoint: &config.endpoint,
            account: account.as_deref(),
            started_at: started_at.to_string(),
            finished_at: (io.clock)().to_string(),
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
    Ok(Outcome::Applied(end_of(&applied)))
}

/// The exit class of an apply.
fn end_of(applied: &Applied) -> ApplyEnd {
    if applied.failed() {
        ApplyEnd::Failed
    } else if applied.all_done() {
        ApplyEnd::AllDone
    } else {
        ApplyEnd::Skipped
    }
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
