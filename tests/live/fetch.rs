//! Complete fetches: every image exactly once and in order, the request as the SDK builds
//! it, filters pushed down, and filter validation before any request.

use std::collections::HashSet;

use ecm_emulator::{Config, Emulator, FaultScript, Key, Outcome};
use ecmguard::source::live::{
    ApiFilter, Credentials, FetchError, FetchProgress, fetch_all, image_id_filter, parse_filter_arg,
};

use super::support::{Recorder, emulator, emulator_ids, fast_config, ids};

#[tokio::test]
async fn fetches_every_page_once_in_offset_order() {
    let em = emulator(1234, FaultScript::none()).await;
    let rec = Recorder::default();
    let fetched = fetch_all(&fast_config(&em), &rec.callback()).await.unwrap();
    assert_eq!(fetched.total_count, 1234);
    assert_eq!(ids(&fetched.images), emulator_ids(&em));
    assert_eq!(fetched.stats.pages, 13);
    assert_eq!(fetched.stats.requests, 13);
    assert_eq!(fetched.stats.retries, 0);
    assert_eq!(fetched.stats.restarts, 0);

    // Offsets 0, 100, …, 1200, each once, all with Limit 100.
    let log = em.log();
    let mut offsets: Vec<i64> = log.iter().map(|e| e.offset.unwrap()).collect();
    offsets.sort();
    assert_eq!(offsets, (0..13).map(|i| i * 100).collect::<Vec<_>>());
    assert!(log.iter().all(|e| e.limit == Some(100)));
    assert_eq!(log[0].offset, Some(0), "the first page is requested first");

    let pages: Vec<_> = rec
        .events()
        .into_iter()
        .filter_map(|e| match e {
            FetchProgress::Page { done, total, .. } => Some((done, total)),
            _ => None,
        })
        .collect();
    assert_eq!(pages.len(), 13);
    assert_eq!(pages.last(), Some(&(13, 13)));
}

/// The emulator's data is read by ecmguard's own snapshot reader (the
/// example's `--images`), so it takes every shape `--snapshot` takes: here
/// the sample saved page by page with tccli, one output after another (`cat`),
/// and `null` fields, key order and unknown fields come back as written.
#[tokio::test]
async fn the_emulator_serves_a_listing_saved_page_by_page() {
    let sample = crate::support::tencent_fixture("sample_images.json");
    let sample: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample).unwrap()).unwrap();
    let images = sample["ImageSet"].as_array().unwrap().clone();
    let pages: String = images
        .chunks(4)
        .map(|page| {
            let output = serde_json::json!({
                "TotalCount": images.len(),
                "ImageSet": page,
                "RequestId": "6bf23a6f-0be1-48df-b5f6-6cd131e8cdb5",
            });
            format!("{output:#}\n")
        })
        .collect();
    let served = ecmguard::source::snapshot::load_json(
        "-",
        ecmguard::source::snapshot::Completeness::Assumed,
        &mut pages.as_bytes(),
    )
    .expect("the pages are one listing");
    let mut config = Config::new(served);
    config.rate_limit = None;
    let em = Emulator::start(config).await.unwrap();
    let fetched = fetch_all(&fast_config(&em), &|_| {}).await.unwrap();
    let back: Vec<serde_json::Value> = fetched
        .images
        .iter()
        .map(|raw| serde_json::from_str(raw.get()).unwrap())
        .collect();
    assert_eq!(back, images);
}

#[tokio::test]
async fn images_are_kept_exactly_as_sent() {
    let sample = crate::support::tencent_fixture("sample_images.json");
    let images = ecmguard::source::snapshot::load_json(
        &sample.display().to_string(),
        ecmguard::source::snapshot::Completeness::Proven,
        &mut std::io::empty(),
    )
    .unwrap();
    let mut config = Config::new(images.clone());
    config.rate_limit = None;
    let em = Emulator::start(config).await.unwrap();
    let mut cfg = fast_config(&em);
    cfg.page_size = 4; // several pages from 11 images
    let fetched = fetch_all(&cfg, &|_| {}).await.unwrap();
    assert_eq!(fetched.images.len(), images.len());
    for (raw, original) in fetched.images.iter().zip(&images) {
        let back: serde_json::Value = serde_json::from_str(raw.get()).unwrap();
        assert_eq!(&back, original);
    }
}

