//! Policy unit tests (docs/policy-language.md, "Policy tests"): `*.test.yaml` files with cases of images and
//! the exact findings expected from the rules under test.
//!
//! The rules under test are the file's `rules:` list if given; otherwise the
//! rules of the sibling policy file with the same stem (`lifecycle.test.yaml`
//! tests `lifecycle.yaml`); otherwise every rule of the policy set.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;

use crate::diag::Code;
use crate::diag::{Diag, did_you_mean};
use crate::eval::Status;
use crate::eval::{EvalOptions, Evaluation, OpenSince, OpenSinceBuilder, evaluate};
use crate::image::{Field, FieldType, Image, ImageSet, ImageUsage, UsageKnown};
use crate::policy::context::Cx;
use crate::policy::read::{Of, Read};
use crate::policy::yaml::{self, Node, NodeKind};
use crate::policy::{self, CompileOptions, PolicySet};
use crate::source_text::{SourceFile, Span};
use crate::time::parse_now;

const FILE_KEYS: &[&str] = &["now", "rules", "cases"];
const CASE_KEYS: &[&str] = &["name", "images", "params", "expect", "now", "history"];
const EXPECT_KEYS: &[&str] = &["rule", "image", "status"];
const HISTORY_KEYS: &[&str] = &["rule", "image", "first_seen"];

/// One expected or actual finding, as a test compares them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Expected {
    pub rule: String,
    pub image: Option<String>,
    pub status: Status,
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.image {
            Some(image) => write!(
                f,
                "{{ rule: {}, image: {image}, status: {} }}",
                self.rule,
                self.status.as_str()
            ),
            None => write!(
                f,
                "{{ rule: {}, status: {} }}",
                self.rule,
                self.status.as_str()
            ),
        }
    }
}

/// A parsed test case.
#[derive(Debug)]
pub struct Case {
    pub name: String,
    pub now: Timestamp,
    pub images: Vec<Image>,
    pub params: Vec<(String, String)>,
    pub expect: Vec<Expected>,
    /// Where each `expect` entry names its rule, in `expect` order.
    pub expect_spans: Vec<Span>,
    /// `history:` — the open streaks a `check --history` would know, as
    /// `{ rule, image, first_seen }` entries: the case is evaluated as with
    /// a history (first seen, grace). Absent: evaluated without one.
    pub history: Option<OpenSince>,
}

/// A parsed test file.
#[derive(Debug)]
pub struct TestFile {
    pub file: Arc<SourceFile>,
    /// Explicit `rules:` (with where each is written); `None` means "the
    /// sibling policy file's, else all".
    pub rules: Option<Vec<(String, Span)>>,
    pub cases: Vec<Case>,
}

/// The outcome of one case.
#[derive(Debug)]
pub struct CaseResult {
    pub name: String,
    /// Expected but not found.
    pub missing: Vec<Expected>,
    /// Found but not expected.
    pub unexpected: Vec<Expected>,
    /// The policy did not load with this case's params.
    pub error: Option<String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.error.is_none()
    }
}

/// Parse a test file, reporting every problem with its location. `now` is
/// `--now` when given: the time of cases that set none (tests never read
/// the clock).
pub fn parse(
    file: &Arc<SourceFile>,
    options: &CompileOptions,
    now: Option<Timestamp>,
) -> Result<TestFile, Vec<Diag>> {
    let root = yaml::parse(file).map_err(|d| vec![d])?;
    let mut cx = Cx::new(options, file.clone());
    let mut parsed = TestFile {
        file: file.clone(),
        rules: None,
        cases: Vec::new(),
    };
    if let Some(mapping) = cx.mapping(&root, "a test file", FILE_KEYS) {
        let file_now = mapping.get("now").and_then(|n| now_of(&mut cx, n)).or(now);
        if let Some(rules) = mapping.get("rules") {
            parsed.rules = cx.strings(rules, "`rules`");
        }
        match mapping.require(&mut cx, "cases", "this test file") {
            Some(Node {
                kind: NodeKind::Seq(items),
                ..
            }) => {
                for item in items {
                    if let Some(case) = case(&mut cx, item, file_now) {
                        parsed.cases.push(case);
                    }
                }
            }
            Some(other) => cx.wrong_type(other, "`cases`", "a list of cases"),
            None => {}
        }
    }
    if cx.diags.iter().any(Diag::is_error) {
        let mut long = Vec::new();
        root.long_strings(&mut long);
        let shown = crate::diag::cap_per_file(cx.diags, |_| crate::diag::LARGE_FILE);
        Err(crate::diag::clip_values(shown, &long))
    } else {
        Ok(parsed)
    }
}

