//! Every diagnostic code ecmguard can print, in one enum, grouped by area:
//! a stable kebab-case name (`ecmguard::<name>`) and a description each.
//!
//! Codes are part of the user contract (they appear on stderr and in every
//! report and can be searched for), so they are kept here, in one place,
//! never renamed without a note in `docs/diagnostics.md`. That file is
//! generated from this table ([`reference_markdown`]); a test fails when the
//! two disagree. Findings of rules use the rule id as their code instead.

macro_rules! codes {
    ($(area $area:literal { $($variant:ident => $name:literal, $description:literal;)* })*) => {
        /// A stable diagnostic code (`ecmguard::<name>`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($($variant,)*)*
        }

        impl Code {
            /// Every code, in declaration order (grouped by area).
            pub const ALL: &'static [Code] = &[$($(Code::$variant,)*)*];

            /// The short name, without the `ecmguard::` prefix.
            pub fn name(self) -> &'static str {
                match self {
                    $($(Code::$variant => $name,)*)*
                }
            }

            /// What the code means.
            pub fn description(self) -> &'static str {
                match self {
                    $($(Code::$variant => $description,)*)*
                }
            }

            /// The area of the product the code belongs to (a heading of the reference).
            pub fn area(self) -> &'static str {
                match self {
                    $($(Code::$variant => $area,)*)*
                }
            }
        }
    };
}

