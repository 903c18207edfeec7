//! The applies in `ecmguard history`: each recorded `apply --history` with its actions, as
//! human text, as the `applies` key of the JSON document, and as a table of the HTML page.
//! Every text here came from the database (rule ids, ImageIds, names, reasons written by any
//! runner that can log in), so it is escaped (`text::escape`; maud escapes HTML on top).

use std::fmt::Write as _;

use maud::{Markup, html};
use serde_json::{Value, json};

use super::actions::{ActionRecord, ApplyRow};
use super::render::HistoryView;
use crate::text::escape;

/// Applies whose actions the human format lists, the latest ones; the rest are counted.
pub(crate) const MAX_APPLIES: usize = 10;
/// Actions the HTML page lists before "… and N more".
const MAX_ACTIONS_HTML: usize = 200;

/// `done 2, already done 1, …`: the outcomes an apply had, in a fixed order.
fn tally(apply: &ApplyRow) -> String {
    let parts: Vec<String> = [
        ("done", "done"),
        ("already_done", "already done"),
        ("skipped_stale", "skipped (stale)"),
        ("skipped_in_use", "skipped (in use)"),
        ("failed", "failed"),
        ("not_attempted", "not attempted"),
    ]
    .into_iter()
    .filter_map(|(key, label)| {
        let n = apply.count(key);
        (n > 0).then(|| format!("{n} {label}"))
    })
    .collect();
    if parts.is_empty() {
        "no action".to_owned()
    } else {
        parts.join(", ")
    }
}

fn outcome_label(outcome: &str) -> String {
    escape(&outcome.replace('_', " ")).into_owned()
}

/// `~ rename img-1: "Old" -> "new": done (RequestId …)`.
fn action_line(a: &ActionRecord) -> String {
    let sign = if a.action == "delete" { "-" } else { "~" };
    let mut line = format!("{sign} {} {}", escape(&a.action), escape(&a.image_id));
    match (&a.old_value, &a.new_value) {
        (old, Some(new)) => {
            let old = old
                .as_deref()
                .map_or_else(|| "(none)".to_owned(), |o| format!("\"{}\"", escape(o)));
            let _ = write!(line, ": {old} -> \"{}\"", escape(new));
        }
        (Some(old), None) => {
            let _ = write!(line, " (\"{}\")", escape(old));
        }
        (None, None) => {}
    }
    let _ = write!(
        line,
        " [{}]: {}",
        escape(&a.rule),
        outcome_label(&a.outcome)
    );
    let mut details = Vec::new();
    if let Some(reason) = &a.reason {
        details.push(escape(reason).into_owned());
    }
    if let Some(code) = &a.code {
        details.push(escape(code).into_owned());
    }
    if let Some(id) = &a.request_id {
        details.push(format!("RequestId {}", escape(id)));
    }
    if !details.is_empty() {
        let _ = write!(line, " ({})", details.join("; "));
    }
    line
}

/// The human section; nothing when the window has no apply (a history only `check` writes
/// to reads as before).
pub(crate) fn human(view: &HistoryView<'_>, out: &mut String) -> std::fmt::Result {
    let applies = view.applies;
    if applies.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "Applies ({})", applies.len())?;
    let skipped = applies.len().saturating_sub(MAX_APPLIES);
    if skipped > 0 {
        writeln!(
            out,
            "  … {skipped} earlier applies (--format json lists them all)"
        )?;
    }
    for apply in &applies[skipped..] {
        let r = &apply.record;
        let plan = r.plan.as_deref().map_or_else(
            || "planned and approved in the run".to_owned(),
            |p| format!("plan {}", escape(p)),
        );
        writeln!(
            out,
            "  {}  {}  {}: {}{}",
            view.time(r.time),
            escape(&r.account),
            plan,
            tally(apply),
            r.stopped
                .as_deref()
                .map(|why| format!("; stopped: {}", escape(why)))
                .unwrap_or_default()
        )?;
        for action in &r.actions {
            writeln!(out, "    {}", action_line(action))?;
        }
    }
    Ok(())
}

/// The `applies` key of the JSON document: every apply of the window, oldest first.
pub(crate) fn json(view: &HistoryView<'_>) -> Value {
    Value::Array(
        view.applies
            .iter()
            .map(|apply| {
                let r = &apply.record;
                let actions: Vec<Value> = r
                    .actions
                    .iter()
                    .map(|a| {
                        json!({
                            "index": a.position,
                            "action": a.action,
                            "image_id": a.image_id,
                            "rule": a.rule,
                            "old_value": a.old_value,
                            "new_value": a.new_value,
                            "outcome": a.outcome,
                            "reason": a.reason,
                            "code": a.code,
                            "request_id": a.request_id,
                            "time": view.rfc3339(a.time),
                        })
                    })
                    .collect();
                json!({
                    "id": apply.id,
                    "time": view.rfc3339(r.time),
                    "finished": view.rfc3339(r.finished),
                    "account": r.account,
                    "endpoint": r.endpoint,
                    "plan": r.plan,
                    "plan_digest": r.plan_digest,
                    "stopped": r.stopped,
                    "exit_code": r.exit_code,
                    "tool_version": r.tool_version,
                    "actions": actions,
                })
            })
            .collect(),
    )
}

/// The HTML section: one row per action, the latest apply first; nothing without applies.
pub(crate) fn html(view: &HistoryView<'_>) -> Markup {
    let rows: Vec<(&ApplyRow, &ActionRecord)> = view
        .applies
        .iter()
        .rev()
        .flat_map(|apply| apply.record.actions.iter().map(move |a| (apply, a)))
        .collect();
    let more = rows.len().saturating_sub(MAX_ACTIONS_HTML);
    html! {
        @if !view.applies.is_empty() {
            section {
                h2 { "Actions applied (" (view.applies.len()) " applies)" }
                table {
                    thead { tr { th { "time" } th { "account" } th { "action" } th { "image" } th { "rule" } th { "old" } th { "new" } th { "outcome" } th { "reason" } th { "RequestId" } } }
                    tbody {
                        @for (apply, a) in rows.iter().take(MAX_ACTIONS_HTML) {
                            tr {
                                td class="date" { (view.time(a.time)) }
                                td { (escape(&apply.record.account)) }
                                td { (escape(&a.action)) }
                                td { (escape(&a.image_id)) }
                                td { (escape(&a.rule)) }
                                td { (escape(a.old_value.as_deref().unwrap_or(""))) }
                                td { (escape(a.new_value.as_deref().unwrap_or(""))) }
                                td { span class=(if a.outcome == "done" || a.outcome == "already_done" { "pill pass" } else { "pill fail" }) { (outcome_label(&a.outcome)) } }
                                td { (escape(a.reason.as_deref().unwrap_or(""))) }
                                td { (escape(a.request_id.as_deref().unwrap_or(""))) }
                            }
                        }
                    }
                }
                @if more > 0 { p { "… and " (more) " more (--format json lists them all)" } }
            }
        }
    }
}
