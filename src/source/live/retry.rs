//! Retries of one page request: which failures are retried (docs/live.md, "Pacing, retries, restarts"),
//! the exponential backoff with jitter (`backon`'s delay iterator, slept on tokio's clock),
//! and the bounds on attempts and time. Every attempt, retries included, takes a slot from
//! the pacer, so retries never push the request rate above `--rate`.
//!
//! Throttling (`RequestLimitExceeded*`, HTTP 429) is the exception to backing off: it says the
//! whole fetch is too fast, not that this request met an accident, so the pacer is told (it
//! slows every request down, see `pacer`) and the page is asked for again at the next free
//! slot. Sleeping a backoff instead would leave the quota unused for a second per throttle
//! and keep nothing else from running into it. A page refused again right after that retry
//! backs off as well: the quota is taken, not just tight. The budget still bounds the page: a
//! server that throttles every request ends it with exit 3.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::time::Instant;

use super::action::Action;
use super::client::{ActionClient, CallError, Page};
use super::credentials::Credentials;
use super::error::{ApiError, ApiErrorKind, FetchError};
use super::pacer::Pacer;
use super::{FetchProgress, RetryBudget};

/// What the retry layer needs from a listing's client: the HTTP client for one action
/// ([`ActionClient`]), or in tests a simulated service on tokio's clock, so that pacing and
/// throttling can be checked under paused time.
pub(crate) trait Transport: Sync {
    /// The action listed.
    fn action(&self) -> &'static Action;
    /// One call for the page at `offset`.
    fn page(&self, offset: u64) -> impl Future<Output = Result<Page, CallError>> + Send;
    /// `Limit` of each request.
    fn page_size(&self) -> u32;
    /// Time limit of one request (for the error).
    fn timeout(&self) -> Duration;
    /// Largest accepted body (for the error).
    fn max_response_bytes(&self) -> usize;
    /// Who signs (the error names the SecretId, never the key).
    fn credentials(&self) -> &Credentials;
}

impl Transport for ActionClient<'_> {
    fn action(&self) -> &'static Action {
        self.action
    }
    fn page(&self, offset: u64) -> impl Future<Output = Result<Page, CallError>> + Send {
        self.client.page(self.action, self.filters, offset)
    }
    fn page_size(&self) -> u32 {
        self.client.page_size()
    }
    fn timeout(&self) -> Duration {
        self.client.timeout()
    }
    fn max_response_bytes(&self) -> usize {
        self.client.max_response_bytes()
    }
    fn credentials(&self) -> &Credentials {
        self.client.credentials()
    }
}

/// What to do after a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Transient: back off and try again while the budget lasts.
    Backoff,
    /// Throttled: slow the pacer down and try again at the next slot while the budget lasts.
    Slowdown,
    /// `AuthFailure.SignatureExpire`: sign again with a fresh timestamp, once, at once.
    Resign,
    /// Retrying cannot help.
    Fail,
}

/// Classifies a failure. Throttling slows down; transport errors, timeouts, HTTP 5xx,
/// unreadable bodies and the transient API codes are retried after a backoff; everything else
/// fails fast.
pub(crate) fn decide(err: &CallError) -> Decision {
    match err {
        CallError::Transport {
            permanent: true, ..
        } => Decision::Fail,
        CallError::Transport { .. } | CallError::Timeout => Decision::Backoff,
        CallError::Http { status: 429, .. } => Decision::Slowdown,
        CallError::Http { status, .. } if *status >= 500 => Decision::Backoff,
        CallError::Http { .. } => Decision::Fail,
        // A truncated or garbled body is a transport accident on an idempotent read.
        CallError::Malformed(_) => Decision::Backoff,
        // Retrying an oversized answer, or one the API means as sent, gets the same answer.
        CallError::TooLarge | CallError::ItemWithoutId { .. } | CallError::ItemModel { .. } => {
            Decision::Fail
        }
        CallError::Api { code, .. } => match ApiErrorKind::of(code) {
            ApiErrorKind::Throttled => Decision::Slowdown,
            ApiErrorKind::ServerError => Decision::Backoff,
            ApiErrorKind::SignatureExpire => Decision::Resign,
            _ => Decision::Fail,
        },
    }
}

