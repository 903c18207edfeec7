//! `ecmguard history --format human|json`: the runs, per-rule trends, time to
//! fix, the oldest open findings and the waivers due. JSON is the stable
//! schema `ecmguard/history/v1` (docs/history.md); human text escapes every
//! control character of data that came from images, policies or the
//! database (a shared history is written by every runner that can log in).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

use serde_json::{Value, json};

use super::open_list::OpenFindings;
use super::store::{Counts, RunRow};
use super::summary::{RuleTrend, Summary, TimeToFix, WAIVER_WINDOW_DAYS, WaiverDue};
use crate::text::escape;
use crate::time::{ApiZone, describe_seconds};

pub(crate) const HISTORY_SCHEMA: &str = "ecmguard/history/v1";

/// Runs listed by the human format before "… N earlier runs".
pub(crate) const MAX_RUNS: usize = 30;
/// Open findings listed by the human format.
pub(crate) const MAX_OPEN: usize = 20;

/// Everything a history renderer reads.
pub struct HistoryView<'a> {
    pub summary: &'a Summary,
    /// `None` when no `--policy` was given: waivers were not looked at.
    pub waivers: Option<&'a [WaiverDue]>,
    pub zone: &'a ApiZone,
    /// `SQLite file PATH` or `PostgreSQL URL` without its password.
    pub database: &'a str,
    /// The applies of the window (`apply --history`), oldest first.
    pub applies: &'a [super::actions::ApplyRow],
}

impl HistoryView<'_> {
    pub fn time(&self, seconds: i64) -> String {
        jiff::Timestamp::from_second(seconds)
            .map(|t| self.zone.format(t))
            .unwrap_or_else(|_| seconds.to_string())
    }

    pub(crate) fn rfc3339(&self, seconds: i64) -> Option<String> {
        jiff::Timestamp::from_second(seconds)
            .ok()
            .map(|t| self.zone.rfc3339(t))
    }
}

// ---------------------------------------------------------------------------
// JSON

/// The JSON document, written as it is serialized: everything but the open
/// findings is small and built as a value first; the open findings (one per
/// open streak of every account, hundreds of thousands on a large account)
/// are serialized one at a time, straight into `out`.
pub(crate) fn render_json(view: &HistoryView<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let document = JsonDocument {
        head: json_head(view),
        view,
    };
    serde_json::to_writer_pretty(&mut *out, &document).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

struct JsonDocument<'a> {
    /// Every key of the document but `open`, in order.
    head: serde_json::Map<String, Value>,
    view: &'a HistoryView<'a>,
}

impl serde::Serialize for JsonDocument<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.head.len() + 1))?;
        for (key, value) in &self.head {
            if key == "waivers_due" {
                map.serialize_entry("open", &OpenList(self.view))?;
            }
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// The open findings, oldest first, serialized one at a time.
struct OpenList<'a>(&'a HistoryView<'a>);

impl serde::Serialize for OpenList<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let view = self.0;
        use serde::ser::{Error, SerializeSeq};
        let open = &view.summary.open;
        // Read back from their sorted files as they are written: a file
        // that cannot be read fails the output, never shortens the list.
        let mut seq = serializer.serialize_seq(Some(open.len()))?;
        for o in open.iter().map_err(S::Error::custom)? {
            let o = o.map_err(S::Error::custom)?;
            seq.serialize_element(&OpenJson {
                account: &o.account,
                rule: &o.finding.rule,
                image: o.finding.image.as_deref(),
                status: &o.finding.status,
                severity: &o.finding.severity,
                message: &o.finding.message,
                first_seen: view.rfc3339(o.finding.first_seen),
                open_for_seconds: o.open_for_seconds,
            })?;
        }
        seq.end()
    }
}

/// One open finding in `--format json` (`open[]`).
#[derive(serde::Serialize)]
struct OpenJson<'a> {
    account: &'a str,
    rule: &'a str,
    image: Option<&'a str>,
    status: &'a str,
    severity: &'a str,
    message: &'a str,
    first_seen: Option<String>,
    open_for_seconds: i64,
}

fn counts_json(c: &Counts) -> Value {
    json!({
        "violations": {
            "error": c.violations_error,
            "warning": c.violations_warning,
            "info": c.violations_info,
        },
        "indeterminate": c.indeterminate,
        "grace": c.grace,
        "waived": c.waived,
        "baselined": c.baselined,
        "failing": c.failing,
    })
}

fn fix_json(t: &TimeToFix) -> Value {
    json!({
        "fixed": t.fixed,
        "mean_seconds": t.mean_seconds,
        "worst_seconds": t.worst_seconds,
    })
}

