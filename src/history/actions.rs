//! What `ecmguard apply --history` records: one row per apply (`ecmguard_applies`: when,
//! which account, which plan, how it ended) and one per action it took or did not take
//! (`ecmguard_actions`: the action, ImageId, rule, old and new value, outcome, reason, API
//! code, `RequestId`, time); the schema step that adds them (version 3), the SQL both
//! backends run (written once, as `sql.rs` does), and what `ecmguard history` reads back.
//!
//! An apply is not a check: it evaluates nothing, so it never starts, continues or ends a
//! streak, and its rows live apart from the runs'. It follows the runs' conventions all the
//! same: the account label and its fingerprint (a label's applies and runs must be one
//! account), the per-account write lock, one transaction per apply, no secret stored.

use rusqlite::params;

use super::History;
use super::account::{self, Fingerprint};
use super::postgres::Postgres;
use super::rows::Columns;
use super::schema::Dialect;
use super::sql::for_sqlite;
use super::sqlite::Sqlite;
use super::store::{Store, StoreError, StoreResult};
use crate::diag::{Code, Diag};

/// The schema version that adds the applies and their actions.
pub(crate) const SCHEMA_VERSION: i64 = 3;

/// Version 3: the applies and their actions. New tables only: the runs' tables, and so
/// every streak, are untouched by it.
pub(crate) fn version_3(dialect: Dialect) -> Vec<String> {
    let id = dialect.id_column();
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS ecmguard_applies (
                {id},
                time BIGINT NOT NULL,
                finished BIGINT NOT NULL,
                tool_version TEXT NOT NULL,
                account TEXT NOT NULL,
                account_fingerprint TEXT,
                endpoint TEXT NOT NULL,
                plan TEXT,
                plan_digest TEXT,
                stopped TEXT,
                exit_code BIGINT NOT NULL
            )"
        ),
        // "Applies of account A by time", as for the runs.
        "CREATE INDEX IF NOT EXISTS ecmguard_applies_account_time ON ecmguard_applies (account, time, id)"
            .to_owned(),
        "CREATE TABLE IF NOT EXISTS ecmguard_actions (
            apply_id BIGINT NOT NULL REFERENCES ecmguard_applies (id) ON DELETE CASCADE,
            position BIGINT NOT NULL,
            action TEXT NOT NULL,
            image_id TEXT NOT NULL,
            rule_id TEXT NOT NULL,
            old_value TEXT,
            new_value TEXT,
            outcome TEXT NOT NULL,
            reason TEXT,
            code TEXT,
            request_id TEXT,
            time BIGINT NOT NULL,
            PRIMARY KEY (apply_id, position)
        )"
        .to_owned(),
        // "What was done to image I": every action on it, across applies.
        "CREATE INDEX IF NOT EXISTS ecmguard_actions_image ON ecmguard_actions (image_id)"
            .to_owned(),
    ]
}

const INSERT_APPLY: &str = "INSERT INTO ecmguard_applies (time, finished, tool_version, account, \
     account_fingerprint, endpoint, plan, plan_digest, stopped, exit_code) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id";

const INSERT_ACTION: &str = "INSERT INTO ecmguard_actions (apply_id, position, action, image_id, \
     rule_id, old_value, new_value, outcome, reason, code, request_id, time) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

const APPLIES: &str = "SELECT id, time, finished, tool_version, account, account_fingerprint, \
     endpoint, plan, plan_digest, stopped, exit_code FROM ecmguard_applies \
     WHERE (CAST($1 AS TEXT) IS NULL OR account = $1) AND (CAST($2 AS BIGINT) IS NULL OR time >= $2) \
     AND time <= $3 ORDER BY time, id";

const ACTIONS: &str = "SELECT a.apply_id, a.position, a.action, a.image_id, a.rule_id, a.old_value, \
     a.new_value, a.outcome, a.reason, a.code, a.request_id, a.time \
     FROM ecmguard_actions a JOIN ecmguard_applies p ON p.id = a.apply_id \
     WHERE (CAST($1 AS TEXT) IS NULL OR p.account = $1) AND (CAST($2 AS BIGINT) IS NULL OR p.time >= $2) \
     AND p.time <= $3 ORDER BY p.time, p.id, a.position";

/// Every owner a label's runs and applies have had: who the label's account is.
const LABEL_OWNERS: &str = "SELECT account_fingerprint FROM ecmguard_runs \
     WHERE account = $1 AND account_fingerprint IS NOT NULL \
     UNION SELECT account_fingerprint FROM ecmguard_applies \
     WHERE account = $1 AND account_fingerprint IS NOT NULL";

/// Deleting the applies recorded before `$1`, children first.
const PRUNE: [&str; 2] = [
    "DELETE FROM ecmguard_actions WHERE apply_id IN (SELECT id FROM ecmguard_applies WHERE time < $1)",
    "DELETE FROM ecmguard_applies WHERE time < $1",
];

