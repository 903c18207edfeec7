//! Compliance history (docs/history.md): runs and their findings recorded
//! in a database the user owns — a SQLite file, or a shared PostgreSQL
//! database — so a check knows since when each finding has been open, rules
//! can grant a grace period, and `ecmguard history` shows trends and time to
//! fix.
//!
//! One storage trait ([`store::Store`]) with two backends (`sqlite`,
//! `postgres`) that only run SQL written once (`sql`); the schema and its
//! migrations (`schema`), streaks and fixes (`streak`), what a run records
//! (`record`) and what `history` reports (`summary`, `render`, `html`) are
//! shared. Every failure is a [`Diag`]; the command layer maps it to exit 2.
//! Nothing here prints, and no credential, token or password is ever
//! written to the database or shown in a message.

pub mod account;
pub mod actions;
pub mod actions_view;
pub mod html;
pub mod open_list;
pub mod pgpass;
pub mod plan;
pub mod postgres;
pub mod record;
pub mod render;
pub mod rows;
pub mod schema;
pub mod sql;
pub mod sqlite;
pub mod store;
pub mod streak;
pub mod summary;

pub(crate) use crate::memory::release_freed;

use std::path::PathBuf;

use jiff::Timestamp;

use crate::diag::{Code, Diag};
use crate::eval::OpenSince;
use account::Fingerprint;
use schema::{Dialect, OpenError};
use store::{ErrorKind, FindingSource, NewFinding, Pruned, RunRecord, Store, StoreError};

/// Where the history lives: `--history DB`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A SQLite file, created on first use.
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL (it may hold a password).
    Postgres(String),
}

impl Target {
    /// A path, or a PostgreSQL URL. Other URL schemes are refused rather
    /// than taken for file names.
    pub fn parse(text: &str) -> Result<Target, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("--history needs a SQLite file path or a postgres:// URL".to_owned());
        }
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(Target::Postgres(trimmed.to_owned()));
        }
        if let Some((scheme, _)) = trimmed.split_once("://")
            && !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+')
        {
            return Err(format!(
                "--history: `{scheme}://` is not supported: give a SQLite file path or a postgres:// URL"
            ));
        }
        Ok(Target::Sqlite(PathBuf::from(text)))
    }

    /// For messages: the path, or the URL without its password.
    pub fn label(&self) -> String {
        match self {
            Target::Sqlite(path) => format!("SQLite file {}", path.display()),
            Target::Postgres(url) => format!("PostgreSQL {}", postgres::redact(url)),
        }
    }
}

/// How to open a history.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Create a SQLite file that does not exist (`check`); `history` and
    /// `prune` need one that does.
    pub create: bool,
    /// `PGPASSWORD`, used when a PostgreSQL URL has no password.
    pub pg_password: Option<String>,
    /// libpq's password file (`PGPASSFILE`, else `~/.pgpass`), used when
    /// neither the URL nor `PGPASSWORD` has a password.
    pub pg_passfile: Option<PathBuf>,
}

/// What a check read from the history before it evaluated: since when each
/// finding of its account has been open, and the marker that tells, at
/// write time, whether another run of the account has landed since.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub open: OpenSince,
    /// Every owner the account's recorded runs have had.
    owners: Fingerprint,
    /// Streaks whose stored first-seen time was after the run that recorded
    /// them, clamped to that run's time.
    clamped: usize,
    account: String,
    until: i64,
    marker: Option<i64>,
}

impl Facts {
    /// Whether a run of this account whose images have the owners `run`
    /// may continue its streaks (`account::admit`): exit 2 when not.
    pub fn admit(&self, run: &Fingerprint, whole_account: bool) -> Result<(), Diag> {
        account::admit(&self.account, &self.owners, run, whole_account)
            .map_err(|e| diag_of(None, &e, "the history cannot take this run"))
    }

    /// The warning for first-seen times that were clamped, if any.
    pub(crate) fn clamped_warning(&self) -> Option<Diag> {
        (self.clamped > 0).then(|| {
            Diag::warning(
                Code::HistoryClamped,
                format!(
                    "the history holds {} that began after the run that recorded {}: {} treated as open since that run",
                    crate::text::count(self.clamped as u64, "streak", "streaks"),
                    if self.clamped == 1 { "it" } else { "them" },
                    if self.clamped == 1 { "it is" } else { "they are" },
                ),
            )
            .with_help("a first-seen time in the future cannot be true (a poisoned cache or a clock far ahead); check where the history file came from")
        })
    }
}

