//! What an apply did: each action's outcome (with its reason, API code and `RequestId`, and
//! the time it completed), the summary line, whether everything planned is done, and the
//! `ecmguard/apply/v1` document `--output` writes.

use std::io::Write;

use jiff::Timestamp;
use serde::Serialize;

use crate::plan::model::Action;

/// The schema name of the apply result file.
pub const APPLY_SCHEMA: &str = "ecmguard/apply/v1";

/// How one action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Done by this run.
    Done,
    /// Its effect was already in place (the image gone, the value set).
    AlreadyDone,
    /// Not done: the image changed since the plan, is now in use, or the new name is taken.
    SkippedStale,
    /// Not done: the service refused it because the image is in use.
    SkippedInUse,
    /// Not done (or not knowably done): an API error, a network failure, a failed re-check.
    Failed,
    /// Not started: the run stopped, or the same API action was refused for a permission.
    NotAttempted,
}

impl Status {
    /// As printed: `done`, `already done`, `skipped (stale)`…
    pub fn label(self) -> &'static str {
        match self {
            Status::Done => "done",
            Status::AlreadyDone => "already done",
            Status::SkippedStale => "skipped (stale)",
            Status::SkippedInUse => "skipped (in use)",
            Status::Failed => "failed",
            Status::NotAttempted => "not attempted",
        }
    }
}

/// One action's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionOutcome {
    /// Its position in the plan (0-based).
    pub index: usize,
    /// `delete`, `rename`, `describe`.
    pub action: &'static str,
    pub image_id: String,
    pub rule: String,
    /// The new name or description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_value: Option<String>,
    pub outcome: Status,
    pub reason: Option<String>,
    /// The API error code, when the service refused.
    pub code: Option<String>,
    /// The `RequestId` of the write (or of its refusal).
    pub request_id: Option<String>,
    /// When the outcome was known (RFC 3339, UTC).
    pub time: String,
    /// The run cannot go on after this one (a re-check that could not be made).
    #[serde(skip)]
    pub run_stopped: bool,
    /// Refused for a missing permission: the API action's remaining actions are not
    /// attempted.
    #[serde(skip)]
    pub unauthorized: bool,
}

impl ActionOutcome {
    pub fn new(index: usize, action: &Action, outcome: Status, at: Timestamp) -> ActionOutcome {
        ActionOutcome {
            index,
            action: action.kind.name(),
            image_id: action.image_id.clone(),
            rule: action.rule.clone(),
            new_value: action.kind.new_value().map(str::to_owned),
            outcome,
            reason: None,
            code: None,
            request_id: None,
            time: at.to_string(),
            run_stopped: false,
            unauthorized: false,
        }
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn with_request_id(mut self, request_id: String) -> Self {
        self.request_id = (!request_id.is_empty()).then_some(request_id);
        self
    }

    pub fn with_api(mut self, code: String, request_id: String) -> Self {
        self.code = Some(code);
        self.with_request_id(request_id)
    }

    /// The line printed as the action completes:
    /// `- delete img-f0ld9e2r: done (RequestId 6bf2…)`.
    pub fn line(&self) -> String {
        let sign = match self.action {
            "delete" => "-",
            _ => "~",
        };
        let mut line = format!(
            "{sign} {} {}",
            self.action,
            crate::text::escape(&self.image_id)
        );
        if let Some(value) = &self.new_value {
            line.push_str(&format!(" -> \"{}\"", crate::text::escape(value)));
        }
        line.push_str(": ");
        line.push_str(self.outcome.label());
        let mut details = Vec::new();
        if let Some(reason) = &self.reason {
            // Reasons are built from escaped parts already; escaping again is harmless.
            details.push(crate::text::escape(reason).into_owned());
        }
        if let Some(id) = &self.request_id {
            details.push(format!("RequestId {}", crate::text::escape(id)));
        }
        if !details.is_empty() {
            line.push_str(&format!(" ({})", details.join("; ")));
        }
        line
    }
}

/// A whole apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub outcomes: Vec<ActionOutcome>,
    /// Why the run stopped before its end, if it did.
    pub stopped: Option<String>,
}

/// Outcomes counted by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub done: usize,
    pub already_done: usize,
    pub skipped_stale: usize,
    pub skipped_in_use: usize,
    pub failed: usize,
    pub not_attempted: usize,
}

impl Applied {
    pub fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for o in &self.outcomes {
            *match o.outcome {
                Status::Done => &mut t.done,
                Status::AlreadyDone => &mut t.already_done,
                Status::SkippedStale => &mut t.skipped_stale,
                Status::SkippedInUse => &mut t.skipped_in_use,
                Status::Failed => &mut t.failed,
                Status::NotAttempted => &mut t.not_attempted,
            } += 1;
        }
        t
    }

    /// Every action is done or already done.
    pub fn all_done(&self) -> bool {
        self.stopped.is_none()
            && self
                .outcomes
                .iter()
                .all(|o| matches!(o.outcome, Status::Done | Status::AlreadyDone))
    }

    /// Something failed, or the run stopped (what was not attempted is not done).
    pub fn failed(&self) -> bool {
        self.stopped.is_some()
            || self
                .outcomes
                .iter()
                .any(|o| matches!(o.outcome, Status::Failed | Status::NotAttempted))
    }

    /// `Apply: 2 done, 1 already done, 1 skipped (stale), 0 failed.`, with the in-use
    /// skips, the actions not attempted and a stop named when there are any.
    pub fn summary(&self) -> String {
        let t = self.tally();
        let mut parts = vec![
            format!("{} done", t.done),
            format!("{} already done", t.already_done),
            format!("{} skipped (stale)", t.skipped_stale),
        ];
        if t.skipped_in_use > 0 {
            parts.push(format!("{} skipped (in use)", t.skipped_in_use));
        }
        parts.push(format!("{} failed", t.failed));
        if t.not_attempted > 0 {
            parts.push(format!("{} not attempted", t.not_attempted));
        }
        let mut line = format!("Apply: {}.", parts.join(", "));
        if let Some(why) = &self.stopped {
            line.push_str(&format!(" The run stopped: {}.", crate::text::escape(why)));
        }
        line
    }
}

/// Where the plan came from and where it was applied, for the result file.
#[derive(Debug, Clone, Serialize)]
pub struct Context<'a> {
    /// The plan file (`None`: planned by this run, `apply` without a plan file).
    pub plan: Option<&'a str>,
    /// The plan's digest.
    pub plan_digest: Option<&'a str>,
    pub endpoint: &'a str,
    pub account: Option<&'a str>,
    pub started_at: String,
    pub finished_at: String,
}

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    tool_version: &'static str,
    #[serde(flatten)]
    context: &'a Context<'a>,
    stopped: Option<&'a str>,
    all_done: bool,
    summary: Tally,
    actions: &'a [ActionOutcome],
}

/// Writes the `ecmguard/apply/v1` document.
pub fn write(applied: &Applied, context: &Context<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let document = Document {
        schema: APPLY_SCHEMA,
        tool_version: env!("CARGO_PKG_VERSION"),
        context,
        stopped: applied.stopped.as_deref(),
        all_done: applied.all_done(),
        summary: applied.tally(),
        actions: &applied.outcomes,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    out.write_all(b"\n")
}
