//! Diagnostic codes: one enum, each code with a stable name and a description.
//!
//! Codes are part of the user contract (they appear in every report and can be
//! searched for), so they are kept in one place and never renamed.

macro_rules! codes {
    ($($variant:ident => $name:literal, $description:literal;)*) => {
        /// A stable diagnostic code (`ecmguard::<name>`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The short name, without the `ecmguard::` prefix.
            pub fn name(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            /// What the code means, for `docs/diagnostics.md` and `--explain`-style help.
            pub fn description(self) -> &'static str {
                match self {
                    $(Code::$variant => $description,)*
                }
            }
        }
    };
}

codes! {
    Internal => "internal", "ecmguard could not do something that does not depend on the input (start its async runtime, serialise its own output).";
    InvalidArgument => "invalid-argument", "A command-line flag has an invalid value.";
    FileWrite => "file-write", "A report, snapshot or baseline file could not be written.";
    FileRead => "file-read", "A policy, snapshot or test file could not be read.";
    FileTooLarge => "file-too-large", "A policy or test file is larger than the size limit (1 MiB).";
    InvalidUtf8 => "invalid-utf8", "A policy or test file is not valid UTF-8.";
    YamlSyntax => "yaml-syntax", "The file is not valid YAML, or exceeds the parser's depth, alias or size budget.";
    NoPolicyFiles => "no-policy-files", "A --policy directory holds no *.yaml or *.yml policy file.";
    NoRules => "no-rules", "The policy set defines no rule.";
    UnknownKey => "unknown-key", "A mapping has a key that the policy language does not define.";
    MissingKey => "missing-key", "A required key is absent.";
    WrongType => "wrong-type", "A value has the wrong YAML type (for example a list where a mapping is expected).";
    DuplicateKey => "duplicate-key", "A key appears twice in one mapping.";
    InvalidRuleId => "invalid-rule-id", "A rule id does not match [a-z0-9][a-z0-9._-]*.";
    DuplicateRuleId => "duplicate-rule-id", "Two rules in the policy set share one id.";
    UnknownSeverity => "unknown-severity", "A severity is not one of error, warning, info.";
    UnknownUnknownPolicy => "unknown-unknown-policy", "`unknown` is not one of fail, pass.";
    CheckKind => "check-kind", "A rule must have exactly one of `assert` and `expect`.";
    UnknownField => "unknown-field", "A field path is not one of the DescribeImage Image fields.";
    UnknownOperator => "unknown-operator", "An operator is not one of the condition operators.";
    OperatorType => "operator-type", "An operator does not apply to the field's type.";
    OperandType => "operand-type", "An operand's type does not match what the operator and field need.";
    EmptyCondition => "empty-condition", "A condition, matcher or list is empty and would be vacuous.";
    IgnoreCaseAlone => "ignore-case-alone", "`ignore_case` is given without a string operator to modify.";
    InvalidRegex => "invalid-regex", "A regular expression does not compile (Rust `regex` syntax) or is too large.";
    InvalidGlob => "invalid-glob", "A glob pattern is malformed (for example an unclosed `[`).";
    InvalidDuration => "invalid-duration", "A duration is not one or more <integer><unit> groups with units s, min, h, d, w, mo, y.";
    InvalidTime => "invalid-time", "A time operand is not a date, a `YYYY-MM-DD hh:mm:ss` time, or RFC 3339 with an offset.";
    InvalidCount => "invalid-count", "A set-level `count` is not a mapping of eq/gte/gt/lte/lt to non-negative integers.";
    UnknownPlaceholder => "unknown-placeholder", "A message template names a placeholder that does not exist.";
    InvalidTemplate => "invalid-template", "A message template has an unclosed `{` or a stray `}`.";
    UnknownParam => "unknown-param", "An operand references a param that is not defined.";
    DuplicateParam => "duplicate-param", "Two params in the policy set share one name.";
    MissingParamValue => "missing-param-value", "A param has no default and no --param value.";
    InvalidParamName => "invalid-param-name", "A param name does not match [A-Za-z_][A-Za-z0-9_]*.";
    UnknownParamArgument => "unknown-param-argument", "A --param names a param that no policy file defines.";
    UnusedParam => "unused-param", "Warning: a param is defined but never referenced.";
    EmbeddedParam => "embedded-param", "Warning: a `${…}` reference inside a longer string is not substituted; params replace whole operands only.";
    UnknownRule => "unknown-rule", "A waiver names a rule id that is not in the policy set.";
    WaiverExpired => "waiver-expired", "Warning: a waiver's `expires` date has passed, so it no longer applies.";
    WaiverUnused => "waiver-unused", "Warning: a waiver matched no finding.";
    SnapshotJson => "snapshot-json", "A snapshot is not valid JSON, or a field has the wrong type.";
    SnapshotShape => "snapshot-shape", "A snapshot is valid JSON but none of the accepted shapes.";
    SnapshotIncomplete => "snapshot-incomplete", "A snapshot holds fewer (or more) images than its TotalCount: it is not a complete result set.";
    SnapshotApiError => "snapshot-api-error", "A snapshot holds an API error response instead of images.";
    GateFailed => "gate-failed", "The check found violations or indeterminate findings at or above --fail-on (exit 1).";
    InvalidTestFile => "invalid-test-file", "A policy test file (*.test.yaml) is malformed.";
    TestCaseFailed => "test-case-failed", "A policy test case's findings differ from the expected ones.";
    WaiverScope => "waiver-scope", "Warning: a waiver without images or `where` only applies to set-level findings, but names a per-image rule.";
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_kebab_case() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.name()), "duplicate code {}", code.name());
            assert!(
                code.name()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{} is not kebab-case",
                code.name()
            );
            assert!(!code.description().is_empty());
        }
    }
}

#[cfg(test)]
mod docs_tests {
    use super::Code;

    #[test]
    fn every_code_is_documented() {
        let docs = include_str!("../../docs/diagnostics.md");
        for code in Code::ALL {
            assert!(
                docs.contains(&format!("| `{}` |", code.name())),
                "docs/diagnostics.md lacks {}",
                code.name()
            );
        }
    }
}
