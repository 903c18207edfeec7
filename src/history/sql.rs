//! The queries, written once with PostgreSQL's `$n` placeholders and run
//! by both backends (SQLite reads them as `?n`, see [`for_sqlite`]), so the
//! two cannot drift apart. Optional filters are written as
//! `CAST($n AS TEXT) IS NULL OR …`, which both dialects type the same way.

pub(crate) const SCHEMA_VERSION: &str =
    "SELECT value FROM ecmguard_meta WHERE key = 'schema_version'";

pub(crate) const SET_SCHEMA_VERSION: &str = "INSERT INTO ecmguard_meta (key, value) VALUES ('schema_version', $1) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

pub(crate) const RUN_INDEX: &str = "SELECT time, id, narrowed, images, rules, \
     violations_error + violations_warning + violations_info + indeterminate + grace + waived + baselined, \
     account_fingerprint FROM ecmguard_runs WHERE account = $1 AND time <= $2 ORDER BY time, id";

pub(crate) const RULE_INDEX: &str = "SELECT c.run_id, c.rule_id, \
     c.violations + c.indeterminate + c.grace + c.waived + c.baselined \
     FROM ecmguard_rule_counts c JOIN ecmguard_runs r ON r.id = c.run_id \
     WHERE r.account = $1 AND r.time <= $2";

pub(crate) const CHECKED_OF: &str = "SELECT checked_images FROM ecmguard_runs WHERE id = $1";

/// In the order of the findings index (run, rule, image), which serves it:
/// a rule's streaks are then packed as they come, without a sort.
pub(crate) const STREAKS_OF: &str = "SELECT rule_id, image_id, status, first_seen FROM ecmguard_findings \
     WHERE run_id = $1 ORDER BY rule_id, image_id";

pub(crate) const LATEST_RUN_ID: &str = "SELECT MAX(id) FROM ecmguard_runs WHERE account = $1";

pub(crate) const FINDINGS_OF: &str = "SELECT rule_id, image_id, status, severity, message, first_seen \
     FROM ecmguard_findings WHERE run_id = $1";

pub(crate) const INSERT_RUN: &str = "INSERT INTO ecmguard_runs (time, tool_version, account, source, source_path, endpoint, \
     filters, policy_digest, fail_on, images, rules, violations_error, violations_warning, violations_info, \
     indeterminate, grace, waived, baselined, failing, verdict, exit_code, narrowed, checked_images, account_fingerprint) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24) \
     RETURNING id";

pub(crate) const INSERT_RULE_COUNT: &str = "INSERT INTO ecmguard_rule_counts \
     (run_id, rule_id, severity, violations, indeterminate, grace, waived, baselined) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

pub(crate) const INSERT_FIX: &str = "INSERT INTO ecmguard_fixes \
     (run_id, account, rule_id, image_id, first_seen, fixed_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";

pub(crate) const ACCOUNTS: &str = "SELECT DISTINCT account FROM ecmguard_runs ORDER BY account";

pub(crate) const RUNS: &str = "SELECT id, time, tool_version, account, source, endpoint, policy_digest, images, \
     violations_error, violations_warning, violations_info, indeterminate, grace, waived, baselined, failing, \
     verdict, exit_code, narrowed FROM ecmguard_runs \
     WHERE (CAST($1 AS TEXT) IS NULL OR account = $1) AND (CAST($2 AS BIGINT) IS NULL OR time >= $2) AND time <= $3 \
     ORDER BY time, id";

pub(crate) const RULE_COUNTS: &str = "SELECT c.run_id, c.rule_id, c.severity, c.violations, c.indeterminate, c.grace, \
     c.waived, c.baselined FROM ecmguard_rule_counts c JOIN ecmguard_runs r ON r.id = c.run_id \
     WHERE (CAST($1 AS TEXT) IS NULL OR r.account = $1) AND (CAST($2 AS BIGINT) IS NULL OR r.time >= $2) \
     AND r.time <= $3 ORDER BY r.time, r.id, c.rule_id";

pub(crate) const FIX_STATS: &str = "SELECT rule_id, COUNT(*), CAST(SUM(fixed_at - first_seen) AS BIGINT), \
     CAST(MAX(fixed_at - first_seen) AS BIGINT) FROM ecmguard_fixes \
     WHERE (CAST($1 AS TEXT) IS NULL OR account = $1) AND (CAST($2 AS BIGINT) IS NULL OR fixed_at >= $2) \
     AND fixed_at <= $3 GROUP BY rule_id ORDER BY rule_id";

/// Deleting one run (`$1`), children first: nothing refers to a run that
/// is gone, even for a moment.
pub(crate) const DELETE_RUN: [&str; 4] = [
    "DELETE FROM ecmguard_findings WHERE run_id = $1",
    "DELETE FROM ecmguard_rule_counts WHERE run_id = $1",
    "DELETE FROM ecmguard_fixes WHERE run_id = $1",
    "DELETE FROM ecmguard_runs WHERE id = $1",
];

/// `$1` → `?1`: SQLite's numbered parameters, bound by position like
/// PostgreSQL's. (No query here has a `$` inside a string literal.)
pub(crate) fn for_sqlite(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered_sqlite_parameters() {
        assert_eq!(
            for_sqlite("a = $1 AND b = $12 OR c = $1"),
            "a = ?1 AND b = ?12 OR c = ?1"
        );
        assert!(!for_sqlite(INSERT_RUN).contains('$'));
    }
}
