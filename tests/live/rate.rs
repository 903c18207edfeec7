//! The rate limit: never more requests than `rate` in any one-second window, counted from
//! the emulator's request log, retries included; and the emulator's own limit, lenient (a
//! token bucket) and strict (a sliding window over arrival times in which refused requests
//! count, with seeded arrival jitter).

use std::time::Duration;

// Largest number of requests whose arrival falls in one window `[t, t + window)`:
// the emulator's own count (unit-tested there).
use ecm_emulator::limiter::busiest as max_in_window;
use ecm_emulator::{Config, Emulator, Fault, FaultRule, FaultScript, Outcome};
use ecmguard::source::live::{FetchProgress, fetch_all};

use super::support::{Recorder, emulator_ids, fast_config, ids};

/// At the default 20 req/s against an emulator enforcing 20 req/s: no throttling, and never
/// more than 20 requests in a second. Checked twice: on the client's send times (the
/// `Request` progress events, taken as each request gets its slot; 5 ms allowed for task
/// scheduling) and on the emulator's arrival log (which also carries the server's scheduling
/// delays, so 50 ms are allowed there). The exact spacing is checked under paused time in the
/// pacer's unit tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_faster_than_the_rate_retries_included() {
    let mut config = Config::new(ecm_emulator::generate_images(3_000));
    config.rate_limit = Some(20);
    // Some retries, to show they are paced too.
    config.faults = FaultScript::new(vec![
        FaultRule::once(Fault::InternalError)
            .from_request(5)
            .times(4),
    ]);
    let em = Emulator::start(config).await.unwrap();
    let mut cfg = fast_config(&em);
    cfg.rate = 20.0;
    let sent = std::sync::Mutex::new(Vec::new());
    let start = tokio::time::Instant::now();
    let on_progress = |p: FetchProgress| {
        if matches!(p, FetchProgress::Request { .. }) {
            sent.lock().unwrap().push(start.elapsed());
        }
    };
    let fetched = fetch_all(&cfg, &on_progress).await.unwrap();
    assert_eq!(fetched.images.len(), 3_000);
    assert_eq!(fetched.stats.requests, 34);
    let sent = sent.into_inner().unwrap();
    assert_eq!(sent.len(), 34);
    assert!(max_in_window(&sent, Duration::from_millis(995)) <= 20);

    let log = em.log();
    assert!(
        !log.iter().any(
            |e| matches!(&e.outcome, Outcome::ApiError { code } if code == "RequestLimitExceeded")
        ),
        "the client never trips the documented limit"
    );
    let times: Vec<Duration> = log.iter().map(|e| e.at).collect();
    assert!(max_in_window(&times, Duration::from_millis(950)) <= 20);
    // 34 requests at 50 ms spacing take at least 33 × 50 ms.
    assert!(times[times.len() - 1] - times[0] >= Duration::from_millis(33 * 50 - 30));
}

/// The emulator's strict limiter: 20 requests/s over a sliding one-second window of arrival times,
/// refused requests counted, every arrival jittered by ±20 ms; 60 pages, 50 ms latency, the
/// client at its default 20 req/s. Pacing with a margin keeps it under the limit: no more than
/// one request throttled (a loaded machine adds its own jitter; the paused-time simulation in
/// `source::live::simulated` checks zero exactly), and the fetch ends near the bound. Pacing at
/// exactly 20/s meets the limiter every few seconds, and each throttle used to cost a backoff
/// of a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_limiter_with_jitter_no_throttle_near_the_bound() {
    let mut config = Config::new(ecm_emulator::generate_images(6_000))
        .with_strict_limiter(Duration::from_millis(20), 7);
    config.latency = Duration::from_millis(50);
    let em = Emulator::start(config).await.unwrap();
    let mut cfg = fast_config(&em);
    cfg.rate = 20.0;
    let sent = std::sync::Mutex::new(Vec::new());
    let start = tokio::time::Instant::now();
    let on_progress = |p: FetchProgress| {
        if matches!(p, FetchProgress::Request { .. }) {
            sent.lock().unwrap().push(start.elapsed());
        }
    };
    let fetched = fetch_all(&cfg, &on_progress).await.unwrap();
    let elapsed = start.elapsed();
    assert_eq!(ids(&fetched.images), emulator_ids(&em));

    let summary = em.summary();
    assert!(summary.throttled <= 1, "{summary:?}");
    assert_eq!(fetched.stats.throttled, summary.throttled);
    assert_eq!(fetched.stats.requests, 60 + summary.throttled);
    // Retries are paced too: 20 in any second of sending at most, throttled or not.
    let sent = sent.into_inner().unwrap();
    assert!(max_in_window(&sent, Duration::from_millis(995)) <= 20);
    // The bound is 60 pages / 20 per second = 3 s: paced, the fetch cannot be
    // faster. How close to it it ends is a timing, which a loaded machine
    // stretches: scripts/bench_fetch.sh measures it, and the paused-time
    // simulation in `source::live::simulated` checks it exactly.
    let bound = Duration::from_secs(3);
    assert!(elapsed >= bound - Duration::from_millis(100), "{elapsed:?}");
}