/// One apply to record. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyRecord {
    pub time: i64,
    pub finished: i64,
    pub tool_version: String,
    pub account: String,
    /// The fingerprint of the account the apply reached (`history::account`).
    pub account_fingerprint: Option<String>,
    pub endpoint: String,
    /// The plan file as given; `None` when the apply planned itself (`apply` without a plan).
    pub plan: Option<String>,
    pub plan_digest: Option<String>,
    /// Why the apply stopped before its end, if it did.
    pub stopped: Option<String>,
    pub exit_code: i64,
    /// In the plan's order.
    pub actions: Vec<ActionRecord>,
}

/// One action of an apply, with its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRecord {
    /// Its position in the plan (0-based).
    pub position: i64,
    /// `delete`, `rename`, `describe`.
    pub action: String,
    pub image_id: String,
    pub rule: String,
    /// The value the plan saw: the name a rename replaces, the description a describe
    /// replaces, the name of a deleted image.
    pub old_value: Option<String>,
    /// The new name or description (none for a delete).
    pub new_value: Option<String>,
    /// `done`, `already_done`, `skipped_stale`, `skipped_in_use`, `failed`, `not_attempted`.
    pub outcome: String,
    pub reason: Option<String>,
    /// The API error code, when the service refused.
    pub code: Option<String>,
    pub request_id: Option<String>,
    pub time: i64,
}

/// A recorded apply as `ecmguard history` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyRow {
    pub id: i64,
    pub record: ApplyRecord,
}

impl ApplyRow {
    /// How many of its actions ended with `outcome`.
    pub fn count(&self, outcome: &str) -> usize {
        self.record
            .actions
            .iter()
            .filter(|a| a.outcome == outcome)
            .count()
    }
}

/// Which applies `ecmguard history` lists: the window of its runs.
#[derive(Debug, Clone, Default)]
pub struct ApplyQuery {
    pub account: Option<String>,
    pub since: Option<i64>,
    pub until: i64,
}

/// What a backend does for applies: SQL only, as [`Store`] (whose supertrait this is).
pub trait ActionStore {
    fn insert_apply(&mut self, apply: &ApplyRecord) -> StoreResult<i64>;
    fn insert_action(&mut self, apply: i64, action: &ActionRecord) -> StoreResult<()>;
    /// The applies of the window, oldest first, without their actions.
    fn applies(&mut self, query: &ApplyQuery) -> StoreResult<Vec<ApplyRow>>;
    /// The actions of the window's applies: `(apply id, action)`, in order.
    fn actions(&mut self, query: &ApplyQuery) -> StoreResult<Vec<(i64, ActionRecord)>>;
    /// Every fingerprint the label's runs and applies have had.
    fn label_owners(&mut self, account: &str) -> StoreResult<Vec<String>>;
    /// Delete the applies recorded before `before`; returns how many.
    fn prune_applies(&mut self, before: i64) -> StoreResult<i64>;
}

/// `APPLIES`, by column position.
fn apply_row<R: Columns>(row: &R) -> Result<ApplyRow, R::Error> {
    Ok(ApplyRow {
        id: row.int(0)?,
        record: ApplyRecord {
            time: row.int(1)?,
            finished: row.int(2)?,
            tool_version: row.text(3)?,
            account: row.text(4)?,
            account_fingerprint: row.opt_text(5)?,
            endpoint: row.text(6)?,
            plan: row.opt_text(7)?,
            plan_digest: row.opt_text(8)?,
            stopped: row.opt_text(9)?,
            exit_code: row.int(10)?,
            actions: Vec::new(),
        },
    })
}

/// `ACTIONS`, by column position.
fn action_row<R: Columns>(row: &R) -> Result<(i64, ActionRecord), R::Error> {
    Ok((
        row.int(0)?,
        ActionRecord {
            position: row.int(1)?,
            action: row.text(2)?,
            image_id: row.text(3)?,
            rule: row.text(4)?,
            old_value: row.opt_text(5)?,
            new_value: row.opt_text(6)?,
            outcome: row.text(7)?,
            reason: row.opt_text(8)?,
            code: row.opt_text(9)?,
            request_id: row.opt_text(10)?,
            time: row.int(11)?,
        },
    ))
}

impl ActionStore for Sqlite {
    fn insert_apply(&mut self, a: &ApplyRecord) -> StoreResult<i64> {
        self.conn
            .prepare_cached(&for_sqlite(INSERT_APPLY))
            .map_err(super::sqlite::error)?
            .query_row(
                params![
                    a.time,
                    a.finished,
                    a.tool_version,
                    a.account,
                    a.account_fingerprint,
                    a.endpoint,
                    a.plan,
                    a.plan_digest,
                    a.stopped,
                    a.exit_code,
                ],
                |row| row.get(0),
            )
            .map_err(super::sqlite::error)
    }

