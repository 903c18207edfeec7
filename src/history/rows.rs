//! The records the queries' rows become, read by column position once for
//! both backends: the column order of each query in `sql.rs` is mapped here
//! and nowhere else, so SQLite and PostgreSQL cannot read a row differently.
//! A backend only says how to read one integer or text column of its rows.

use super::store::{
    Counts, FindingRecord, FixStats, RuleCountRecord, RuleIndexRow, RunIndexRow, RunRef, RunRow,
};

/// One result row of either driver, by column position.
pub trait Columns {
    type Error;
    fn int(&self, column: usize) -> Result<i64, Self::Error>;
    fn text(&self, column: usize) -> Result<String, Self::Error>;
    fn opt_text(&self, column: usize) -> Result<Option<String>, Self::Error>;
}

/// `RUN_INDEX`.
pub(crate) fn run_index<R: Columns>(row: &R) -> Result<RunIndexRow, R::Error> {
    Ok(RunIndexRow {
        at: RunRef {
            time: row.int(0)?,
            id: row.int(1)?,
        },
        narrowed: row.int(2)? != 0,
        images: row.int(3)?,
        rules: row.int(4)?,
        findings: row.int(5)?,
        account_fingerprint: row.opt_text(6)?,
    })
}

/// `RULE_INDEX`.
pub(crate) fn rule_index<R: Columns>(row: &R) -> Result<RuleIndexRow, R::Error> {
    Ok(RuleIndexRow {
        run: row.int(0)?,
        rule: row.text(1)?,
        findings: row.int(2)?,
    })
}

/// `FINDINGS_OF`.
pub fn finding<R: Columns>(row: &R) -> Result<FindingRecord, R::Error> {
    Ok(FindingRecord {
        rule: row.text(0)?,
        image: row.opt_text(1)?,
        status: row.text(2)?,
        severity: row.text(3)?,
        message: row.text(4)?,
        first_seen: row.int(5)?,
    })
}

/// The eight counts of a run from column `first` on (`RUNS`).
fn counts<R: Columns>(row: &R, first: usize) -> Result<Counts, R::Error> {
    Ok(Counts {
        violations_error: row.int(first)?,
        violations_warning: row.int(first + 1)?,
        violations_info: row.int(first + 2)?,
        indeterminate: row.int(first + 3)?,
        grace: row.int(first + 4)?,
        waived: row.int(first + 5)?,
        baselined: row.int(first + 6)?,
        failing: row.int(first + 7)?,
    })
}

/// `RUNS`.
pub fn run<R: Columns>(row: &R) -> Result<RunRow, R::Error> {
    Ok(RunRow {
        id: row.int(0)?,
        time: row.int(1)?,
        tool_version: row.text(2)?,
        account: row.text(3)?,
        source: row.text(4)?,
        endpoint: row.opt_text(5)?,
        policy_digest: row.text(6)?,
        images: row.int(7)?,
        counts: counts(row, 8)?,
        verdict: row.text(16)?,
        exit_code: row.int(17)?,
        narrowed: row.int(18)? != 0,
    })
}

/// `RULE_COUNTS`: the run's id and the rule's counts.
pub(crate) fn rule_count<R: Columns>(row: &R) -> Result<(i64, RuleCountRecord), R::Error> {
    Ok((
        row.int(0)?,
        RuleCountRecord {
            rule: row.text(1)?,
            severity: row.text(2)?,
            violations: row.int(3)?,
            indeterminate: row.int(4)?,
            grace: row.int(5)?,
            waived: row.int(6)?,
            baselined: row.int(7)?,
        },
    ))
}

/// `FIX_STATS`.
pub(crate) fn fix_stats<R: Columns>(row: &R) -> Result<FixStats, R::Error> {
    Ok(FixStats {
        rule: row.text(0)?,
        fixed: row.int(1)?,
        total_seconds: row.int(2)?,
        worst_seconds: row.int(3)?,
    })
}
