//! `ecmguard fetch`: the live fetch, where the snapshot goes, and whether it saves usage
//! (asked for, or read by the policies it is for).

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::live::{LiveSettings, live_settings};
use super::policy::{PolicySettings, policy_settings};
use super::{DEFAULT_POLICY_DIR, Problems, api_zone, project_config};
use crate::cli::{FetchArgs, PolicyArgs};
use crate::diag::Diag;
use crate::time::ApiZone;

#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub live: LiveSettings,
    /// `--usage`: save usage whatever the policies read.
    pub usage: bool,
    /// The policies the snapshot is for (`--policy`, else the config file's `policy`, else
    /// `./policies` when it exists): when one reads usage, usage is saved. `None`: none.
    pub policy: Option<PolicySettings>,
    /// A path, or `-` for stdout.
    pub output: String,
    pub zone: ApiZone,
    /// The config file read, if any: an input `-o` must not overwrite.
    pub config_file: Option<PathBuf>,
}

impl FetchSettings {
    pub fn from_args(args: &FetchArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        let mut problems = Problems(Vec::new());
        let config = project_config(args.config.as_deref(), &mut problems);
        let config = config.as_ref();
        // The policies are read only to know whether they read usage. Without --policy
        // and a configured `policy`, a missing ./policies means none (a snapshot needs no
        // policy); any policy named is read as `check` reads it.
        let named = !args.policies.is_empty() || config.is_some_and(|c| c.policy.is_some());
        let policy = if named || Path::new(DEFAULT_POLICY_DIR).exists() {
            let policy_args = PolicyArgs {
                policies: args.policies.clone(),
                now: None,
                api_time_zone: args.api_time_zone.clone(),
                params: args.params.clone(),
                param_files: Vec::new(),
                config: None,
            };
            policy_settings(&policy_args, config, clock, &mut problems)
        } else {
            None
        };
        let zone = match &args.api_time_zone {
            Some(text) => api_zone(text, &mut problems),
            None => Some(
                config
                    .and_then(|c| c.api_time_zone.clone())
                    .unwrap_or_default(),
            ),
        };
        let live = live_settings(&args.live, &args.images, config, &mut problems);
        match (zone, live) {
            (Some(zone), Some(live)) => problems.finish(|| FetchSettings {
                live,
                usage: args.usage,
                policy,
                output: args.output.clone(),
                zone,
                config_file: config.map(|c| c.path.clone()),
            }),
            _ => Err(problems.0),
        }
    }
}
