//! The emulator's write actions over HTTP, as a client meets them: signatures verified per
//! action, the change seen by later reads of all three listing actions, the refusals (in use,
//! public, unknown, duplicate name), the fault script narrowed to one write action, and the
//! in-process handle that changes the data between requests.

use ecm_emulator::{
    Change, Config, DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, DELETE_IMAGE, Emulator, Fault,
    FaultRule, FaultScript, MODIFY_IMAGE_ATTRIBUTE, Outcome, synthetic_module,
};
use ecmguard::source::live::sign::{SignInput, sign};
use serde_json::{Value, json};

/// A private, unused image of the generated set (index 1), another (2), a public one (0).
const PRIVATE: &str = "img-00000001";
const OTHER: &str = "img-00000002";
const PUBLIC: &str = "img-00000000";

async fn emulator(faults: FaultScript) -> Emulator {
    let mut config = Config::new(ecm_emulator::generate_images(10));
    config.rate_limit = None;
    config.faults = faults;
    // Image 4 is a module's default image.
    config.modules = vec![synthetic_module(1, Some("img-00000004".to_owned()))];
    Emulator::start(config).await.unwrap()
}

/// One request of `action`, signed with `key` (the default secret key when `None`).
async fn call_with(em: &Emulator, action: &str, body: &Value, key: Option<&str>) -> Value {
    serde_json::from_slice(&call_raw_with(em, action, body, key).await).unwrap()
}

async fn call(em: &Emulator, action: &str, body: Value) -> Value {
    call_with(em, action, &body, None).await
}

fn error_code(v: &Value) -> Option<&str> {
    v["Response"]["Error"]["Code"].as_str()
}

