//! The live data source: fetches the complete `DescribeImage` result set from the Tencent
//! Cloud API (or a compatible endpoint such as the local emulator).
//!
//! [`fetch_all`] is the one entry point. It validates the configuration (filters, endpoint,
//! rate) before any request, then lists every page (`paginate`), pacing every request
//! (`pacer`), retrying transient failures within a budget (`retry`), each call signed with
//! TC3-HMAC-SHA256 (`sign`) and made by `client`. The result is complete and de-duplicated,
//! or an error: never a partial set. The library never prints; progress goes to a callback.
//!
//! See `docs/live.md` for the policy and its bounds.

mod client;
pub mod credentials;
mod error;
pub mod filters;
pub mod pacer;
mod paginate;
mod retry;
pub mod sign;
#[cfg(test)]
mod simulated;

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::value::RawValue;

pub use credentials::{Credentials, CredentialsError, Secret, resolve_credentials};
pub use error::{ApiError, ApiErrorKind, FetchError};
pub use filters::{ApiFilter, FilterError, image_id_filter, parse_filter_arg, validate_filters};

/// The default endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://ecm.tencentcloudapi.com";
/// The documented rate limit of `DescribeImage`, requests per second.
pub const DEFAULT_RATE: f64 = 20.0;
/// The default time limit of one HTTP request (`--timeout`); a page is about 200 KiB, and the
/// retry budget, not a long timeout, is what rides out a slow server (docs/live.md).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// [`DEFAULT_TIMEOUT`] as `--timeout` writes it (a test checks they agree).
pub const DEFAULT_TIMEOUT_TEXT: &str = "30s";
/// The default time limit of a whole fetch (`--deadline`).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(15 * 60);
/// [`DEFAULT_DEADLINE`] as `--deadline` writes it (a test checks they agree).
pub const DEFAULT_DEADLINE_TEXT: &str = "15min";
/// The largest `TotalCount` a fetch accepts: ten times any real account, far below what
/// would exhaust memory. A larger one is exit 3 before anything is planned for it.
pub const MAX_TOTAL_COUNT: u64 = 10_000_000;
/// The page size: the documented maximum `Limit`.
pub const PAGE_SIZE: u32 = 100;

/// The language of the API's error messages (`X-TC-Language`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Language {
    /// `en-US`: our diagnostics are in English, so the API's messages are too.
    #[default]
    EnUs,
    /// `zh-CN`: the official SDKs' default.
    ZhCn,
}

impl Language {
    /// The `X-TC-Language` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::EnUs => "en-US",
            Language::ZhCn => "zh-CN",
        }
    }
}

/// How hard one page request is retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryBudget {
    /// Attempts per page request, the first one included.
    pub max_attempts: u32,
    /// Time budget of one page request: no retry is started later than this after the first
    /// attempt began (so a page takes at most this plus one request timeout).
    pub max_elapsed: Duration,
    /// First backoff delay (before jitter; jitter adds up to 100 %).
    pub min_delay: Duration,
    /// Cap of the exponential backoff delay (before jitter).
    pub max_delay: Duration,
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget {
            max_attempts: 6,
            max_elapsed: Duration::from_secs(60),
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

/// Everything a live fetch needs. Build with [`LiveConfig::new`] and adjust the fields.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Full URL; `https://`, or `http://` to a loopback host only. Default
    /// [`DEFAULT_ENDPOINT`].
    pub endpoint: String,
    /// Sent as `X-TC-Region` when set (ECM ignores it for DescribeImage).
    pub region: Option<String>,
    /// Pushed down as the request's `Filters`; validated before any request.
    pub filters: Vec<ApiFilter>,
    /// Requests per second, every request counted (retries too). Default 20. An upper
    /// bound: see `pacing_margin`, and the pacer slows down when the API throttles.
    pub rate: f64,
    /// `rate` requests are spread over one second plus this, so that arrival jitter does
    /// not put `rate + 1` of them inside one second of a strict limiter. Grows by itself
    /// (up to 250 ms) when the API throttles. Default [`pacer::DEFAULT_MARGIN`] (75 ms).
    pub pacing_margin: Duration,
    /// Time limit of one HTTP request, connect to last body byte. Default [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// Time limit of connecting (capped by `timeout`). Default 10 s.
    pub connect_timeout: Duration,
    /// Who signs.
    pub credentials: Credentials,
    /// Language of the API's messages.
    pub language: Language,
    /// Retries per page request.
    pub retry: RetryBudget,
    /// How often the whole listing may be restarted when pages are inconsistent. Default 3.
    pub max_restarts: u32,
    /// Pause before restart `n` is `n × restart_delay`. Default 1 s.
    pub restart_delay: Duration,
    /// Page requests in flight at once (the pacer still bounds the rate). Default 32.
    pub max_in_flight: usize,
    /// Largest accepted response body. Default 16 MiB (a full page is ~200 KiB).
    pub max_response_bytes: usize,
    /// Time limit of the whole fetch (`--deadline`). Default [`DEFAULT_DEADLINE`].
    pub deadline: Duration,
    /// `Limit` of each request. Default and maximum [`PAGE_SIZE`].
    pub page_size: u32,
}

