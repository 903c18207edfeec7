//! Remediation's second half: performing a plan's actions against the live account. The
//! only code in ecmguard that writes to the cloud.
//!
//! - `client`: the write client (`DeleteImage`, `ModifyImageAttribute`), signed and paced
//!   per action, with the read path's retry classification and the rule that a write whose
//!   answer was lost is never sent again before a re-read;
//! - `engine`: per action, re-read, decide (already done, stale, to do), write, report
//!   through a callback; several images side by side in a bounded window;
//! - `report`: the outcomes, the summary line, the `ecmguard/apply/v1` file;
//! - `stop`: a Ctrl-C that lets the actions in flight finish.
//!
//! Nothing on the read path (`source`, `app::check`, `app::fetch`, the planner) imports this
//! module; a test keeps it so (docs/remediation.md).

pub mod client;
pub mod engine;
pub mod report;
pub mod stop;

pub use engine::{Hooks, apply};
pub use report::{ActionOutcome, Applied, Status};
