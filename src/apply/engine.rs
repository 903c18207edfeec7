//! Applying a plan: for each action, in the plan's order, re-read the image (and for a
//! delete its usage), decide from what is there now (already done, stale, to do), do it
//! through the write client, and report the outcome through a callback as it completes.
//!
//! When unsure, the engine does not act: a re-read that fails ends the run (nothing more is
//! attempted); a write whose answer was lost is re-read before it is ever sent again; an
//! answer that says "no such image" to a delete is believed only once a re-read confirms it.
//! After an `UnauthorizedOperation*`, the remaining actions of that API action are not
//! attempted (they would be refused the same way); a stop (Ctrl-C, `--deadline`) lets the
//! action in flight finish and starts no other.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::client::{self, Budget, Write, WriteError};
use super::report::{ActionOutcome, Applied, Status};
use crate::plan::model::{Action, ActionKind, KeptReason};
use crate::source::live::{
    ApiErrorKind, ApiFilter, FetchError, FetchProgress, Session, UsageScope,
};

/// What the engine needs from its caller besides the plan.
pub struct Hooks<'a> {
    /// Asked before each action: `true` once the user asked the run to stop (Ctrl-C).
    pub stop_requested: &'a (dyn Fn() -> bool + Sync),
    /// Told each action's outcome as it completes (the binary prints a line).
    pub on_outcome: &'a mut dyn FnMut(&ActionOutcome),
    /// The time an outcome is stamped with (the system clock; a test's fixed one).
    pub clock: fn() -> Timestamp,
}

/// What a re-read shows.
#[derive(Debug)]
enum Now {
    /// The action's effect is in place (the image gone, the value set).
    Done(String),
    /// Not to be done: what changed since the plan.
    Stale(String),
    /// Still to do, and still allowed.
    ToDo,
}

/// Applies `actions` in order. Never fails as a whole: every action ends with an outcome,
/// and a run that stopped says why.
pub async fn apply(session: &Session, actions: &[Action], hooks: Hooks<'_>) -> Applied {
    let mut applied = Applied::default();
    // API actions refused for a missing permission, with the refusal.
    let mut denied: Vec<(&'static str, String)> = Vec::new();
    for (index, action) in actions.iter().enumerate() {
        let write_action = write_of(action).action();
        let outcome = if let Some(reason) = &applied.stopped {
            not_attempted(
                index,
                action,
                format!("not attempted: {reason}"),
                hooks.clock,
            )
        } else if (hooks.stop_requested)() {
            let reason = "the run was interrupted (Ctrl-C) before this action".to_owned();
            applied.stopped = Some("interrupted (Ctrl-C)".to_owned());
            not_attempted(index, action, reason, hooks.clock)
        } else if session.time_left().is_zero() {
            applied.stopped = Some(format!(
                "the --deadline of {} passed",
                crate::time::describe_seconds(
                    i64::try_from(session.config().deadline.as_secs()).unwrap_or(i64::MAX)
                )
            ));
            not_attempted(
                index,
                action,
                "not attempted: the --deadline passed".to_owned(),
                hooks.clock,
            )
        } else if let Some((_, why)) = denied.iter().find(|(name, _)| *name == write_action) {
            not_attempted(
                index,
                action,
                format!("not attempted: {why}; it would be refused the same way"),
                hooks.clock,
            )
        } else {
            let outcome = one(session, index, action, hooks.clock).await;
            if outcome.run_stopped {
                applied.stopped = Some(outcome.reason.clone().unwrap_or_default());
            }
            if outcome.unauthorized {
                denied.push((
                    write_action,
                    format!(
                        "{} was refused ({}) for an earlier action",
                        write_action,
                        outcome.code.as_deref().unwrap_or("UnauthorizedOperation")
                    ),
                ));
            }
            outcome
        };
        (hooks.on_outcome)(&outcome);
        applied.outcomes.push(outcome);
    }
    applied
}

fn write_of(action: &Action) -> Write<'_> {
    match &action.kind {
        ActionKind::Delete => Write::Delete {
            image_id: &action.image_id,
        },
        ActionKind::Rename { to } => Write::Modify {
            image_id: &action.image_id,
            name: Some(to),
            description: None,
        },
        ActionKind::Describe { to } => Write::Modify {
            image_id: &action.image_id,
            name: None,
            description: Some(to),
        },
    }
}