#[tokio::test]
async fn empty_result_set() {
    let em = emulator(0, FaultScript::none()).await;
    let fetched = fetch_all(&fast_config(&em), &|_| {}).await.unwrap();
    assert_eq!(fetched.total_count, 0);
    assert!(fetched.images.is_empty());
    assert_eq!(em.request_count(), 1);
}

#[tokio::test]
async fn sends_exactly_the_sdk_headers_and_signs_the_body_sent() {
    let mut config = Config::new(ecm_emulator::generate_images(5));
    config.keys = vec![Key::new("AKIDtemp", "tempkey").with_token("session-token-1")];
    let em = Emulator::start(config).await.unwrap();
    let mut cfg = fast_config(&em);
    cfg.credentials = Credentials::new("AKIDtemp", "tempkey", Some("session-token-1".into()));
    cfg.region = Some("ap-guangzhou".into());
    cfg.filters = vec![parse_filter_arg("image-type=PRIVATE_IMAGE,PUBLIC_IMAGE").unwrap()];
    fetch_all(&cfg, &|_| {}).await.unwrap();

    let log = em.log();
    let e = &log[0];
    assert!(matches!(e.outcome, Outcome::Page { .. }), "{:?}", e.outcome);
    assert_eq!(e.method, "POST");
    assert_eq!(e.header("content-type"), Some("application/json"));
    assert_eq!(e.header("host"), Some(em.addr().to_string().as_str()));
    assert_eq!(e.header("x-tc-action"), Some("DescribeImage"));
    assert_eq!(e.header("x-tc-version"), Some("2019-07-19"));
    assert_eq!(e.header("x-tc-region"), Some("ap-guangzhou"));
    assert_eq!(e.header("x-tc-token"), Some("session-token-1"));
    assert_eq!(e.header("x-tc-language"), Some("en-US"));
    assert!(
        e.header("x-tc-requestclient")
            .unwrap()
            .starts_with("ecmguard/")
    );
    let ts: i64 = e.header("x-tc-timestamp").unwrap().parse().unwrap();
    assert!(ts > 1_700_000_000);
    let auth = e.header("authorization").unwrap();
    assert!(
        auth.starts_with("TC3-HMAC-SHA256 Credential=AKIDtemp/"),
        "{auth}"
    );
    assert!(
        auth.contains(", SignedHeaders=content-type;host, Signature="),
        "{auth}"
    );
    let body: serde_json::Value = serde_json::from_slice(&e.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "Filters": [{"Name": "image-type", "Values": ["PRIVATE_IMAGE", "PUBLIC_IMAGE"]}],
            "Offset": 0,
            "Limit": 100
        })
    );

    // Without region and token, neither header is sent.
    let em = emulator(3, FaultScript::none()).await;
    fetch_all(&fast_config(&em), &|_| {}).await.unwrap();
    let e = &em.log()[0];
    assert_eq!(e.header("x-tc-region"), None);
    assert_eq!(e.header("x-tc-token"), None);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&e.body).unwrap(),
        serde_json::json!({"Offset": 0, "Limit": 100})
    );
}

#[tokio::test]
async fn image_filter_returns_just_that_image() {
    let em = emulator(500, FaultScript::none()).await;
    let wanted = emulator_ids(&em)[321].clone();
    let mut cfg = fast_config(&em);
    cfg.filters = vec![image_id_filter([wanted.clone()])];
    let fetched = fetch_all(&cfg, &|_| {}).await.unwrap();
    assert_eq!(ids(&fetched.images), vec![wanted]);
    assert_eq!(fetched.total_count, 1);
    assert_eq!(em.request_count(), 1);

    // Two ids (ORed) and a filter on type (ANDed).
    let all = emulator_ids(&em);
    cfg.filters = vec![
        image_id_filter([all[1].clone(), all[3].clone(), all[6].clone()]),
        ApiFilter::new("image-type", ["PUBLIC_IMAGE"]),
    ];
    let fetched = fetch_all(&cfg, &|_| {}).await.unwrap();
    // Generated images: every third (index % 3 == 0) is public.
    assert_eq!(ids(&fetched.images), vec![all[3].clone(), all[6].clone()]);

    // Substring filters.
    cfg.filters = vec![parse_filter_arg("image-os=Ubuntu").unwrap()];
    let fetched = fetch_all(&cfg, &|_| {}).await.unwrap();
    assert_eq!(fetched.images.len(), 125);
}