async fn describe(em: &Emulator, id: &str) -> Vec<Value> {
    let v = call(
        em,
        "DescribeImage",
        json!({"Filters": [{"Name": "image-id", "Values": [id]}]}),
    )
    .await;
    v["Response"]["ImageSet"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_delete_is_seen_by_later_reads_and_a_second_one_finds_nothing() {
    let em = emulator(FaultScript::none()).await;
    assert_eq!(describe(&em, PRIVATE).await.len(), 1);
    let v = call(&em, DELETE_IMAGE, json!({"ImageIDSet": [PRIVATE]})).await;
    assert_eq!(error_code(&v), None, "{v}");
    assert!(v["Response"]["RequestId"].as_str().is_some());
    assert!(describe(&em, PRIVATE).await.is_empty());
    let v = call(&em, DELETE_IMAGE, json!({"ImageIDSet": [PRIVATE]})).await;
    assert_eq!(error_code(&v), Some("ResourceNotFound"));
    let outcomes: Vec<Outcome> = em
        .log()
        .into_iter()
        .filter(|e| e.action == DELETE_IMAGE)
        .map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes[0], Outcome::Written);
}

#[tokio::test]
async fn a_rename_is_seen_by_every_listing_and_names_stay_unique() {
    let em = emulator(FaultScript::none()).await;
    let other_name = describe(&em, OTHER).await[0]["ImageName"].clone();
    let v = call(
        &em,
        MODIFY_IMAGE_ATTRIBUTE,
        json!({"ImageId": PRIVATE, "ImageName": other_name}),
    )
    .await;
    assert_eq!(
        error_code(&v),
        Some("InvalidParameterValue.ImageNameDuplicate")
    );
    let v = call(
        &em,
        MODIFY_IMAGE_ATTRIBUTE,
        json!({"ImageId": "img-00000004", "ImageName": "renamed", "ImageDescription": "new words"}),
    )
    .await;
    assert_eq!(error_code(&v), None, "{v}");
    let image = &describe(&em, "img-00000004").await[0];
    assert_eq!(image["ImageName"], "renamed");
    assert_eq!(image["ImageDescription"], "new words");
    // The module's DefaultImage is the same image, renamed too.
    let v = call(&em, "DescribeModule", json!({})).await;
    assert_eq!(
        v["Response"]["ModuleItemSet"][0]["Module"]["DefaultImage"]["ImageName"],
        "renamed"
    );
    let v = call(
        &em,
        MODIFY_IMAGE_ATTRIBUTE,
        json!({"ImageId": PRIVATE, "ImageName": "x".repeat(21)}),
    )
    .await;
    assert_eq!(error_code(&v), Some("InvalidParameterValue"));
}

#[tokio::test]
async fn images_in_use_public_or_unknown_are_refused_and_kept() {
    let em = emulator(FaultScript::none()).await;
    for (body, action, code) in [
        (
            json!({"ImageIDSet": ["img-00000004"]}),
            DELETE_IMAGE,
            "FailedOperation.ImageInUse",
        ),
        (
            json!({"ImageIDSet": [PUBLIC]}),
            DELETE_IMAGE,
            "UnauthorizedOperation.ForbiddenOperation",
        ),
        (
            json!({"ImageIDSet": ["img-zzzzzzzz"]}),
            DELETE_IMAGE,
            "ResourceNotFound",
        ),
        (
            json!({"ImageIDSet": ["not-an-id"]}),
            DELETE_IMAGE,
            "InvalidParameterValue.InvalidImageID",
        ),
        (
            json!({"ImageId": PUBLIC, "ImageName": "mine"}),
            MODIFY_IMAGE_ATTRIBUTE,
            "FailedOperation.OperationNotAllow",
        ),
        (
            json!({"ImageId": PRIVATE}),
            MODIFY_IMAGE_ATTRIBUTE,
            "MissingParameter",
        ),
    ] {
        let v = call(&em, action, body.clone()).await;
        assert_eq!(error_code(&v), Some(code), "{action} {body}");
    }
    assert_eq!(em.images().len(), 10);
    // An instance put on an image by the handle makes it in use too.
    em.handle().change(&Change::UseByInstance {
        image: PRIVATE.into(),
    });
    let v = call(&em, DELETE_IMAGE, json!({"ImageIDSet": [PRIVATE]})).await;
    assert_eq!(error_code(&v), Some("FailedOperation.ImageInUse"));
    let v = call(
        &em,
        "DescribeInstances",
        json!({"Filters": [{"Name": "image-id", "Values": [PRIVATE]}]}),
    )
    .await;
    assert_eq!(v["Response"]["TotalCount"], 1);
}

#[tokio::test]
async fn write_requests_are_signed_like_reads() {
    let em = emulator(FaultScript::none()).await;
    let v = call_with(
        &em,
        DELETE_IMAGE,
        &json!({"ImageIDSet": [PRIVATE]}),
        Some("not-the-key"),
    )
    .await;
    assert_eq!(error_code(&v), Some("AuthFailure.SignatureFailure"));
    assert_eq!(em.images().len(), 10);
}

#[tokio::test]
async fn faults_narrowed_to_one_write_action_leave_the_others_alone() {
    let forbidden = FaultRule::once(Fault::ApiError {
        code: "UnauthorizedOperation.ForbiddenOperation".into(),
        message: None,
    })
    .for_action(DELETE_IMAGE)
    .forever();
    let throttle = FaultRule::once(Fault::Throttle).for_action(MODIFY_IMAGE_ATTRIBUTE);
    let em = emulator(FaultScript::new(vec![forbidden, throttle])).await;
    let v = call(&em, DELETE_IMAGE, json!({"ImageIDSet": [PRIVATE]})).await;
    assert_eq!(
        error_code(&v),
        Some("UnauthorizedOperation.ForbiddenOperation")
    );
    assert_eq!(
        describe(&em, PRIVATE).await.len(),
        1,
        "a refusal does nothing"
    );
    let rename = json!({"ImageId": PRIVATE, "ImageName": "fresh"});
    let v = call(&em, MODIFY_IMAGE_ATTRIBUTE, rename.clone()).await;
    assert_eq!(error_code(&v), Some("RequestLimitExceeded"));
    let v = call(&em, MODIFY_IMAGE_ATTRIBUTE, rename).await;
    assert_eq!(error_code(&v), None);
    assert_eq!(em.requests_of(DELETE_IMAGE), 1);
    assert_eq!(em.requests_of(MODIFY_IMAGE_ATTRIBUTE), 2);
}

#[tokio::test]
async fn a_late_or_broken_answer_comes_after_the_write_was_done() {
    let late = FaultRule::once(Fault::Truncate).for_action(DELETE_IMAGE);
    let em = emulator(FaultScript::new(vec![late])).await;
    let v = call_raw_with(&em, DELETE_IMAGE, &json!({"ImageIDSet": [PRIVATE]}), None).await;
    assert!(serde_json::from_slice::<Value>(&v).is_err(), "cut JSON");
    assert!(
        describe(&em, PRIVATE).await.is_empty(),
        "yet the image is gone"
    );
}

#[tokio::test]
async fn a_change_fault_acts_between_a_client_s_read_and_its_write() {
    let change = FaultRule::once(Fault::Change {
        change: Change::UseByModule {
            image: PRIVATE.into(),
        },
    })
    .for_action("DescribeImage");
    let em = emulator(FaultScript::new(vec![change])).await;
    assert_eq!(describe(&em, PRIVATE).await.len(), 1);
    let v = call(&em, DELETE_IMAGE, json!({"ImageIDSet": [PRIVATE]})).await;
    assert_eq!(error_code(&v), Some("FailedOperation.ImageInUse"));
    let parsed = FaultScript::parse(
        "faults:\n  - { action: DescribeImage, fault: { kind: change, change: { kind: make_public, image: img-00000001 } } }\n",
    )
    .unwrap();
    assert_eq!(
        parsed.faults[0].fault,
        Fault::Change {
            change: Change::MakePublic {
                image: PRIVATE.into()
            }
        }
    );
}

/// Like `call_with`, the body's bytes as they came.
async fn call_raw_with(em: &Emulator, action: &str, body: &Value, key: Option<&str>) -> Vec<u8> {
    let body = body.to_string();
    let host = em.addr().to_string();
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let signed = sign(&SignInput {
        method: "POST",
        host: &host,
        content_type: "application/json",
        query: "",
        payload: body.as_bytes(),
        timestamp: ts,
        service: "ecm",
        secret_id: DEFAULT_SECRET_ID,
        secret_key: key.unwrap_or(DEFAULT_SECRET_KEY),
    });
    crate::live::support::http_client()
        .post(em.url())
        .header("content-type", "application/json")
        .header("x-tc-action", action)
        .header("x-tc-version", "2019-07-19")
        .header("x-tc-timestamp", ts.to_string())
        .header("authorization", signed.authorization)
        .body(body)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}
