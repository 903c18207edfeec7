//! The errors of the live path: [`FetchError`] and the API error detail [`ApiError`]. Each
//! becomes one [`Diag`] with its code from the one code table and a help line saying what to
//! do; which exit class each stands for is decided in `exit`, not here.
//!
//! Nothing here ever holds the secret key or the token: the strings that come from outside
//! (server messages, transport errors, response bodies) are passed through the client's
//! redaction before they are stored.

use std::fmt;
use std::time::Duration;

use std::borrow::Cow;

use thiserror::Error;

use crate::text::escape;

use super::action::{Action, DESCRIBE_IMAGE};
use super::credentials::CredentialsError;
use super::filters::FilterError;
use crate::diag::{Code, Diag};

/// Why a fetch did not produce the complete result set: either the invocation cannot be
/// used (nothing was sent: filters, endpoint, settings) or the data could not be obtained.
#[derive(Debug, Error)]
pub enum FetchError {
    /// A filter is not acceptable to the API; found before any request.
    #[error(transparent)]
    Filter(#[from] FilterError),

    /// No usable credentials.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),

    /// `http://` to a host that is not loopback.
    #[error("refusing plain http:// endpoint {endpoint}: only loopback hosts may use http")]
    InsecureEndpoint {
        /// The endpoint as given.
        endpoint: String,
    },

    /// The endpoint is not a usable URL.
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    BadEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A setting of [`super::LiveConfig`] is out of range (rate, timeout, budget).
    #[error("invalid live-fetch setting: {reason}")]
    InvalidSetting {
        /// Which setting and why.
        reason: String,
    },

    /// The HTTP client could not be built (TLS setup).
    #[error("cannot set up the HTTPS client: {detail}")]
    ClientSetup {
        /// The underlying error.
        detail: String,
    },

    /// The async runtime the fetch runs on could not be started.
    #[error("cannot start the async runtime: {detail}")]
    Runtime {
        /// The underlying error.
        detail: String,
    },

    /// The API answered with an error (`Response.Error`).
    #[error(transparent)]
    Api(Box<ApiError>),

    /// Could not connect, or the connection broke, on every attempt.
    #[error("network error on the page at Offset {offset}: {}{}", escape(detail), gave_up(*.attempts, *.elapsed))]
    Transport {
        /// Offset of the page being fetched.
        offset: u64,
        /// What failed.
        detail: String,
        /// Not retried: it would fail the same way (TLS, certificate, unknown host).
        permanent: bool,
        /// Requests made for this page.
        attempts: u32,
        /// Time spent on this page.
        elapsed: Duration,
    },

    /// Every attempt timed out.
    #[error(
        "request for the page at Offset {offset} timed out after {}{}",
        fmt_duration(*.timeout),
        gave_up(*.attempts, *.elapsed)
    )]
    Timeout {
        /// Offset of the page being fetched.
        offset: u64,
        /// The per-request timeout.
        timeout: Duration,
        /// Requests made for this page.
        attempts: u32,
        /// Time spent on this page.
        elapsed: Duration,
    },

    /// A non-200 HTTP status (API errors come with HTTP 200, so this is a gateway or proxy).
    #[error("HTTP {status} for the page at Offset {offset}{}{}", body_note(.body), gave_up(*.attempts, *.elapsed))]
    HttpStatus {
        /// Offset of the page being fetched.
        offset: u64,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body, for context.
        body: String,
        /// Requests made for this page.
        attempts: u32,
        /// Time spent on this page.
        elapsed: Duration,
    },

    /// The response was not a DescribeImage envelope (truncated, not JSON, missing fields).
    #[error("unreadable response for the page at Offset {offset}: {detail}{}", gave_up(*.attempts, *.elapsed))]
    MalformedResponse {
        /// Offset of the page being fetched.
        offset: u64,
        /// What was wrong.
        detail: String,
        /// Requests made for this page.
        attempts: u32,
        /// Time spent on this page.
        elapsed: Duration,
    },

    /// The response body exceeded the size limit.
    #[error("response for the page at Offset {offset} is larger than {limit} bytes")]
    ResponseTooLarge {
        /// Offset of the page being fetched.
        offset: u64,
        /// The limit in bytes.
        limit: usize,
    },

    /// An image of a complete answer does not fit the DescribeImage model, so the set
    /// cannot be judged.
    #[error("image {position} of the API's answer does not fit the DescribeImage model: {detail}")]
    ImageModel {
        /// 1-based position in the result set.
        position: usize,
        /// What did not fit.
        detail: String,
    },

    /// A page holds an item (an image, an instance, a module) without its id: it cannot be
    /// de-duplicated (or baselined), so the result set cannot be known.
    #[error(
        "{} {position} of the page at Offset {offset} has no {} (RequestId {})",
        .action.item,
        .action.id_key,
        escape(request_id)
    )]
    ImageWithoutId {
        /// Which listing.
        action: &'static Action,
        /// Offset of the page.
        offset: u64,
        /// 1-based position in the page.
        position: usize,
        /// `Response.RequestId`.
        request_id: String,
    },

    /// An instance or module of a usage listing does not fit the documented model (a member
    /// of the wrong type), so what it uses cannot be read.
    #[error(
        "{} {position} of the page at Offset {offset} does not fit the {} model: {} (RequestId {})",
        .action.item,
        .action.name,
        escape(detail),
        escape(request_id)
    )]
    ItemModel {
        /// Which listing.
        action: &'static Action,
        /// Offset of the page.
        offset: u64,
        /// 1-based position in the page.
        position: usize,
        /// What did not fit.
        detail: String,
        /// `Response.RequestId`.
        request_id: String,
    },

    /// `TotalCount` beyond what any account holds: refused before anything is planned for it.
    #[error("the API reports a TotalCount of {total}, beyond the {limit} images ecmguard accepts")]
    TotalTooLarge {
        /// `TotalCount` as sent.
        total: u64,
        /// [`super::MAX_TOTAL_COUNT`].
        limit: u64,
    },

    /// A page that does not match its request (more images than `Limit`).
    #[error("the page at Offset {offset} does not match its request: {detail}")]
    PageMismatch {
        /// Offset of the page.
        offset: u64,
        /// What did not match.
        detail: String,
    },

    /// The whole fetch took longer than `--deadline`.
    #[error("the fetch did not finish within --deadline {}", fmt_duration(*.deadline))]
    Deadline {
        /// The deadline.
        deadline: Duration,
    },

    /// The listing never produced a consistent result set within the restart budget.
    #[error("the {} list did not settle after {}: {reason}", .action.item, crate::text::count(u64::from(*restarts), "restart", "restarts"))]
    Unsettled {
        /// Which listing.
        action: &'static Action,
        /// Restarts made before giving up.
        restarts: u32,
        /// The last inconsistency seen.
        reason: String,
    },

    /// A usage listing (`DescribeInstances`, `DescribeModule`) failed as `error` says. Usage
    /// is only listed because something reads it (`needed_by`), which the help names, so a
    /// user can tell what needs the permission or the retry.
    #[error("{}", usage_failure(.action, .error))]
    Usage {
        /// Which listing.
        action: &'static Action,
        /// What reads usage, e.g. `the rules unused-private-images-expire and
        /// running-images-are-current` or `--usage`.
        needed_by: String,
        /// How it failed.
        error: Box<FetchError>,
    },
}

