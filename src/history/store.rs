//! The one storage trait both backends implement, and the rows that cross
//! it. A backend runs SQL and nothing else: which runs make a streak, what
//! counts as a fix and how the schema is migrated is decided once, above it
//! (`streak`, `schema`, `mod`), so SQLite and PostgreSQL cannot disagree.
//!
//! Times are Unix seconds (`i64`) everywhere in the database: ordered and
//! indexed as numbers, independent of any time zone.

use std::fmt;

/// What kind of failure a [`StoreError`] is: each becomes its own
/// diagnostic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The database could not do what was asked (I/O, SQL, connection).
    Failed,
    /// The database is not ours (not a SQLite database, or another
    /// program's): refused without touching it.
    Foreign,
    /// The database disagrees with itself (a run's finding rows do not
    /// match its stored counts): nothing read from it can be trusted.
    Inconsistent,
    /// The run belongs to another account than the label's earlier runs.
    OtherAccount,
}

/// A failure of the database, with a message that never holds a secret
/// (backends scrub passwords before they build one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    pub message: String,
    pub kind: ErrorKind,
    /// What to do about it, when the kind alone does not say.
    pub help: Option<String>,
}

impl StoreError {
    pub fn new(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Failed, message)
    }

    pub fn foreign(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Foreign, message)
    }

    pub fn inconsistent(message: impl Into<String>) -> Self {
        Self::of(ErrorKind::Inconsistent, message)
    }

    pub fn of(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind,
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Called with each finding's `(rule id, ImageId, status, first seen)`.
pub type EachStreak<'a> = dyn FnMut(&str, Option<&str>, &str, i64) + 'a;

/// Findings by status and violations by severity, for a run or a rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub violations_error: i64,
    pub violations_warning: i64,
    pub violations_info: i64,
    pub indeterminate: i64,
    pub grace: i64,
    pub waived: i64,
    pub baselined: i64,
    /// Findings that failed the gate under the run's `--fail-on`.
    pub failing: i64,
}

impl Counts {
    pub fn violations(&self) -> i64 {
        self.violations_error + self.violations_warning + self.violations_info
    }
}

/// One run to record, with everything that goes into its transaction.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub time: i64,
    pub tool_version: String,
    pub account: String,
    /// `snapshot` or `api`.
    pub source: String,
    /// The snapshot path as given (`-` for stdin); none for the API.
    pub source_path: Option<String>,
    pub endpoint: Option<String>,
    /// The API filters as JSON (`[]` when none).
    pub filters: String,
    /// sha256 over the policy files' names and contents.
    pub policy_digest: String,
    pub fail_on: String,
    pub images: i64,
    pub rules: i64,
    pub counts: Counts,
    /// `pass` or `fail`.
    pub verdict: String,
    pub exit_code: i64,
    /// The run checked a selection (`--image`, `--filter`, a filtered
    /// snapshot), not the whole account.
    pub narrowed: bool,
    /// The ImageIds a narrowed run checked; `None` for a whole account.
    pub checked_images: Option<Vec<String>>,
    /// Who the account behind the run is, without a secret
    /// (`history::account`); `None` when its images do not say.
    pub account_fingerprint: Option<String>,
    /// One row per rule of the policy, zeros included.
    pub rule_counts: Vec<RuleCountRecord>,
}

/// One finding of a run being recorded, borrowed from where it lives (the
/// report): recording never holds a second copy of a run's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewFinding<'a> {
    pub rule: &'a str,
    /// `None` for a set-level finding.
    pub image: Option<&'a str>,
    pub status: &'a str,
    pub severity: &'a str,
    pub message: &'a str,
    /// The start of the finding's streak (the run's time when new).
    pub first_seen: i64,
}

/// A run's findings, handed out one at a time, in order.
pub trait FindingSource {
    /// How many there are.
    fn count(&self) -> usize;
    /// Each finding in order until `each` returns `false`.
    fn each<'s>(&'s self, each: &mut dyn FnMut(NewFinding<'s>) -> bool);
    /// Each finding's rule id and ImageId, in any order: all that settling
    /// the streaks needs (`streak::settle`), and cheaper than [`each`]
    /// where the rows' order costs reads all over memory.
    ///
    /// [`each`]: FindingSource::each
    fn each_key<'s>(&'s self, each: &mut dyn FnMut(&'s str, Option<&'s str>)) {
        self.each(&mut |f| {
            each(f.rule, f.image);
            true
        });
    }
}

