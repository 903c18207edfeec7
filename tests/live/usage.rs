//! The usage listings (`DescribeInstances`, `DescribeModule`) through the same listing as the
//! images, against the emulator: complete and de-duplicated, counted exactly as a direct
//! count over what the emulator serves, paced per action, retried and restarted as images
//! are, and a permission denial named with its action and what needs it. The counts under
//! seeded random fault scripts are a property: equal to the direct count, or exit 3.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ecm_emulator::{
    Config, DESCRIBE_IMAGE, DESCRIBE_INSTANCES, DESCRIBE_MODULE, Emulator, Fault, FaultRule,
    FaultScript, Outcome,
};
use ecmguard::diag::Code;
use ecmguard::exit::ExitCode;
use ecmguard::source::live::{FetchError, FetchProgress, Session, UsageScope};
use ecmguard::usage::Usage;

use super::support::{Recorder, fast_config};

/// An emulator with `images` generated images, `instances` instances and `modules` modules,
/// no rate limit, with these faults.
pub(super) async fn emulator(
    images: usize,
    instances: usize,
    modules: usize,
    faults: FaultScript,
) -> Emulator {
    let generated = ecm_emulator::generate_images(images);
    let (i, m) = ecm_emulator::generate_usage(&generated, instances, modules);
    let mut config = Config::new(generated).with_usage(i, m);
    config.rate_limit = None;
    config.faults = faults;
    Emulator::start(config).await.expect("emulator starts")
}

/// ImageId → (instances, running, modules), counted directly over what the emulator
/// serves now, and the number of instances without an image.
pub(super) fn direct_counts(em: &Emulator) -> (BTreeMap<String, (u32, u32, u32)>, u64) {
    let mut counts: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    let mut unknown = 0;
    for instance in em.instances() {
        match instance.image {
            Some(image) => {
                let entry = counts.entry(image).or_default();
                entry.0 += 1;
                entry.1 += u32::from(instance.state == "RUNNING");
            }
            None => unknown += 1,
        }
    }
    for module in em.modules() {
        if let Some(image) = module.default_image {
            counts.entry(image).or_default().2 += 1;
        }
    }
    (counts, unknown)
}

/// The same, from a fetched usage index.
pub(super) fn fetched_counts(usage: &Usage) -> BTreeMap<String, (u32, u32, u32)> {
    let images: BTreeSet<String> = usage
        .set()
        .instances
        .iter()
        .filter_map(|i| i.image_id().map(str::to_owned))
        .chain(
            usage
                .set()
                .modules
                .iter()
                .filter_map(|m| m.image_id().map(str::to_owned)),
        )
        .collect();
    let by_image = usage.by_image();
    images
        .into_iter()
        .map(|image| {
            let c = by_image.counts(&image);
            (image, (c.instances, c.running, c.modules))
        })
        .collect()
}

#[tokio::test]
async fn the_usage_of_an_account_is_what_the_emulator_serves() {
    let em = emulator(600, 1_250, 40, FaultScript::none()).await;
    let cfg = fast_config(&em);
    let rec = Recorder::default();
    let session = Session::new(&cfg).unwrap();
    let fetched = session
        .usage(UsageScope::Account, "--usage", &rec.callback())
        .await
        .unwrap();
    assert_eq!(
        (fetched.instances_total, fetched.modules_total),
        (1_250, 40)
    );
    let ids: Vec<String> = fetched
        .set
        .instances
        .iter()
        .filter_map(|i| i.id.as_deref().map(str::to_owned))
        .collect();
    let served: Vec<String> = em.instances().into_iter().map(|i| i.id).collect();
    assert_eq!(ids, served, "every instance, in order, once");
    let usage = Usage::new(fetched.set);
    let (direct, unknown) = direct_counts(&em);
    assert_eq!(unknown, 0);
    assert!(usage.is_exact());
    assert_eq!(fetched_counts(&usage), direct);
    // 13 pages of instances, 1 of modules, each listing announced to the progress sink.
    assert_eq!(fetched.stats.pages, 14);
    let listings: Vec<(&str, Option<u64>)> = rec
        .events()
        .iter()
        .filter_map(|e| match e {
            FetchProgress::Listing { action, .. } => Some((action.name, None)),
            FetchProgress::Listed { action, items, .. } => Some((action.name, Some(*items))),
            _ => None,
        })
        .collect();
    assert_eq!(
        listings,
        [
            ("DescribeInstances", None),
            ("DescribeInstances", Some(1_250)),
            ("DescribeModule", None),
            ("DescribeModule", Some(40)),
        ]
    );
    // Every request named its action, and none of them was a DescribeImage.
    let log = em.log();
    assert_eq!(
        log.iter()
            .filter(|e| e.action == DESCRIBE_INSTANCES)
            .count(),
        13
    );
    assert_eq!(
        log.iter().filter(|e| e.action == DESCRIBE_MODULE).count(),
        1
    );
    assert!(log.iter().all(|e| e.action != DESCRIBE_IMAGE));
}