/// A short, secret-free name for a failure, for progress events.
fn reason(err: &CallError) -> String {
    match err {
        CallError::Transport { .. } => "network error".to_owned(),
        CallError::Timeout => "timeout".to_owned(),
        CallError::Http { status, .. } => format!("HTTP {status}"),
        CallError::Malformed(_) => "unreadable response".to_owned(),
        CallError::TooLarge => "response too large".to_owned(),
        CallError::ItemWithoutId { .. } => "item without its id".to_owned(),
        CallError::ItemModel { .. } => "item outside the documented model".to_owned(),
        CallError::Api { code, .. } => code.clone(),
    }
}

/// Shared counters of a fetch (pages are fetched concurrently, so atomics).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    /// Requests answered with throttling.
    pub(crate) throttled: AtomicU64,
}

/// Makes page requests: pacing, retrying, and turning the last failure into a [`FetchError`].
pub(crate) struct Caller<'a, T> {
    pub(crate) client: &'a T,
    pub(crate) pacer: &'a Pacer,
    pub(crate) budget: &'a RetryBudget,
    pub(crate) counters: &'a Counters,
    pub(crate) progress: &'a (dyn Fn(FetchProgress) + Send + Sync),
}

impl<T: Transport> Caller<'_, T> {
    /// Fetches the page at `offset`, retrying within the budget.
    pub(crate) async fn page(&self, offset: u64) -> Result<Page, FetchError> {
        let started = Instant::now();
        let mut delays = ExponentialBuilder::new()
            .with_min_delay(self.budget.min_delay)
            .with_max_delay(self.budget.max_delay)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .with_total_delay(Some(self.budget.max_elapsed))
            .build();
        let mut attempts: u32 = 0;
        let mut resigned = false;
        let mut throttled_in_a_row = 0;
        // The failure a coming retry answers.
        let mut retrying: Option<CallError> = None;
        loop {
            let slot = self.pacer.acquire().await;
            if let Some(err) = retrying.take() {
                // Waiting for the slot counts too: a slowed-down pacer must not start a retry
                // past the budget.
                if started.elapsed() > self.budget.max_elapsed {
                    return Err(self.give_up(err, offset, attempts, started.elapsed()));
                }
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            attempts += 1;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            (self.progress)(FetchProgress::Request {
                offset,
                attempt: attempts,
            });
            let err = match self.client.page(offset).await {
                Ok(page) => {
                    if let Some(rate) = self.pacer.succeeded(slot) {
                        (self.progress)(FetchProgress::Pace { rate });
                    }
                    return Ok(page);
                }
                Err(e) => e,
            };
            if decide(&err) != Decision::Slowdown {
                throttled_in_a_row = 0;
            }
            let delay = match decide(&err) {
                Decision::Fail => None,
                // The client signs every attempt with the current time, so trying again *is*
                // re-signing. Once only: a second refusal means the clock really is off.
                Decision::Resign if !resigned => {
                    resigned = true;
                    Some(Duration::ZERO)
                }
                Decision::Resign => None,
                Decision::Slowdown => {
                    self.counters.throttled.fetch_add(1, Ordering::Relaxed);
                    if let Some(rate) = self.pacer.throttled(slot) {
                        (self.progress)(FetchProgress::Pace { rate });
                    }
                    throttled_in_a_row += 1;
                    if throttled_in_a_row == 1 {
                        // The pacer's slower pace is the wait: the next free slot.
                        Some(Duration::ZERO)
                    } else {
                        // Refused again at the slower pace: the quota is taken, not just
                        // tight. Back off too, so a page keeps trying for a while.
                        delays.next()
                    }
                }
                Decision::Backoff => delays.next(),
            };
            // A server that says how long to wait is heard: never sooner than that.
            let delay = match (&err, delay) {
                (
                    CallError::Http {
                        retry_after: Some(wait),
                        ..
                    },
                    Some(d),
                ) => Some(d.max(*wait)),
                (_, delay) => delay,
            };
            let within_budget = |d: Duration| {
                attempts < self.budget.max_attempts.max(1)
                    && started.elapsed() + d <= self.budget.max_elapsed
            };
            match delay {
                Some(d) if within_budget(d) => {
                    (self.progress)(FetchProgress::Retry {
                        offset,
                        attempt: attempts + 1,
                        delay: d,
                        reason: reason(&err),
                    });
                    if !d.is_zero() {
                        tokio::time::sleep(d).await;
                    }
                    retrying = Some(err);
                }
                _ => return Err(self.give_up(err, offset, attempts, started.elapsed())),
            }
        }
    }

    fn give_up(&self, err: CallError, offset: u64, attempts: u32, elapsed: Duration) -> FetchError {
        match err {
            CallError::Transport { detail, permanent } => FetchError::Transport {
                offset,
                detail,
                permanent,
                attempts,
                elapsed,
            },
            CallError::Timeout => FetchError::Timeout {
                offset,
                timeout: self.client.timeout(),
                attempts,
                elapsed,
            },
            CallError::Http { status, body, .. } => FetchError::HttpStatus {
                offset,
                status,
                body,
                attempts,
                elapsed,
            },
            CallError::Malformed(detail) => FetchError::MalformedResponse {
                offset,
                detail,
                attempts,
                elapsed,
            },
            CallError::TooLarge => FetchError::ResponseTooLarge {
                offset,
                limit: self.client.max_response_bytes(),
            },
            CallError::ItemWithoutId {
                position,
                request_id,
            } => FetchError::ImageWithoutId {
                action: self.client.action(),
                offset,
                position,
                request_id,
            },
            CallError::ItemModel {
                position,
                detail,
                request_id,
            } => FetchError::ItemModel {
                action: self.client.action(),
                offset,
                position,
                detail,
                request_id,
            },
            CallError::Api {
                code,
                message,
                request_id,
            } => {
                let creds = self.client.credentials();
                FetchError::from(ApiError {
                    action: self.client.action().name,
                    kind: ApiErrorKind::of(&code),
                    code,
                    message,
                    request_id,
                    offset,
                    attempts,
                    elapsed,
                    secret_id: creds.secret_id().to_owned(),
                    credentials_origin: creds.origin().to_owned(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str) -> CallError {
        CallError::Api {
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
        }
    }

    /// Each failure is retried, slowed down for, re-signed or final as docs/live.md
    /// ("Pacing, retries, restarts") lists it.
    #[test]
    fn each_failure_is_retried_or_final_as_docs_live_lists_it() {
        use Decision::*;
        for (err, want) in [
            (
                CallError::Transport {
                    detail: "x".into(),
                    permanent: false,
                },
                Backoff,
            ),
            (
                CallError::Transport {
                    detail: "invalid peer certificate: UnknownIssuer".into(),
                    permanent: true,
                },
                Fail,
            ),
            (CallError::Timeout, Backoff),
            (
                CallError::Http {
                    status: 502,
                    body: String::new(),
                    retry_after: None,
                },
                Backoff,
            ),
            (
                CallError::Http {
                    status: 404,
                    body: String::new(),
                    retry_after: None,
                },
                Fail,
            ),
            (CallError::Malformed("x".into()), Backoff),
            (CallError::TooLarge, Fail),
            (
                CallError::Http {
                    status: 429,
                    body: String::new(),
                    retry_after: None,
                },
                Slowdown,
            ),
            (api("RequestLimitExceeded"), Slowdown),
            (api("RequestLimitExceeded.IPLimitExceeded"), Slowdown),
            (api("InternalError"), Backoff),
            (api("ServiceUnavailable"), Backoff),
            (api("FailedOperation.InternalOperationFailure"), Backoff),
            (api("ResourceUnavailable"), Backoff),
            (api("AuthFailure.SignatureExpire"), Resign),
            (api("AuthFailure.SignatureFailure"), Fail),
            (api("AuthFailure.SecretIdNotFound"), Fail),
            (api("AuthFailure.UnauthorizedOperation"), Fail),
            (api("UnauthorizedOperation.ForbiddenOperation"), Fail),
            (api("InvalidParameterValue.InvaildPageParam"), Fail),
            (api("InvalidParameter"), Fail),
            (api("MissingParameter"), Fail),
            (api("UnknownParameter"), Fail),
            (api("InvalidAction"), Fail),
            (api("NoSuchVersion"), Fail),
            (api("ActionOffline"), Fail),
            (api("UnsupportedRegion"), Fail),
            (api("LimitExceeded"), Fail),
            (api("IpInBlacklist"), Fail),
            (api("IpNotInWhitelist"), Fail),
            (api("RequestSizeLimitExceeded"), Fail),
            (api("ResponseSizeLimitExceeded"), Fail),
        ] {
            assert_eq!(decide(&err), want, "{err:?}");
        }
    }
}