/// An API error names its action itself; any other failure of a usage listing is prefixed
/// with it (`DescribeInstances: network error on the page at Offset 300: …`).
fn usage_failure(action: &Action, error: &FetchError) -> String {
    match error {
        FetchError::Api(_) => error.to_string(),
        other => format!("{}: {other}", action.name),
    }
}

impl FetchError {
    /// The diagnostic code of this error.
    pub fn code(&self) -> Code {
        match self {
            FetchError::Filter(e) => e.code(),
            FetchError::Credentials(e) => e.code(),
            FetchError::InsecureEndpoint { .. } => Code::InsecureEndpoint,
            FetchError::BadEndpoint { .. } => Code::InvalidEndpoint,
            FetchError::InvalidSetting { .. } => Code::InvalidFetchSetting,
            FetchError::ClientSetup { .. } => Code::ClientSetup,
            FetchError::Runtime { .. } => Code::Internal,
            FetchError::Api(e) => e.kind.code(),
            FetchError::Transport { .. } => Code::NetworkError,
            FetchError::Timeout { .. } => Code::NetworkTimeout,
            FetchError::HttpStatus { .. } => Code::HttpStatus,
            FetchError::MalformedResponse { .. } => Code::ApiMalformedResponse,
            FetchError::ResponseTooLarge { .. } => Code::ApiResponseTooLarge,
            FetchError::ImageModel { .. } => Code::ApiImageModel,
            FetchError::ImageWithoutId { action, .. } if *action == &DESCRIBE_IMAGE => {
                Code::ApiImageWithoutId
            }
            FetchError::ImageWithoutId { .. } => Code::ApiUsageWithoutId,
            FetchError::ItemModel { .. } => Code::ApiUsageModel,
            FetchError::TotalTooLarge { .. } => Code::ApiTotalTooLarge,
            FetchError::PageMismatch { .. } => Code::ApiPageMismatch,
            FetchError::Deadline { .. } => Code::FetchDeadline,
            FetchError::Unsettled { .. } => Code::PaginationUnsettled,
            FetchError::Usage { error, .. } => match error.api_error() {
                Some(api) if api.kind == ApiErrorKind::Unauthorized => Code::UsageUnauthorized,
                _ => error.code(),
            },
        }
    }