/// Instances whose `Image` is null: counted apart, never as a use of any image.
#[tokio::test]
async fn instances_without_an_image_are_counted_apart() {
    let faults = FaultScript::new(vec![
        FaultRule::once(Fault::NullImage { count: 7, at: 10 }).for_action(DESCRIBE_INSTANCES),
    ]);
    let em = emulator(200, 300, 10, faults).await;
    let session = Session::new(&fast_config(&em)).unwrap();
    let fetched = session
        .usage(UsageScope::Account, "--usage", &|_| {})
        .await
        .unwrap();
    let usage = Usage::new(fetched.set);
    let (direct, unknown) = direct_counts(&em);
    assert_eq!(unknown, 7);
    assert_eq!(usage.unknown_image_instances(), 7);
    assert!(!usage.is_exact());
    assert_eq!(fetched_counts(&usage), direct);
}

/// A CAM policy that allows DescribeImage only: the instance listing is refused once (not
/// retried), and the error names the action, the permission and what needs it.
#[tokio::test]
async fn a_missing_permission_names_the_action_and_who_needs_it() {
    let faults = FaultScript::new(vec![
        FaultRule::once(Fault::ApiError {
            code: "UnauthorizedOperation".into(),
            message: Some("you are not authorized to perform DescribeInstances".into()),
        })
        .for_action(DESCRIBE_INSTANCES)
        .forever(),
    ]);
    let em = emulator(150, 100, 5, faults).await;
    let cfg = fast_config(&em);
    let session = Session::new(&cfg).unwrap();
    let images = session.images(&[], &|_| {}).await.unwrap();
    assert_eq!(images.images.len(), 150, "DescribeImage is still allowed");
    let err = session
        .usage(
            UsageScope::Account,
            "the rules unused-private-images-expire and running-images-are-current",
            &|_| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Usage { .. }), "{err:?}");
    assert_eq!(ExitCode::of_fetch_error(&err), ExitCode::Incomplete);
    let diag = err.diag();
    assert_eq!(diag.code, Code::UsageUnauthorized);
    assert!(
        diag.message
            .starts_with("DescribeInstances failed with UnauthorizedOperation"),
        "{}",
        diag.message
    );
    let help = diag.help.unwrap_or_default();
    assert!(help.contains("ecm:DescribeInstances"), "{help}");
    assert!(
        help.contains("unused-private-images-expire and running-images-are-current"),
        "{help}"
    );
    assert!(!help.contains(&cfg.credentials.secret_key().expose().to_string()));
    let denied = em
        .log()
        .iter()
        .filter(|e| e.action == DESCRIBE_INSTANCES)
        .count();
    assert_eq!(denied, 1, "a permission is not retried");
    assert!(em.log().iter().all(|e| e.action != DESCRIBE_MODULE));
}

