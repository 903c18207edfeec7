//! `ecmguard test` and `ecmguard rules`: the policies, and what each command adds.

use std::path::PathBuf;

use jiff::Timestamp;

use super::policy::PolicySettings;
use crate::cli::{RulesArgs, RulesFormat, TestArgs};
use crate::diag::Diag;

#[derive(Debug, Clone)]
pub struct TestSettings {
    pub policy: PolicySettings,
    /// Test files or directories; empty: the policy paths.
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct RulesSettings {
    pub policy: PolicySettings,
    pub format: RulesFormat,
}

impl TestSettings {
    pub fn from_args(args: &TestArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        Ok(TestSettings {
            policy: PolicySettings::from_args(&args.policy, clock)?,
            paths: args.paths.clone(),
        })
    }
}

impl RulesSettings {
    pub fn from_args(args: &RulesArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        Ok(RulesSettings {
            policy: PolicySettings::from_args(&args.policy, clock)?,
            format: args.format,
        })
    }
}