fn now_of(cx: &mut Cx<'_>, node: &Node) -> Option<Timestamp> {
    let text = match &node.kind {
        NodeKind::Str(s) => s.clone(),
        _ => {
            cx.wrong_type(node, "`now`", "an RFC 3339 time with an offset");
            return None;
        }
    };
    match parse_now(&text) {
        Ok(at) => Some(at),
        Err(message) => {
            let diag = cx.err(Code::InvalidTime, node.span, message, "not a time");
            cx.push(diag);
            None
        }
    }
}

fn case(cx: &mut Cx<'_>, node: &Node, file_now: Option<Timestamp>) -> Option<Case> {
    let m = cx.mapping(node, "a test case", CASE_KEYS)?;
    let name = m
        .require(cx, "name", "this case")
        .and_then(|n| cx.string(n, "`name`"));
    let now = match m.get("now") {
        Some(n) => now_of(cx, n),
        None => file_now.or_else(|| {
            let span = m.key("name").map_or(m.span, |k| k.span);
            let diag = cx
                .err(Code::InvalidTestFile, span, "this case has no `now`", "no time to evaluate at")
                .with_help("add `now: 2026-01-01T00:00:00+08:00` at the top of the file or to the case, or pass --now; tests never read the clock");
            cx.push(diag);
            None
        }),
    };
    let images = match m.require(cx, "images", "this case") {
        Some(node) => images(cx, node),
        None => None,
    };
    let params = match m.get("params") {
        None => Some(Vec::new()),
        Some(node) => case_params(cx, node),
    };
    let expect = match m.require(cx, "expect", "this case") {
        Some(node) => expected_findings(cx, node),
        None => None,
    };
    let history = m.optional_by("history", |node| history(cx, node));
    let (images, params, (expect, expect_spans), history) = (images?, params?, expect?, history?);
    Some(Case {
        name: name?,
        now: now?,
        images,
        params,
        expect,
        expect_spans,
        history,
    })
}

/// A case's `images`: each checked like a policy (`test_image_fields`),
/// then read as the API's Image.
fn images(cx: &mut Cx<'_>, node: &Node) -> Option<Vec<Image>> {
    let Some(items) = node.as_seq() else {
        cx.wrong_type(node, "`images`", "a list of images");
        return None;
    };
    let mut images = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        if !test_image_fields(cx, item) {
            ok = false;
            continue;
        }
        // `Usage` is not an API field: it is taken out of the image's JSON (where it would
        // be kept as an unknown field) and set as the image's usage.
        let mut json = item.to_json();
        let usage = json
            .as_object_mut()
            .and_then(|fields| fields.remove("Usage"))
            .map(|_| test_usage(item));
        match serde_json::from_value::<Image>(json) {
            Ok(mut image) => {
                if let Some(usage) = usage {
                    image.set_usage(usage);
                }
                images.push(image);
            }
            Err(err) => {
                let diag = cx
                    .err(Code::InvalidTestFile, item.span, format!("not a valid image: {err}"), "this image")
                    .with_help("images use the DescribeImage field names and types, e.g. { ImageId: img-a, ImageSize: 50 }");
                cx.push(diag);
                ok = false;
            }
        }
    }
    ok.then_some(images)
}

