//! One call of a listing action (`DescribeImage`, `DescribeInstances`, `DescribeModule`):
//! endpoint checks, the request exactly as the official SDK builds it (headers, body, TC3
//! signature over the exact body bytes), and the mapping of everything that can come back
//! (success page, API error envelope, HTTP status, broken or oversized body, transport
//! failure) into [`Page`] or [`CallError`]. One [`Client`] (one connection pool) serves
//! every action of a run; [`ActionClient`] is one listing's view of it.
//!
//! No retries here: `retry` decides what to do with a [`CallError`].

use std::borrow::Cow;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::LiveConfig;
use super::action::Action;
use super::credentials::{Credentials, CredentialsError};
use super::error::FetchError;
use super::filters::ApiFilter;
use super::sign::{SignInput, sign};

/// Service name in the credential scope.
pub const SERVICE: &str = "ecm";
/// API version of ECM.
pub const VERSION: &str = "2019-07-19";
/// Content type of a POST with a JSON body, exactly as the SDK sends it (no charset).
pub const CONTENT_TYPE: &str = "application/json";
/// The `X-TC-RequestClient` value: who is calling, for Tencent's logs.
pub const REQUEST_CLIENT: &str = concat!("ecmguard/", env!("CARGO_PKG_VERSION"));

/// A checked endpoint: the URL requests go to and the `Host` header value that is signed.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) url: reqwest::Url,
    /// `host[:port]` exactly as the HTTP client derives it from `url` (default ports are
    /// dropped by URL normalisation, and so from the header), so what is signed is what is
    /// sent.
    pub(crate) host: String,
    pub(crate) loopback: bool,
}

/// Parses and checks `--endpoint`: `https://` anywhere, `http://` only to loopback hosts, no
/// path, query, fragment or user info. A bare `host[:port]` means `https://host[:port]`.
pub(crate) fn parse_endpoint(endpoint: &str) -> Result<Endpoint, FetchError> {
    let bad = |reason: &str| FetchError::BadEndpoint {
        endpoint: endpoint.to_owned(),
        reason: reason.to_owned(),
    };
    let text = endpoint.trim();
    let with_scheme = if text.contains("://") {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("https://{text}"))
    };
    let url = reqwest::Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("user info in the URL is not supported"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        // TC3 always signs the canonical URI "/", and the API lives at the root.
        return Err(bad("the URL must not have a path, query or fragment"));
    }
    let Some(host_str) = url.host_str() else {
        return Err(bad("the URL has no host"));
    };
    let loopback = is_loopback(host_str);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(FetchError::InsecureEndpoint {
                endpoint: endpoint.to_owned(),
            });
        }
        other => return Err(bad(&format!("unsupported scheme {other:?}"))),
    }
    let host = match url.port() {
        Some(port) => format!("{host_str}:{port}"),
        None => host_str.to_owned(),
    };
    Ok(Endpoint {
        url,
        host,
        loopback,
    })
}

/// 127.0.0.0/8, ::1 (also as an IPv4-mapped address) and `localhost`.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// One page as the API sent it.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) total_count: u64,
    pub(crate) items: Vec<PageItem>,
}

/// One item (an image, an instance, a module) as kept (`Action::keep`) and where its id
/// is (for de-duplication).
#[derive(Debug)]
pub(crate) struct PageItem {
    pub(crate) raw: Box<RawValue>,
    id: IdText,
}

/// An item's id (`ImageId`, …). Almost always sent without escapes, so it is the
/// span of the JSON that holds it: a 100k-image fetch holds every image
/// until the listing is complete, and 100k separate id strings (and a set
/// of them) would be several MB more at the peak.
#[derive(Debug)]
pub(crate) enum IdText {
    Span {
        start: u32,
        len: u32,
    },
    /// With escapes (`\u002d`): decoded.
    Decoded(Box<str>),
}

impl IdText {
    /// `id` as read from `text`: its span when it is a slice of `text`
    /// (checked, not assumed), else the decoded text.
    pub(crate) fn of(text: &str, id: &str) -> IdText {
        let span = (id.as_ptr() as usize)
            .checked_sub(text.as_ptr() as usize)
            .filter(|start| text.get(*start..start + id.len()) == Some(id))
            .and_then(|start| Some((u32::try_from(start).ok()?, u32::try_from(id.len()).ok()?)));
        match span {
            Some((start, len)) => IdText::Span { start, len },
            None => IdText::Decoded(id.into()),
        }
    }
}

