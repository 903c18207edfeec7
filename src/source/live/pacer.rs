//! The request pacer: every request of a fetch (first attempts and retries alike) waits for a
//! slot here. Slots are evenly spaced on tokio's clock, a little slower than `--rate`, and the
//! spacing widens when the API throttles us and narrows again as requests get through.
//!
//! Why even spacing and not a token bucket (`governor`): a bucket lets a burst through after
//! an idle spell, and the API counts requests per second. Why tokio's clock: tests run with
//! paused time and check the spacing exactly without waiting.
//!
//! Why a margin below `--rate`: Tencent does not document how its limiter counts. Against a
//! strict one (a sliding one-second window over *arrival* times, refused requests counted
//! too), a client sending exactly `rate` per second is refused whenever network or
//! scheduling jitter brings a `rate + 1`-th request inside some second. So `rate` requests
//! are spread over one second plus a margin: any `rate + 1` consecutive requests then span
//! more than a second even if their arrival times shift by up to half the margin each.
//!
//! What a throttle does (`RequestLimitExceeded`): it is taken as a signal about the pace, not
//! as a transient failure of one request. The retry layer calls [`Pacer::throttled`] and asks
//! for the page again at the next slot, and the pacer slows down for everyone:
//! - multiplicative decrease: the pace is halved (down to 1/32 of the fastest), once per
//!   "epoch": a throttle of a request sent before the last slowdown says nothing about the
//!   slower pace and does not halve it again. Nor does one sent while the limiter may still
//!   hold the faster past (its echo: a strict limiter remembers a second of arrivals, refused
//!   ones too), which is the longer the less of our pace the service had accepted;
//! - the margin grows by 25 ms (up to 250 ms): a throttle means the jitter was larger than
//!   the margin allowed for, so the fastest pace for the rest of the fetch is a little slower;
//! - the knee: nine tenths of the rate the service accepted from us in the second before the
//!   throttled request (at least an eighth of the fastest pace). It is what the limiter let
//!   through, so it is a pace to come back to quickly; beyond it we probe;
//! - additive increase: each request sent at the current pace that gets through
//!   ([`Pacer::succeeded`]) adds an eighth of the fastest pace below the knee (from half to
//!   the knee in about four successes: a jitter accident costs a few slots, not seconds) and
//!   a sixty-fourth above it, doubling every eight successes in a row (so a quota shared with
//!   another client is approached rather than overrun, where an overshooting pace is refused
//!   for a while; and a quota that was only taken by a burst is soon used in full again).
//!
//! A server that throttles every request therefore gets each retry later than the one before
//! (the pace keeps halving, and the retry layer backs off a page refused twice in a row), and
//! the retry budget ends the page with exit 3.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// The default margin: `rate` requests are spread over one second plus this.
pub const DEFAULT_MARGIN: Duration = Duration::from_millis(75);
/// How much each slowdown adds to the margin.
const MARGIN_STEP: Duration = Duration::from_millis(25);
/// The margin never grows past this by itself (a larger configured one is kept).
const MAX_MARGIN: Duration = Duration::from_millis(250);
/// The slowest pace, as a fraction of the fastest: 1 / 32.
const MAX_SLOWDOWN: f64 = 32.0;
/// Recovery below the knee, per success, as a fraction of the fastest pace.
const RECOVERY_STEP: f64 = 1.0 / 8.0;
/// Recovery above the knee (probing), per success, as a fraction of the fastest pace; it
/// doubles after every `PROBE_RUN` successes in a row, up to [`RECOVERY_STEP`].
const PROBE_STEP: f64 = 1.0 / 64.0;
/// Successes in a row after which the probing step doubles.
const PROBE_RUN: u32 = 8;
/// The knee is at least this fraction of the fastest pace.
const MIN_KNEE: f64 = 1.0 / 8.0;
/// The knee, as a fraction of the rate accepted in the second before a throttle.
const KNEE: f64 = 0.9;
/// The unit of the documented limit ("requests per second"): how far back accepted requests
/// are counted for the knee.
const WINDOW: Duration = Duration::from_secs(1);
/// A slot granted at most `margin / 5` late (within these bounds) keeps to the schedule: the
/// next one is due a period after this one was due, not after it was granted. Tokio's timers
/// round up to the millisecond, and a busy machine wakes the pacer late; without this every
/// slot would lose its lateness and the pace would sag under load. The price is that two
/// sends can come closer than a period, by up to this much, which the margin pays for: with
/// the default 75 ms, any `rate + 1` consecutive sends still span a second and 60 ms.
/// (Tokio's own `Interval` keeps to its schedule when up to 5 ms late.)
const ON_TIME_MIN: Duration = Duration::from_millis(5);
const ON_TIME_MAX: Duration = Duration::from_millis(15);

