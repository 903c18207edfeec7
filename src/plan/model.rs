//! A plan: the actions to take, each with what was seen of its image when it
//! was planned (so `apply` can tell a stale action from a current one), the
//! fixes that were not planned with their reason, and where the plan may be
//! applied (endpoint, account) until when. Its serialised form is the plan
//! file ([`super::file`]).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::diag::{Code, Diag};
use crate::image::Image;

/// What one action does to its image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum ActionKind {
    /// `DeleteImage`.
    Delete,
    /// `ModifyImageAttribute` with `ImageName`.
    Rename { to: String },
    /// `ModifyImageAttribute` with `ImageDescription`.
    Describe { to: String },
}

impl ActionKind {
    /// `delete`, `rename`, `describe`: as rules declare it and the file names it.
    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::Delete => "delete",
            ActionKind::Rename { .. } => "rename",
            ActionKind::Describe { .. } => "describe",
        }
    }

    /// The new value: the name of a rename, the description of a describe.
    pub fn new_value(&self) -> Option<&str> {
        match self {
            ActionKind::Delete => None,
            ActionKind::Rename { to } | ActionKind::Describe { to } => Some(to),
        }
    }

    /// The API field the new value goes into, with its limit in characters.
    pub fn field_limit(&self) -> Option<(&'static str, usize)> {
        match self {
            ActionKind::Delete => None,
            ActionKind::Rename { .. } => Some(("ImageName", MAX_NAME_CHARS)),
            ActionKind::Describe { .. } => Some(("ImageDescription", MAX_DESCRIPTION_CHARS)),
        }
    }
}

/// `ModifyImageAttribute`'s limit on `ImageName`: 20 characters (Unicode
/// characters, as the API documents "字符", not bytes).
pub const MAX_NAME_CHARS: usize = 20;
/// `ModifyImageAttribute`'s limit on `ImageDescription`: 60 characters.
pub const MAX_DESCRIPTION_CHARS: usize = 60;

/// What used an image when the plan was made: the ids of the instances that
/// run it and of the modules that deploy it by default. For a delete both
/// are empty (only an image proven unused is deleted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenUsage {
    pub instances: Vec<String>,
    pub modules: Vec<String>,
}

/// One action of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    #[serde(flatten)]
    pub kind: ActionKind,
    pub image_id: String,
    /// The rule whose `fix` this is.
    pub rule: String,
    /// The finding's message, as the check reported it.
    pub message: String,
    /// The image as the API sent it when the plan was made: `apply` compares
    /// it with a fresh read and skips the action as stale when it changed.
    pub image: serde_json::Map<String, serde_json::Value>,
    /// Its usage when the plan was made (`None`: usage was not listed, which
    /// only a rename or describe can do without).
    pub usage: Option<SeenUsage>,
}

impl Action {
    /// The image's name as seen, if it had one.
    pub fn image_name(&self) -> Option<&str> {
        self.image.get("ImageName").and_then(|v| v.as_str())
    }

    /// The current value of the field this action sets (`ImageName`,
    /// `ImageDescription`), as seen.
    pub fn old_value(&self) -> Option<&str> {
        let (field, _) = self.kind.field_limit()?;
        self.image.get(field).and_then(|v| v.as_str())
    }
}

/// An image as a plan records it, and as `apply` puts a fresh read of it before comparing
/// the two: the image model written as JSON, so that a field the API sends as `null` and one
/// it leaves out are the same value (the model holds neither).
pub fn recorded_image(image: &Image) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(image) {
        Ok(serde_json::Value::Object(map)) => map,
        // An image always serialises to an object; keep at least its id.
        _ => image
            .id()
            .map(|id| ("ImageId".to_owned(), serde_json::Value::from(id)))
            .into_iter()
            .collect(),
    }
}

/// A fix that was not planned, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    #[serde(flatten)]
    pub kind: ActionKind,
    pub image_id: String,
    pub rule: String,
    pub message: String,
    pub reason: KeptReason,
}