codes! {
    area "Invocation and output" {
        InvalidArgument => "invalid-argument", "A command-line flag has an invalid value, or flags that cannot be combined were given together.";
        FileRead => "file-read", "A policy, snapshot, baseline, test, param or config file could not be read (or is not a regular file).";
        FileWrite => "file-write", "A report, snapshot or baseline could not be written (to a file or to stdout); nothing written is ever a success.";
        OutputIsInput => "output-is-input", "An output path (--output, --report, --write-baseline, fetch -o) is the same file as an input (the snapshot, a policy, the baseline, the config file, a param file) or as another output; refused before any work.";
        Interrupted => "interrupted", "The run was stopped by Ctrl-C (SIGINT) or SIGTERM before it finished: no verdict, and no output file was written or changed (exit 130, or 143 for SIGTERM).";
        Internal => "internal", "ecmguard could not do something that does not depend on the input (start its async runtime, serialise its own output).";
    }
    area "Policy files" {
        FileTooLarge => "file-too-large", "A policy, test, param or config file is larger than the size limit (1 MiB).";
        InvalidUtf8 => "invalid-utf8", "A policy, test, param or config file is not valid UTF-8.";
        YamlSyntax => "yaml-syntax", "The file is not valid YAML, or exceeds the parser's depth, alias or size budget.";
        NoPolicyFiles => "no-policy-files", "A --policy directory holds no *.yaml or *.yml policy file.";
        NoRules => "no-rules", "The policy set defines no rule.";
        UnknownKey => "unknown-key", "A mapping has a key that the policy language does not define.";
        MissingKey => "missing-key", "A required key is absent.";
        WrongType => "wrong-type", "A value has the wrong YAML type (for example a list where a mapping is expected).";
        EmptyValue => "empty-value", "A text value that must say something (a rule's `title`, a waiver's `reason`) is empty.";
        InvalidUrl => "invalid-url", "A rule's `url` is not an absolute http(s) URL with a host (or holds spaces, quotes or angle brackets).";
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
        PatternBudget => "pattern-budget", "The regular expressions and globs of the policy set together compile to more than the budget (64 MiB); the one that crosses it is pointed at.";
        InvalidGlob => "invalid-glob", "A glob pattern is malformed (for example an unclosed `[`).";
        InvalidDuration => "invalid-duration", "A duration is not one or more <integer><unit> groups with units s, min, h, d, w, mo, y.";
        InvalidTime => "invalid-time", "A time operand is not a date, a `YYYY-MM-DD hh:mm:ss` time, or RFC 3339 with an offset.";
        InvalidCount => "invalid-count", "A set-level `count` is not a mapping of eq/gte/gt/lte/lt to non-negative integers.";
        UnknownPlaceholder => "unknown-placeholder", "A message template names a placeholder that does not exist.";
        InvalidTemplate => "invalid-template", "A message template has an unclosed `{` or a stray `}`.";
        UnknownRule => "unknown-rule", "A waiver names a rule id that is not in the policy set.";
        WaiverScope => "waiver-scope", "Warning: a waiver without images or `where` only applies to set-level findings, but names a per-image rule.";
    }
    area "Params" {
        UnknownParam => "unknown-param", "An operand references a param that is not defined.";
        DuplicateParam => "duplicate-param", "Two params in the policy set share one name.";
        MissingParamValue => "missing-param-value", "A param has no default and no value from a param file, ECMGUARD_PARAM_<name> or --param.";
        InvalidParamName => "invalid-param-name", "A param name does not match [A-Za-z_][A-Za-z0-9_]*.";
        UnknownParamArgument => "unknown-param-argument", "A --param names a param that no policy file defines.";
        UnusedParam => "unused-param", "Warning: a param is defined but never referenced.";
        EmbeddedParam => "embedded-param", "Warning: a `${…}` reference inside a longer string is not substituted; params replace whole operands only.";
        ParamValueType => "param-value-type", "A value given for a param (in a param file, ECMGUARD_PARAM_<name> or --param) does not parse as the param's type (its default's, or what its use needs).";
        InvalidParamFile => "invalid-param-file", "A param file is not a mapping of param names to values (each a scalar or a list of scalars), or a value is empty or a mapping.";
        UnknownParamInFile => "unknown-param-in-file", "A param file sets a param that no policy file defines.";
        UnknownParamEnv => "unknown-param-env", "Warning: an ECMGUARD_PARAM_<name> environment variable names no param of the policy set; it is ignored (the environment is shared by many runs).";
        InvalidParamEnv => "invalid-param-env", "An ECMGUARD_PARAM_<name> environment variable's value is not valid UTF-8.";
    }
    area "Project config file" {
        ConfigUnknownKey => "config-unknown-key", "The config file (ecmguard.yaml or --config) has a key that is not a config key.";
        ConfigType => "config-type", "A value in the config file has the wrong YAML type (for example a number where a duration like 30s is expected).";
        ConfigValue => "config-value", "A value in the config file is not valid for its key (a --fail-on level, a time zone, a timeout, a rate, an endpoint, a FORMAT=FILE report).";
        ConfigCredential => "config-credential", "The config file holds what looks like a credential (a secret id or key, a token, a password); it is committed with the project, so credentials come from the environment, ~/.tencentcloud/credentials or --profile instead.";
    }
    area "Evaluation and the gate" {
        WaiverExpired => "waiver-expired", "Warning: a waiver's `expires` date has passed, so it no longer applies.";
        WaiverUnused => "waiver-unused", "Warning: a waiver matched no finding.";
        GateFailed => "gate-failed", "The check found violations or indeterminate findings at or above --fail-on (exit 1).";
        NothingChecked => "nothing-checked", "No image was evaluated (an empty account, a filter that matched nothing, an empty snapshot): a warning in every report, and exit 1 unless --allow-empty.";
        GraceWithoutHistory => "grace-without-history", "Warning: a rule has `grace`, but the check has no --history, so no violation's age is known: its violations fail at once (fail-closed).";
    }
    area "Compliance history" {
        HistoryOpen => "history-open", "The --history database cannot be opened or created: a path that is not a writable SQLite file, or a PostgreSQL server that cannot be reached or refuses the login (exit 2).";
        HistoryForeign => "history-foreign", "The --history file is not an ecmguard history: not a SQLite database, or a SQLite database of another program (left untouched; exit 2).";
        HistoryNewerSchema => "history-newer-schema", "The history database was written by a newer ecmguard (a higher schema version): it is refused and left untouched (exit 2).";
        HistoryRead => "history-read", "Reading the history database failed (exit 2).";
        HistoryWrite => "history-write", "The run could not be recorded in the history database: nothing of it was kept, and the check exits 2 whatever its verdict, so a lost record never passes for a green gate.";
    }
    area "Baselines" {
        InvalidBaseline => "invalid-baseline", "A --baseline file is not a baseline written by `ecmguard check --write-baseline` (invalid JSON, a wrong field, or another schema).";
    }
    area "Policy tests" {
        InvalidTestFile => "invalid-test-file", "A policy test file (*.test.yaml) is malformed.";
        TestCaseFailed => "test-case-failed", "A policy test case's findings differ from the expected ones.";
    }
    area "Snapshots" {
        SnapshotJson => "snapshot-json", "A snapshot is not valid JSON, or a field has the wrong type.";
        SnapshotShape => "snapshot-shape", "A snapshot is valid JSON but none of the accepted shapes.";
        SnapshotIncomplete => "snapshot-incomplete", "A snapshot holds fewer (or more) images than its TotalCount, or does not say its total (no `TotalCount`/`total_count`, a response without `ImageSet`): it is not known to be the complete result set (exit 3).";
        SnapshotApiError => "snapshot-api-error", "A snapshot holds an API error response (an `Error` in any shape) instead of images.";
        SnapshotImageWithoutId => "snapshot-image-without-id", "A snapshot holds an image without an `ImageId`, which cannot be de-duplicated or baselined (exit 2).";
    }
    area "Live fetch: settings and filters" {
        InsecureEndpoint => "insecure-endpoint", "An http:// endpoint whose host is not a loopback address; only https:// may leave the machine.";
        InvalidEndpoint => "invalid-endpoint", "--endpoint is not a usable URL (scheme, host and optional port; no path, query or user info).";
        InvalidFetchSetting => "invalid-fetch-setting", "A fetch setting is out of range (--rate, --timeout, page size, retry budget).";
        FilterSyntax => "filter-syntax", "A --filter is not NAME=VALUE[,VALUE…].";
        UnknownFilter => "unknown-filter", "A --filter name is not one of the five DescribeImage filters.";
        FilterEmptyValue => "filter-empty-value", "A --filter has an empty value.";
        FilterValue => "filter-value", "A --filter value is not in the filter's documented value set (image-type takes PRIVATE_IMAGE or PUBLIC_IMAGE): the API would match nothing.";
        FilterSingleValue => "filter-single-value", "image-name and image-os take exactly one value.";
        TooManyFilters => "too-many-filters", "More filters than the 10 DescribeImage accepts in one request.";
    }
    area "Live fetch: credentials" {
        CredentialsNotFound => "credentials-not-found", "No Tencent Cloud credentials in the environment, the SDK credentials file, or the --profile named.";
        CredentialsIncomplete => "credentials-incomplete", "A place holds half a key pair (a secret id without a key, or the reverse).";
        CredentialsUnreadable => "credentials-unreadable", "A credentials file exists but cannot be read or parsed.";
        CredentialsInvalid => "credentials-invalid", "A credential holds characters that cannot travel in an HTTP header.";
        CredentialsExposed => "credentials-exposed", "Warning: the credentials file used can be read by its group or by other users (it holds a secret key).";
        InvalidProfileName => "invalid-profile-name", "A --profile name could not be a file name.";
    }
    area "Live fetch: network and API" {
        ClientSetup => "client-setup", "The HTTPS client could not be set up (TLS configuration).";
        NetworkError => "network-error", "Connecting to the endpoint, or the connection, failed on every attempt.";
        NetworkTimeout => "network-timeout", "Every attempt of a page request timed out (--timeout).";
        HttpStatus => "http-status", "The endpoint answered with an HTTP status other than 200 past the retry budget (API errors come with 200).";
        ApiMalformedResponse => "api-malformed-response", "The endpoint's answer is not a DescribeImage response (truncated, not JSON, fields missing).";
        ApiResponseTooLarge => "api-response-too-large", "A response body is larger than the limit for one page.";
        ApiImageModel => "api-image-model", "An image of the API's answer does not fit the DescribeImage model; no verdict is given on data that cannot be read.";
        ApiImageWithoutId => "api-image-without-id", "A page of the API's answer holds an image without an `ImageId`: it cannot be de-duplicated, so no verdict is given (exit 3).";
        ApiTotalTooLarge => "api-total-too-large", "The API reports a TotalCount beyond 10,000,000: refused (exit 3) before anything is planned or allocated for it.";
        ApiPageMismatch => "api-page-mismatch", "A page does not match its request (more images than `Limit`): exit 3.";
        FetchDeadline => "fetch-deadline", "The whole fetch took longer than --deadline (default 15 min): exit 3, no verdict.";
        RateAboveLimit => "rate-above-limit", "Warning: --rate is above the 20 requests per second DescribeImage allows; the API will throttle.";
        PaginationUnsettled => "pagination-unsettled", "The image list kept changing (or paged inconsistently) past the restart budget.";
        ApiSignatureExpire => "api-signature-expire", "AuthFailure.SignatureExpire after re-signing: this machine's clock is more than 5 minutes off.";
        ApiSecretIdNotFound => "api-secret-id-not-found", "AuthFailure.SecretIdNotFound / InvalidSecretId: the secret id is unknown to Tencent Cloud.";
        ApiSignatureFailure => "api-signature-failure", "AuthFailure.SignatureFailure: the secret key does not match the secret id.";
        ApiTokenFailure => "api-token-failure", "AuthFailure.TokenFailure: the session token is invalid or expired.";
        ApiUnauthorized => "api-unauthorized", "UnauthorizedOperation*: the identity lacks the CAM permission ecm:DescribeImage.";
        ApiAuthFailure => "api-auth-failure", "Another AuthFailure.* error.";
        ApiThrottled => "api-throttled", "RequestLimitExceeded* past the retry budget.";
        ApiServerError => "api-server-error", "InternalError*, ServiceUnavailable or a similar server-side failure past the retry budget.";
        ApiInvalidRequest => "api-invalid-request", "InvalidParameter*, MissingParameter* or UnknownParameter: the API rejected the request's parameters.";
        ApiError => "api-error", "Any other error code answered by the API.";
    }
}

