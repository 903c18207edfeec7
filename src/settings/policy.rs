//! The settings every command that loads policies shares: the policy paths, the
//! time and zone they are compiled for, and the param values from outside them.

use std::path::PathBuf;

use jiff::Timestamp;

use super::{DEFAULT_POLICY_DIR, Problems, api_zone, project_config};
use crate::cli::{self, PolicyArgs};
use crate::config::ProjectConfig;
use crate::diag::Diag;
use crate::policy::CompileOptions;
use crate::policy::inputs::{self, ParamInput};
use crate::time::parse_now;

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
        match policy_settings(args, config.as_ref(), clock, &mut problems) {
            Some(settings) if problems.0.is_empty() => Ok(settings),
            _ => Err(problems.0),
        }
    }
}

/// Param values from outside the policies, lowest precedence first: the
/// param files in order (`--param-file`, else the config file's
/// `param_files`), the `ECMGUARD_PARAM_<name>` variables, then `--param` in
/// command-line order.
fn param_inputs(
    args: &PolicyArgs,
    config: Option<&ProjectConfig>,
    problems: &mut Problems,
) -> (Vec<ParamInput>, Vec<PathBuf>) {
    let files = if args.param_files.is_empty() {
        config
            .and_then(|c| c.param_files.clone())
            .unwrap_or_default()
    } else {
        args.param_files.clone()
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
    for text in &args.params {
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

pub(super) fn policy_settings(
    args: &PolicyArgs,
    config: Option<&ProjectConfig>,
    clock: fn() -> Timestamp,
    problems: &mut Problems,
) -> Option<PolicySettings> {
    let now_given = args.now.as_ref().map(|text| {
        parse_now(text)
            .map_err(|m| {
                problems.flag(
                    format!("--now: {m}"),
                    "for example --now 2026-01-01T00:00:00+08:00",
                )
            })
            .ok()
    });
    let now = match now_given {
        Some(given) => given,
        None => Some(clock()),
    };
    let zone = match &args.api_time_zone {
        Some(text) => api_zone(text, problems),
        None => Some(
            config
                .and_then(|c| c.api_time_zone.clone())
                .unwrap_or_default(),
        ),
    };
    let (params, param_files) = param_inputs(args, config, problems);
    let paths_given = !args.policies.is_empty();
    let paths = if paths_given {
        args.policies.clone()
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
    Some(PolicySettings {
        paths,
        paths_given,
        compile: CompileOptions {
            now: now?,
            zone: zone?,
            params,
        },
        now_given: now_given.flatten(),
        inputs,
    })
}