impl PageItem {
    /// `id` must be `IdText::of` this `raw`'s text (the span is into it).
    pub(crate) fn new(raw: Box<RawValue>, id: IdText) -> PageItem {
        PageItem { raw, id }
    }

    pub(crate) fn id(&self) -> &str {
        match &self.id {
            IdText::Span { start, len } => {
                let (start, len) = (*start as usize, *len as usize);
                self.raw.get().get(start..start + len).unwrap_or_default()
            }
            IdText::Decoded(id) => id,
        }
    }
}

/// What went wrong with one call. Every string in here has been redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    /// Connect, TLS, reset: no usable HTTP response. `permanent` when retrying cannot help
    /// (a certificate the client does not trust, a TLS handshake that failed, a host name
    /// that does not exist).
    Transport { detail: String, permanent: bool },
    /// No complete response within the timeout.
    Timeout,
    /// A non-200 status (API errors use 200, so this is a gateway or a wrong endpoint), and
    /// how long the server asked to be left alone (`Retry-After`).
    Http {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },
    /// The body was not a response of the action.
    Malformed(String),
    /// The body exceeded the size limit.
    TooLarge,
    /// An item without its id: it cannot be de-duplicated, so the set cannot be known.
    ItemWithoutId { position: usize, request_id: String },
    /// An item that does not fit the action's documented model (a member of the wrong type).
    ItemModel {
        position: usize,
        detail: String,
        request_id: String,
    },
    /// The API's error envelope.
    Api {
        code: String,
        message: String,
        request_id: String,
    },
}

/// A configured caller of the API, shared by all page requests of a run, whatever their
/// action.
pub(crate) struct Client {
    http: reqwest::Client,
    endpoint: Endpoint,
    credentials: Credentials,
    fixed_headers: HeaderMap,
    token: Option<HeaderValue>,
    page_size: u32,
    timeout: Duration,
    max_response_bytes: usize,
}

/// One listing's view of the [`Client`]: an action and its filters.
pub(crate) struct ActionClient<'a> {
    pub(crate) client: &'a Client,
    pub(crate) action: &'static Action,
    pub(crate) filters: &'a [ApiFilter],
}

#[derive(Serialize)]
struct RequestBody<'a> {
    #[serde(rename = "Filters", skip_serializing_if = "<[_]>::is_empty")]
    filters: &'a [ApiFilter],
    #[serde(rename = "Offset")]
    offset: u64,
    #[serde(rename = "Limit")]
    limit: u32,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Response")]
    response: Box<RawValue>,
}

/// `Response`, whose set is under the action's own key (`ImageSet`, `InstanceSet`, …).
#[derive(Default)]
struct ResponseBody {
    error: Option<ErrorBody>,
    request_id: Option<String>,
    total_count: Option<u64>,
    set: Option<Vec<Box<RawValue>>>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "Code")]
    code: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
}

/// An item's id, read without the rest of the item.
struct IdOnly;

impl IdOnly {
    /// The value of `action.id_key` in the item's JSON (`None`: absent or null).
    fn read<'a>(action: &'static Action, text: &'a str) -> serde_json::Result<Option<IdStr<'a>>> {
        serde::de::DeserializeSeed::deserialize(
            IdSeed(action.id_key),
            &mut serde_json::Deserializer::from_str(text),
        )
    }
}

struct IdSeed(&'static str);

impl<'de> serde::de::DeserializeSeed<'de> for IdSeed {
    type Value = Option<IdStr<'de>>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for IdSeed {
    type Value = Option<IdStr<'de>>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "an object with {}", self.0)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut id, mut seen) = (None, false);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == self.0 {
                if seen {
                    // Which of two ids would be the item's? Neither can be trusted.
                    return Err(serde::de::Error::duplicate_field(self.0));
                }
                seen = true;
                id = map.next_value::<Option<IdStr<'de>>>()?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(id)
    }
}

/// serde borrows a `Cow<str>` only when it is the field's own type (inside an
/// `Option` it always copies): this newtype makes an unescaped id a slice of
/// the image's JSON.
#[derive(Deserialize)]
struct IdStr<'a>(#[serde(borrow)] Cow<'a, str>);