impl FindingSource for Vec<FindingRecord> {
    fn count(&self) -> usize {
        self.len()
    }

    fn each<'s>(&'s self, each: &mut dyn FnMut(NewFinding<'s>) -> bool) {
        for f in self {
            let row = NewFinding {
                rule: &f.rule,
                image: f.image.as_deref(),
                status: &f.status,
                severity: &f.severity,
                message: &f.message,
                first_seen: f.first_seen,
            };
            if !each(row) {
                return;
            }
        }
    }
}

/// Hand `findings` to `insert` in batches of at most `size` rows (borrowed,
/// gathered one batch at a time), stopping at the first error.
pub(crate) fn in_batches<'s>(
    findings: &'s dyn FindingSource,
    size: usize,
    insert: &mut dyn FnMut(&[NewFinding<'s>]) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut batch: Vec<NewFinding<'s>> = Vec::with_capacity(size.min(findings.count()));
    let mut failed = None;
    findings.each(&mut |row| {
        batch.push(row);
        if batch.len() == size {
            if let Err(e) = insert(&batch) {
                failed = Some(e);
                return false;
            }
            batch.clear();
        }
        true
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if batch.is_empty() {
        Ok(())
    } else {
        insert(&batch)
    }
}

/// One finding of a run, as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FindingRecord {
    pub rule: String,
    /// `None` for a set-level finding.
    pub image: Option<String>,
    pub status: String,
    pub severity: String,
    pub message: String,
    /// The start of the finding's streak (this run's time when new).
    pub first_seen: i64,
}

/// A rule's findings in one run, for trends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCountRecord {
    pub rule: String,
    pub severity: String,
    pub violations: i64,
    pub indeterminate: i64,
    pub grace: i64,
    pub waived: i64,
    pub baselined: i64,
}

impl RuleCountRecord {
    /// Violations, in grace or not: what a rule's trend shows (indeterminate,
    /// waived and baselined findings are counted apart).
    pub fn violating(&self) -> i64 {
        self.violations + self.grace
    }
}

/// A streak a run ends (its account and time are the run's), lent for the
/// time it takes to insert it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixRow<'a> {
    pub rule: &'a str,
    pub image: Option<&'a str>,
    pub first_seen: i64,
}

/// The streaks a run ends, handed out one at a time: a run that ends
/// hundreds of thousands of them never holds them as records.
pub trait FixSource {
    /// Each fix in turn, stopping at the first error `each` returns.
    fn each(&self, each: &mut dyn FnMut(FixRow<'_>) -> StoreResult<()>) -> StoreResult<()>;
}

/// Where a run sits in its account's order: by time, then by id (two runs
/// with the same `--now` keep the order they were recorded in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RunRef {
    pub time: i64,
    pub id: i64,
}

/// What the state of an account is planned from: one recorded run, without
/// its findings (`history::plan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunIndexRow {
    pub at: RunRef,
    pub narrowed: bool,
    pub images: i64,
    /// How many rules the run's policy had: one per-rule count row each.
    pub rules: i64,
    /// Its findings, by the run's own counts (every status).
    pub findings: i64,
    pub account_fingerprint: Option<String>,
}

/// One per-rule count row, as the plan reads it: the run, the rule and how
/// many finding rows the run holds for it (every status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleIndexRow {
    pub run: i64,
    pub rule: String,
    pub findings: i64,
}

/// A recorded run as `history` lists it.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub time: i64,
    pub tool_version: String,
    pub account: String,
    pub source: String,
    pub endpoint: Option<String>,
    pub policy_digest: String,
    pub images: i64,
    pub counts: Counts,
    pub verdict: String,
    pub exit_code: i64,
    pub narrowed: bool,
}

/// Time to fix of one rule: how many streaks ended, their total and worst
/// length in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixStats {
    pub rule: String,
    pub fixed: i64,
    pub total_seconds: i64,
    pub worst_seconds: i64,
}

/// What a prune deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub runs: i64,
    pub findings: i64,
}

/// A history database. Every method runs inside the transaction opened by
/// `begin_read`/`begin_write` (and ended by `commit`/`rollback`), except
/// the schema methods, which `schema::open` calls in its own. `Send`: a
/// check reads the open streaks on a thread of their own while its images
/// load, and closes the database on one while its reports are written.
pub trait Store: Send + super::actions::ActionStore {
    /// `SQLite file PATH` or `PostgreSQL postgres://user@host/db` (never a
    /// password), for messages.
    fn describe(&self) -> String;

