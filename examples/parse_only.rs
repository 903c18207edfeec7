//! Read a snapshot, parse it into the typed model and build the `ImageSet`
//! exactly as `ecmguard check --snapshot` does, then print the image count.
//! The baseline that `scripts/bench_check.sh` compares `check` against.
//!
//! ```sh
//! cargo run --release --example parse_only -- big.json
//! ```

use std::process::ExitCode;

use ecmguard::source::snapshot;
use ecmguard::time::ApiZone;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: parse_only SNAPSHOT.json");
        return ExitCode::from(2);
    };
    match snapshot::load(
        &path,
        &ApiZone::default(),
        snapshot::Completeness::Proven,
        &mut std::io::stdin(),
    ) {
        Ok(loaded) => {
            println!("{}", loaded.images.len());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{:?}", miette::Report::new(error.diag().clone()));
            let error = ecmguard::outcome::Error::Snapshot(error);
            ecmguard::exit::ExitCode::of_error(&error).into()
        }
    }
}