/// Why a declared fix was not planned. When unsure, the planner does not act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeptReason {
    /// A delete of an image that instances run or modules deploy.
    InUse {
        instances: Vec<String>,
        modules: Vec<String>,
    },
    /// A delete of an image whose use cannot be proven absent: some instance
    /// runs an image the API does not name (`Image: null`).
    UnknownUse {
        instances: Vec<String>,
        modules: Vec<String>,
        unknown_image_instances: u64,
    },
    /// A delete when usage was not listed at all.
    UsageNotListed,
    /// Only `PRIVATE_IMAGE` can be changed (`ImageType` as seen; `None`: missing).
    NotPrivate { image_type: Option<String> },
    /// The new value is longer than the API takes.
    TooLong {
        field: String,
        chars: usize,
        limit: usize,
    },
    /// The template rendered to nothing (or only spaces).
    Empty { field: String },
    /// The image already has the new value: nothing to do.
    Unchanged { field: String },
    /// Another image already has the new name.
    NameTaken { by: String },
    /// Other actions of the plan would give the same name to other images.
    NameCollision { with: Vec<String> },
    /// The run checked a selection, not the account: whether another image
    /// has the new name cannot be known.
    NameUnverifiable { selection: String },
    /// Other rules' fixes would set the same field of the same image to
    /// something else.
    Conflict { rules: Vec<String> },
    /// Another rule's fix deletes the image.
    Deleted { by_rule: String },
    /// Another rule's fix already makes the same change.
    Duplicate { of_rule: String },
}

impl KeptReason {
    /// The short tally name, as the plan's summary line counts it.
    pub fn tally(&self) -> &'static str {
        match self {
            KeptReason::InUse { .. } => "in use",
            KeptReason::UnknownUse { .. } | KeptReason::UsageNotListed => "of unknown use",
            KeptReason::NotPrivate { .. } => "not private",
            KeptReason::TooLong { .. } => "too long",
            KeptReason::Empty { .. } => "empty",
            KeptReason::Unchanged { .. } => "unchanged",
            KeptReason::NameTaken { .. }
            | KeptReason::NameCollision { .. }
            | KeptReason::NameUnverifiable { .. } => "name not free",
            KeptReason::Conflict { .. } => "in conflict",
            KeptReason::Deleted { .. } | KeptReason::Duplicate { .. } => "covered by another rule",
        }
    }
}

impl std::fmt::Display for KeptReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeptReason::InUse { instances, modules } => {
                write!(f, "in use ({})", users(instances, modules))
            }
            KeptReason::UnknownUse {
                instances,
                modules,
                unknown_image_instances,
            } => {
                write!(
                    f,
                    "its use is unknown: {} run an image the API does not name",
                    crate::text::count(*unknown_image_instances, "instance", "instances")
                )?;
                if !instances.is_empty() || !modules.is_empty() {
                    write!(f, " (known: {})", users(instances, modules))?;
                }
                Ok(())
            }
            KeptReason::UsageNotListed => f.write_str("its usage was not listed"),
            KeptReason::NotPrivate { image_type } => write!(
                f,
                "ImageType is {}: only PRIVATE_IMAGE can be changed",
                image_type.as_deref().unwrap_or("missing")
            ),
            KeptReason::TooLong {
                field,
                chars,
                limit,
            } => write!(
                f,
                "the new {field} is {chars} characters long; the API takes at most {limit}"
            ),
            KeptReason::Empty { field } => write!(f, "the new {field} is empty"),
            KeptReason::Unchanged { field } => write!(f, "{field} already has that value"),
            KeptReason::NameTaken { by } => write!(f, "the name is taken by {by}"),
            KeptReason::NameCollision { with } => write!(
                f,
                "the plan would give the same name to {}",
                with.join(", ")
            ),
            KeptReason::NameUnverifiable { selection } => write!(
                f,
                "the run checked a selection ({selection}), so whether another image has the name cannot be known"
            ),
            KeptReason::Conflict { rules } => write!(
                f,
                "the fixes of {} set it to something else",
                rules.join(", ")
            ),
            KeptReason::Deleted { by_rule } => write!(f, "{by_rule} deletes the image"),
            KeptReason::Duplicate { of_rule } => write!(f, "{of_rule} makes the same change"),
        }
    }
}

