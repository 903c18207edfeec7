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
use crate::eval::{EvalOptions, OpenSince, evaluate};
use crate::image::{Image, ImageSet};
use crate::policy::context::Cx;
use crate::policy::yaml::{self, Node, NodeKind};
use crate::policy::{self, CompileOptions, PolicySet};
use crate::source_text::SourceFile;
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
    /// `history:` — the open streaks a `check --history` would know, as
    /// `{ rule, image, first_seen }` entries: the case is evaluated as with
    /// a history (first seen, grace). Absent: evaluated without one.
    pub history: Option<OpenSince>,
}

/// A parsed test file.
#[derive(Debug)]
pub struct TestFile {
    pub file: Arc<SourceFile>,
    /// Explicit `rules:`; `None` means "the sibling policy file's, else all".
    pub rules: Option<Vec<String>>,
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

/// Parse a test file, reporting every problem with its location.
pub fn parse(file: &Arc<SourceFile>, options: &CompileOptions) -> Result<TestFile, Vec<Diag>> {
    let root = yaml::parse(file).map_err(|d| vec![d])?;
    let mut cx = Cx::new(options, file.clone());
    let mut parsed = TestFile {
        file: file.clone(),
        rules: None,
        cases: Vec::new(),
    };
    if let Some(mapping) = cx.mapping(&root, "a test file", FILE_KEYS) {
        let file_now = mapping.get("now").and_then(|n| now_of(&mut cx, n));
        if let Some(rules) = mapping.get("rules") {
            parsed.rules = cx
                .strings(rules, "`rules`")
                .map(|ids| ids.into_iter().map(|(s, _)| s).collect());
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
        Err(cx.diags)
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
    let mapping = cx.mapping(node, "a test case", CASE_KEYS)?;
    let name = mapping
        .require(cx, "name", "this case")
        .and_then(|n| cx.string(n, "`name`"));
    let now = match mapping.get("now") {
        Some(n) => now_of(cx, n),
        None => file_now.or_else(|| {
            let span = mapping.key("name").map_or(mapping.span, |k| k.span);
            let diag = cx
                .err(Code::InvalidTestFile, span, "this case has no `now`", "no time to evaluate at")
                .with_help("add `now: 2026-01-01T00:00:00+08:00` at the top of the file or to the case; tests never read the clock");
            cx.push(diag);
            None
        }),
    };
    let mut images = Vec::new();
    let mut ok = true;
    match mapping.require(cx, "images", "this case") {
        Some(Node {
            kind: NodeKind::Seq(items),
            ..
        }) => {
            for item in items {
                if item.as_map().is_none() {
                    cx.wrong_type(item, "an image", "a mapping of Image fields");
                    ok = false;
                    continue;
                }
                match serde_json::from_value::<Image>(item.to_json()) {
                    Ok(image) => images.push(image),
                    Err(err) => {
                        let diag = cx
                            .err(Code::InvalidTestFile, item.span, format!("not a valid image: {err}"), "this image")
                            .with_help("images use the DescribeImage field names and types, e.g. { ImageId: img-a, ImageSize: 50 }");
                        cx.push(diag);
                        ok = false;
                    }
                }
            }
        }
        Some(other) => {
            cx.wrong_type(other, "`images`", "a list of images");
            ok = false;
        }
        None => ok = false,
    }
    let mut params = Vec::new();
    if let Some(node) = mapping.get("params") {
        match node.as_map() {
            Some(entries) => {
                for (key, value) in entries {
                    let Some(name) = key.as_str() else {
                        cx.wrong_type(key, "a param name", "a string");
                        ok = false;
                        continue;
                    };
                    // Handed to the compiler exactly like `--param name=value`.
                    let text = match &value.kind {
                        NodeKind::Str(s) => s.clone(),
                        NodeKind::Seq(_) => value.to_json().to_string(),
                        _ => value.display(),
                    };
                    params.push((name.to_owned(), text));
                }
            }
            None => {
                cx.wrong_type(node, "`params`", "a mapping of param names to values");
                ok = false;
            }
        }
    }
    let mut expect = Vec::new();
    match mapping.require(cx, "expect", "this case") {
        Some(Node {
            kind: NodeKind::Seq(items),
            ..
        }) => {
            for item in items {
                match expected(cx, item) {
                    Some(e) => expect.push(e),
                    None => ok = false,
                }
            }
        }
        Some(other) => {
            cx.wrong_type(
                other,
                "`expect`",
                "a list of { rule, image, status } (empty: no findings)",
            );
            ok = false;
        }
        None => ok = false,
    }
    let history = match mapping.get("history") {
        None => None,
        Some(node) => match history(cx, node) {
            Some(history) => Some(history),
            None => {
                ok = false;
                None
            }
        },
    };
    if !ok {
        return None;
    }
    Some(Case {
        name: name?,
        now: now?,
        images,
        params,
        expect,
        history,
    })
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
    let mut open = OpenSince::new();
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
    ok.then_some(open)
}

fn expected(cx: &mut Cx<'_>, node: &Node) -> Option<Expected> {
    let mapping = cx.mapping(node, "an expected finding", EXPECT_KEYS)?;
    let rule = mapping
        .require(cx, "rule", "this expected finding")
        .and_then(|n| cx.string(n, "`rule`"));
    let image = mapping.get("image").and_then(|n| cx.string(n, "`image`"));
    let status_node = mapping.require(cx, "status", "this expected finding");
    let status = status_node.and_then(|node| {
        let text = node.as_str().unwrap_or("");
        let status = Status::parse(text);
        if status.is_none() {
            let names = Status::ALL.map(Status::as_str);
            let diag = cx
                .err(
                    Code::InvalidTestFile,
                    node.span,
                    format!("unknown status {}", node.display()),
                    "not a status",
                )
                .with_help(format!("status is one of {}", names.join(", ")))
                .suggest(did_you_mean(text, names));
            cx.push(diag);
        }
        status
    });
    Some(Expected {
        rule: rule?,
        image,
        status: status?,
    })
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
    let scope = rules_under_test(test, compiled)?;
    let mut results = Vec::with_capacity(test.cases.len());
    for case in &test.cases {
        let mut options = base.clone();
        options.now = case.now;
        options.params.extend(case.params.iter().cloned());
        let loaded = match policy::compile(policy_files.to_vec(), &options) {
            Ok(loaded) => loaded,
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
        let images = ImageSet::new(case.images.clone(), &options.zone);
        let evaluation = evaluate(
            &loaded.policy,
            &images,
            EvalOptions {
                now: case.now,
                baseline: None,
                history: case.history.as_ref(),
            },
        );
        let mut actual: Vec<Expected> = evaluation
            .findings
            .iter()
            .map(|f| Expected {
                rule: loaded.policy.rules[f.rule].id.clone(),
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

/// `None` means every rule.
fn rules_under_test(
    test: &TestFile,
    compiled: &PolicySet,
) -> Result<Option<Vec<String>>, Vec<Diag>> {
    let known: Vec<&str> = compiled.rules.iter().map(|r| r.id.as_str()).collect();
    if let Some(ids) = &test.rules {
        let unknown: Vec<Diag> = ids
            .iter()
            .filter(|id| !known.contains(&id.as_str()))
            .map(|id| {
                Diag::error(
                    Code::UnknownRule,
                    format!("{}: `rules` names unknown rule `{id}`", test.file.name()),
                )
                .suggest(did_you_mean(id, known.iter().copied()))
            })
            .collect();
        if !unknown.is_empty() {
            return Err(unknown);
        }
        return Ok(Some(ids.clone()));
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
            return Ok(Some(sibling_rules));
        }
    }
    Ok(None)
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
