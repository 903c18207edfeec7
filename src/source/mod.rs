//! Where images come from: a saved snapshot (`snapshot`) or the live API
//! (`live`). Both return a complete image set and its [`Provenance`], the one
//! description of a source that reports show.

pub mod live;
pub mod snapshot;

use serde::Serialize;

use snapshot::Shape;

/// How reports word a completeness the user vouched for.
pub const ASSUMED_COMPLETE: &str = "completeness assumed: --assume-complete";

/// Where the images of a run came from, as reports show it (the JSON
/// report's `run.source`).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Provenance {
    /// A saved result set (`--snapshot`).
    Snapshot {
        /// The path as given (`-` for stdin).
        path: String,
        /// Which accepted shape it had.
        shape: Shape,
        /// Judged as the whole set on the user's word (`--assume-complete`):
        /// a bare array of images states no total that could prove it.
        assumed_complete: bool,
        /// What `ecmguard fetch` recorded, when the snapshot is ours.
        fetched_at: Option<String>,
        endpoint: Option<String>,
        filters: Option<serde_json::Value>,
    },
    /// The live API, fetched by this run.
    Api {
        endpoint: String,
        filters: serde_json::Value,
        pages: u64,
        requests: u64,
        retries: u64,
        restarts: u64,
        fetch_seconds: f64,
    },
}

impl Provenance {
    /// The endpoint the images came from, when known.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            Provenance::Snapshot { endpoint, .. } => endpoint.as_deref(),
            Provenance::Api { endpoint, .. } => Some(endpoint),
        }
    }

    /// The API filters the images were fetched with (`[]` when none or unknown).
    pub fn filters(&self) -> serde_json::Value {
        match self {
            Provenance::Snapshot { filters, .. } => filters
                .clone()
                .unwrap_or(serde_json::Value::Array(Vec::new())),
            Provenance::Api { filters, .. } => filters.clone(),
        }
    }

    /// Count another listing of the run (usage, modules) into the requests, retries, pages,
    /// restarts and time of a live source: they say what the run asked of the API.
    pub fn add_requests(&mut self, stats: &live::FetchStats) {
        if let Provenance::Api {
            pages,
            requests,
            retries,
            restarts,
            fetch_seconds,
            ..
        } = self
        {
            *pages += stats.pages;
            *requests += stats.requests;
            *retries += stats.retries;
            *restarts += stats.restarts;
            *fetch_seconds += stats.duration.as_secs_f64();
        }
    }

    /// HTTP requests this run made, and how many were retries (0 for a snapshot).
    pub fn requests_and_retries(&self) -> (u64, u64) {
        match self {
            Provenance::Snapshot { .. } => (0, 0),
            Provenance::Api {
                requests, retries, ..
            } => (*requests, *retries),
        }
    }

    /// `snapshot PATH` or `live API ENDPOINT`, for headers; a snapshot judged
    /// on the user's word says so.
    pub fn label(&self) -> String {
        match self {
            Provenance::Snapshot {
                path,
                assumed_complete: true,
                ..
            } => format!("snapshot {path} ({ASSUMED_COMPLETE})"),
            Provenance::Snapshot { path, .. } => format!("snapshot {path}"),
            Provenance::Api { endpoint, .. } => format!("live API {endpoint}"),
        }
    }

    /// Whether the images were taken as the whole set on the user's word
    /// rather than proven complete.
    pub fn assumed_complete(&self) -> bool {
        matches!(
            self,
            Provenance::Snapshot {
                assumed_complete: true,
                ..
            }
        )
    }

    /// What kind of source this was, as the history records it: `api`,
    /// `snapshot`, or `snapshot-assumed-complete` for one judged on the
    /// user's word, so a run's record says what its verdict rests on.
    pub fn kind(&self) -> &'static str {
        match self {
            Provenance::Snapshot {
                assumed_complete: true,
                ..
            } => "snapshot-assumed-complete",
            Provenance::Snapshot { .. } => "snapshot",
            Provenance::Api { .. } => "api",
        }
    }

    /// [`Provenance::label`] with the fetch time of a snapshot, when recorded.
    pub fn label_with_time(&self) -> String {
        match self {
            Provenance::Snapshot {
                fetched_at: Some(at),
                ..
            } => format!("{} (fetched {at})", self.label()),
            _ => self.label(),
        }
    }
}
