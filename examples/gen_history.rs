//! Writes a synthetic compliance history for benchmarks: `--runs` daily
//! runs of one account, each with `--findings` findings over `--rules`
//! rules, some fixed and some new every day (a seeded churn), recorded with
//! the same code `check --history` uses, one transaction per run.
//!
//! ```sh
//! cargo run --release --example gen_history -- --history /tmp/h.db --runs 365 --findings 10000
//! cargo run --release -- history --history /tmp/h.db --now 2027-01-01T00:00:00+08:00
//! ```

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use ecmguard::history::store::{Counts, FindingRecord, RuleCountRecord, RunRecord};
use ecmguard::history::{History, OpenOptions, Target};

struct Args {
    history: String,
    runs: u32,
    findings: u32,
    rules: u32,
    churn: f64,
    start: i64,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        history: String::new(),
        runs: 365,
        findings: 10_000,
        rules: 20,
        churn: 0.05,
        // 2026-01-01T00:00:00+08:00
        start: 1_767_196_800,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--history" => args.history = value()?,
            "--runs" => args.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--findings" => {
                args.findings = value()?.parse().map_err(|e| format!("--findings: {e}"))?
            }
            "--rules" => args.rules = value()?.parse().map_err(|e| format!("--rules: {e}"))?,
            "--churn" => args.churn = value()?.parse().map_err(|e| format!("--churn: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.history.is_empty() {
        return Err(
            "usage: gen_history --history DB [--runs N] [--findings N] [--rules N] [--churn F]"
                .into(),
        );
    }
    if args.rules == 0 {
        return Err("--rules must be at least 1".into());
    }
    Ok(args)
}

/// A small seeded generator (xorshift), so every run of the benchmark
/// writes the same history.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let target = match Target::parse(&args.history) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let options = OpenOptions {
        create: true,
        pg_password: std::env::var("PGPASSWORD").ok(),
        pg_passfile: ecmguard::history::pgpass::location(
            std::env::var("PGPASSFILE").ok().as_deref(),
            std::env::var("HOME").ok().as_deref(),
        ),
    };
    let mut history = match History::open(&target, &options) {
        Ok(h) => h,
        Err(d) => {
            eprintln!("{}", d.message);
            return ExitCode::from(2);
        }
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // The failing (rule, image) pairs: `findings` of them, drawn from a
    // larger pool so new ones can appear as others are fixed.
    let pool = u64::from(args.findings) * 4;
    let mut open: BTreeSet<(u32, u64)> = BTreeSet::new();
    while open.len() < args.findings as usize {
        open.insert((
            (rng.next() % u64::from(args.rules)) as u32,
            rng.next() % pool,
        ));
    }
    let started = Instant::now();
    let churn = (f64::from(args.findings) * args.churn) as usize;
    for day in 0..args.runs {
        if day > 0 {
            // Fix some, break others: the count stays about the same.
            let fixed: Vec<(u32, u64)> = open
                .iter()
                .copied()
                .filter(|_| rng.next() % 1000 < (args.churn * 1000.0) as u64)
                .collect();
            for key in fixed {
                open.remove(&key);
            }
            let mut added = 0;
            while added < churn {
                let key = (
                    (rng.next() % u64::from(args.rules)) as u32,
                    rng.next() % pool,
                );
                if open.insert(key) {
                    added += 1;
                }
            }
        }
        let time = args.start + i64::from(day) * 86_400;
        let findings: Vec<FindingRecord> = open
            .iter()
            .map(|(rule, image)| FindingRecord {
                rule: format!("rule-{rule:03}"),
                image: Some(format!("img-{image:08x}")),
                status: "violation".into(),
                severity: if rule % 3 == 0 { "error" } else { "warning" }.into(),
                message: format!(
                    "ImageState is \"CREATING\", expected equal to \"NORMAL\" ({rule})"
                ),
                // Recomputed from the stored streaks when the run is recorded.
                first_seen: time,
            })
            .collect();
        let rule_counts: Vec<RuleCountRecord> = (0..args.rules)
            .map(|rule| RuleCountRecord {
                rule: format!("rule-{rule:03}"),
                severity: if rule % 3 == 0 { "error" } else { "warning" }.into(),
                violations: open.iter().filter(|(r, _)| *r == rule).count() as i64,
                indeterminate: 0,
                grace: 0,
                waived: 0,
                baselined: 0,
            })
            .collect();
        let errors = findings.iter().filter(|f| f.severity == "error").count() as i64;
        let run = RunRecord {
            time,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            account: "bench".into(),
            source: "snapshot".into(),
            source_path: Some("generated.json".into()),
            endpoint: None,
            filters: "[]".into(),
            policy_digest: "0".repeat(64),
            fail_on: "error".into(),
            images: pool as i64,
            rules: i64::from(args.rules),
            counts: Counts {
                violations_error: errors,
                violations_warning: findings.len() as i64 - errors,
                failing: errors,
                ..Counts::default()
            },
            verdict: "fail".into(),
            exit_code: 1,
            narrowed: false,
            checked_images: None,
            account_fingerprint: None,
            rule_counts,
        };
        if let Err(d) = history.record(&run, &findings, None, &mut || {}) {
            eprintln!("{}", d.message);
            return ExitCode::from(2);
        }
    }
    eprintln!(
        "recorded {} runs of {} findings into {} in {:.1}s",
        args.runs,
        args.findings,
        PathBuf::from(&args.history).display(),
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
