//! Applying a plan: each action re-reads its image (and for a delete its usage), decides
//! from what is there now (already done, stale, to do), does it through the write client,
//! and reports the outcome through a callback as it completes.
//!
//! When unsure, the engine does not act: a re-read that fails ends the run (no other action
//! starts); a write whose answer was lost is re-read before it is ever sent again; an
//! answer that says "no such image" to a delete is believed only once a re-read confirms it.
//! After an `UnauthorizedOperation*`, no new write of that API action is sent (they would be
//! refused the same way); a stop (Ctrl-C, `--deadline`) lets the actions in flight finish
//! and starts no other.
//!
//! Concurrency, and why it is safe: images are applied side by side, at most [`window`] at
//! a time, each request still waiting for its own action's pacer (so `--rate` holds per API
//! action whatever the window). The actions of one image run in the plan's order in one
//! task, so a rename and a description of it never race. Different images are independent:
//! a delete's decision reads only its image and the instances and modules that use it
//! (which apply never changes), and a rename's "name taken" check reads the one name it
//! sets, which the planner gives to no other action and which no other image held when
//! planned; nothing another action of the plan does can change what the check sees.
//! The stop and permission rules are checked when an action starts and again just before
//! its first write, so a write is never sent after the stop or the refusal is known; what
//! was sent before (at most `window - 1` writes) may come back refused too.

use std::cell::RefCell;

use futures_util::StreamExt;
use jiff::Timestamp;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::client::{self, Budget, Write, WriteError};
use super::report::{ActionOutcome, Applied, Status};
use crate::image::Image;
use crate::plan::model::{Action, ActionKind, KeptReason, recorded_image};
use crate::source::live::{
    ApiErrorKind, ApiFilter, FetchError, FetchProgress, Session, UsageScope,
};

/// What the engine needs from its caller besides the plan.
pub struct Hooks<'a> {
    /// Asked before each action starts and before its first write: `true` once the user
    /// asked the run to stop (Ctrl-C).
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

/// The requests of one delete, the longest chain of an action: `DescribeImage`,
/// `DescribeInstances`, `DescribeModule`, `DeleteImage`.
const REQUESTS_PER_ACTION: f64 = 4.0;
/// The round trip the window is sized for: a slow but ordinary one to a Tencent Cloud
/// endpoint (most are well under it; a slower one leaves the pacers some idle time, never
/// exceeds them).
const ROUND_TRIP_ALLOWED: f64 = 0.3;
/// The fewest and the most images in flight.
const MIN_WINDOW: usize = 4;
const MAX_WINDOW: usize = 64;

/// How many images are applied at once at `rate` requests per second per action: enough
/// that every action's pacer always has a request waiting (a delete is a chain of four
/// round trips, so keeping one pacer busy at `rate` needs `rate x 4 x round trip` of them in
/// flight), and no more, since a refusal or a stop can only stop what has not yet been sent.
/// At the default `--rate` 20: 24.
pub fn window(rate: f64) -> usize {
    let wanted = (rate * REQUESTS_PER_ACTION * ROUND_TRIP_ALLOWED).ceil();
    if wanted.is_finite() && wanted >= MIN_WINDOW as f64 {
        (wanted as usize).min(MAX_WINDOW)
    } else {
        MIN_WINDOW
    }
}

/// What the concurrent actions share: the outcomes so far, why the run stopped, which API
/// actions were refused for a permission, and the caller's outcome callback. Borrowed
/// only between awaits (all tasks run on the caller's one task), never across one.
struct Shared<'h> {
    outcomes: Vec<Option<ActionOutcome>>,
    stopped: Option<String>,
    /// API actions refused for a missing permission, with the refusal.
    denied: Vec<(&'static str, String)>,
    on_outcome: &'h mut dyn FnMut(&ActionOutcome),
}

/// When an action may no longer proceed is asked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Moment {
    /// Before its first request.
    Start,
    /// After its re-read, before its first write.
    Write,
}

struct Run<'a, 'h> {
    session: &'a Session,
    actions: &'a [Action],
    stop_requested: &'a (dyn Fn() -> bool + Sync),
    clock: fn() -> Timestamp,
    shared: RefCell<Shared<'h>>,
}