    /// What to do about it.
    pub fn help(&self) -> String {
        match self {
            FetchError::Filter(e) => e.help(),
            FetchError::Credentials(e) => e.help().to_owned(),
            FetchError::InsecureEndpoint { .. } => {
                "use https:// (the default is https://ecm.tencentcloudapi.com); http:// is allowed \
                 only for 127.0.0.0/8, ::1 and localhost, e.g. the local emulator"
                    .to_owned()
            }
            FetchError::BadEndpoint { .. } => "give a URL such as https://ecm.tencentcloudapi.com \
                 (scheme, host and optional port; no path)"
                .to_owned(),
            FetchError::InvalidSetting { .. } => {
                "--rate must be a positive number of requests per \
                 second and --timeout a positive duration"
                    .to_owned()
            }
            FetchError::ClientSetup { .. } | FetchError::Runtime { .. } => {
                "this is a bug or a resource limit of the machine; please report it with the \
                 command line"
                    .to_owned()
            }
            FetchError::Api(e) => e.hint(),
            FetchError::Transport {
                permanent: true, ..
            } => "not retried: a TLS or certificate failure, or a host name that does not \
                  exist, is the same on every attempt. Check --endpoint (the host, and that \
                  it serves HTTPS with a certificate this machine trusts) and proxies"
                .to_owned(),
            FetchError::Transport { .. } => "check the network, proxy settings (HTTPS_PROXY) and \
                 --endpoint; the fetch can be run again safely"
                .to_owned(),
            FetchError::Timeout { .. } => {
                "raise --timeout, or check the network path to the endpoint".to_owned()
            }
            FetchError::HttpStatus { status, .. } => http_help(*status).to_owned(),
            FetchError::MalformedResponse { .. } => "the endpoint did not answer like \
                 DescribeImage; check --endpoint, or run again"
                .to_owned(),
            FetchError::ResponseTooLarge { .. } => "the endpoint sent far more than one page of \
                 images; check --endpoint"
                .to_owned(),
            FetchError::ImageModel { .. } => "save the raw answer with `ecmguard fetch -o FILE` \
                 and report it; no verdict is given on data that cannot be read"
                .to_owned(),
            FetchError::ImageWithoutId { action, .. } => format!(
                "every {} {} has an {}; check --endpoint (this is not the {} API, or it is \
                 broken). No verdict is given on a set whose {} cannot be told apart.",
                action.name, action.item, action.id_key, action.name, action.items
            ),
            FetchError::ItemModel { .. } => "the API sent data outside its documented model; \
                 report it with the RequestId. No verdict is given on usage that cannot be read."
                .to_owned(),
            FetchError::Deadline { .. } => "the endpoint answers too slowly (or throttles too \
                 much) to list the account in time; run again later, or raise --deadline"
                .to_owned(),
            FetchError::TotalTooLarge { .. } | FetchError::PageMismatch { .. } => {
                "the endpoint does not answer like the DescribeImage API; check --endpoint. \
                 No verdict is given on an answer that cannot be right."
                    .to_owned()
            }
            FetchError::Unsettled { action, .. } => format!(
                "{} were being created or deleted while the pages were read (or the API paged \
                 inconsistently); run again when the account is quiet. No partial result is used.",
                action.items
            ),
            FetchError::Usage {
                action,
                needed_by,
                error,
            } => match error.api_error() {
                Some(api) if api.kind == ApiErrorKind::Unauthorized => format!(
                    "the identity of {} lacks the CAM permission {}, and usage is needed by \
                     {needed_by}: attach a policy that allows {} and {} (a read-only ECM \
                     policy is enough), or remove what reads Usage.*",
                    api.secret_id,
                    action.permission(),
                    super::action::DESCRIBE_INSTANCES.permission(),
                    super::action::DESCRIBE_MODULE.permission(),
                ),
                _ => format!(
                    "{} (usage is needed by {needed_by}; no count is ever taken from an \
                     incomplete listing)",
                    error.help()
                ),
            },
        }
    }

