//! `ecm-emulator`: a local HTTP emulator of Tencent Cloud ECM `DescribeImage`, and of the two
//! usage actions `DescribeInstances` and `DescribeModule`, for ecmguard's tests and for trying
//! the live path without an account.
//!
//! It listens on 127.0.0.1 only, verifies TC3-HMAC-SHA256 signatures as the service does
//! (`verify`, an implementation independent of ecmguard's signer), pages a configurable image
//! set with the documented `Offset`/`Limit`/`Filters` semantics and error codes (`data`), and
//! the instances and modules that reference it (`usage`), enforces a requests-per-second limit
//! per action with `RequestLimitExceeded` (leniently or strictly, with seeded arrival jitter:
//! `limiter`), misbehaves on demand, per action (`fault`), answers errors in Chinese when
//! asked to (`X-TC-Language: zh-CN`, as the SDKs and tccli ask: `language`), and logs every
//! request with its action so tests can check rates, retries and pages.
//!
//! It also performs the two write actions, `DeleteImage` and `ModifyImageAttribute`, on its
//! data (`write`: the documented limits and errors, the in-use refusal, public images
//! refused), so later reads see the change; a [`Handle`] lets a test change the data while a
//! client works (rename, delete, make public, put in use), as people do between a plan and
//! its apply.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use ecm_emulator::{Config, Emulator, generate_images};
//! let emulator = Emulator::start(Config::new(generate_images(250))).await?;
//! println!("{}", emulator.url()); // http://127.0.0.1:PORT
//!
//! // The strict reading of "20 requests/s": a sliding window in which refused requests
//! // count, with every request reaching the limiter 0–40 ms late (±20 ms, seed 1).
//! let strict = Config::new(generate_images(250))
//!     .with_strict_limiter(std::time::Duration::from_millis(20), 1);
//! let emulator = Emulator::start(strict).await?;
//! # Ok(()) }
//! ```

mod data;
pub mod fault;
mod language;
pub mod limiter;
pub mod usage;
mod verify;
pub mod write;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use language::Language;

pub use data::{
    DEFAULT_LIMIT, FILTER_NAMES, MAX_FILTERS, MAX_LIMIT, META_KEY, generate_images, synthetic_image,
};
pub use fault::{Fault, FaultRule, FaultScript};
pub use limiter::{Jitter, Limiter, LimiterKind};
pub use usage::{
    DESCRIBE_INSTANCES, DESCRIBE_MODULE, Instance, Module, generate_usage, load_usage,
    synthetic_instance, synthetic_module,
};
pub use write::{
    Change, DELETE_IMAGE, MAX_DELETE_IDS, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS,
    MODIFY_IMAGE_ATTRIBUTE,
};

/// `DescribeImage`.
pub const DESCRIBE_IMAGE: &str = "DescribeImage";

/// The secret id the emulator accepts by default (the dummy of Tencent's documentation).
pub const DEFAULT_SECRET_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
/// The secret key that goes with [`DEFAULT_SECRET_ID`].
pub const DEFAULT_SECRET_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

/// An API key the emulator knows.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    /// The secret id.
    pub secret_id: String,
    /// The secret key.
    pub secret_key: String,
    /// When set, requests signed with this key must carry this `X-TC-Token`.
    pub token: Option<String>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// A permanent key.
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Key {
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
            token: None,
        }
    }

    /// Temporary credentials: the key plus a session token.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }
}