/// An open history database at the current schema version.
pub struct History {
    store: Box<dyn Store>,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.store.describe())
    }
}

impl History {
    /// Open (or create) the database and bring its schema forward. A
    /// database written by a newer ecmguard is refused before anything is
    /// written to it.
    pub fn open(target: &Target, options: &OpenOptions) -> Result<History, Diag> {
        let (store, dialect): (Box<dyn Store>, Dialect) = match target {
            Target::Sqlite(path) => (
                Box::new(
                    sqlite::Sqlite::open(path, options.create)
                        .map_err(|e| open_error(target, &e))?,
                ),
                Dialect::Sqlite,
            ),
            Target::Postgres(url) => (
                Box::new(
                    postgres::Postgres::connect(
                        url,
                        options.pg_password.as_deref(),
                        options.pg_passfile.as_deref(),
                    )
                    .map_err(|e| open_error(target, &e))?,
                ),
                Dialect::Postgres,
            ),
        };
        let mut history = History { store };
        match schema::open(history.store.as_mut(), dialect) {
            Ok(()) => Ok(history),
            Err(OpenError::Newer { found }) => Err(Diag::error(
                Code::HistoryNewerSchema,
                format!(
                    "{}: schema version {found} was written by a newer ecmguard; this one ({}) reads up to version {}",
                    history.store.describe(),
                    env!("CARGO_PKG_VERSION"),
                    schema::VERSION
                ),
            )
            .with_help("upgrade ecmguard to use this history; the database was left untouched")),
            Err(OpenError::Store(e)) => Err(open_error(target, &e)),
        }
    }

    /// `SQLite file PATH` or `PostgreSQL URL` (no password).
    pub(crate) fn describe(&self) -> String {
        self.store.describe()
    }

    /// Since when each finding of `account` has been open, as of `now`.
    pub(crate) fn open_since(&mut self, account: &str, now: Timestamp) -> Result<Facts, Diag> {
        let store = self.store.as_mut();
        store.begin_read().map_err(|e| read_error(store, &e))?;
        let until = now.as_second();
        let read = |store: &mut dyn Store| -> Result<Facts, StoreError> {
            let marker = store.latest_run_id(account)?;
            let (open, replayed) = streak::open_since(store, account, until)?;
            Ok(Facts {
                marker,
                open,
                owners: replayed.owners,
                clamped: replayed.clamped,
                account: account.to_owned(),
                until,
            })
        };
        let facts = read(store);
        store.rollback();
        facts.map_err(|e| read_error(store, &e))
    }

    /// Record one run in one transaction: the run, its findings, its
    /// per-rule counts and the streaks it ends. `facts` is what the run read
    /// before evaluating (reused when no run of the account landed since).
    /// It is taken, not borrowed: the streaks this run continues are struck
    /// off it before the write, so what is left are the ones it ends, and
    /// the rest is freed before SQLite's pages are written.
    /// `before_commit` runs inside the transaction just before it commits
    /// (tests use it to kill a run mid-write). Returns the new run's id.
    pub fn record(
        &mut self,
        run: &RunRecord,
        findings: &dyn FindingSource,
        facts: Option<Facts>,
        before_commit: &mut dyn FnMut(),
    ) -> Result<i64, Diag> {
        // Before the write lock: the streaks this run continues are struck
        // off what it read (and freed), leaving the ones it may end.
        let facts = facts.map(|facts| Facts {
            open: streak::settle(facts.open, findings),
            ..facts
        });
        crate::memory::release_freed();
        let store = self.store.as_mut();
        store
            .begin_write(&run.account)
            .map_err(|e| write_error(store, &e))?;
        match write(store, run, findings, facts, before_commit) {
            Ok(id) => {
                store.commit().map_err(|e| write_error(store, &e))?;
                Ok(id)
            }
            Err(e) => {
                store.rollback();
                Err(write_error(store, &e))
            }
        }
    }

