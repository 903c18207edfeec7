//! Meaning: walks each file's node tree into rules, waivers and params,
//! pushing every problem as a located diagnostic and going on.

use std::sync::Arc;

use crate::diag::Code;
use crate::diag::did_you_mean;
use crate::image::Field;
use crate::policy::context::Cx;
use crate::policy::fix;
use crate::policy::matcher;
use crate::policy::model::{
    Check, CmpOp, CountTest, Expectation, Grace, Origin, Param, Rule, Severity, UnknownPolicy,
    Waiver,
};
use crate::policy::params;
use crate::policy::read::{Mapping, Read};
use crate::policy::template;
use crate::policy::yaml::{Node, NodeKind};
use crate::source_text::{SourceFile, Span};

pub(crate) const TOP_KEYS: &[&str] = &["rules", "waivers", "params"];
pub(crate) const RULE_KEYS: &[&str] = &[
    "id",
    "title",
    "severity",
    "description",
    "remediation",
    "url",
    "tags",
    "where",
    "assert",
    "expect",
    "message",
    "unknown",
    "grace",
    "fix",
];
pub(crate) const WAIVER_KEYS: &[&str] = &["rules", "images", "where", "reason", "expires", "owner"];

/// The top-level sections of one file.
#[derive(Default)]
pub(crate) struct Sections<'n> {
    pub rules: Option<&'n Node>,
    pub waivers: Option<&'n Node>,
    pub params: Option<&'n Node>,
}

pub(crate) fn sections<'n>(cx: &mut Cx<'_>, root: &'n Node) -> Sections<'n> {
    if matches!(root.kind, NodeKind::Null) {
        return Sections::default();
    }
    let Some(mapping) = cx.mapping(root, "a policy file", TOP_KEYS) else {
        return Sections::default();
    };
    Sections {
        rules: mapping.get("rules"),
        waivers: mapping.get("waivers"),
        params: mapping.get("params"),
    }
}

pub(crate) fn define_params(
    cx: &mut Cx<'_>,
    node: &Node,
    defined: &mut Vec<Param>,
    origins: &mut std::collections::HashMap<String, Origin>,
) {
    params::define(cx, node, defined, origins);
}

fn is_rule_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

/// Compile one file's `rules:` list, appending to `rules`.
pub(crate) fn rules(cx: &mut Cx<'_>, node: &Node, rules: &mut Vec<Rule>) {
    let Some(items) = node.as_seq() else {
        cx.wrong_type(node, "`rules`", "a list of rules");
        return;
    };
    for item in items {
        if let Some(rule) = rule(cx, item) {
            rules.push(rule);
        }
    }
}

fn rule(cx: &mut Cx<'_>, node: &Node) -> Option<Rule> {
    let m = cx.mapping(node, "a rule", RULE_KEYS)?;
    let (id, origin_span) = rule_id(cx, &m);
    let title = title(cx, &m);
    let severity = m
        .get("severity")
        .map_or(Some(Severity::Error), |node| severity(cx, node));
    let description = m.optional::<String>(cx, "description").flatten();
    let remediation = m.optional::<String>(cx, "remediation").flatten();
    let url = rule_url(cx, &m);
    let tags = match m.get("tags") {
        None => Some(Vec::new()),
        Some(node) => cx
            .strings(node, "`tags`")
            .map(|t| t.into_iter().map(|(s, _)| s).collect()),
    };
    let unknown = m
        .get("unknown")
        .map_or(Some(UnknownPolicy::Fail), |node| unknown_policy(cx, node));
    let grace = m.optional_by("grace", |node| grace(cx, node));
    let scope = m.optional_by("where", |node| matcher::condition(cx, node, "`where`"));
    let (check, check_span) = check(cx, &m, origin_span);
    let condition_span = m
        .get("assert")
        .or_else(|| m.get("expect"))
        .map_or(check_span, |node| condition_start(cx.file.text(), node));
    let set_level = matches!(check, Some(Check::Expect(_)))
        || (m.get("expect").is_some() && m.get("assert").is_none());
    let message = m.optional_by("message", |node| template::compile(cx, node, set_level));
    let fix = m.optional_by("fix", |node| fix::compile(cx, node, set_level));
    let origin = |span| Origin {
        file: cx.file.clone(),
        span,
    };
    Some(Rule {
        id: id?,
        title: title?,
        severity: severity?,
        description,
        remediation,
        url: url?,
        tags: tags?,
        scope: scope?,
        check: check?,
        message: message?,
        unknown: unknown?,
        grace: grace?,
        fix: fix?,
        origin: origin(origin_span),
        check_origin: origin(check_span),
        condition_origin: origin(condition_span),
    })
}

