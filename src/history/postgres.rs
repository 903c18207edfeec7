//! The shared backend: a PostgreSQL database that many CI runners and
//! accounts write to (the `postgres` crate, over plain TCP: TLS is not
//! supported yet, see docs/history.md). Writers of one account are
//! serialised with a transaction-scoped advisory lock; schema migrations take
//! one lock of their own. Findings go in one round trip per few thousand rows
//! (`UNNEST` of arrays) instead of one per row.
//!
//! The URL may hold a password: it is used to connect and never kept in a
//! message, the database or a report ([`redact`]).

use std::path::Path;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls, Row};
use sha2::{Digest, Sha256};

use super::pgpass;
use super::rows::{self, Columns};
use super::sql;
use crate::text;

use super::store::{
    EachStreak, FindingRecord, FindingSource, FixSource, FixStats, NewFinding, RuleCountRecord,
    RuleIndexRow, RunIndexRow, RunRecord, RunRow, Store, StoreError, StoreResult, in_batches,
};

/// How long to wait for the server when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Findings per `INSERT … SELECT FROM UNNEST(…)` statement.
const BATCH: usize = 5000;

pub struct Postgres {
    pub(super) client: Client,
    /// The URL without its password, for messages.
    shown: String,
    /// Scrubbed from every message, in case a server echoes it.
    password: Option<String>,
}

impl Postgres {
    /// Connect. When the URL has no password, `password` (from
    /// `PGPASSWORD`) is used, else the password file `passfile` (libpq's
    /// `~/.pgpass` or `PGPASSFILE`).
    pub fn connect(
        url: &str,
        password: Option<&str>,
        passfile: Option<&Path>,
    ) -> StoreResult<Postgres> {
        let shown = redact(url);
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            StoreError::new(format!("{shown} is not a PostgreSQL connection URL: {e}"))
        })?;
        let mut ignored_passfile = None;
        if config.get_password().is_none() {
            if let Some(password) = password {
                config.password(password);
            } else if let Some(file) = passfile {
                match pgpass::lookup(file, &wanted(&config)) {
                    pgpass::Found::Password(password) => {
                        config.password(password);
                    }
                    pgpass::Found::Nothing => {}
                    pgpass::Found::Ignored(why) => ignored_passfile = Some(why),
                }
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let secret = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .filter(|p| !p.is_empty());
        let scrub = |message: String| match &secret {
            Some(p) => message.replace(p.as_str(), "***"),
            None => message,
        };
        let client = config.connect(NoTls).map_err(|e| {
            let mut message = scrub(format!("cannot connect to {shown}: {}", describe(&e)));
            if message.to_ascii_lowercase().contains("tls") {
                message.push_str(
                    " (ecmguard connects to PostgreSQL over plain TCP: TLS is not supported yet; use sslmode=disable or prefer on a trusted network, or an SSH tunnel)",
                );
            }
            if let Some(why) = &ignored_passfile {
                message.push_str(&format!(" ({why})"));
            }
            StoreError::new(message)
        })?;
        Ok(Postgres {
            client,
            shown,
            password: secret,
        })
    }

    pub(super) fn error(&self, e: &postgres::Error) -> StoreError {
        masked(self.password.as_deref(), e)
    }

    /// Run `sql` and hand each row to `each` as the server sends it, never
    /// the whole result at once.
    fn each_row(
        &mut self,
        sql: &str,
        run: i64,
        each: &mut dyn FnMut(&Row) -> Result<(), postgres::Error>,
    ) -> StoreResult<()> {
        let password = self.password.as_deref();
        let mut rows = self
            .client
            .query_raw(sql, [&run])
            .map_err(|e| masked(password, &e))?;
        while let Some(row) = rows.next().map_err(|e| masked(password, &e))? {
            each(&row).map_err(|e| masked(password, &e))?;
        }
        Ok(())
    }

    fn exec(&mut self, sql: &str) -> StoreResult<()> {
        self.client.batch_execute(sql).map_err(|e| self.error(&e))
    }

    fn lock(&mut self, key: &str) -> StoreResult<()> {
        let key = lock_key(key);
        self.client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&key])
            .map(|_| ())
            .map_err(|e| self.error(&e))
    }

    /// One `INSERT … SELECT FROM UNNEST(…)` of up to [`BATCH`] findings.
    fn insert_batch(&mut self, run: i64, batch: &[NewFinding<'_>]) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO ecmguard_findings \
             (run_id, rule_id, image_id, status, severity, message, first_seen) \
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])";
        let rules: Vec<&str> = batch.iter().map(|f| f.rule).collect();
        let images: Vec<Option<&str>> = batch.iter().map(|f| f.image).collect();
        let statuses: Vec<&str> = batch.iter().map(|f| f.status).collect();
        let severities: Vec<&str> = batch.iter().map(|f| f.severity).collect();
        let messages: Vec<&str> = batch.iter().map(|f| f.message).collect();
        let seen: Vec<i64> = batch.iter().map(|f| f.first_seen).collect();
        self.query(
            SQL,
            &[
                &run,
                &rules,
                &images,
                &statuses,
                &severities,
                &messages,
                &seen,
            ],
        )?;
        Ok(())
    }

    pub(super) fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> StoreResult<Vec<Row>> {
        match self.client.query(sql, params) {
            Ok(rows) => Ok(rows),
            Err(e) => Err(self.error(&e)),
        }
    }
}

