//! Server-side TC3-HMAC-SHA256 verification, as the service does it: parse the
//! `Authorization` header, check the timestamp against the (injectable) clock, look the
//! secret id up, rebuild the canonical request from what was *received*, and compare.
//!
//! This is deliberately a second, independent implementation (its own parsing, its own key
//! derivation, `jiff` for the scope date where ecmguard's signer uses its own calendar
//! arithmetic). Sharing code with the client's signer would let one bug pass both sides; two
//! implementations that agree with each other and with the SDK vectors cannot share one.

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::{ApiErr, Key};

/// What a request needs to be verified.
pub(crate) struct Received<'a> {
    pub method: &'a str,
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn err(code: &str, message: &str) -> ApiErr {
    ApiErr::new(code, message)
}

/// Verifies the signature; returns the index of the key that signed.
pub(crate) fn verify(
    req: &Received<'_>,
    keys: &[Key],
    now: i64,
    max_skew_secs: i64,
) -> Result<usize, ApiErr> {
    let invalid_auth = |why: &str| {
        err(
            "AuthFailure.InvalidAuthorization",
            &format!("Authorization header is invalid: {why}."),
        )
    };
    let auth = header(req.headers, "authorization")
        .ok_or_else(|| invalid_auth("missing Authorization"))?;
    let (algorithm, rest) = auth
        .split_once(' ')
        .ok_or_else(|| invalid_auth("no algorithm"))?;
    if algorithm != "TC3-HMAC-SHA256" {
        return Err(invalid_auth("algorithm must be TC3-HMAC-SHA256"));
    }
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            return Err(invalid_auth("malformed field"));
        };
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => return Err(invalid_auth("unknown field")),
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(invalid_auth(
            "Credential, SignedHeaders and Signature are required",
        ));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [secret_id, date, service, terminator] = scope.as_slice() else {
        return Err(invalid_auth(
            "Credential must be SecretId/Date/Service/tc3_request",
        ));
    };

    let timestamp: i64 = header(req.headers, "x-tc-timestamp")
        .ok_or_else(|| err("MissingParameter", "The request is missing X-TC-Timestamp."))?
        .trim()
        .parse()
        .map_err(|_| err("InvalidParameter", "X-TC-Timestamp is not an integer."))?;
    if (now - timestamp).abs() > max_skew_secs {
        return Err(err(
            "AuthFailure.SignatureExpire",
            &format!(
                "Signature expired. Timestamp and server time cannot differ by more than five \
                 minutes (request {timestamp}, server {now})."
            ),
        ));
    }

    let Some(key_index) = keys.iter().position(|k| k.secret_id == *secret_id) else {
        return Err(err(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.",
        ));
    };
    let key = &keys[key_index];

    let failure = || {
        err(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        )
    };
    let expected_date = jiff::Timestamp::from_second(timestamp)
        .map_err(|_| failure())?
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    if *date != expected_date || *service != "ecm" || *terminator != "tc3_request" {
        return Err(failure());
    }

    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"content-type") || !names.contains(&"host") {
        return Err(failure());
    }
    let mut canonical_headers = String::new();
    for name in &names {
        if name.is_empty() || *name != name.to_ascii_lowercase() {
            return Err(failure());
        }
        let value = header(req.headers, name).ok_or_else(failure)?;
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(value.trim());
        canonical_headers.push('\n');
    }
    let payload_hash = if header(req.headers, "x-tc-content-sha256") == Some("UNSIGNED-PAYLOAD") {
        hex::encode(Sha256::digest(b"UNSIGNED-PAYLOAD"))
    } else {
        hex::encode(Sha256::digest(req.body))
    };
    let canonical_request = [
        req.method,
        "/",
        req.raw_query,
        &canonical_headers,
        signed_headers,
        &payload_hash,
    ]
    .join("\n");
    let string_to_sign = [
        "TC3-HMAC-SHA256".to_owned(),
        timestamp.to_string(),
        format!("{date}/{service}/tc3_request"),
        hex::encode(Sha256::digest(canonical_request.as_bytes())),
    ]
    .join("\n");

    let mut k = mac(format!("TC3{}", key.secret_key).as_bytes(), date.as_bytes());
    k = mac(&k, service.as_bytes());
    k = mac(&k, b"tc3_request");
    let expected = hex::encode(mac(&k, string_to_sign.as_bytes()));
    if !constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        return Err(failure());
    }

    if let Some(token) = &key.token
        && header(req.headers, "x-tc-token") != Some(token.as_str())
    {
        return Err(err(
            "AuthFailure.TokenFailure",
            "The token is invalid or expired.",
        ));
    }
    Ok(key_index)
}

