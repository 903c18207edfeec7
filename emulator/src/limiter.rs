//! The emulator's rate limiters and arrival jitter: which requests are over the limit, and
//! how late each request reaches the limiter.
//!
//! Tencent documents "20 requests per second" for `DescribeImage` but not how its limiter
//! counts, so the emulator offers two readings and a client has to stay under both:
//!
//! - [`LimiterKind::TokenBucket`] (lenient, the default): a bucket of `limit` tokens refilled
//!   at `limit` per second. It forgives a request that comes a little early after one that
//!   came a little late, so a client pacing itself exactly at the limit passes.
//! - [`LimiterKind::SlidingWindow`] (strict): a request is refused when `limit` requests
//!   already arrived in the second before it, and a refused request counts too. A client
//!   pacing itself exactly at the limit is refused whenever jitter brings a `limit + 1`-th
//!   request inside some second, and a client that answers refusals by retrying at once
//!   only keeps the window full.
//!
//! [`Jitter`] makes the strict reading bite deterministically: each request reaches the
//! limiter after an extra delay drawn from a seeded sequence, as network and scheduling
//! noise would add.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How a requests-per-second limit counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LimiterKind {
    /// A token bucket of `limit` tokens refilled at `limit` per second.
    #[default]
    TokenBucket,
    /// A sliding one-second window over arrival times in which refused requests count too.
    SlidingWindow,
}

/// A requests-per-second limiter. Time is passed in, so tests can drive it with any clock.
#[derive(Debug)]
pub struct Limiter {
    limit: u32,
    state: State,
}

#[derive(Debug)]
enum State {
    Bucket { tokens: f64, last: Instant },
    // Arrival times of the last second, oldest first; arrivals are passed in order.
    Window(VecDeque<Instant>),
}

const WINDOW: Duration = Duration::from_secs(1);

impl Limiter {
    /// A limiter of `limit` requests per second (at least 1), starting full at `now`.
    pub fn new(kind: LimiterKind, limit: u32, now: Instant) -> Self {
        let limit = limit.max(1);
        let state = match kind {
            LimiterKind::TokenBucket => State::Bucket {
                tokens: f64::from(limit),
                last: now,
            },
            LimiterKind::SlidingWindow => State::Window(VecDeque::new()),
        };
        Limiter { limit, state }
    }

    /// The limit, requests per second.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Which reading of the limit this is.
    pub fn kind(&self) -> LimiterKind {
        match self.state {
            State::Bucket { .. } => LimiterKind::TokenBucket,
            State::Window(_) => LimiterKind::SlidingWindow,
        }
    }

    /// Counts a request arriving at `now` (not earlier than any previous one) and says
    /// whether it is within the limit.
    pub fn admit(&mut self, now: Instant) -> bool {
        let limit = self.limit;
        match &mut self.state {
            State::Bucket { tokens, last } => {
                let refill = now.saturating_duration_since(*last).as_secs_f64() * f64::from(limit);
                *tokens = (*tokens + refill).min(f64::from(limit));
                *last = now.max(*last);
                if *tokens >= 1.0 {
                    *tokens -= 1.0;
                    true
                } else {
                    false
                }
            }
            State::Window(arrivals) => {
                // The window is (now - 1 s, now]: a request exactly one second after
                // another no longer sees it.
                while arrivals
                    .front()
                    .is_some_and(|&t| now.saturating_duration_since(t) >= WINDOW)
                {
                    arrivals.pop_front();
                }
                let admitted = arrivals.len() < limit as usize;
                // Refused requests count as well: that is what makes retrying at once useless.
                arrivals.push_back(now);
                admitted
            }
        }
    }
}

/// Arrival jitter: request number `n` (0-based, in order of reaching the server) is held for
/// a delay drawn uniformly from `[0, 2 × amplitude]` before the limiter counts it, that is
/// `± amplitude` around a mean of `amplitude`. The sequence of delays depends only on the
/// seed, so a run can be repeated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Jitter {
    /// Half the spread of the delays; zero: no jitter.
    pub amplitude: Duration,
    /// Chooses the sequence of delays.
    pub seed: u64,
}

