//! The exit-code table, and the one place that decides which code a run
//! ends with.
//!
//! Every path out of the binary goes through [`ExitCode::of`]; no other
//! module chooses a process status. Output formats never influence it: only
//! the verdict (after `--fail-on`), and how a command stopped, do.

use crate::eval::Verdict;
use crate::outcome::{ApplyEnd, Error, Outcome};
use crate::source::live::FetchError;
use crate::source::snapshot::SnapshotError;

/// The fixed process exit codes of `ecmguard`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitCode {
    /// Every rule evaluated on the complete result set; nothing at or above `--fail-on`.
    Pass = 0,
    /// At least one violation or indeterminate finding at or above `--fail-on`.
    Fail = 1,
    /// Invalid invocation, policy, snapshot, test file, a failing `ecmguard test`, or output
    /// that could not be written.
    Invalid = 2,
    /// The data could not be obtained completely (credentials, network, API, pagination).
    Incomplete = 3,
}

/// The status of a run stopped by Ctrl-C (SIGINT): 128 + 2, what shells
/// report for a command the signal ended. Outside the table above on
/// purpose: an interrupted run has no verdict and no complete data, and a
/// status no finished run can have says so to scripts and CI (any non-zero
/// status fails a step). The binary's signal handler uses it (docs/live.md,
/// "Interrupting a run").
pub const INTERRUPTED: u8 = 130;

/// The status of a run stopped by SIGTERM (how CI runners cancel a job):
/// 128 + 15, for the same reasons as [`INTERRUPTED`].
pub const TERMINATED: u8 = 143;

impl ExitCode {
    /// The numeric process status.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit code of a command's result.
    pub fn of(result: &Result<Outcome, Error>) -> ExitCode {
        match result {
            Ok(outcome) => ExitCode::of_outcome(*outcome),
            Err(error) => ExitCode::of_error(error),
        }
    }

    pub fn of_outcome(outcome: Outcome) -> ExitCode {
        match outcome {
            Outcome::Done => ExitCode::Pass,
            Outcome::Verdict(verdict) => ExitCode::of_verdict(verdict),
            Outcome::TestsFailed => ExitCode::Invalid,
            // What was planned and is not done is not "obtained": the data class of failure.
            Outcome::Applied(end) => match end {
                ApplyEnd::AllDone => ExitCode::Pass,
                ApplyEnd::Skipped => ExitCode::Fail,
                ApplyEnd::Failed => ExitCode::Incomplete,
            },
        }
    }

    pub fn of_verdict(verdict: Verdict) -> ExitCode {
        match verdict {
            Verdict::Pass => ExitCode::Pass,
            Verdict::Fail => ExitCode::Fail,
        }
    }

    pub fn of_error(error: &Error) -> ExitCode {
        match error {
            Error::Usage(_)
            | Error::Policy(_)
            | Error::TestFile(_)
            | Error::Baseline(_)
            | Error::Plan(_)
            | Error::Output(_) => ExitCode::Invalid,
            // A history that cannot be used or written is invalid output, as
            // a report that cannot be written is: exit 2 whatever the verdict
            // was, so a run whose record was lost never passes for green, and
            // a failing gate is never turned into a pass.
            Error::History(_) => ExitCode::Invalid,
            Error::Snapshot(error) => match error {
                SnapshotError::Unreadable(_) | SnapshotError::Malformed(_) => ExitCode::Invalid,
                SnapshotError::Incomplete(_) | SnapshotError::ApiError(_) => ExitCode::Incomplete,
            },
            Error::Fetch(error) => ExitCode::of_fetch_error(error),
        }
    }

    /// 2 when the invocation could not be used and nothing was sent; 3 when the data could
    /// not be obtained completely.
    pub fn of_fetch_error(error: &FetchError) -> ExitCode {
        match error {
            FetchError::Filter(_)
            | FetchError::InsecureEndpoint { .. }
            | FetchError::BadEndpoint { .. }
            | FetchError::InvalidSetting { .. } => ExitCode::Invalid,
            FetchError::Credentials(_)
            | FetchError::ClientSetup { .. }
            | FetchError::Runtime { .. }
            | FetchError::Api(_)
            | FetchError::Transport { .. }
            | FetchError::Timeout { .. }
            | FetchError::HttpStatus { .. }
            | FetchError::MalformedResponse { .. }
            | FetchError::ResponseTooLarge { .. }
            | FetchError::ImageModel { .. }
            | FetchError::ImageWithoutId { .. }
            | FetchError::TotalTooLarge { .. }
            | FetchError::PageMismatch { .. }
            | FetchError::Deadline { .. }
            | FetchError::ItemModel { .. }
            | FetchError::Unsettled { .. } => ExitCode::Incomplete,
            // A usage listing fails as its cause does.
            FetchError::Usage { error, .. } => ExitCode::of_fetch_error(error),
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Code, Diag};

    #[test]
    fn codes_match_the_table() {
        assert_eq!(ExitCode::Pass.code(), 0);
        assert_eq!(ExitCode::Fail.code(), 1);
        assert_eq!(ExitCode::Invalid.code(), 2);
        assert_eq!(ExitCode::Incomplete.code(), 3);
    }

    #[test]
    fn each_way_of_stopping_has_its_class() {
        let diag = || Diag::error(Code::Internal, "x");
        let of = |error: Error| ExitCode::of(&Err(error));
        assert_eq!(of(Error::usage(diag())), ExitCode::Invalid);
        assert_eq!(of(Error::Output(diag())), ExitCode::Invalid);
        assert_eq!(of(Error::History(diag())), ExitCode::Invalid);
        assert_eq!(
            of(Error::Snapshot(SnapshotError::Malformed(diag()))),
            ExitCode::Invalid
        );
        assert_eq!(
            of(Error::Snapshot(SnapshotError::Incomplete(diag()))),
            ExitCode::Incomplete
        );
        assert_eq!(
            of(Error::Fetch(FetchError::InsecureEndpoint {
                endpoint: "http://x".into()
            })),
            ExitCode::Invalid
        );
        assert_eq!(
            of(Error::Fetch(FetchError::Unsettled {
                action: &crate::source::live::DESCRIBE_IMAGE,
                restarts: 3,
                reason: "x".into()
            })),
            ExitCode::Incomplete
        );
        assert_eq!(ExitCode::of(&Ok(Outcome::TestsFailed)), ExitCode::Invalid);
        assert_eq!(
            ExitCode::of(&Ok(Outcome::Verdict(Verdict::Fail))),
            ExitCode::Fail
        );
    }
}