impl Client {
    pub(crate) fn new(cfg: &LiveConfig, endpoint: Endpoint) -> Result<Self, FetchError> {
        let invalid = |what: &str| {
            FetchError::Credentials(CredentialsError::Invalid {
                place: cfg.credentials.origin().to_owned(),
                what: what.to_owned(),
            })
        };
        // Checked once here so a bad character fails before any request, and never
        // shows its value.
        if HeaderValue::from_str(cfg.credentials.secret_id()).is_err() {
            return Err(invalid(
                "the secret id has characters that cannot be sent in an HTTP header",
            ));
        }
        let token = match cfg.credentials.token() {
            Some(t) => {
                let mut v = HeaderValue::from_str(t.expose()).map_err(|_| {
                    invalid("the token has characters that cannot be sent in an HTTP header")
                })?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };

        let mut fixed = HeaderMap::new();
        let mut put = |name: &'static str, value: &str| -> Result<(), FetchError> {
            let v = HeaderValue::from_str(value).map_err(|_| FetchError::InvalidSetting {
                reason: format!("{name} value {value:?} cannot be sent in an HTTP header"),
            })?;
            fixed.insert(HeaderName::from_static(name), v);
            Ok(())
        };
        put("x-tc-version", VERSION)?;
        if let Some(region) = cfg.region.as_deref().filter(|r| !r.is_empty()) {
            put("x-tc-region", region)?;
        }
        put("x-tc-language", cfg.language.as_str())?;
        put("x-tc-requestclient", REQUEST_CLIENT)?;

        // TLS crypto is ring's (reqwest is built with `rustls-no-provider`); an error
        // only means a provider is already installed for the process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .user_agent(REQUEST_CLIENT)
            .connect_timeout(cfg.connect_timeout.min(cfg.timeout))
            .timeout(cfg.timeout)
            // Redirects would send the signed request somewhere it was not signed for.
            .redirect(reqwest::redirect::Policy::none());
        if endpoint.loopback {
            // A proxy from the environment must not capture traffic to the local emulator.
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| FetchError::ClientSetup {
            detail: error_chain(&e),
        })?;
        Ok(Client {
            http,
            endpoint,
            credentials: cfg.credentials.clone(),
            fixed_headers: fixed,
            token,
            page_size: cfg.page_size,
            timeout: cfg.timeout,
            max_response_bytes: cfg.max_response_bytes,
        })
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    pub(crate) fn page_size(&self) -> u32 {
        self.page_size
    }

    /// The request body for a page; exposed to tests so they can compare bytes.
    pub(crate) fn body(&self, filters: &[ApiFilter], offset: u64) -> Vec<u8> {
        let body = RequestBody {
            filters,
            offset,
            limit: self.page_size,
        };
        // Serialising plain strings and integers cannot fail; an empty object would be
        // refused by nothing but would page wrongly, so keep the fallback obvious.
        serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec())
    }

    /// Removes the secret key and the token from text that came from outside.
    pub(crate) fn redact(&self, text: &str) -> String {
        redact(&self.credentials, text)
    }

    /// One signed call of `action` for the page at `offset`, signed with the current time.
    pub(crate) async fn page(
        &self,
        action: &'static Action,
        filters: &[ApiFilter],
        offset: u64,
    ) -> Result<Page, CallError> {
        let body = self.body(filters, offset);
        let bytes = self.call(action.name, body).await?;
        parse_response(action, &bytes).map_err(|e| self.redact_error(e))
    }