    fn insert_action(&mut self, apply: i64, a: &ActionRecord) -> StoreResult<()> {
        self.conn
            .prepare_cached(&for_sqlite(INSERT_ACTION))
            .map_err(super::sqlite::error)?
            .execute(params![
                apply,
                a.position,
                a.action,
                a.image_id,
                a.rule,
                a.old_value,
                a.new_value,
                a.outcome,
                a.reason,
                a.code,
                a.request_id,
                a.time,
            ])
            .map(|_| ())
            .map_err(super::sqlite::error)
    }

    fn applies(&mut self, q: &ApplyQuery) -> StoreResult<Vec<ApplyRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&for_sqlite(APPLIES))
            .map_err(super::sqlite::error)?;
        let rows = stmt
            .query_map(params![q.account, q.since, q.until], |row| apply_row(row))
            .map_err(super::sqlite::error)?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(super::sqlite::error)
    }

    fn actions(&mut self, q: &ApplyQuery) -> StoreResult<Vec<(i64, ActionRecord)>> {
        let mut stmt = self
            .conn
            .prepare_cached(&for_sqlite(ACTIONS))
            .map_err(super::sqlite::error)?;
        let rows = stmt
            .query_map(params![q.account, q.since, q.until], |row| action_row(row))
            .map_err(super::sqlite::error)?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(super::sqlite::error)
    }

    fn label_owners(&mut self, account: &str) -> StoreResult<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached(&for_sqlite(LABEL_OWNERS))
            .map_err(super::sqlite::error)?;
        let rows = stmt
            .query_map([account], |row| row.get(0))
            .map_err(super::sqlite::error)?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(super::sqlite::error)
    }

    fn prune_applies(&mut self, before: i64) -> StoreResult<i64> {
        let mut deleted = 0;
        for statement in PRUNE {
            deleted = self
                .conn
                .execute(&for_sqlite(statement), [before])
                .map_err(super::sqlite::error)?;
        }
        Ok(deleted as i64)
    }
}

impl ActionStore for Postgres {
    fn insert_apply(&mut self, a: &ApplyRecord) -> StoreResult<i64> {
        let rows = self.query(
            INSERT_APPLY,
            &[
                &a.time,
                &a.finished,
                &a.tool_version,
                &a.account,
                &a.account_fingerprint,
                &a.endpoint,
                &a.plan,
                &a.plan_digest,
                &a.stopped,
                &a.exit_code,
            ],
        )?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::new("the database returned no id for the new apply"))?;
        row.try_get(0).map_err(|e| self.error(&e))
    }

    fn insert_action(&mut self, apply: i64, a: &ActionRecord) -> StoreResult<()> {
        self.query(
            INSERT_ACTION,
            &[
                &apply,
                &a.position,
                &a.action,
                &a.image_id,
                &a.rule,
                &a.old_value,
                &a.new_value,
                &a.outcome,
                &a.reason,
                &a.code,
                &a.request_id,
                &a.time,
            ],
        )
        .map(|_| ())
    }

    fn applies(&mut self, q: &ApplyQuery) -> StoreResult<Vec<ApplyRow>> {
        let rows = self.query(APPLIES, &[&q.account, &q.since, &q.until])?;
        rows.iter()
            .map(apply_row)
            .collect::<Result<_, postgres::Error>>()
            .map_err(|e| self.error(&e))
    }

    fn actions(&mut self, q: &ApplyQuery) -> StoreResult<Vec<(i64, ActionRecord)>> {
        let rows = self.query(ACTIONS, &[&q.account, &q.since, &q.until])?;
        rows.iter()
            .map(action_row)
            .collect::<Result<_, postgres::Error>>()
            .map_err(|e| self.error(&e))
    }

    fn label_owners(&mut self, account: &str) -> StoreResult<Vec<String>> {
        let rows = self.query(LABEL_OWNERS, &[&account])?;
        rows.iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, postgres::Error>>()
            .map_err(|e| self.error(&e))
    }

    fn prune_applies(&mut self, before: i64) -> StoreResult<i64> {
        let [actions, applies] = PRUNE;
        self.query(actions, &[&before])?;
        let deleted = self
            .client
            .execute(applies, &[&before])
            .map_err(|e| self.error(&e))?;
        Ok(i64::try_from(deleted).unwrap_or(i64::MAX))
    }
}

/// The label's known account, read from `store` (inside the caller's transaction).
fn known_owners(store: &mut dyn Store, account: &str) -> StoreResult<Fingerprint> {
    let mut known = Fingerprint::default();
    for stored in store.label_owners(account)? {
        known.add_stored(&stored);
    }
    Ok(known)
}