/// A case's `params`, each handed to the compiler exactly like
/// `--param name=value`.
fn case_params(cx: &mut Cx<'_>, node: &Node) -> Option<Vec<(String, String)>> {
    let Some(entries) = node.as_map() else {
        cx.wrong_type(node, "`params`", "a mapping of param names to values");
        return None;
    };
    let names = Of::new("`params`").keys("a param name", "expected a string");
    let (entries, ok) = cx.entries(entries, names);
    let params = entries
        .into_iter()
        .map(|(name, _, value)| {
            let text = match &value.kind {
                NodeKind::Str(s) => s.clone(),
                NodeKind::Seq(_) => value.to_json().to_string(),
                _ => value.display(),
            };
            (name.to_owned(), text)
        })
        .collect();
    ok.then_some(params)
}

/// A case's `expect`: the findings expected, and where each names its rule.
fn expected_findings(cx: &mut Cx<'_>, node: &Node) -> Option<(Vec<Expected>, Vec<Span>)> {
    let Some(items) = node.as_seq() else {
        cx.wrong_type(
            node,
            "`expect`",
            "a list of { rule, image, status } (empty: no findings)",
        );
        return None;
    };
    let mut expect = Vec::with_capacity(items.len());
    let mut spans = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        match expected(cx, item) {
            Some((e, span)) => {
                expect.push(e);
                spans.push(span);
            }
            None => ok = false,
        }
    }
    ok.then_some((expect, spans))
}

/// `history: [{ rule, image, first_seen }]`: since when each finding has
/// been open (omit `image` for a set-level finding).
fn history(cx: &mut Cx<'_>, node: &Node) -> Option<OpenSince> {
    let Some(items) = node.as_seq() else {
        cx.wrong_type(
            node,
            "`history`",
            "a list of { rule, image, first_seen } (empty: a history with no open finding)",
        );
        return None;
    };
    let mut open = OpenSinceBuilder::new();
    let mut ok = true;
    for item in items {
        let Some(mapping) = cx.mapping(item, "a history entry", HISTORY_KEYS) else {
            ok = false;
            continue;
        };
        let rule = mapping
            .require(cx, "rule", "this history entry")
            .and_then(|n| cx.string(n, "`rule`"));
        let image = mapping.get("image").and_then(|n| cx.string(n, "`image`"));
        let at = mapping
            .require(cx, "first_seen", "this history entry")
            .and_then(|n| now_of(cx, n));
        match (rule, at) {
            (Some(rule), Some(at)) => open.insert(&rule, image.as_deref(), at),
            _ => ok = false,
        }
    }
    ok.then(|| open.build())
}

/// The keys of a test image's `Usage` mapping: the counts, and `InUse`.
const USAGE_KEYS: [&str; 4] = ["Instances", "RunningInstances", "Modules", "InUse"];

