//! Runs the ECM `DescribeImage` emulator on 127.0.0.1 so the live path can be tried without
//! an account:
//!
//! ```text
//! cargo run --example ecm_emulator -- --images tests/fixtures/tencent/sample_images.json --port 8080
//! cargo run --example ecm_emulator -- --generate 25000 --latency-ms 100 --fault-script faults.yaml
//! ```
//!
//! The first line on stdout is the base URL (for scripts); notes go to stderr. Stops on
//! Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use ecm_emulator::{
    Clock, Config, DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, Emulator, FaultScript, Key,
};

#[derive(Parser)]
#[command(about = "Local emulator of Tencent Cloud ECM DescribeImage (127.0.0.1 only)")]
struct Args {
    /// Images to serve: a JSON array, or a document with `ImageSet` (snapshot, tccli output,
    /// DescribeImage response).
    #[arg(long, required_unless_present = "generate")]
    images: Option<PathBuf>,
    /// Serve this many generated images instead (or in addition, after the file's).
    #[arg(long)]
    generate: Option<usize>,
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Fault script (JSON or YAML), see `ecm_emulator::fault`.
    #[arg(long)]
    fault_script: Option<PathBuf>,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Requests per second before RequestLimitExceeded (0: unlimited).
    #[arg(long, default_value_t = 20)]
    rate_limit: u32,
    /// Accepted secret id (default: $TENCENTCLOUD_SECRET_ID, else the documentation's dummy).
    #[arg(long)]
    secret_id: Option<String>,
    /// Accepted secret key (default: $TENCENTCLOUD_SECRET_KEY, else the documentation's dummy).
    #[arg(long)]
    secret_key: Option<String>,
    /// Require this X-TC-Token (temporary credentials).
    #[arg(long)]
    token: Option<String>,
    /// Shift the server clock by this many seconds (try 600 for AuthFailure.SignatureExpire).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    clock_offset: i64,
}

fn fail(message: String) -> ! {
    eprintln!("ecm_emulator: {message}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let mut images = Vec::new();
    if let Some(path) = &args.images {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
        images = ecm_emulator::load_images(&text)
            .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    }
    if let Some(n) = args.generate {
        images.extend(ecm_emulator::generate_images(n));
    }
    let mut config = Config::new(images);
    if let Some(path) = &args.fault_script {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
        config.faults =
            FaultScript::parse(&text).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (secret_id, secret_key) = match (
        args.secret_id.or_else(|| env("TENCENTCLOUD_SECRET_ID")),
        args.secret_key.or_else(|| env("TENCENTCLOUD_SECRET_KEY")),
    ) {
        (Some(id), Some(key)) => (id, key),
        (None, None) => (DEFAULT_SECRET_ID.to_owned(), DEFAULT_SECRET_KEY.to_owned()),
        _ => fail("give both a secret id and a secret key, or neither".to_owned()),
    };
    let using_dummy = secret_id == DEFAULT_SECRET_ID && secret_key == DEFAULT_SECRET_KEY;
    let mut key = Key::new(secret_id.clone(), secret_key);
    if let Some(token) = args.token {
        key = key.with_token(token);
    }
    config.keys = vec![key];
    config.rate_limit = (args.rate_limit > 0).then_some(args.rate_limit);
    config.latency = Duration::from_millis(args.latency_ms);
    config.clock = Clock::offset(args.clock_offset);
    let count = config.images.len();

    let emulator = Emulator::bind(config, SocketAddr::from(([127, 0, 0, 1], args.port)))
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)));
    println!("{}", emulator.url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "ecm_emulator: serving {count} images at {} (rate limit {}, latency {} ms); Ctrl-C stops",
        emulator.url(),
        match args.rate_limit {
            0 => "none".to_owned(),
            n => format!("{n}/s"),
        },
        args.latency_ms
    );
    if using_dummy {
        eprintln!(
            "ecm_emulator: it accepts the documentation's dummy key:\n  \
             export TENCENTCLOUD_SECRET_ID={DEFAULT_SECRET_ID} TENCENTCLOUD_SECRET_KEY={DEFAULT_SECRET_KEY}"
        );
    } else {
        eprintln!("ecm_emulator: it accepts secret id {secret_id} and its key");
    }
    let _ = tokio::signal::ctrl_c().await;
    emulator.shutdown().await;
}
