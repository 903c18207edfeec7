//! Shared helpers: an emulator with generated images, a fast client configuration (high rate,
//! short backoff) for tests where the rate is not what is tested, and a progress recorder.

use std::sync::Mutex;
use std::time::Duration;

use ecm_emulator::{Config, DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, Emulator, FaultScript};
use ecmguard::source::live::{Credentials, FetchProgress, LiveConfig, RetryBudget};

/// An emulator over `n` generated images, no rate limit, with these faults.
pub async fn emulator(n: usize, faults: FaultScript) -> Emulator {
    let mut config = Config::new(ecm_emulator::generate_images(n));
    config.rate_limit = None;
    config.faults = faults;
    Emulator::start(config).await.expect("emulator starts")
}

/// A client configuration for `emulator` that does not wait for long anywhere.
pub fn fast_config(emulator: &Emulator) -> LiveConfig {
    fast_config_at(&emulator.url())
}

/// [`fast_config`] for the emulator at `url` (one that runs on a runtime of its own).
pub fn fast_config_at(url: &str) -> LiveConfig {
    let mut cfg = LiveConfig::new(Credentials::new(
        DEFAULT_SECRET_ID,
        DEFAULT_SECRET_KEY,
        None,
    ));
    cfg.endpoint = url.to_owned();
    cfg.rate = 500.0;
    cfg.timeout = Duration::from_secs(5);
    cfg.retry = RetryBudget {
        max_attempts: 4,
        max_elapsed: Duration::from_secs(10),
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
    };
    cfg.restart_delay = Duration::from_millis(5);
    cfg
}

/// A plain HTTP client for talking to the emulator directly. ecmguard's reqwest has no
/// built-in TLS crypto (`rustls-no-provider`): ring is installed first, as the live client
/// does, or building the client panics unless another test happened to install it.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Records progress events.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<FetchProgress>>);

impl Recorder {
    pub fn callback(&self) -> impl Fn(FetchProgress) + Send + Sync + '_ {
        move |event| self.0.lock().unwrap().push(event)
    }

    pub fn events(&self) -> Vec<FetchProgress> {
        self.0.lock().unwrap().clone()
    }
}

/// The ImageIds of a fetched set, in order.
pub fn ids(images: &[Box<serde_json::value::RawValue>]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Id {
        #[serde(rename = "ImageId")]
        image_id: String,
    }
    images
        .iter()
        .map(|raw| serde_json::from_str::<Id>(raw.get()).unwrap().image_id)
        .collect()
}

/// The ImageIds of the emulator's current data set, in order.
pub fn emulator_ids(emulator: &Emulator) -> Vec<String> {
    emulator
        .images()
        .iter()
        .map(|v| v["ImageId"].as_str().unwrap().to_owned())
        .collect()
}