/// A test image's `Usage` (checked by [`test_image_fields`]): the counts, 0 when not
/// given; `InUse: null` for an image whose use is unknown (instances with an unknown image
/// exist), `InUse` otherwise following from the counts.
fn test_usage(image: &Node) -> ImageUsage {
    let usage = image
        .as_map()
        .and_then(|entries| {
            entries
                .iter()
                .find(|(k, _)| k.as_str() == Some("Usage"))
                .map(|(_, v)| v)
        })
        .and_then(Node::as_map);
    let get = |key: &str| usage.and_then(|u| u.iter().find(|(k, _)| k.as_str() == Some(key)));
    let count = |key: &str| match get(key).map(|(_, v)| &v.kind) {
        Some(NodeKind::Int(n)) => u32::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    let unknown = matches!(get("InUse").map(|(_, v)| &v.kind), Some(NodeKind::Null));
    ImageUsage {
        counts: crate::usage::Counts {
            instances: count("Instances"),
            running: count("RunningInstances"),
            modules: count("Modules"),
        },
        known: if unknown {
            UsageKnown::LowerBound
        } else {
            UsageKnown::Exact
        },
    }
}

/// A test image's `Usage` mapping: known keys, counts that are whole numbers
/// (running ones no more than instances), and an `InUse` that agrees with them.
fn test_usage_fields(cx: &mut Cx<'_>, value: &Node) -> bool {
    let entries = match &value.kind {
        NodeKind::Map(entries) => entries,
        _ => {
            cx.wrong_type(
                value,
                "`Usage`",
                "a mapping of Instances, RunningInstances, Modules (counts) and InUse",
            );
            return false;
        }
    };
    let mut ok = true;
    let mut counts = BTreeMap::new();
    let mut in_use = None;
    for (key, value) in entries {
        let name = key.as_str().unwrap_or("");
        if !USAGE_KEYS.contains(&name) {
            let diag = cx
                .err(
                    Code::UnknownField,
                    key.span,
                    format!("unknown field `Usage.{name}` in a test image"),
                    "not a usage field",
                )
                .with_help("a test image's Usage has Instances, RunningInstances, Modules (counts, 0 when not given) and InUse (true, false, or null: unknown)")
                .suggest(did_you_mean(name, USAGE_KEYS));
            cx.push(diag);
            ok = false;
            continue;
        }
        match (&value.kind, name) {
            (NodeKind::Bool(b), "InUse") => in_use = Some((Some(*b), value.span)),
            (NodeKind::Null, "InUse") => in_use = Some((None, value.span)),
            (NodeKind::Int(n), _) if name != "InUse" && u32::try_from(*n).is_ok() => {
                counts.insert(name, *n);
            }
            _ => {
                let expected = if name == "InUse" {
                    "true, false or null (unknown)"
                } else {
                    "a whole number (0 or more)"
                };
                let diag = cx.err(
                    Code::InvalidTestFile,
                    value.span,
                    format!("`Usage.{name}` is {expected}, found {}", value.display()),
                    format!("expected {expected}"),
                );
                cx.push(diag);
                ok = false;
            }
        }
    }
    let count = |key| counts.get(key).copied().unwrap_or(0);
    if count("RunningInstances") > count("Instances") {
        let diag = cx.err(
            Code::InvalidTestFile,
            value.span,
            "`Usage.RunningInstances` is more than `Usage.Instances`",
            "running instances are some of the instances",
        );
        cx.push(diag);
        ok = false;
    }
    let used = count("Instances") + count("Modules") > 0;
    let contradiction = match in_use {
        Some((Some(b), _)) => b != used,
        // Unknown use is for an image nothing is counted for (counts are lower bounds).
        Some((None, _)) => used,
        None => false,
    };
    if let (true, Some((_, span))) = (contradiction, in_use) {
        let diag = cx
            .err(
                Code::InvalidTestFile,
                span,
                "`Usage.InUse` disagrees with the counts",
                "not what the counts say",
            )
            .with_help("InUse is true when Instances + Modules > 0; it can be null (unknown) only when nothing is counted; leave it out to take it from the counts");
        cx.push(diag);
        ok = false;
    }
    ok
}

/// A test image is written by a person: every key must be an Image field
/// (`SrcImage` holding its own, `Usage` the usage counts), once, with a value
/// of the field's type or null. A typo such as `ImageTyp` would otherwise be
/// kept as an unknown field and leave the real field missing, so the case
/// could pass for the wrong reason.
fn test_image_fields(cx: &mut Cx<'_>, node: &Node) -> bool {
    let Some(entries) = node.as_map() else {
        cx.wrong_type(node, "an image", "a mapping of Image fields");
        return false;
    };
    let top: Vec<&str> = Field::of_image()
        .filter(|f| !f.in_src_image())
        .map(|f| f.path())
        .chain(["SrcImage", "Usage"])
        .collect();
    let fields = Of::new("an image").keys("an image field name", "expected a string");
    let mut ok = true;
    // Each field's problems where it is, in file order.
    for item in cx.each(entries, fields) {
        let (name, key, value) = match item {
            Ok(entry) => entry,
            Err(diag) => {
                cx.push(diag);
                ok = false;
                continue;
            }
        };
        if name == "SrcImage" {
            ok &= src_image_fields(cx, value);
            continue;
        }
        if name == "Usage" {
            ok &= test_usage_fields(cx, value);
            continue;
        }
        ok &= test_field(cx, key, value, name, &top, name);
    }
    ok
}

/// A test image's `SrcImage`: null, or a mapping of SrcImage fields.
fn src_image_fields(cx: &mut Cx<'_>, value: &Node) -> bool {
    let inner = match &value.kind {
        NodeKind::Null => return true,
        NodeKind::Map(inner) => inner,
        _ => {
            cx.wrong_type(value, "`SrcImage`", "a mapping of SrcImage fields");
            return false;
        }
    };
    let src: Vec<&str> = Field::ALL
        .iter()
        .filter(|f| f.in_src_image())
        .map(|f| f.json_key())
        .collect();
    let fields = Of::new("`SrcImage`").keys("a SrcImage field name", "expected a string");
    let mut ok = true;
    for item in cx.each(inner, fields) {
        match item {
            Ok((name, key, value)) => {
                ok &= test_field(cx, key, value, &format!("SrcImage.{name}"), &src, name);
            }
            Err(diag) => {
                cx.push(diag);
                ok = false;
            }
        }
    }
    ok
}

/// One `key: value` of a test image: a known field, of its type.
fn test_field(
    cx: &mut Cx<'_>,
    key: &Node,
    value: &Node,
    path: &str,
    known: &[&str],
    name: &str,
) -> bool {
    let Some(field) = Field::from_path(path).filter(|f| !f.is_usage()) else {
        let mut diag = cx
            .err(
                Code::UnknownField,
                key.span,
                format!("unknown field `{path}` in a test image"),
                "not an Image field",
            )
            .with_help("test images use the DescribeImage field names; a misspelt field would leave the real one missing")
            .suggest(did_you_mean(name, known.iter().copied()));
        if let Some(usage) = path.strip_prefix("Usage.") {
            diag = diag.with_help(format!(
                "usage is a mapping of its own in a test image: `Usage: {{ {usage}: … }}`"
            ));
        }
        cx.push(diag);
        return false;
    };
    let fits = matches!(
        (&value.kind, field.ty()),
        (NodeKind::Null, _)
            | (NodeKind::Str(_), FieldType::String | FieldType::Timestamp)
            | (NodeKind::Int(_), FieldType::Integer)
            | (NodeKind::Bool(_), FieldType::Boolean)
    );
    if !fits {
        let expected = match field.ty() {
            FieldType::String => "a string",
            FieldType::Integer => "an integer",
            FieldType::Boolean => "true or false",
            FieldType::Timestamp => "a time as the API writes it, \"YYYY-MM-DD hh:mm:ss\"",
        };
        let mut diag = cx.err(
            Code::InvalidTestFile,
            value.span,
            format!("`{path}` is {expected}, found {}", value.type_name()),
            format!("expected {expected}"),
        );
        if let (NodeKind::Str(text), FieldType::Integer) = (&value.kind, field.ty())
            && text.trim().parse::<i64>().is_ok()
        {
            diag = diag.with_help(format!("remove the quotes: {}", text.trim()));
        } else if field.ty() == FieldType::String
            && !matches!(value.kind, NodeKind::Seq(_) | NodeKind::Map(_))
        {
            diag = diag.with_help(format!("quote it: \"{}\"", value.quoted()));
        }
        cx.push(diag);
        return false;
    }
    true
}

/// An `expect` entry and where it names its rule.
fn expected(cx: &mut Cx<'_>, node: &Node) -> Option<(Expected, Span)> {
    let mapping = cx.mapping(node, "an expected finding", EXPECT_KEYS)?;
    let rule_node = mapping.require(cx, "rule", "this expected finding");
    let rule = rule_node.and_then(|n| cx.string(n, "`rule`"));
    let image = mapping.get("image").and_then(|n| cx.string(n, "`image`"));
    let status_node = mapping.require(cx, "status", "this expected finding");
    let status = status_node.and_then(|node| {
        let names = Status::ALL.map(Status::as_str);
        let text = cx.choose(node.as_str().unwrap_or(""), &names, |cx| {
            cx.err(
                Code::InvalidTestFile,
                node.span,
                format!("unknown status {}", node.quoted()),
                "not a status",
            )
            .with_help(format!("status is one of {}", names.join(", ")))
        })?;
        Status::parse(text)
    });
    Some((
        Expected {
            rule: rule?,
            image,
            status: status?,
        },
        rule_node?.span,
    ))
}

/// Run every case of a test file against the policy files. `compiled` is the
/// set compiled once with `base` (it names the rules); each case compiles its
/// own, with its `now` and params.
pub fn run_file(
    test: &TestFile,
    policy_files: &[Arc<SourceFile>],
    compiled: &PolicySet,
    base: &CompileOptions,
) -> Result<Vec<CaseResult>, Vec<Diag>> {
    let problems = unknown_rules(test, compiled);
    if !problems.is_empty() {
        return Err(problems);
    }
    let scope = rules_under_test(test, compiled);
    let mut results = Vec::with_capacity(test.cases.len());
    for case in &test.cases {
        let (policy, images, evaluation) = match evaluate_case(case, policy_files, base) {
            Ok(evaluated) => evaluated,
            Err(problems) => {
                let reasons: Vec<&str> = problems
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| d.message.as_str())
                    .collect();
                results.push(CaseResult {
                    name: case.name.clone(),
                    missing: Vec::new(),
                    unexpected: Vec::new(),
                    error: Some(format!(
                        "the policies do not load with this case's params: {}",
                        reasons.join("; ")
                    )),
                });
                continue;
            }
        };
        let mut actual: Vec<Expected> = evaluation
            .findings
            .iter()
            .map(|f| Expected {
                rule: policy.rules[f.rule].id.clone(),
                image: f
                    .image
                    .and_then(|i| images.images()[i].id().map(str::to_owned)),
                status: f.status,
            })
            .filter(|e| scope.as_ref().is_none_or(|ids| ids.contains(&e.rule)))
            .collect();
        actual.sort();
        let (missing, unexpected) = difference(&case.expect, &actual);
        results.push(CaseResult {
            name: case.name.clone(),
            missing,
            unexpected,
            error: None,
        });
    }
    Ok(results)
}