/// The server's idea of "now", in Unix seconds; injectable so tests can skew it.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock::offset(0)
    }

    /// The system clock shifted by `seconds` (positive: the server is ahead).
    pub fn offset(seconds: i64) -> Self {
        Clock(Arc::new(move || unix_now() + seconds))
    }

    /// A clock stopped at `timestamp`.
    pub fn fixed(timestamp: i64) -> Self {
        Clock(Arc::new(move || timestamp))
    }

    /// Any function.
    pub fn from_fn(f: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Clock(Arc::new(f))
    }

    /// The current time of this clock.
    pub fn now(&self) -> i64 {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock(now = {})", self.now())
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// How the emulator behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data set, in the order it is paged. Objects may carry [`META_KEY`] metadata.
    pub images: Vec<Value>,
    /// The instances `DescribeInstances` lists, referencing images by id. Default none.
    pub instances: Vec<Instance>,
    /// The modules `DescribeModule` lists, referencing images by id. Default none.
    pub modules: Vec<Module>,
    /// Accepted keys. Default: [`DEFAULT_SECRET_ID`] / [`DEFAULT_SECRET_KEY`].
    pub keys: Vec<Key>,
    /// Requests per second of each action before `RequestLimitExceeded` (`None`: unlimited).
    /// Default 20, the documented limit; each action is counted on its own, as the service
    /// limits each API.
    pub rate_limit: Option<u32>,
    /// How `rate_limit` counts. Default [`LimiterKind::TokenBucket`] (lenient).
    pub limiter: LimiterKind,
    /// How late each request reaches the limiter (and the rest of the server). Default none.
    pub jitter: Jitter,
    /// Allowed difference between `X-TC-Timestamp` and [`Config::clock`]. Default 5 minutes.
    pub max_skew: Duration,
    /// The server's clock.
    pub clock: Clock,
    /// Added before every answer (emulates network and service time).
    pub latency: Duration,
    /// Misbehaviour on demand.
    pub faults: FaultScript,
    /// Serve at most this many images per page whatever `Limit` asks for (a
    /// server with a lower page cap than documented). `None`: `Limit` as asked.
    pub page_cap: Option<usize>,
}

impl Config {
    /// Defaults around the given images.
    pub fn new(images: Vec<Value>) -> Self {
        Config {
            images,
            instances: Vec::new(),
            modules: Vec::new(),
            keys: vec![Key::new(DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY)],
            rate_limit: Some(20),
            limiter: LimiterKind::TokenBucket,
            jitter: Jitter::none(),
            max_skew: Duration::from_secs(300),
            clock: Clock::system(),
            latency: Duration::ZERO,
            faults: FaultScript::none(),
            page_cap: None,
        }
    }

    /// Serve these instances and modules too.
    pub fn with_usage(mut self, instances: Vec<Instance>, modules: Vec<Module>) -> Self {
        self.instances = instances;
        self.modules = modules;
        self
    }

    /// The strict limiter: `rate_limit` counted over a sliding one-second window of arrival
    /// times in which refused requests count too, each request arriving late by `0..=2 ×
    /// jitter` (`± jitter`), drawn from a sequence chosen by `seed`.
    pub fn with_strict_limiter(mut self, jitter: Duration, seed: u64) -> Self {
        self.limiter = LimiterKind::SlidingWindow;
        self.jitter = Jitter::new(jitter, seed);
        self
    }
}

/// What the emulator did with a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A page: how many items it held and the `TotalCount` it reported.
    Page {
        /// Items in the action's set (0 for `ImageSet: null`…).
        returned: usize,
        /// `TotalCount` as sent.
        total_count: i64,
        /// The set was `null`.
        null_image_set: bool,
    },
    /// An API error envelope with this code.
    ApiError {
        /// `Error.Code`.
        code: String,
    },
    /// A non-200 HTTP answer.
    Http {
        /// The status.
        status: u16,
    },
    /// A page cut in the middle of its JSON (or a write's answer, after the write was done).
    Truncated,
    /// A write action (`DeleteImage`, `ModifyImageAttribute`) was performed on the data.
    Written,
}