/// `3 instances (ins-a, ins-b, ins-c), module em-1`.
fn users(instances: &[String], modules: &[String]) -> String {
    let mut parts = Vec::new();
    if !instances.is_empty() {
        parts.push(format!(
            "{}: {}",
            crate::text::count(instances.len() as u64, "instance", "instances"),
            instances.join(", ")
        ));
    }
    if !modules.is_empty() {
        parts.push(format!(
            "{}: {}",
            if modules.len() == 1 {
                "module"
            } else {
                "modules"
            },
            modules.join(", ")
        ));
    }
    if parts.is_empty() {
        "no instance or module named".to_owned()
    } else {
        parts.join("; ")
    }
}

/// Findings of rules with a fix that are never planned, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotPlanned {
    pub indeterminate: u64,
    pub waived: u64,
    pub baselined: u64,
    pub grace: u64,
}

/// A plan, as `ecmguard plan` makes it and `ecmguard apply` performs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The ecmguard version that made it.
    pub tool_version: String,
    /// When it was made, by the system clock (not `--now`: a plan's life is
    /// real time, whatever time the check was judged at).
    pub created_at: Timestamp,
    /// After this, by the system clock, `apply` refuses it.
    pub expires_at: Timestamp,
    /// The `--now` the check was evaluated at.
    pub evaluated_at: Timestamp,
    /// The API endpoint the images came from (`None`: a snapshot that does
    /// not record one; such a plan can be reviewed but not applied).
    pub endpoint: Option<String>,
    /// The non-secret fingerprint of the account behind the images, the one
    /// the history records per run (`None`: no private image named its owner).
    pub account: Option<String>,
    /// sha256 over the policy files, as the history records it.
    pub policy_digest: String,
    /// What narrowed the check (`--image`, `--filter`, `--module`), if anything.
    pub selection: Option<String>,
    pub actions: Vec<Action>,
    pub kept: Vec<Kept>,
    pub not_planned: NotPlanned,
}

impl Plan {
    /// How many actions of each kind: (delete, rename, describe).
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |f: fn(&ActionKind) -> bool| self.actions.iter().filter(|a| f(&a.kind)).count();
        (
            n(|k| matches!(k, ActionKind::Delete)),
            n(|k| matches!(k, ActionKind::Rename { .. })),
            n(|k| matches!(k, ActionKind::Describe { .. })),
        )
    }

    /// Refuse to apply the plan to another endpoint or account than the one
    /// it was made for: its actions were checked against that account's
    /// images, and the same ImageIds elsewhere are other images. `endpoint`
    /// is this run's API endpoint, `account` the fingerprint of this run's
    /// images as the history computes it (`history::account::Fingerprint`,
    /// stored form).
    pub fn check_target(&self, endpoint: &str, account: Option<&str>) -> Result<(), Diag> {
        let Some(planned) = self.endpoint.as_deref() else {
            return Err(Diag::error(
                Code::PlanTarget,
                "the plan does not say which endpoint it was made for (it was made from a snapshot that records none): it cannot be applied",
            )
            .with_help("make the plan from the live API, or from a snapshot written by `ecmguard fetch`, which records its endpoint"));
        };
        if same_endpoint(planned, endpoint) {
            if self.account.as_deref() == account {
                return Ok(());
            }
            return Err(Diag::error(
                Code::PlanTarget,
                format!(
                    "the plan was made for the account with fingerprint {}, and this run's credentials reach {}: nothing was done",
                    self.account.as_deref().unwrap_or("(none)"),
                    account.unwrap_or("one whose images name no owner")
                ),
            )
            .with_help("apply the plan with the credentials (--profile) of the account it was made for, or make a new plan for this account"));
        }
        Err(Diag::error(
            Code::PlanTarget,
            format!(
                "the plan was made for the endpoint {}, and this run uses {}: nothing was done",
                crate::text::escape(planned),
                crate::text::escape(endpoint)
            ),
        )
        .with_help(format!(
            "apply it with --endpoint {} (or make a new plan against this endpoint)",
            crate::text::escape(planned)
        )))
    }
}

/// Endpoints as the user may write them: a trailing `/` changes nothing.
fn same_endpoint(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}