impl LiveConfig {
    /// The documented defaults (docs/live.md) with the given credentials.
    pub fn new(credentials: Credentials) -> Self {
        LiveConfig {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            region: None,
            filters: Vec::new(),
            rate: DEFAULT_RATE,
            pacing_margin: pacer::DEFAULT_MARGIN,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: Duration::from_secs(10),
            credentials,
            language: Language::default(),
            retry: RetryBudget::default(),
            max_restarts: 3,
            restart_delay: Duration::from_secs(1),
            max_in_flight: 32,
            max_response_bytes: 16 * 1024 * 1024,
            deadline: DEFAULT_DEADLINE,
            page_size: PAGE_SIZE,
        }
    }

    /// The filters as the API takes them (`[{"Name", "Values"}]`), for snapshots and reports.
    pub fn filters_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.filters).unwrap_or(serde_json::Value::Array(Vec::new()))
    }

    /// Checks everything that can be checked without a request: filters, endpoint, rate,
    /// timeouts. [`fetch_all`] calls it first; the CLI may call it earlier.
    pub fn validate(&self) -> Result<(), FetchError> {
        validate_filters(&self.filters)?;
        client::parse_endpoint(&self.endpoint)?;
        let invalid = |reason: String| Err(FetchError::InvalidSetting { reason });
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return invalid(format!("rate {} is not a positive number", self.rate));
        }
        if self.timeout.is_zero() {
            return invalid("timeout is zero".to_owned());
        }
        if self.deadline.is_zero() {
            return invalid("deadline is zero".to_owned());
        }
        if self.page_size == 0 || self.page_size > PAGE_SIZE {
            return invalid(format!(
                "page size {} is not within 1..={PAGE_SIZE}",
                self.page_size
            ));
        }
        if self.retry.max_attempts == 0 {
            return invalid("retry budget allows zero attempts".to_owned());
        }
        Ok(())
    }
}

/// The complete result set.
#[derive(Debug)]
pub struct Fetched {
    /// Each image exactly as the API sent it, de-duplicated by `ImageId`, in offset order.
    pub images: Vec<Box<RawValue>>,
    /// `TotalCount` as reported (equal to `images.len()`).
    pub total_count: u64,
    /// What it took.
    pub stats: FetchStats,
}

/// Counters of one fetch, for reports (`run.requests`, `run.retries`…).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Pages received (restarted listings included).
    pub pages: u64,
    /// HTTP requests made, retries included.
    pub requests: u64,
    /// Requests that were retries.
    pub retries: u64,
    /// Requests the API answered with throttling (`RequestLimitExceeded*`, HTTP 429).
    pub throttled: u64,
    /// Listing restarts.
    pub restarts: u64,
    /// Wall time of the fetch.
    pub duration: Duration,
}