    /// The one diagnostic this error is shown as.
    pub fn diag(&self) -> Diag {
        Diag::error(self.code(), self.to_string()).with_help(self.help())
    }

    /// The API error detail, when the API answered with one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            FetchError::Api(e) => Some(e),
            FetchError::Usage { error, .. } => error.api_error(),
            _ => None,
        }
    }
}

impl From<ApiError> for FetchError {
    fn from(e: ApiError) -> Self {
        FetchError::Api(Box::new(e))
    }
}

fn gave_up(attempts: u32, elapsed: Duration) -> String {
    if attempts > 1 {
        format!(
            " (gave up after {attempts} attempts in {})",
            fmt_duration(elapsed)
        )
    } else {
        String::new()
    }
}

fn body_note(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {}", escape(body))
    }
}

fn http_help(status: u16) -> &'static str {
    if status >= 500 || status == 429 {
        "the endpoint or a gateway in front of it kept failing past the retry budget; run again later"
    } else {
        "the endpoint answered like a web server, not like the Tencent Cloud API; check --endpoint and proxies"
    }
}

pub(crate) fn fmt_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// How an API error code is understood: it picks the diagnostic code, the hint, and (in
/// `retry`) whether it is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// `AuthFailure.SignatureExpire`: the local clock is off by more than 5 minutes.
    SignatureExpire,
    /// `AuthFailure.SecretIdNotFound` / `AuthFailure.InvalidSecretId`: the id is unknown.
    SecretIdNotFound,
    /// `AuthFailure.SignatureFailure`: the key does not match the id.
    SignatureFailure,
    /// `AuthFailure.TokenFailure`: the session token is invalid or expired.
    TokenFailure,
    /// `UnauthorizedOperation*`, `AuthFailure.UnauthorizedOperation`: CAM permission missing.
    Unauthorized,
    /// Any other `AuthFailure.*`.
    AuthFailure,
    /// `RequestLimitExceeded*`: throttled (retried until the budget is spent).
    Throttled,
    /// `InternalError*`, `ServiceUnavailable`, `FailedOperation.InternalOperationFailure`,
    /// `ResourceUnavailable`: transient server trouble (retried until the budget is spent).
    ServerError,
    /// `InvalidParameter*`, `MissingParameter*`, `UnknownParameter`: the request was rejected.
    InvalidRequest,
    /// Anything else.
    Other,
}