fn not_attempted(
    index: usize,
    action: &Action,
    reason: String,
    clock: fn() -> Timestamp,
) -> ActionOutcome {
    ActionOutcome::new(index, action, Status::NotAttempted, clock()).with_reason(reason)
}

/// One action, start to end.
async fn one(
    session: &Session,
    index: usize,
    action: &Action,
    clock: fn() -> Timestamp,
) -> ActionOutcome {
    let outcome = |status: Status| ActionOutcome::new(index, action, status, clock());
    let write = write_of(action);
    let retry = &session.config().retry;
    let mut budget = Budget::new();
    // Why the last send did not say whether it was done.
    let mut unanswered: Option<String> = None;
    // The service said the image does not exist: believed only if a re-read agrees.
    let mut said_missing: Option<(String, String, String)> = None;
    loop {
        let now = match recheck(session, action).await {
            Ok(now) => now,
            Err(e) => {
                let mut out = outcome(Status::Failed).with_reason(format!(
                    "could not re-check the image, so it was left alone: {}",
                    e.diag().message
                ));
                out.run_stopped = true;
                return out;
            }
        };
        match now {
            Now::Done(how) => {
                return match &unanswered {
                    // The lost answer was to our own request: it did it.
                    Some(lost) => outcome(Status::Done).with_reason(format!(
                        "the answer was lost ({lost}); a re-read shows {how}"
                    )),
                    None => outcome(Status::AlreadyDone).with_reason(how),
                };
            }
            Now::Stale(why) => return outcome(Status::SkippedStale).with_reason(why),
            Now::ToDo => {}
        }
        if let Some((code, message, request_id)) = said_missing.take() {
            // The service says it does not exist; the listing says it does. Neither is
            // believed over the other: leave it, and say both.
            return outcome(Status::Failed)
                .with_api(code, request_id)
                .with_reason(format!(
                    "{message}; yet DescribeImage still lists the image"
                ));
        }
        if budget.attempts >= retry.max_attempts.max(1)
            || budget.started.elapsed() > retry.max_elapsed
        {
            return outcome(Status::Failed).with_reason(format!(
                "unknown whether it was done after {} attempts ({}); a re-read shows it not done",
                budget.attempts,
                unanswered.as_deref().unwrap_or("no answer")
            ));
        }
        match client::send(session, &write, &mut budget).await {
            Ok(ack) => return outcome(Status::Done).with_request_id(ack.request_id),
            Err(WriteError::Refused {
                code,
                message,
                request_id,
            }) => {
                let text = crate::text::escape(&message);
                if code == "FailedOperation.ImageInUse" {
                    return outcome(Status::SkippedInUse)
                        .with_api(code, request_id)
                        .with_reason(format!("the service refused: the image is in use ({text})"));
                }
                let gone = matches!(
                    code.as_str(),
                    "ResourceNotFound" | "InvalidParameterValue.InvalidImageID"
                );
                if gone {
                    said_missing = Some((code, format!("{}: {text}", action.image_id), request_id));
                    continue;
                }
                let unauthorized = ApiErrorKind::of(&code) == ApiErrorKind::Unauthorized;
                let mut out = outcome(Status::Failed)
                    .with_reason(format!("{code}: {text}"))
                    .with_api(code, request_id);
                out.unauthorized = unauthorized;
                return out;
            }
            Err(WriteError::NotSent { reason }) => {
                return outcome(Status::Failed).with_reason(format!("not done: {reason}"));
            }
            Err(WriteError::Uncertain { reason }) => {
                // Wait as the read path backs off, then re-read before anything else.
                let wait = client::backoff(retry.min_delay, retry.max_delay, budget.attempts);
                tokio::time::sleep(wait.min(session.time_left())).await;
                unanswered = Some(reason);
            }
        }
    }
}