/// The rule's `id` (required; well formed; not a repeat, which is
/// reported once for the whole set) and where the rule is said to be
/// defined: its `id: …`, else its first key.
fn rule_id(cx: &mut Cx<'_>, m: &Mapping<'_>) -> (Option<String>, Span) {
    let id_node = m.require(cx, "id", "this rule");
    let id = id_node.and_then(|n| cx.string(n, "`id`"));
    let origin_span = match (m.key("id"), id_node) {
        (Some(key), Some(value)) => Span::new(
            key.span.start,
            value.span.end().saturating_sub(key.span.start),
        ),
        _ => m.first_key_span(),
    };
    let (Some(id), Some(id_node)) = (id, id_node) else {
        return (None, origin_span);
    };
    if !is_rule_id(&id) {
        let suggestion: String = id
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let diag = cx
            .err(
                Code::InvalidRuleId,
                id_node.span,
                format!("`{id}` is not a valid rule id"),
                "invalid id",
            )
            .with_help(format!(
                "ids are lowercase letters, digits, `.`, `_` and `-`, starting with a letter or digit, e.g. `{suggestion}`"
            ));
        cx.push(diag);
        return (None, origin_span);
    }
    // A repeat is reported once for the whole set, from the raw documents.
    let repeat = cx.is_duplicate_id(id_node.span);
    ((!repeat).then_some(id), origin_span)
}

/// The rule's `title`: required, one non-empty line.
fn title(cx: &mut Cx<'_>, m: &Mapping<'_>) -> Option<String> {
    let empty = Empty {
        message: "`title` is empty",
        label: "empty title",
        help: "say in one line what the rule requires",
    };
    required_text(cx, m, "title", "this rule", &empty)
}

/// How a required text that is empty is told.
struct Empty {
    message: &'static str,
    label: &'static str,
    help: &'static str,
}

/// A required string that says something (not only spaces).
fn required_text(
    cx: &mut Cx<'_>,
    m: &Mapping<'_>,
    key: &str,
    owner: &str,
    empty: &Empty,
) -> Option<String> {
    let node = m.require(cx, key, owner)?;
    let text = cx.string(node, &format!("`{key}`"))?;
    if text.trim().is_empty() {
        let diag = cx
            .err(Code::EmptyValue, node.span, empty.message, empty.label)
            .with_help(empty.help);
        cx.push(diag);
        return None;
    }
    Some(text)
}

/// `severity: error | warning | info`.
fn severity(cx: &mut Cx<'_>, node: &Node) -> Option<Severity> {
    let Some(text) = node.as_str() else {
        cx.wrong_type(node, "`severity`", "one of error, warning, info");
        return None;
    };
    let name = cx.choose(text, &Severity::NAMES, |cx| {
        cx.err(
            Code::UnknownSeverity,
            node.span,
            format!("unknown severity `{text}`"),
            "not a severity",
        )
        .with_help("severity is one of: error, warning, info")
    })?;
    Severity::parse(name)
}

/// `unknown: fail | pass`: what an indeterminate `assert` result does.
fn unknown_policy(cx: &mut Cx<'_>, node: &Node) -> Option<UnknownPolicy> {
    let problem = |cx: &Cx<'_>| {
        cx.err(
            Code::UnknownUnknownPolicy,
            node.span,
            format!("`unknown` must be fail or pass, found {}", node.quoted()),
            "not fail or pass",
        )
        .with_help("`unknown: fail` (default) makes a missing field fail the gate; `unknown: pass` lets the image pass")
    };
    let Some(text) = node.as_str() else {
        let diag = problem(cx);
        cx.push(diag);
        return None;
    };
    match cx.choose(text, &["fail", "pass"], problem)? {
        "pass" => Some(UnknownPolicy::Pass),
        _ => Some(UnknownPolicy::Fail),
    }
}