fn mac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};
    use serde_json::Value;

    fn vectors() -> Vec<Value> {
        // The workspace's copy of the official SDK's vectors (tests/fixtures/tencent/README.md).
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/tencent/tc3_vectors.json"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let doc: Value = serde_json::from_str(&text).unwrap();
        doc["vectors"].as_array().unwrap().clone()
    }

    /// The independent verifier accepts every ECM vector the official SDK signed, and refuses
    /// each one once it is tampered with.
    #[test]
    fn accepts_the_sdk_vectors_and_refuses_tampering() {
        let mut checked = 0;
        for v in vectors() {
            let input = &v["inputs"];
            if input["service"] != "ecm" {
                continue;
            }
            let mut headers = HeaderMap::new();
            for (k, val) in v["outputs"]["headers_sent"].as_object().unwrap() {
                headers.insert(
                    HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).unwrap(),
                    HeaderValue::from_str(val.as_str().unwrap()).unwrap(),
                );
            }
            let body = hex::decode(input["body_sent"]["hex"].as_str().unwrap()).unwrap();
            let mut key = Key::new(
                input["secret_id"].as_str().unwrap(),
                input["secret_key"].as_str().unwrap(),
            );
            if let Some(t) = input["token"].as_str() {
                key = key.with_token(t);
            }
            let ts = input["timestamp"].as_i64().unwrap();
            let method = input["method"].as_str().unwrap();
            let query = input["query_string_sent"].as_str().unwrap();
            let req = Received {
                method,
                raw_query: query,
                headers: &headers,
                body: &body,
            };
            let id = &v["id"];
            let keys = [key.clone()];
            assert_eq!(verify(&req, &keys, ts + 299, 300), Ok(0), "{id}");

            let code = |r: Result<usize, ApiErr>| r.unwrap_err().code;
            assert_eq!(
                code(verify(&req, &keys, ts + 301, 300)),
                "AuthFailure.SignatureExpire",
                "{id}"
            );
            let stranger = [Key::new("AKIDother", "x")];
            assert_eq!(
                code(verify(&req, &stranger, ts, 300)),
                "AuthFailure.SecretIdNotFound",
                "{id}"
            );
            let wrong_key = [Key::new(key.secret_id.clone(), "wrong")];
            assert_eq!(
                code(verify(&req, &wrong_key, ts, 300)),
                "AuthFailure.SignatureFailure",
                "{id}"
            );
            let mut tampered = body.clone();
            tampered.push(b' ');
            let unsigned = headers.get("x-tc-content-sha256").is_some();
            let req2 = Received {
                body: &tampered,
                ..req
            };
            if !unsigned && method == "POST" {
                assert_eq!(
                    code(verify(&req2, &keys, ts, 300)),
                    "AuthFailure.SignatureFailure",
                    "{id}"
                );
            }
            let with_token = [key.clone().with_token("another-token")];
            assert_eq!(
                code(verify(&req, &with_token, ts, 300)),
                "AuthFailure.TokenFailure",
                "{id}"
            );
            checked += 1;
        }
        assert_eq!(checked, 11, "every ECM vector is checked");
    }
}
