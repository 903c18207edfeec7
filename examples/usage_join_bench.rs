//! Times the usage join inside the evaluation of a snapshot with usage (used by
//! `scripts/bench_usage.sh`). Each of `--runs` runs does what `check --snapshot` does with a
//! policy that reads usage, timed step by step: read the snapshot (images and usage
//! section), check the usage section (totals, ids), join it into the image set (the join:
//! every image's `Usage.*` fields and what uses each), evaluate the policy, and render the
//! JSON report (into a sink). Prints the medians of each step, and the join's share of the
//! whole and of the evaluation alone, as one line of JSON.
//!
//! ```text
//! cargo run --release --example gen_images -- --count 100000 --seed 1 > big.json
//! cargo run --release --example usage_join_bench -- big.json [--runs 7] [--policy policies]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ecmguard::eval::{EvalOptions, FailOn, Verdict, evaluate};
use ecmguard::generate::REFERENCE_NOW;
use ecmguard::policy::{self, CompileOptions};
use ecmguard::report::{Report, RunInfo};
use ecmguard::source::snapshot;
use ecmguard::time::ApiZone;

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[(times.len() - 1) / 2].as_secs_f64() * 1000.0
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut runs = 7usize;
    let mut policy = PathBuf::from("policies");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(runs),
            "--policy" => policy = args.next().map(PathBuf::from).unwrap_or(policy),
            other => file = Some(other.to_owned()),
        }
    }
    let Some(file) = file else {
        eprintln!("usage: usage_join_bench SNAPSHOT [--runs N] [--policy DIR]");
        return ExitCode::from(2);
    };
    let zone = ApiZone::default();
    let now = REFERENCE_NOW.parse().expect("the reference time");
    let options = CompileOptions {
        now,
        zone: zone.clone(),
        params: Vec::new(),
    };
    let pack = match policy::load(&[policy], &options) {
        Ok(loaded) => loaded.policy,
        Err(problems) => {
            eprintln!("the policies do not load: {problems:?}");
            return ExitCode::from(2);
        }
    };
    let mut steps: [Vec<Duration>; 5] = Default::default();
    let (mut images_n, mut instances, mut modules, mut findings) = (0, 0, 0, 0);
    for _ in 0..runs {
        let started = Instant::now();
        let loaded = match snapshot::load(
            &file,
            &zone,
            snapshot::Completeness::Proven,
            &mut std::io::empty(),
        ) {
            Ok(loaded) => loaded,
            Err(e) => {
                eprintln!("{}", e.diag().message);
                return ExitCode::from(2);
            }
        };
        steps[0].push(started.elapsed());
        let started = Instant::now();
        let usage = match snapshot::usage(&file, loaded.usage, "the benchmark") {
            Ok(usage) => usage,
            Err(e) => {
                eprintln!("{}", e.diag().message);
                return ExitCode::from(2);
            }
        };
        steps[1].push(started.elapsed());
        (instances, modules) = (usage.set().instances.len(), usage.set().modules.len());
        let mut images = loaded.images;
        let started = Instant::now();
        images.attach_usage(usage);
        steps[2].push(started.elapsed());
        let started = Instant::now();
        let evaluation = evaluate(
            &pack,
            &images,
            EvalOptions {
                now,
                baseline: None,
                selection: None,
                history: None,
            },
        );
        steps[3].push(started.elapsed());
        findings = evaluation.findings.len();
        images_n = images.len();
        let started = Instant::now();
        let report = Report {
            policy: &pack,
            images: &images,
            run: RunInfo {
                now,
                zone: zone.clone(),
                source: loaded.provenance,
                fail_on: FailOn::default(),
                verdict: Verdict::Fail,
                exit_code: 1,
                duration_seconds: 0.0,
                duplicates_dropped: 0,
                baseline: None,
                root: None,
            },
            evaluation,
        };
        if let Err(e) = ecmguard::report::json::render(&report, &mut std::io::sink()) {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
        steps[4].push(started.elapsed());
    }
    let [read, check, join, eval, render] = steps.map(median);
    let whole = read + check + join + eval + render;
    println!(
        "{{\"images\":{images_n},\"instances\":{instances},\"modules\":{modules},\"findings\":{findings},\
         \"read_ms\":{read:.1},\"usage_check_ms\":{check:.1},\"join_ms\":{join:.1},\"evaluate_ms\":{eval:.1},\
         \"render_ms\":{render:.1},\"join_share\":{:.4},\"join_vs_evaluate\":{:.4}}}",
        join / whole,
        join / eval
    );
    ExitCode::SUCCESS
}