/// One case evaluated as `ecmguard test` evaluates it: the policy files
/// compiled with the case's `now` and params, its images, its history.
pub fn evaluate_case(
    case: &Case,
    policy_files: &[Arc<SourceFile>],
    base: &CompileOptions,
) -> Result<(PolicySet, ImageSet, Evaluation), Vec<Diag>> {
    let mut options = base.clone();
    options.now = case.now;
    options.params.extend(
        case.params
            .iter()
            .map(|(name, text)| crate::policy::inputs::ParamInput::test_case(name, text)),
    );
    let loaded = policy::compile(policy_files.to_vec(), &options)?;
    let images = ImageSet::new(case.images.clone(), &options.zone);
    let evaluation = evaluate(
        &loaded.policy,
        &images,
        EvalOptions {
            now: case.now,
            baseline: None,
            selection: None,
            history: case.history.as_ref(),
        },
    );
    Ok((loaded.policy, images, evaluation))
}

/// Multiset difference: (expected − actual, actual − expected).
fn difference(expected: &[Expected], actual: &[Expected]) -> (Vec<Expected>, Vec<Expected>) {
    let mut counts: BTreeMap<&Expected, i64> = BTreeMap::new();
    for e in expected {
        *counts.entry(e).or_default() += 1;
    }
    for a in actual {
        *counts.entry(a).or_default() -= 1;
    }
    let mut missing = Vec::new();
    let mut unexpected = Vec::new();
    for (entry, count) in counts {
        for _ in 0..count.max(0) {
            missing.push(entry.clone());
        }
        for _ in 0..(-count).max(0) {
            unexpected.push(entry.clone());
        }
    }
    (missing, unexpected)
}

