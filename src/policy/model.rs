//! The compiled policy: rules, conditions, waivers and params as evaluation
//! needs them. Regexes are built, times and durations resolved against `now`,
//! field paths resolved, so evaluation does no parsing and no lookups.

use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;

use crate::image::Field;
use crate::source_text::{LineCol, SourceFile, Span};

/// Where something was defined: a span in a policy file.
#[derive(Debug, Clone)]
pub struct Origin {
    pub file: Arc<SourceFile>,
    pub span: Span,
}

impl Origin {
    pub fn line_col(&self) -> LineCol {
        self.file.line_col(self.span.start)
    }

    pub fn location(&self) -> Location {
        let at = self.line_col();
        Location {
            file: self.file.name().to_owned(),
            line: at.line,
            column: at.column,
        }
    }
}

/// A serialisable source location (reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// The loaded, compiled policy set.
#[derive(Debug)]
pub struct PolicySet {
    pub files: Vec<Arc<SourceFile>>,
    pub rules: Vec<Rule>,
    pub waivers: Vec<Waiver>,
    pub params: Vec<Param>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub(crate) const NAMES: [&'static str; 3] = ["error", "warning", "info"];

    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an indeterminate `assert` result does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownPolicy {
    /// An indeterminate finding that fails the gate like a violation.
    Fail,
    /// The image passes the rule: no finding.
    Pass,
}

#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub description: Option<String>,
    pub remediation: Option<String>,
    pub url: Option<String>,
    pub tags: Vec<String>,
    /// `where`: images outside it (false or unknown) are not checked.
    pub scope: Option<Condition>,
    pub check: Check,
    pub message: Option<Template>,
    pub unknown: UnknownPolicy,
    /// `grace`: how long a violation may stay open before it fails the gate
    /// (docs/history.md). Needs `check --history` to know how long it has been open.
    pub grace: Option<Grace>,
    /// `fix`: what `ecmguard plan` would do to an image that violates the
    /// rule (docs/remediation.md). Per-image rules only.
    pub fix: Option<Fix>,
    /// The rule's `id` entry.
    pub origin: Origin,
    /// The `assert` or `expect` entry.
    pub check_origin: Origin,
    /// Where the check's condition starts (the value of `assert` or
    /// `expect`; in a block mapping, its first key): the line the human
    /// report shows and underlines for a failing rule.
    pub condition_origin: Origin,
}

impl Rule {
    pub fn is_set_level(&self) -> bool {
        matches!(self.check, Check::Expect(_))
    }

    /// Whether the rule reads a `Usage.*` path (in `where`, `assert`, `unique` or its
    /// message): then the run must list usage, and its findings carry the evidence.
    pub(crate) fn reads_usage(&self) -> bool {
        let usage = |field: Field| field.is_usage();
        self.scope.as_ref().is_some_and(|c| c.reads(&usage))
            || match &self.check {
                Check::Assert(condition) => condition.reads(&usage),
                Check::Expect(expectation) => expectation.unique.iter().any(|f| f.is_usage()),
            }
            || self.message.as_ref().is_some_and(|m| m.reads_usage())
            || self
                .fix
                .as_ref()
                .and_then(Fix::template)
                .is_some_and(Template::reads_usage)
    }
}

impl PolicySet {
    /// What reads usage, for the run to say why it lists usage: the ids of the rules that
    /// read a `Usage.*` path, and the locations of the waivers whose `where` does (a
    /// waiver that reads usage cannot apply without it). Empty: usage is not needed.
    pub(crate) fn usage_readers(&self) -> UsageReaders {
        UsageReaders {
            rules: self
                .rules
                .iter()
                .filter(|r| r.reads_usage())
                .map(|r| r.id.clone())
                .collect(),
            waivers: self
                .waivers
                .iter()
                .filter(|w| {
                    w.scope
                        .as_ref()
                        .is_some_and(|c| c.reads(&|f: Field| f.is_usage()))
                })
                .map(|w| w.origin.location())
                .collect(),
        }
    }
}

/// What reads usage in a policy set ([`PolicySet::usage_readers`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageReaders {
    /// Ids of the rules that read a `Usage.*` path.
    pub rules: Vec<String>,
    /// Where the waivers are whose `where` reads one.
    pub waivers: Vec<Location>,
}