/// Every key of the JSON document but `open` (which goes before
/// `waivers_due`), in order.
fn json_head(view: &HistoryView<'_>) -> serde_json::Map<String, Value> {
    let s = view.summary;
    let runs: Vec<Value> = s
        .runs
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "time": view.rfc3339(r.time),
                "account": r.account,
                "images": r.images,
                "verdict": r.verdict,
                "exit_code": r.exit_code,
                "counts": counts_json(&r.counts),
                "narrowed": r.narrowed,
                "source": r.source,
                "endpoint": r.endpoint,
                "policy_digest": r.policy_digest,
                "tool_version": r.tool_version,
            })
        })
        .collect();
    let rules: Vec<Value> = s
        .rules
        .iter()
        .map(|t| {
            let trend: Vec<Value> = t
                .points
                .iter()
                .map(|(run, c)| {
                    json!({
                        "run": run,
                        "violations": c.violations,
                        "indeterminate": c.indeterminate,
                        "grace": c.grace,
                        "waived": c.waived,
                        "baselined": c.baselined,
                    })
                })
                .collect();
            json!({
                "id": t.rule,
                "severity": t.severity,
                "open": t.open,
                "trend": trend,
                "time_to_fix": fix_json(&t.time_to_fix),
            })
        })
        .collect();
    let waivers = view.waivers.map(|due| {
        due.iter()
            .map(|w| {
                json!({
                    "rules": w.rules,
                    "images": w.images,
                    "reason": w.reason,
                    "owner": w.owner,
                    "expires": w.expires,
                    "expired": w.expired,
                    "location": w.location,
                })
            })
            .collect::<Vec<Value>>()
    });
    let head = json!({
        "schema": HISTORY_SCHEMA,
        "tool": { "name": "ecmguard", "version": env!("CARGO_PKG_VERSION") },
        "database": view.database,
        "now": view.rfc3339(s.now),
        "time_zone": view.zone.label(),
        "account": s.account,
        "since": s.since.and_then(|t| view.rfc3339(t)),
        "runs": runs,
        "rules": rules,
        "time_to_fix": fix_json(&s.time_to_fix),
        "waivers_due": waivers,
        "applies": super::actions_view::json(view),
    });
    match head {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

// ---------------------------------------------------------------------------
// Human

pub(crate) fn render_human(view: &HistoryView<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = human(view, &mut text);
    out.write_all(text.as_bytes())
}

fn human(view: &HistoryView<'_>, out: &mut String) -> std::fmt::Result {
    let s = view.summary;
    let scope = match &s.account {
        Some(account) => format!("account {}", escape(account)),
        None => "every account".to_owned(),
    };
    let window = match s.since {
        Some(since) => format!(" since {}", view.time(since)),
        None => String::new(),
    };
    writeln!(
        out,
        "History of {scope}{window} in {} (times in {})",
        view.database,
        view.zone.label()
    )?;
    writeln!(out)?;
    runs(view, out)?;
    rules(view, out)?;
    writeln!(
        out,
        "Time to fix (first seen → first run without the finding): {}",
        fix_text(&s.time_to_fix)
    )?;
    writeln!(out)?;
    open(view, &s.open, out)?;
    waivers(view, out)?;
    super::actions_view::human(view, out)
}

fn runs(view: &HistoryView<'_>, out: &mut String) -> std::fmt::Result {
    let runs = &view.summary.runs;
    writeln!(out, "Runs ({})", runs.len())?;
    if runs.is_empty() {
        writeln!(out, "  no run recorded in this window\n")?;
        return Ok(());
    }
    let skipped = runs.len().saturating_sub(MAX_RUNS);
    let shown = &runs[skipped..];
    // The column is as wide as the longest account: a label is never cut,
    // so it can be copied and searched for.
    let accounts: Vec<String> = shown
        .iter()
        .map(|r| escape(&r.account).into_owned())
        .collect();
    let width = accounts
        .iter()
        .map(|a| a.chars().count())
        .chain([7])
        .max()
        .unwrap_or(7);
    writeln!(
        out,
        "  {:<19}  {:<width$} {:>7} {:>6} {:>7} {:>5} {:>6} {:>5} {:>6}  verdict",
        "time", "account", "images", "error", "warning", "info", "indet.", "grace", "waived"
    )?;
    if skipped > 0 {
        writeln!(
            out,
            "  … {skipped} earlier runs (--format json lists them all)"
        )?;
    }
    for (run, account) in shown.iter().zip(&accounts) {
        run_line(view, run, account, width, out)?;
    }
    writeln!(out)
}

fn run_line(
    view: &HistoryView<'_>,
    run: &RunRow,
    account: &str,
    width: usize,
    out: &mut String,
) -> std::fmt::Result {
    let c = &run.counts;
    writeln!(
        out,
        "  {:<19}  {:<width$} {:>7} {:>6} {:>7} {:>5} {:>6} {:>5} {:>6}  {}{}",
        view.time(run.time),
        account,
        run.images,
        c.violations_error,
        c.violations_warning,
        c.violations_info,
        c.indeterminate,
        c.grace,
        c.waived,
        escape(&run.verdict.to_uppercase()),
        if run.narrowed { " (narrowed)" } else { "" }
    )
}

fn rules(view: &HistoryView<'_>, out: &mut String) -> std::fmt::Result {
    let rules = &view.summary.rules;
    writeln!(
        out,
        "Rules: violations (grace included) per run, oldest → newest ({})",
        rules.len()
    )?;
    // Rule ids are never cut either: the column takes the longest.
    let width = rules
        .iter()
        .map(|r| escape(&r.rule).chars().count())
        .max()
        .unwrap_or(0);
    for trend in rules {
        writeln!(
            out,
            "  {:<width$}  {:<7}  {}  {} open now; {}",
            escape(&trend.rule),
            escape(&trend.severity),
            sparkline(trend, 40),
            trend.open,
            fix_text(&trend.time_to_fix)
        )?;
    }
    writeln!(out)
}

/// Violations per run as block characters, scaled to the rule's maximum,
/// the last `width` runs.
pub(crate) fn sparkline(trend: &RuleTrend, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let points = &trend.points[trend.points.len().saturating_sub(width)..];
    let max = points.iter().map(|(_, c)| c.violating()).max().unwrap_or(0);
    let bars: String = points
        .iter()
        .map(|(_, c)| {
            if max == 0 {
                BARS[0]
            } else {
                let level = (c.violating() * 7 + max - 1) / max;
                BARS[usize::try_from(level).unwrap_or(0).min(7)]
            }
        })
        .collect();
    let last = points.last().map_or(0, |(_, c)| c.violating());
    format!("{bars} {last}")
}

fn fix_text(t: &TimeToFix) -> String {
    match (t.mean_seconds, t.worst_seconds) {
        (Some(mean), Some(worst)) => format!(
            "{} fixed, mean {}, worst {}",
            t.fixed,
            describe_seconds(mean),
            describe_seconds(worst)
        ),
        _ => "none fixed yet".to_owned(),
    }
}

fn open(view: &HistoryView<'_>, open: &OpenFindings, out: &mut String) -> std::fmt::Result {
    writeln!(out, "Oldest open findings ({} open)", open.len())?;
    for o in open.oldest().iter().take(MAX_OPEN) {
        writeln!(
            out,
            "  {} (open {})  {}  {}  {}  [{}] {}",
            view.time(o.finding.first_seen),
            describe_seconds(o.open_for_seconds),
            escape(&o.account),
            escape(&o.finding.rule),
            o.finding
                .image
                .as_deref()
                .map_or(Cow::Borrowed("(set-level)"), escape),
            escape(&o.finding.status),
            escape(&o.finding.message)
        )?;
    }
    if open.len() > MAX_OPEN {
        writeln!(
            out,
            "  … and {} more (--format json lists them all)",
            open.len() - MAX_OPEN
        )?;
    }
    writeln!(out)
}

fn waivers(view: &HistoryView<'_>, out: &mut String) -> std::fmt::Result {
    let Some(due) = view.waivers else {
        writeln!(
            out,
            "Waivers: give --policy to list the ones expiring within {WAIVER_WINDOW_DAYS} days"
        )?;
        return Ok(());
    };
    writeln!(
        out,
        "Waivers expired or expiring within {WAIVER_WINDOW_DAYS} days ({})",
        due.len()
    )?;
    for w in due {
        let mut line = format!(
            "  {} {}  {}",
            w.expires,
            if w.expired { "EXPIRED " } else { "" },
            w.rules.join(", ")
        );
        if let Some(images) = &w.images {
            let _ = write!(line, " on {}", escape(&images.join(", ")));
        }
        let _ = write!(line, "  {}", escape(&w.reason));
        if let Some(owner) = &w.owner {
            let _ = write!(line, " (owner {})", escape(owner));
        }
        let _ = write!(line, "  {}", escape(&w.location));
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::store::RuleCountRecord;

    #[test]
    fn sparklines_scale_to_the_rules_maximum() {
        let point = |n| {
            (
                0,
                RuleCountRecord {
                    rule: "r".into(),
                    severity: "error".into(),
                    violations: n,
                    indeterminate: 0,
                    grace: 0,
                    waived: 0,
                    baselined: 0,
                },
            )
        };
        let trend = RuleTrend {
            rule: "r".into(),
            severity: "error".into(),
            points: vec![point(0), point(4), point(8)],
            open: 0,
            time_to_fix: TimeToFix::default(),
        };
        assert_eq!(sparkline(&trend, 40), "▁▅█ 8");
    }
}
