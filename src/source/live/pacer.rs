//! The request pacer: every request of a fetch (first attempts and retries alike) waits for a
//! slot here, and slots are spaced evenly at `1 / rate` seconds on tokio's clock.
//!
//! Why not a token bucket (`governor`): a bucket lets a burst through after an idle spell,
//! and the API counts requests per second; even spacing never puts more than `rate` requests
//! in any one-second window. Why tokio's clock: tests run with paused time and check the
//! spacing exactly without waiting.
//!
//! When the API throttles us anyway (another client may share the account's quota), the
//! retry layer calls [`Pacer::hold_off`]: no slot is granted to *any* request before the
//! hold ends, so the whole fetch slows down together instead of every queued request running
//! into the limit and spending its own retry budget.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// Hands out request slots at most `rate` per second, evenly spaced, no bursts.
#[derive(Debug)]
pub struct Pacer {
    // A tokio mutex queues waiters in FIFO order, so slots go to requests in the order they
    // asked, and no request starves.
    interval: Mutex<Interval>,
    period: Duration,
    hold_until: std::sync::Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer for `rate` requests per second (`rate` must be positive and finite; the
    /// configuration is checked before a pacer is made).
    pub fn new(rate: f64) -> Self {
        let period = period_for(rate);
        let mut interval = tokio::time::interval(period);
        // After an idle spell (a backoff sleep, a restart pause) the next slot is given at
        // once and the following ones are spaced from it again: `Delay` never bursts to
        // "catch up" on missed slots, which `Burst` (the default) would.
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Pacer {
            interval: Mutex::new(interval),
            period,
            hold_until: std::sync::Mutex::new(None),
        }
    }

    /// Waits for the next slot and returns the instant it was granted.
    pub async fn acquire(&self) -> Instant {
        let mut interval = self.interval.lock().await;
        let granted = interval.tick().await;
        let hold = *self.hold_until.lock().unwrap_or_else(|e| e.into_inner());
        match hold {
            Some(until) if until > granted => {
                // Sleeping with the interval locked keeps everyone else queued behind us.
                tokio::time::sleep_until(until).await;
                // Space the following slots from now: without the reset, the tick that fell
                // due during the hold would be granted at once, two slots in one period.
                interval.reset();
                Instant::now()
            }
            _ => granted,
        }
    }

    /// No slot is granted before `delay` from now (a throttling answer was received).
    pub fn hold_off(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut hold = self.hold_until.lock().unwrap_or_else(|e| e.into_inner());
        if hold.is_none_or(|h| h < until) {
            *hold = Some(until);
        }
    }

    /// The spacing between slots.
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// `1 / rate` seconds, at least one microsecond (tokio's interval rejects a zero period) and at
/// most one day.
fn period_for(rate: f64) -> Duration {
    let secs = if rate.is_finite() && rate > 0.0 {
        1.0 / rate
    } else {
        1.0
    };
    Duration::from_secs_f64(secs.clamp(1e-6, 86_400.0))
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

    #[tokio::test(start_paused = true)]
    async fn spaces_evenly_under_concurrency() {
        let pacer = Arc::new(Pacer::new(20.0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let p = pacer.clone();
            tasks.push(tokio::spawn(async move { p.acquire().await }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap());
        }
        times.sort();
        assert_eq!(times[0], start);
        for pair in times.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(50));
        }
        assert_eq!(max_in_any_second(&times), 20);
    }

    #[tokio::test(start_paused = true)]
    async fn no_burst_after_idle() {
        let pacer = Pacer::new(10.0);
        let mut times = vec![pacer.acquire().await, pacer.acquire().await];
        tokio::time::sleep(Duration::from_secs(5)).await;
        for _ in 0..30 {
            times.push(pacer.acquire().await);
        }
        assert!(max_in_any_second(&times) <= 10);
        for pair in times[2..].windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(100));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn hold_off_delays_every_request_then_spaces_again() {
        let pacer = Arc::new(Pacer::new(20.0));
        let start = Instant::now();
        assert_eq!(pacer.acquire().await, start);
        pacer.hold_off(Duration::from_secs(2));
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let p = pacer.clone();
            tasks.push(tokio::spawn(async move { p.acquire().await }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap());
        }
        times.sort();
        assert_eq!(times[0], start + Duration::from_secs(2));
        for pair in times.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(50));
        }
        // A shorter hold never shortens a longer one.
        pacer.hold_off(Duration::from_secs(3));
        pacer.hold_off(Duration::from_secs(1));
        let next = pacer.acquire().await;
        assert!(next >= times[4] + Duration::from_secs(3));
    }

    #[test]
    fn odd_rates_do_not_panic() {
        assert_eq!(period_for(0.0), Duration::from_secs(1));
        assert_eq!(period_for(f64::NAN), Duration::from_secs(1));
        assert_eq!(period_for(1e12), Duration::from_micros(1));
        assert_eq!(period_for(0.5), Duration::from_secs(2));
    }
}