/// Codes renamed when the live path joined the one code namespace (0.1 →
/// 0.2), old → new, for the reference's "renamed codes" table.
pub const RENAMED: &[(&str, &str)] = &[
    ("endpoint::insecure", "insecure-endpoint"),
    ("endpoint::invalid", "invalid-endpoint"),
    ("live::invalid_setting", "invalid-fetch-setting"),
    ("filter::syntax", "filter-syntax"),
    ("filter::unknown_name", "unknown-filter"),
    ("filter::empty_value", "filter-empty-value"),
    ("filter::single_value", "filter-single-value"),
    ("filter::too_many", "too-many-filters"),
    ("credentials::not_found", "credentials-not-found"),
    ("credentials::incomplete", "credentials-incomplete"),
    ("credentials::unreadable", "credentials-unreadable"),
    ("credentials::invalid", "credentials-invalid"),
    ("credentials::bad_profile", "invalid-profile-name"),
    ("net::client_setup", "client-setup"),
    ("net::transport", "network-error"),
    ("net::timeout", "network-timeout"),
    ("net::http_status", "http-status"),
    ("api::malformed_response", "api-malformed-response"),
    ("api::response_too_large", "api-response-too-large"),
    ("api::pagination_unsettled", "pagination-unsettled"),
    ("api::signature_expire", "api-signature-expire"),
    ("api::secret_id_not_found", "api-secret-id-not-found"),
    ("api::signature_failure", "api-signature-failure"),
    ("api::token_failure", "api-token-failure"),
    ("api::unauthorized", "api-unauthorized"),
    ("api::auth_failure", "api-auth-failure"),
    ("api::throttled", "api-throttled"),
    ("api::server_error", "api-server-error"),
    ("api::invalid_request", "api-invalid-request"),
    ("api::error", "api-error"),
];