/// A database error as a message, without the password in it (in case a
/// server echoes it).
fn masked(password: Option<&str>, e: &postgres::Error) -> StoreError {
    let message = describe(e);
    StoreError::new(match password {
        Some(p) => message.replace(p, "***"),
        None => message,
    })
}

/// What the connection is, as the password file matches it: the first
/// host (a Unix socket is `localhost`, as for libpq), its port (5432 by
/// default), the database (the user's name by default) and the user.
fn wanted(config: &postgres::Config) -> pgpass::Wanted<'_> {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.as_str(),
        _ => "localhost",
    };
    let user = config.get_user().unwrap_or_default();
    pgpass::Wanted {
        host,
        port: config.get_ports().first().copied().unwrap_or(5432),
        database: config.get_dbname().unwrap_or(user),
        user,
    }
}

/// An error as the server said it: severity, message and SQLSTATE (wrong
/// password `28P01`, no such database `3D000`, permission denied `42501`
/// …), with its detail and hint, escaped (the server's text is not ours).
/// Other errors (I/O, protocol) as the driver says them, with their cause.
fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!(
            "the server said {}: {} (SQLSTATE {})",
            text::escape(db.severity()),
            text::escape(db.message()),
            db.code().code()
        );
        if let Some(detail) = db.detail() {
            text.push_str(&format!("; detail: {}", text::escape(detail)));
        }
        if let Some(hint) = db.hint() {
            text.push_str(&format!("; hint: {}", text::escape(hint)));
        }
        return text;
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    text::escape(&text).into_owned()
}

/// The URL with its password replaced by `***` (or a placeholder when it
/// does not parse as a URL: then nothing of it is shown).
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            // Query parameters may carry a password too (`?password=…`).
            if parsed.query().is_some() {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k.eq_ignore_ascii_case("password") {
                            "***".to_owned()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        Err(_) => "the PostgreSQL URL given".to_owned(),
    }
}

