//! What a command ends with: an [`Outcome`] when it could answer, or an
//! [`Error`] saying which stage stopped it. Each stage returns its own typed
//! error; this module gathers them for the command layer, and `exit` maps
//! every case to its exit class, in one place.

use crate::diag::Diag;
use crate::eval::Verdict;
use crate::source::live::FetchError;
use crate::source::snapshot::SnapshotError;

/// A command that answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The command did its job (validate, rules, fetch, passing policy tests).
    Done,
    /// A check's verdict on a complete evaluation.
    Verdict(Verdict),
    /// Policy tests ran and at least one case failed.
    TestsFailed,
    /// A plan was applied: how it ended.
    Applied(ApplyEnd),
}

/// How an apply ended, as its exit code says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyEnd {
    /// Every action done or already done.
    AllDone,
    /// Some skipped (stale, in use), none failed.
    Skipped,
    /// Some failed or were not attempted, or the run stopped (network, deadline, Ctrl-C).
    Failed,
}

/// Why a command stopped before it could answer.
#[derive(Debug)]
pub enum Error {
    /// The flags (with the config file and param files that stand for
    /// them) cannot be used as given; no policy was read and nothing fetched
    /// (also: `--image` names an image the result set does not hold).
    Usage(Vec<Diag>),
    /// Policy files: every problem found, errors first, with their warnings.
    Policy(Vec<Diag>),
    /// Policy test files (`*.test.yaml`): every problem found.
    TestFile(Vec<Diag>),
    /// A `--baseline` file that cannot be used.
    Baseline(Diag),
    /// A snapshot that cannot be read or judged.
    Snapshot(SnapshotError),
    /// The live fetch did not produce the complete result set.
    Fetch(FetchError),
    /// Output that could not be written (a report, snapshot or baseline).
    Output(Diag),
    /// A plan that cannot be made (too many actions) or a plan file that
    /// cannot be used (edited, expired, of another schema, endpoint or
    /// account); nothing was saved or done.
    Plan(Diag),
    /// The `--history` database: cannot be opened, is not ours, was written
    /// by a newer version, or the run could not be recorded in it.
    History(Diag),
}

impl Error {
    /// Invalid usage from one diagnostic.
    pub fn usage(diag: Diag) -> Error {
        Error::Usage(vec![diag])
    }

    /// Problems found in files the user writes (policies, policy tests):
    /// reported with a closing count.
    pub fn is_about_files(&self) -> bool {
        matches!(self, Error::Policy(_) | Error::TestFile(_))
    }

    /// Every diagnostic that explains the error, in the order to print them.
    pub fn into_diagnostics(self) -> Vec<Diag> {
        match self {
            Error::Usage(diags) | Error::Policy(diags) | Error::TestFile(diags) => diags,
            Error::Baseline(diag)
            | Error::Output(diag)
            | Error::History(diag)
            | Error::Plan(diag) => {
                vec![diag]
            }
            Error::Snapshot(error) => vec![error.into_diag()],
            Error::Fetch(error) => vec![error.diag()],
        }
    }
}

impl From<SnapshotError> for Error {
    fn from(error: SnapshotError) -> Self {
        Error::Snapshot(error)
    }
}

impl From<FetchError> for Error {
    fn from(error: FetchError) -> Self {
        Error::Fetch(error)
    }
}