#[tokio::test]
async fn filters_are_validated_before_any_request() {
    let em = emulator(10, FaultScript::none()).await;
    let mut cfg = fast_config(&em);
    let cases: Vec<Vec<ApiFilter>> = vec![
        (0..11)
            .map(|i| image_id_filter([format!("img-{i}")]))
            .collect(),
        vec![ApiFilter::new("image-name", ["a", "b"])],
        vec![ApiFilter::new("image-typo", ["PRIVATE_IMAGE"])],
        vec![ApiFilter::new("image-id", Vec::<String>::new())],
    ];
    for filters in cases {
        cfg.filters = filters;
        let err = fetch_all(&cfg, &|_| {}).await.unwrap_err();
        assert!(matches!(err, FetchError::Filter(_)), "{err:?}");
        assert_eq!(ecmguard::exit::ExitCode::of_fetch_error(&err).code(), 2);
    }
    assert_eq!(em.request_count(), 0, "the emulator saw no request");
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_before_any_request() {
    let mut cfg = fast_config(&emulator(1, FaultScript::none()).await);
    cfg.endpoint = "http://ecm.tencentcloudapi.com".into();
    let err = fetch_all(&cfg, &|_| {}).await.unwrap_err();
    assert!(
        matches!(err, FetchError::InsecureEndpoint { .. }),
        "{err:?}"
    );
    assert_eq!(ecmguard::exit::ExitCode::of_fetch_error(&err).code(), 2);
    cfg.endpoint = "https://x/some/path".into();
    let err = fetch_all(&cfg, &|_| {}).await.unwrap_err();
    assert_eq!(ecmguard::exit::ExitCode::of_fetch_error(&err).code(), 2);
}

/// 25,000 images: 250 pages, every ImageId exactly once, in order. The rate is raised (and
/// the emulator's limit with it) because the rate is not what this test is about.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_five_thousand_images_exactly_once() {
    let images = ecm_emulator::generate_images(25_000);
    let expected: Vec<String> = images
        .iter()
        .map(|v| v["ImageId"].as_str().unwrap().to_owned())
        .collect();
    let mut config = Config::new(images);
    config.rate_limit = Some(400);
    let em = Emulator::start(config).await.unwrap();
    let mut cfg = fast_config(&em);
    cfg.rate = 400.0;
    let fetched = fetch_all(&cfg, &|_| {}).await.unwrap();
    let got = ids(&fetched.images);
    assert_eq!(got.len(), 25_000);
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 25_000);
    assert_eq!(got, expected);
    assert_eq!(fetched.stats.pages, 250);
    assert_eq!(fetched.stats.requests, 250);
    assert_eq!(
        fetched.stats.retries, 0,
        "never throttled at the emulator's own limit"
    );
}

/// A server that serves fewer images per page than `Limit` asks for, with a stable
/// `TotalCount`: the listing adapts to the page size it is given and fills any gap,
/// instead of restarting until it gives up.
#[tokio::test]
async fn a_lower_page_cap_than_documented_still_gives_the_complete_set() {
    for cap in [20usize, 37] {
        let mut config = Config::new(ecm_emulator::generate_images(1000));
        config.rate_limit = None;
        config.page_cap = Some(cap);
        let em = Emulator::start(config).await.unwrap();
        let fetched = fetch_all(&fast_config(&em), &|_| {}).await.unwrap();
        assert_eq!(ids(&fetched.images), emulator_ids(&em), "cap {cap}");
        assert_eq!(fetched.stats.restarts, 0, "cap {cap}");
        assert_eq!(
            fetched.stats.requests,
            1000_u64.div_ceil(cap as u64),
            "cap {cap}: one request per page"
        );
        let unique: HashSet<String> = ids(&fetched.images).into_iter().collect();
        assert_eq!(unique.len(), 1000);
    }
}
