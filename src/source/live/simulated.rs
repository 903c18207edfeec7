//! A simulated `DescribeImage` service on tokio's clock, and whole fetches against it under
//! paused time: the pacing and the answer to throttling checked exactly and instantly,
//! without sockets or a loaded machine's noise.
//!
//! The service uses the emulator's own limiters and jitter (`ecm_emulator::limiter`): each
//! request reaches the limiter after its seeded jitter, is counted there (refused ones too,
//! in the strict mode), and is answered after the latency. It can also throttle chosen
//! requests (by arrival number) whatever the limiter says.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ecm_emulator::{Jitter, Limiter, LimiterKind};
use serde_json::value::RawValue;
use tokio::time::Instant;

use super::action::{Action, DESCRIBE_IMAGE};
use super::client::{CallError, IdText, Page, PageItem};
use super::credentials::Credentials;
use super::error::FetchError;
use super::pacer::Pacer;
use super::paginate::{self, Listing, Plan};
use super::retry::{Caller, Counters, Transport};
use super::{FetchProgress, LiveConfig};

/// The simulated service.
pub(crate) struct Service {
    images: u64,
    latency: Duration,
    jitter: Jitter,
    limiter: Option<Mutex<Limiter>>,
    throttle: Box<dyn Fn(u64, Duration) -> bool + Send + Sync>,
    started: Instant,
    arrivals: AtomicU64,
    log: Mutex<Vec<(Instant, bool)>>,
    credentials: Credentials,
}

impl Service {
    /// `images` images, no limit, no latency, no jitter.
    pub(crate) fn new(images: u64) -> Self {
        Service {
            images,
            latency: Duration::ZERO,
            jitter: Jitter::none(),
            limiter: None,
            throttle: Box::new(|_, _| false),
            started: Instant::now(),
            arrivals: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            credentials: Credentials::new("AKIDsimulated", "simulated-key", None),
        }
    }

    /// `per_second` requests a second, counted as `kind` says.
    pub(crate) fn limit(mut self, kind: LimiterKind, per_second: u32) -> Self {
        let now = Instant::now().into_std();
        self.limiter = Some(Mutex::new(Limiter::new(kind, per_second, now)));
        self
    }

    /// Each request reaches the service `0..=2 × amplitude` late.
    pub(crate) fn jitter(mut self, amplitude: Duration, seed: u64) -> Self {
        self.jitter = Jitter::new(amplitude, seed);
        self
    }

    /// Each answer comes this long after the request reached the service.
    pub(crate) fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Also throttle the requests that `f` picks by arrival number (0-based) and arrival
    /// time (since the service was made).
    pub(crate) fn throttle(
        mut self,
        f: impl Fn(u64, Duration) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.throttle = Box::new(f);
        self
    }

    /// When each request reached the limiter, and whether it was throttled.
    pub(crate) fn log(&self) -> Vec<(Instant, bool)> {
        self.log.lock().unwrap().clone()
    }

    /// Requests throttled.
    pub(crate) fn throttled(&self) -> usize {
        self.log().iter().filter(|(_, t)| *t).count()
    }

    /// Most requests that reached the limiter within any one second.
    pub(crate) fn busiest_second(&self) -> usize {
        let log = self.log();
        let times: Vec<Duration> = log.iter().map(|(t, _)| *t - log[0].0).collect();
        ecm_emulator::limiter::busiest(&times, Duration::from_secs(1))
    }