    /// What `ecmguard history` shows.
    pub fn summary(&mut self, query: &summary::Query) -> Result<summary::Summary, Diag> {
        let store = self.store.as_mut();
        store.begin_read().map_err(|e| read_error(store, &e))?;
        let result = summary::Summary::load(store, query);
        store.rollback();
        result.map_err(|e| read_error(store, &e))
    }

    /// Delete runs recorded before `before`, keeping every run an open
    /// streak, a grace decision or an account's identity still needs, as of
    /// the latest recorded run (docs/history.md, "Pruning").
    pub fn prune(&mut self, before: Timestamp) -> Result<Pruned, Diag> {
        let store = self.store.as_mut();
        store
            .begin_write("prune")
            .map_err(|e| write_error(store, &e))?;
        match prune(store, before.as_second()) {
            Ok(pruned) => {
                store.commit().map_err(|e| write_error(store, &e))?;
                Ok(pruned)
            }
            Err(e) => {
                store.rollback();
                Err(write_error(store, &e))
            }
        }
    }
}

fn prune(store: &mut dyn Store, before: i64) -> Result<Pruned, StoreError> {
    let mut pruned = Pruned::default();
    for account in store.accounts()? {
        // Planned over everything recorded: a run recorded with a later
        // `--now` is part of the state the next check reads.
        let plan = plan::Plan::build(store, &account, i64::MAX)?;
        let needed = plan.needed();
        for run in plan.runs.iter().filter(|r| r.at.time < before) {
            if !needed.contains(&run.at.id) {
                pruned.findings += store.delete_run(run.at.id)?;
                pruned.runs += 1;
            }
        }
    }
    Ok(pruned)
}

fn write(
    store: &mut dyn Store,
    run: &RunRecord,
    findings: &dyn FindingSource,
    facts: Option<Facts>,
    before_commit: &mut dyn FnMut(),
) -> Result<i64, StoreError> {
    // The state this run is added to, as it stands under the write lock.
    // What the run read before evaluating is still it unless another run of
    // the account landed since (its id would be the latest now).
    let marker = store.latest_run_id(&run.account)?;
    let unchanged =
        facts.filter(|f| f.account == run.account && f.until == run.time && f.marker == marker);
    let (id, left) = match unchanged {
        // The findings' first-seen times were computed from this state, and
        // what the run left of it is what it may end.
        Some(facts) => {
            let id = store.insert_run(run)?;
            store.insert_findings(id, findings)?;
            (id, facts.open)
        }
        None => {
            // A run that landed meanwhile is taken into account, so
            // concurrent runs of one account never split a streak, and a
            // run of another account under the label is refused here too.
            let (open, replayed) = streak::open_since(store, &run.account, run.time)?;
            let mut fingerprint = Fingerprint::default();
            if let Some(stored) = &run.account_fingerprint {
                fingerprint.add_stored(stored);
            }
            account::admit(
                &run.account,
                &replayed.owners,
                &fingerprint,
                !run.narrowed && run.images > 0,
            )?;
            let id = store.insert_run(run)?;
            // The first-seen times the report was given are recomputed from
            // the state as it is now, finding by finding.
            let restated = Restated {
                findings,
                open: &open,
                time: run.time,
            };
            store.insert_findings(id, &restated)?;
            (id, streak::settle(open, findings))
        }
    };
    store.insert_rule_counts(id, &run.rule_counts)?;
    store.insert_fixes(
        id,
        &run.account,
        run.time,
        &streak::Fixes { left: &left, run },
    )?;
    before_commit();
    Ok(id)
}

/// A run's findings with their first-seen times taken from `open` (the
/// state under the write lock) instead of the ones computed before it.
struct Restated<'a> {
    findings: &'a dyn FindingSource,
    open: &'a OpenSince,
    time: i64,
}

impl FindingSource for Restated<'_> {
    fn count(&self) -> usize {
        self.findings.count()
    }

    fn each<'s>(&'s self, each: &mut dyn FnMut(NewFinding<'s>) -> bool) {
        self.findings.each(&mut |row| {
            let first_seen = self
                .open
                .get(row.rule, row.image)
                .map_or(self.time, |at| at.as_second().min(self.time));
            each(NewFinding { first_seen, ..row })
        });
    }

    fn each_key<'s>(&'s self, each: &mut dyn FnMut(&'s str, Option<&'s str>)) {
        self.findings.each_key(each);
    }
}

