//! The settings of a live fetch (`check` and `fetch` without a snapshot): filters,
//! endpoint, rate, timeout and deadline, validated; credentials are resolved later.

use super::Problems;
use crate::cli::LiveArgs;
use crate::config::ProjectConfig;
use crate::diag::{Code, Diag};
use crate::policy::duration::Duration;
use crate::source::live::{self, Credentials, LiveConfig};

/// A live fetch, checked except for the credentials, which are resolved only
/// when the fetch starts (so an invalid invocation is exit 2 whether or not
/// credentials are configured).
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// Everything but `credentials`, validated.
    pub config: LiveConfig,
    pub profile: Option<String>,
    /// Printed when the fetch starts (a `--rate` above the API's limit).
    pub warnings: Vec<Diag>,
}

/// `--filter`, `--image`, `--timeout`, `--rate`, `--endpoint`, `--region`
/// into a validated live configuration (credentials left empty). Filters
/// first: the API's limits are checked before anything else.
pub(super) fn live_settings(
    args: &LiveArgs,
    images: &[String],
    config: Option<&ProjectConfig>,
    problems: &mut Problems,
) -> Option<LiveSettings> {
    let mut filters = Vec::with_capacity(args.filters.len() + 1);
    let mut ok = true;
    for text in &args.filters {
        match live::parse_filter_arg(text) {
            Ok(filter) => filters.push(filter),
            Err(e) => {
                problems.0.push(e.diag());
                ok = false;
            }
        }
    }
    if !images.is_empty() {
        filters.push(live::image_id_filter(images.iter().cloned()));
    }
    let timeout = match &args.timeout {
        Some(text) => positive_time("--timeout", text, "30s or 2min", problems),
        None => Some(
            config
                .and_then(|c| c.timeout)
                .unwrap_or(live::DEFAULT_TIMEOUT),
        ),
    };
    let deadline = match &args.deadline {
        Some(text) => positive_time("--deadline", text, "15min or 1h", problems),
        None => Some(live::DEFAULT_DEADLINE),
    };
    let mut live_config = LiveConfig::new(Credentials::new("", "", None));
    live_config.endpoint = args
        .endpoint
        .clone()
        .or_else(|| config.and_then(|c| c.endpoint.clone()))
        .unwrap_or_else(|| live::DEFAULT_ENDPOINT.to_owned());
    live_config.region = args.region.clone();
    live_config.filters = filters;
    live_config.rate = args
        .rate
        .or(config.and_then(|c| c.rate))
        .unwrap_or(live::DEFAULT_RATE);
    if let Some(timeout) = timeout {
        live_config.timeout = timeout;
    }
    if let Some(deadline) = deadline {
        live_config.deadline = deadline;
    }
    let mut warnings = Vec::new();
    // The rate in force, whether from --rate or the config file.
    if live_config.rate > live::DEFAULT_RATE {
        warnings.push(
            Diag::warning(
                Code::RateAboveLimit,
                format!(
                    "a rate of {} requests per second is above the {} DescribeImage allows",
                    live_config.rate,
                    live::DEFAULT_RATE
                ),
            )
            .with_help("the API will throttle, and the fetch will slow itself down to what it accepts; set --rate (or `rate:` in ecmguard.yaml) to 20 or lower"),
        );
    }
    if ok && let Err(e) = live_config.validate() {
        problems.0.push(e.diag());
        ok = false;
    }
    (ok && timeout.is_some() && deadline.is_some()).then(|| LiveSettings {
        config: live_config,
        profile: args.profile.clone(),
        warnings,
    })
}

/// A positive time without calendar units (`30s`, `2min`, `1h`).
pub(super) fn positive_time(
    flag: &str,
    text: &str,
    example: &str,
    problems: &mut Problems,
) -> Option<std::time::Duration> {
    match Duration::parse(text) {
        Ok(d) => d.fixed_positive().or_else(|| {
            problems.flag(
                format!("{flag} `{text}` is not a positive time"),
                format!(
                    "for example {flag} {} (months and years have no fixed length)",
                    example.replace(" or ", &format!(" or {flag} "))
                ),
            );
            None
        }),
        Err(e) => {
            problems.flag(
                format!("{flag}: {}", e.message),
                crate::policy::duration::time_limit_help(text, example),
            );
            None
        }
    }
}
