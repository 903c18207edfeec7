//! The write client: the only code in ecmguard that sends `DeleteImage` or
//! `ModifyImageAttribute`. It lives apart from the read path (`source::live` knows no write
//! action, and nothing under `source`, `app::check`, `app::fetch` or the planner imports this
//! module), so `check`, `fetch` and `plan` cannot reach it.
//!
//! A write goes out through the session's signed client (TC3 over the exact body bytes, the
//! same headers as a read), paced by its own action's pacer at `--rate`. Failures are
//! classified by the read path's rules (`source::live::retry::decide`), then read as a write
//! must be read: what the service *refused* did nothing and what never reached it did
//! nothing, but a write whose answer was lost may have been done.
//!
//! | failure | reading | here |
//! |---|---|---|
//! | `RequestLimitExceeded*`, HTTP 429 | refused before it was done | slow the pacer, send again at the next slot (budget) |
//! | `AuthFailure.SignatureExpire` | refused before it was done | sign again, once |
//! | other API errors (`UnauthorizedOperation*`, `FailedOperation.ImageInUse`, `InvalidParameter*`, …) | refused: nothing done | [`WriteError::Refused`], never retried |
//! | TLS or DNS failure, HTTP 4xx other than 429 | never reached the service | [`WriteError::NotSent`] |
//! | timeout, connection lost, HTTP 5xx, a broken or oversized answer, `InternalError`, `ServiceUnavailable`, `FailedOperation.InternalOperationFailure`, `ResourceUnavailable` | **unknown whether done** | [`WriteError::Uncertain`]: never sent again blindly |
//!
//! An uncertain write is not retried here: the caller (`apply::engine`) re-reads the image
//! first (a delete: is it gone? a rename: is the name in place?) and sends it again only when
//! the re-read shows it still to do and still allowed.

use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use crate::source::live::Session;
use crate::source::live::client::CallError;
use crate::source::live::retry::{Decision, decide};

/// `DeleteImage`.
pub const DELETE_IMAGE: &str = "DeleteImage";
/// `ModifyImageAttribute`.
pub const MODIFY_IMAGE_ATTRIBUTE: &str = "ModifyImageAttribute";

/// One write request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write<'a> {
    /// `DeleteImage` of one image (one per request, so each is re-checked on its own and
    /// one refusal never holds up another).
    Delete { image_id: &'a str },
    /// `ModifyImageAttribute`: a new name or description.
    Modify {
        image_id: &'a str,
        name: Option<&'a str>,
        description: Option<&'a str>,
    },
}

impl Write<'_> {
    /// The API action.
    pub fn action(&self) -> &'static str {
        match self {
            Write::Delete { .. } => DELETE_IMAGE,
            Write::Modify { .. } => MODIFY_IMAGE_ATTRIBUTE,
        }
    }

    /// The request body, as signed and sent.
    pub fn body(&self) -> Vec<u8> {
        let value = match self {
            Write::Delete { image_id } => serde_json::json!({ "ImageIDSet": [image_id] }),
            Write::Modify {
                image_id,
                name,
                description,
            } => {
                let mut body = serde_json::Map::new();
                body.insert("ImageId".into(), (*image_id).into());
                if let Some(name) = name {
                    body.insert("ImageName".into(), (*name).into());
                }
                if let Some(description) = description {
                    body.insert("ImageDescription".into(), (*description).into());
                }
                serde_json::Value::Object(body)
            }
        };
        value.to_string().into_bytes()
    }
}

/// The service did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The answer's `RequestId`.
    pub request_id: String,
}

/// Why a write was not (or not knowably) done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// The service answered with an error: nothing was done.
    Refused {
        code: String,
        message: String,
        request_id: String,
    },
    /// It never reached the service, or was refused for the pace past the retry budget:
    /// nothing was done.
    NotSent { reason: String },
    /// No answer says whether it was done: re-read before anything else.
    Uncertain { reason: String },
}

/// What one attempt of a write may still spend: attempts (every request counted) and
/// time, from the action's first attempt.
#[derive(Debug)]
pub struct Budget {
    pub attempts: u32,
    pub started: Instant,
}

impl Budget {
    pub fn new() -> Budget {
        Budget {
            attempts: 0,
            started: Instant::now(),
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new()
    }
}

/// `{"Response": {"RequestId", "Error"?}}`, the whole answer of both write actions.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Response")]
    response: AckBody,
}

#[derive(Deserialize)]
struct AckBody {
    #[serde(rename = "RequestId", default)]
    request_id: Option<String>,
    #[serde(rename = "Error", default)]
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "Code", default)]
    code: Option<String>,
    #[serde(rename = "Message", default)]
    message: Option<String>,
}

