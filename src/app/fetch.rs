//! `ecmguard fetch -o FILE`: the complete result set, each image exactly as
//! the API sent it, saved as an ecmguard snapshot. Also the credential
//! resolution every live fetch starts with.

use std::path::Path;

use super::{Io, done, file_failed, stdout_failed, write_file};
use crate::cli::FetchArgs;
use crate::diag::{Code, Diag};
use crate::outcome::{Error, Outcome};
use crate::settings::{FetchSettings, LiveSettings};
use crate::source::live::{self, Fetched, LiveConfig, Progress};
use crate::source::snapshot;

pub(super) fn run(args: &FetchArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let settings = FetchSettings::from_args(args).map_err(Error::Usage)?;
    let (config, fetched) = fetch_live(&settings.live, io.progress)?;
    #[derive(serde::Serialize)]
    struct SnapshotOut<'a> {
        schema: &'static str,
        fetched_at: String,
        endpoint: &'a str,
        filters: serde_json::Value,
        total_count: u64,
        #[serde(rename = "ImageSet")]
        image_set: &'a [Box<serde_json::value::RawValue>],
    }
    let document = SnapshotOut {
        schema: snapshot::SNAPSHOT_SCHEMA,
        fetched_at: settings.zone.rfc3339((io.clock)()),
        endpoint: &config.endpoint,
        filters: config.filters_json(),
        total_count: fetched.total_count,
        image_set: &fetched.images,
    };
    let bytes = serde_json::to_vec_pretty(&document).map_err(|e| {
        Error::Output(
            Diag::error(
                Code::Internal,
                format!("cannot serialise the snapshot: {e}"),
            )
            .with_help("this is a bug; please report it with the command line"),
        )
    })?;
    if settings.output == "-" {
        io.stdout
            .write_all(&bytes)
            .and_then(|()| io.stdout.write_all(b"\n"))
            .map_err(stdout_failed)?;
    } else {
        let path = Path::new(&settings.output);
        let temporary = path.with_extension("partial");
        write_file(&temporary, &bytes)?;
        std::fs::rename(&temporary, path).map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            file_failed(path, &e)
        })?;
        let stats = &fetched.stats;
        let note = format!(
            "fetched {} images in {} pages ({} requests, {} retries) in {:.1}s into {}\n",
            fetched.images.len(),
            stats.pages,
            stats.requests,
            stats.retries,
            stats.duration.as_secs_f64(),
            path.display()
        );
        let _ = io.stderr.write_all(note.as_bytes());
    }
    done()
}

/// Resolve credentials (after everything else was validated) and fetch.
pub(super) fn fetch_live(
    settings: &LiveSettings,
    progress: &dyn Progress,
) -> Result<(LiveConfig, Fetched), Error> {
    let mut config = settings.config.clone();
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let env = |key: &str| std::env::var(key).ok();
    config.credentials =
        live::resolve_credentials(settings.profile.as_deref(), &env, home.as_deref())
            .map_err(|e| Error::Fetch(e.into()))?;
    let fetched = live::fetch_blocking(&config, progress)?;
    Ok((config, fetched))
}
