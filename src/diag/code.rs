//! Every diagnostic code ecmguard can print, in one enum, grouped by area:
//! a stable kebab-case name (`ecmguard::<name>`), a description, an example
//! of what gives it and the fix, each. `ecmguard explain CODE` and
//! `docs/diagnostics.md` are both made from this one table.
//!
//! Codes are part of the user contract (they appear on stderr and in every
//! report and can be searched for), so they are kept here, in one place,
//! never renamed without a note in `docs/diagnostics.md`. That file is
//! generated from this table ([`reference_markdown`]); a test fails when the
//! two disagree. Findings of rules use the rule id as their code instead.

macro_rules! codes {
    ($(area $area:literal { $($variant:ident => $name:literal, $description:literal,
        example: $example:literal, fix: $fix:literal;)* })*) => {
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

            /// A case that gives the code (a command or a policy line).
            pub fn example(self) -> &'static str {
                match self {
                    $($(Code::$variant => $example,)*)*
                }
            }

            /// What to do about it.
            pub fn fix(self) -> &'static str {
                match self {
                    $($(Code::$variant => $fix,)*)*
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
        InvalidArgument => "invalid-argument", "A command-line flag has an invalid value, or flags that cannot be combined were given together.",
            example: "`ecmguard check --fail-on severe` or `--report sarif` (no `=FILE`)",
            fix: "Correct the flag's value as the help line says; `ecmguard COMMAND --help` lists every flag and its values.";
        FileRead => "file-read", "A policy, snapshot, baseline, test, param or config file could not be read (or is not a regular file).",
            example: "`ecmguard check --baseline missing.json`, or a `--policy` path that is a FIFO",
            fix: "Check the path and its permissions; policies, snapshots, baselines and param files must be regular files.";
        FileWrite => "file-write", "A report, snapshot or baseline could not be written (to a file or to stdout); nothing written is ever a success.",
            example: "`ecmguard check --report json=/read-only/r.json`, or a full disk",
            fix: "Write to a directory that exists and is writable (and has space); nothing was put in place.";
        OutputIsInput => "output-is-input", "An output path (--output, --report, --write-baseline, fetch -o) is the same file as an input (the snapshot, a policy, the baseline, the config file, a param file) or as another output; refused before any work.",
            example: "`ecmguard check --snapshot s.json --output s.json`",
            fix: "Give the output another path; the run stopped before reading or writing anything.";
        Interrupted => "interrupted", "The run was stopped by Ctrl-C (SIGINT) or SIGTERM before it finished: no verdict, and no output file was written or changed (exit 130, or 143 for SIGTERM).",
            example: "pressing Ctrl-C during `ecmguard check` (exit 130), or a CI job cancelled with SIGTERM (exit 143)",
            fix: "Run the command again; no half-written file was left, and earlier outputs are unchanged.";
        WouldOverwrite => "would-overwrite", "`ecmguard init` would replace files that already exist; nothing was written.",
            example: "`ecmguard init` in a project that already has policies/hygiene.yaml or ecmguard.yaml",
            fix: "Choose another directory (`ecmguard init DIR`), pass --no-config to leave ecmguard.yaml alone, or --force to replace the files.";
        Internal => "internal", "ecmguard could not do something that does not depend on the input (start its async runtime, serialise its own output).",
            example: "the async runtime cannot start (no threads or file descriptors left)",
            fix: "Retry; if it persists, report it with the message: it does not depend on your input.";
    }
    area "Policy files" {
        FileTooLarge => "file-too-large", "A policy, test, param or config file is larger than the size limit (1 MiB).",
            example: "a 3 MiB generated policy file",
            fix: "Split the file into several files in a `--policy` directory; each may be up to 1 MiB.";
        InvalidUtf8 => "invalid-utf8", "A policy, test, param or config file is not valid UTF-8.",
            example: "a policy saved as Latin-1 or UTF-16",
            fix: "Save the file as UTF-8.";
        YamlSyntax => "yaml-syntax", "The file is not valid YAML, or exceeds the parser's depth, alias or size budget.",
            example: "`rules: [ { id: a }` (an unclosed bracket), or tabs used for indentation",
            fix: "Fix the YAML at the line and column shown; indent with spaces.";
        MoreProblems => "more-problems", "A file has more problems than one run lists (50 in a config or param file, 500 in a policy or test file); the rest are counted, and the first of them located, not each shown.",
            example: "a generated config file of 50,000 unknown keys",
            fix: "Fix the problems shown (they are usually one mistake repeated) and run again; the count says how many remain.";
        NoPolicyFiles => "no-policy-files", "A --policy directory holds no *.yaml or *.yml policy file.",
            example: "`ecmguard validate --policy empty-dir/`",
            fix: "Point --policy at a directory with *.yaml files (not only *.test.yaml), or run `ecmguard init` to write a starter pack.";
        NoRules => "no-rules", "The policy set defines no rule.",
            example: "a policy file with `rules: []`, or only `params:`",
            fix: "Write at least one rule under `rules:` with an `id`, a `title` and an `assert` or `expect`.";
        UnknownKey => "unknown-key", "A mapping has a key that the policy language does not define.",
            example: "`severty: error` in a rule",
            fix: "Use one of the keys the message lists (the help suggests the closest one).";
        MissingKey => "missing-key", "A required key is absent.",
            example: "a rule without `title:`, or a waiver without `reason:`",
            fix: "Add the key the message names.";
        WrongType => "wrong-type", "A value has the wrong YAML type (for example a list where a mapping is expected).",
            example: "`tags: hygiene` (a string where a list is expected)",
            fix: "Write the value in the shape the message asks for, e.g. `tags: [hygiene]`.";
        EmptyValue => "empty-value", "A text value that must say something (a rule's `title`, a waiver's `reason`) is empty.",
            example: "`title: \"\"`, or a waiver with `reason: \" \"`",
            fix: "Say something: a title names the rule in every report, a reason justifies a waiver.";
        InvalidUrl => "invalid-url", "A rule's `url` is not an absolute http(s) URL with a host (or holds spaces, quotes or angle brackets).",
            example: "`url: docs/policy.html`, or `url: ftp://example.com/p`",
            fix: "Give an absolute http(s) URL with a host, e.g. `url: https://wiki.example.com/ecm-images`.";
        DuplicateKey => "duplicate-key", "A key appears twice in one mapping.",
            example: "a rule with two `where:` keys",
            fix: "Keep one; merge the two conditions into one mapping (all entries must hold).";
        InvalidRuleId => "invalid-rule-id", "A rule id does not match [a-z0-9][a-z0-9._-]*.",
            example: "`id: Private_Image_Age`",
            fix: "Use lowercase letters, digits, `.`, `_` and `-`, starting with a letter or digit: `private-image-age`.";
        DuplicateRuleId => "duplicate-rule-id", "Two rules in the policy set share one id.",
            example: "two files both define `id: image-state-normal`",
            fix: "Rename one of the rules; ids are unique across the whole policy set.";
        UnknownSeverity => "unknown-severity", "A severity is not one of error, warning, info.",
            example: "`severity: critical`",
            fix: "Use `error`, `warning` or `info`.";
        UnknownUnknownPolicy => "unknown-unknown-policy", "`unknown` is not one of fail, pass.",
            example: "`unknown: skip`",
            fix: "Use `fail` (the default: a missing field fails the rule) or `pass`.";
        CheckKind => "check-kind", "A rule must have exactly one of `assert` and `expect`.",
            example: "a rule with both `assert:` and `expect:`, or with neither",
            fix: "Keep exactly one: `assert` checks every image, `expect` checks the set (count, unique).";
        UnknownField => "unknown-field", "A field path is not one of the DescribeImage Image fields.",
            example: "`assert: { ImageTyp: PRIVATE_IMAGE }`",
            fix: "Use a field path from `ecmguard explain fields` (the help suggests the closest).";
        UnknownOperator => "unknown-operator", "An operator is not one of the condition operators.",
            example: "`ImageName: { startswith: web- }`",
            fix: "Use an operator from `ecmguard explain operators` (here `starts_with`).";
        OperatorType => "operator-type", "An operator does not apply to the field's type.",
            example: "`ImageName: { older_than: 30d }` (a string field)",
            fix: "Use an operator for the field's type: `ecmguard explain operators` lists which apply to which type.";
        OperandType => "operand-type", "An operand's type does not match what the operator and field need.",
            example: "`ImageSize: { gte: \"50\" }` (a quoted number), or `in: web` (not a list)",
            fix: "Write the operand as the field needs it: `gte: 50`, `in: [web]`.";
        EmptyCondition => "empty-condition", "A condition, matcher or list is empty and would be vacuous.",
            example: "`where: {}`, `any: []` or `in: []`",
            fix: "Add entries, or remove the empty condition: an empty one would hold (or fail) vacuously.";
        IgnoreCaseAlone => "ignore-case-alone", "`ignore_case` is given without a string operator to modify.",
            example: "`ImageName: { ignore_case: true }`",
            fix: "Add the string operator it should modify: `{ eq: web, ignore_case: true }`.";
        InvalidRegex => "invalid-regex", "A regular expression does not compile (Rust `regex` syntax) or is too large.",
            example: "`ImageName: { matches: \"web-(\" }`",
            fix: "Fix the pattern (Rust `regex` syntax: no look-around or back-references).";
        PatternBudget => "pattern-budget", "The regular expressions and globs of the policy set together compile to more than the budget (64 MiB); the one that crosses it is pointed at.",
            example: "thousands of long generated regexes in one policy set",
            fix: "Use fewer or simpler patterns (`starts_with`, `in`, `glob` are cheaper), or split the checks across runs.";
        InvalidGlob => "invalid-glob", "A glob pattern is malformed (for example an unclosed `[`).",
            example: "`ImageName: { glob: \"web-[0-9\" }`",
            fix: "Close the bracket: `web-[0-9]*`.";
        InvalidDuration => "invalid-duration", "A duration is not one or more <integer><unit> groups with units s, min, h, d, w, mo, y.",
            example: "`older_than: 6m` (m is ambiguous), or `newer_than: 180` (no unit)",
            fix: "Write <integer><unit> groups with units s, min, h, d, w, mo, y: `6mo`, `180d`.";
        InvalidTime => "invalid-time", "A time operand is not a date, a `YYYY-MM-DD hh:mm:ss` time, or RFC 3339 with an offset.",
            example: "`ImageCreateTime: { gte: 31/01/2024 }`",
            fix: "Write a date `2024-01-31`, `2024-01-31 08:00:00`, or RFC 3339 with an offset.";
        InvalidCount => "invalid-count", "A set-level `count` is not a mapping of eq/gte/gt/lte/lt to non-negative integers.",
            example: "`expect: { count: { gte: -1 } }` or `count: { atleast: 1 }`",
            fix: "Use eq, gte, gt, lte, lt with non-negative integers: `count: { gte: 1 }`.";
        UnknownPlaceholder => "unknown-placeholder", "A message template names a placeholder that does not exist.",
            example: "`message: \"{ImageID} is old\"`",
            fix: "Use a field path (`{ImageId}`), `{rule.id}`, `{rule.title}`, or in set-level rules `{count}`, `{value}` and `{images}` (these three name no single image, so a per-image message cannot use them).";
        InvalidTemplate => "invalid-template", "A message template has an unclosed `{` or a stray `}`.",
            example: "`message: \"{ImageId is old\"`",
            fix: "Close the brace, or write `{{` and `}}` for literal braces.";
        FixOnSetLevel => "fix-on-set-level", "A set-level rule (`expect`) declares a `fix`: a fix acts on one image, and a set-level finding names none.",
            example: "`expect: { count: { gte: 1 } }` with `fix: delete`",
            fix: "Move the `fix` to a per-image rule (`assert`), or remove it.";
        UnknownFix => "unknown-fix", "A rule's `fix` is not one of the fixes ecmguard can plan: `delete`, `{rename: TEMPLATE}` or `{describe: TEMPLATE}`.",
            example: "`fix: remove`, or `fix: {rename: x, describe: y}` (one action per rule)",
            fix: "Write `fix: delete`, `fix: {rename: \"{ImageName}-old\"}` or `fix: {describe: \"...\"}`; the help suggests the closest action.";
        UnknownRule => "unknown-rule", "A waiver names a rule id that is not in the policy set.",
            example: "a waiver with `rules: [private-image-max-age]` when no loaded policy defines that rule",
            fix: "Name a loaded rule (`ecmguard rules` lists them), or load the policy that defines it with --policy.";
        WaiverScope => "waiver-scope", "Warning: a waiver without images or `where` only applies to set-level findings, but names a per-image rule.",
            example: "a waiver with only `rules: [image-state-normal]` (a per-image rule) and no `images:`/`where:`",
            fix: "Add `images: [img-…]` or `where:` to choose the images it waives.";
    }
    area "Params" {
        UnknownParam => "unknown-param", "An operand references a param that is not defined.",
            example: "`newer_than: \"${max_age}\"` without a param `max_age`",
            fix: "Define it under `params:`, or fix the name (the help suggests the closest).";
        DuplicateParam => "duplicate-param", "Two params in the policy set share one name.",
            example: "two policy files both define `params: { max_age: … }`",
            fix: "Keep one definition; params are global to the policy set.";
        MissingParamValue => "missing-param-value", "A param has no default and no value from a param file, ECMGUARD_PARAM_<name> or --param.",
            example: "`params: { max_age: { description: … } }` and no value given",
            fix: "Add `default:`, or give it with --param max_age=90d, a --param-file or ECMGUARD_PARAM_max_age.";
        InvalidParamName => "invalid-param-name", "A param name does not match [A-Za-z_][A-Za-z0-9_]*.",
            example: "`params: { max-age: { default: 30d } }`",
            fix: "Use letters, digits and `_`, not starting with a digit: `max_age`.";
        UnknownParamArgument => "unknown-param-argument", "A --param names a param that no policy file defines.",
            example: "`ecmguard check --param max_agee=90d`",
            fix: "Use the name of a param a policy defines (`ecmguard rules` lists them).";
        UnusedParam => "unused-param", "Warning: a param is defined but never referenced.",
            example: "`params: { max_age: { default: 180d } }` that no rule references",
            fix: "Reference it as \"${max_age}\" in an operand, or remove it.";
        EmbeddedParam => "embedded-param", "Warning: a `${…}` reference inside a longer string is not substituted; params replace whole operands only.",
            example: "`starts_with: \"web-${env}\"`",
            fix: "Params replace a whole operand: give the whole value as a param, e.g. `starts_with: \"${prefix}\"`.";
        ParamValueType => "param-value-type", "A value given for a param (in a param file, ECMGUARD_PARAM_<name> or --param) does not parse as the param's type (its default's, or what its use needs).",
            example: "`--param min_size=large` for a param whose default is `50`",
            fix: "Give a value of the param's type; for a list param on the command line: --param 'allowed_os=[Ubuntu, CentOS]'.";
        InvalidParamFile => "invalid-param-file", "A param file is not a mapping of param names to values (each a scalar or a list of scalars), or a value is empty or a mapping.",
            example: "a param file that is a list, or `max_age: { value: 90d }`",
            fix: "Write a mapping of param names to scalars or lists: `max_age: 90d`.";
        UnknownParamInFile => "unknown-param-in-file", "A param file sets a param that no policy file defines.",
            example: "`max_agee: 90d` in a --param-file",
            fix: "Use the name of a param a policy defines, or remove the line.";
        UnknownParamEnv => "unknown-param-env", "Warning: an ECMGUARD_PARAM_<name> environment variable names no param of the policy set; it is ignored (the environment is shared by many runs).",
            example: "`ECMGUARD_PARAM_max_agee=90d` in the environment",
            fix: "Fix the variable's name, or unset it if it is meant for another policy set.";
        InvalidParamEnv => "invalid-param-env", "An ECMGUARD_PARAM_<name> environment variable's value is not valid UTF-8.",
            example: "`ECMGUARD_PARAM_name` holding bytes that are not UTF-8",
            fix: "Set the variable to UTF-8 text.";
    }
    area "Project config file" {
        ConfigUnknownKey => "config-unknown-key", "The config file (ecmguard.yaml or --config) has a key that is not a config key.",
            example: "`failon: warning` in ecmguard.yaml",
            fix: "Use a config key (`fail_on`); `ecmguard init` writes a commented file that lists them all.";
        ConfigType => "config-type", "A value in the config file has the wrong YAML type (for example a number where a duration like 30s is expected).",
            example: "`timeout: 30` (a number) or `policy: {}` in ecmguard.yaml",
            fix: "Write the value as the key needs it: `timeout: 30s`, `policy: [policies]`.";
        ConfigValue => "config-value", "A value in the config file is not valid for its key (a --fail-on level, a time zone, a timeout, a rate, an endpoint, a FORMAT=FILE report).",
            example: "`fail_on: severe` or `api_time_zone: Asia/Shanghia` in ecmguard.yaml",
            fix: "Use a valid value for the key, as the help says.";
        ConfigCredential => "config-credential", "The config file holds what looks like a credential (a secret id or key, a token, a password); it is committed with the project, so credentials come from the environment, ~/.tencentcloud/credentials or --profile instead.",
            example: "`secret_key: …` in ecmguard.yaml",
            fix: "Remove it; credentials come from TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY, ~/.tencentcloud/credentials or --profile.";
    }
    area "Evaluation and the gate" {
        WaiverExpired => "waiver-expired", "Warning: a waiver's `expires` date has passed, so it no longer applies.",
            example: "a waiver with `expires: 2025-03-31` in a check run after that day",
            fix: "Fix the images, or renew the waiver with a new `expires` and an updated reason.";
        WaiverUnused => "waiver-unused", "Warning: a waiver matched no finding.",
            example: "a waiver for `images: [img-gone]` whose image was deleted",
            fix: "Remove the waiver, or fix its `images:`/`where:` so it matches what it is meant to.";
        GateFailed => "gate-failed", "The check found violations or indeterminate findings at or above --fail-on (exit 1).",
            example: "`ecmguard check` on an account with a private image older than `newer_than: 180d` allows (an error-severity rule, --fail-on error): exit 1",
            fix: "Fix the images the report lists; accept a justified exception as a waiver (with a reason and an expiry), or record today's findings with --write-baseline and check new ones only with --baseline.";
        NothingChecked => "nothing-checked", "No image was evaluated (an empty account, a filter that matched nothing, an empty snapshot): a warning in every report, and exit 1 unless --allow-empty.",
            example: "`ecmguard check --filter image-type=PRIVATE` (no such type: nothing matches), or an empty snapshot",
            fix: "Check the source and filter values; pass --allow-empty if an empty set is expected.";
        GraceWithoutHistory => "grace-without-history", "Warning: a rule has `grace`, but the check has no --history, so no violation's age is known: its violations fail at once (fail-closed).",
            example: "a rule with `grace: 7d` in a check without --history",
            fix: "Add --history FILE (or `history:` in ecmguard.yaml) so each violation's age is known.";
    }
    area "Compliance history" {
        HistoryOpen => "history-open", "The --history database cannot be opened or created: a path that is not a writable SQLite file, or a PostgreSQL server that cannot be reached or refuses the login (exit 2).",
            example: "`--history /read-only/h.db`, or `--history postgres://ci@db/ecm` with the server down",
            fix: "Give a writable path, or check the server, the user and PGPASSWORD/~/.pgpass.";
        HistoryForeign => "history-foreign", "The --history file is not an ecmguard history: not a SQLite database, or a SQLite database of another program (left untouched; exit 2).",
            example: "`--history policies/main.yaml`, or another program's SQLite file",
            fix: "Point --history at an ecmguard history file (or a new path, created on first use).";
        HistoryNewerSchema => "history-newer-schema", "The history database was written by a newer ecmguard (a higher schema version): it is refused and left untouched (exit 2).",
            example: "a history written by a newer ecmguard, read by this older one",
            fix: "Use the newer ecmguard for this history (the file was left untouched).";
        HistoryRead => "history-read", "Reading the history database failed (exit 2).",
            example: "a history database that is corrupt or locked by another process for too long",
            fix: "Check the database (sqlite3 FILE \"PRAGMA integrity_check\"), or retry when the other writer is done.";
        HistoryWrite => "history-write", "The run could not be recorded in the history database: nothing of it was kept, and the check exits 2 whatever its verdict, so a lost record never passes for a green gate.",
            example: "the disk holding the SQLite history is full while a run is recorded",
            fix: "Free space or fix the database, then run the check again; nothing of the run was kept.";
        HistoryInconsistent => "history-inconsistent", "The history database disagrees with itself: a run's finding rows or per-rule count rows do not match the totals stored with the run (rows deleted, a restored or corrupt cache). Nothing is judged on it (exit 2): lost rows would otherwise read as \"nothing open\" and grant fresh grace periods.",
            example: "a SQLite history whose findings of the last run were deleted by hand",
            fix: "Restore the history from a backup, or start a new history file (every finding then starts its streak and its grace period again).";
        HistoryOtherAccount => "history-other-account", "The run belongs to another account than the earlier runs recorded under its account label (told by the owners of private images), or is a whole-account run whose account cannot be told: refused (exit 2), so one account never continues or ends another's streaks.",
            example: "the staging account's snapshot checked with --history of prod's runs and no --account",
            fix: "Record each account under its own label: --account NAME (or `account:` in ecmguard.yaml).";
        HistoryClamped => "history-clamped", "Warning: a stored first-seen time lay after the run that recorded it (a poisoned cache, a clock far ahead); it is treated as that run's time, so a streak never looks younger than its record.",
            example: "a history whose findings' first_seen were set to the year 2100",
            fix: "Check where the history file came from; the next recorded run stores the clamped times.";
    }
    area "Baselines" {
        InvalidBaseline => "invalid-baseline", "A --baseline file is not a baseline written by `ecmguard check --write-baseline` (invalid JSON, a wrong field, or another schema).",
            example: "`--baseline report.json` (a report, not a baseline)",
            fix: "Give a file written by `ecmguard check --write-baseline FILE`.";
    }
    area "Policy tests" {
        InvalidTestFile => "invalid-test-file", "A policy test file (*.test.yaml) is malformed.",
            example: "a *.test.yaml case without `images:`, or with `status: failed`",
            fix: "Fix the file as the message says; statuses are violation, indeterminate, waived, baselined, grace.";
        TestCaseFailed => "test-case-failed", "A policy test case's findings differ from the expected ones.",
            example: "a case expecting `{ rule: r, image: img-a, status: violation }` when the rule passes img-a",
            fix: "Fix the rule or the expectation; the output shows what was expected and what was found.";
    }
    area "Snapshots" {
        SnapshotJson => "snapshot-json", "A snapshot is not valid JSON, or a field has the wrong type.",
            example: "`\"ImageSize\": \"50\"` (a string for an integer field), or a file cut off mid-way",
            fix: "Fix the value at the position shown, or fetch the snapshot again with `ecmguard fetch -o FILE`.";
        SnapshotShape => "snapshot-shape", "A snapshot is valid JSON but none of the accepted shapes.",
            example: "`{\"images\": [...]}`",
            fix: "Give a snapshot as `ecmguard fetch` writes it, a DescribeImage response, tccli output, the pages of one listing in either shape (a JSON array of them, or one after another), or an array of images.";
        SnapshotIncomplete => "snapshot-incomplete", "A snapshot holds fewer (or more) distinct images than its TotalCount (one page of a longer listing, pages with one missing), its pages disagree on TotalCount, or it does not say its total (no `TotalCount`/`total_count`, a response without `ImageSet`): it is not known to be the complete result set (exit 3).",
            example: "one page of a 250-image account saved as `{\"Response\": {\"TotalCount\": 250, \"ImageSet\": [... 100 images]}}`",
            fix: "Save every page (`ecmguard fetch -o FILE` does), then check that file.";
        SnapshotApiError => "snapshot-api-error", "A snapshot holds an API error response (an `Error` in any shape) instead of images.",
            example: "a saved `{\"Response\": {\"Error\": {\"Code\": \"AuthFailure.SignatureFailure\", …}}}`",
            fix: "Fix the failure that the saved response reports, and save the result set again.";
        SnapshotImageWithoutId => "snapshot-image-without-id", "A snapshot holds an image without an `ImageId`, which cannot be de-duplicated or baselined (exit 2).",
            example: "an image object without `ImageId` in a snapshot",
            fix: "Give every image its ImageId (the API always does); a hand-made snapshot needs one per image.";
        SnapshotUsageMissing => "snapshot-usage-missing", "A rule (or `--usage`) reads `Usage.*`, but the snapshot holds no usage (fetched without `--usage`, or a shape that cannot hold it): exit 3, no verdict on usage nobody listed.",
            example: "`ecmguard check --snapshot account.json` with the shipped pack (its `unused-private-images-expire` rule reads `Usage.InUse`) on a snapshot written by `fetch` without `--usage`",
            fix: "Fetch the snapshot again with `ecmguard fetch --usage -o FILE` (or with --policy naming policies that read usage), or check live.";
        SnapshotWithoutTotal => "snapshot-without-total", "A snapshot is a bare JSON array of images, which states no total, so whether it is the complete result set cannot be established: it is judged only with --assume-complete (exit 3).",
            example: "`tccli ecm DescribeImage --filter ImageSet > images.json; ecmguard check --snapshot images.json`",
            fix: "Save the listing with its total (`ecmguard fetch -o FILE`, or tccli's whole output for every page), or pass --assume-complete if the array is the whole set.";
        SnapshotAssumedComplete => "snapshot-assumed-complete", "Warning: a snapshot that states no total (a bare array of images) was judged as the complete result set on the user's word (--assume-complete); every report says so.",
            example: "`ecmguard check --snapshot images.json --assume-complete` with a JSON array of images",
            fix: "Nothing, if the array is the whole set; to have it proven instead, save the listing with its total (`ecmguard fetch -o FILE`).";
        AssumeCompleteUnused => "assume-complete-unused", "Warning: --assume-complete was given for a snapshot that states its own total; the total is checked as always, and the flag changes nothing.",
            example: "`ecmguard check --snapshot snapshot.json --assume-complete` with a snapshot written by `ecmguard fetch`",
            fix: "Drop --assume-complete: it is for bare arrays of images only.";
    }
    area "Live fetch: settings and filters" {
        InsecureEndpoint => "insecure-endpoint", "An http:// endpoint whose host is not a loopback address; only https:// may leave the machine.",
            example: "`--endpoint http://ecm.example.com`",
            fix: "Use https://, or http:// only to a loopback address such as the local emulator.";
        InvalidEndpoint => "invalid-endpoint", "--endpoint is not a usable URL (scheme, host and optional port; no path, query or user info).",
            example: "`--endpoint https://ecm.tencentcloudapi.com/v3`",
            fix: "Give scheme, host and an optional port only: `https://ecm.tencentcloudapi.com`.";
        InvalidFetchSetting => "invalid-fetch-setting", "A fetch setting is out of range (--rate, --timeout, page size, retry budget).",
            example: "`--rate 0`",
            fix: "Give a positive --rate (requests per second) and a positive --timeout.";
        FilterSyntax => "filter-syntax", "A --filter is not NAME=VALUE[,VALUE…].",
            example: "`--filter image-type`",
            fix: "Write NAME=VALUE[,VALUE…]: `--filter image-type=PRIVATE_IMAGE`.";
        UnknownFilter => "unknown-filter", "A --filter name is not one of the five DescribeImage filters.",
            example: "`--filter image-state=NORMAL`",
            fix: "Use one of image-id, image-type, instance-type, image-name, image-os; filter other fields with a rule's `where:`.";
        FilterEmptyValue => "filter-empty-value", "A --filter has an empty value.",
            example: "`--filter image-id=`",
            fix: "Give a value, or leave the filter out.";
        FilterValue => "filter-value", "A --filter value is not in the filter's documented value set (image-type takes PRIVATE_IMAGE or PUBLIC_IMAGE): the API would match nothing.",
            example: "`--filter image-type=PRIVATE`",
            fix: "Use a documented value: PRIVATE_IMAGE or PUBLIC_IMAGE.";
        FilterSingleValue => "filter-single-value", "image-name and image-os take exactly one value.",
            example: "`--filter image-name=web,api`",
            fix: "Give one value per filter (write a literal comma as `\\,`), or use a rule's `where:` for several.";
        TooManyFilters => "too-many-filters", "More filters than the 10 DescribeImage accepts in one request.",
            example: "eleven --filter and --image flags",
            fix: "Use at most 10 filters; several --image ids share one filter.";
    }
    area "Live fetch: credentials" {
        CredentialsNotFound => "credentials-not-found", "No Tencent Cloud credentials in the environment, the SDK credentials file, or the --profile named.",
            example: "`ecmguard check` with no TENCENTCLOUD_SECRET_ID/KEY and no credentials file",
            fix: "Set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, write ~/.tencentcloud/credentials, or pass --profile NAME.";
        CredentialsIncomplete => "credentials-incomplete", "A place holds half a key pair (a secret id without a key, or the reverse).",
            example: "TENCENTCLOUD_SECRET_ID set without TENCENTCLOUD_SECRET_KEY",
            fix: "Give both halves of the key pair in the same place.";
        CredentialsUnreadable => "credentials-unreadable", "A credentials file exists but cannot be read or parsed.",
            example: "a `~/.tccli/prod.credential` that is not JSON",
            fix: "Fix or rewrite the file (the message gives the position, never the content).";
        CredentialsInvalid => "credentials-invalid", "A credential holds characters that cannot travel in an HTTP header.",
            example: "a secret key pasted with a line break in it",
            fix: "Copy the key again without spaces, line breaks or other control characters.";
        CredentialsExposed => "credentials-exposed", "Warning: the credentials file used can be read by its group or by other users (it holds a secret key).",
            example: "~/.tencentcloud/credentials with mode 644",
            fix: "chmod 600 the file: it holds a secret key.";
        InvalidProfileName => "invalid-profile-name", "A --profile name could not be a file name.",
            example: "`--profile ../prod`",
            fix: "Use letters, digits, `.`, `_` and `-` only.";
    }
    area "Live fetch: network and API" {
        ClientSetup => "client-setup", "The HTTPS client could not be set up (TLS configuration).",
            example: "no usable TLS configuration on this machine",
            fix: "Check the system's certificate store; retry.";
        NetworkError => "network-error", "Connecting to the endpoint, or the connection, failed on every attempt.",
            example: "`--endpoint https://127.0.0.1:1` (connection refused), or no route to the API",
            fix: "Check the network, proxy settings (HTTPS_PROXY) and --endpoint; the fetch can be run again safely.";
        NetworkTimeout => "network-timeout", "Every attempt of a page request timed out (--timeout).",
            example: "a proxy that holds every request longer than --timeout",
            fix: "Check the network; raise --timeout (e.g. --timeout 60s) if the API is slow from here.";
        HttpStatus => "http-status", "The endpoint answered with an HTTP status other than 200 past the retry budget (API errors come with 200).",
            example: "an HTTP 502 from a gateway on every attempt, or 404 from a wrong --endpoint",
            fix: "Check --endpoint and any proxy in between; retry later for 5xx.";
        ApiMalformedResponse => "api-malformed-response", "The endpoint's answer is not a DescribeImage response (truncated, not JSON, fields missing).",
            example: "an endpoint that answers with an HTML page or truncated JSON",
            fix: "Check that --endpoint is the ECM API (or the emulator).";
        ApiResponseTooLarge => "api-response-too-large", "A response body is larger than the limit for one page.",
            example: "a proxy that answers with a 50 MiB body",
            fix: "Check --endpoint and any proxy in between: a DescribeImage page is about 200 KiB.";
        ApiImageModel => "api-image-model", "An image of the API's answer does not fit the DescribeImage model; no verdict is given on data that cannot be read.",
            example: "an image with `\"ImageSize\": \"50GB\"` in the API's answer",
            fix: "Report it: the API sent data outside its documented model, so no verdict was given on it.";
        ApiImageWithoutId => "api-image-without-id", "A page of the API's answer holds an image without an `ImageId`: it cannot be de-duplicated, so no verdict is given (exit 3).",
            example: "a page whose image has no `ImageId`",
            fix: "Retry later; if it persists, report it to Tencent Cloud with the RequestId.";
        ApiUsageWithoutId => "api-usage-without-id", "A page of `DescribeInstances` or `DescribeModule` holds an instance without an `InstanceId` or a module without a `ModuleId`: it cannot be de-duplicated, so no usage count is taken from it (exit 3).",
            example: "a `ModuleItemSet` element whose `Module` is null",
            fix: "Retry later; if it persists, report it to Tencent Cloud with the RequestId.";
        ApiUsageModel => "api-usage-model", "An instance or module of a usage listing does not fit the documented model (a member of the wrong type), so what it uses cannot be read (exit 3).",
            example: "an instance whose `InstanceState` is a number",
            fix: "Report it with the RequestId: the API sent data outside its documented model, so no verdict was given on it.";
        ApiTotalTooLarge => "api-total-too-large", "The API reports a TotalCount beyond 10,000,000: refused (exit 3) before anything is planned or allocated for it.",
            example: "an endpoint that reports TotalCount 2,000,000,000",
            fix: "Check --endpoint: no real account has that many images.";
        ApiPageMismatch => "api-page-mismatch", "A page does not match its request (more images than `Limit`): exit 3.",
            example: "a page with 150 images for Limit=100",
            fix: "Check --endpoint and any proxy in between; retry.";
        FetchDeadline => "fetch-deadline", "The whole fetch took longer than --deadline (default 15 min): exit 3, no verdict.",
            example: "a slow API with many retries on a large account, past 15 minutes",
            fix: "Retry later, or raise --deadline (e.g. --deadline 30min).";
        RateAboveLimit => "rate-above-limit", "Warning: --rate is above the 20 requests per second DescribeImage allows; the API will throttle.",
            example: "`--rate 50`",
            fix: "Use --rate 20 or lower: the API allows 20 requests per second and throttles above it.";
        PaginationUnsettled => "pagination-unsettled", "The image list kept changing (or paged inconsistently) past the restart budget.",
            example: "images created or deleted on every pass while the listing is read",
            fix: "Run the check again when the account is quieter; a partial listing is never judged.";
        ApiSignatureExpire => "api-signature-expire", "AuthFailure.SignatureExpire after re-signing: this machine's clock is more than 5 minutes off.",
            example: "this machine's clock 10 minutes off",
            fix: "Synchronise the clock (NTP) and run again.";
        ApiSecretIdNotFound => "api-secret-id-not-found", "AuthFailure.SecretIdNotFound / InvalidSecretId: the secret id is unknown to Tencent Cloud.",
            example: "a SecretId that was deleted in CAM",
            fix: "Use a current key pair (CAM console, API keys).";
        ApiSignatureFailure => "api-signature-failure", "AuthFailure.SignatureFailure: the secret key does not match the secret id.",
            example: "a secret key that belongs to another SecretId",
            fix: "Give the secret key that belongs to this SecretId.";
        ApiTokenFailure => "api-token-failure", "AuthFailure.TokenFailure: the session token is invalid or expired.",
            example: "an expired TENCENTCLOUD_TOKEN from an old STS session",
            fix: "Get fresh temporary credentials, or unset the token when using a permanent key.";
        ApiUnauthorized => "api-unauthorized", "UnauthorizedOperation*: the identity lacks the CAM permission ecm:DescribeImage.",
            example: "a CAM user without the ecm:DescribeImage permission",
            fix: "Attach a policy that allows ecm:DescribeImage (for example QcloudECMReadOnlyAccess).";
        ApiAuthFailure => "api-auth-failure", "Another AuthFailure.* error.",
            example: "`AuthFailure.InvalidAuthorization` from a proxy that rewrites headers",
            fix: "Check the credentials and anything between ecmguard and the API.";
        ApiThrottled => "api-throttled", "RequestLimitExceeded* past the retry budget.",
            example: "another tool using the same account's 20 requests per second the whole time",
            fix: "Run the check when the quota is free, or lower --rate.";
        ApiServerError => "api-server-error", "InternalError*, ServiceUnavailable or a similar server-side failure past the retry budget.",
            example: "InternalError on every attempt of a page",
            fix: "Retry later; the fetch can be run again safely.";
        ApiInvalidRequest => "api-invalid-request", "InvalidParameter*, MissingParameter* or UnknownParameter: the API rejected the request's parameters.",
            example: "`--filter image-id=bad id` (InvalidParameterValue.InvalidImageID)",
            fix: "Fix the filter values the API names in the message.";
        ApiError => "api-error", "Any other error code answered by the API.",
            example: "an API error code ecmguard does not classify",
            fix: "Read the Code and Message shown; the RequestId identifies the call for Tencent Cloud support.";
    }
    area "Remediation plans" {
        InvalidPlan => "invalid-plan", "A plan file is not JSON, or not a plan of this version's shape.",
            example: "`ecmguard apply report.json` (a report, not a plan)",
            fix: "Give the file written by `ecmguard plan -o PLAN`, or make the plan again.";
        PlanSchema => "plan-schema", "A plan file's `schema` is not `ecmguard/plan/v1` (another tool's file, or a plan of another version).",
            example: "a plan made by a newer ecmguard with `ecmguard/plan/v2`",
            fix: "Make the plan again with the ecmguard that applies it (`ecmguard plan -o PLAN`).";
        PlanEdited => "plan-edited", "A plan file's content does not match its digest: it was changed after `ecmguard plan` wrote it, so it is not the plan that was reviewed; nothing is done.",
            example: "an image id or a new name edited by hand in plan.json",
            fix: "Make a new plan and review it; to change what is done, change the policy or the selection, not the plan.";
        PlanExpired => "plan-expired", "A plan's `expires_at` (by the system clock, default 24 h after it was made, `--plan-ttl`) has passed; the account may have changed since, so nothing is done.",
            example: "applying on Monday a plan made on Friday",
            fix: "Make a new plan and review it; `ecmguard plan --plan-ttl 72h` makes plans that live longer.";
        PlanTarget => "plan-target", "A plan is applied to another endpoint or account than the one it was made for (or names no endpoint); nothing is done.",
            example: "a plan made with `--profile staging` applied with `--profile prod`",
            fix: "Apply it with the endpoint and credentials it was made for, or make a plan for this account.";
        TooManyActions => "too-many-actions", "A plan would need more actions than `--max-actions` (default 20); nothing was saved (exit 2).",
            example: "a new deletion rule that matches 300 old images",
            fix: "Narrow the selection (`--image`, `--filter`), or raise the limit with `--max-actions N` once the count is expected.";
    }
    area "Applying plans" {
        ApplyStopped => "apply-stopped", "`ecmguard apply` stopped before its last action: a re-check could not be made (network, permission, `--deadline`), or Ctrl-C; the actions in flight finished, no other write was sent, and the result file lists the rest as not attempted (exit 3).",
            example: "Ctrl-C during an apply of 20 deletes, or DescribeInstances refused for a missing ecm:DescribeInstances permission",
            fix: "Fix the cause the message names, then apply the same plan again: what is done is recognised as already done.";
        ApplyNeedsApproval => "apply-needs-approval", "`ecmguard apply` without a plan file, off a terminal and without `--auto-approve`: nobody can answer its question, so nothing is planned or done (exit 2).",
            example: "`ecmguard apply --policy policies` in a CI job",
            fix: "In CI, apply a saved plan that was reviewed (`ecmguard plan -o plan.json`, then `ecmguard apply plan.json`); or, knowingly, `--auto-approve`.";
        ApplyCancelled => "apply-cancelled", "`ecmguard apply` without a plan file asked whether to perform the plan it showed, and the answer was not `yes` (or there was none): nothing was done (exit 1).",
            example: "answering `y` or pressing Ctrl-D at `Do you want to perform these actions?`",
            fix: "Run it again and answer `yes` (the whole word) to perform the actions, or save the plan for review with `ecmguard plan -o plan.json`.";
    }
    area "Usage and --module" {
        UsageUnauthorized => "usage-unauthorized", "UnauthorizedOperation* on `DescribeInstances` or `DescribeModule`: the identity may read images but not the usage that a rule (or `--usage`) needs; the message names the action and the rules (exit 3).",
            example: "a CAM user with only ecm:DescribeImage, and the shipped pack's `unused-private-images-expire` rule, which reads `Usage.InUse`",
            fix: "Allow ecm:DescribeInstances and ecm:DescribeModule (a read-only ECM policy is enough), or remove the rules that read `Usage.*`.";
        UsageImageUnknown => "usage-image-unknown", "Warning: some listed instances run an image the API does not name (`Image: null`): every usage count is a lower bound, and `Usage.InUse` is unknown (a rule reading it is indeterminate) for every image with no counted use. Every report says how many.",
            example: "an instance whose `Image` is null in DescribeInstances, and a rule `where: { Usage.InUse: false }`",
            fix: "Nothing to fix in the policy: the images no instance is counted for cannot be proven unused while the instance's image is unknown. Check the instances (DescribeInstances) and run again.";
        ModuleNotFound => "module-not-found", "`check --module` names a module that DescribeModule does not list (exit 2); the help lists the modules that exist when there are few.",
            example: "`ecmguard check --module em-00000000` on an account without that module",
            fix: "Give the id of an existing module (`tccli ecm DescribeModule` lists them), or check an image with --image.";
        ModuleWithoutImage => "module-without-image", "Warning: a `--module` has no default image: it deploys no image, so nothing is checked for it (alone, the check checked nothing and fails, exit 1).",
            example: "`ecmguard check --module em-n2e2345` for a module whose `DefaultImage` is null",
            fix: "Give the module a default image, or check the image its instances are started with by --image.";
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
         `ecmguard explain CODE` prints the same text for one code (`ecmguard explain` lists them).\n\n\
         This file is generated from `src/diag/code.rs`; a test fails when they disagree.\n\
         Regenerate with `UPDATE_DOCS=1 cargo test --lib diagnostics_reference`.\n",
    );
    let mut area = "";
    for code in Code::ALL {
        if code.area() != area {
            area = code.area();
            out.push_str(&format!(
                "\n## {area}\n\n| code | meaning | example | fix |\n|---|---|---|---|\n"
            ));
        }
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            code.name(),
            code.description(),
            code.example(),
            code.fix()
        ));
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
            // `ecmguard explain` shows all three: none may be empty, and none
            // may break the reference's table.
            for text in [code.description(), code.example(), code.fix()] {
                assert!(!text.trim().is_empty(), "{} lacks a text", code.name());
                assert!(
                    !text.contains('|') && !text.contains('\n'),
                    "{}",
                    code.name()
                );
            }
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