/// The guarantees of the image listing hold per action: a throttled and a failing page are
/// retried, a null set is asked again, a moving total restarts the listing, repeats are
/// dropped; and other failures name the action.
#[tokio::test]
async fn usage_listings_are_retried_restarted_and_de_duplicated() {
    let faults = FaultScript::new(vec![
        FaultRule::once(Fault::Throttle)
            .for_action(DESCRIBE_INSTANCES)
            .at_offset(100),
        FaultRule::once(Fault::InternalError)
            .for_action(DESCRIBE_MODULE)
            .times(2),
        FaultRule::once(Fault::NullImageSet)
            .for_action(DESCRIBE_INSTANCES)
            .at_offset(200),
        FaultRule::once(Fault::TotalCountDelta { delta: 1 })
            .for_action(DESCRIBE_INSTANCES)
            .at_offset(300),
        FaultRule::once(Fault::Duplicate { count: 5 })
            .for_action(DESCRIBE_MODULE)
            .at_offset(100),
    ]);
    let em = emulator(300, 420, 150, faults).await;
    let session = Session::new(&fast_config(&em)).unwrap();
    let rec = Recorder::default();
    let fetched = session
        .usage(UsageScope::Account, "--usage", &rec.callback())
        .await
        .unwrap();
    assert_eq!(fetched.set.instances.len(), 420);
    assert_eq!(fetched.set.modules.len(), 150);
    assert_eq!(fetched.stats.restarts, 1);
    // The module listing's two InternalErrors at least (the throttled instance page may be
    // cancelled by the restart before its retry).
    assert!(fetched.stats.retries >= 2, "{:?}", fetched.stats);
    let (direct, _) = direct_counts(&em);
    assert_eq!(fetched_counts(&Usage::new(fetched.set)), direct);

    // A listing that never settles is exit 3, said in the action's own words.
    let faults = FaultScript::new(vec![
        FaultRule::once(Fault::TotalCountDelta { delta: 2 })
            .for_action(DESCRIBE_MODULE)
            .at_offset(100)
            .forever(),
    ]);
    let em = emulator(100, 50, 250, faults).await;
    let err = Session::new(&fast_config(&em))
        .unwrap()
        .usage(UsageScope::Account, "--usage", &|_| {})
        .await
        .unwrap_err();
    assert_eq!(ExitCode::of_fetch_error(&err), ExitCode::Incomplete);
    let message = err.diag().message;
    assert!(
        message.starts_with("DescribeModule: the module list did not settle after 3 restarts"),
        "{message}"
    );
    assert!(message.contains("TotalCount changed from 250"), "{message}");
}

/// The re-check of a few images: `image-id` filters of at most five values, every page,
/// with the same counts as the account's listing for those images.
#[tokio::test]
async fn the_usage_of_a_few_images_is_listed_five_ids_at_a_time() {
    let em = emulator(400, 900, 60, FaultScript::none()).await;
    let (direct, _) = direct_counts(&em);
    let wanted: Vec<String> = direct.keys().take(7).cloned().collect();
    let session = Session::new(&fast_config(&em)).unwrap();
    let fetched = session
        .usage(UsageScope::Images(&wanted), "apply", &|_| {})
        .await
        .unwrap();
    let usage = Usage::new(fetched.set);
    let by_image = usage.by_image();
    for image in &wanted {
        let c = by_image.counts(image);
        assert_eq!(
            (c.instances, c.running, c.modules),
            direct[image],
            "{image}"
        );
    }
    let filters: Vec<(String, usize)> = em
        .log()
        .iter()
        .flat_map(|e| e.filters.iter().map(|(n, v)| (n.clone(), v.len())))
        .collect();
    assert!(
        filters
            .iter()
            .all(|(name, n)| name == "image-id" && *n <= 5)
    );
    let listings = em.log().iter().filter(|e| e.offset == Some(0)).count();
    assert_eq!(listings, 4, "two batches for each action");
}

/// Each action has its own pace: at `--rate 20` against an emulator enforcing 20 requests a
/// second per action, no request is throttled, and no action sees more than 20 in a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_action_is_paced_on_its_own() {
    let generated = ecm_emulator::generate_images(900);
    let (instances, modules) = ecm_emulator::generate_usage(&generated, 2_100, 250);
    let mut config = Config::new(generated).with_usage(instances, modules);
    config.rate_limit = Some(20);
    let em = Emulator::start(config).await.unwrap();
    let mut cfg = fast_config(&em);
    cfg.rate = 20.0;
    let session = Session::new(&cfg).unwrap();
    session.images(&[], &|_| {}).await.unwrap();
    let usage = session
        .usage(UsageScope::Account, "--usage", &|_| {})
        .await
        .unwrap();
    assert_eq!(usage.stats.requests, 21 + 3);
    let log = em.log();
    assert!(
        !log.iter().any(
            |e| matches!(&e.outcome, Outcome::ApiError { code } if code == "RequestLimitExceeded")
        ),
        "no action trips its limit"
    );
    for action in [DESCRIBE_IMAGE, DESCRIBE_INSTANCES, DESCRIBE_MODULE] {
        let summary = em.summary_of(action);
        assert!(summary.busiest_second <= 20, "{action}: {summary:?}");
    }
    assert_eq!(em.summary_of(DESCRIBE_IMAGE).requests, 9);
}