/// Progress of a fetch, for the binary's progress bar. Never carries a secret.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FetchProgress {
    /// The settings were checked and the first request is about to be made. The one event
    /// before any answer, so a sink can say what it is waiting for (a refused port is
    /// retried for a while before the fetch gives up).
    Started {
        /// The endpoint as configured.
        endpoint: String,
    },
    /// A page arrived: `done` of `total` pages of the current listing, `images` received so
    /// far in it (before de-duplication).
    Page {
        /// Pages received in this listing.
        done: u64,
        /// Pages this listing needs.
        total: u64,
        /// Images received in this listing.
        images: u64,
    },
    /// A request is being sent now (it has its pacer slot). One event per HTTP request.
    Request {
        /// Offset of the page.
        offset: u64,
        /// 1 for the first attempt, 2 for the first retry…
        attempt: u32,
    },
    /// A request failed transiently and will be made again after `delay` (zero after
    /// throttling: it is made at the next slot of the slowed-down pacer).
    Retry {
        /// Offset of the page.
        offset: u64,
        /// Number of the coming attempt (2 for the first retry).
        attempt: u32,
        /// Backoff before it.
        delay: Duration,
        /// Short cause: an API error code, `timeout`, `HTTP 502`…
        reason: String,
    },
    /// The pacer changed pace: slowed down because the API throttled a request, or back at
    /// its fastest after requests got through at the slower pace.
    Pace {
        /// The new pace, requests per second.
        rate: f64,
    },
    /// The pages did not add up; the listing starts again from Offset 0.
    Restart {
        /// Number of this restart (1-based).
        restart: u32,
        /// Restarts allowed.
        max_restarts: u32,
        /// What did not add up.
        reason: String,
    },
    /// The fetch is complete: the last event of a fetch that succeeded (a failed one ends
    /// with its error instead).
    Finished {
        /// The endpoint as configured.
        endpoint: String,
        /// Distinct images fetched (`TotalCount`).
        images: u64,
        /// What it took.
        stats: FetchStats,
    },
}

/// A sink for fetch progress; the binary's draws a bar or prints plain lines.
pub trait Progress: Send + Sync {
    /// Something happened.
    fn event(&self, event: FetchProgress);
    /// The fetch is over (either way): clear whatever was drawn.
    fn finish(&self) {}
}

/// No progress shown.
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: FetchProgress) {}
}

/// [`fetch_all`] on a runtime of its own, for callers that are not async (the CLI).
pub fn fetch_blocking(cfg: &LiveConfig, progress: &dyn Progress) -> Result<Fetched, FetchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchError::Runtime {
            detail: e.to_string(),
        })?;
    let result = runtime.block_on(fetch_all(cfg, &|event| progress.event(event)));
    progress.finish();
    result
}

impl Fetched {
    /// Type every image as received, with times read in `zone`. One that does not fit the
    /// documented model means the set cannot be judged: an error, never a smaller set.
    pub fn image_set(
        &self,
        zone: &crate::time::ApiZone,
    ) -> Result<crate::image::ImageSet, FetchError> {
        let mut images = Vec::with_capacity(self.images.len());
        for (index, raw) in self.images.iter().enumerate() {
            let image = serde_json::from_str(raw.get()).map_err(|e| FetchError::ImageModel {
                position: index + 1,
                detail: e.to_string(),
            })?;
            images.push(image);
        }
        Ok(crate::image::ImageSet::new(images, zone))
    }

    /// Where these images came from, for reports.
    pub fn provenance(&self, cfg: &LiveConfig) -> crate::source::Provenance {
        crate::source::Provenance::Api {
            endpoint: cfg.endpoint.clone(),
            filters: cfg.filters_json(),
            pages: self.stats.pages,
            requests: self.stats.requests,
            retries: self.stats.retries,
            restarts: self.stats.restarts,
            fetch_seconds: self.stats.duration.as_secs_f64(),
        }
    }
}