/// The rule's `url`, shown as a link in reports: `Some(None)` without one,
/// `None` after reporting one that is not an absolute http(s) URL.
fn rule_url(cx: &mut Cx<'_>, m: &Mapping<'_>) -> Option<Option<String>> {
    let url = m.optional::<String>(cx, "url");
    if let (Some(Some(text)), Some(node)) = (&url, m.get("url"))
        && let Err(problem) = check_url(text)
    {
        let diag = cx
            .err(
                Code::InvalidUrl,
                node.span,
                format!("`url` is not an absolute http(s) URL: {problem}"),
                "not a URL",
            )
            .with_help("for example url: https://wiki.example.com/policies/image-age");
        cx.push(diag);
        return None;
    }
    // A `url` of the wrong type was reported; the rule still compiles.
    Some(url.flatten())
}

/// The rule's check, exactly one of `assert` and `expect`, and the span a
/// report points at for it (the key).
fn check(cx: &mut Cx<'_>, m: &Mapping<'_>, origin_span: Span) -> (Option<Check>, Span) {
    match (m.get("assert"), m.get("expect")) {
        (Some(_), Some(_)) => {
            let (a, e) = (
                m.key("assert").map_or(m.span, |k| k.span),
                m.key("expect").map_or(m.span, |k| k.span),
            );
            let diag = cx.err(Code::CheckKind, e, "a rule has both `assert` and `expect`", "`expect` here")
                .also(a, "`assert` here")
                .with_help("`assert` checks every image in scope; `expect` checks the set of images in scope. Split this into two rules.");
            cx.push(diag);
            (None, m.span)
        }
        (None, None) => {
            let diag = cx.err(Code::CheckKind, origin_span, "a rule needs `assert` or `expect`", "this rule checks nothing")
                .with_help("add `assert: CONDITION` (every image in scope must satisfy it) or `expect: { count: … }` / `expect: { unique: … }`");
            cx.push(diag);
            (None, m.span)
        }
        (Some(node), None) => (
            matcher::condition(cx, node, "`assert`").map(Check::Assert),
            m.key("assert").map_or(node.span, |k| k.span),
        ),
        (None, Some(node)) => (
            expectation(cx, node).map(Check::Expect),
            m.key("expect").map_or(node.span, |k| k.span),
        ),
    }
}

/// Where a check's condition starts, for the line a report shows. A flow
/// mapping (`{ ImageState: NORMAL }`) starts at its brace; a block
/// mapping's span may begin before its first key (on the `assert:` line),
/// so it starts at its first key.
fn condition_start(text: &str, node: &Node) -> Span {
    let flow = text
        .get(node.span.start..)
        .is_some_and(|rest| rest.starts_with(['{', '[']));
    match node.as_map() {
        Some([(key, _), ..]) if !flow && key.span.start > node.span.start => Span::new(
            key.span.start,
            node.span.end().saturating_sub(key.span.start),
        ),
        _ => node.span,
    }
}

/// `grace: DURATION` (a param reference allowed), validated like every
/// duration and resolved against `now` once.
fn grace(cx: &mut Cx<'_>, node: &Node) -> Option<Grace> {
    let operand = params::resolve(
        cx,
        node,
        params::Want::Scalar(crate::image::FieldType::String),
    )?;
    let note = operand.origin_note();
    let value = &operand.node;
    let text = match &value.kind {
        NodeKind::Str(s) => s.clone(),
        // A bare number gets the parser's "no unit" error and its hint.
        NodeKind::Int(i) => i.to_string(),
        _ => {
            let diag = cx
                .err(
                    Code::InvalidDuration,
                    value.span,
                    format!("`grace` must be a duration, found {}{note}", value.quoted()),
                    "not a duration",
                )
                .with_help("for example grace: 14d (how long a new violation may stay open before it fails the gate)");
            cx.push(diag);
            return None;
        }
    };
    let (duration, threshold) = cx.duration_before(value.span, &text, "grace period", &note)?;
    Some(Grace {
        duration,
        threshold,
        origin: Origin {
            file: cx.file.clone(),
            span: value.span,
        },
    })
}