    /// One signed `POST` of `action` with this body, signed with the current time: the
    /// body of an HTTP 200 answer, or why there is none. Any action of the service can be
    /// sent this way; what a body means is for the caller to read.
    pub(crate) async fn call(
        &self,
        action: &'static str,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, CallError> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let signed = sign(&SignInput {
            method: "POST",
            host: &self.endpoint.host,
            content_type: CONTENT_TYPE,
            query: "",
            payload: &body,
            timestamp,
            service: SERVICE,
            secret_id: self.credentials.secret_id(),
            secret_key: self.credentials.secret_key().expose(),
        });

        let mut headers = self.fixed_headers.clone();
        headers.insert(
            HeaderName::from_static("x-tc-action"),
            HeaderValue::from_static(action),
        );
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        headers.insert(
            HeaderName::from_static("x-tc-timestamp"),
            HeaderValue::from(timestamp),
        );
        if let Some(token) = &self.token {
            headers.insert(HeaderName::from_static("x-tc-token"), token.clone());
        }
        let mut auth =
            HeaderValue::from_str(&signed.authorization).map_err(|_| CallError::Transport {
                detail: "unencodable Authorization header".into(),
                permanent: true,
            })?;
        auth.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, auth);

        let request = self
            .http
            .post(self.endpoint.url.clone())
            .headers(headers)
            .body(body);
        // The client has its own timeout too; this one also bounds reading the body.
        match tokio::time::timeout(self.timeout, self.exchange(request)).await {
            Ok(result) => result,
            Err(_) => Err(CallError::Timeout),
        }
    }

    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<Vec<u8>, CallError> {
        let mut response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        if let Some(len) = response.content_length()
            && len > self.max_response_bytes as u64
        {
            return Err(CallError::TooLarge);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(&e))? {
            if bytes.len() + chunk.len() > self.max_response_bytes {
                return Err(CallError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        if status != reqwest::StatusCode::OK {
            return Err(CallError::Http {
                status: status.as_u16(),
                retry_after,
                // Redacted before it is cut: a secret at the cut would
                // otherwise survive in part.
                body: excerpt(&self.redact(&String::from_utf8_lossy(&bytes))),
            });
        }
        Ok(bytes)
    }

    /// An error read from a response, with the secret key and the token taken out of
    /// everything the server wrote into it.
    pub(crate) fn redact_error(&self, e: CallError) -> CallError {
        match e {
            CallError::Malformed(m) => CallError::Malformed(self.redact(&m)),
            CallError::ItemModel {
                position,
                detail,
                request_id,
            } => CallError::ItemModel {
                position,
                detail: self.redact(&detail),
                request_id: self.redact(&request_id),
            },
            CallError::Api {
                code,
                message,
                request_id,
            } => CallError::Api {
                code: self.redact(&code),
                message: self.redact(&message),
                request_id: self.redact(&request_id),
            },
            other => other,
        }
    }

    fn transport(&self, e: &reqwest::Error) -> CallError {
        if e.is_timeout() {
            CallError::Timeout
        } else {
            CallError::Transport {
                detail: self.redact(&error_chain(e)),
                permanent: is_permanent(e),
            }
        }
    }
}

/// Parses a response body (HTTP 200) of `action`.
pub(crate) fn parse_response(action: &'static Action, bytes: &[u8]) -> Result<Page, CallError> {
    // Position and category only: serde_json messages can quote the input.
    let malformed = |e: serde_json::Error| {
        let what = match e.classify() {
            serde_json::error::Category::Eof => {
                "the JSON ends early (truncated response)".to_owned()
            }
            serde_json::error::Category::Syntax => "not valid JSON".to_owned(),
            serde_json::error::Category::Data => format!("not a {} response", action.name),
            serde_json::error::Category::Io => "read error".to_owned(),
        };
        CallError::Malformed(format!(
            "{what} at line {}, column {}",
            e.line(),
            e.column()
        ))
    };
    let envelope: Envelope = serde_json::from_slice(bytes).map_err(malformed)?;
    let r = serde::de::DeserializeSeed::deserialize(
        ResponseSeed(action),
        &mut serde_json::Deserializer::from_str(envelope.response.get()),
    )
    .map_err(malformed)?;
    let request_id = r.request_id.unwrap_or_default();
    if let Some(err) = r.error {
        return Err(CallError::Api {
            code: err.code.unwrap_or_else(|| "(no code)".to_owned()),
            message: err.message.unwrap_or_default(),
            request_id,
        });
    }
    let Some(total_count) = r.total_count else {
        return Err(CallError::Malformed(format!(
            "the response has no TotalCount (RequestId {request_id})"
        )));
    };
    // A null set (`ImageSet: null`…) is documented as possible and means an empty page.
    let raw_items = r.set.unwrap_or_default();
    let mut items = Vec::with_capacity(raw_items.len());
    for (i, raw) in raw_items.into_iter().enumerate() {
        let not_an_object = || {
            CallError::Malformed(format!(
                "{}[{i}] is not a JSON object (RequestId {request_id})",
                action.set_key
            ))
        };
        if !raw.get().starts_with('{') {
            return Err(not_an_object());
        }
        let raw = action.keep(raw).map_err(|detail| CallError::ItemModel {
            position: i + 1,
            detail,
            request_id: request_id.clone(),
        })?;
        let parsed = IdOnly::read(action, raw.get()).map_err(|_| not_an_object())?;
        let Some(IdStr(id)) = parsed.filter(|id| !id.0.is_empty()) else {
            return Err(CallError::ItemWithoutId {
                position: i + 1,
                request_id,
            });
        };
        // Located while `id` borrows from `raw`; moving the box keeps the
        // text where it is.
        let id = IdText::of(raw.get(), &id);
        items.push(PageItem::new(raw, id));
    }
    Ok(Page { total_count, items })
}

/// Reads `Response` with the set under `action.set_key`.
struct ResponseSeed(&'static Action);

impl<'de> serde::de::DeserializeSeed<'de> for ResponseSeed {
    type Value = ResponseBody;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<ResponseBody, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ResponseSeed {
    type Value = ResponseBody;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a {} Response object", self.0.name)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ResponseBody, A::Error> {
        let mut body = ResponseBody::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "Error" => body.error = map.next_value()?,
                "RequestId" => body.request_id = map.next_value()?,
                "TotalCount" => body.total_count = map.next_value()?,
                k if k == self.0.set_key => body.set = map.next_value()?,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(body)
    }
}

/// Replaces every occurrence of the secret key and the token with `***`.
pub(crate) fn redact(credentials: &Credentials, text: &str) -> String {
    let mut out = text.to_owned();
    let secrets = std::iter::once(credentials.secret_key().expose())
        .chain(credentials.token().map(|t| t.expose()));
    for secret in secrets {
        if !secret.is_empty() && out.contains(secret) {
            out = out.replace(secret, "***");
        }
    }
    out
}

/// Whether a transport failure will be the same on every attempt: the TLS handshake failed
/// (an untrusted or wrong certificate, a server that does not speak TLS), or the host name
/// does not exist. Retrying these only delays the answer (six attempts took 25 s).
fn is_permanent(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(err) = current {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        // An io::Error hides the error it wraps from `source()`.
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        {
            return true;
        }
        let text = err.to_string();
        // rustls's own words, when a boxed link in the chain hides its type.
        if [
            "invalid peer certificate",
            "peer sent no certificates",
            "peer is incompatible",
            "peer misbehaved",
            "received fatal alert",
            "received corrupt message",
        ]
        .iter()
        .any(|words| text.contains(words))
        {
            return true;
        }
        // getaddrinfo's EAI_NONAME / EAI_NODATA (a temporary failure, EAI_AGAIN, is retried).
        if text.contains("Name or service not known")
            || text.contains("No address associated with hostname")
            || text.contains("nodename nor servname provided")
        {
            return true;
        }
        current = err.source();
    }
    false
}

/// `Retry-After`: delay-seconds or an HTTP date, capped at five minutes.
fn parse_retry_after(value: &str) -> Option<Duration> {
    const CAP: u64 = 300;
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds.min(CAP)));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.as_second() - jiff::Timestamp::now().as_second();
    Some(Duration::from_secs(
        u64::try_from(wait).unwrap_or(0).min(CAP),
    ))
}

/// The error and its causes on one line (reqwest's top-level message alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// The first 200 characters of a (redacted) body, on one line, for an error message.
fn excerpt(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = one_line.chars().take(200).collect();
    if cut.len() < one_line.len() {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::live::action::{DESCRIBE_IMAGE, DESCRIBE_INSTANCES, DESCRIBE_MODULE};

    /// The id is read where it sits in the image's JSON, or decoded when it
    /// has escapes; either way it is the id the API meant.
    #[test]
    fn image_ids_are_spans_of_their_json_or_decoded() {
        let body = br#"{"Response":{"TotalCount":3,"RequestId":"r","ImageSet":[
            {"ImageName":"a","ImageId":"img-abc"},
            {"ImageId":"img\u002dabc","ImageName":"b"},
            {"ImageId":"img-\u00e9"}]}}"#;
        let page = parse_response(&DESCRIBE_IMAGE, body).expect("page");
        let ids: Vec<&str> = page.items.iter().map(PageItem::id).collect();
        assert_eq!(ids, ["img-abc", "img-abc", "img-\u{e9}"]);
        assert!(matches!(page.items[0].id, IdText::Span { .. }));
        assert!(matches!(page.items[1].id, IdText::Decoded(_)));
        // A string that is not a slice of the text is never taken for one.
        let elsewhere = String::from("img-abc");
        assert!(matches!(
            IdText::of(r#"{"ImageId":"img-abc"}"#, &elsewhere),
            IdText::Decoded(_)
        ));
    }

    #[test]
    fn endpoints() {
        let e = parse_endpoint("https://ecm.tencentcloudapi.com").unwrap();
        assert_eq!(e.host, "ecm.tencentcloudapi.com");
        assert!(!e.loopback);
        let e = parse_endpoint("https://ecm.tencentcloudapi.com:443/").unwrap();
        assert_eq!(e.host, "ecm.tencentcloudapi.com");
        let e = parse_endpoint("ecm.tencentcloudapi.com").unwrap();
        assert_eq!(e.url.scheme(), "https");
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.9.9.9:1",
            "http://localhost:3000/",
            "http://[::1]:8080",
            "http://LOCALHOST",
        ] {
            let e = parse_endpoint(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(e.loopback, "{ok}");
        }
        assert_eq!(
            parse_endpoint("http://[::1]:8080").unwrap().host,
            "[::1]:8080"
        );
        assert_eq!(
            parse_endpoint("http://127.0.0.1:8080").unwrap().host,
            "127.0.0.1:8080"
        );
        for insecure in [
            "http://ecm.tencentcloudapi.com",
            "http://10.0.0.1",
            "http://128.0.0.1",
            "http://localhost.example.com",
        ] {
            assert!(
                matches!(
                    parse_endpoint(insecure),
                    Err(FetchError::InsecureEndpoint { .. })
                ),
                "{insecure}"
            );
        }
        for bad in [
            "ftp://127.0.0.1",
            "https://x/path",
            "https://x/?a=b",
            "https://user:pw@x",
            "https://",
            "",
        ] {
            let e = parse_endpoint(bad).err();
            assert!(
                matches!(e, Some(FetchError::BadEndpoint { .. })),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn parses_success_error_and_null() {
        let page = parse_response(&DESCRIBE_IMAGE,
            br#"{"Response":{"TotalCount":2,"ImageSet":[{"ImageId":"img-1","X":[1, 2]},{"ImageId":"img-2","ImageName":"n"}],"RequestId":"r"}}"#,
        )
        .unwrap();
        assert_eq!(page.total_count, 2);
        assert_eq!(page.items[0].id(), "img-1");
        assert_eq!(page.items[0].raw.get(), r#"{"ImageId":"img-1","X":[1, 2]}"#);
        assert_eq!(page.items[1].id(), "img-2");
        // An image without an ImageId cannot be told apart: the page is refused.
        for missing in [
            r#"{"ImageName":"n"}"#,
            r#"{"ImageId":null}"#,
            r#"{"ImageId":""}"#,
        ] {
            let body = format!(
                r#"{{"Response":{{"TotalCount":2,"ImageSet":[{{"ImageId":"a"}},{missing}],"RequestId":"r"}}}}"#
            );
            assert_eq!(
                parse_response(&DESCRIBE_IMAGE, body.as_bytes()).unwrap_err(),
                CallError::ItemWithoutId {
                    position: 2,
                    request_id: "r".into()
                },
                "{missing}"
            );
        }

        let page = parse_response(
            &DESCRIBE_IMAGE,
            br#"{"Response":{"TotalCount":5,"ImageSet":null,"RequestId":"r"}}"#,
        )
        .unwrap();
        assert!(page.items.is_empty());

        let err = parse_response(
            &DESCRIBE_IMAGE,
            br#"{"Response":{"Error":{"Code":"InternalError","Message":"m"},"RequestId":"rid"}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            CallError::Api {
                code: "InternalError".into(),
                message: "m".into(),
                request_id: "rid".into()
            }
        );
        assert!(matches!(
            parse_response(&DESCRIBE_IMAGE, br#"{"Response":{"TotalCount":5,"Image"#),
            Err(CallError::Malformed(m)) if m.contains("truncated")
        ));
        assert!(matches!(
            parse_response(&DESCRIBE_IMAGE, br#"{"Response":{"ImageSet":[]}}"#),
            Err(CallError::Malformed(_))
        ));
        assert!(matches!(
            parse_response(
                &DESCRIBE_IMAGE,
                br#"{"Response":{"TotalCount":1,"ImageSet":["img-1"]}}"#
            ),
            Err(CallError::Malformed(_))
        ));
    }

    /// The same parser reads every action's page: its set under its own key, each item
    /// trimmed and told apart by its own id.
    #[test]
    fn usage_pages_are_read_under_their_own_keys() {
        let page = parse_response(
            &DESCRIBE_INSTANCES,
            br#"{"Response":{"TotalCount":2,"RequestId":"r","InstanceSet":[
                {"InstanceId":"ein-1","InstanceState":"RUNNING","Image":{"ImageId":"img-1","ImageName":"n"},"Zone":"x"},
                {"InstanceId":"ein-2","Image":null}]}}"#,
        )
        .unwrap();
        assert_eq!(page.total_count, 2);
        let ids: Vec<&str> = page.items.iter().map(PageItem::id).collect();
        assert_eq!(ids, ["ein-1", "ein-2"]);
        assert!(!page.items[0].raw.get().contains("Zone"));
        // An ImageSet in an instance listing is not its set.
        let other = parse_response(
            &DESCRIBE_INSTANCES,
            br#"{"Response":{"TotalCount":1,"ImageSet":[{"ImageId":"img-1"}],"RequestId":"r"}}"#,
        )
        .unwrap();
        assert!(other.items.is_empty());
        let modules = parse_response(
            &DESCRIBE_MODULE,
            br#"{"Response":{"TotalCount":1,"ModuleItemSet":[{"Module":{"ModuleId":"em-1","DefaultImage":null}}],"RequestId":"r"}}"#,
        )
        .unwrap();
        assert_eq!(modules.items[0].id(), "em-1");
        assert_eq!(
            parse_response(
                &DESCRIBE_MODULE,
                br#"{"Response":{"TotalCount":1,"ModuleItemSet":[{"Module":null}],"RequestId":"r"}}"#,
            )
            .unwrap_err(),
            CallError::ItemWithoutId {
                position: 1,
                request_id: "r".into()
            }
        );
        assert!(matches!(
            parse_response(
                &DESCRIBE_INSTANCES,
                br#"{"Response":{"TotalCount":1,"InstanceSet":[{"InstanceId":"ein-1","InstanceState":7}],"RequestId":"r"}}"#,
            ),
            Err(CallError::ItemModel { position: 1, .. })
        ));
        // Two ids in one item: neither can be trusted.
        assert!(matches!(
            parse_response(
                &DESCRIBE_IMAGE,
                br#"{"Response":{"TotalCount":1,"ImageSet":[{"ImageId":"a","ImageId":"b"}],"RequestId":"r"}}"#,
            ),
            Err(CallError::Malformed(_))
        ));
    }

    /// The official examples of both usage actions (`tests/fixtures/tencent/`), read and
    /// trimmed as a listing does.
    #[test]
    fn the_official_usage_examples_are_read_and_trimmed() {
        let examples: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/tencent/usage_and_fix_examples.json"
        ))
        .unwrap();
        let outputs = |action: &str| -> Vec<String> {
            examples["actions"][action]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["output"].as_str().unwrap().to_owned())
                .collect()
        };
        let mut instances = 0;
        for output in outputs("DescribeInstances") {
            let page = parse_response(&DESCRIBE_INSTANCES, output.as_bytes()).unwrap();
            for item in &page.items {
                let instance: crate::usage::Instance =
                    serde_json::from_str(item.raw.get()).unwrap();
                assert!(item.id().starts_with("ein-"), "{}", item.id());
                assert_eq!(instance.image_id(), Some("img-9qabwvbn"));
                assert_eq!(instance.state.as_deref(), Some("RUNNING"));
                assert!(
                    instance
                        .module
                        .and_then(|m| m.id)
                        .is_some_and(|m| m.starts_with("em-"))
                );
                instances += 1;
            }
        }
        assert_eq!(instances, 8);
        let module = &outputs("DescribeModule")[0];
        let page = parse_response(&DESCRIBE_MODULE, module.as_bytes()).unwrap();
        assert_eq!(page.total_count, 87);
        let kept: crate::usage::Module = serde_json::from_str(page.items[0].raw.get()).unwrap();
        assert_eq!(kept.id.as_deref(), Some("em-n2e2345"));
        assert_eq!(kept.image_id(), Some("img-im4w1234"));
        assert_eq!(kept.state.as_deref(), Some("NORMAL"));
    }

    #[test]
    fn retry_after_is_seconds_or_a_date_and_capped() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("99999"), Some(Duration::from_secs(300)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn redaction() {
        let c = Credentials::new("ID", "KEY123", Some("TOK456".into()));
        assert_eq!(redact(&c, "a KEY123 b TOK456 c ID"), "a *** b *** c ID");
    }
}
