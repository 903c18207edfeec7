//! The live data source: fetches the complete `DescribeImage` result set from the Tencent
//! Cloud API (or a compatible endpoint such as the local emulator), and, when usage is
//! needed, the complete `DescribeInstances` and `DescribeModule` listings.
//!
//! [`fetch_all`] lists the images; a [`Session`] lists any of the three actions (`action`)
//! with one client, one pacer per action and one deadline for the run. It validates the
//! configuration (filters, endpoint, rate) before any request, then lists every page
//! (`paginate`), pacing every request (`pacer`), retrying transient failures within a budget
//! (`retry`), each call signed with TC3-HMAC-SHA256 (`sign`) and made by `client`. The result
//! is complete and de-duplicated, or an error: never a partial set. The library never
//! prints; progress goes to a callback.
//!
//! See `docs/live.md` for the policy and its bounds, and `docs/usage.md` for usage.

pub mod action;
pub(crate) mod client;
pub mod credentials;
mod error;
pub mod filters;
pub mod pacer;
mod paginate;
pub(crate) mod retry;
pub mod sign;
#[cfg(test)]
mod simulated;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::value::RawValue;

use crate::usage::{Instance, Module, UsageSet};
pub use action::{
    Action, DESCRIBE_IMAGE, DESCRIBE_INSTANCES, DESCRIBE_MODULE, MAX_USAGE_FILTER_VALUES,
};
pub use credentials::{Credentials, CredentialsError, Secret, resolve_credentials};
pub use error::{ApiError, ApiErrorKind, FetchError};
pub use filters::{ApiFilter, FilterError, image_id_filter, parse_filter_arg, validate_filters};

/// The default endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://ecm.tencentcloudapi.com";
/// The documented rate limit of `DescribeImage`, requests per second (and the one assumed for
/// `DescribeInstances` and `DescribeModule`, each paced on its own: docs/usage.md).
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
    /// Pushed down as the `DescribeImage` request's `Filters`; validated before any request.
    pub filters: Vec<ApiFilter>,
    /// Requests per second of each action, every request counted (retries too). Default 20.
    /// An upper bound: see `pacing_margin`, and the pacer slows down when the API throttles.
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
    /// Time limit of the whole fetch (`--deadline`), every listing of a [`Session`] together.
    /// Default [`DEFAULT_DEADLINE`].
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
    /// The filters the images were listed with.
    pub filters: Vec<ApiFilter>,
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
        /// Items received in this listing: images, or the instances or modules of a
        /// listing announced by [`FetchProgress::Listing`].
        images: u64,
    },
    /// A listing of another action than `DescribeImage` starts (usage, or the modules of
    /// `check --module`); the events up to its [`FetchProgress::Listed`] are about it.
    Listing {
        /// What is listed.
        action: &'static Action,
        /// The endpoint as configured.
        endpoint: String,
    },
    /// A listing announced by [`FetchProgress::Listing`] is complete.
    Listed {
        /// What was listed.
        action: &'static Action,
        /// The endpoint as configured.
        endpoint: String,
        /// Distinct items listed (`TotalCount`).
        items: u64,
        /// What it took.
        stats: FetchStats,
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
    let result = Blocking::new(cfg).and_then(|run| run.images(&cfg.filters, progress));
    progress.finish();
    result
}

/// A [`Session`] on a runtime of its own, for callers that are not async (the CLI): each
/// method lists to the end before it returns. The caller calls `progress.finish()` when the
/// last listing is done.
pub struct Blocking {
    runtime: tokio::runtime::Runtime,
    session: Session,
}

impl Blocking {
    /// Checks `cfg` and sets up the client; nothing is sent yet. The deadline runs from here.
    pub fn new(cfg: &LiveConfig) -> Result<Blocking, FetchError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| FetchError::Runtime {
                detail: e.to_string(),
            })?;
        let session = runtime.block_on(async { Session::new(cfg) })?;
        Ok(Blocking { runtime, session })
    }

    /// [`Session::images`].
    pub fn images(
        &self,
        filters: &[ApiFilter],
        progress: &dyn Progress,
    ) -> Result<Fetched, FetchError> {
        self.runtime
            .block_on(self.session.images(filters, &|event| progress.event(event)))
    }

    /// [`Session::usage`].
    pub fn usage(
        &self,
        scope: UsageScope<'_>,
        needed_by: &str,
        progress: &dyn Progress,
    ) -> Result<FetchedUsage, FetchError> {
        self.runtime.block_on(
            self.session
                .usage(scope, needed_by, &|event| progress.event(event)),
        )
    }

    /// [`Session::modules`].
    pub fn modules(
        &self,
        ids: &[String],
        progress: &dyn Progress,
    ) -> Result<(Vec<Module>, FetchStats), FetchError> {
        self.runtime
            .block_on(self.session.modules(ids, &|event| progress.event(event)))
    }

    /// The configuration in force.
    pub fn config(&self) -> &LiveConfig {
        &self.session.cfg
    }
}