fn expectation(cx: &mut Cx<'_>, node: &Node) -> Option<Expectation> {
    let mapping = cx.mapping(node, "`expect`", &["count", "unique"])?;
    if mapping.entries.is_empty() {
        let diag = cx
            .err(
                Code::EmptyCondition,
                node.span,
                "`expect` has neither `count` nor `unique`",
                "nothing expected",
            )
            .with_help("write `expect: { count: { gte: 1 } }` or `expect: { unique: ImageName }`");
        cx.push(diag);
        return None;
    }
    let mut expectation = Expectation::default();
    let mut ok = true;
    if let Some(count) = mapping.get("count") {
        match count_tests(cx, count) {
            Some(tests) => expectation.count = tests,
            None => ok = false,
        }
    }
    if let Some(unique) = mapping.get("unique") {
        let paths: Vec<&Node> = match &unique.kind {
            NodeKind::Str(_) => vec![unique],
            NodeKind::Seq(items) if !items.is_empty() => items.iter().collect(),
            _ => {
                cx.wrong_type(
                    unique,
                    "`unique`",
                    "a field path or a non-empty list of field paths",
                );
                return None;
            }
        };
        for path in paths {
            let Some(text) = path.as_str() else {
                cx.wrong_type(path, "a `unique` path", "a field path");
                ok = false;
                continue;
            };
            match Field::from_path(text) {
                Some(field) if !expectation.unique.contains(&field) => {
                    expectation.unique.push(field)
                }
                Some(_) => {
                    let diag = cx.err(
                        Code::DuplicateKey,
                        path.span,
                        format!("`{text}` is listed twice in `unique`"),
                        "repeated",
                    );
                    cx.push(diag);
                    ok = false;
                }
                None => {
                    let diag = cx
                        .err(
                            Code::UnknownField,
                            path.span,
                            format!("unknown field `{text}`"),
                            "not an Image field",
                        )
                        .suggest(did_you_mean(text, Field::ALL.iter().map(|f| f.path())));
                    cx.push(diag);
                    ok = false;
                }
            }
        }
    }
    ok.then_some(expectation)
}

/// How a `count` is written, for the help of each of its problems.
const COUNT_HELP: &str =
    "write `count: { gte: 1 }` with eq, gte, gt, lte, lt and non-negative integers";

fn count_tests(cx: &mut Cx<'_>, node: &Node) -> Option<Vec<CountTest>> {
    let help = COUNT_HELP;
    let Some(entries) = node.as_map() else {
        let diag = cx
            .err(
                Code::InvalidCount,
                node.span,
                format!(
                    "`count` must be a mapping of comparisons, found {}",
                    node.type_name()
                ),
                "expected a mapping",
            )
            .with_help(help);
        cx.push(diag);
        return None;
    };
    if entries.is_empty() {
        let diag = cx
            .err(
                Code::InvalidCount,
                node.span,
                "`count` has no comparison",
                "empty",
            )
            .with_help(help);
        cx.push(diag);
        return None;
    }
    let mut tests = Vec::with_capacity(entries.len());
    let mut ok = true;
    for (key, value) in entries {
        match count_test(cx, key, value) {
            Some(test) => tests.push(test),
            None => ok = false,
        }
    }
    ok.then_some(tests)
}

