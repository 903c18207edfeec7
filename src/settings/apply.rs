//! `ecmguard apply`'s settings: the plan file, the live flags of `check` (without filters:
//! an apply reads and changes only the images its plan names), and the result file.

use std::path::PathBuf;

use super::live::{LiveSettings, live_settings};
use super::{Problems, project_config};
use crate::cli::ApplyArgs;
use crate::diag::Diag;

/// `ecmguard apply PLAN`.
#[derive(Debug, Clone)]
pub struct ApplySettings {
    pub plan: PathBuf,
    /// The live flags of `check`, filters aside (an apply reads only the plan's images).
    pub live: LiveSettings,
    /// `--output`: the `ecmguard/apply/v1` result.
    pub output: Option<PathBuf>,
}

impl ApplySettings {
    pub fn from_args(args: &ApplyArgs) -> Result<Self, Vec<Diag>> {
        let mut problems = Problems(Vec::new());
        let config = project_config(args.config.as_deref(), &mut problems);
        if !args.live.filters.is_empty() {
            problems.flag(
                "--filter does not apply to `apply`: it reads and changes only the images its plan names",
                "narrow the selection when planning (ecmguard plan --filter …), then apply that plan",
            );
        }
        let live = live_settings(&args.live, &[], config.as_ref(), &mut problems);
        match live {
            Some(live) => problems.finish(|| ApplySettings {
                plan: args.plan.clone(),
                live,
                output: args.output.clone(),
            }),
            None => Err(problems.0),
        }
    }
}