/// Re-reads the image (and for a delete its usage, every page) and says what is to be done.
async fn recheck(session: &Session, action: &Action) -> Result<Now, FetchError> {
    let silent = |_: FetchProgress| {};
    let id = action.image_id.as_str();
    let by_id = [ApiFilter::new("image-id", [id.to_owned()])];
    let fetched = session.images(&by_id, &silent).await?;
    let current: Option<Map<String, Value>> = fetched
        .images
        .iter()
        .filter_map(|raw| serde_json::from_str::<Map<String, Value>>(raw.get()).ok())
        .find(|image| image.get("ImageId").and_then(Value::as_str) == Some(id));
    let Some(current) = current else {
        return Ok(match action.kind {
            ActionKind::Delete => Now::Done("the image no longer exists".to_owned()),
            _ => Now::Stale("the image no longer exists".to_owned()),
        });
    };
    if let Some((field, _)) = action.kind.field_limit()
        && let Some(new) = action.kind.new_value()
        && current.get(field).and_then(Value::as_str) == Some(new)
    {
        return Ok(Now::Done(format!(
            "{field} is already \"{}\"",
            crate::text::escape(new)
        )));
    }
    if let Some(change) = changed_field(&action.image, &current) {
        return Ok(Now::Stale(change));
    }
    match &action.kind {
        ActionKind::Delete => {
            let usage = session
                .usage(UsageScope::Images(&[id.to_owned()]), "apply", &silent)
                .await?;
            let instances: Vec<String> = usage
                .set
                .instances
                .iter()
                .filter(|i| i.image_id().is_none_or(|image| image == id))
                .filter_map(|i| {
                    i.id.as_deref()
                        .map(|id| crate::text::escape(id).into_owned())
                })
                .collect();
            let modules: Vec<String> = usage
                .set
                .modules
                .iter()
                .filter(|m| m.image_id() == Some(id))
                .filter_map(|m| {
                    m.id.as_deref()
                        .map(|id| crate::text::escape(id).into_owned())
                })
                .collect();
            if !instances.is_empty() || !modules.is_empty() {
                // Said as the plan says what it keeps: `in use (2 instances: ein-1, ein-2)`.
                let reason = KeptReason::InUse { instances, modules };
                return Ok(Now::Stale(format!("now {reason}")));
            }
        }
        ActionKind::Rename { to } => {
            let by_name = [ApiFilter::new("image-name", [to.clone()])];
            let named = session.images(&by_name, &silent).await?;
            let taken = named
                .images
                .iter()
                .filter_map(|raw| serde_json::from_str::<Map<String, Value>>(raw.get()).ok())
                .find(|image| {
                    image.get("ImageName").and_then(Value::as_str) == Some(to.as_str())
                        && image.get("ImageId").and_then(Value::as_str) != Some(id)
                });
            if let Some(other) = taken {
                return Ok(Now::Stale(format!(
                    "the name \"{}\" is now taken by {}",
                    crate::text::escape(to),
                    crate::text::escape(
                        other
                            .get("ImageId")
                            .and_then(Value::as_str)
                            .unwrap_or("another image")
                    )
                )));
            }
        }
        ActionKind::Describe { .. } => {}
    }
    Ok(Now::ToDo)
}

/// The first field (in the order the plan saw them, then new ones) whose value differs
/// between the image as seen and as it is now, said as `ImageName changed: "a" -> "b"`.
fn changed_field(seen: &Map<String, Value>, now: &Map<String, Value>) -> Option<String> {
    let show = |v: Option<&Value>| match v {
        None => "(absent)".to_owned(),
        Some(Value::String(s)) => format!("\"{}\"", crate::text::escape(s)),
        Some(other) => crate::text::escape(&other.to_string()).into_owned(),
    };
    seen.keys()
        .chain(now.keys().filter(|k| !seen.contains_key(*k)))
        .find(|key| seen.get(*key) != now.get(*key))
        .map(|key| {
            format!(
                "{} changed since the plan: {} -> {}",
                crate::text::escape(key),
                show(seen.get(key)),
                show(now.get(key))
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_first_changed_field_is_named() {
        let seen = map(json!({"ImageId": "img-1", "ImageName": "a", "ImageSize": 50}));
        assert_eq!(changed_field(&seen, &seen), None);
        let now = map(json!({"ImageId": "img-1", "ImageName": "b", "ImageSize": 60}));
        assert_eq!(
            changed_field(&seen, &now).unwrap(),
            "ImageName changed since the plan: \"a\" -> \"b\""
        );
        let grown = map(json!({"ImageId": "img-1", "ImageName": "a", "ImageSize": 50, "New": 1}));
        assert_eq!(
            changed_field(&seen, &grown).unwrap(),
            "New changed since the plan: (absent) -> 1"
        );
    }
}