impl Jitter {
    /// No jitter.
    pub fn none() -> Self {
        Jitter::default()
    }

    /// `± amplitude`, with this seed.
    pub fn new(amplitude: Duration, seed: u64) -> Self {
        Jitter { amplitude, seed }
    }

    /// The extra delay of request number `n`.
    pub fn delay(&self, n: u64) -> Duration {
        let spread = self.amplitude.as_micros().saturating_mul(2);
        if spread == 0 {
            return Duration::ZERO;
        }
        let spread = u64::try_from(spread).unwrap_or(u64::MAX);
        let draw = splitmix64(self.seed ^ splitmix64(n)) % spread.saturating_add(1);
        Duration::from_micros(draw)
    }
}

/// splitmix64: a stateless, well-spread hash of a counter.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The largest number of `times` (sorted ascending) inside any window `[t, t + window)`.
pub fn busiest(times: &[Duration], window: Duration) -> usize {
    let mut best = 0;
    let mut j = 0;
    for i in 0..times.len() {
        while j < times.len() && times[j] < times[i] + window {
            j += 1;
        }
        best = best.max(j - i);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn sliding_window_counts_refused_requests() {
        let t0 = Instant::now();
        let mut l = Limiter::new(LimiterKind::SlidingWindow, 3, t0);
        assert!(l.admit(t0));
        assert!(l.admit(t0 + ms(100)));
        assert!(l.admit(t0 + ms(200)));
        assert!(!l.admit(t0 + ms(900)), "a fourth inside one second");
        // The first left the window, but the refused one at 900 ms still counts.
        assert!(!l.admit(t0 + ms(1000)));
        // By 1200 ms only 900 and 1000 remain.
        assert!(l.admit(t0 + ms(1200)));
    }

    #[test]
    fn exact_pacing_passes_only_without_jitter() {
        let t0 = Instant::now();
        let mut l = Limiter::new(LimiterKind::SlidingWindow, 20, t0);
        assert!((0..100).all(|k| l.admit(t0 + ms(50 * k))));
        // One request 1 ms early is one too many in its second.
        let mut l = Limiter::new(LimiterKind::SlidingWindow, 20, t0);
        assert!((0..20).all(|k| l.admit(t0 + ms(50 * k))));
        assert!(!l.admit(t0 + ms(999)));
    }

    #[test]
    fn the_bucket_forgives_early_arrivals() {
        let t0 = Instant::now();
        let mut l = Limiter::new(LimiterKind::TokenBucket, 20, t0);
        assert!((0..20).all(|k| l.admit(t0 + ms(50 * k))));
        assert!(l.admit(t0 + ms(999)));
        // But not a burst beyond the bucket.
        let mut l = Limiter::new(LimiterKind::TokenBucket, 20, t0);
        assert_eq!((0..25).filter(|_| l.admit(t0)).count(), 20);
    }

    #[test]
    fn jitter_is_seeded_and_bounded() {
        let j = Jitter::new(ms(20), 7);
        let a: Vec<_> = (0..1000).map(|n| j.delay(n)).collect();
        let b: Vec<_> = (0..1000).map(|n| Jitter::new(ms(20), 7).delay(n)).collect();
        assert_eq!(a, b);
        assert!(a.iter().all(|d| *d <= ms(40)));
        // Spread over the whole range, not stuck at one end.
        assert!(a.iter().any(|d| *d < ms(5)) && a.iter().any(|d| *d > ms(35)));
        let other: Vec<_> = (0..1000).map(|n| Jitter::new(ms(20), 8).delay(n)).collect();
        assert_ne!(a, other);
        assert_eq!(Jitter::none().delay(3), Duration::ZERO);
    }

    #[test]
    fn busiest_window() {
        let times = [ms(0), ms(10), ms(990), ms(1000), ms(1500)];
        assert_eq!(busiest(&times, ms(1000)), 3);
        assert_eq!(busiest(&[], ms(1000)), 0);
    }
}
