//! `ecmguard fetch`: the live fetch, where the snapshot goes, and whether it saves usage
//! (asked for, or read by the policies it is for).

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::live::{LiveSettings, live_settings};
use super::policy::{PolicyFlags, PolicySettings, policy_settings};
use super::{DEFAULT_POLICY_DIR, Problems, now, project_config, zone};
use crate::cli::FetchArgs;
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
        let zone = zone(args.api_time_zone.as_deref(), config, &mut problems);
        let policy = if named || Path::new(DEFAULT_POLICY_DIR).exists() {
            let flags = PolicyFlags {
                policies: &args.policies,
                params: &args.params,
                param_files: &[],
            };
            let now = now(None, clock, &mut problems);
            policy_settings(flags, config, now, zone.clone(), &mut problems)
        } else {
            None
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    /// `--api-time-zone` serves the snapshot and the policies it is for: a bad
    /// value is one problem, not one per use.
    #[test]
    fn a_bad_zone_with_policies_is_one_problem() {
        let argv = [
            "ecmguard",
            "fetch",
            "--config",
            "none",
            "--policy",
            "p",
            "--api-time-zone",
            "Mars/Olympus",
            "-o",
            "images.json",
        ];
        let Ok(Cli {
            command: Command::Fetch(args),
            ..
        }) = Cli::try_parse_from(argv)
        else {
            panic!("`ecmguard fetch` flags that parse")
        };
        let problems = FetchSettings::from_args(&args, Timestamp::now).expect_err("invalid zone");
        let messages: Vec<&str> = problems.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages.len(), 1, "{messages:#?}");
        assert!(messages[0].starts_with("--api-time-zone:"), "{messages:#?}");
    }
}