/// Fetches every image matching `cfg.filters`: the complete, de-duplicated result set, or an
/// error. Progress is reported through `on_progress`.
pub async fn fetch_all(
    cfg: &LiveConfig,
    on_progress: &(dyn Fn(FetchProgress) + Send + Sync),
) -> Result<Fetched, FetchError> {
    cfg.validate()?;
    let endpoint = client::parse_endpoint(&cfg.endpoint)?;
    let client = client::Client::new(cfg, endpoint)?;
    on_progress(FetchProgress::Started {
        endpoint: cfg.endpoint.clone(),
    });
    let pacer = pacer::Pacer::with_margin(cfg.rate, cfg.pacing_margin);
    let counters = retry::Counters::default();
    let started = tokio::time::Instant::now();
    let caller = retry::Caller {
        client: &client,
        pacer: &pacer,
        budget: &cfg.retry,
        counters: &counters,
        progress: on_progress,
    };
    let plan = paginate::Plan {
        max_restarts: cfg.max_restarts,
        restart_delay: cfg.restart_delay,
        max_in_flight: cfg.max_in_flight,
    };
    // The whole fetch is bounded too: retries and restarts are each bounded,
    // but a slow server could still stretch a listing for hours.
    let listing = tokio::time::timeout(cfg.deadline, paginate::list(&caller, &plan))
        .await
        .map_err(|_| FetchError::Deadline {
            deadline: cfg.deadline,
        })??;
    let fetched = Fetched {
        images: listing.images,
        total_count: listing.total_count,
        stats: FetchStats {
            pages: listing.pages,
            requests: counters.requests.load(Ordering::Relaxed),
            retries: counters.retries.load(Ordering::Relaxed),
            throttled: counters.throttled.load(Ordering::Relaxed),
            restarts: u64::from(listing.restarts),
            duration: started.elapsed(),
        },
    };
    on_progress(FetchProgress::Finished {
        endpoint: cfg.endpoint.clone(),
        images: fetched.images.len() as u64,
        stats: fetched.stats.clone(),
    });
    Ok(fetched)
}

/// For the fuzz target only (`fuzz/fuzz_targets/describe_image_response.rs`): parse a
/// response body exactly as a fetch does, then type its images as `check` does. Returns
/// whether the body was a usable page. Not part of the supported API.
#[doc(hidden)]
pub fn parse_response_for_fuzzing(body: &[u8]) -> bool {
    match client::parse_response(body) {
        Ok(page) => page
            .images
            .iter()
            .all(|image| serde_json::from_str::<crate::image::Image>(image.raw.get()).is_ok()),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn fetch_future_is_send() {
        let cfg = LiveConfig::new(Credentials::new("id", "key", None));
        let progress = |_: FetchProgress| {};
        let fut = fetch_all(&cfg, &progress);
        assert_send(&fut);
    }

    #[test]
    fn the_default_timeouts_are_written_as_they_are() {
        for (text, value) in [
            (DEFAULT_TIMEOUT_TEXT, DEFAULT_TIMEOUT),
            (DEFAULT_DEADLINE_TEXT, DEFAULT_DEADLINE),
        ] {
            let parsed = crate::policy::duration::Duration::parse(text).unwrap();
            assert_eq!(parsed.seconds, value.as_secs() as i64);
            assert_eq!(parsed.months, 0);
        }
    }

    #[test]
    fn validation_catches_settings() {
        let mut cfg = LiveConfig::new(Credentials::new("id", "key", None));
        assert!(cfg.validate().is_ok());
        cfg.rate = 0.0;
        assert!(matches!(
            cfg.validate(),
            Err(FetchError::InvalidSetting { .. })
        ));
        cfg.rate = 20.0;
        cfg.endpoint = "http://example.com".into();
        assert!(matches!(
            cfg.validate(),
            Err(FetchError::InsecureEndpoint { .. })
        ));
    }
}
