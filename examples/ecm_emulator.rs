//! Runs the ECM emulator (`DescribeImage`, `DescribeInstances` and `DescribeModule` for
//! usage, and the writes `apply` sends, `DeleteImage` and `ModifyImageAttribute`, on its own
//! data) on 127.0.0.1 so the live path and remediation can be tried without an account:
//!
//! ```text
//! cargo run --example ecm_emulator -- --images examples/snapshots/account.json --port 8080   # its usage too
//! cat page*.json | cargo run --example ecm_emulator -- --images -
//! cargo run --example ecm_emulator -- --generate 25000 --latency-ms 100 --fault-script faults.yaml
//! cargo run --example ecm_emulator -- --generate 10000 --instances 20000 --modules 500
//! cargo run --example ecm_emulator -- --generate 25000 --limiter sliding-window --jitter-ms 20
//! ```
//!
//! The first line on stdout is the base URL (for scripts); notes go to stderr. Stops on
//! Ctrl-C or SIGTERM, printing what the rate limit saw (requests, throttled, busiest second)
//! to stderr.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use ecm_emulator::{
    Clock, Config, DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, Emulator, FaultScript, Jitter, Key,
    LimiterKind,
};
use ecmguard::source::snapshot::{self, Completeness};

/// How the rate limit counts (see `ecm_emulator::limiter`).
#[derive(Clone, Copy, ValueEnum)]
enum Limiter {
    /// Lenient: a bucket of N tokens refilled at N per second.
    TokenBucket,
    /// Strict: a sliding 1-second window over arrival times; throttled requests count too.
    SlidingWindow,
}

#[derive(Parser)]
#[command(
    about = "Local emulator of Tencent Cloud ECM: DescribeImage, DescribeInstances, DescribeModule, DeleteImage and ModifyImageAttribute (127.0.0.1 only)"
)]
struct Args {
    /// Images to serve, in any shape `ecmguard check --snapshot` reads (`-` for stdin): a
    /// snapshot, a DescribeImage response, tccli output, the pages of one listing (a JSON
    /// array of them, or one after another), or a JSON array of images (the whole account).
    /// A file's `instances` and `modules` sections (or a snapshot's `usage`) are the usage
    /// DescribeInstances and DescribeModule serve.
    #[arg(long, value_name = "FILE", required_unless_present = "generate")]
    images: Option<String>,
    /// Serve this many generated images instead (or in addition, after the file's), with
    /// generated usage (--instances, --modules).
    #[arg(long)]
    generate: Option<usize>,
    /// Generated instances over the generated images (default: twice as many as images).
    #[arg(long, requires = "generate")]
    instances: Option<usize>,
    /// Generated modules (default: one for every 20 generated images).
    #[arg(long, requires = "generate")]
    modules: Option<usize>,
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Fault script (JSON or YAML), see `ecm_emulator::fault`.
    #[arg(long)]
    fault_script: Option<PathBuf>,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Requests per second of each action before RequestLimitExceeded (0: unlimited).
    #[arg(long, default_value_t = 20)]
    rate_limit: u32,
    /// How the rate limit counts.
    #[arg(long, value_enum, default_value_t = Limiter::TokenBucket)]
    limiter: Limiter,
    /// Arrival jitter: each request reaches the limiter 0 to 2×N ms late (±N ms).
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Seed of the jitter sequence (the same seed gives the same delays).
    #[arg(long, default_value_t = 1)]
    jitter_seed: u64,
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
    let (mut instances, mut modules) = (Vec::new(), Vec::new());
    if let Some(name) = &args.images {
        // ecmguard's own reader: the same shapes and checks as `--snapshot`,
        // each image kept exactly as written. The file defines the account,
        // so a bare array is its whole set.
        images = snapshot::load_json(name, Completeness::Assumed, &mut std::io::stdin())
            .unwrap_or_else(|error| {
                eprintln!("{:?}", miette::Report::new(error.diag().clone()));
                let code =
                    ecmguard::exit::ExitCode::of_error(&ecmguard::outcome::Error::Snapshot(error));
                std::process::exit(i32::from(code.code()))
            });
        if name != "-" {
            let text =
                std::fs::read_to_string(name).unwrap_or_else(|e| fail(format!("{name}: {e}")));
            (instances, modules) =
                ecm_emulator::load_usage(&text).unwrap_or_else(|e| fail(format!("{name}: {e}")));
        }
    }
    if let Some(n) = args.generate {
        let generated = ecm_emulator::generate_images(n);
        let (more_instances, more_modules) = ecm_emulator::generate_usage(
            &generated,
            args.instances.unwrap_or(2 * n),
            args.modules.unwrap_or(n / 20),
        );
        images.extend(generated);
        instances.extend(more_instances);
        modules.extend(more_modules);
    }
    let mut config = Config::new(images).with_usage(instances, modules);
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
    config.limiter = match args.limiter {
        Limiter::TokenBucket => LimiterKind::TokenBucket,
        Limiter::SlidingWindow => LimiterKind::SlidingWindow,
    };
    config.jitter = Jitter::new(Duration::from_millis(args.jitter_ms), args.jitter_seed);
    config.latency = Duration::from_millis(args.latency_ms);
    config.clock = Clock::offset(args.clock_offset);
    let count = config.images.len();
    let (instance_count, module_count) = (config.instances.len(), config.modules.len());

    let emulator = Emulator::bind(config, SocketAddr::from(([127, 0, 0, 1], args.port)))
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)));
    println!("{}", emulator.url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "ecm_emulator: serving {count} images, {instance_count} instances and {module_count} modules at {} (rate limit {} per action, latency {} ms, jitter ±{} ms); Ctrl-C stops",
        emulator.url(),
        match (args.rate_limit, args.limiter) {
            (0, _) => "none".to_owned(),
            (n, Limiter::TokenBucket) => format!("{n}/s, token bucket"),
            (n, Limiter::SlidingWindow) => format!("{n}/s, sliding window"),
        },
        args.latency_ms,
        args.jitter_ms
    );
    if using_dummy {
        eprintln!(
            "ecm_emulator: it accepts the documentation's dummy key:\n  \
             export TENCENTCLOUD_SECRET_ID={DEFAULT_SECRET_ID} TENCENTCLOUD_SECRET_KEY={DEFAULT_SECRET_KEY}"
        );
    } else {
        eprintln!("ecm_emulator: it accepts secret id {secret_id} and its key");
    }
    stopped().await;
    let s = emulator.summary();
    eprintln!(
        "ecm_emulator: {} requests, {} throttled (RequestLimitExceeded), at most {} in any 1 s",
        s.requests, s.throttled, s.busiest_second
    );
    // Each action is limited on its own: what each one's limiter saw.
    for action in [
        ecm_emulator::DESCRIBE_IMAGE,
        ecm_emulator::DESCRIBE_INSTANCES,
        ecm_emulator::DESCRIBE_MODULE,
        ecm_emulator::DELETE_IMAGE,
        ecm_emulator::MODIFY_IMAGE_ATTRIBUTE,
    ] {
        let s = emulator.summary_of(action);
        if s.requests > 0 {
            eprintln!(
                "ecm_emulator: {action}: {} requests, {} throttled, at most {} in any 1 s",
                s.requests, s.throttled, s.busiest_second
            );
        }
    }
    emulator.shutdown().await;
}

/// Ctrl-C, or SIGTERM (what scripts send to a background job, which ignores SIGINT).
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
