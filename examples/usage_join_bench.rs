//! Times the usage join against evaluation (used by `scripts/bench_usage.sh`): reads a
//! snapshot with usage as `check` does, then, `--runs` times, joins the usage index into the
//! image set (build the index, fill every image's `Usage.*` fields) and evaluates the shipped
//! pack on it. Prints the medians and the join's share as one line of JSON.
//!
//! ```text
//! cargo run --release --example gen_images -- --count 100000 --seed 1 > big.json
//! cargo run --release --example usage_join_bench -- big.json [--runs 9] [--policy policies]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ecmguard::eval::{EvalOptions, evaluate};
use ecmguard::generate::REFERENCE_NOW;
use ecmguard::policy::{self, CompileOptions};
use ecmguard::source::snapshot;
use ecmguard::time::ApiZone;
use ecmguard::usage::Usage;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[(times.len() - 1) / 2]
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut runs = 9usize;
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
    let loaded = match snapshot::load(&file, &zone, &mut std::io::empty()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("{}", e.diag().message);
            return ExitCode::from(2);
        }
    };
    let Some(section) = loaded.usage else {
        eprintln!("{file} holds no usage: generate it with gen_images (without --no-usage)");
        return ExitCode::from(2);
    };
    let checked = match snapshot::usage(&file, Some(section), "the benchmark") {
        Ok(usage) => usage.set().clone(),
        Err(e) => {
            eprintln!("{}", e.diag().message);
            return ExitCode::from(2);
        }
    };
    let mut images = loaded.images;
    let (mut joins, mut evaluations) = (Vec::new(), Vec::new());
    let mut findings = 0;
    for _ in 0..runs {
        let set = checked.clone();
        let started = Instant::now();
        images.attach_usage(Usage::new(set));
        joins.push(started.elapsed());
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
        evaluations.push(started.elapsed());
        findings = evaluation.findings.len();
    }
    let (join, evaluation) = (median(joins), median(evaluations));
    println!(
        "{{\"images\":{},\"instances\":{},\"modules\":{},\"findings\":{findings},\"join_ms\":{:.3},\"evaluate_ms\":{:.3},\"join_share\":{:.4}}}",
        images.len(),
        checked.instances.len(),
        checked.modules.len(),
        join.as_secs_f64() * 1000.0,
        evaluation.as_secs_f64() * 1000.0,
        join.as_secs_f64() / evaluation.as_secs_f64()
    );
    ExitCode::SUCCESS
}