/// One comparison of a `count`: `gte: 1` (a param allowed).
fn count_test(cx: &mut Cx<'_>, key: &Node, value: &Node) -> Option<CountTest> {
    let name = key.as_str().unwrap_or("?");
    let chosen = cx.choose(name, &["eq", "gte", "gt", "lte", "lt"], |cx| {
        cx.err(
            Code::InvalidCount,
            key.span,
            format!("unknown count comparison `{name}`"),
            "not a comparison",
        )
        .with_help(COUNT_HELP)
    })?;
    let op = match chosen {
        "eq" => CmpOp::Eq,
        "gte" => CmpOp::Gte,
        "gt" => CmpOp::Gt,
        "lte" => CmpOp::Lte,
        _ => CmpOp::Lt,
    };
    let operand = params::resolve(cx, value, params::Want::Count)?;
    match operand.node.kind {
        NodeKind::Int(v) if v >= 0 => Some(CountTest {
            op,
            value: v as u64,
        }),
        _ => {
            let diag = cx
                .err(
                    Code::InvalidCount,
                    operand.node.span,
                    format!(
                        "a count must be a non-negative integer, found {}{}",
                        operand.node.quoted(),
                        operand.origin_note()
                    ),
                    "not a count",
                )
                .with_help(COUNT_HELP);
            cx.push(diag);
            None
        }
    }
}

/// Compile one file's `waivers:` list; rule ids resolve against every rule.
pub(crate) fn waivers(
    cx: &mut Cx<'_>,
    node: &Node,
    rules: &[Rule],
    all_rule_ids: &[String],
    waivers: &mut Vec<Waiver>,
) {
    let Some(items) = node.as_seq() else {
        cx.wrong_type(node, "`waivers`", "a list of waivers");
        return;
    };
    let ids = RuleIds {
        compiled: rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect(),
        declared: all_rule_ids.iter().map(String::as_str).collect(),
        all: all_rule_ids,
    };
    for item in items {
        if let Some(waiver) = waiver(cx, item, rules, &ids) {
            waivers.push(waiver);
        }
    }
}

/// The rule ids a waiver may name, looked up rather than searched.
struct RuleIds<'r> {
    /// Compiled rules: id to index.
    compiled: std::collections::HashMap<&'r str, usize>,
    /// Every id written, broken rules included.
    declared: std::collections::HashSet<&'r str>,
    all: &'r [String],
}

fn waiver(cx: &mut Cx<'_>, node: &Node, rules: &[Rule], known: &RuleIds<'_>) -> Option<Waiver> {
    let m = cx.mapping(node, "a waiver", WAIVER_KEYS)?;
    let origin_span = m
        .key("rules")
        .map_or_else(|| m.first_key_span(), |k| k.span);
    let rule_indices = waived_rules(cx, &m, origin_span, known);
    let images = m.optional_by("images", |node| waived_images(cx, node));
    let scope = m.optional_by("where", |node| {
        matcher::condition(cx, node, "the waiver's `where`")
    });
    let reason = reason(cx, &m);
    let owner = m.optional::<String>(cx, "owner").flatten();
    let expires = m.optional_by("expires", |node| expiry(cx, node));
    let (rules_of, images, scope, reason, expires) =
        (rule_indices?, images?, scope?, reason?, expires?);
    let expired = expires
        .as_ref()
        .is_some_and(|(_, at)| cx.options.now >= *at);
    let waiver = Waiver {
        rules: rules_of,
        images,
        scope,
        reason,
        owner,
        expires,
        expired,
        origin: Origin {
            file: cx.file.clone(),
            span: origin_span,
        },
    };
    if waiver.is_set_level() {
        for &index in &waiver.rules {
            let rule = &rules[index];
            if !rule.is_set_level() {
                let diag = cx.warn(Code::WaiverScope, origin_span, format!("this waiver names no images, so it cannot waive findings of per-image rule `{}`", rule.id), "no `images` or `where`")
                    .with_help("add `images: [img-…]` or `where: …` to say which images are waived");
                cx.push(diag);
            }
        }
    }
    Some(waiver)
}