impl Run<'_, '_> {
    /// Why the action may not proceed now (the stop and permission rules), recording a stop
    /// first seen here; `None`: go on.
    fn refusal(&self, write_action: &'static str, moment: Moment) -> Option<String> {
        let mut shared = self.shared.borrow_mut();
        if let Some(reason) = &shared.stopped {
            return Some(format!("not attempted: {reason}"));
        }
        if (self.stop_requested)() {
            shared.stopped = Some("interrupted (Ctrl-C)".to_owned());
            return Some("the run was interrupted (Ctrl-C) before this action".to_owned());
        }
        // A deadline that passes after the re-read is the re-read's business, as before:
        // the write goes out on the check just made.
        if moment == Moment::Start && self.session.time_left().is_zero() {
            shared.stopped = Some(format!(
                "the --deadline of {} passed",
                crate::time::describe_seconds(
                    i64::try_from(self.session.config().deadline.as_secs()).unwrap_or(i64::MAX)
                )
            ));
            return Some("not attempted: the --deadline passed".to_owned());
        }
        let (_, why) = shared
            .denied
            .iter()
            .find(|(name, _)| *name == write_action)?;
        Some(format!(
            "not attempted: {why}; it would be refused the same way"
        ))
    }

    /// Records an outcome, applies its consequences for the others, and tells the caller.
    fn complete(&self, outcome: ActionOutcome) {
        let mut shared = self.shared.borrow_mut();
        if outcome.run_stopped && shared.stopped.is_none() {
            shared.stopped = Some(outcome.reason.clone().unwrap_or_default());
        }
        if outcome.unauthorized
            && let Some(action) = self.actions.get(outcome.index)
        {
            let write_action = write_of(action).action();
            if !shared.denied.iter().any(|(name, _)| *name == write_action) {
                let why = format!(
                    "{} was refused ({}) for an earlier action",
                    write_action,
                    outcome.code.as_deref().unwrap_or("UnauthorizedOperation")
                );
                shared.denied.push((write_action, why));
            }
        }
        (shared.on_outcome)(&outcome);
        if let Some(slot) = shared.outcomes.get_mut(outcome.index) {
            *slot = Some(outcome);
        }
    }

    /// The actions of one image (indexes into the plan), in the plan's order.
    async fn image(&self, indexes: Vec<usize>) {
        for index in indexes {
            let Some(action) = self.actions.get(index) else {
                continue;
            };
            let outcome = match self.refusal(write_of(action).action(), Moment::Start) {
                Some(reason) => not_attempted(index, action, reason, self.clock),
                None => {
                    let planned = planned_values(self.actions, index);
                    one(self, index, action, &planned).await
                }
            };
            self.complete(outcome);
        }
    }
}

/// Applies `actions`, several images at a time ([`window`]), each image's actions in the
/// plan's order. Never fails as a whole: every action ends with an outcome (in the plan's
/// order in the result), and a run that stopped says why.
pub async fn apply(session: &Session, actions: &[Action], hooks: Hooks<'_>) -> Applied {
    let run = Run {
        session,
        actions,
        stop_requested: hooks.stop_requested,
        clock: hooks.clock,
        shared: RefCell::new(Shared {
            outcomes: vec![None; actions.len()],
            stopped: None,
            denied: Vec::new(),
            on_outcome: hooks.on_outcome,
        }),
    };
    futures_util::stream::iter(by_image(actions))
        .map(|indexes| run.image(indexes))
        .buffer_unordered(window(session.config().rate))
        .for_each(|()| async {})
        .await;
    let shared = run.shared.into_inner();
    Applied {
        outcomes: shared.outcomes.into_iter().flatten().collect(),
        stopped: shared.stopped,
    }
}

/// The plan's actions grouped by image: each group in the plan's order, the groups in the
/// order of their first action.
fn by_image(actions: &[Action]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (index, action) in actions.iter().enumerate() {
        match group_of.get(action.image_id.as_str()) {
            Some(&group) => {
                if let Some(members) = groups.get_mut(group) {
                    members.push(index);
                }
            }
            None => {
                group_of.insert(&action.image_id, groups.len());
                groups.push(vec![index]);
            }
        }
    }
    groups
}

