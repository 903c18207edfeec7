//! The embedded backend: a SQLite file (bundled SQLite, no system library),
//! created on first use. WAL mode so readers never wait for a writer, a busy
//! timeout so concurrent writers queue instead of failing, and `BEGIN
//! IMMEDIATE` for every write so two runs serialise on the file's write
//! lock before they read the state they add to.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};

use super::rows::{self, Columns};
use super::sql;
use super::store::{
    EachStreak, FindingRecord, FindingSource, FixSource, FixStats, NewFinding, RuleCountRecord,
    RuleIndexRow, RunIndexRow, RunRecord, RunRow, Store, StoreError, StoreResult, in_batches,
};

/// How long a writer waits for another one before it gives up: longer than
/// any one run's transaction takes (a 100k-image run commits in well under
/// a second), short enough that a stuck lock surfaces.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Sqlite {
    pub(super) conn: Connection,
    path: PathBuf,
}

impl Sqlite {
    /// Open (with `create`: or create) the file. Nothing is written here:
    /// the schema version is read first by `schema::open`, and WAL mode is
    /// switched on only for a database this version may write.
    pub fn open(path: &Path, create: bool) -> StoreResult<Sqlite> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        } else if !path.exists() {
            return Err(StoreError::new(format!(
                "no history database at {}",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(path, flags).map_err(error)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(error)?;
        Ok(Sqlite {
            conn,
            path: path.to_owned(),
        })
    }

    fn exec(&self, sql: &str) -> StoreResult<()> {
        self.conn.execute_batch(sql).map_err(error)
    }
}

/// A SQLite error as a store error; "not a database" marks a foreign file.
pub(super) fn error(e: rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
        StoreError::foreign(format!("not a SQLite database ({e})"))
    } else {
        StoreError::new(e.to_string())
    }
}

/// Findings per `INSERT` statement: 7 parameters each, far below SQLite's
/// limit of 32,766.
const ROWS_PER_INSERT: usize = 128;

/// `INSERT INTO ecmguard_findings (…) VALUES (?,…), (?,…), …` for `rows` rows.
fn insert_findings_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO ecmguard_findings (run_id, rule_id, image_id, status, severity, message, first_seen) VALUES ",
    );
    for n in 0..rows {
        if n > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?)");
    }
    sql
}

fn q(sql: &str) -> String {
    sql::for_sqlite(sql)
}

impl Columns for Row<'_> {
    type Error = rusqlite::Error;
    fn int(&self, column: usize) -> rusqlite::Result<i64> {
        self.get(column)
    }
    fn text(&self, column: usize) -> rusqlite::Result<String> {
        self.get(column)
    }
    fn opt_text(&self, column: usize) -> rusqlite::Result<Option<String>> {
        self.get(column)
    }
}

impl Sqlite {
    /// One multi-row `INSERT` of up to [`ROWS_PER_INSERT`] findings.
    fn insert_chunk(&self, run: i64, chunk: &[NewFinding<'_>]) -> StoreResult<()> {
        let mut stmt = self
            .conn
            .prepare_cached(&insert_findings_sql(chunk.len()))
            .map_err(error)?;
        for (n, f) in chunk.iter().enumerate() {
            let at = n * 7;
            stmt.raw_bind_parameter(at + 1, run).map_err(error)?;
            stmt.raw_bind_parameter(at + 2, f.rule).map_err(error)?;
            stmt.raw_bind_parameter(at + 3, f.image).map_err(error)?;
            stmt.raw_bind_parameter(at + 4, f.status).map_err(error)?;
            stmt.raw_bind_parameter(at + 5, f.severity).map_err(error)?;
            stmt.raw_bind_parameter(at + 6, f.message).map_err(error)?;
            stmt.raw_bind_parameter(at + 7, f.first_seen)
                .map_err(error)?;
        }
        stmt.raw_execute().map_err(error)?;
        Ok(())
    }
}

impl Store for Sqlite {
    fn describe(&self) -> String {
        format!("SQLite file {}", self.path.display())
    }

    fn begin_read(&mut self) -> StoreResult<()> {
        self.exec("BEGIN DEFERRED")
    }

    fn begin_write(&mut self, _account: &str) -> StoreResult<()> {
        self.exec("BEGIN IMMEDIATE")
    }

    fn begin_schema(&mut self) -> StoreResult<()> {
        self.exec("BEGIN IMMEDIATE")
    }

    fn commit(&mut self) -> StoreResult<()> {
        self.exec("COMMIT")
    }