fn open_error(target: &Target, error: &StoreError) -> Diag {
    match error.kind {
        ErrorKind::Foreign => Diag::error(
            Code::HistoryForeign,
            format!(
                "{} is not an ecmguard history: {}",
                target.label(),
                error.message
            ),
        )
        .with_help("give --history a new file name (it is created on first use) or an ecmguard history; the file was left untouched"),
        ErrorKind::Failed => Diag::error(
            Code::HistoryOpen,
            format!("cannot open the history ({}): {}", target.label(), error.message),
        )
        .with_help(error.help.clone().unwrap_or_else(|| match target {
            Target::Sqlite(_) => "check that the directory exists and is writable (the file is created on first use)".to_owned(),
            Target::Postgres(_) => "check the URL, that the server is reachable, and the user's password (PGPASSWORD or ~/.pgpass is used when the URL has none)".to_owned(),
        })),
        ErrorKind::Inconsistent | ErrorKind::OtherAccount => {
            diag_of(Some(&target.label()), error, "cannot open the history")
        }
    }
}

/// A store error as a diagnostic: its own code for a database that
/// disagrees with itself or a run of another account; otherwise the code
/// of what was being done (`failed`).
pub(crate) fn diag_of(database: Option<&str>, error: &StoreError, doing: &str) -> Diag {
    let (code, fallback) = match error.kind {
        ErrorKind::Inconsistent => (Code::HistoryInconsistent, None),
        ErrorKind::OtherAccount => (Code::HistoryOtherAccount, None),
        ErrorKind::Foreign => (Code::HistoryForeign, None),
        ErrorKind::Failed => (Code::HistoryRead, None::<&str>),
    };
    let message = match database {
        Some(database) => format!("{doing} ({database}): {}", error.message),
        None => format!("{doing}: {}", error.message),
    };
    let diag = Diag::error(code, message);
    match error.help.as_deref().or(fallback) {
        Some(help) => diag.with_help(help.to_owned()),
        None => diag,
    }
}

pub(crate) fn read_error(store: &dyn Store, error: &StoreError) -> Diag {
    diag_of(Some(&store.describe()), error, "reading the history failed")
}

fn write_error(store: &dyn Store, error: &StoreError) -> Diag {
    match error.kind {
        ErrorKind::Failed | ErrorKind::Foreign => Diag::error(
            Code::HistoryWrite,
            format!(
                "the run could not be recorded in the history ({}): {}",
                store.describe(),
                error.message
            ),
        )
        .with_help("nothing of this run was recorded; the check exits 2 so that a lost record never passes for a green gate"),
        ErrorKind::Inconsistent | ErrorKind::OtherAccount => {
            diag_of(Some(&store.describe()), error, "the run was not recorded")
        }
    }
}

/// The ImageIds a narrowed run checked, as stored (a JSON array).
pub(crate) fn checked_to_json(ids: Option<&[String]>) -> Option<String> {
    ids.map(|ids| serde_json::Value::from(ids.to_vec()).to_string())
}

pub(crate) fn checked_from_json(text: Option<&str>) -> Result<Vec<String>, StoreError> {
    match text {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            StoreError::new(format!(
                "a narrowed run's checked images are not a JSON list of ImageIds: {e}"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_paths_or_postgres_urls() {
        assert_eq!(
            Target::parse("history.db").unwrap(),
            Target::Sqlite("history.db".into())
        );
        assert_eq!(
            Target::parse("postgresql://u:p@h/db").unwrap(),
            Target::Postgres("postgresql://u:p@h/db".into())
        );
        assert!(matches!(
            Target::parse("POSTGRES://h/db").unwrap(),
            Target::Postgres(_)
        ));
        assert!(
            Target::parse("mysql://h/db")
                .unwrap_err()
                .contains("mysql://")
        );
        assert!(Target::parse(" ").is_err());
        assert_eq!(
            Target::Postgres("postgres://u:secret@h/db".into()).label(),
            "PostgreSQL postgres://u:***@h/db"
        );
    }
}