/// The values the plan's other actions set on the same image (field, value): a rename and a
/// description of one image are two actions, and whichever comes second (in this run or
/// the next) must not take the other's effect for a change someone made since the plan.
fn planned_values(actions: &[Action], index: usize) -> Vec<(&'static str, &str)> {
    let Some(action) = actions.get(index) else {
        return Vec::new();
    };
    actions
        .iter()
        .enumerate()
        .filter(|(i, other)| *i != index && other.image_id == action.image_id)
        .filter_map(|(_, other)| Some((other.kind.field_limit()?.0, other.kind.new_value()?)))
        .collect()
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
    run: &Run<'_, '_>,
    index: usize,
    action: &Action,
    planned: &[(&'static str, &str)],
) -> ActionOutcome {
    let (session, clock) = (run.session, run.clock);
    let outcome = |status: Status| ActionOutcome::new(index, action, status, clock());
    let write = write_of(action);
    let retry = &session.config().retry;
    let mut budget = Budget::new();
    // Why the last send did not say whether it was done.
    let mut unanswered: Option<String> = None;
    // The service said the image does not exist: believed only if a re-read agrees.
    let mut said_missing: Option<(String, String, String)> = None;
    loop {
        let now = match recheck(session, action, planned).await {
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
        // Another action may have met a stop or a refusal while this one re-read: its
        // first write is not sent then. A write already sent is in flight and is seen
        // through (its re-read and resend), whatever happens meanwhile.
        if budget.attempts == 0
            && let Some(reason) = run.refusal(write.action(), Moment::Write)
        {
            return outcome(Status::NotAttempted).with_reason(reason);
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

/// Re-reads the image (and for a delete its usage, every page) and says what is to be done;
/// `planned` are the values the plan's other actions set on it (not changes).
async fn recheck(
    session: &Session,
    action: &Action,
    planned: &[(&'static str, &str)],
) -> Result<Now, FetchError> {
    let silent = |_: FetchProgress| {};
    let id = action.image_id.as_str();
    let by_id = [ApiFilter::new("image-id", [id.to_owned()])];
    let fetched = session.images(&by_id, &silent).await?;
    let current = fetched.images.iter().find(|raw| {
        serde_json::from_str::<Map<String, Value>>(raw.get())
            .is_ok_and(|image| image.get("ImageId").and_then(Value::as_str) == Some(id))
    });
    let Some(current) = current else {
        return Ok(match action.kind {
            ActionKind::Delete => Now::Done("the image no longer exists".to_owned()),
            _ => Now::Stale("the image no longer exists".to_owned()),
        });
    };
    let current = match as_planned(current) {
        Ok(current) => current,
        // Not to be read as gone: the image is there, and what it is now is unknown.
        Err(e) => {
            return Ok(Now::Stale(format!(
                "the image as read now does not fit the image model ({})",
                crate::text::escape(&e)
            )));
        }
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
    if let Some(change) = changed_field(&action.image, &current, planned) {
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

/// The image read now in the form a plan records ([`recorded_image`]): compared as sent,
/// every field the API sends as `null` would look changed and the action never be done.
fn as_planned(raw: &RawValue) -> Result<Map<String, Value>, String> {
    let image: Image = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    Ok(recorded_image(&image))
}

/// The first field (in the order the plan saw them, then new ones) whose value differs
/// between the image as seen and as it is now, said as `ImageName changed: "a" -> "b"`;
/// a field that now holds the value another action of the plan sets is not a change.
fn changed_field(
    seen: &Map<String, Value>,
    now: &Map<String, Value>,
    planned: &[(&'static str, &str)],
) -> Option<String> {
    let planned_here = |key: &str| {
        planned.iter().any(|(field, value)| {
            *field == key && now.get(key).and_then(Value::as_str) == Some(*value)
        })
    };
    let show = |v: Option<&Value>| match v {
        None => "(absent)".to_owned(),
        Some(Value::String(s)) => format!("\"{}\"", crate::text::escape(s)),
        Some(other) => crate::text::escape(&other.to_string()).into_owned(),
    };
    seen.keys()
        .chain(now.keys().filter(|k| !seen.contains_key(*k)))
        .find(|key| seen.get(*key) != now.get(*key) && !planned_here(key))
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
    fn the_window_keeps_four_requests_per_image_in_flight_at_the_rate() {
        assert_eq!(window(20.0), 24);
        assert_eq!(window(5.0), 6);
        assert_eq!(window(1.0), MIN_WINDOW);
        assert_eq!(window(1000.0), MAX_WINDOW);
        assert_eq!(window(f64::NAN), MIN_WINDOW);
    }

    #[test]
    fn the_first_changed_field_is_named() {
        let seen = map(json!({"ImageId": "img-1", "ImageName": "a", "ImageSize": 50}));
        assert_eq!(changed_field(&seen, &seen, &[]), None);
        let now = map(json!({"ImageId": "img-1", "ImageName": "b", "ImageSize": 60}));
        assert_eq!(
            changed_field(&seen, &now, &[]).unwrap(),
            "ImageName changed since the plan: \"a\" -> \"b\""
        );
        let grown = map(json!({"ImageId": "img-1", "ImageName": "a", "ImageSize": 50, "New": 1}));
        assert_eq!(
            changed_field(&seen, &grown, &[]).unwrap(),
            "New changed since the plan: (absent) -> 1"
        );
        // The plan's own rename of the image, done by an earlier action, is no change; the
        // same field with another value is.
        let renamed = map(json!({"ImageId": "img-1", "ImageName": "b", "ImageSize": 50}));
        assert_eq!(changed_field(&seen, &renamed, &[("ImageName", "b")]), None);
        assert!(changed_field(&seen, &renamed, &[("ImageName", "c")]).is_some());
        assert!(changed_field(&seen, &renamed, &[("ImageDescription", "b")]).is_some());
    }
}
