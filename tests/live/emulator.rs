//! The emulator's HTTP surface as the service's: error envelopes at HTTP 200 with a
//! RequestId (a random UUID), paging limits and their (misspelled) real error code, the
//! default Limit, and errors in Chinese for `X-TC-Language: zh-CN`.

use ecm_emulator::{Config, DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, Emulator};
use ecmguard::source::live::sign::{SignInput, sign};
use serde_json::Value;

async fn post(em: &Emulator, body: &str, signed: bool) -> (u16, Value) {
    post_with(&super::support::http_client(), em, body, signed).await
}

async fn post_with(
    client: &reqwest::Client,
    em: &Emulator,
    body: &str,
    signed: bool,
) -> (u16, Value) {
    let how = Ask {
        key: signed.then_some(DEFAULT_SECRET_KEY),
        language: None,
    };
    ask(client, em, body, how).await
}

/// How a test request is made.
#[derive(Clone, Copy)]
struct Ask<'a> {
    /// Signed with this secret key (for the default secret id), or not at all.
    key: Option<&'a str>,
    /// `X-TC-Language`, when sent.
    language: Option<&'a str>,
}

async fn ask(client: &reqwest::Client, em: &Emulator, body: &str, how: Ask<'_>) -> (u16, Value) {
    let host = em.addr().to_string();
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut req = client
        .post(em.url())
        .header("content-type", "application/json")
        .header("x-tc-action", "DescribeImage")
        .header("x-tc-version", "2019-07-19")
        .header("x-tc-timestamp", ts.to_string())
        .body(body.to_owned());
    if let Some(language) = how.language {
        req = req.header("x-tc-language", language);
    }
    if let Some(secret_key) = how.key {
        let s = sign(&SignInput {
            method: "POST",
            host: &host,
            content_type: "application/json",
            query: "",
            payload: body.as_bytes(),
            timestamp: ts,
            service: "ecm",
            secret_id: DEFAULT_SECRET_ID,
            secret_key,
        });
        req = req.header("authorization", s.authorization);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn answers_like_the_service() {
    let mut config = Config::new(ecm_emulator::generate_images(130));
    config.rate_limit = None;
    let em = Emulator::start(config).await.unwrap();

    let (status, v) = post(&em, "{}", false).await;
    assert_eq!(status, 200);
    assert_eq!(
        v["Response"]["Error"]["Code"],
        "AuthFailure.InvalidAuthorization"
    );
    assert!(v["Response"]["RequestId"].as_str().is_some());

    let (_, v) = post(&em, "{}", true).await;
    assert_eq!(v["Response"]["TotalCount"], 130);
    assert_eq!(v["Response"]["ImageSet"].as_array().unwrap().len(), 20);

    let (_, v) = post(&em, r#"{"Offset": 120, "Limit": 100}"#, true).await;
    assert_eq!(v["Response"]["ImageSet"].as_array().unwrap().len(), 10);
    let (_, v) = post(&em, r#"{"Offset": 500, "Limit": 100}"#, true).await;
    assert_eq!(v["Response"]["ImageSet"].as_array().unwrap().len(), 0);
    assert_eq!(v["Response"]["TotalCount"], 130);

    for body in [r#"{"Limit": 101}"#, r#"{"Limit": -1}"#, r#"{"Offset": -5}"#] {
        let (status, v) = post(&em, body, true).await;
        assert_eq!(status, 200);
        assert_eq!(
            v["Response"]["Error"]["Code"], "InvalidParameterValue.InvaildPageParam",
            "{body}"
        );
    }
}

#[tokio::test]
async fn enforces_twenty_requests_per_second() {
    let em = Emulator::start(Config::new(ecm_emulator::generate_images(1)))
        .await
        .unwrap();
    let client = super::support::http_client();
    let answers =
        futures_util::future::join_all((0..30).map(|_| post_with(&client, &em, "{}", true))).await;
    let throttled = answers
        .iter()
        .filter(|(_, v)| v["Response"]["Error"]["Code"] == "RequestLimitExceeded")
        .count();
    // 30 requests at once: the bucket of 20 lets at least 20 through (plus whatever refilled
    // while they arrived), and refuses some.
    assert!((1..=10).contains(&throttled), "{throttled}");
}

/// The two readings of "3 requests/s", with requests sent one after another (so that their
/// arrival times are what the test says, give or take a few milliseconds, even on a loaded
/// machine: every step has 200 ms of slack). Three at 0 s, two at 0.5 s, three at 1.25 s:
/// - the token bucket has refilled 1.5 tokens by 0.5 s and takes the first of the two;
/// - the sliding window still holds the three of 0 s at 0.5 s and refuses both, and it counts
///   them: at 1.25 s the three of 0 s have left it but the two refused ones have not, so it
///   takes one more request and refuses the next two.
#[tokio::test]
async fn the_strict_limiter_counts_over_a_sliding_window_refusals_included() {
    for strict in [false, true] {
        let mut config = Config::new(ecm_emulator::generate_images(1));
        if strict {
            config = config.with_strict_limiter(std::time::Duration::ZERO, 0);
        }
        config.rate_limit = Some(3);
        let em = Emulator::start(config).await.unwrap();
        let client = super::support::http_client();
        let start = tokio::time::Instant::now();
        let mut admitted = Vec::new();
        for (at_ms, count) in [(0, 3), (500, 2), (1250, 3)] {
            tokio::time::sleep_until(start + std::time::Duration::from_millis(at_ms)).await;
            let mut step = Vec::new();
            for _ in 0..count {
                let (_, v) = post_with(&client, &em, "{}", true).await;
                step.push(v["Response"]["Error"]["Code"] != "RequestLimitExceeded");
            }
            admitted.push(step);
        }
        if strict {
            assert_eq!(
                admitted,
                [
                    vec![true, true, true],
                    vec![false, false],
                    vec![true, false, false]
                ]
            );
        } else {
            assert_eq!(admitted[0], [true, true, true]);
            assert!(admitted[1][0], "the bucket refilled: {admitted:?}");
        }
        assert_eq!(em.summary().requests, 8);
    }
}

/// Arrival jitter is drawn from a seeded sequence: the same seed gives the same delays.
#[tokio::test]
async fn arrival_jitter_is_seeded() {
    let jitter = std::time::Duration::from_millis(20);
    let config = Config::new(ecm_emulator::generate_images(1)).with_strict_limiter(jitter, 42);
    let em = Emulator::start(config).await.unwrap();
    let client = super::support::http_client();
    for _ in 0..10 {
        post_with(&client, &em, "{}", true).await;
    }
    let got: Vec<_> = em.log().iter().map(|e| e.jitter).collect();
    let want: Vec<_> = (0..10)
        .map(|n| ecm_emulator::Jitter::new(jitter, 42).delay(n))
        .collect();
    assert_eq!(got, want);
    assert!(got.iter().all(|d| *d <= jitter * 2) && got.iter().any(|d| !d.is_zero()));
}

/// A version-4 UUID in its usual form: `xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`.
fn is_uuid_v4(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let hex = |part: &str| part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts.iter().all(|p| hex(p))
        && parts[2].starts_with('4')
        && parts[3].starts_with(['8', '9', 'a', 'b'])
}

/// The service's RequestIds are random version-4 UUIDs, on pages and on
/// errors alike; so are the emulator's (a sequence would let a client come to
/// rely on an order the service does not have), and its log says which
/// answer had which.
#[tokio::test]
async fn request_ids_are_random_uuids_like_the_services() {
    let mut config = Config::new(ecm_emulator::generate_images(3));
    config.rate_limit = None;
    let em = Emulator::start(config).await.unwrap();
    let mut ids = Vec::new();
    for (body, signed) in [
        ("{}", true),
        ("{}", true),
        ("{}", false),
        (r#"{"Limit": 101}"#, true),
    ] {
        let (_, v) = post(&em, body, signed).await;
        let id = v["Response"]["RequestId"]
            .as_str()
            .expect("a RequestId")
            .to_owned();
        assert!(is_uuid_v4(&id), "{id}");
        ids.push(id);
    }
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");
    let logged: Vec<String> = em.log().into_iter().map(|e| e.request_id).collect();
    assert_eq!(logged, ids);
}

/// The SDKs and tccli send `X-TC-Language: zh-CN`, and the service answers in
/// Chinese: the emulator answers with each code's documented Chinese text.
#[tokio::test]
async fn errors_are_answered_in_chinese_when_asked_as_the_sdks_ask() {
    let mut config = Config::new(ecm_emulator::generate_images(3));
    config.rate_limit = None;
    let em = Emulator::start(config).await.unwrap();
    let client = super::support::http_client();
    let message = |v: &Value| {
        v["Response"]["Error"]["Message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let chinese = Ask {
        key: Some(DEFAULT_SECRET_KEY),
        language: Some("zh-CN"),
    };
    for (body, how, code, text) in [
        (
            r#"{"Limit": 101}"#,
            chinese,
            "InvalidParameterValue.InvaildPageParam",
            "分页参数不合法。",
        ),
        (
            r#"{"Filters": [{"Name": "image-colour", "Values": ["red"]}]}"#,
            chinese,
            "InvalidParameterValue.InvalidFilter",
            "无效过滤器。",
        ),
        (
            "{}",
            Ask {
                key: Some("not-the-key"),
                ..chinese
            },
            "AuthFailure.SignatureFailure",
            "签名错误。 签名计算错误，请对照调用方式中的接口鉴权文档检查签名计算过程。",
        ),
    ] {
        let (_, v) = ask(&client, &em, body, how).await;
        assert_eq!(v["Response"]["Error"]["Code"], code, "{body}");
        assert_eq!(message(&v), text, "{body}");
        // Asked in English (or not at all), the same error is in English.
        for language in [Some("en-US"), None] {
            let (_, v) = ask(&client, &em, body, Ask { language, ..how }).await;
            assert_eq!(v["Response"]["Error"]["Code"], code);
            assert!(message(&v).is_ascii(), "{body}: {}", message(&v));
        }
    }
    // A code without a documented Chinese text keeps its English message.
    let (_, v) = ask(
        &client,
        &em,
        "{}",
        Ask {
            key: None,
            ..chinese
        },
    )
    .await;
    assert_eq!(
        v["Response"]["Error"]["Code"],
        "AuthFailure.InvalidAuthorization"
    );
    assert!(message(&v).is_ascii(), "{}", message(&v));
    // A page is a page in any language.
    let (_, v) = ask(&client, &em, "{}", chinese).await;
    assert_eq!(v["Response"]["TotalCount"], 3);
}