/// Codes whose meaning was corrected: the case, what it reported before, and now.
pub const CORRECTED: &[(&str, &str, &str)] = &[
    (
        "a broken --baseline file",
        "snapshot-json / snapshot-shape",
        "invalid-baseline",
    ),
    (
        "an error writing a report to stdout",
        "invalid-argument",
        "file-write",
    ),
    ("an empty rule `title`", "wrong-type", "empty-value"),
    ("an empty waiver `reason`", "missing-key", "empty-value"),
    (
        "a rule `url` that is not http(s)",
        "wrong-type",
        "invalid-url",
    ),
    (
        "an image of a live answer that does not fit the model",
        "snapshot-json",
        "api-image-model",
    ),
    (
        "a --param value that does not parse as its param's type",
        "operand-type",
        "param-value-type",
    ),
];

impl Code {
    /// Look a code up by its name, with or without the `ecmguard::` prefix.
    pub fn from_name(name: &str) -> Option<Code> {
        let name = name.strip_prefix("ecmguard::").unwrap_or(name);
        Code::ALL.iter().copied().find(|code| code.name() == name)
    }
}

/// `docs/diagnostics.md`, generated from [`Code::ALL`].
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# Diagnostic codes\n\n\
         Every diagnostic ecmguard prints carries a code `ecmguard::<code>`. Codes are stable.\n\
         Findings of rules use the rule id as their code instead.\n\n\
         This file is generated from `src/diag/code.rs`; a test fails when they disagree.\n\
         Regenerate with `UPDATE_DOCS=1 cargo test --lib diagnostics_reference`.\n",
    );
    let mut area = "";
    for code in Code::ALL {
        if code.area() != area {
            area = code.area();
            out.push_str(&format!("\n## {area}\n\n| code | meaning |\n|---|---|\n"));
        }
        out.push_str(&format!("| `{}` | {} |\n", code.name(), code.description()));
    }
    out.push_str(
        "\n## Renamed codes\n\n\
         The live path's codes joined the one kebab-case namespace; the old names are no longer printed.\n\n\
         | before | now |\n|---|---|\n",
    );
    for (old, new) in RENAMED {
        out.push_str(&format!("| `ecmguard::{old}` | `{new}` |\n"));
    }
    out.push_str(
        "\n## Corrected codes\n\nThese cases used to carry a code meant for something else.\n\n\
         | case | before | now |\n|---|---|---|\n",
    );
    for (case, old, new) in CORRECTED {
        out.push_str(&format!("| {case} | {old} | `{new}` |\n"));
    }
    out
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
            assert_eq!(Code::from_name(code.name()), Some(*code));
        }
        for (_, new) in RENAMED {
            assert!(Code::from_name(new).is_some(), "renamed to unknown {new}");
        }
        for (_, _, new) in CORRECTED {
            assert!(Code::from_name(new).is_some(), "corrected to unknown {new}");
        }
    }

    /// docs/diagnostics.md is the generated reference: every code documented,
    /// and no documented code that no longer exists.
    #[test]
    fn diagnostics_reference_is_generated_from_the_codes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/diagnostics.md");
        let expected = reference_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &expected).expect("write docs/diagnostics.md");
        }
        let actual = std::fs::read_to_string(path).expect("docs/diagnostics.md");
        let documented: HashSet<&str> = actual
            .lines()
            .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
            .filter(|name| !name.starts_with("ecmguard::"))
            .collect();
        for code in Code::ALL {
            assert!(
                documented.contains(code.name()),
                "docs/diagnostics.md lacks {}",
                code.name()
            );
        }
        for name in &documented {
            assert!(
                Code::from_name(name).is_some(),
                "docs/diagnostics.md documents `{name}`, which no longer exists"
            );
        }
        assert_eq!(
            actual, expected,
            "docs/diagnostics.md is stale: run UPDATE_DOCS=1 cargo test --lib diagnostics_reference"
        );
    }
}