/// Whether an apply reaching the account `fingerprint` may be recorded under `label`: the
/// label's runs and applies must be of the same account (a label is one account, whatever
/// records under it).
fn admit(store: &mut dyn Store, label: &str, fingerprint: Option<&str>) -> StoreResult<()> {
    let known = known_owners(store, label)?;
    let mut this = Fingerprint::default();
    if let Some(stored) = fingerprint {
        this.add_stored(stored);
    }
    // An apply whose account cannot be told is refused under a label that has one: its
    // actions would be listed as that account's.
    account::admit(label, &known, &this, true)
}

impl History {
    /// Refuse (exit 2), before anything is done, an apply whose account is not the one the
    /// label's runs and applies were of.
    pub fn admit_apply(&mut self, label: &str, fingerprint: Option<&str>) -> Result<(), Diag> {
        let store = self.store.as_mut();
        store
            .begin_read()
            .map_err(|e| super::read_error(store, &e))?;
        let result = admit(store, label, fingerprint);
        store.rollback();
        result.map_err(|e| super::diag_of(None, &e, "the history cannot take this apply"))
    }

    /// Record one apply and its actions in one transaction, under the label's write lock
    /// (the account is checked again under it). Returns the apply's id.
    pub fn record_apply(&mut self, apply: &ApplyRecord) -> Result<i64, Diag> {
        let store = self.store.as_mut();
        store
            .begin_write(&apply.account)
            .map_err(|e| apply_write_error(store, &e))?;
        let write = |store: &mut dyn Store| -> StoreResult<i64> {
            admit(store, &apply.account, apply.account_fingerprint.as_deref())?;
            let id = store.insert_apply(apply)?;
            for action in &apply.actions {
                store.insert_action(id, action)?;
            }
            Ok(id)
        };
        match write(store) {
            Ok(id) => {
                store.commit().map_err(|e| apply_write_error(store, &e))?;
                Ok(id)
            }
            Err(e) => {
                store.rollback();
                Err(apply_write_error(store, &e))
            }
        }
    }

    /// The applies `ecmguard history` lists, each with its actions, oldest first.
    pub fn applies(&mut self, query: &ApplyQuery) -> Result<Vec<ApplyRow>, Diag> {
        let store = self.store.as_mut();
        store
            .begin_read()
            .map_err(|e| super::read_error(store, &e))?;
        let read = |store: &mut dyn Store| -> StoreResult<Vec<ApplyRow>> {
            let mut applies = store.applies(query)?;
            let mut actions = store.actions(query)?.into_iter().peekable();
            // Both are in the same order (time, id): the actions are dealt out in one pass.
            for apply in &mut applies {
                while let Some((_, action)) = actions.next_if(|(id, _)| *id == apply.id) {
                    apply.record.actions.push(action);
                }
            }
            Ok(applies)
        };
        let result = read(store);
        store.rollback();
        result.map_err(|e| super::read_error(store, &e))
    }

    /// Delete the applies recorded before `before` (an apply decides no streak, so none
    /// is kept for one); returns how many.
    pub fn prune_applies(&mut self, before: jiff::Timestamp) -> Result<i64, Diag> {
        let store = self.store.as_mut();
        store
            .begin_write("prune")
            .map_err(|e| apply_write_error(store, &e))?;
        match store.prune_applies(before.as_second()) {
            Ok(n) => {
                store.commit().map_err(|e| apply_write_error(store, &e))?;
                Ok(n)
            }
            Err(e) => {
                store.rollback();
                Err(apply_write_error(store, &e))
            }
        }
    }
}

fn apply_write_error(store: &dyn Store, error: &StoreError) -> Diag {
    match error.kind {
        super::store::ErrorKind::OtherAccount | super::store::ErrorKind::Inconsistent => {
            super::diag_of(Some(&store.describe()), error, "the apply was not recorded")
        }
        _ => Diag::error(
            Code::HistoryWrite,
            format!(
                "the apply could not be recorded in the history ({}): {}",
                store.describe(),
                error.message
            ),
        )
        .with_help("the actions listed above were performed (or not) as shown; only their record is missing: the --output file, if any, has them"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_create_the_same_tables() {
        let sqlite = version_3(Dialect::Sqlite);
        let postgres = version_3(Dialect::Postgres);
        assert_eq!(sqlite.len(), postgres.len());
        let differ: Vec<_> = sqlite
            .iter()
            .zip(&postgres)
            .filter(|(a, b)| a != b)
            .collect();
        // Only the applies table differs, in how its id is spelled.
        assert_eq!(differ.len(), 1);
        assert!(differ[0].0.contains("ecmguard_applies"));
    }

    #[test]
    fn queries_become_sqlite_parameters() {
        for sql in [INSERT_APPLY, INSERT_ACTION, APPLIES, ACTIONS, LABEL_OWNERS] {
            assert!(!for_sqlite(sql).contains('$'), "{sql}");
        }
    }
}
