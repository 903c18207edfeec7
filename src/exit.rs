//! The exit-code table of SPEC section 2, in one place.
//!
//! Every path out of the binary goes through [`ExitCode`]; no other module
//! chooses a process status. Output formats never influence it: only the
//! verdict, `--fail-on`, and whether the data was complete do.

/// The fixed process exit codes of `ecmguard`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitCode {
    /// Every rule evaluated on the complete result set; nothing at or above `--fail-on`.
    Pass = 0,
    /// At least one violation or indeterminate finding at or above `--fail-on`.
    Fail = 1,
    /// Invalid invocation, policy, snapshot, test file, or a failing `ecmguard test`.
    Invalid = 2,
    /// The data could not be obtained completely (credentials, network, API, pagination).
    Incomplete = 3,
}

impl ExitCode {
    /// The numeric process status.
    pub fn code(self) -> u8 {
        self as u8
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

    #[test]
    fn codes_match_the_spec_table() {
        assert_eq!(ExitCode::Pass.code(), 0);
        assert_eq!(ExitCode::Fail.code(), 1);
        assert_eq!(ExitCode::Invalid.code(), 2);
        assert_eq!(ExitCode::Incomplete.code(), 3);
    }
}