/// The rules a waiver names (required, at least one), as indices of the
/// compiled rules. A rule that is not loaded is reported with "did you
/// mean"; one that is written but failed to compile was reported already.
fn waived_rules(
    cx: &mut Cx<'_>,
    m: &Mapping<'_>,
    origin_span: Span,
    known: &RuleIds<'_>,
) -> Option<Vec<usize>> {
    let ids = m
        .require(cx, "rules", "this waiver")
        .and_then(|n| cx.strings(n, "`rules`"))?;
    if ids.is_empty() {
        let span = m.get("rules").map_or(origin_span, |n| n.span);
        let diag = cx.err(
            Code::EmptyCondition,
            span,
            "a waiver must name at least one rule",
            "empty list",
        );
        cx.push(diag);
        return None;
    }
    let mut indices = Vec::with_capacity(ids.len());
    let mut ok = true;
    for (id, span) in ids {
        match known.compiled.get(id.as_str()) {
            Some(&index) => indices.push(index),
            None if known.declared.contains(id.as_str()) => ok = false,
            None => {
                let suggestion = if cx.room() {
                    did_you_mean(&id, known.all.iter().map(String::as_str))
                } else {
                    None
                };
                let diag = cx
                    .err(
                        Code::UnknownRule,
                        span,
                        format!("waiver names unknown rule `{id}`"),
                        "no rule has this id",
                    )
                    .with_help(
                        "a waiver names rules of the loaded policy set (`ecmguard rules` lists them); \
                         load the policy that defines it with --policy, or remove the id",
                    )
                    .suggest(suggestion);
                cx.push(diag);
                ok = false;
            }
        }
    }
    ok.then_some(indices)
}

/// The ImageIds a waiver names: a non-empty list.
fn waived_images(cx: &mut Cx<'_>, node: &Node) -> Option<Vec<String>> {
    let ids = cx.strings(node, "`images`")?;
    if ids.is_empty() {
        let diag = cx
            .err(
                Code::EmptyCondition,
                node.span,
                "`images` is empty",
                "empty list",
            )
            .with_help("list ImageIds, or remove `images` to waive the rules' set-level findings");
        cx.push(diag);
        return None;
    }
    Some(ids.into_iter().map(|(s, _)| s).collect())
}

/// The waiver's `reason`: required, not empty.
fn reason(cx: &mut Cx<'_>, m: &Mapping<'_>) -> Option<String> {
    let empty = Empty {
        message: "the waiver's `reason` is empty",
        label: "empty reason",
        help: "say why the exception is acceptable, ideally with a ticket reference",
    };
    required_text(cx, m, "reason", "this waiver", &empty)
}

/// `expires: 2027-03-31`, as written and as the start of that day in the
/// API time zone.
fn expiry(cx: &mut Cx<'_>, node: &Node) -> Option<(String, jiff::Timestamp)> {
    let parsed = node.as_str().and_then(|text| {
        let date = text
            .trim()
            .parse::<jiff::civil::Date>()
            .ok()
            .filter(|_| text.trim().len() == 10)?;
        Some((text.trim().to_owned(), cx.options.zone.start_of_day(date)?))
    });
    if parsed.is_none() {
        let diag = cx
            .err(
                Code::InvalidTime,
                node.span,
                format!(
                    "`expires` must be a date like 2027-03-31, found {}",
                    node.quoted()
                ),
                "not a date",
            )
            .with_help("the waiver stops applying at the start of that day in the API time zone");
        cx.push(diag);
    }
    parsed
}

/// The ids of every rule item in every file, valid or not, so a waiver of a
/// rule that failed to compile is not also reported as unknown.
/// A rule id as written in a file, before any rule is compiled.
pub(crate) struct DeclaredId<'n> {
    pub file: Arc<SourceFile>,
    pub id: &'n str,
    /// The id's value node.
    pub span: Span,
}

/// Every rule id written in a file, broken rules included: duplicates and
/// waiver references are worked out from these, so one rule's mistake never
/// hides (or invents) another problem.
pub(crate) fn declared_rule_ids<'n>(file: &Arc<SourceFile>, root: &'n Node) -> Vec<DeclaredId<'n>> {
    let Some(entries) = root.as_map() else {
        return Vec::new();
    };
    entries
        .iter()
        .filter(|(k, _)| k.as_str() == Some("rules"))
        .filter_map(|(_, v)| v.as_seq())
        .flatten()
        .filter_map(|rule| rule.as_map())
        .filter_map(|entries| entries.iter().find(|(k, _)| k.as_str() == Some("id")))
        .filter_map(|(_, v)| {
            Some(DeclaredId {
                file: file.clone(),
                id: v.as_str()?,
                span: v.span,
            })
        })
        .collect()
}