impl UsageReaders {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.waivers.is_empty()
    }

    /// `the rule a`, `the rules a, b and c`, `the waiver at p.yaml:12` or both joined by
    /// `and`: what messages say usage is "needed by".
    pub(crate) fn describe(&self) -> String {
        let list = |items: Vec<String>| match items.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        };
        let mut parts = Vec::new();
        match self.rules.len() {
            0 => {}
            1 => parts.push(format!("the rule {}", self.rules[0])),
            _ => parts.push(format!("the rules {}", list(self.rules.clone()))),
        }
        let at: Vec<String> = self
            .waivers
            .iter()
            .map(|l| format!("{}:{}", l.file, l.line))
            .collect();
        match at.len() {
            0 => {}
            1 => parts.push(format!("the waiver at {}", at[0])),
            _ => parts.push(format!("the waivers at {}", list(at))),
        }
        parts.join(" and ")
    }
}

/// A rule's grace period, resolved against `now` at load like every duration.
#[derive(Debug, Clone)]
pub struct Grace {
    /// The duration as written (`14d`).
    pub duration: crate::policy::duration::Duration,
    /// `now - duration`: a violation first seen after this instant is in grace.
    pub threshold: Timestamp,
    /// The `grace` value in the policy file.
    pub origin: Origin,
}

impl Grace {
    /// Is a violation first seen at `first_seen` still within the grace period?
    pub fn covers(&self, first_seen: Timestamp) -> bool {
        first_seen > self.threshold
    }
}

#[derive(Debug)]
pub enum Check {
    Assert(Condition),
    Expect(Expectation),
}

/// A set-level check over the images in scope.
#[derive(Debug, Default)]
pub struct Expectation {
    pub count: Vec<CountTest>,
    pub unique: Vec<Field>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountTest {
    pub op: CmpOp,
    pub value: u64,
}

impl CountTest {
    pub fn holds(&self, count: u64) -> bool {
        self.op.holds(count.cmp(&self.value))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl CmpOp {
    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Eq => ordering == Equal,
            CmpOp::Ne => ordering != Equal,
            CmpOp::Gt => ordering == Greater,
            CmpOp::Gte => ordering != Less,
            CmpOp::Lt => ordering == Less,
            CmpOp::Lte => ordering != Greater,
        }
    }

    pub(crate) fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "≠",
            CmpOp::Gt => ">",
            CmpOp::Gte => "≥",
            CmpOp::Lt => "<",
            CmpOp::Lte => "≤",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Gt => "gt",
            CmpOp::Gte => "gte",
            CmpOp::Lt => "lt",
            CmpOp::Lte => "lte",
        }
    }
}

/// A condition tree (docs/policy-language.md, "Conditions"), evaluated in three-valued logic.
#[derive(Debug)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Test(FieldTest),
}

impl Condition {
    /// Whether some test of the condition reads a field `which` picks.
    pub fn reads(&self, which: &dyn Fn(Field) -> bool) -> bool {
        match self {
            Condition::All(parts) | Condition::Any(parts) => parts.iter().any(|c| c.reads(which)),
            Condition::Not(inner) => inner.reads(which),
            Condition::Test(test) => which(test.field),
        }
    }
}

/// `PATH: MATCHER`: every operator must hold on the field's value.
#[derive(Debug)]
pub struct FieldTest {
    pub field: Field,
    pub ops: Vec<Op>,
}

#[derive(Debug)]
pub struct Op {
    pub kind: OpKind,
    /// What the operator expects, for messages (`newer than 180d`).
    pub expected: String,
}

/// A string operand; lowercased at load when `ignore_case` is set.
#[derive(Debug, Clone)]
pub struct Text {
    pub value: String,
    pub ignore_case: bool,
}

#[derive(Debug)]
pub enum OpKind {
    Exists(bool),
    StrEq(Text),
    StrNe(Text),
    StrIn(Vec<Text>),
    StrNotIn(Vec<Text>),
    Matches(crate::policy::pattern::Pattern),
    NotMatches(crate::policy::pattern::Pattern),
    Glob(crate::policy::pattern::Pattern),
    StartsWith(Text),
    EndsWith(Text),
    Contains(Text),
    IntCmp(CmpOp, i64),
    IntIn(Vec<i64>),
    IntNotIn(Vec<i64>),
    BoolEq(bool),
    BoolNe(bool),
    TimeCmp(CmpOp, Timestamp),
    /// Holds when the value is before the threshold `now - duration`.
    OlderThan {
        threshold: Timestamp,
        limit: String,
    },
    /// Holds when the value is after the threshold `now - duration`.
    NewerThan {
        threshold: Timestamp,
        limit: String,
    },
}