/// One logged request.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// 1-based sequence number (every request counted).
    pub seq: u64,
    /// The `RequestId` of the answer: a random version-4 UUID, as the service's are
    /// (also on answers that carry no JSON, where the service would log it).
    pub request_id: String,
    /// Arrival at the limiter, since the emulator started (monotonic clock); includes
    /// [`LogEntry::jitter`].
    pub at: Duration,
    /// `X-TC-Action` as sent (empty when there was none).
    pub action: String,
    /// The arrival jitter this request was held for before it was counted.
    pub jitter: Duration,
    /// HTTP method.
    pub method: String,
    /// `Offset` as requested, when it could be read.
    pub offset: Option<i64>,
    /// `Limit` as requested, when it could be read.
    pub limit: Option<i64>,
    /// `Filters` as requested.
    pub filters: Vec<(String, Vec<String>)>,
    /// Every request header, lowercase names (Authorization included: this is a test tool).
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// Extra delay a fault added before the answer.
    pub delayed: Option<Duration>,
    /// What was answered.
    pub outcome: Outcome,
}

impl LogEntry {
    /// A header's value, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An API error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiErr {
    pub code: String,
    /// In English; answered in the language the request asks for when the
    /// code has a documented text in it (`language`).
    pub message: String,
    /// The message was given (by a fault script): answered as it is, in any language.
    pub verbatim: bool,
}

impl ApiErr {
    pub(crate) fn new(code: &str, message: &str) -> Self {
        ApiErr {
            code: code.to_owned(),
            message: message.to_owned(),
            verbatim: false,
        }
    }

    /// An error whose message is answered word for word.
    pub(crate) fn verbatim(code: &str, message: &str) -> Self {
        ApiErr {
            verbatim: true,
            ..ApiErr::new(code, message)
        }
    }
}

#[derive(Debug)]
struct Inner {
    images: Vec<Value>,
    instances: Vec<Instance>,
    modules: Vec<Module>,
    rules: Vec<fault::RuleState>,
    log: Vec<LogEntry>,
    /// `DescribeImage`'s (and any request's that names no usage action).
    limiter: Option<Limiter>,
    /// One per usage action, made on its first request.
    usage_limiters: Vec<(String, Limiter)>,
    seq: u64,
    inserted: usize,
    clock: Clock,
    /// The images and modules by id, for the usage pages.
    indexes: usage::Indexes,
}