/// Every rule a test file names (`rules:` and each `expect`) must be loaded:
/// a test of a rule that is not there can only pass or fail for the wrong
/// reason. One located diagnostic per name, with "did you mean".
pub(crate) fn unknown_rules(test: &TestFile, compiled: &PolicySet) -> Vec<Diag> {
    let known: Vec<&str> = compiled.rules.iter().map(|r| r.id.as_str()).collect();
    let loaded: std::collections::HashSet<&str> = known.iter().copied().collect();
    let named = test
        .rules
        .iter()
        .flatten()
        .map(|(id, span)| (id.as_str(), *span, "`rules`"))
        .chain(test.cases.iter().flat_map(|case| {
            case.expect
                .iter()
                .zip(&case.expect_spans)
                .map(|(e, span)| (e.rule.as_str(), *span, "`expect`"))
        }));
    let mut diags = Vec::new();
    for (id, span, what) in named {
        if loaded.contains(id) {
            continue;
        }
        if diags.len() >= crate::diag::LARGE_FILE {
            // Counted, not each worked out against every loaded rule.
            diags.push(
                Diag::error(
                    Code::UnknownRule,
                    format!("{what} names rule `{id}`, which is not in the loaded policies"),
                )
                .at(&test.file, span, "not loaded"),
            );
            continue;
        }
        let diag = Diag::error(
            Code::UnknownRule,
            format!("{what} names rule `{id}`, which is not in the loaded policies"),
        )
        .at(&test.file, span, "not loaded")
        .with_help(format!(
            "the loaded rules are: {}; point --policy at the file that defines it",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ))
        .suggest(did_you_mean(id, known.iter().copied()));
        diags.push(diag);
    }
    crate::diag::cap_per_file(diags, |_| crate::diag::LARGE_FILE)
}

