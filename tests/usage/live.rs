//! `check` against the emulator with rules that read usage: usage is listed after the
//! images (and only then), the counts decide the findings, and every failure is exit 3
//! with its reason, never a verdict on zeros.

use ecm_emulator::{
    DESCRIBE_IMAGE, DESCRIBE_INSTANCES, DESCRIBE_MODULE, Fault, FaultRule, FaultScript,
};
use serde_json::Value;

use super::{USAGE_RULES, sample_usage};
use crate::live_cli::{STATE, Server, sample, with_credentials};
use crate::support::{NOW, Output, Test};

pub(super) fn server(faults: FaultScript) -> Server {
    let (instances, modules) = sample_usage();
    Server::start(sample(), |config| {
        config.instances = instances;
        config.modules = modules;
        config.faults = faults;
    })
}

pub(super) fn check(server: &Server, policy: &str, extra: &[&str]) -> Output {
    let url = server.url();
    let mut args = vec!["check", "--endpoint", url.as_str(), "--now", NOW];
    args.extend_from_slice(extra);
    with_credentials(Test::new().policy(policy))
        .args(&args)
        .run()
}

/// (rule, ImageId, status) of every finding of a JSON report.
pub(super) fn findings(report: &Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["image"]["ImageId"].as_str().unwrap_or("").to_owned(),
                f["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn owned(items: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

#[test]
fn usage_rules_judge_what_uses_each_image() {
    let server = server(FaultScript::none());
    let out = check(&server, USAGE_RULES, &["--format", "json"]).code(1);
    let report = out.json();
    assert_eq!(
        findings(&report),
        owned(&[
            ("unused-private-images-expire", "img-1tyt4apn", "violation"),
            ("unused-private-images-expire", "img-k7pz3c1m", "violation"),
            ("unused-private-images-expire", "img-f0ld9e2r", "violation"),
            ("unused-private-images-expire", "img-n8ull0ab", "violation"),
            (
                "running-images-are-current",
                "img-9qabwvbn",
                "indeterminate"
            ),
            ("running-images-are-current", "img-060ov1xz", "violation"),
        ])
    );
    let message = report["findings"][5]["message"].as_str().unwrap();
    assert_eq!(
        message,
        "img-060ov1xz (CentOS 6.9 32位) runs on 1 instances and is older than a year"
    );
    // Images first, then instances, then modules: each listing whole.
    let actions: Vec<String> = server.log().into_iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [DESCRIBE_IMAGE, DESCRIBE_INSTANCES, DESCRIBE_MODULE]
    );
    // The run's requests count every listing.
    assert_eq!(report["run"]["requests"], 3);
}

/// A policy that reads no usage asks for none: an account that grants only
/// ecm:DescribeImage keeps working.
#[test]
fn without_a_usage_rule_nothing_more_is_requested() {
    let denied = FaultScript::new(vec![
        FaultRule::once(Fault::ApiError {
            code: "UnauthorizedOperation".into(),
            message: None,
        })
        .for_action(DESCRIBE_INSTANCES)
        .forever(),
    ]);
    let server = server(denied);
    check(&server, STATE, &[]).code(1);
    assert!(server.log().iter().all(|e| e.action == DESCRIBE_IMAGE));
    // --usage lists it all the same, and then the denial stops the run.
    check(&server, STATE, &["--usage"])
        .code(3)
        .stderr_has("ecm:DescribeInstances")
        .stderr_has("usage is needed by --usage");
}

/// A CAM policy without ecm:DescribeInstances: exit 3, naming the action, the permission
/// and the rules that need it; no report that could pass for a result.
#[test]
fn a_missing_permission_is_exit_3_naming_the_rules() {
    let denied = FaultScript::new(vec![
        FaultRule::once(Fault::ApiError {
            code: "AuthFailure.UnauthorizedOperation".into(),
            message: Some("no permission".into()),
        })
        .for_action(DESCRIBE_MODULE)
        .forever(),
    ]);
    let server = server(denied);
    let out = check(&server, USAGE_RULES, &["--format", "json"]).code(3);
    assert!(out.stdout.is_empty(), "no report: {}", out.stdout);
    let out = out
        .stderr_has("ecmguard::usage-unauthorized")
        .stderr_has("DescribeModule failed with AuthFailure.UnauthorizedOperation")
        .stderr_has("ecm:DescribeModule");
    // The help is wrapped at the terminal's width: compare it on one line.
    let stderr = out.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        stderr.contains(
            "usage is needed by the rules unused-private-images-expire and running-images-are-current"
        ),
        "{stderr}"
    );
    assert!(!out.stderr.contains(ecm_emulator::DEFAULT_SECRET_KEY));
}

/// An incomplete usage listing is exit 3, never zeros.
#[test]
fn an_incomplete_usage_listing_is_exit_3() {
    let unsettled = FaultScript::new(vec![
        FaultRule::once(Fault::TotalCountDelta { delta: 1 })
            .for_action(DESCRIBE_INSTANCES)
            .forever(),
    ]);
    let server = server(unsettled);
    check(&server, USAGE_RULES, &["--format", "json"])
        .code(3)
        .stderr_has("ecmguard::pagination-unsettled")
        .stderr_has("DescribeInstances: the instance list did not settle");
}

/// An instance whose image the API does not name: `Usage.InUse` is unknown for every image
/// with no counted use (so no unused image is flagged for it, and an `assert` on it is
/// indeterminate), and every report says how many such instances there are.
#[test]
fn an_instance_with_an_unknown_image_makes_in_use_unknown() {
    let null_image = FaultScript::new(vec![
        FaultRule::once(Fault::NullImage { count: 1, at: 2 }).for_action(DESCRIBE_INSTANCES),
    ]);
    let server = server(null_image);
    let policy = format!(
        "{USAGE_RULES}  - id: private-images-are-used
    title: Private images are in use
    where: {{ ImageType: PRIVATE_IMAGE }}
    assert: {{ Usage.InUse: true }}
"
    );
    let out = check(&server, &policy, &["--format", "json"]).code(1);
    let report = out.json();
    let found = findings(&report);
    assert!(
        !found
            .iter()
            .any(|(rule, _, _)| rule == "unused-private-images-expire"),
        "no image is taken for unused: {found:?}"
    );
    let in_use: Vec<(String, String)> = found
        .iter()
        .filter(|(rule, _, _)| rule == "private-images-are-used")
        .map(|(_, image, status)| (image.clone(), status.clone()))
        .collect();
    assert_eq!(
        in_use,
        [
            ("img-1tyt4apn".to_owned(), "indeterminate".to_owned()),
            ("img-k7pz3c1m".to_owned(), "indeterminate".to_owned()),
            ("img-f0ld9e2r".to_owned(), "indeterminate".to_owned()),
            ("img-n8ull0ab".to_owned(), "indeterminate".to_owned()),
        ]
    );
    let warning = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == "usage-image-unknown")
        .expect("a warning says so");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .starts_with("1 instance runs an image the API does not name"),
        "{warning}"
    );
    check(&server, &policy, &[])
        .code(1)
        .stdout_has("1 instance runs an image the API does not name");
}