impl ApiErrorKind {
    /// Classifies an API error code.
    pub fn of(code: &str) -> Self {
        let is = |prefix: &str| code == prefix || code.starts_with(&format!("{prefix}."));
        match code {
            "AuthFailure.SignatureExpire" => ApiErrorKind::SignatureExpire,
            "AuthFailure.SecretIdNotFound" | "AuthFailure.InvalidSecretId" => {
                ApiErrorKind::SecretIdNotFound
            }
            "AuthFailure.SignatureFailure" => ApiErrorKind::SignatureFailure,
            "AuthFailure.TokenFailure" => ApiErrorKind::TokenFailure,
            "AuthFailure.UnauthorizedOperation" => ApiErrorKind::Unauthorized,
            "ServiceUnavailable"
            | "FailedOperation.InternalOperationFailure"
            | "ResourceUnavailable" => ApiErrorKind::ServerError,
            "UnknownParameter" => ApiErrorKind::InvalidRequest,
            _ if is("UnauthorizedOperation") => ApiErrorKind::Unauthorized,
            _ if is("AuthFailure") => ApiErrorKind::AuthFailure,
            _ if is("RequestLimitExceeded") => ApiErrorKind::Throttled,
            _ if is("InternalError") => ApiErrorKind::ServerError,
            _ if is("InvalidParameter")
                || is("InvalidParameterValue")
                || is("MissingParameter") =>
            {
                ApiErrorKind::InvalidRequest
            }
            _ => ApiErrorKind::Other,
        }
    }

    /// The diagnostic code an API error of this kind is shown with.
    pub fn code(self) -> Code {
        match self {
            ApiErrorKind::SignatureExpire => Code::ApiSignatureExpire,
            ApiErrorKind::SecretIdNotFound => Code::ApiSecretIdNotFound,
            ApiErrorKind::SignatureFailure => Code::ApiSignatureFailure,
            ApiErrorKind::TokenFailure => Code::ApiTokenFailure,
            ApiErrorKind::Unauthorized => Code::ApiUnauthorized,
            ApiErrorKind::AuthFailure => Code::ApiAuthFailure,
            ApiErrorKind::Throttled => Code::ApiThrottled,
            ApiErrorKind::ServerError => Code::ApiServerError,
            ApiErrorKind::InvalidRequest => Code::ApiInvalidRequest,
            ApiErrorKind::Other => Code::ApiError,
        }
    }
}

