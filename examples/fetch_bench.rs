//! Times one complete live fetch and prints its figures as JSON (used by
//! `scripts/bench_fetch.sh`; `ecmguard fetch` does the same job for users).
//!
//! ```text
//! cargo run --release --example fetch_bench -- --endpoint http://127.0.0.1:PORT [--rate 20]
//! ```
//! Credentials come from the usual places (environment, then the SDK credentials file).

use clap::Parser;
use ecmguard::source::live::{LiveConfig, fetch_all, resolve_credentials};

#[derive(Parser)]
struct Args {
    /// The endpoint to fetch from.
    #[arg(long)]
    endpoint: String,
    /// Requests per second.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let env = |k: &str| std::env::var(k).ok();
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let credentials = match resolve_credentials(None, &env, home.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "{:?}",
                miette::Report::new(ecmguard::source::live::FetchError::from(e).diag())
            );
            return std::process::ExitCode::from(3);
        }
    };
    let mut cfg = LiveConfig::new(credentials);
    cfg.endpoint = args.endpoint;
    cfg.rate = args.rate;
    match fetch_all(&cfg, &|_| {}).await {
        Ok(fetched) => {
            let ids: std::collections::HashSet<String> = fetched
                .images
                .iter()
                .filter_map(|raw| {
                    serde_json::from_str::<serde_json::Value>(raw.get())
                        .ok()?
                        .get("ImageId")?
                        .as_str()
                        .map(str::to_owned)
                })
                .collect();
            let s = &fetched.stats;
            println!(
                "{}",
                serde_json::json!({
                    "images": fetched.images.len(),
                    "distinct_image_ids": ids.len(),
                    "total_count": fetched.total_count,
                    "pages": s.pages,
                    "requests": s.requests,
                    "retries": s.retries,
                    "throttled": s.throttled,
                    "restarts": s.restarts,
                    "rate": args.rate,
                    "duration_s": s.duration.as_secs_f64(),
                })
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{:?}", miette::Report::new(e.diag()));
            let error = ecmguard::outcome::Error::Fetch(e);
            ecmguard::exit::ExitCode::of_error(&error).into()
        }
    }
}