/// A rule's `fix`: the one action `ecmguard plan` takes on an image that
/// violates it. The templates are message templates, rendered per image.
#[derive(Debug, Clone)]
pub enum Fix {
    /// `fix: delete`: `DeleteImage`.
    Delete,
    /// `fix: {rename: TEMPLATE}`: `ModifyImageAttribute` `ImageName`.
    Rename(Template),
    /// `fix: {describe: TEMPLATE}`: `ModifyImageAttribute` `ImageDescription`.
    Describe(Template),
}

impl Fix {
    /// The fixes a rule can declare, as written.
    pub const NAMES: [&'static str; 3] = ["delete", "rename", "describe"];

    /// `delete`, `rename`, `describe`.
    pub fn name(&self) -> &'static str {
        match self {
            Fix::Delete => "delete",
            Fix::Rename(_) => "rename",
            Fix::Describe(_) => "describe",
        }
    }

    /// The template of a rename or describe.
    pub fn template(&self) -> Option<&Template> {
        match self {
            Fix::Delete => None,
            Fix::Rename(t) | Fix::Describe(t) => Some(t),
        }
    }
}

/// A message template: literal text and placeholders.
#[derive(Debug, Clone)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
}

impl Template {
    /// Whether the message names its image itself (`{ImageId}`): reports
    /// then print it as it is, without an `ImageId (ImageName): ` before it.
    pub(crate) fn names_image(&self) -> bool {
        self.parts.contains(&TemplatePart::Field(Field::ImageId))
    }

    /// Whether a placeholder reads a `Usage.*` path.
    pub fn reads_usage(&self) -> bool {
        self.parts
            .iter()
            .any(|part| matches!(part, TemplatePart::Field(f) if f.is_usage()))
    }

    /// Whether the message lists the images of a set-level finding (`{images}`).
    pub(crate) fn lists_images(&self) -> bool {
        self.parts.contains(&TemplatePart::Images)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    Literal(String),
    Field(Field),
    RuleId,
    RuleTitle,
    Count,
    Value,
    /// Set-level: the ImageIds of the finding (sharing the value for
    /// `unique`, in scope for `count`).
    Images,
}

#[derive(Debug)]
pub struct Waiver {
    /// Indices into `PolicySet::rules`.
    pub rules: Vec<usize>,
    pub images: Option<Vec<String>>,
    pub scope: Option<Condition>,
    pub reason: String,
    pub owner: Option<String>,
    /// The `expires` date as written, and the instant it stops applying.
    pub expires: Option<(String, Timestamp)>,
    /// `now` is at or past `expires`: the waiver does not apply.
    pub expired: bool,
    pub origin: Origin,
}

impl Waiver {
    /// No images and no `where`: the waiver is for set-level findings.
    pub fn is_set_level(&self) -> bool {
        self.images.is_none() && self.scope.is_none()
    }
}

#[derive(Debug)]
pub struct Param {
    pub name: String,
    pub description: Option<String>,
    /// The value in force, as text (`90d`), from the highest-precedence source that gave one.
    pub value: String,
    /// Where `value` came from.
    pub source: ParamSource,
    pub origin: Origin,
}

/// Where a param's value in force came from. Lowest precedence first: the
/// default, param files (in the order given), the environment, `--param`; a
/// policy test case's `params:` overrides them all for that case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ParamSource {
    /// The param's `default:` in the policy file.
    Default,
    /// A param file (`--param-file`, or `param_files:` of the config file),
    /// as its path is shown, and the line of the value.
    ParamFile { file: String, line: usize },
    /// An `ECMGUARD_PARAM_<name>` environment variable.
    Env { variable: String },
    /// `--param NAME=VALUE`.
    CommandLine,
    /// A policy test case's `params:`.
    TestCase,
}

impl ParamSource {
    /// How listings show the source: `default`, `vars/prod.yaml:3`,
    /// `ECMGUARD_PARAM_max_age`, `--param`, `test case`.
    pub(crate) fn describe(&self) -> String {
        match self {
            ParamSource::Default => "default".to_owned(),
            ParamSource::ParamFile { file, line } => format!("{file}:{line}"),
            ParamSource::Env { variable } => variable.clone(),
            ParamSource::CommandLine => "--param".to_owned(),
            ParamSource::TestCase => "test case".to_owned(),
        }
    }
}