/// One diagnostic per repeated rule id, at the repeat, pointing at the first.
pub(crate) fn duplicate_rule_ids(declared: &[DeclaredId<'_>]) -> Vec<crate::diag::Diag> {
    let mut firsts: std::collections::HashMap<&str, &DeclaredId<'_>> =
        std::collections::HashMap::with_capacity(declared.len());
    let mut diags = Vec::new();
    for later in declared {
        let Some(first) = firsts.get(later.id).copied() else {
            firsts.insert(later.id, later);
            continue;
        };
        let mut diag = crate::diag::Diag::error(
            Code::DuplicateRuleId,
            format!("rule id `{}` is used twice", later.id),
        )
        .at(&later.file, later.span, "second rule with this id");
        if Arc::ptr_eq(&first.file, &later.file) {
            diag = diag.also(first.span, "first defined here");
        } else {
            let at = first.file.line_col(first.span.start);
            diag = diag.with_help(format!(
                "the first is in {}:{}:{}; rule ids are unique across every policy file",
                first.file.name(),
                at.line,
                at.column
            ));
        }
        diags.push(diag);
    }
    diags
}

/// Every param name written as a whole `"${name}"` operand anywhere in a
/// file's rules and waivers, broken ones included (a param used only by a
/// rule with a mistake is still used).
pub(crate) fn referenced_params(root: &Node, out: &mut std::collections::HashSet<String>) {
    fn walk(node: &Node, out: &mut std::collections::HashSet<String>) {
        match &node.kind {
            NodeKind::Str(text) => {
                if let Some(name) = text.strip_prefix("${").and_then(|t| t.strip_suffix('}')) {
                    out.insert(name.to_owned());
                }
            }
            NodeKind::Seq(items) => items.iter().for_each(|item| walk(item, out)),
            NodeKind::Map(entries) => entries.iter().for_each(|(_, value)| walk(value, out)),
            _ => {}
        }
    }
    if let Some(entries) = root.as_map() {
        for (key, value) in entries {
            if matches!(key.as_str(), Some("rules" | "waivers")) {
                walk(value, out);
            }
        }
    }
}

/// The policy set defines no rule. `empty` is the first `rules:` that is
/// there but lists nothing (`rules: []`), which is where to point; without
/// one, no file has a `rules:` at all.
pub(crate) fn no_rules(
    files: &[Arc<SourceFile>],
    empty: Option<(&Arc<SourceFile>, Span)>,
) -> crate::diag::Diag {
    let diag = crate::diag::Diag::error(Code::NoRules, "the policy set defines no rule");
    let diag = match (empty, files.first()) {
        (Some((file, span)), _) => diag.at(file, span, "this `rules:` lists no rule"),
        (None, Some(file)) if files.len() == 1 => {
            diag.at(file, Span::new(0, 0), "this file has no `rules:`")
        }
        (None, Some(file)) => diag.at(
            file,
            Span::new(0, 0),
            format!("none of the {} policy files has a `rules:`", files.len()),
        ),
        (None, None) => diag,
    };
    diag.with_help(
        "write at least one rule under `rules:` (an `id`, a `title`, and an `assert` or `expect`); `ecmguard init` writes a starter pack",
    )
}

/// A rule's `url` is shown as a link in reports (SARIF `helpUri`, HTML,
/// Markdown): it must be an absolute http(s) URL with a host, and nothing a
/// renderer could read as markup or a line break.
fn check_url(text: &str) -> Result<(), String> {
    if let Some(c) = text
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`'))
    {
        return Err(format!("it contains {c:?}"));
    }
    let url = url::Url::parse(text).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("the scheme is `{}`", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("it has no host".to_owned());
    }
    Ok(())
}