/// One run's connection to the API: one HTTP client, one pacer per action (Tencent limits
/// each action on its own, so listing instances does not slow the images down), and one
/// deadline (`--deadline`) for every listing together.
pub struct Session {
    cfg: LiveConfig,
    client: client::Client,
    pacers: std::sync::Mutex<Vec<(&'static str, Arc<pacer::Pacer>)>>,
    started: tokio::time::Instant,
}

/// One complete listing of an action: every item as kept, de-duplicated, in offset order.
#[derive(Debug)]
pub struct Listed {
    pub action: &'static Action,
    /// Images exactly as the API sent them; instances and modules trimmed (`action`).
    pub items: Vec<Box<RawValue>>,
    /// `TotalCount` as reported (equal to `items.len()`).
    pub total_count: u64,
    pub stats: FetchStats,
}

/// Which usage to list.
#[derive(Debug, Clone, Copy)]
pub enum UsageScope<'a> {
    /// Every instance and module of the account: the only listing that sees instances whose
    /// image is unknown, so the only one that can prove an image unused.
    Account,
    /// The instances and modules of these images (`image-id` filters, five values at a
    /// time): the re-check of a few images, which cannot see instances whose image is
    /// unknown (docs/usage.md).
    Images(&'a [String]),
}

/// Complete usage listings.
#[derive(Debug)]
pub struct FetchedUsage {
    /// The instances and modules, checked complete.
    pub set: UsageSet,
    /// `TotalCount` of the instance listing(s).
    pub instances_total: u64,
    /// `TotalCount` of the module listing(s).
    pub modules_total: u64,
    /// What the instance and module listings took, together.
    pub stats: FetchStats,
}

impl FetchStats {
    /// Two listings' counters together (durations add: listings run one after another).
    pub fn add(&self, other: &FetchStats) -> FetchStats {
        FetchStats {
            pages: self.pages + other.pages,
            requests: self.requests + other.requests,
            retries: self.retries + other.retries,
            throttled: self.throttled + other.throttled,
            restarts: self.restarts + other.restarts,
            duration: self.duration + other.duration,
        }
    }
}

impl Session {
    /// Checks `cfg` (filters, endpoint, rate, timeouts) and sets up the client; nothing is
    /// sent yet. The deadline runs from here. Call it inside the runtime that will list.
    pub fn new(cfg: &LiveConfig) -> Result<Session, FetchError> {
        cfg.validate()?;
        let endpoint = client::parse_endpoint(&cfg.endpoint)?;
        let client = client::Client::new(cfg, endpoint)?;
        Ok(Session {
            cfg: cfg.clone(),
            client,
            pacers: std::sync::Mutex::new(Vec::new()),
            started: tokio::time::Instant::now(),
        })
    }

    /// The pacer of `action`, made on first use.
    fn pacer(&self, action: &'static Action) -> Arc<pacer::Pacer> {
        self.pacer_named(action.name)
    }