    fn page(&self, offset: u64) -> Page {
        let end = (offset + 100).min(self.images);
        let images = (offset.min(end)..end)
            .map(|i| {
                let raw = RawValue::from_string(format!(r#"{{"ImageId":"img-{i}"}}"#)).unwrap();
                let id = IdText::of(raw.get(), &raw.get()[12..raw.get().len() - 2]);
                PageItem::new(raw, id)
            })
            .collect();
        Page {
            total_count: self.images,
            items: images,
        }
    }
}

impl Transport for Service {
    fn action(&self) -> &'static Action {
        &DESCRIBE_IMAGE
    }
    async fn page(&self, offset: u64) -> Result<Page, CallError> {
        let n = self.arrivals.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(self.jitter.delay(n)).await;
        let now = Instant::now();
        let admitted = self
            .limiter
            .as_ref()
            .is_none_or(|l| l.lock().unwrap().admit(now.into_std()));
        let throttled = !admitted || (self.throttle)(n, now - self.started);
        self.log.lock().unwrap().push((now, throttled));
        tokio::time::sleep(self.latency).await;
        if throttled {
            return Err(CallError::Api {
                code: "RequestLimitExceeded".into(),
                message: "simulated".into(),
                request_id: format!("sim-{n}"),
            });
        }
        Ok(self.page(offset))
    }
    fn page_size(&self) -> u32 {
        100
    }
    fn timeout(&self) -> Duration {
        Duration::from_secs(30)
    }
    fn max_response_bytes(&self) -> usize {
        usize::MAX
    }
    fn credentials(&self) -> &Credentials {
        &self.credentials
    }
}

/// What a simulated fetch did.
pub(crate) struct Run {
    pub(crate) result: Result<Listing, FetchError>,
    pub(crate) requests: u64,
    pub(crate) throttled: u64,
    pub(crate) elapsed: Duration,
    pub(crate) events: Vec<FetchProgress>,
    /// The pacer's margin at the end.
    pub(crate) margin: Duration,
}

/// Runs a whole fetch against `service` as `fetch_all` does with `cfg`'s pacing, budget and
/// plan.
pub(crate) async fn fetch(service: &Service, cfg: &LiveConfig) -> Run {
    let pacer = Pacer::with_margin(cfg.rate, cfg.pacing_margin);
    let counters = Counters::default();
    let events = Mutex::new(Vec::new());
    let progress = |e: FetchProgress| events.lock().unwrap().push(e);
    let caller = Caller {
        client: service,
        pacer: &pacer,
        budget: &cfg.retry,
        counters: &counters,
        progress: &progress,
    };
    let plan = Plan {
        max_restarts: cfg.max_restarts,
        restart_delay: cfg.restart_delay,
        max_in_flight: cfg.max_in_flight,
    };
    let started = Instant::now();
    let result = paginate::list(&caller, &plan).await;
    Run {
        result,
        requests: counters.requests.load(Ordering::Relaxed),
        throttled: counters.throttled.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        events: events.into_inner().unwrap(),
        margin: pacer.margin(),
    }
}

/// The default configuration (20 requests/s, default margin and budget).
pub(crate) fn config() -> LiveConfig {
    LiveConfig::new(Credentials::new("AKIDsimulated", "simulated-key", None))
}

/// Checks the listing holds `img-0` … `img-{n-1}`, each once, in order.
pub(crate) fn assert_exact(listing: &Listing, n: u64) {
    assert_eq!(listing.total_count, n);
    assert_eq!(listing.items.len() as u64, n);
    let mut seen = HashSet::new();
    for (i, raw) in listing.items.iter().enumerate() {
        assert_eq!(raw.get(), format!(r#"{{"ImageId":"img-{i}"}}"#));
        assert!(seen.insert(raw.get().to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGES: u64 = 250;
    const IMAGES: u64 = PAGES * 100;
    /// 250 requests at 20 per second.
    const BOUND: Duration = Duration::from_millis(12_500);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn strict(jitter: Duration, seed: u64) -> Service {
        Service::new(IMAGES)
            .limit(LimiterKind::SlidingWindow, 20)
            .jitter(jitter, seed)
            .latency(ms(100))
    }

    fn ratio(run: &Run) -> f64 {
        run.elapsed.as_secs_f64() / BOUND.as_secs_f64()
    }

    /// The emulator's strict limiter: 20 requests/s counted over a sliding window of arrival times with
    /// ±20 ms of jitter, 100 ms of latency, 250 pages. No request is throttled, and the fetch
    /// ends within 1.10× the bound, for every seed tried.
    #[tokio::test(start_paused = true)]
    async fn strict_limiter_with_jitter_no_throttle_near_the_bound() {
        for seed in 1..=5 {
            let service = strict(ms(20), seed);
            let run = fetch(&service, &config()).await;
            let listing = run.result.as_ref().expect("completes");
            assert_exact(listing, IMAGES);
            assert_eq!(run.throttled, 0, "seed {seed}");
            assert_eq!(service.throttled(), 0, "seed {seed}");
            assert_eq!(run.requests, PAGES);
            assert!(service.busiest_second() <= 20);
            assert!(run.elapsed >= BOUND, "{:?}", run.elapsed);
            assert!(ratio(&run) <= 1.10, "seed {seed}: {:.3}", ratio(&run));
        }
    }

    /// Pacing exactly at the limit (no margin), as before this design: the strict limiter
    /// throttles. What remains: the throttles slow the pacer and grow its margin, so they
    /// stay few and the fetch still ends near the bound, complete.
    #[tokio::test(start_paused = true)]
    async fn without_a_margin_a_few_throttles_teach_one() {
        let mut cfg = config();
        cfg.pacing_margin = Duration::ZERO;
        let mut total_throttled = 0;
        for seed in 1..=5 {
            let service = strict(ms(20), seed);
            let run = fetch(&service, &cfg).await;
            assert_exact(run.result.as_ref().expect("completes"), IMAGES);
            assert!(run.throttled <= 6, "seed {seed}: {}", run.throttled);
            assert!(ratio(&run) <= 1.15, "seed {seed}: {:.3}", ratio(&run));
            assert!(run.margin > Duration::ZERO || run.throttled == 0);
            total_throttled += run.throttled;
        }
        assert!(
            total_throttled > 0,
            "exact pacing must meet the strict limiter"
        );
    }

    /// Jitter of ±60 ms, beyond what the default margin covers: the margin is learnt from the
    /// first throttles.
    #[tokio::test(start_paused = true)]
    async fn jitter_beyond_the_margin_is_learnt() {
        for seed in 1..=3 {
            let service = strict(ms(60), seed);
            let run = fetch(&service, &config()).await;
            assert_exact(run.result.as_ref().expect("completes"), IMAGES);
            assert!(run.throttled <= 6, "seed {seed}: {}", run.throttled);
            assert!(ratio(&run) <= 1.25, "seed {seed}: {:.3}", ratio(&run));
        }
    }

    /// The lenient limiter: nothing throttled, near the bound.
    #[tokio::test(start_paused = true)]
    async fn token_bucket_no_throttle() {
        let service = Service::new(IMAGES)
            .limit(LimiterKind::TokenBucket, 20)
            .jitter(ms(20), 1)
            .latency(ms(100));
        let run = fetch(&service, &config()).await;
        assert_exact(run.result.as_ref().unwrap(), IMAGES);
        assert_eq!(run.throttled, 0);
        assert!(ratio(&run) <= 1.10, "{:.3}", ratio(&run));
    }

    fn pages_per_second(run: &Run, pages: u64) -> f64 {
        pages as f64 / run.elapsed.as_secs_f64()
    }

    /// Someone else uses half the quota: a strict limiter at 10/s while we pace for 20/s.
    /// The pacer settles near 10/s: complete, at least two thirds of the share, a fifth of
    /// the requests throttled at most.
    #[tokio::test(start_paused = true)]
    async fn a_quota_shared_with_another_client() {
        let service = Service::new(100 * 100)
            .limit(LimiterKind::SlidingWindow, 10)
            .jitter(ms(10), 1)
            .latency(ms(100));
        let run = fetch(&service, &config()).await;
        assert_exact(run.result.as_ref().expect("completes"), 100 * 100);
        assert!(
            pages_per_second(&run, 100) >= 10.0 / 1.5,
            "{:?}",
            run.elapsed
        );
        assert!(
            run.throttled * 5 <= run.requests,
            "{} of {}",
            run.throttled,
            run.requests
        );
    }

    /// Others take three quarters of the quota (5/s left of 20): still complete.
    #[tokio::test(start_paused = true)]
    async fn most_of_the_quota_taken_by_others() {
        let service = Service::new(60 * 100)
            .limit(LimiterKind::SlidingWindow, 5)
            .jitter(ms(10), 1)
            .latency(ms(100));
        let run = fetch(&service, &config()).await;
        assert_exact(run.result.as_ref().expect("completes"), 60 * 100);
        assert!(pages_per_second(&run, 60) >= 5.0 / 1.6, "{:?}", run.elapsed);
        assert!(
            run.throttled * 4 <= run.requests,
            "{} of {}",
            run.throttled,
            run.requests
        );
    }

    /// Someone else's burst takes the whole quota for three seconds: every request is
    /// refused meanwhile, and the fetch waits it out within the default budget.
    #[tokio::test(start_paused = true)]
    async fn a_burst_of_throttling_is_waited_out() {
        let service = Service::new(100 * 100)
            .limit(LimiterKind::SlidingWindow, 20)
            .jitter(ms(10), 1)
            .latency(ms(100))
            .throttle(|_, at| at >= ms(1000) && at < ms(4000));
        let run = fetch(&service, &config()).await;
        assert_exact(run.result.as_ref().expect("completes"), 100 * 100);
        // 100 pages take 5.4 s unhindered; the burst costs its 3 s and the recovery.
        assert!(run.elapsed < Duration::from_secs(20), "{:?}", run.elapsed);
        let back = run.events.iter().rev().find_map(|e| match e {
            FetchProgress::Pace { rate } => Some(*rate),
            _ => None,
        });
        assert!(
            back.is_some_and(|rate| rate > 16.0),
            "back at full pace: {back:?}"
        );
    }

    /// A throttled page is asked for again at the next slot of the slowed pacer — not after
    /// an exponential backoff (500 ms and more by default) — and the pace comes back.
    #[tokio::test(start_paused = true)]
    async fn a_throttle_costs_a_slot_not_a_backoff() {
        let service = Service::new(40 * 100)
            .latency(ms(100))
            .throttle(|n, _| n == 10);
        let run = fetch(&service, &config()).await;
        assert_exact(run.result.as_ref().unwrap(), 40 * 100);
        assert_eq!(run.throttled, 1);
        assert_eq!(run.requests, 41);
        let log = service.log();
        // Arrivals never come closer than the fastest pacing allows…
        let fastest = ms(1075) / 20;
        for pair in log.windows(2) {
            assert!(pair[1].0 - pair[0].0 >= fastest - ms(6));
        }
        // … and the gap after the throttle is one slow slot or so, far below a backoff.
        let gaps: Vec<Duration> = log.windows(2).map(|p| p[1].0 - p[0].0).collect();
        assert!(gaps.iter().all(|g| *g < ms(250)), "{gaps:?}");
        // Slowed, then back at the fastest pace.
        let paces: Vec<f64> = run
            .events
            .iter()
            .filter_map(|e| match e {
                FetchProgress::Pace { rate } => Some(*rate),
                _ => None,
            })
            .collect();
        assert_eq!(paces.len(), 2, "{paces:?}");
        assert!(paces[0] < 10.0 && paces[1] > 18.0, "{paces:?}");
        // 41 requests, and the slowdown costs well under a second.
        assert!(run.elapsed < fastest * 41 + ms(600), "{:?}", run.elapsed);
    }

    /// A service that throttles every request: exit 3 within the default budget (6 attempts,
    /// 60 s), each retry of the page further apart as the pace keeps halving.
    #[tokio::test(start_paused = true)]
    async fn throttling_forever_ends_in_exit_3_within_the_budget() {
        let service = Service::new(IMAGES).latency(ms(100)).throttle(|_, _| true);
        let cfg = config();
        let run = fetch(&service, &cfg).await;
        let err = run.result.err().expect("never complete");
        // An API error past the budget: exit 3 (see exit.rs).
        assert_eq!(err.code(), crate::diag::Code::ApiThrottled);
        let api = err.api_error().expect("an API error");
        assert_eq!(api.code, "RequestLimitExceeded");
        assert_eq!(api.attempts, cfg.retry.max_attempts);
        assert!(api.elapsed <= cfg.retry.max_elapsed + cfg.timeout);
        assert!(run.elapsed <= cfg.retry.max_elapsed + cfg.timeout);
        assert_eq!(run.requests, u64::from(cfg.retry.max_attempts));
        let log = service.log();
        let gaps: Vec<Duration> = log.windows(2).map(|p| p[1].0 - p[0].0).collect();
        assert!(gaps.windows(2).all(|g| g[1] > g[0]), "{gaps:?}");
    }
}
