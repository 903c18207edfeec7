//! The emulator's HTTP surface as the service's: error envelopes at HTTP 200 with a
//! RequestId, paging limits and their (misspelled) real error code, the default Limit.

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
    if signed {
        let s = sign(&SignInput {
            method: "POST",
            host: &host,
            content_type: "application/json",
            query: "",
            payload: body.as_bytes(),
            timestamp: ts,
            service: "ecm",
            secret_id: DEFAULT_SECRET_ID,
            secret_key: DEFAULT_SECRET_KEY,
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
