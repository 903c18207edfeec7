//! `ecmguard plan`'s settings: the check it runs (taken as `check` takes
//! them, so the two cannot drift apart), and the plan's own flags.

use std::path::PathBuf;

use jiff::Timestamp;

use super::live::positive_time;
use super::{CheckSettings, Problems};
use crate::cli::{CheckArgs, PlanArgs, PlanFormat};
use crate::diag::Diag;
use crate::report::Format;

/// `ecmguard plan`.
#[derive(Debug)]
pub struct PlanSettings {
    /// The check the plan is made from (its report targets are not used).
    pub check: CheckSettings,
    /// `-o PLAN`.
    pub output: Option<PathBuf>,
    pub max_actions: usize,
    /// `--plan-ttl`: how long the plan can be applied, in real time.
    pub ttl: std::time::Duration,
    pub format: PlanFormat,
}

impl PlanSettings {
    pub fn from_args(args: &PlanArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        let check = CheckArgs {
            policy: args.policy.clone(),
            source: args.source.clone(),
            selection: args.selection.clone(),
            live: args.live.clone(),
            format: Format::Human,
            output: None,
            // The config file's `reports` still land in `check.reports`; a plan writes none.
            reports: Vec::new(),
            fail_on: None,
            baseline: args.baseline.clone(),
            write_baseline: None,
            allow_empty: false,
            history: args.history.clone(),
            max_findings: None,
            quiet: false,
        };
        let mut problems = Problems(Vec::new());
        let ttl = positive_time("--plan-ttl", &args.plan_ttl, "24h or 3d", &mut problems);
        if args.max_actions == 0 {
            problems.flag(
                "--max-actions 0 allows no action: every plan with one would be refused",
                "give a positive number (the default is 20)",
            );
        }
        let check = CheckSettings::from_args(&check, clock);
        let mut diags = problems.0;
        let check = match check {
            Ok(check) => check,
            Err(more) => {
                diags.extend(more);
                return Err(diags);
            }
        };
        match ttl {
            Some(ttl) if diags.is_empty() => Ok(PlanSettings {
                check,
                output: args.output.clone(),
                max_actions: args.max_actions,
                ttl,
                format: args.format,
            }),
            _ => Err(diags),
        }
    }
}
