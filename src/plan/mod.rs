//! Remediation plans (docs/remediation.md): what the rules' declared fixes
//! would do to the failing images, and the plan file that carries it from
//! `ecmguard plan` to `ecmguard apply`. Pure like `eval`: no I/O, no clock,
//! no network; the plan is made from a policy set, an evaluation and the
//! image set (with its usage), and every action not taken is kept with a
//! typed reason. Nothing here can reach a write action: performing a plan is
//! `apply`'s, which is the only code that writes to the cloud.

pub mod file;
pub mod model;
pub mod planner;

pub use file::{MAX_FILE_BYTES, PLAN_SCHEMA};
pub use model::{Action, ActionKind, Kept, KeptReason, NotPlanned, Plan, SeenUsage};
pub use planner::{Context, plan};

/// `plan --max-actions`: how many actions a plan may have unless raised.
pub const DEFAULT_MAX_ACTIONS: usize = 20;

/// `plan --plan-ttl`: how long a plan can be applied.
pub const DEFAULT_TTL_TEXT: &str = "24h";
