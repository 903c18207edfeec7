//! The validation context: the file being read, the diagnostics collected so
//! far, the run's clock and zone, params, and helpers for reading mappings
//! with unknown-key and duplicate-key checks.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;

use crate::diag::Code;
use crate::diag::{Diag, did_you_mean};
use crate::policy::duration::Duration;
use crate::policy::inputs::ParamInput;
use crate::policy::yaml::{Node, NodeKind};
use crate::source_text::{SourceFile, Span};
use crate::time::ApiZone;

/// What compiling needs from the run: `--now`, the API zone, param values.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    pub now: Timestamp,
    pub zone: ApiZone,
    /// Values given for params (param files, `ECMGUARD_PARAM_<name>`,
    /// `--param`), lowest precedence first: for each name, the last one is
    /// in force.
    pub params: Vec<ParamInput>,
}

/// A param as the loader sees it: its value (given, or the default) and
/// whether anything referenced it.
#[derive(Debug)]
pub(crate) struct ParamSlot {
    pub value: Option<ParamValue>,
    pub used: bool,
}

/// A param's value.
#[derive(Debug)]
pub(crate) enum ParamValue {
    /// A typed node: the default, or a given value typed like the default.
    Node(Node),
    /// A given value of a param without a default: typed where used.
    Given(ParamInput),
}

pub(crate) struct Cx<'o> {
    pub options: &'o CompileOptions,
    pub file: Arc<SourceFile>,
    pub diags: Vec<Diag>,
    pub params: HashMap<String, ParamSlot>,
    /// Rule id value nodes that repeat an earlier id, as (file, offset):
    /// found in the raw documents and reported once, before compiling.
    pub duplicate_ids: std::collections::HashSet<(usize, usize)>,
    /// Memory of every pattern compiled so far, against the set's budget.
    pub pattern_bytes: usize,
    pub pattern_budget_reported: bool,
    /// Diagnostics pushed so far about each file, against the cap on what
    /// a file shows (`diag::cap_per_file`).
    pushed: HashMap<*const SourceFile, usize>,
}

impl<'o> Cx<'o> {
    pub fn new(options: &'o CompileOptions, file: Arc<SourceFile>) -> Self {
        Self {
            options,
            file,
            diags: Vec::new(),
            params: HashMap::new(),
            duplicate_ids: std::collections::HashSet::new(),
            pattern_bytes: 0,
            pattern_budget_reported: false,
            pushed: HashMap::new(),
        }
    }

    /// Does the rule id at `span` of the current file repeat an earlier one?
    pub fn is_duplicate_id(&self, span: Span) -> bool {
        self.duplicate_ids
            .contains(&(Arc::as_ptr(&self.file) as usize, span.start))
    }

    /// Remember a repeated rule id (`file`, value span).
    pub fn note_duplicate_id(&mut self, file: &Arc<SourceFile>, span: Span) {
        self.duplicate_ids
            .insert((Arc::as_ptr(file) as usize, span.start));
    }

