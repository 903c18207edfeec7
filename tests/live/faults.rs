//! Every fault class of the emulator: a passing fault gives the complete set (retried or
//! restarted), a persistent one gives an error whose exit code is 3 — never a success.

use std::collections::HashSet;
use std::time::Duration;

use ecm_emulator::{Fault, FaultRule, FaultScript, Outcome};
use ecmguard::source::live::{ApiErrorKind, FetchError, FetchProgress, fetch_all};

use super::support::{Recorder, emulator, emulator_ids, fast_config, ids};

const N: usize = 950; // 10 pages, the last one short

fn script(rules: Vec<FaultRule>) -> FaultScript {
    FaultScript::new(rules)
}

/// Runs a fetch against a fault script that goes away; checks the set is complete.
async fn recovers(rules: Vec<FaultRule>) -> (ecmguard::source::live::Fetched, Vec<FetchProgress>) {
    let em = emulator(N, script(rules)).await;
    let rec = Recorder::default();
    let fetched = fetch_all(&fast_config(&em), &rec.callback())
        .await
        .unwrap_or_else(|e| panic!("should recover: {e:?}"));
    let got = ids(&fetched.images);
    assert_eq!(got, emulator_ids(&em), "complete, in order");
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len());
    assert_eq!(fetched.total_count as usize, got.len());
    (fetched, rec.events())
}

/// Runs a fetch against a persistent fault; checks it fails with exit 3.
async fn fails(rules: Vec<FaultRule>) -> (FetchError, ecm_emulator::Emulator) {
    let em = emulator(N, script(rules)).await;
    let mut cfg = fast_config(&em);
    cfg.timeout = Duration::from_millis(600);
    let err = fetch_all(&cfg, &|_| {})
        .await
        .expect_err("a persistent fault must not give a result");
    assert_eq!(
        ecmguard::exit::ExitCode::of_fetch_error(&err).code(),
        3,
        "{err:?}"
    );
    (err, em)
}

fn retries(events: &[FetchProgress]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, FetchProgress::Retry { .. }))
        .count()
}

#[tokio::test]
async fn throttling_burst_is_retried() {
    let (fetched, events) = recovers(vec![
        FaultRule::once(Fault::Throttle).from_request(2).times(6),
    ])
    .await;
    assert_eq!(fetched.stats.retries, 6);
    assert_eq!(fetched.stats.requests, 10 + 6);
    assert_eq!(retries(&events), 6);
    assert!(events.iter().any(|e| matches!(
        e,
        FetchProgress::Retry { reason, .. } if reason == "RequestLimitExceeded"
    )));
}

#[tokio::test]
async fn transient_server_errors_are_retried() {
    for fault in [
        Fault::InternalError,
        Fault::ApiError {
            code: "ServiceUnavailable".into(),
            message: None,
        },
        Fault::ApiError {
            code: "FailedOperation.InternalOperationFailure".into(),
            message: None,
        },
        Fault::ApiError {
            code: "ResourceUnavailable".into(),
            message: None,
        },
        Fault::ApiError {
            code: "RequestLimitExceeded.UinLimitExceeded".into(),
            message: None,
        },
        Fault::Http {
            status: 502,
            body: None,
        },
        Fault::Http {
            status: 503,
            body: None,
        },
        Fault::Truncate,
    ] {
        let (fetched, _) = recovers(vec![FaultRule::once(fault).at_offset(300).times(2)]).await;
        assert_eq!(fetched.stats.retries, 2);
        assert_eq!(fetched.stats.restarts, 0);
    }
}

#[tokio::test]
async fn delay_past_the_timeout_is_retried() {
    // The delayed answer never comes (an hour), and the timeout is far above
    // what any answer takes even on a loaded machine: only the fault can
    // time out, so the counts below cannot depend on the machine's speed.
    let em = emulator(
        N,
        script(vec![
            FaultRule::once(Fault::Delay { ms: 3_600_000 }).at_offset(500),
        ]),
    )
    .await;
    let mut cfg = fast_config(&em);
    cfg.timeout = Duration::from_secs(3);
    let fetched = fetch_all(&cfg, &|_| {}).await.unwrap();
    assert_eq!(ids(&fetched.images), emulator_ids(&em));
    // The delayed page was asked again. On a loaded machine an ordinary
    // answer can miss the timeout too, so other pages may be retried as
    // well: at least, not exactly, one retry.
    assert!(fetched.stats.retries >= 1, "{:?}", fetched.stats);
    assert!(em.log().iter().filter(|e| e.offset == Some(500)).count() >= 2);
}