/// `None` means every rule. Call [`unknown_rules`] first.
fn rules_under_test(test: &TestFile, compiled: &PolicySet) -> Option<Vec<String>> {
    if let Some(ids) = &test.rules {
        return Some(ids.iter().map(|(id, _)| id.clone()).collect());
    }
    let name = test.file.name();
    let stem = name
        .strip_suffix(".test.yaml")
        .or_else(|| name.strip_suffix(".test.yml"));
    if let Some(stem) = stem {
        let siblings = [format!("{stem}.yaml"), format!("{stem}.yml")];
        let sibling_rules: Vec<String> = compiled
            .rules
            .iter()
            .filter(|r| {
                siblings
                    .iter()
                    .any(|s| Path::new(r.origin.file.name()) == Path::new(s))
            })
            .map(|r| r.id.clone())
            .collect();
        if !sibling_rules.is_empty() {
            return Some(sibling_rules);
        }
    }
    None
}

/// The policy file beside a test file (`x.test.yaml` → `x.yaml`, else `x.yml`).
pub(crate) fn sibling_policy(test: &Path) -> Option<std::path::PathBuf> {
    let name = test.file_name()?.to_str()?;
    let stem = name
        .strip_suffix(".test.yaml")
        .or_else(|| name.strip_suffix(".test.yml"))?;
    ["yaml", "yml"]
        .iter()
        .map(|ext| test.with_file_name(format!("{stem}.{ext}")))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(rule: &str, image: Option<&str>, status: Status) -> Expected {
        Expected {
            rule: rule.into(),
            image: image.map(Into::into),
            status,
        }
    }

    #[test]
    fn difference_is_a_multiset_difference() {
        let expected = vec![
            e("a", Some("x"), Status::Violation),
            e("a", Some("x"), Status::Violation),
            e("b", None, Status::Violation),
        ];
        let actual = vec![
            e("a", Some("x"), Status::Violation),
            e("c", Some("y"), Status::Indeterminate),
        ];
        let (missing, unexpected) = difference(&expected, &actual);
        assert_eq!(
            missing,
            vec![
                e("a", Some("x"), Status::Violation),
                e("b", None, Status::Violation)
            ]
        );
        assert_eq!(unexpected, vec![e("c", Some("y"), Status::Indeterminate)]);
    }
}