/// Hands out request slots at most `rate` per second, evenly spaced, no bursts, slower after
/// throttling.
#[derive(Debug)]
pub struct Pacer {
    // A tokio mutex queues waiters in FIFO order, so slots go to requests in the order they
    // asked, and no request starves.
    turn: Mutex<()>,
    state: std::sync::Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The configured upper bound, requests per second.
    rate: f64,
    /// `rate` requests are spread over one second plus this.
    margin: Duration,
    /// How far the margin may grow by itself.
    max_margin: Duration,
    /// The current pace, requests per second; at most [`State::fastest`].
    pace: f64,
    /// Below this pace, recovery is quick; above it, it probes.
    knee: f64,
    /// Successes above the knee since the last slowdown.
    probes: u32,
    /// When the requests that got through were sent, the last second or so of them.
    accepted: VecDeque<Instant>,
    /// When the first slot was granted.
    first: Option<Instant>,
    /// When the last slot was due (or granted, if it was granted late).
    last: Option<Instant>,
    /// Counts slowdowns; a slot remembers the epoch it was granted in.
    epoch: u64,
    /// Throttles of requests sent before this are echoes of the pace before the last
    /// slowdown, still in the limiter's memory, and do not slow down again.
    calm_until: Option<Instant>,
}

impl State {
    /// The fastest pace allowed now: `rate` per (one second plus the margin).
    fn fastest(&self) -> f64 {
        self.rate / (1.0 + self.margin.as_secs_f64())
    }

    fn period(&self) -> Duration {
        period_for(self.pace)
    }
}

/// A slot granted by [`Pacer::acquire`]: when, and at which pace epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    at: Instant,
    epoch: u64,
}

impl Slot {
    /// When the slot was granted.
    pub fn at(&self) -> Instant {
        self.at
    }
}

impl Pacer {
    /// A pacer for `rate` requests per second with the [`DEFAULT_MARGIN`] (`rate` must be
    /// positive and finite; the configuration is checked before a pacer is made).
    pub fn new(rate: f64) -> Self {
        Pacer::with_margin(rate, DEFAULT_MARGIN)
    }

