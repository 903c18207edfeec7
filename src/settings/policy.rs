//! The settings every command that loads policies shares: the policy paths, the
//! time and zone they are compiled for, and the param values from outside them.

use std::path::PathBuf;

use jiff::Timestamp;

use super::{DEFAULT_POLICY_DIR, Now, Problems, now, project_config, zone};
use crate::cli::{self, PolicyArgs};
use crate::config::ProjectConfig;
use crate::diag::Diag;
use crate::policy::CompileOptions;
use crate::policy::inputs::{self, ParamInput};
use crate::time::ApiZone;

/// What every command that loads policies needs.
#[derive(Debug, Clone)]
pub struct PolicySettings {
    /// `--policy` paths, else the config file's `policy`, else [`DEFAULT_POLICY_DIR`].
    pub paths: Vec<PathBuf>,
    /// Whether `--policy` was given (`test FILE` otherwise uses the policy
    /// beside FILE; the config file's `policy` is a default like ./policies).
    pub paths_given: bool,
    pub compile: CompileOptions,
    /// `--now` when given (policy tests use it for cases without a `now`).
    pub now_given: Option<Timestamp>,
    /// Files read besides the policies (the config file, the param files),
    /// with what each is: an output must not overwrite them either.
    pub inputs: Vec<(PathBuf, &'static str)>,
}

impl PolicySettings {
    pub fn from_args(args: &PolicyArgs, clock: fn() -> Timestamp) -> Result<Self, Vec<Diag>> {
        let mut problems = Problems(Vec::new());
        let config = project_config(args.config.as_deref(), &mut problems);
        match from_policy_args(args, config.as_ref(), clock, &mut problems) {
            Some(settings) if problems.0.is_empty() => Ok(settings),
            _ => Err(problems.0),
        }
    }
}

/// The policy flags of a command: `check`, `validate`, `test` and `rules` have
/// all of [`PolicyArgs`]; `history` and `fetch` have `--policy` and `--param` (their
/// param files come from the config file alone), and parse `--now` and
/// `--api-time-zone` themselves, since they need them with or without policies.
pub(super) struct PolicyFlags<'a> {
    pub(super) policies: &'a [PathBuf],
    pub(super) params: &'a [String],
    pub(super) param_files: &'a [PathBuf],
}

impl<'a> From<&'a PolicyArgs> for PolicyFlags<'a> {
    fn from(args: &'a PolicyArgs) -> Self {
        PolicyFlags {
            policies: &args.policies,
            params: &args.params,
            param_files: &args.param_files,
        }
    }
}

/// Param values from outside the policies, lowest precedence first: the
/// param files in order (`--param-file`, else the config file's
/// `param_files`), the `ECMGUARD_PARAM_<name>` variables, then `--param` in
/// command-line order.
fn param_inputs(
    flags: &PolicyFlags<'_>,
    config: Option<&ProjectConfig>,
    problems: &mut Problems,
) -> (Vec<ParamInput>, Vec<PathBuf>) {
    let files = if flags.param_files.is_empty() {
        config
            .and_then(|c| c.param_files.clone())
            .unwrap_or_default()
    } else {
        flags.param_files.to_vec()
    };
    let mut params = Vec::new();
    for path in &files {
        match inputs::read_param_file(path) {
            Ok(mut found) => params.append(&mut found),
            Err(mut diags) => problems.0.append(&mut diags),
        }
    }
    let (mut env, mut env_problems) = inputs::from_env(std::env::vars_os());
    params.append(&mut env);
    problems.0.append(&mut env_problems);
    for text in flags.params {
        match cli::split_assignment(text) {
            Some((name, value)) => params.push(ParamInput::command_line(name, value)),
            None => problems.flag(
                format!("--param `{text}` is not NAME=VALUE"),
                "for example --param max_private_age=90d",
            ),
        }
    }
    (params, files)
}

/// The policy settings of a command whose policy flags are [`PolicyArgs`].
pub(super) fn from_policy_args(
    args: &PolicyArgs,
    config: Option<&ProjectConfig>,
    clock: fn() -> Timestamp,
    problems: &mut Problems,
) -> Option<PolicySettings> {
    let now = now(args.now.as_deref(), clock, problems);
    let zone = zone(args.api_time_zone.as_deref(), config, problems);
    policy_settings(PolicyFlags::from(args), config, now, zone, problems)
}

/// The policy settings from the command's policy flags, its time and its zone (`None`
/// when their flag was a problem, already recorded): the param files are read and
/// their problems recorded either way.
pub(super) fn policy_settings(
    flags: PolicyFlags<'_>,
    config: Option<&ProjectConfig>,
    now: Option<Now>,
    zone: Option<ApiZone>,
    problems: &mut Problems,
) -> Option<PolicySettings> {
    let (params, param_files) = param_inputs(&flags, config, problems);
    let paths_given = !flags.policies.is_empty();
    let paths = if paths_given {
        flags.policies.to_vec()
    } else {
        config
            .and_then(|c| c.policy.clone())
            .unwrap_or_else(|| vec![PathBuf::from(DEFAULT_POLICY_DIR)])
    };
    let mut inputs: Vec<(PathBuf, &'static str)> = config
        .map(|c| (c.path.clone(), "the config file"))
        .into_iter()
        .collect();
    inputs.extend(param_files.into_iter().map(|p| (p, "a param file")));
    let now = now?;
    Some(PolicySettings {
        paths,
        paths_given,
        compile: CompileOptions {
            now: now.at,
            zone: zone?,
            params,
        },
        now_given: now.given.then_some(now.at),
        inputs,
    })
}
