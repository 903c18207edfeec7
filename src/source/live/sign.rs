//! TC3-HMAC-SHA256 request signing as a pure function (no clock, no I/O).
//!
//! The composition follows the official SDKs exactly (docs/live.md, "The request"): only
//! `content-type` and `host` are signed, the canonical URI is always `/`, header values are
//! used verbatim, the payload hash covers the exact bytes that go on the wire, and the
//! credential-scope date is the **UTC** date of the timestamp (never local time or UTC+8).
//! Every output is checked against the SDK-made vectors in `tc3_vectors.json`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The algorithm name that opens the string to sign and the `Authorization` header.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The headers the SDK signs, in canonical order.
pub const SIGNED_HEADERS: &str = "content-type;host";

/// Everything the signature depends on.
///
/// `Debug` is implemented by hand so the secret key can never be printed from here.
#[derive(Clone, Copy)]
pub struct SignInput<'a> {
    /// `POST` or `GET`.
    pub method: &'a str,
    /// The `Host` header exactly as sent (`host[:port]`).
    pub host: &'a str,
    /// The `Content-Type` header exactly as sent.
    pub content_type: &'a str,
    /// The query string exactly as sent (empty for POST).
    pub query: &'a str,
    /// The payload bytes that are hashed: the exact body for POST, empty for GET.
    pub payload: &'a [u8],
    /// `X-TC-Timestamp`, Unix seconds.
    pub timestamp: i64,
    /// Service name in the credential scope (`ecm`).
    pub service: &'a str,
    /// The secret id (not secret; it appears in the `Authorization` header).
    pub secret_id: &'a str,
    /// The secret key. Never leaves this function except as HMAC output.
    pub secret_key: &'a str,
}

impl std::fmt::Debug for SignInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInput")
            .field("method", &self.method)
            .field("host", &self.host)
            .field("content_type", &self.content_type)
            .field("query", &self.query)
            .field("payload_len", &self.payload.len())
            .field("timestamp", &self.timestamp)
            .field("service", &self.service)
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"***")
            .finish()
    }
}

/// Every intermediate value of the signature, so tests can compare each step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// `date/service/tc3_request`.
    pub credential_scope: String,
    /// The canonical request (step 1 of the algorithm).
    pub canonical_request: String,
    /// The string to sign (step 2).
    pub string_to_sign: String,
    /// Lowercase hex HMAC (step 3).
    pub signature: String,
    /// The complete `Authorization` header value.
    pub authorization: String,
}

/// Signs one request. Pure: the same input always gives the same output.
pub fn sign(input: &SignInput<'_>) -> Signed {
    let date = utc_date(input.timestamp);
    let credential_scope = format!("{date}/{}/tc3_request", input.service);
    let canonical_request = format!(
        "{method}\n/\n{query}\ncontent-type:{ct}\nhost:{host}\n\n{SIGNED_HEADERS}\n{payload}",
        method = input.method,
        query = input.query,
        ct = input.content_type,
        host = input.host,
        payload = sha256_hex(input.payload),
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{ts}\n{credential_scope}\n{hash}",
        ts = input.timestamp,
        hash = sha256_hex(canonical_request.as_bytes()),
    );
    let k_date = hmac_sha256(
        format!("TC3{}", input.secret_key).as_bytes(),
        date.as_bytes(),
    );
    let k_service = hmac_sha256(&k_date, input.service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"tc3_request");
    let signature = hex::encode(hmac_sha256(&k_signing, string_to_sign.as_bytes()));
    let authorization = format!(
        "{ALGORITHM} Credential={id}/{credential_scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}",
        id = input.secret_id,
    );
    Signed {
        credential_scope,
        canonical_request,
        string_to_sign,
        signature,
        authorization,
    }
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail; the fallback
    // keeps this function total without a panic path.
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(msg);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// `YYYY-MM-DD` of a Unix timestamp in UTC.
///
/// Done with the days-to-civil algorithm instead of a calendar crate so the signer stays a
/// total function for every `i64` (no "out of range" error path to thread through).
pub fn utc_date(timestamp: i64) -> String {
    let days = timestamp.div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Howard Hinnant's `civil_from_days`: proleptic Gregorian date of a day count since
/// 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = yoe + era * 400 + i64::from(m <= 2);
    // Both casts are in range by construction ([1, 12] and [1, 31]).
    (y, m as u32, d as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_date_examples() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_551_113_065), "2019-02-25");
        assert_eq!(utc_date(1_704_067_199), "2023-12-31");
        assert_eq!(utc_date(1_704_067_200), "2024-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(-1), "1969-12-31");
    }

    #[test]
    fn debug_hides_the_key() {
        let input = SignInput {
            method: "POST",
            host: "h",
            content_type: "application/json",
            query: "",
            payload: b"{}",
            timestamp: 0,
            service: "ecm",
            secret_id: "id",
            secret_key: "VERYSECRET",
        };
        assert!(!format!("{input:?}").contains("VERYSECRET"));
    }
}
