//! Retries of one page request: which failures are retried (docs/live.md, "Pacing, retries, restarts"),
//! the exponential backoff with jitter (`backon`'s delay iterator, slept on tokio's clock),
//! and the bounds on attempts and time. Every attempt, retries included, takes a slot from
//! the pacer, so retries never push the request rate above `--rate`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::time::Instant;

use super::client::{CallError, Client, Page};
use super::error::{ApiError, ApiErrorKind, FetchError};
use super::pacer::Pacer;
use super::{FetchProgress, RetryBudget};

/// What to do after a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Transient: back off and try again while the budget lasts.
    Backoff,
    /// `AuthFailure.SignatureExpire`: sign again with a fresh timestamp, once, at once.
    Resign,
    /// Retrying cannot help.
    Fail,
}

/// Classifies a failure. Transport errors, timeouts, HTTP 5xx/429, unreadable bodies and the
/// transient API codes are retried; everything else fails fast.
pub(crate) fn decide(err: &CallError) -> Decision {
    match err {
        CallError::Transport(_) | CallError::Timeout => Decision::Backoff,
        CallError::Http { status, .. } if *status >= 500 || *status == 429 => Decision::Backoff,
        CallError::Http { .. } => Decision::Fail,
        // A truncated or garbled body is a transport accident on an idempotent read.
        CallError::Malformed(_) => Decision::Backoff,
        // Retrying an oversized answer, or one the API means as sent, gets the same answer.
        CallError::TooLarge | CallError::ImageWithoutId { .. } => Decision::Fail,
        CallError::Api { code, .. } => match ApiErrorKind::of(code) {
            ApiErrorKind::Throttled | ApiErrorKind::ServerError => Decision::Backoff,
            ApiErrorKind::SignatureExpire => Decision::Resign,
            _ => Decision::Fail,
        },
    }
}

/// `RequestLimitExceeded*` or HTTP 429.
fn is_throttling(err: &CallError) -> bool {
    match err {
        CallError::Api { code, .. } => ApiErrorKind::of(code) == ApiErrorKind::Throttled,
        CallError::Http { status, .. } => *status == 429,
        _ => false,
    }
}

/// A short, secret-free name for a failure, for progress events.
fn reason(err: &CallError) -> String {
    match err {
        CallError::Transport(_) => "network error".to_owned(),
        CallError::Timeout => "timeout".to_owned(),
        CallError::Http { status, .. } => format!("HTTP {status}"),
        CallError::Malformed(_) => "unreadable response".to_owned(),
        CallError::TooLarge => "response too large".to_owned(),
        CallError::ImageWithoutId { .. } => "image without ImageId".to_owned(),
        CallError::Api { code, .. } => code.clone(),
    }
}

/// Shared counters of a fetch (pages are fetched concurrently, so atomics).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
}

/// Makes page requests: pacing, retrying, and turning the last failure into a [`FetchError`].
pub(crate) struct Caller<'a> {
    pub(crate) client: &'a Client,
    pub(crate) pacer: &'a Pacer,
    pub(crate) budget: &'a RetryBudget,
    pub(crate) counters: &'a Counters,
    pub(crate) progress: &'a (dyn Fn(FetchProgress) + Send + Sync),
}

impl Caller<'_> {
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
        loop {
            self.pacer.acquire().await;
            attempts += 1;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            (self.progress)(FetchProgress::Request {
                offset,
                attempt: attempts,
            });
            let err = match self.client.describe_image(offset).await {
                Ok(page) => return Ok(page),
                Err(e) => e,
            };
            let delay = match decide(&err) {
                Decision::Fail => None,
                // The client signs every attempt with the current time, so trying again *is*
                // re-signing. Once only: a second refusal means the clock really is off.
                Decision::Resign if !resigned => {
                    resigned = true;
                    Some(Duration::ZERO)
                }
                Decision::Resign => None,
                Decision::Backoff => delays.next(),
            };
            let within_budget = |d: Duration| {
                attempts < self.budget.max_attempts.max(1)
                    && started.elapsed() + d <= self.budget.max_elapsed
            };
            if let Some(d) = delay
                && is_throttling(&err)
            {
                // The service says we are too fast for the quota: everyone waits.
                self.pacer.hold_off(d);
            }
            match delay {
                Some(d) if within_budget(d) => {
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    (self.progress)(FetchProgress::Retry {
                        offset,
                        attempt: attempts + 1,
                        delay: d,
                        reason: reason(&err),
                    });
                    if !d.is_zero() {
                        tokio::time::sleep(d).await;
                    }
                }
                _ => return Err(self.give_up(err, offset, attempts, started.elapsed())),
            }
        }
    }

    fn give_up(&self, err: CallError, offset: u64, attempts: u32, elapsed: Duration) -> FetchError {
        match err {
            CallError::Transport(detail) => FetchError::Transport {
                offset,
                detail,
                attempts,
                elapsed,
            },
            CallError::Timeout => FetchError::Timeout {
                offset,
                timeout: self.client.timeout(),
                attempts,
                elapsed,
            },
            CallError::Http { status, body } => FetchError::HttpStatus {
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
            CallError::ImageWithoutId {
                position,
                request_id,
            } => FetchError::ImageWithoutId {
                offset,
                position,
                request_id,
            },
            CallError::Api {
                code,
                message,
                request_id,
            } => {
                let creds = self.client.credentials();
                FetchError::from(ApiError {
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

    #[test]
    fn decisions_follow_the_spec() {
        use Decision::*;
        for (err, want) in [
            (CallError::Transport("x".into()), Backoff),
            (CallError::Timeout, Backoff),
            (
                CallError::Http {
                    status: 502,
                    body: String::new(),
                },
                Backoff,
            ),
            (
                CallError::Http {
                    status: 404,
                    body: String::new(),
                },
                Fail,
            ),
            (CallError::Malformed("x".into()), Backoff),
            (CallError::TooLarge, Fail),
            (api("RequestLimitExceeded"), Backoff),
            (api("RequestLimitExceeded.IPLimitExceeded"), Backoff),
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