    /// The pacer of the action of this name (Tencent limits each action on its own), made
    /// on first use.
    pub(crate) fn pacer_named(&self, action: &'static str) -> Arc<pacer::Pacer> {
        let mut pacers = self.pacers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, pacer)) = pacers.iter().find(|(name, _)| *name == action) {
            return Arc::clone(pacer);
        }
        let pacer = Arc::new(pacer::Pacer::with_margin(
            self.cfg.rate,
            self.cfg.pacing_margin,
        ));
        pacers.push((action, Arc::clone(&pacer)));
        pacer
    }

    /// The session's client, for callers of other actions than the listings.
    pub(crate) fn client(&self) -> &client::Client {
        &self.client
    }

    /// The configuration the session was made with.
    pub fn config(&self) -> &LiveConfig {
        &self.cfg
    }

    /// What is left of `--deadline` (zero once it has passed).
    pub fn time_left(&self) -> Duration {
        self.cfg.deadline.saturating_sub(self.started.elapsed())
    }

    /// Lists every item of `action` matching `filters`: complete and de-duplicated, or an
    /// error. Within what is left of the session's deadline.
    pub async fn list(
        &self,
        action: &'static Action,
        filters: &[ApiFilter],
        on_progress: &(dyn Fn(FetchProgress) + Send + Sync),
    ) -> Result<Listed, FetchError> {
        let pacer = self.pacer(action);
        let counters = retry::Counters::default();
        let started = tokio::time::Instant::now();
        let transport = client::ActionClient {
            client: &self.client,
            action,
            filters,
        };
        let caller = retry::Caller {
            client: &transport,
            pacer: &pacer,
            budget: &self.cfg.retry,
            counters: &counters,
            progress: on_progress,
        };
        let plan = paginate::Plan {
            max_restarts: self.cfg.max_restarts,
            restart_delay: self.cfg.restart_delay,
            max_in_flight: self.cfg.max_in_flight,
        };
        // The whole fetch is bounded too: retries and restarts are each bounded,
        // but a slow server could still stretch a listing for hours.
        let left = self.cfg.deadline.saturating_sub(self.started.elapsed());
        let listing = tokio::time::timeout(left, paginate::list(&caller, &plan))
            .await
            .map_err(|_| FetchError::Deadline {
                deadline: self.cfg.deadline,
            })??;
        Ok(Listed {
            action,
            items: listing.items,
            total_count: listing.total_count,
            stats: FetchStats {
                pages: listing.pages,
                requests: counters.requests.load(Ordering::Relaxed),
                retries: counters.retries.load(Ordering::Relaxed),
                throttled: counters.throttled.load(Ordering::Relaxed),
                restarts: u64::from(listing.restarts),
                duration: started.elapsed(),
            },
        })
    }

    /// Every image matching `filters`, with the `Started` and `Finished` progress events.
    pub async fn images(
        &self,
        filters: &[ApiFilter],
        on_progress: &(dyn Fn(FetchProgress) + Send + Sync),
    ) -> Result<Fetched, FetchError> {
        validate_filters(filters)?;
        on_progress(FetchProgress::Started {
            endpoint: self.cfg.endpoint.clone(),
        });
        let listed = self.list(&DESCRIBE_IMAGE, filters, on_progress).await?;
        let fetched = Fetched {
            images: listed.items,
            total_count: listed.total_count,
            stats: listed.stats,
            filters: filters.to_vec(),
        };
        on_progress(FetchProgress::Finished {
            endpoint: self.cfg.endpoint.clone(),
            images: fetched.images.len() as u64,
            stats: fetched.stats.clone(),
        });
        Ok(fetched)
    }

    /// A listing of another action than `DescribeImage`, announced to the progress sink.
    async fn listed(
        &self,
        action: &'static Action,
        filters: &[ApiFilter],
        on_progress: &(dyn Fn(FetchProgress) + Send + Sync),
    ) -> Result<Listed, FetchError> {
        on_progress(FetchProgress::Listing {
            action,
            endpoint: self.cfg.endpoint.clone(),
        });
        let listed = self.list(action, filters, on_progress).await?;
        on_progress(FetchProgress::Listed {
            action,
            endpoint: self.cfg.endpoint.clone(),
            items: listed.total_count,
            stats: listed.stats.clone(),
        });
        Ok(listed)
    }

    /// The complete instance and module listings of `scope`, instances first. A failure
    /// names its action and `needed_by` (what reads usage: `the rules a and b`, `--usage`),
    /// so a missing permission says who needs it.
    pub async fn usage(
        &self,
        scope: UsageScope<'_>,
        needed_by: &str,
        on_progress: &(dyn Fn(FetchProgress) + Send + Sync),
    ) -> Result<FetchedUsage, FetchError> {
        let batches: Vec<Vec<ApiFilter>> = match scope {
            UsageScope::Account => vec![Vec::new()],
            UsageScope::Images(ids) => ids
                .chunks(MAX_USAGE_FILTER_VALUES)
                .map(|chunk| vec![ApiFilter::new("image-id", chunk.iter().cloned())])
                .collect(),
        };
        let failed = |action: &'static Action| {
            move |error: FetchError| FetchError::Usage {
                action,
                needed_by: needed_by.to_owned(),
                error: Box::new(error),
            }
        };
        let mut stats = FetchStats::default();
        let mut instances: Vec<Instance> = Vec::new();
        let mut modules: Vec<Module> = Vec::new();
        for filters in &batches {
            let listed = self
                .listed(&DESCRIBE_INSTANCES, filters, on_progress)
                .await
                .map_err(failed(&DESCRIBE_INSTANCES))?;
            stats = stats.add(&listed.stats);
            append(
                &mut instances,
                typed(listed).map_err(failed(&DESCRIBE_INSTANCES))?,
            );
        }
        for filters in &batches {
            let listed = self
                .listed(&DESCRIBE_MODULE, filters, on_progress)
                .await
                .map_err(failed(&DESCRIBE_MODULE))?;
            stats = stats.add(&listed.stats);
            append(
                &mut modules,
                typed(listed).map_err(failed(&DESCRIBE_MODULE))?,
            );
        }
        // Each listing was checked complete; several batches are merged (an instance runs
        // one image, so they are disjoint, but a repeat is dropped all the same).
        let (instances_total, modules_total) = (
            distinct_count(&instances, |i| i.id.as_deref()),
            distinct_count(&modules, |m| m.id.as_deref()),
        );
        // Every item has its id (the client refuses a page with one without) and the
        // totals are the distinct counts, so this holds; if it did not, nothing is judged.
        let set =
            UsageSet::new(instances, instances_total, modules, modules_total).map_err(|e| {
                FetchError::ItemModel {
                    action: &DESCRIBE_INSTANCES,
                    offset: 0,
                    position: 0,
                    detail: e.to_string(),
                    request_id: String::new(),
                }
            })?;
        Ok(FetchedUsage {
            set,
            instances_total,
            modules_total,
            stats,
        })
    }

    /// The modules of these ids (`module-id` filters, five at a time), as `check --module`
    /// needs them; an id that matches no module is simply not among them. No ids: every
    /// module of the account.
    pub async fn modules(
        &self,
        ids: &[String],
        on_progress: &(dyn Fn(FetchProgress) + Send + Sync),
    ) -> Result<(Vec<Module>, FetchStats), FetchError> {
        let mut modules = Vec::new();
        let mut stats = FetchStats::default();
        let batches: Vec<Vec<ApiFilter>> = if ids.is_empty() {
            vec![Vec::new()]
        } else {
            ids.chunks(MAX_USAGE_FILTER_VALUES)
                .map(|chunk| vec![ApiFilter::new("module-id", chunk.iter().cloned())])
                .collect()
        };
        for filters in &batches {
            let listed = self.listed(&DESCRIBE_MODULE, filters, on_progress).await?;
            stats = stats.add(&listed.stats);
            append(&mut modules, typed::<Module>(listed)?);
        }
        Ok((modules, stats))
    }
}