/// An error answered by the API (HTTP 200 with `Response.Error`), with its context.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The action that was called, e.g. `DescribeImage`.
    pub action: &'static str,
    /// `Response.Error.Code`, e.g. `AuthFailure.SignatureExpire`.
    pub code: String,
    /// `Response.Error.Message`.
    pub message: String,
    /// `Response.RequestId` (give it to Tencent support).
    pub request_id: String,
    /// How the code is understood.
    pub kind: ApiErrorKind,
    /// Offset of the page being fetched.
    pub offset: u64,
    /// Requests made for this page.
    pub attempts: u32,
    /// Time spent on this page.
    pub elapsed: Duration,
    /// The secret id that was used (never the key).
    pub secret_id: String,
    /// Where the credentials came from.
    pub credentials_origin: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed with {}: {} (RequestId {}, page at Offset {}){}",
            self.action,
            escape(&self.code),
            escape(&self.message),
            if self.request_id.is_empty() {
                Cow::Borrowed("not given")
            } else {
                escape(&self.request_id)
            },
            self.offset,
            gave_up(self.attempts, self.elapsed)
        )
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// The hint shown as the diagnostic's help.
    pub fn hint(&self) -> String {
        let id = &self.secret_id;
        let origin = &self.credentials_origin;
        match self.kind {
            ApiErrorKind::SignatureExpire => {
                "the clock of this machine differs from Tencent Cloud's by more than 5 minutes \
                 (the request was re-signed with a fresh timestamp and still refused); synchronise \
                 the system clock (NTP) and run again"
                    .to_owned()
            }
            ApiErrorKind::SecretIdNotFound => format!(
                "the SecretId {id} (from {origin}) is unknown to Tencent Cloud: check it for typos \
                 and surrounding whitespace, and that the API key is not deleted or disabled in \
                 the CAM console"
            ),
            ApiErrorKind::SignatureFailure => format!(
                "the secret key does not match the SecretId {id} (from {origin}): check the secret \
                 key; if the clock is right, the key is wrong"
            ),
            ApiErrorKind::TokenFailure => format!(
                "the session token used with {id} (from {origin}) is invalid or expired: obtain \
                 fresh temporary credentials (TENCENTCLOUD_TOKEN)"
            ),
            ApiErrorKind::Unauthorized => format!(
                "the identity of {id} lacks the CAM permission ecm:{}: attach a policy that \
                 allows it (a read-only ECM policy is enough)",
                self.action
            ),
            ApiErrorKind::AuthFailure => {
                format!("authentication failed for {id} (from {origin}); check the credentials")
            }
            ApiErrorKind::Throttled => {
                "the API kept throttling past the retry budget: lower --rate, or check \
                 whether other clients share this account's request quota"
                    .to_owned()
            }
            ApiErrorKind::ServerError => {
                "Tencent Cloud kept reporting a server-side failure past the retry budget; \
                 run again later"
                    .to_owned()
            }
            ApiErrorKind::InvalidRequest => {
                "the API rejected the request's parameters; check the --filter / --image values"
                    .to_owned()
            }
            ApiErrorKind::Other => {
                "see the message above; the RequestId identifies the call for Tencent Cloud support"
                    .to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        use ApiErrorKind as K;
        for (code, kind) in [
            ("AuthFailure.SignatureExpire", K::SignatureExpire),
            ("AuthFailure.SecretIdNotFound", K::SecretIdNotFound),
            ("AuthFailure.SignatureFailure", K::SignatureFailure),
            ("AuthFailure.UnauthorizedOperation", K::Unauthorized),
            ("UnauthorizedOperation.ForbiddenOperation", K::Unauthorized),
            ("AuthFailure.MFAFailure", K::AuthFailure),
            ("RequestLimitExceeded", K::Throttled),
            ("RequestLimitExceeded.UinLimitExceeded", K::Throttled),
            ("RequestLimitExceededX", K::Other),
            ("InternalError", K::ServerError),
            ("ServiceUnavailable", K::ServerError),
            ("FailedOperation.InternalOperationFailure", K::ServerError),
            ("ResourceUnavailable", K::ServerError),
            ("InvalidParameterValue.InvaildPageParam", K::InvalidRequest),
            ("MissingParameter", K::InvalidRequest),
            ("FailedOperation.ImageInUse", K::Other),
            ("LimitExceeded", K::Other),
        ] {
            assert_eq!(ApiErrorKind::of(code), kind, "{code}");
        }
    }

    #[test]
    fn each_error_is_one_diagnostic_with_its_code() {
        let unsettled = FetchError::Unsettled {
            action: &DESCRIBE_IMAGE,
            restarts: 3,
            reason: "x".into(),
        };
        assert_eq!(unsettled.diag().code, Code::PaginationUnsettled);
        let insecure = FetchError::InsecureEndpoint {
            endpoint: "http://x".into(),
        };
        assert_eq!(insecure.diag().code, Code::InsecureEndpoint);
        assert!(insecure.diag().help.is_some_and(|h| h.contains("https://")));
    }
}
