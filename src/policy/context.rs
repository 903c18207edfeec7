//! The validation context: the file being read, the diagnostics collected so
//! far, the run's clock and zone, params. It reads its files with the one
//! YAML reader (`read`), in the policy language's words.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;

use crate::diag::Code;
use crate::diag::Diag;
use crate::policy::duration::Duration;
use crate::policy::inputs::ParamInput;
use crate::policy::read::{self, Dialect, Read};
use crate::policy::yaml::Node;
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
    pub(crate) fn is_duplicate_id(&self, span: Span) -> bool {
        self.duplicate_ids
            .contains(&(Arc::as_ptr(&self.file) as usize, span.start))
    }

    /// Remember a repeated rule id (`file`, value span).
    pub(crate) fn note_duplicate_id(&mut self, file: &Arc<SourceFile>, span: Span) {
        self.duplicate_ids
            .insert((Arc::as_ptr(file) as usize, span.start));
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

    /// A duration's text (`180d`, `6mo`) parsed and resolved against the
    /// run's `now` once, at load time, so evaluation compares timestamps.
    /// `what` names it in messages (`duration`, `` `grace` ``); `note` says
    /// where a param's value came from.
    pub(crate) fn duration_before(
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
}

impl Read for Cx<'_> {
    fn file(&self) -> &Arc<SourceFile> {
        &self.file
    }

    fn dialect(&self) -> &Dialect {
        &read::POLICY
    }

    fn push(&mut self, diag: Diag) {
        if let Some(file) = diag.file() {
            *self.pushed.entry(Arc::as_ptr(file)).or_default() += 1;
        }
        self.diags.push(diag);
    }

    /// Whether a diagnostic about the current file will still be shown.
    fn room(&self) -> bool {
        self.pushed
            .get(&Arc::as_ptr(&self.file))
            .is_none_or(|&n| n < crate::diag::LARGE_FILE)
    }
}