/// A listing's kept items, typed. They were trimmed to this type as the pages arrived, so
/// this cannot fail unless the API sent something the trim let through.
///
/// Each item as listed is freed once it is typed, and what is freed is handed back to the
/// system every [`RELEASE_EVERY`] items: the typed items go into one new vector, which
/// cannot reuse the listed items' small chunks, so without it the whole listing would be
/// counted twice at the end (147,189 instances: about 21 MB listed and 18 MB typed).
fn typed<T: serde::de::DeserializeOwned>(listed: Listed) -> Result<Vec<T>, FetchError> {
    let Listed { action, items, .. } = listed;
    let large = items.len() >= RELEASE_EVERY;
    let mut typed = Vec::with_capacity(items.len());
    for (position, raw) in items.into_iter().enumerate() {
        let item = serde_json::from_str(raw.get()).map_err(|e| FetchError::ItemModel {
            action,
            offset: 0,
            position: position + 1,
            detail: e.to_string(),
            request_id: String::new(),
        })?;
        drop(raw);
        typed.push(item);
        if (position + 1) % RELEASE_EVERY == 0 {
            crate::memory::release_freed();
        }
    }
    // A small listing (a narrowed check lists five images' usage at a time) frees too
    // little to be worth the walk.
    if large {
        crate::memory::release_freed();
    }
    Ok(typed)
}

/// `more` after `items`; the first batch becomes `items` (moving a vector of every instance
/// into another would hold both at once).
fn append<T>(items: &mut Vec<T>, more: Vec<T>) {
    if items.is_empty() {
        *items = more;
    } else {
        items.extend(more);
    }
}

/// How many listed items are typed between two hand-backs of freed memory (each a walk
/// of the free chunks, about a millisecond).
const RELEASE_EVERY: usize = 16_384;

fn distinct_count<T>(items: &[T], id: impl Fn(&T) -> Option<&str>) -> u64 {
    items
        .iter()
        .map(id)
        .collect::<std::collections::HashSet<_>>()
        .len() as u64
}

impl Fetched {
    /// A listing that was not made because there was nothing to ask for (the `--module`s of
    /// a check deploy no image): no image, no request.
    pub fn nothing(filters: Vec<ApiFilter>) -> Fetched {
        Fetched {
            images: Vec::new(),
            total_count: 0,
            stats: FetchStats::default(),
            filters,
        }
    }

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

    /// The filters as the API takes them (`[{"Name", "Values"}]`), for snapshots and reports.
    pub fn filters_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.filters).unwrap_or(serde_json::Value::Array(Vec::new()))
    }

    /// Where these images came from, for reports.
    pub fn provenance(&self, cfg: &LiveConfig) -> crate::source::Provenance {
        crate::source::Provenance::Api {
            endpoint: cfg.endpoint.clone(),
            filters: self.filters_json(),
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
    Session::new(cfg)?.images(&cfg.filters, on_progress).await
}

/// For the fuzz target only (`fuzz/fuzz_targets/describe_image_response.rs`): parse a
/// response body exactly as a fetch does, then type its images as `check` does. Returns
/// whether the body was a usable page. Not part of the supported API.
#[doc(hidden)]
pub fn parse_response_for_fuzzing(body: &[u8]) -> bool {
    match client::parse_response(&DESCRIBE_IMAGE, body) {
        Ok(page) => page
            .items
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