/// A 64-bit advisory-lock key for a name, stable across processes.
fn lock_key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("ecmguard-history:{name}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

impl Columns for Row {
    type Error = postgres::Error;
    fn int(&self, column: usize) -> Result<i64, postgres::Error> {
        self.try_get(column)
    }
    fn text(&self, column: usize) -> Result<String, postgres::Error> {
        self.try_get(column)
    }
    fn opt_text(&self, column: usize) -> Result<Option<String>, postgres::Error> {
        self.try_get(column)
    }
}

impl Store for Postgres {
    fn describe(&self) -> String {
        format!("PostgreSQL {}", self.shown)
    }

    fn begin_read(&mut self) -> StoreResult<()> {
        self.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }

    fn begin_write(&mut self, account: &str) -> StoreResult<()> {
        self.exec("BEGIN")?;
        self.lock(&format!("account:{account}"))
    }

    fn begin_schema(&mut self) -> StoreResult<()> {
        self.exec("BEGIN")?;
        self.lock("schema")
    }

    fn commit(&mut self) -> StoreResult<()> {
        self.exec("COMMIT")
    }

    fn rollback(&mut self) {
        let _ = self.client.batch_execute("ROLLBACK");
    }

    fn schema_version(&mut self) -> StoreResult<Option<i64>> {
        let rows = self.query("SELECT to_regclass('ecmguard_meta') IS NOT NULL", &[])?;
        let exists: bool = rows
            .first()
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(|e| self.error(&e))?
            .unwrap_or(false);
        if !exists {
            return Ok(None);
        }
        let rows = self.query(sql::SCHEMA_VERSION, &[])?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let text: String = row.try_get(0).map_err(|e| self.error(&e))?;
        text.trim().parse().map(Some).map_err(|_| {
            StoreError::foreign(format!("its schema version `{text}` is not a number"))
        })
    }

    fn migrate(&mut self, statements: &[String], version: i64) -> StoreResult<()> {
        for statement in statements {
            self.exec(statement)?;
        }
        self.query(sql::SET_SCHEMA_VERSION, &[&version.to_string()])?;
        Ok(())
    }

    fn run_index(&mut self, account: &str, until: i64) -> StoreResult<Vec<RunIndexRow>> {
        let rows = self.query(sql::RUN_INDEX, &[&account, &until])?;
        rows.iter()
            .map(rows::run_index)
            .collect::<Result<_, postgres::Error>>()
            .map_err(|e| self.error(&e))
    }

    fn rule_index(&mut self, account: &str, until: i64) -> StoreResult<Vec<RuleIndexRow>> {
        let rows = self.query(sql::RULE_INDEX, &[&account, &until])?;
        rows.iter()
            .map(rows::rule_index)
            .collect::<Result<_, postgres::Error>>()
            .map_err(|e| self.error(&e))
    }

    fn checked_of(&mut self, run: i64) -> StoreResult<Vec<String>> {
        let rows = self.query(sql::CHECKED_OF, &[&run])?;
        let checked: Option<String> = match rows.first() {
            None => None,
            Some(row) => row.try_get(0).map_err(|e| self.error(&e))?,
        };
        super::checked_from_json(checked.as_deref())
    }

    fn each_finding_of(
        &mut self,
        run: i64,
        each: &mut dyn FnMut(FindingRecord),
    ) -> StoreResult<()> {
        self.each_row(sql::FINDINGS_OF, run, &mut |row| {
            each(rows::finding(row)?);
            Ok(())
        })
    }

    fn streaks_of(&mut self, run: i64, each: &mut EachStreak<'_>) -> StoreResult<()> {
        self.each_row(sql::STREAKS_OF, run, &mut |row| {
            each(
                row.try_get(0)?,
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
            );
            Ok(())
        })
    }

    fn latest_run_id(&mut self, account: &str) -> StoreResult<Option<i64>> {
        let rows = self.query(sql::LATEST_RUN_ID, &[&account])?;
        match rows.first() {
            None => Ok(None),
            Some(row) => row.try_get(0).map_err(|e| self.error(&e)),
        }
    }

    fn insert_run(&mut self, run: &RunRecord) -> StoreResult<i64> {
        let checked = super::checked_to_json(run.checked_images.as_deref());
        let c = &run.counts;
        let narrowed = i64::from(run.narrowed);
        let rows = self.query(
            sql::INSERT_RUN,
            &[
                &run.time,
                &run.tool_version,
                &run.account,
                &run.source,
                &run.source_path,
                &run.endpoint,
                &run.filters,
                &run.policy_digest,
                &run.fail_on,
                &run.images,
                &run.rules,
                &c.violations_error,
                &c.violations_warning,
                &c.violations_info,
                &c.indeterminate,
                &c.grace,
                &c.waived,
                &c.baselined,
                &c.failing,
                &run.verdict,
                &run.exit_code,
                &narrowed,
                &checked,
                &run.account_fingerprint,
            ],
        )?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::new("the database returned no id for the new run"))?;
        row.try_get(0).map_err(|e| self.error(&e))
    }

    fn insert_findings(&mut self, run: i64, findings: &dyn FindingSource) -> StoreResult<()> {
        // A few thousand rows per round trip, gathered from the report
        // (borrowed) a batch at a time.
        in_batches(findings, BATCH, &mut |batch| self.insert_batch(run, batch))
    }

    fn insert_rule_counts(&mut self, run: i64, counts: &[RuleCountRecord]) -> StoreResult<()> {
        let statement = self
            .client
            .prepare(sql::INSERT_RULE_COUNT)
            .map_err(|e| self.error(&e))?;
        for c in counts {
            self.client
                .execute(
                    &statement,
                    &[
                        &run,
                        &c.rule,
                        &c.severity,
                        &c.violations,
                        &c.indeterminate,
                        &c.grace,
                        &c.waived,
                        &c.baselined,
                    ],
                )
                .map_err(|e| self.error(&e))?;
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
        // A few thousand rows per round trip, copied a batch at a time (the
        // rows are only lent for the call that hands them out).
        const SQL: &str = "INSERT INTO ecmguard_fixes \
             (run_id, account, rule_id, image_id, first_seen, fixed_at) \
             SELECT $1::bigint, $2::text, *, $3::bigint FROM UNNEST($4::text[], $5::text[], $6::bigint[])";
        let mut rules: Vec<String> = Vec::new();
        let mut images: Vec<Option<String>> = Vec::new();
        let mut seen: Vec<i64> = Vec::new();
        let flush = |this: &mut Self,
                     rules: &mut Vec<String>,
                     images: &mut Vec<Option<String>>,
                     seen: &mut Vec<i64>|
         -> StoreResult<()> {
            if !rules.is_empty() {
                this.query(SQL, &[&run, &account, &fixed_at, &*rules, &*images, &*seen])?;
                rules.clear();
                images.clear();
                seen.clear();
            }
            Ok(())
        };
        fixes.each(&mut |f| {
            rules.push(f.rule.to_owned());
            images.push(f.image.map(str::to_owned));
            seen.push(f.first_seen);
            if rules.len() == BATCH {
                flush(self, &mut rules, &mut images, &mut seen)?;
            }
            Ok(())
        })?;
        flush(self, &mut rules, &mut images, &mut seen)
    }

    fn accounts(&mut self) -> StoreResult<Vec<String>> {
        let rows = self.query(sql::ACCOUNTS, &[])?;
        rows.iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, postgres::Error>>()
            .map_err(|e| self.error(&e))
    }

    fn runs(
        &mut self,
        account: Option<&str>,
        since: Option<i64>,
        until: i64,
    ) -> StoreResult<Vec<RunRow>> {
        let rows = self.query(sql::RUNS, &[&account, &since, &until])?;
        rows.iter()
            .map(rows::run)
            .collect::<Result<_, postgres::Error>>()
            .map_err(|e| self.error(&e))
    }

    fn rule_counts(
        &mut self,
        account: Option<&str>,
        since: Option<i64>,
        until: i64,
    ) -> StoreResult<Vec<(i64, RuleCountRecord)>> {
        let rows = self.query(sql::RULE_COUNTS, &[&account, &since, &until])?;
        rows.iter()
            .map(rows::rule_count)
            .collect::<Result<_, postgres::Error>>()
            .map_err(|e| self.error(&e))
    }

    fn fix_stats(
        &mut self,
        account: Option<&str>,
        since: Option<i64>,
        until: i64,
    ) -> StoreResult<Vec<FixStats>> {
        let rows = self.query(sql::FIX_STATS, &[&account, &since, &until])?;
        rows.iter()
            .map(rows::fix_stats)
            .collect::<Result<_, postgres::Error>>()
            .map_err(|e| self.error(&e))
    }

    fn delete_run(&mut self, run: i64) -> StoreResult<i64> {
        let mut findings = 0;
        for (n, statement) in sql::DELETE_RUN.iter().enumerate() {
            let deleted = self
                .client
                .execute(*statement, &[&run])
                .map_err(|e| self.error(&e))?;
            if n == 0 {
                findings = i64::try_from(deleted).unwrap_or(i64::MAX);
            }
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://ci:s3cret@db.example:5432/history"),
            "postgres://ci:***@db.example:5432/history"
        );
        assert_eq!(
            redact("postgresql://db/history?user=ci&password=s3cret&sslmode=disable"),
            "postgresql://db/history?user=ci&password=***&sslmode=disable"
        );
        assert_eq!(redact("postgres://db/h"), "postgres://db/h");
        assert!(!redact("postgres://a:b@[bad").contains('b'));
    }

    #[test]
    fn lock_keys_are_stable_and_distinct() {
        assert_eq!(lock_key("account:a"), lock_key("account:a"));
        assert_ne!(lock_key("account:a"), lock_key("account:b"));
        assert_ne!(lock_key("schema"), lock_key("account:schema"));
    }
}