#[tokio::test]
async fn signature_expire_is_retried_once_after_resigning() {
    let (fetched, _) = recovers(vec![
        FaultRule::once(Fault::ApiError {
            code: "AuthFailure.SignatureExpire".into(),
            message: None,
        })
        .at_offset(100),
    ])
    .await;
    assert_eq!(fetched.stats.retries, 1);
}

/// Drift in `TotalCount`, or a page shifted under us (its content overlaps the page
/// before, which only the final count reveals), restarts the listing.
#[tokio::test]
async fn total_count_drift_and_overlap_restart_the_listing() {
    for fault in [
        Fault::TotalCountDelta { delta: 1 },
        Fault::TotalCountDelta { delta: -3 },
        Fault::Overlap { count: 7 },
    ] {
        let (fetched, events) = recovers(vec![FaultRule::once(fault.clone()).at_offset(400)]).await;
        assert_eq!(fetched.stats.restarts, 1, "{fault:?}");
        assert!(
            events
                .iter()
                .any(|e| matches!(e, FetchProgress::Restart { restart: 1, .. })),
            "{fault:?}"
        );
    }
}

/// A page that comes back empty (`ImageSet: null`) while `TotalCount` stays the same
/// leaves a gap; only the gap is asked for again, and the set is complete.
#[tokio::test]
async fn a_null_image_set_is_filled_without_a_restart() {
    let (fetched, _) = recovers(vec![FaultRule::once(Fault::NullImageSet).at_offset(400)]).await;
    assert_eq!(fetched.stats.restarts, 0);
    assert_eq!(fetched.stats.requests, 11, "ten pages and one gap request");
}

#[tokio::test]
async fn images_inserted_or_deleted_while_paging() {
    let (fetched, _) = recovers(vec![
        FaultRule::once(Fault::Insert { count: 3, at: 0 }).at_offset(200),
    ])
    .await;
    assert_eq!(fetched.total_count as usize, N + 3);
    assert_eq!(fetched.stats.restarts, 1);

    let (fetched, _) = recovers(vec![
        FaultRule::once(Fault::Delete { count: 2, at: 10 }).at_offset(700),
    ])
    .await;
    assert_eq!(fetched.total_count as usize, N - 2);
    assert_eq!(fetched.stats.restarts, 1);
}

#[tokio::test]
async fn duplicates_across_pages_are_removed() {
    // The last page holds 50 images: with 5 repeats of the page before it,
    // it is still within `Limit`.
    let (fetched, _) = recovers(vec![
        FaultRule::once(Fault::Duplicate { count: 5 }).at_offset(900),
    ])
    .await;
    assert_eq!(
        fetched.stats.restarts, 0,
        "duplicates alone need no restart"
    );
    assert_eq!(fetched.images.len(), N);
}

/// A page with more images than `Limit` does not match its request: exit 3
/// (the API never sends one; a server that does is not to be believed).
#[tokio::test]
async fn a_page_larger_than_its_limit_is_refused() {
    let (err, _) = fails(vec![
        FaultRule::once(Fault::Duplicate { count: 5 })
            .at_offset(300)
            .forever(),
    ])
    .await;
    assert!(
        matches!(err, FetchError::PageMismatch { offset: 300, .. }),
        "{err:?}"
    );
    assert_eq!(ecmguard::exit::ExitCode::of_fetch_error(&err).code(), 3);
}