#[derive(Debug)]
struct Shared {
    keys: Vec<Key>,
    rate_limit: Option<u32>,
    limiter_kind: LimiterKind,
    page_cap: Option<usize>,
    max_skew: Duration,
    latency: Duration,
    jitter: Jitter,
    // Requests that reached the server so far, numbering the jitter draws.
    arrivals: AtomicU64,
    started: Instant,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the data half-updated in a way that
        // matters to a test emulator; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Emulator {
    /// Starts on 127.0.0.1 with a free port.
    pub async fn start(config: Config) -> std::io::Result<Self> {
        Emulator::bind(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts on the given address, which must be a loopback address.
    pub async fn bind(config: Config, addr: SocketAddr) -> std::io::Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the emulator listens on loopback addresses only",
            ));
        }
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let now = Instant::now();
        let shared = Arc::new(Shared {
            keys: config.keys,
            rate_limit: config.rate_limit,
            limiter_kind: config.limiter,
            page_cap: config.page_cap,
            max_skew: config.max_skew,
            latency: config.latency,
            jitter: config.jitter,
            arrivals: AtomicU64::new(0),
            started: now,
            inner: Mutex::new(Inner {
                images: config.images,
                instances: config.instances,
                modules: config.modules,
                usage_limiters: Vec::new(),
                rules: config
                    .faults
                    .faults
                    .into_iter()
                    .map(|rule| fault::RuleState { rule, matched: 0 })
                    .collect(),
                log: Vec::new(),
                limiter: config
                    .rate_limit
                    .map(|limit| Limiter::new(config.limiter, limit, now)),
                seq: 0,
                inserted: 0,
                clock: config.clock,
                indexes: usage::Indexes::default(),
            }),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Emulator {
            addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, in arrival order.
    pub fn log(&self) -> Vec<LogEntry> {
        self.shared.lock().log.clone()
    }

    /// Number of requests so far.
    pub fn request_count(&self) -> u64 {
        self.shared.lock().seq
    }

    /// Requests, refusals for the rate and the busiest second so far.
    pub fn summary(&self) -> Summary {
        summarise(&self.shared.lock().log, |_| true)
    }

    /// [`Emulator::summary`] of one action's requests (each action has its own limit).
    pub fn summary_of(&self, action: &str) -> Summary {
        summarise(&self.shared.lock().log, |e| e.action == action)
    }

    /// The current data set (after any inserts and deletes).
    pub fn images(&self) -> Vec<Value> {
        self.shared.lock().images.clone()
    }

    /// The current instances (after any fault that changed them).
    pub fn instances(&self) -> Vec<Instance> {
        self.shared.lock().instances.clone()
    }

    /// The current modules (after any fault that changed them).
    pub fn modules(&self) -> Vec<Module> {
        self.shared.lock().modules.clone()
    }

    /// A handle on the data for tests: change it while a client works (between a plan and
    /// its apply, say), from any task or thread.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Requests of `action` so far (refused ones included).
    pub fn requests_of(&self, action: &str) -> usize {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|e| e.action == action)
            .count()
    }

    /// Replaces the server clock.
    pub fn set_clock(&self, clock: Clock) {
        self.shared.lock().clock = clock;
    }

    /// Replaces the fault script (rule counters start again).
    pub fn set_faults(&self, faults: FaultScript) {
        self.shared.lock().rules = faults
            .faults
            .into_iter()
            .map(|rule| fault::RuleState { rule, matched: 0 })
            .collect();
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Changes the data of a running [`Emulator`] in process (never over HTTP: a user-runnable
/// server has no unauthenticated way to change its data).
#[derive(Debug, Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    /// Makes `change` on the data now; the next answers see it.
    pub fn change(&self, change: &Change) {
        self.shared.lock().change(change);
    }

    /// The current image of this id, as the data holds it.
    pub fn image(&self, id: &str) -> Option<Value> {
        self.shared
            .lock()
            .images
            .iter()
            .find(|image| image.get("ImageId").and_then(Value::as_str) == Some(id))
            .cloned()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn summarise(log: &[LogEntry], which: impl Fn(&LogEntry) -> bool) -> Summary {
    let entries: Vec<&LogEntry> = log.iter().filter(|e| which(e)).collect();
    let throttled = entries
        .iter()
        .filter(
            |e| matches!(&e.outcome, Outcome::ApiError { code } if code == "RequestLimitExceeded"),
        )
        .count();
    let times: Vec<Duration> = entries.iter().map(|e| e.at).collect();
    Summary {
        requests: entries.len() as u64,
        throttled: throttled as u64,
        busiest_second: limiter::busiest(&times, Duration::from_secs(1)),
    }
}

/// What the rate limit saw: [`Emulator::summary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Requests received.
    pub requests: u64,
    /// Requests answered `RequestLimitExceeded` (by the limiter or the fault script).
    pub throttled: u64,
    /// Most requests (refused ones included) that arrived within any one second.
    pub busiest_second: usize,
}

/// What to send, decided under the lock; the answer itself is sent after the sleeps.
enum Reply {
    Json(Value),
    Truncated(Vec<u8>),
    /// A status, a body (default: a small HTML page), and `Retry-After` seconds.
    Http(u16, Option<String>, Option<u64>),
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Jitter is drawn in order of reaching the server, so a seed repeats a run's delays.
    let jitter = shared
        .jitter
        .delay(shared.arrivals.fetch_add(1, Ordering::Relaxed));
    if !jitter.is_zero() {
        tokio::time::sleep(jitter).await;
    }
    let (reply, delay) = decide(
        &shared,
        jitter,
        &method,
        query.as_deref().unwrap_or(""),
        &headers,
        &body,
    );
    let wait = shared.latency + delay.unwrap_or_default();
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    let json_header = [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )];
    match reply {
        Reply::Json(v) => (json_header, v.to_string()).into_response(),
        Reply::Truncated(bytes) => (json_header, bytes).into_response(),
        Reply::Http(status, body, retry_after) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            let body = body.unwrap_or_else(|| {
                format!("<html><body><h1>{status}</h1><p>ecm-emulator gateway</p></body></html>")
            });
            let mut response = (
                status,
                [(header::CONTENT_TYPE, HeaderValue::from_static("text/html"))],
                body,
            )
                .into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
    }
}

/// A `RequestId` as the service makes them: a random version-4 UUID
/// (`6bf23a6f-0be1-48df-b5f6-6cd131e8cdb5`), never a sequence a client could
/// come to rely on.
fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn error_body(err: &ApiErr, request_id: &str, language: Language) -> Value {
    let message = if err.verbatim {
        err.message.clone()
    } else {
        language.message(&err.code, &err.message)
    };
    json!({"Response": {"Error": {"Code": err.code, "Message": message}, "RequestId": request_id}})
}

fn decide(
    shared: &Shared,
    jitter: Duration,
    method: &Method,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> (Reply, Option<Duration>) {
    let mut inner = shared.lock();
    // Read under the lock, so the limiter and the log see arrivals in order.
    let arrived = Instant::now();
    inner.seq += 1;
    let seq = inner.seq;
    let mut entry = LogEntry {
        seq,
        request_id: request_id(),
        at: arrived.duration_since(shared.started),
        action: headers
            .get("x-tc-action")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        jitter,
        method: method.to_string(),
        offset: None,
        limit: None,
        filters: Vec::new(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        delayed: None,
        outcome: Outcome::Http { status: 0 },
    };
    let (reply, delay, outcome) = answer(
        &mut inner, shared, seq, arrived, method, query, headers, body, &mut entry,
    );
    entry.outcome = outcome;
    entry.delayed = delay;
    inner.log.push(entry);
    (reply, delay)
}

#[allow(clippy::too_many_arguments)]
fn answer(
    inner: &mut Inner,
    shared: &Shared,
    seq: u64,
    arrived: Instant,
    method: &Method,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    entry: &mut LogEntry,
) -> (Reply, Option<Duration>, Outcome) {
    let request_id = entry.request_id.clone();
    let language = Language::of(headers);
    let fail = |err: ApiErr| {
        let outcome = Outcome::ApiError {
            code: err.code.clone(),
        };
        (
            Reply::Json(error_body(&err, &request_id, language)),
            None,
            outcome,
        )
    };

    let params = if *method == Method::POST {
        data::parse_json(body)
    } else if *method == Method::GET {
        data::parse_query(query)
    } else {
        Err(ApiErr::new(
            "UnsupportedProtocol",
            "Only GET and POST requests are supported.",
        ))
    };
    // The page parameters are logged even when the request is refused later, so tests can
    // see which page a refused request was for.
    if let Ok(p) = &params {
        entry.offset = Some(p.offset);
        entry.limit = Some(p.limit);
        entry.filters = p.filters.clone();
    }
    let action = entry.action.clone();

    // Every request counts against its action's quota, before its signature or parameters
    // are judged.
    if let Some(limiter) = inner.limiter_for(shared, &action, arrived)
        && !limiter.admit(arrived)
    {
        let limit = limiter.limit();
        return fail(ApiErr::new(
            "RequestLimitExceeded",
            &format!(
                "Your current request rate exceeds the limit of {limit} requests per second for this API. Please reduce the frequency of calls."
            ),
        ));
    }

    let received = verify::Received {
        method: method.as_str(),
        raw_query: query,
        headers,
        body,
    };
    let now = inner.clock.now();
    let max_skew = i64::try_from(shared.max_skew.as_secs()).unwrap_or(i64::MAX);
    if let Err(e) = verify::verify(&received, &shared.keys, now, max_skew) {
        return fail(e);
    }
    match headers.get("x-tc-action").and_then(|v| v.to_str().ok()) {
        None => {
            return fail(ApiErr::new(
                "MissingParameter",
                "The request is missing X-TC-Action.",
            ));
        }
        Some(DESCRIBE_IMAGE) => {}
        Some(name) if usage::is_usage_action(name) || write::is_write_action(name) => {}
        Some(other) => {
            return fail(ApiErr::new(
                "InvalidAction",
                &format!("The action `{other}` is not supported by this emulator."),
            ));
        }
    }
    if headers.get("x-tc-version").and_then(|v| v.to_str().ok()) != Some("2019-07-19") {
        return fail(ApiErr::new(
            "NoSuchVersion",
            "The API version must be 2019-07-19.",
        ));
    }
    if write::is_write_action(&action) {
        let get_query = (*method == Method::GET).then_some(query);
        return match write::parse(&action, get_query, body) {
            Ok(write) => inner.write(seq, &action, &write, &request_id, headers, language),
            Err(e) => fail(e),
        };
    }
    let checked = params.and_then(|p| {
        if action == DESCRIBE_IMAGE {
            data::check(&p)
        } else {
            usage::check(&action, &p)
        }
        .map(|()| p)
    });
    let params = match checked {
        Ok(p) => p,
        Err(e) => return fail(e),
    };

    let fault = fault::pick(&mut inner.rules, seq, &action, Some(params.offset));
    let mut delay = None;
    let mut total_delta = 0i64;
    let mut null_set = false;
    let mut truncate = false;
    let mut extra_before = 0u64;
    let mut shift_back = 0u64;
    if let Some(refusal) = fault.as_ref().and_then(|f| refusal(f, headers)) {
        return refused(refusal, &request_id, language);
    }
    match fault {
        None
        | Some(Fault::Throttle)
        | Some(Fault::InternalError)
        | Some(Fault::ApiError { .. })
        | Some(Fault::Http { .. })
        | Some(Fault::RetryAfter { .. }) => {}
        Some(Fault::Change { change }) => inner.change(&change),
        Some(Fault::Delay { ms }) => delay = Some(Duration::from_millis(ms)),
        Some(Fault::Truncate) => truncate = true,
        Some(Fault::NullImageSet) => null_set = true,
        Some(Fault::TotalCountDelta { delta }) => total_delta = delta,
        Some(Fault::Insert { count, at }) => inner.insert(&action, count, at),
        Some(Fault::Delete { count, at }) => inner.delete(&action, count, at),
        Some(Fault::NullImage { count, at }) => inner.null_image(&action, count, at),
        Some(Fault::Duplicate { count }) => extra_before = count,
        Some(Fault::Overlap { count }) => shift_back = count,
    }

    // The page's window of the matching items: from `Offset` (shifted back by an
    // `overlap`), `Limit` long (capped), with `duplicate` items before it repeated.
    let offset = usize::try_from(params.offset).unwrap_or(usize::MAX);
    let limit = usize::try_from(params.limit).unwrap_or(0);
    let limit = shared.page_cap.map_or(limit, |cap| limit.min(cap));
    let window = |total: usize| {
        let start = offset
            .saturating_sub(usize::try_from(shift_back).unwrap_or(usize::MAX))
            .min(total);
        let end = start.saturating_add(limit).min(total);
        let extra_start = start.saturating_sub(usize::try_from(extra_before).unwrap_or(usize::MAX));
        extra_start..end
    };
    let (set_key, total, page) = if action == DESCRIBE_IMAGE {
        let matched: Vec<&Value> = inner
            .images
            .iter()
            .filter(|img| data::matches(img, &params.filters))
            .collect();
        let page: Vec<Value> = matched[window(matched.len())]
            .iter()
            .map(|img| data::public_view(img))
            .collect();
        ("ImageSet", matched.len(), page)
    } else {
        let data = usage::Data {
            images: &inner.images,
            instances: &inner.instances,
            modules: &inner.modules,
        };
        let (total, page) = usage::page(&action, data, &mut inner.indexes, &params.filters, window);
        (usage::set_key(&action), total, page)
    };
    let total_count = i64::try_from(total)
        .unwrap_or(i64::MAX)
        .saturating_add(total_delta);
    let returned = if null_set { 0 } else { page.len() };
    let mut response = serde_json::Map::new();
    response.insert("TotalCount".into(), json!(total_count));
    response.insert(
        set_key.into(),
        if null_set {
            Value::Null
        } else {
            Value::Array(page)
        },
    );
    response.insert("RequestId".into(), json!(request_id));
    let body = json!({ "Response": response });
    if truncate {
        let bytes = body.to_string().into_bytes();
        let cut = bytes[..bytes.len() / 2].to_vec();
        return (Reply::Truncated(cut), delay, Outcome::Truncated);
    }
    (
        Reply::Json(body),
        delay,
        Outcome::Page {
            returned,
            total_count,
            null_image_set: null_set,
        },
    )
}

impl Inner {
    /// The limiter `action` counts against: each usage and write action has its own, made
    /// on its first request; anything else counts against `DescribeImage`'s.
    fn limiter_for(&mut self, shared: &Shared, action: &str, now: Instant) -> Option<&mut Limiter> {
        if !usage::is_usage_action(action) && !write::is_write_action(action) {
            return self.limiter.as_mut();
        }
        let limit = shared.rate_limit?;
        let index = match self.usage_limiters.iter().position(|(a, _)| a == action) {
            Some(index) => index,
            None => {
                let limiter = Limiter::new(shared.limiter_kind, limit, now);
                self.usage_limiters.push((action.to_owned(), limiter));
                self.usage_limiters.len() - 1
            }
        };
        self.usage_limiters
            .get_mut(index)
            .map(|(_, limiter)| limiter)
    }

    /// `insert`: new items of the action's data at `at` (persistent). Inserted ids are far
    /// beyond any generated index, so they never collide.
    fn insert(&mut self, action: &str, count: u64, at: u64) {
        let image_of = |images: &[Value], n: usize| {
            (!images.is_empty())
                .then(|| {
                    images[n % images.len()]
                        .get("ImageId")?
                        .as_str()
                        .map(str::to_owned)
                })
                .flatten()
        };
        for _ in 0..count {
            let n = 1_000_000_000 + self.inserted;
            self.inserted += 1;
            match action {
                DESCRIBE_INSTANCES => {
                    let at = clamp(at, self.instances.len());
                    let item = synthetic_instance(n, image_of(&self.images, self.inserted));
                    self.instances.insert(at, item);
                }
                DESCRIBE_MODULE => {
                    let at = clamp(at, self.modules.len());
                    let item = synthetic_module(n, image_of(&self.images, self.inserted));
                    self.modules.insert(at, item);
                }
                _ => {
                    let at = clamp(at, self.images.len());
                    self.images.insert(at, synthetic_image(n));
                }
            }
        }
    }

    /// `delete`: `count` items of the action's data from `at` (persistent).
    fn delete(&mut self, action: &str, count: u64, at: u64) {
        fn drain<T>(items: &mut Vec<T>, count: u64, at: u64) {
            let at = clamp(at, items.len());
            let end = at
                .saturating_add(usize::try_from(count).unwrap_or(usize::MAX))
                .min(items.len());
            items.drain(at..end);
        }
        match action {
            DESCRIBE_INSTANCES => drain(&mut self.instances, count, at),
            DESCRIBE_MODULE => drain(&mut self.modules, count, at),
            _ => drain(&mut self.images, count, at),
        }
    }

    /// `null_image`: instances whose image the service cannot name, or modules without a
    /// default image (persistent).
    fn null_image(&mut self, action: &str, count: u64, at: u64) {
        let at = usize::try_from(at).unwrap_or(usize::MAX);
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        match action {
            DESCRIBE_INSTANCES => {
                for instance in self.instances.iter_mut().skip(at).take(count) {
                    instance.image = None;
                }
            }
            DESCRIBE_MODULE => {
                for module in self.modules.iter_mut().skip(at).take(count) {
                    module.default_image = None;
                }
            }
            _ => {}
        }
    }
}

/// A fault that answers instead of the action: an API error or an HTTP status.
enum Refusal {
    Api(ApiErr),
    Http(u16, Option<String>, Option<u64>),
}

/// The refusal `fault` answers with, if it is one (the other faults change the answer or
/// the data, and the action goes on).
fn refusal(fault: &Fault, headers: &HeaderMap) -> Option<Refusal> {
    Some(match fault {
        Fault::Throttle => Refusal::Api(ApiErr::new(
            "RequestLimitExceeded",
            "The request rate exceeds the limit (fault script).",
        )),
        Fault::InternalError => Refusal::Api(ApiErr::new(
            "InternalError",
            "An internal error occurred (fault script).",
        )),
        Fault::ApiError { code, message } => Refusal::Api(match message {
            Some(message) => ApiErr::verbatim(code, message),
            None => ApiErr::new(code, "Error injected by the fault script."),
        }),
        Fault::Http { status, body } => Refusal::Http(
            *status,
            body.as_ref().map(|text| echo_headers(text, headers)),
            None,
        ),
        Fault::RetryAfter { status, seconds } => Refusal::Http(*status, None, Some(*seconds)),
        _ => return None,
    })
}

fn refused(
    refusal: Refusal,
    request_id: &str,
    language: Language,
) -> (Reply, Option<Duration>, Outcome) {
    match refusal {
        Refusal::Api(err) => {
            let outcome = Outcome::ApiError {
                code: err.code.clone(),
            };
            (
                Reply::Json(error_body(&err, request_id, language)),
                None,
                outcome,
            )
        }
        Refusal::Http(status, body, retry_after) => (
            Reply::Http(status, body, retry_after),
            None,
            Outcome::Http { status },
        ),
    }
}

impl Inner {
    /// A checked write request: its fault, if any, then the write on the data. A `delay`
    /// or `truncate` fault answers late or broken *after* the write was done: the case a
    /// client must not take for "not done". The faults that shape pages do nothing here.
    fn write(
        &mut self,
        seq: u64,
        action: &str,
        write: &write::Write,
        request_id: &str,
        headers: &HeaderMap,
        language: Language,
    ) -> (Reply, Option<Duration>, Outcome) {
        let fault = fault::pick(&mut self.rules, seq, action, None);
        if let Some(refusal) = fault.as_ref().and_then(|f| refusal(f, headers)) {
            return refused(refusal, request_id, language);
        }
        let (mut delay, mut truncate) = (None, false);
        match &fault {
            Some(Fault::Change { change }) => self.change(change),
            Some(Fault::Delay { ms }) => delay = Some(Duration::from_millis(*ms)),
            Some(Fault::Truncate) => truncate = true,
            _ => {}
        }
        if let Err(err) = write::perform(write, &mut self.images, &self.instances, &self.modules) {
            return refused(Refusal::Api(err), request_id, language);
        }
        let body = json!({ "Response": { "RequestId": request_id } });
        if truncate {
            let bytes = body.to_string().into_bytes();
            let cut = bytes[..bytes.len() / 2].to_vec();
            return (Reply::Truncated(cut), delay, Outcome::Truncated);
        }
        (Reply::Json(body), delay, Outcome::Written)
    }

    /// A test's change to the data (new instances and modules are numbered past any
    /// generated or inserted one).
    fn change(&mut self, change: &Change) {
        let n = 2_000_000_000 + self.inserted;
        self.inserted += 1;
        write::change(
            change,
            n,
            &mut self.images,
            &mut self.instances,
            &mut self.modules,
        );
    }
}

fn clamp(at: u64, len: usize) -> usize {
    usize::try_from(at).unwrap_or(usize::MAX).min(len)
}

/// `{header:X-TC-Token}` in a fault's body becomes that request header's
/// value: a gateway that echoes what it was sent, for redaction tests.
fn echo_headers(text: &str, headers: &HeaderMap) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{header:") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "{header:".len()..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
            out.push_str(value);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}