/// One deadline for the whole session: time spent on the images counts against the usage.
#[tokio::test]
async fn the_deadline_covers_every_listing_of_a_session() {
    let faults = FaultScript::new(vec![
        FaultRule::once(Fault::Delay { ms: 300 })
            .for_action(DESCRIBE_INSTANCES)
            .forever(),
    ]);
    let em = emulator(50, 20, 2, faults).await;
    let mut cfg = fast_config(&em);
    cfg.deadline = Duration::from_millis(250);
    let session = Session::new(&cfg).unwrap();
    session.images(&[], &|_| {}).await.unwrap();
    let err = session
        .usage(UsageScope::Account, "--usage", &|_| {})
        .await
        .unwrap_err();
    assert_eq!(err.diag().code, Code::FetchDeadline, "{err}");
    assert!(err.to_string().starts_with("DescribeInstances: "), "{err}");
}

/// Signatures are verified for the usage actions as for images, and a usage listing's
/// errors keep the secret key and the token out, even when a gateway echoes the token.
#[tokio::test]
async fn usage_requests_are_signed_and_their_errors_hold_no_secret() {
    const ID: &str = "AKIDusagecheck";
    const KEY: &str = "UsageCheckSecretKey0123456789";
    const TOKEN: &str = "UsageCheckSessionToken-abcdefgh";
    let generated = ecm_emulator::generate_images(20);
    let (instances, modules) = ecm_emulator::generate_usage(&generated, 30, 3);
    let mut config = Config::new(generated).with_usage(instances, modules);
    config.rate_limit = None;
    config.keys = vec![ecm_emulator::Key::new(ID, KEY).with_token(TOKEN)];
    config.faults = FaultScript::new(vec![
        FaultRule::once(Fault::Http {
            status: 502,
            body: Some("gateway saw token {header:x-tc-token}".into()),
        })
        .for_action(DESCRIBE_MODULE)
        .forever(),
    ]);
    let em = Emulator::start(config).await.unwrap();
    let mut cfg = fast_config(&em);
    cfg.credentials = ecmguard::source::live::Credentials::new(ID, KEY, Some(TOKEN.to_owned()));
    let session = Session::new(&cfg).unwrap();
    let rec = Recorder::default();
    let err = session
        .usage(UsageScope::Account, "--usage", &rec.callback())
        .await
        .unwrap_err();
    // The instances were listed (signed and verified); the modules' gateway kept failing.
    assert!(
        em.log()
            .iter()
            .any(|e| e.action == DESCRIBE_INSTANCES && matches!(e.outcome, Outcome::Page { .. }))
    );
    assert_eq!(em.log()[0].header("x-tc-token"), Some(TOKEN));
    let rendered = super::errors::render(&err);
    assert!(rendered.contains("DescribeModule: HTTP 502"), "{rendered}");
    assert!(rendered.contains("gateway saw token ***"), "{rendered}");
    for text in [rendered, format!("{err:?}"), format!("{:?}", rec.events())] {
        assert!(
            !text.contains(KEY) && !text.contains(&TOKEN[..12]),
            "{text}"
        );
    }

    // A wrong key: the usage action refuses the signature as DescribeImage would.
    cfg.credentials =
        ecmguard::source::live::Credentials::new(ID, "wrong-key", Some(TOKEN.to_owned()));
    let err = Session::new(&cfg)
        .unwrap()
        .usage(UsageScope::Account, "--usage", &|_| {})
        .await
        .unwrap_err();
    assert_eq!(err.diag().code, Code::ApiSignatureFailure, "{err}");
    assert!(
        err.to_string()
            .starts_with("DescribeInstances failed with AuthFailure.SignatureFailure")
    );
}
