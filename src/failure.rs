//! Why a run stopped before a verdict: the exit code and every diagnostic
//! that explains it. The binary renders these; the library only builds them.

use crate::diag::Diag;
use crate::exit::ExitCode;

/// A run that ended without a verdict (exit 2 or 3).
#[derive(Debug)]
pub struct Failure {
    pub exit: ExitCode,
    pub diagnostics: Vec<miette::Report>,
}

impl Failure {
    pub fn new(exit: ExitCode, diagnostics: Vec<miette::Report>) -> Self {
        Self { exit, diagnostics }
    }

    /// Invalid input (exit 2) from located diagnostics.
    pub fn invalid(diags: impl IntoIterator<Item = Diag>) -> Self {
        Self::new(
            ExitCode::Invalid,
            diags.into_iter().map(miette::Report::new).collect(),
        )
    }

    /// Invalid input (exit 2) from one diagnostic of any kind.
    pub fn invalid_one(diag: impl miette::Diagnostic + Send + Sync + 'static) -> Self {
        Self::new(ExitCode::Invalid, vec![miette::Report::new(diag)])
    }

    /// Incomplete data (exit 3).
    pub fn incomplete(diag: impl miette::Diagnostic + Send + Sync + 'static) -> Self {
        Self::new(ExitCode::Incomplete, vec![miette::Report::new(diag)])
    }
}