/// Sends `write` once, plus the resends that are safe without a re-read (throttled, or
/// signed too late), within `budget`.
pub async fn send(
    session: &Session,
    write: &Write<'_>,
    budget: &mut Budget,
) -> Result<Ack, WriteError> {
    let client = session.client();
    let config = session.config();
    let retry = &config.retry;
    let pacer = session.pacer_named(write.action());
    let body = write.body();
    let mut resigned = false;
    let mut throttled_in_a_row = 0u32;
    loop {
        let slot = pacer.acquire().await;
        budget.attempts += 1;
        let err = match client.call(write.action(), body.clone()).await {
            Ok(bytes) => match read_ack(&bytes) {
                Ok(ack) => {
                    pacer.succeeded(slot);
                    return Ok(ack);
                }
                Err(e) => client.redact_error(e),
            },
            Err(e) => e,
        };
        let delay = match (decide(&err), &err) {
            (_, CallError::TooLarge) | (Decision::Backoff, _) => {
                return Err(WriteError::Uncertain {
                    reason: describe(&err),
                });
            }
            (Decision::Fail, CallError::Api { .. }) => return Err(refused(err)),
            (Decision::Fail, _) => {
                return Err(WriteError::NotSent {
                    reason: describe(&err),
                });
            }
            (Decision::Resign, _) if !resigned => {
                resigned = true;
                Duration::ZERO
            }
            (Decision::Resign, _) => return Err(refused(err)),
            (Decision::Slowdown, _) => {
                pacer.throttled(slot);
                throttled_in_a_row += 1;
                // As on the read path: the slower pace is the first wait; refused again,
                // the quota is taken, so back off as well.
                if throttled_in_a_row == 1 {
                    Duration::ZERO
                } else {
                    backoff(retry.min_delay, retry.max_delay, throttled_in_a_row - 1)
                }
            }
        };
        let spent = budget.attempts >= retry.max_attempts.max(1)
            || budget.started.elapsed() + delay > retry.max_elapsed;
        if spent {
            return Err(match err {
                CallError::Api { .. } if !matches!(decide(&err), Decision::Slowdown) => {
                    refused(err)
                }
                _ => WriteError::NotSent {
                    reason: format!("{} (after {} attempts)", describe(&err), budget.attempts),
                },
            });
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

/// The read path's backoff shape: from `min`, doubling, capped at `max`, for the `n`th
/// retry (1-based); no jitter is needed for one sequential caller.
pub fn backoff(min: Duration, max: Duration, n: u32) -> Duration {
    min.saturating_mul(2u32.saturating_pow(n.saturating_sub(1)))
        .min(max)
}

fn refused(err: CallError) -> WriteError {
    match err {
        CallError::Api {
            code,
            message,
            request_id,
        } => WriteError::Refused {
            code,
            message,
            request_id,
        },
        other => WriteError::NotSent {
            reason: describe(&other),
        },
    }
}

/// A short, secret-free account of a failure (every string in a `CallError` is redacted).
fn describe(err: &CallError) -> String {
    match err {
        CallError::Transport { detail, .. } => format!("network error: {detail}"),
        CallError::Timeout => "no answer within the request timeout".to_owned(),
        CallError::Http { status, .. } => format!("HTTP status {status}"),
        CallError::Malformed(detail) => format!("unreadable answer: {detail}"),
        CallError::TooLarge => "an answer larger than the size limit".to_owned(),
        CallError::ItemWithoutId { .. } | CallError::ItemModel { .. } => {
            "an answer outside the documented model".to_owned()
        }
        CallError::Api { code, message, .. } => format!("{code}: {message}"),
    }
}

/// Reads a write's answer: its `RequestId`, or the API error it holds.
fn read_ack(bytes: &[u8]) -> Result<Ack, CallError> {
    let envelope: Envelope = serde_json::from_slice(bytes).map_err(|e| {
        CallError::Malformed(format!(
            "not a write response (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let request_id = envelope.response.request_id.unwrap_or_default();
    if let Some(error) = envelope.response.error {
        return Err(CallError::Api {
            code: error.code.unwrap_or_else(|| "(no code)".to_owned()),
            message: error.message.unwrap_or_default(),
            request_id,
        });
    }
    if request_id.is_empty() {
        // An answer that names no request proves nothing was done.
        return Err(CallError::Malformed(
            "the answer has no RequestId".to_owned(),
        ));
    }
    Ok(Ack { request_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_the_documented_members() {
        let delete = Write::Delete { image_id: "img-1" };
        assert_eq!(delete.body(), br#"{"ImageIDSet":["img-1"]}"#);
        let rename = Write::Modify {
            image_id: "img-1",
            name: Some("new"),
            description: None,
        };
        assert_eq!(rename.body(), br#"{"ImageId":"img-1","ImageName":"new"}"#);
        assert_eq!(rename.action(), MODIFY_IMAGE_ATTRIBUTE);
    }

    #[test]
    fn answers_are_read_as_done_refused_or_unreadable() {
        let ack = read_ack(br#"{"Response":{"RequestId":"r-1"}}"#).unwrap();
        assert_eq!(ack.request_id, "r-1");
        let err = read_ack(
            br#"{"Response":{"Error":{"Code":"FailedOperation.ImageInUse","Message":"m"},"RequestId":"r-2"}}"#,
        )
        .unwrap_err();
        assert!(
            matches!(err, CallError::Api { ref code, .. } if code == "FailedOperation.ImageInUse")
        );
        assert!(matches!(
            read_ack(br#"{"Response":{"Req"#),
            Err(CallError::Malformed(_))
        ));
        assert!(matches!(
            read_ack(br#"{"Response":{}}"#),
            Err(CallError::Malformed(_))
        ));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let (min, max) = (Duration::from_millis(500), Duration::from_secs(8));
        assert_eq!(backoff(min, max, 1), min);
        assert_eq!(backoff(min, max, 3), Duration::from_secs(2));
        assert_eq!(backoff(min, max, 40), max);
    }
}