/// Faults and retries against the strict limiter: every request paced, the retries too, and
/// the limiter never refuses more than a request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_paced_under_the_strict_limiter() {
    let mut config = Config::new(ecm_emulator::generate_images(3_000))
        .with_strict_limiter(Duration::from_millis(20), 3);
    config.faults = FaultScript::new(vec![
        FaultRule::once(Fault::InternalError)
            .from_request(5)
            .times(4),
    ]);
    let em = Emulator::start(config).await.unwrap();
    let mut cfg = fast_config(&em);
    cfg.rate = 20.0;
    let fetched = fetch_all(&cfg, &|_| {}).await.unwrap();
    assert_eq!(ids(&fetched.images), emulator_ids(&em));
    let summary = em.summary();
    assert!(summary.throttled <= 1, "{summary:?}");
    assert_eq!(fetched.stats.requests, 34 + summary.throttled);
    assert!(summary.busiest_second <= 21, "{summary:?}");
}

#[tokio::test]
async fn a_slower_rate_is_respected() {
    let mut config = Config::new(ecm_emulator::generate_images(1_000));
    config.rate_limit = None;
    let em = Emulator::start(config).await.unwrap();
    let mut cfg = fast_config(&em);
    cfg.rate = 8.0;
    let rec = Recorder::default();
    fetch_all(&cfg, &rec.callback()).await.unwrap();
    let requests = rec
        .events()
        .iter()
        .filter(|e| matches!(e, FetchProgress::Request { .. }))
        .count();
    assert_eq!(requests, 10);
    let times: Vec<Duration> = em.log().iter().map(|e| e.at).collect();
    assert_eq!(times.len(), 10);
    assert!(max_in_window(&times, Duration::from_millis(950)) <= 8);
    // 10 requests at 125 ms spacing.
    assert!(times[9] - times[0] >= Duration::from_millis(9 * 125 - 50));
}

/// The emulator enforces its limit: a client that ignores it (here: 200 req/s against 5)
/// is answered with RequestLimitExceeded and, by slowing down and retrying within its budget,
/// still completes or fails with exit 3 — never a partial set. Against both limiters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_throttles_a_client_that_is_too_fast() {
    for strict in [false, true] {
        let mut config = Config::new(ecm_emulator::generate_images(1_500));
        if strict {
            config = config.with_strict_limiter(Duration::from_millis(10), 5);
        }
        config.rate_limit = Some(5);
        let em = Emulator::start(config).await.unwrap();
        let mut cfg = fast_config(&em);
        cfg.rate = 200.0;
        cfg.retry.max_attempts = 10;
        cfg.retry.min_delay = Duration::from_millis(100);
        cfg.retry.max_delay = Duration::from_millis(400);
        let rec = Recorder::default();
        let result = fetch_all(&cfg, &rec.callback()).await;
        let throttled = em
            .log()
            .iter()
            .filter(
                |e| matches!(&e.outcome, Outcome::ApiError { code } if code == "RequestLimitExceeded"),
            )
            .count();
        assert!(throttled > 0);
        // The pacer slowed down: half the 200/s asked for or less.
        assert!(
            rec.events()
                .iter()
                .any(|e| matches!(e, FetchProgress::Pace { rate } if *rate <= 100.0)),
            "strict {strict}"
        );
        match result {
            Ok(f) => {
                assert_eq!(f.images.len(), 1_500);
                assert_eq!(f.stats.retries as usize, throttled);
                assert_eq!(f.stats.throttled as usize, throttled);
            }
            Err(e) => assert_eq!(
                ecmguard::exit::ExitCode::of_fetch_error(&e).code(),
                3,
                "strict {strict}"
            ),
        }
    }
}