#[tokio::test]
async fn persistent_transient_faults_exhaust_the_budget_with_exit_3() {
    let (err, em) = fails(vec![
        FaultRule::once(Fault::Throttle).at_offset(200).forever(),
    ])
    .await;
    let api = err.api_error().expect("an API error");
    assert_eq!(api.kind, ApiErrorKind::Throttled);
    assert_eq!(api.attempts, 4);
    assert!(!api.request_id.is_empty());
    assert_eq!(em.log().iter().filter(|e| e.offset == Some(200)).count(), 4);

    let (err, _) = fails(vec![FaultRule::once(Fault::InternalError).forever()]).await;
    assert_eq!(
        err.api_error().map(|a| a.kind),
        Some(ApiErrorKind::ServerError)
    );

    let (err, _) = fails(vec![
        FaultRule::once(Fault::Http {
            status: 502,
            body: None,
        })
        .forever(),
    ])
    .await;
    assert!(
        matches!(
            err,
            FetchError::HttpStatus {
                status: 502,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );

    let (err, _) = fails(vec![FaultRule::once(Fault::Truncate).forever()]).await;
    assert!(
        matches!(err, FetchError::MalformedResponse { .. }),
        "{err:?}"
    );

    let (err, _) = fails(vec![
        FaultRule::once(Fault::Delay { ms: 2000 })
            .at_offset(0)
            .forever(),
    ])
    .await;
    assert!(
        matches!(err, FetchError::Timeout { attempts: 4, .. }),
        "{err:?}"
    );
}

/// Throttling that never ends, on every request: exit 3 within the budget, every attempt of
/// the page made (the pacer slows down, the budget bounds it).
#[tokio::test]
async fn throttling_forever_everywhere_is_exit_3_within_the_budget() {
    let (err, em) = fails(vec![FaultRule::once(Fault::Throttle).forever()]).await;
    let api = err.api_error().expect("an API error");
    assert_eq!(api.kind, ApiErrorKind::Throttled);
    assert_eq!(api.attempts, 4);
    let cfg = fast_config(&em);
    // No retry starts past the budget; the last attempt may take up to its timeout.
    assert!(
        api.elapsed <= cfg.retry.max_elapsed + cfg.timeout,
        "{api:?}"
    );
    // Page 0 first, alone: its four attempts are all that is sent.
    assert_eq!(em.request_count(), 4);
}

#[tokio::test]
async fn pagination_that_never_settles_is_exit_3() {
    for fault in [
        Fault::TotalCountDelta { delta: 1 },
        Fault::NullImageSet,
        Fault::Insert { count: 1, at: 0 },
    ] {
        let (err, _) = fails(vec![
            FaultRule::once(fault.clone()).at_offset(100).forever(),
        ])
        .await;
        assert!(
            matches!(err, FetchError::Unsettled { restarts: 3, .. }),
            "{fault:?}: {err:?}"
        );
    }
}

#[tokio::test]
async fn non_retryable_errors_fail_at_once() {
    for code in [
        "InvalidParameterValue.InvaildPageParam",
        "InvalidParameter",
        "MissingParameter",
        "UnauthorizedOperation.ForbiddenOperation",
        "AuthFailure.UnauthorizedOperation",
        "AuthFailure.SignatureFailure",
        "LimitExceeded",
        "InvalidAction",
    ] {
        let (err, em) = fails(vec![
            FaultRule::once(Fault::ApiError {
                code: code.into(),
                message: Some("injected".into()),
            })
            .forever(),
        ])
        .await;
        assert_eq!(err.api_error().map(|a| a.code.as_str()), Some(code));
        assert_eq!(em.request_count(), 1, "{code} is not retried");
    }
    let (err, em) = fails(vec![
        FaultRule::once(Fault::Http {
            status: 404,
            body: None,
        })
        .forever(),
    ])
    .await;
    assert!(matches!(err, FetchError::HttpStatus { status: 404, .. }));
    assert_eq!(em.request_count(), 1);
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let em = emulator(1, FaultScript::none()).await;
    let mut cfg = fast_config(&em);
    cfg.endpoint = format!("http://127.0.0.1:{port}");
    let err = fetch_all(&cfg, &|_| {}).await.unwrap_err();
    assert!(
        matches!(err, FetchError::Transport { attempts: 4, .. }),
        "{err:?}"
    );
    assert_eq!(ecmguard::exit::ExitCode::of_fetch_error(&err).code(), 3);
}

#[tokio::test]
async fn outcome_log_records_faults() {
    let em = emulator(
        150,
        script(vec![FaultRule::once(Fault::Truncate).at_offset(100)]),
    )
    .await;
    fetch_all(&fast_config(&em), &|_| {}).await.unwrap();
    let outcomes: Vec<_> = em
        .log()
        .into_iter()
        .map(|e| (e.offset, e.outcome))
        .collect();
    assert!(outcomes.contains(&(Some(100), Outcome::Truncated)));
}

#[tokio::test]
async fn the_retry_time_budget_bounds_a_page() {
    let em = emulator(
        N,
        script(vec![FaultRule::once(Fault::InternalError).forever()]),
    )
    .await;
    let mut cfg = fast_config(&em);
    cfg.retry.max_attempts = 1_000;
    cfg.retry.min_delay = Duration::from_millis(40);
    cfg.retry.max_delay = Duration::from_millis(80);
    cfg.retry.max_elapsed = Duration::from_millis(400);
    let err = fetch_all(&cfg, &|_| {}).await.unwrap_err();
    let api = err.api_error().unwrap();
    assert!(api.attempts > 1 && api.attempts < 20, "{api:?}");
    // No retry starts past the budget; the last attempt itself may end a little after it.
    assert!(
        api.elapsed <= Duration::from_millis(400) + cfg.timeout,
        "{api:?}"
    );
    assert_eq!(ecmguard::exit::ExitCode::of_fetch_error(&err).code(), 3);
}

/// A `TotalCount` of 10^15 once made the paginator plan every offset (12.8 GB
/// resident after one request): now it is exit 3 after that one request,
/// with nothing planned for it.
#[tokio::test]
async fn an_absurd_total_count_is_refused_before_anything_is_planned() {
    let (err, em) = tokio::time::timeout(
        Duration::from_secs(20),
        fails(vec![
            FaultRule::once(Fault::TotalCountDelta {
                delta: 1_000_000_000_000_000,
            })
            .forever(),
        ]),
    )
    .await
    .expect("refused at once, not planned");
    assert!(
        matches!(err, FetchError::TotalTooLarge { total, limit: 10_000_000 } if total > 1_000_000_000_000_000),
        "{err:?}"
    );
    assert_eq!(em.request_count(), 1);
    assert_eq!(ecmguard::exit::ExitCode::of_fetch_error(&err).code(), 3);
}

/// `Retry-After` is heard: the retry comes no sooner than the server asked,
/// although the configured backoff is a few milliseconds.
#[tokio::test]
async fn retry_after_is_honoured() {
    let em = emulator(
        N,
        script(vec![
            FaultRule::once(Fault::RetryAfter {
                status: 503,
                seconds: 2,
            })
            .at_offset(300),
        ]),
    )
    .await;
    let fetched = fetch_all(&fast_config(&em), &|_| {}).await.unwrap();
    assert_eq!(ids(&fetched.images), emulator_ids(&em));
    let at: Vec<Duration> = em
        .log()
        .iter()
        .filter(|e| e.offset == Some(300))
        .map(|e| e.at)
        .collect();
    assert_eq!(at.len(), 2, "refused once, then answered");
    assert!(
        at[1] - at[0] >= Duration::from_millis(1900),
        "retried after {:?}, not the 2 s asked for",
        at[1] - at[0]
    );
}

/// A `Retry-After` beyond the page's budget ends the fetch at once rather
/// than waiting past it.
#[tokio::test]
async fn a_retry_after_beyond_the_budget_gives_up_at_once() {
    let started = std::time::Instant::now();
    let (err, em) = fails(vec![
        FaultRule::once(Fault::RetryAfter {
            status: 503,
            seconds: 120,
        })
        .forever(),
    ])
    .await;
    assert!(
        matches!(err, FetchError::HttpStatus { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(em.request_count(), 1);
    // Given up without waiting the two minutes it was told to.
    assert!(started.elapsed() < Duration::from_secs(120));
}

/// `--deadline` bounds the whole fetch, whatever each page's budget.
#[tokio::test]
async fn the_deadline_bounds_the_whole_fetch() {
    let em = emulator(
        N,
        script(vec![FaultRule::once(Fault::Delay { ms: 2000 }).forever()]),
    )
    .await;
    let mut cfg = fast_config(&em);
    // Each request would finish within its own 5 s timeout.
    cfg.deadline = Duration::from_millis(900);
    let started = std::time::Instant::now();
    let Err(err) = fetch_all(&cfg, &|_| {}).await else {
        panic!("stopped by the deadline");
    };
    assert!(matches!(err, FetchError::Deadline { .. }), "{err:?}");
    assert_eq!(ecmguard::exit::ExitCode::of_fetch_error(&err).code(), 3);
    // Before even one request's own timeout: the deadline ended it.
    assert!(started.elapsed() < cfg.timeout, "{:?}", started.elapsed());
}
