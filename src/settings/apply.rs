//! `ecmguard apply`'s settings: where its plan comes from (a saved file, or a plan made now
//! from the flags `ecmguard plan` takes, so the two cannot drift apart), the live flags of
//! `check` (without filters when a plan file says which images), the result file, the
//! history the actions are recorded in, and whether to ask before acting.

use std::path::PathBuf;

use jiff::Timestamp;

use super::check::check_history;
use super::live::{LiveSettings, live_settings};
use super::{HistorySettings, PlanSettings, Problems, SourceSettings, project_config};
use crate::cli::{ApplyArgs, PlanArgs, PlanFormat, SnapshotArgs};
use crate::diag::Diag;

/// Where an apply's actions come from.
#[derive(Debug)]
pub enum PlanSource {
    /// `ecmguard apply PLAN`: a saved, reviewed plan.
    File(PathBuf),
    /// `ecmguard apply`: planned now, as `ecmguard plan` plans.
    Make(Box<PlanSettings>),
}

/// `ecmguard apply [PLAN]`.
#[derive(Debug)]
pub struct ApplySettings {
    pub plan: PlanSource,
    /// The live flags of `check` (with a plan file, filters aside: an apply reads only the
    /// plan's images).
    pub live: LiveSettings,
    /// `--output`: the `ecmguard/apply/v1` result.
    pub output: Option<PathBuf>,
    /// `--history` and `--account`: where the actions are recorded.
    pub history: Option<HistorySettings>,
    /// `--auto-approve`: perform a plan made now without asking.
    pub auto_approve: bool,
}

impl ApplySettings {
    pub fn from_args(args: &ApplyArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        match &args.plan {
            Some(plan) => Self::for_file(args, plan.clone()),
            None => Self::planning(args, clock),
        }
    }

    fn for_file(args: &ApplyArgs, plan: PathBuf) -> Result<Self, Vec<Diag>> {
        let mut problems = Problems(Vec::new());
        let config = project_config(args.policy.config.as_deref(), &mut problems);
        if !args.live.filters.is_empty() {
            problems.flag(
                "--filter does not apply to `apply`: it reads and changes only the images its plan names",
                "narrow the selection when planning (ecmguard plan --filter …), then apply that plan",
            );
        }
        // What a plan is made from is settled in the plan file: a flag that would change it
        // here is a mistake, not something to ignore.
        let p = &args.policy;
        let planning_flags = [
            (!p.policies.is_empty(), "--policy"),
            (!p.params.is_empty(), "--param"),
            (!p.param_files.is_empty(), "--param-file"),
            (p.now.is_some(), "--now"),
            (p.api_time_zone.is_some(), "--api-time-zone"),
            (!args.selection.images.is_empty(), "--image"),
            (!args.selection.modules.is_empty(), "--module"),
            (args.selection.usage, "--usage"),
            (args.baseline.is_some(), "--baseline"),
            (args.max_actions.is_some(), "--max-actions"),
        ];
        for (_, flag) in planning_flags.iter().filter(|(given, _)| *given) {
            problems.flag(
                format!("{flag} plans, and a plan file is already planned: it does not apply to `apply PLAN`"),
                "give it to `ecmguard plan` when making the plan, or run `ecmguard apply` without a plan file to plan and apply at once",
            );
        }
        let live = live_settings(&args.live, &[], config.as_ref(), &mut problems);
        let profile = live.as_ref().and_then(|l| l.profile.clone());
        let history = check_history(
            &args.history,
            config.as_ref(),
            profile.as_deref(),
            &mut problems,
        );
        match live {
            Some(live) => problems.finish(|| ApplySettings {
                plan: PlanSource::File(plan),
                live,
                output: args.output.clone(),
                history,
                auto_approve: args.auto_approve,
            }),
            None => Err(problems.0),
        }
    }

    /// The plan's settings, taken as `ecmguard plan` takes them; its live source and
    /// history are the apply's.
    fn planning(args: &ApplyArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        let plan_args = PlanArgs {
            policy: args.policy.clone(),
            source: SnapshotArgs {
                snapshot: None,
                assume_complete: false,
            },
            selection: args.selection.clone(),
            live: args.live.clone(),
            baseline: args.baseline.clone(),
            history: args.history.clone(),
            output: None,
            max_actions: args.max_actions.unwrap_or(crate::plan::DEFAULT_MAX_ACTIONS),
            plan_ttl: crate::plan::DEFAULT_TTL_TEXT.to_owned(),
            format: PlanFormat::Human,
        };
        let settings = PlanSettings::from_args(&plan_args, clock)?;
        let live = match &settings.check.source {
            SourceSettings::Live(live) => (**live).clone(),
            // `apply` has no --snapshot: a plan made now is made from the live account.
            SourceSettings::Snapshot { .. } => {
                return Err(vec![crate::diag::Diag::error(
                    crate::diag::Code::InvalidArgument,
                    "`ecmguard apply` without a plan file plans from the live API, not a snapshot",
                )]);
            }
        };
        let history = settings.check.history.clone();
        Ok(ApplySettings {
            plan: PlanSource::Make(Box::new(settings)),
            live,
            output: args.output.clone(),
            history,
            auto_approve: args.auto_approve,
        })
    }
}