    fn rollback(&mut self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    /// WAL and foreign keys, once the schema is known not to be newer.
    fn configure(&mut self) -> StoreResult<()> {
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::new(format!(
                "cannot switch the database to WAL mode (it stays in {mode} mode)"
            )));
        }
        // A page cache of 256 KiB (SQLite's default is 2 MiB): a run's
        // findings are inserted in the index's order, so the pages being
        // written are the ends of the table and of the index, and a run
        // larger than the cache spills finished pages to the WAL as it goes
        // at little cost (a spilled page is rarely touched again); the open
        // streaks are read once, in the index's order, so a larger cache
        // would only hold pages never read again. What the cache holds is
        // memory the check pays for on top of its images and findings, at
        // its peak (the streaks are read on a thread while the images load):
        // 8 MiB and then 2 MiB were measured costing that much peak memory in
        // the heavy benchmark, and 256 KiB records as fast.
        self.conn
            .execute_batch("PRAGMA cache_size = -256")
            .map_err(error)?;
        // Foreign keys stay unenforced (SQLite's default): the REFERENCES
        // in the schema document the relations, every write is ours, and
        // prune deletes children first. Enforcing would cost a search of
        // the runs per finding inserted.
        Ok(())
    }

    fn schema_version(&mut self) -> StoreResult<Option<i64>> {
        let tables: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                .map_err(error)?;
            stmt.query_map([], |row| row.get(0))
                .map_err(error)?
                .collect::<rusqlite::Result<_>>()
                .map_err(error)?
        };
        if !tables.iter().any(|t| t == "ecmguard_meta") {
            if tables.is_empty() {
                return Ok(None);
            }
            return Err(StoreError::foreign(format!(
                "a SQLite database of another program (tables {})",
                tables.join(", ")
            )));
        }
        let value: Option<String> = self
            .conn
            .query_row(sql::SCHEMA_VERSION, [], |row| row.get(0))
            .optional()
            .map_err(error)?;
        match value {
            None => Ok(None),
            Some(text) => text.trim().parse().map(Some).map_err(|_| {
                StoreError::foreign(format!("its schema version `{text}` is not a number"))
            }),
        }
    }

    fn migrate(&mut self, statements: &[String], version: i64) -> StoreResult<()> {
        for statement in statements {
            self.exec(statement)?;
        }
        self.conn
            .execute(&q(sql::SET_SCHEMA_VERSION), [version.to_string()])
            .map_err(error)?;
        Ok(())
    }

    fn run_index(&mut self, account: &str, until: i64) -> StoreResult<Vec<RunIndexRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&q(sql::RUN_INDEX))
            .map_err(error)?;
        let rows = stmt
            .query_map(params![account, until], |row| rows::run_index(row))
            .map_err(error)?;
        rows.collect::<rusqlite::Result<_>>().map_err(error)
    }

    fn rule_index(&mut self, account: &str, until: i64) -> StoreResult<Vec<RuleIndexRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&q(sql::RULE_INDEX))
            .map_err(error)?;
        let rows = stmt
            .query_map(params![account, until], |row| rows::rule_index(row))
            .map_err(error)?;
        rows.collect::<rusqlite::Result<_>>().map_err(error)
    }

    fn checked_of(&mut self, run: i64) -> StoreResult<Vec<String>> {
        let checked: Option<String> = self
            .conn
            .prepare_cached(&q(sql::CHECKED_OF))
            .map_err(error)?
            .query_row([run], |row| row.get(0))
            .optional()
            .map_err(error)?
            .flatten();
        super::checked_from_json(checked.as_deref())
    }

    fn each_finding_of(
        &mut self,
        run: i64,
        each: &mut dyn FnMut(FindingRecord),
    ) -> StoreResult<()> {
        let mut stmt = self
            .conn
            .prepare_cached(&q(sql::FINDINGS_OF))
            .map_err(error)?;
        let mut rows = stmt.query([run]).map_err(error)?;
        while let Some(row) = rows.next().map_err(error)? {
            each(rows::finding(row).map_err(error)?);
        }
        Ok(())
    }

    fn streaks_of(&mut self, run: i64, each: &mut EachStreak<'_>) -> StoreResult<()> {
        let mut stmt = self
            .conn
            .prepare_cached(&q(sql::STREAKS_OF))
            .map_err(error)?;
        let mut rows = stmt.query([run]).map_err(error)?;
        while let Some(row) = rows.next().map_err(error)? {
            let text = |i: usize| -> rusqlite::Result<Option<&str>> {
                row.get_ref(i)?
                    .as_str_or_null()
                    .map_err(rusqlite::Error::from)
            };
            let rule = text(0).map_err(error)?.unwrap_or_default();
            let image = text(1).map_err(error)?;
            let status = text(2).map_err(error)?.unwrap_or_default();
            let first_seen: i64 = row.get(3).map_err(error)?;
            each(rule, image, status, first_seen);
        }
        Ok(())
    }

    fn latest_run_id(&mut self, account: &str) -> StoreResult<Option<i64>> {
        self.conn
            .prepare_cached(&q(sql::LATEST_RUN_ID))
            .map_err(error)?
            .query_row([account], |row| row.get(0))
            .map_err(error)
    }

    fn insert_run(&mut self, run: &RunRecord) -> StoreResult<i64> {
        let checked = super::checked_to_json(run.checked_images.as_deref());
        let c = &run.counts;
        self.conn
            .prepare_cached(&q(sql::INSERT_RUN))
            .map_err(error)?
            .query_row(
                params![
                    run.time,
                    run.tool_version,
                    run.account,
                    run.source,
                    run.source_path,
                    run.endpoint,
                    run.filters,
                    run.policy_digest,
                    run.fail_on,
                    run.images,
                    run.rules,
                    c.violations_error,
                    c.violations_warning,
                    c.violations_info,
                    c.indeterminate,
                    c.grace,
                    c.waived,
                    c.baselined,
                    c.failing,
                    run.verdict,
                    run.exit_code,
                    i64::from(run.narrowed),
                    checked,
                    run.account_fingerprint,
                ],
                |row| row.get(0),
            )
            .map_err(error)
    }

    fn insert_findings(&mut self, run: i64, findings: &dyn FindingSource) -> StoreResult<()> {
        // Prepared multi-row statements ([`ROWS_PER_INSERT`] rows each)
        // inside the run's transaction: a statement per row spends as much
        // on its own bookkeeping as on the row. The (run, rule, image) index
        // takes them at its end; a report hands them over in that order
        // (`ReportFindings`), so a large run's index pages are written once.
        // Rows are gathered a chunk at a time, borrowed from the report.
        in_batches(findings, ROWS_PER_INSERT, &mut |chunk| {
            self.insert_chunk(run, chunk)
        })
    }

    fn insert_rule_counts(&mut self, run: i64, counts: &[RuleCountRecord]) -> StoreResult<()> {
        let mut stmt = self
            .conn
            .prepare_cached(&q(sql::INSERT_RULE_COUNT))
            .map_err(error)?;
        for c in counts {
            stmt.execute(params![
                run,
                c.rule,
                c.severity,
                c.violations,
                c.indeterminate,
                c.grace,
                c.waived,
                c.baselined
            ])
            .map_err(error)?;
        }
        Ok(())
    }

    fn insert_fixes(
        &mut self,
        run: i64,
        account: &str,
        fixed_at: i64,
        fixes: &dyn FixSource,
    ) -> StoreResult<()> {
        let mut stmt = self
            .conn
            .prepare_cached(&q(sql::INSERT_FIX))
            .map_err(error)?;
        fixes.each(&mut |f| {
            stmt.execute(params![
                run,
                account,
                f.rule,
                f.image,
                f.first_seen,
                fixed_at
            ])
            .map(|_| ())
            .map_err(error)
        })
    }

    fn accounts(&mut self) -> StoreResult<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(sql::ACCOUNTS).map_err(error)?;
        let rows = stmt.query_map([], |row| row.get(0)).map_err(error)?;
        rows.collect::<rusqlite::Result<_>>().map_err(error)
    }

    fn runs(
        &mut self,
        account: Option<&str>,
        since: Option<i64>,
        until: i64,
    ) -> StoreResult<Vec<RunRow>> {
        let mut stmt = self.conn.prepare_cached(&q(sql::RUNS)).map_err(error)?;
        let rows = stmt
            .query_map(params![account, since, until], |row| rows::run(row))
            .map_err(error)?;
        rows.collect::<rusqlite::Result<_>>().map_err(error)
    }

    fn rule_counts(
        &mut self,
        account: Option<&str>,
        since: Option<i64>,
        until: i64,
    ) -> StoreResult<Vec<(i64, RuleCountRecord)>> {
        let mut stmt = self
            .conn
            .prepare_cached(&q(sql::RULE_COUNTS))
            .map_err(error)?;
        let rows = stmt
            .query_map(params![account, since, until], |row| rows::rule_count(row))
            .map_err(error)?;
        rows.collect::<rusqlite::Result<_>>().map_err(error)
    }

    fn fix_stats(
        &mut self,
        account: Option<&str>,
        since: Option<i64>,
        until: i64,
    ) -> StoreResult<Vec<FixStats>> {
        let mut stmt = self
            .conn
            .prepare_cached(&q(sql::FIX_STATS))
            .map_err(error)?;
        let rows = stmt
            .query_map(params![account, since, until], |row| rows::fix_stats(row))
            .map_err(error)?;
        rows.collect::<rusqlite::Result<_>>().map_err(error)
    }

    fn delete_run(&mut self, run: i64) -> StoreResult<i64> {
        let mut findings = 0;
        for (n, statement) in sql::DELETE_RUN.iter().enumerate() {
            let deleted = self
                .conn
                .prepare_cached(&q(statement))
                .map_err(error)?
                .execute([run])
                .map_err(error)?;
            if n == 0 {
                findings = i64::try_from(deleted).unwrap_or(i64::MAX);
            }
        }
        Ok(findings)
    }
}