    /// A located error in the current file (not yet reported: see `push`).
    pub fn err(
        &self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Diag {
        Diag::error(code, message).at(&self.file, span, label)
    }

    /// A located warning in the current file (not yet reported: see `push`).
    pub fn warn(
        &self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Diag {
        Diag::warning(code, message).at(&self.file, span, label)
    }

    pub fn push(&mut self, diag: Diag) {
        if let Some(file) = diag.file() {
            *self.pushed.entry(Arc::as_ptr(file)).or_default() += 1;
        }
        self.diags.push(diag);
    }

    /// Whether a diagnostic about the current file will still be shown:
    /// past the cap it is only counted, so what is costly to work out for
    /// it (a "did you mean" among thousands of names) is left out.
    pub fn room(&self) -> bool {
        self.pushed
            .get(&Arc::as_ptr(&self.file))
            .is_none_or(|&n| n < crate::diag::LARGE_FILE)
    }

    /// A duration's text (`180d`, `6mo`) parsed and resolved against the
    /// run's `now` once, at load time, so evaluation compares timestamps.
    /// `what` names it in messages (`duration`, `` `grace` ``); `note` says
    /// where a param's value came from.
    pub fn duration_before(
        &mut self,
        span: Span,
        text: &str,
        what: &str,
        note: &str,
    ) -> Option<(Duration, Timestamp)> {
        let duration = match Duration::parse(text) {
            Ok(duration) => duration,
            Err(e) => {
                let diag = self
                    .err(
                        Code::InvalidDuration,
                        span,
                        format!("invalid {what}: {}{note}", e.message),
                        "invalid duration",
                    )
                    .with_help(e.help);
                self.push(diag);
                return None;
            }
        };
        let Some(threshold) = duration.before(self.options.now, &self.options.zone) else {
            let diag = self.err(
                Code::InvalidDuration,
                span,
                format!("{what} `{text}` reaches outside the supported calendar{note}"),
                "too long",
            );
            self.push(diag);
            return None;
        };
        Some((duration, threshold))
    }

    /// Report a wrong YAML type.
    pub fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        let diag = self.err(
            Code::WrongType,
            node.span,
            format!("{what} must be {expected}, found {}", node.type_name()),
            format!("expected {expected}"),
        );
        self.push(diag);
    }

    /// Read a mapping, reporting unknown and duplicate keys. Entries with
    /// unknown keys are left out of the result.
    pub fn mapping<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        known: &[&str],
    ) -> Option<Mapping<'n>> {
        let Some(entries) = node.as_map() else {
            self.wrong_type(node, what, "a mapping");
            return None;
        };
        let (unique, _) = self.unique_entries(entries, what, "remove one of them");
        let mut mapping = Mapping {
            span: node.span,
            entries: Vec::with_capacity(unique.len()),
        };
        for (name, key, value) in unique {
            if !known.contains(&name) {
                let suggestion = self
                    .room()
                    .then(|| did_you_mean(name, known.iter().copied()))
                    .flatten();
                let diag = self
                    .err(
                        Code::UnknownKey,
                        key.span,
                        format!("unknown key `{name}` in {what}"),
                        "unknown key",
                    )
                    .with_help(format!("the keys of {what} are: {}", known.join(", ")))
                    .suggest(suggestion);
                self.push(diag);
                continue;
            }
            mapping.entries.push((name, key, value));
        }
        Some(mapping)
    }

    /// The entries of a mapping with string keys, each key once, in file
    /// order. Non-string and repeated keys are reported (with `again_help` for
    /// a repeat) and left out; the flag is false if anything was reported.
    pub fn unique_entries<'n>(
        &mut self,
        entries: &'n [(Node, Node)],
        what: &str,
        again_help: &str,
    ) -> (Vec<(&'n str, &'n Node, &'n Node)>, bool) {
        let mut unique: Vec<(&'n str, &'n Node, &'n Node)> = Vec::with_capacity(entries.len());
        // Each key's first place: a lookup, not a search of the keys so far,
        // so a mapping of 50,000 keys costs 50,000 steps.
        let mut firsts: HashMap<&'n str, Span> = HashMap::with_capacity(entries.len());
        let mut ok = true;
        for (key, value) in entries {
            let Some(name) = key.as_str() else {
                let diag = self.err(
                    Code::WrongType,
                    key.span,
                    format!(
                        "a key of {what} must be a string, found {}",
                        key.type_name()
                    ),
                    "not a string key",
                );
                self.push(diag);
                ok = false;
                continue;
            };
            if let Some(first) = firsts.get(name) {
                let diag = self
                    .err(
                        Code::DuplicateKey,
                        key.span,
                        format!("`{name}` appears twice in {what}"),
                        "second here",
                    )
                    .also(*first, "first here")
                    .with_help(again_help);
                self.push(diag);
                ok = false;
                continue;
            }
            firsts.insert(name, key.span);
            unique.push((name, key, value));
        }
        (unique, ok)
    }

    /// A required or optional string value.
    pub fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.kind {
            NodeKind::Str(s) => Some(s.clone()),
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    /// A list of strings (a single string is not accepted: the spec's lists
    /// are lists, and silently wrapping would hide a typo in indentation).
    pub fn strings(&mut self, node: &Node, what: &str) -> Option<Vec<(String, Span)>> {
        let Some(items) = node.as_seq() else {
            self.wrong_type(node, what, "a list of strings");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match item.as_str() {
                Some(s) => out.push((s.to_owned(), item.span)),
                None => {
                    self.wrong_type(item, &format!("an item of {what}"), "a string");
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }
}

/// A mapping's known entries, in file order.
pub(crate) struct Mapping<'n> {
    pub span: Span,
    pub entries: Vec<(&'n str, &'n Node, &'n Node)>,
}

impl<'n> Mapping<'n> {
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(name, _, _)| *name == key)
            .map(|(_, _, v)| *v)
    }

    pub fn key(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(name, _, _)| *name == key)
            .map(|(_, k, _)| *k)
    }

    /// A required entry; reports `missing-key` at the mapping when absent.
    pub fn require(&self, cx: &mut Cx<'_>, key: &str, what: &str) -> Option<&'n Node> {
        let found = self.get(key);
        if found.is_none() {
            let span = self.entries.first().map_or(self.span, |(_, k, _)| k.span);
            let diag = cx.err(
                Code::MissingKey,
                span,
                format!("{what} has no `{key}`"),
                format!("`{key}` is required here"),
            );
            cx.push(diag);
        }
        found
    }
}
