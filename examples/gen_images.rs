//! Write a seeded, realistic `ecmguard/snapshot/v1` image set to stdout:
//!
//! ```sh
//! cargo run --release --example gen_images -- --count 100000 --seed 1 [--violating 0.1] [--now RFC3339] [--no-usage] > big.json
//! ```
//!
//! Check it with the same `--now` (default `2026-01-01T00:00:00+08:00`); the
//! number of violating images is printed on stderr. The snapshot holds its usage
//! (about two instances per image) unless `--no-usage` is given; the shipped
//! pack reads usage, so it checks only snapshots with usage.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use ecmguard::generate::{GenOptions, REFERENCE_NOW, write_snapshot};

const USAGE: &str = "usage: gen_images --count N [--seed S] [--violating FRACTION] [--now RFC3339] [--no-usage] > snapshot.json";

fn parse_args() -> Result<GenOptions, String> {
    let mut options = GenOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.to_owned());
        }
        if flag == "--no-usage" {
            options.usage = false;
            continue;
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |what: &str| format!("{flag} {value:?}: expected {what}\n{USAGE}");
        match flag.as_str() {
            "--count" => options.count = value.parse().map_err(|_| bad("a count"))?,
            "--seed" => options.seed = value.parse().map_err(|_| bad("an integer"))?,
            "--violating" => {
                options.violating = value
                    .parse()
                    .ok()
                    .filter(|v: &f64| (0.0..=1.0).contains(v))
                    .ok_or_else(|| bad("a fraction between 0 and 1"))?
            }
            "--now" => {
                options.now = ecmguard::time::parse_now(&value).map_err(|e| bad(&e))?;
            }
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    match write_snapshot(&options, &mut out).and_then(|n| out.flush().map(|()| n)) {
        Ok(violating) => {
            eprintln!(
                "{} images, {violating} violating (check with --now {})",
                options.count,
                if options.now == GenOptions::default().now {
                    REFERENCE_NOW.to_owned()
                } else {
                    options.now.to_string()
                }
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("gen_images: {err}");
            ExitCode::FAILURE
        }
    }
}