    /// A pacer spreading `rate` requests over one second plus `margin`.
    pub fn with_margin(rate: f64, margin: Duration) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        let mut state = State {
            rate,
            margin,
            max_margin: margin.max(MAX_MARGIN),
            pace: 0.0,
            knee: 0.0,
            probes: 0,
            accepted: VecDeque::new(),
            first: None,
            last: None,
            epoch: 0,
            calm_until: None,
        };
        state.pace = state.fastest();
        state.knee = state.pace;
        Pacer {
            turn: Mutex::new(()),
            state: std::sync::Mutex::new(state),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few numbers updated together under the lock; a panic elsewhere
        // cannot leave them unusable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for the next slot. The first slot is granted at once; each following one one
    /// period after the one before — or at once if that time has passed: after an idle
    /// spell (a backoff sleep, a restart pause) there is no burst to "catch up".
    pub async fn acquire(&self) -> Slot {
        let _turn = self.turn.lock().await;
        let due = loop {
            // Read again after every sleep: a slowdown while we slept moves the slot later.
            let due = {
                let s = self.state();
                s.last.map(|last| last + s.period())
            };
            match due {
                Some(due) if due > Instant::now() => tokio::time::sleep_until(due).await,
                _ => break due,
            }
        };
        let now = Instant::now();
        let mut s = self.state();
        s.first.get_or_insert(now);
        let on_time = (s.margin / 5).clamp(ON_TIME_MIN, ON_TIME_MAX);
        s.last = Some(match due {
            Some(due) if now <= due + on_time => due,
            // Late (an idle spell, a busy machine): space the next one from now, no catching up.
            _ => now,
        });
        Slot {
            at: now,
            epoch: s.epoch,
        }
    }

    /// The API throttled the request sent in `slot`: slow down. Returns the new pace when it
    /// changed (`None` when the request was sent before the last slowdown, which already
    /// answered it).
    pub fn throttled(&self, slot: Slot) -> Option<f64> {
        let mut s = self.state();
        if slot.epoch != s.epoch || s.calm_until.is_some_and(|calm| slot.at < calm) {
            return None;
        }
        s.epoch += 1;
        s.margin = (s.margin + MARGIN_STEP).min(s.max_margin);
        let fastest = s.fastest();
        // Early in a fetch the second before the throttle is not all history yet: count over
        // the time since the first slot.
        let span = s
            .first
            .map_or(WINDOW, |first| slot.at.saturating_duration_since(first))
            .min(WINDOW);
        let accepted = s
            .accepted
            .iter()
            .filter(|&&t| t < slot.at && slot.at - t <= span)
            .count() as f64
            / span.as_secs_f64().max(1e-3);
        s.knee = (accepted * KNEE).clamp(fastest * MIN_KNEE, fastest);
        s.probes = 0;
        // A strict limiter remembers a second of arrivals. Sending at half the pace, the
        // arrivals of the last second fall below what it accepted (`accepted`) after
        // 2 × (1 − accepted / pace) of a second; requests sent before that may be refused
        // because of the pace before, not this one.
        let drain = (2.0 * (1.0 - accepted / s.pace)).clamp(0.0, 1.0);
        s.calm_until = Some(Instant::now() + WINDOW.mul_f64(drain));
        s.pace = (s.pace / 2.0).clamp(fastest / MAX_SLOWDOWN, fastest);
        Some(s.pace)
    }

    /// The request sent in `slot` got through: remember it, and speed up a step towards the
    /// fastest pace. Returns the pace when this step reached the fastest again. Only requests
    /// sent at the current pace speed up: one sent before a slowdown says nothing about the
    /// slower pace.
    pub fn succeeded(&self, slot: Slot) -> Option<f64> {
        let mut s = self.state();
        s.accepted.push_back(slot.at);
        // Answers come back in about the order they were sent; keep a little more than a
        // window so that the count before a throttled request is complete.
        while s
            .accepted
            .front()
            .is_some_and(|&t| slot.at.saturating_duration_since(t) > WINDOW * 2)
        {
            s.accepted.pop_front();
        }
        let fastest = s.fastest();
        if slot.epoch != s.epoch || s.pace >= fastest {
            return None;
        }
        let knee = s.knee.min(fastest);
        s.pace = if s.pace < knee {
            (s.pace + fastest * RECOVERY_STEP).min(knee)
        } else {
            // Slowly at first, past where the limiter refused us; faster the longer nothing is
            // refused (the quota was taken by a burst that is over, not shared for good).
            let doublings = (s.probes / PROBE_RUN).min(3);
            s.probes += 1;
            let step = (PROBE_STEP * f64::from(1u32 << doublings)).min(RECOVERY_STEP);
            (s.pace + fastest * step).min(fastest)
        };
        (s.pace >= fastest).then_some(s.pace)
    }

    /// The current spacing between slots.
    pub fn period(&self) -> Duration {
        self.state().period()
    }

    /// The current pace, requests per second.
    pub fn pace(&self) -> f64 {
        self.state().pace
    }

    /// The current margin (the configured one plus what slowdowns added).
    pub fn margin(&self) -> Duration {
        self.state().margin
    }
}

/// `1 / rate` seconds in whole microseconds (so that equal paces give equal periods), at
/// least one microsecond and at most one day.
fn period_for(rate: f64) -> Duration {
    let secs = if rate.is_finite() && rate > 0.0 {
        1.0 / rate
    } else {
        1.0
    };
    Duration::from_micros((secs.clamp(1e-6, 86_400.0) * 1e6).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Largest number of grants inside any half-open window `[t, t + 1 s)`.
    fn max_in_any_second(times: &[Instant]) -> usize {
        let mut sorted = times.to_vec();
        sorted.sort();
        let mut best = 0;
        let mut j = 0;
        for i in 0..sorted.len() {
            while j < sorted.len() && sorted[j] < sorted[i] + Duration::from_secs(1) {
                j += 1;
            }
            best = best.max(j - i);
        }
        best
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    async fn grants(pacer: &Arc<Pacer>, n: usize) -> Vec<Instant> {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let p = pacer.clone();
                tokio::spawn(async move { p.acquire().await.at() })
            })
            .collect();
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap());
        }
        times.sort();
        times
    }

    /// Slot `k` is granted on its schedule, `k` periods after the first, give or take the
    /// millisecond resolution of tokio's timers.
    fn assert_on_schedule(times: &[Instant], period: Duration) {
        for (k, t) in times.iter().enumerate() {
            let due = times[0] + period * k as u32;
            let off = if *t > due { *t - due } else { due - *t };
            assert!(off < ms(1), "slot {k}: {t:?} vs {due:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn spaces_evenly_under_concurrency() {
        // 20 requests per 1.075 s: 53.75 ms apart.
        let pacer = Arc::new(Pacer::new(20.0));
        assert_eq!(pacer.period(), Duration::from_micros(53_750));
        let start = Instant::now();
        let times = grants(&pacer, 100).await;
        assert_eq!(times[0], start);
        assert_on_schedule(&times, pacer.period());
        assert_eq!(max_in_any_second(&times), 19);
        // Any 21 consecutive grants span a second and (nearly) the whole margin.
        assert!(times.windows(21).all(|w| w[20] - w[0] > ms(1074)));
    }

    #[tokio::test(start_paused = true)]
    async fn without_margin_the_rate_is_exact() {
        let pacer = Arc::new(Pacer::with_margin(20.0, Duration::ZERO));
        let times = grants(&pacer, 41).await;
        for pair in times.windows(2) {
            assert_eq!(pair[1] - pair[0], ms(50));
        }
        assert_eq!(max_in_any_second(&times), 20);
    }

    #[tokio::test(start_paused = true)]
    async fn no_burst_after_idle() {
        let pacer = Pacer::new(10.0);
        let mut times = vec![pacer.acquire().await.at(), pacer.acquire().await.at()];
        tokio::time::sleep(Duration::from_secs(5)).await;
        for _ in 0..30 {
            times.push(pacer.acquire().await.at());
        }
        assert!(max_in_any_second(&times) <= 10);
        for pair in times[2..].windows(2) {
            assert!(pair[1] - pair[0] >= ms(100));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_slows_every_request_then_the_pace_recovers() {
        let pacer = Arc::new(Pacer::new(20.0));
        let fastest = pacer.pace();
        assert!((fastest - 20.0 / 1.075).abs() < 1e-9);
        // Two seconds of requests at the fastest pace, all through but the last.
        let mut slots = Vec::new();
        for _ in 0..40 {
            slots.push(pacer.acquire().await);
        }
        let (last, through) = slots.split_last().unwrap();
        for slot in through {
            assert_eq!(pacer.succeeded(*slot), None, "already at the fastest");
        }

        // Halved, and the margin grew: 20 per 1.1 s is the fastest from now on.
        let slowed = pacer.throttled(*last).expect("slows down");
        let new_fastest = 20.0 / 1.1;
        assert!((slowed - fastest / 2.0).abs() < 1e-9, "{slowed}");
        assert_eq!(pacer.margin(), ms(100));
        // The slots after `last` come one slow period apart, for every waiter.
        let times = grants(&pacer, 3).await;
        let slow = period_for(slowed);
        assert!(
            times[0] - last.at() >= slow - ms(1),
            "{:?}",
            times[0] - last.at()
        );
        assert_on_schedule(&times, slow);
        assert!(slow > ms(107), "{slow:?}");

        // A success of a request sent before the slowdown does not speed up.
        assert_eq!(pacer.succeeded(through[38]), None);
        assert!((pacer.pace() - slowed).abs() < 1e-9);

        // Requests sent at the slow pace get through: quickly back to the knee, nine tenths
        // of the 18 requests accepted in the second before the throttle…
        let mut paces = Vec::new();
        let recovered = loop {
            let slot = pacer.acquire().await;
            if let Some(pace) = pacer.succeeded(slot) {
                break pace;
            }
            paces.push(pacer.pace());
        };
        assert!((paces[3] - 0.9 * 18.0).abs() < 1e-9, "{paces:?}");
        // … then in small steps to the fastest.
        assert!((recovered - new_fastest).abs() < 1e-9, "{recovered}");
        assert_eq!(paces.len(), 10, "{paces:?}");
        assert_eq!(pacer.period(), period_for(new_fastest));
        let times = grants(&pacer, 5).await;
        assert_on_schedule(&times, period_for(new_fastest));
    }

    #[tokio::test(start_paused = true)]
    async fn throttles_of_requests_sent_before_a_slowdown_count_once() {
        let pacer = Pacer::new(20.0);
        let in_flight: Vec<Slot> = [
            pacer.acquire().await,
            pacer.acquire().await,
            pacer.acquire().await,
        ]
        .into();
        let fastest = pacer.pace();
        assert!(pacer.throttled(in_flight[0]).is_some());
        assert_eq!(pacer.throttled(in_flight[1]), None);
        assert_eq!(pacer.throttled(in_flight[2]), None);
        assert!((pacer.pace() - fastest / 2.0).abs() < 1e-9);
    }

    /// Nothing got through before the throttle: a strict limiter may hold a full second of
    /// our arrivals, so throttles in the second after the slowdown are its echo and do not
    /// halve the pace again. After that second they do.
    #[tokio::test(start_paused = true)]
    async fn throttles_while_the_limiter_drains_do_not_slow_down_again() {
        let pacer = Pacer::new(20.0);
        let fastest = pacer.pace();
        let first = pacer.acquire().await;
        let cut = Instant::now();
        assert!(pacer.throttled(first).is_some());
        loop {
            let slot = pacer.acquire().await;
            if slot.at() < cut + WINDOW {
                assert_eq!(pacer.throttled(slot), None);
            } else {
                assert!(pacer.throttled(slot).is_some());
                break;
            }
        }
        assert!((pacer.pace() - fastest / 4.0).abs() < 1e-9);
    }

    /// Everything got through before the throttle (a jitter accident): no echo to wait for,
    /// a throttle of the next request halves again.
    #[tokio::test(start_paused = true)]
    async fn after_a_jitter_accident_the_next_throttle_counts_at_once() {
        let pacer = Pacer::new(20.0);
        let mut last = pacer.acquire().await;
        for _ in 0..30 {
            pacer.succeeded(last);
            last = pacer.acquire().await;
        }
        assert!(pacer.throttled(last).is_some());
        let next = pacer.acquire().await;
        assert!(pacer.throttled(next).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn the_slowdown_and_the_margin_are_bounded() {
        let pacer = Pacer::new(20.0);
        for _ in 0..100 {
            let slot = pacer.acquire().await;
            pacer.throttled(slot);
        }
        assert_eq!(pacer.margin(), MAX_MARGIN);
        let slowest = 20.0 / 1.25 / MAX_SLOWDOWN;
        assert!((pacer.pace() - slowest).abs() < 1e-9, "{}", pacer.pace());
        let a = pacer.acquire().await.at();
        let b = pacer.acquire().await.at();
        assert!(b - a >= period_for(slowest) - ms(1) && b - a <= period_for(slowest) + ms(1));
        // A configured margin above the cap is kept, not grown.
        let pacer = Pacer::with_margin(20.0, ms(400));
        let slot = pacer.acquire().await;
        pacer.throttled(slot);
        assert_eq!(pacer.margin(), ms(400));
    }

    #[test]
    fn odd_rates_do_not_panic() {
        assert_eq!(period_for(0.0), Duration::from_secs(1));
        assert_eq!(period_for(f64::NAN), Duration::from_secs(1));
        assert_eq!(period_for(1e12), Duration::from_micros(1));
        assert_eq!(period_for(0.5), Duration::from_secs(2));
        assert_eq!(Pacer::new(f64::NAN).period(), ms(1075));
    }
}