    /// A consistent snapshot for reading.
    fn begin_read(&mut self) -> StoreResult<()>;
    /// A write transaction; writers of one account (SQLite: of the whole
    /// file) are serialised, so streaks and fixes are computed on the state
    /// the run is added to.
    fn begin_write(&mut self, account: &str) -> StoreResult<()>;
    /// The schema transaction: one migrator at a time.
    fn begin_schema(&mut self) -> StoreResult<()>;
    fn commit(&mut self) -> StoreResult<()>;
    /// Undo the open transaction; failures are ignored (the connection
    /// closes, and the database discards what was not committed).
    fn rollback(&mut self);

    /// Settings a database this version may write needs on every open
    /// (SQLite: WAL mode); called only after its schema version was read and
    /// found not newer.
    fn configure(&mut self) -> StoreResult<()> {
        Ok(())
    }

    /// The schema version recorded in the database; `None` when it holds
    /// no ecmguard history yet. Errors with `foreign` when it is not ours.
    fn schema_version(&mut self) -> StoreResult<Option<i64>>;
    /// Run DDL statements and record `version`.
    fn migrate(&mut self, statements: &[String], version: i64) -> StoreResult<()>;

    /// Every run of `account` at or before `until`, oldest first, without
    /// findings: what the open state is planned from.
    fn run_index(&mut self, account: &str, until: i64) -> StoreResult<Vec<RunIndexRow>>;
    /// The per-rule count rows of those runs, in no particular order.
    fn rule_index(&mut self, account: &str, until: i64) -> StoreResult<Vec<RuleIndexRow>>;
    /// The ImageIds a narrowed run checked (empty for a whole-account run).
    fn checked_of(&mut self, run: i64) -> StoreResult<Vec<String>>;
    /// Every finding of one run, handed to `each` one at a time as it is
    /// read (never all of a run at once).
    fn each_finding_of(&mut self, run: i64, each: &mut dyn FnMut(FindingRecord))
    -> StoreResult<()>;
    /// The streak of every finding of one run — `(rule id, ImageId, status,
    /// first seen)` — handed to `each` as borrowed text: what a check reads
    /// before it evaluates, so it copies nothing it does not keep.
    fn streaks_of(&mut self, run: i64, each: &mut EachStreak<'_>) -> StoreResult<()>;
    /// The id of the latest run of `account` recorded, whatever its time:
    /// it changes when a run of the account lands (ids only grow).
    fn latest_run_id(&mut self, account: &str) -> StoreResult<Option<i64>>;

    /// Insert the run row and return its id.
    fn insert_run(&mut self, run: &RunRecord) -> StoreResult<i64>;
    /// Insert the run's findings (batched: one prepared statement, or one
    /// round trip of arrays), taking them one at a time from `findings`.
    fn insert_findings(&mut self, run: i64, findings: &dyn FindingSource) -> StoreResult<()>;
    fn insert_rule_counts(&mut self, run: i64, counts: &[RuleCountRecord]) -> StoreResult<()>;
    /// Insert the streaks `run` (of `account`, at `fixed_at`) ended.
    fn insert_fixes(
        &mut self,
        run: i64,
        account: &str,
        fixed_at: i64,
        fixes: &dyn FixSource,
    ) -> StoreResult<()>;

    /// The accounts with at least one run.
    fn accounts(&mut self) -> StoreResult<Vec<String>>;
    /// Runs at or after `since` (all when `None`) and at or before `until`,
    /// of one account or all, oldest first.
    fn runs(
        &mut self,
        account: Option<&str>,
        since: Option<i64>,
        until: i64,
    ) -> StoreResult<Vec<RunRow>>;
    /// The per-rule counts of those runs: `(run id, counts)`.
    fn rule_counts(
        &mut self,
        account: Option<&str>,
        since: Option<i64>,
        until: i64,
    ) -> StoreResult<Vec<(i64, RuleCountRecord)>>;
    /// Time to fix per rule, over streaks that ended in the window.
    fn fix_stats(
        &mut self,
        account: Option<&str>,
        since: Option<i64>,
        until: i64,
    ) -> StoreResult<Vec<FixStats>>;

    /// Delete one run with its findings, counts and fixes; returns how many
    /// finding rows went with it.
    fn delete_run(&mut self, run: i64) -> StoreResult<i64>;
}
