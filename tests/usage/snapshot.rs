//! Usage in snapshots: `fetch --usage` (or a `--policy` that reads usage) saves both
//! listings in the snapshot's `usage` section; a snapshot with usage is judged exactly as
//! the live check; one without, or one whose usage does not add up, is never judged by
//! usage rules.

use serde_json::{Value, json};

use super::live::{check, findings, server};
use super::{USAGE_RULES, sample_usage};
use crate::live_cli::{STATE, sample, with_credentials};
use crate::support::{NOW, Output, Test};

pub(super) fn fetch(url: &str, policy: Option<&str>, extra: &[&str]) -> Output {
    let mut test = Test::new();
    if let Some(policy) = policy {
        test = test.policy(policy);
    }
    let mut args = vec!["fetch", "--endpoint", url, "-o", "snap.json"];
    args.extend_from_slice(extra);
    with_credentials(test).args(&args).run()
}

pub(super) fn check_snapshot(snapshot: &str, policy: &str, extra: &[&str]) -> Output {
    let mut args = vec!["check", "--snapshot", "snap.json", "--now", NOW];
    args.extend_from_slice(extra);
    Test::new()
        .policy(policy)
        .file("snap.json", snapshot)
        .args(&args)
        .run()
}

#[test]
fn a_snapshot_with_usage_is_judged_exactly_as_the_live_check() {
    let server = server(ecm_emulator::FaultScript::none());
    let out = fetch(&server.url(), None, &["--usage"]).code(0);
    let text = out.read("snap.json");
    let snapshot: Value = serde_json::from_str(&text).unwrap();
    let usage = &snapshot["usage"];
    assert_eq!(usage["instances_total"], 3);
    assert_eq!(usage["modules_total"], 2);
    // As the API sent them, trimmed to the members usage reads.
    assert_eq!(
        usage["InstanceSet"][0],
        json!({"InstanceId": "ein-bb0ab3pc", "InstanceState": "RUNNING",
               "Image": {"ImageId": "img-060ov1xz"},
               "SimpleModule": {"ModuleId": "em-5wrpefy1", "ModuleName": "web"}})
    );
    assert_eq!(
        usage["ModuleSet"][1],
        json!({"ModuleId": "em-n2e2345", "ModuleName": "batch", "ModuleState": "NORMAL", "DefaultImage": null})
    );
    let live = check(&server, USAGE_RULES, &["--format", "json"])
        .code(1)
        .json();
    let saved = check_snapshot(&text, USAGE_RULES, &["--format", "json"])
        .code(1)
        .json();
    assert_eq!(findings(&saved), findings(&live));
    assert_eq!(saved["findings"], live["findings"]);
    assert_eq!(saved["summary"], live["summary"]);
    assert_eq!(saved["rules"], live["rules"]);
}

/// Without `--usage`, `fetch` saves usage when the policies it is for read it (the
/// default ./policies here), and not when they do not.
#[test]
fn fetch_saves_usage_when_its_policies_read_it() {
    let server = server(ecm_emulator::FaultScript::none());
    let with = fetch(&server.url(), Some(USAGE_RULES), &[]).code(0);
    let snapshot: Value = serde_json::from_str(&with.read("snap.json")).unwrap();
    assert_eq!(snapshot["usage"]["instances_total"], 3);
    let without = fetch(&server.url(), Some(STATE), &[]).code(0);
    let snapshot: Value = serde_json::from_str(&without.read("snap.json")).unwrap();
    assert!(snapshot.get("usage").is_none());
    // No policy at all: a snapshot needs none.
    let none = fetch(&server.url(), None, &[]).code(0);
    let snapshot: Value = serde_json::from_str(&none.read("snap.json")).unwrap();
    assert!(snapshot.get("usage").is_none());
    // A policy that does not load stops the fetch, as it stops a check.
    fetch(&server.url(), Some("rules: [}"), &[]).code(2);
}

/// A snapshot without usage, checked by a rule that reads it: exit 3, saying to fetch it
/// with --usage. Shapes that cannot hold usage (tccli's, a response) are the same.
#[test]
fn a_snapshot_without_usage_is_exit_3() {
    let ours = json!({"schema": "ecmguard/snapshot/v1", "total_count": 1,
                      "ImageSet": [{"ImageId": "img-a", "ImageType": "PRIVATE_IMAGE"}]});
    let tccli = json!({"TotalCount": 1, "ImageSet": [{"ImageId": "img-a"}], "RequestId": "r"});
    for snapshot in [ours.clone(), tccli] {
        check_snapshot(&snapshot.to_string(), USAGE_RULES, &[])
            .code(3)
            .stderr_has("ecmguard::snapshot-usage-missing")
            .stderr_has("fetch it with --usage");
    }
    // --usage asks for it too; without either, the snapshot is judged as before.
    check_snapshot(&ours.to_string(), STATE, &["--usage"])
        .code(3)
        .stderr_has("needed by --usage");
    check_snapshot(&ours.to_string(), STATE, &[]).code(1);
}

fn ours_with_usage(usage: Value) -> String {
    let images: Vec<Value> = sample();
    json!({"schema": "ecmguard/snapshot/v1", "total_count": images.len(),
           "ImageSet": images, "usage": usage})
    .to_string()
}

/// A usage section that does not add up is exit 3 (or 2 when it is malformed), never a
/// verdict; a section nobody reads is not judged.
#[test]
fn a_usage_section_is_checked_like_a_listing() {
    let (instances, _) = sample_usage();
    let instance_set: Vec<Value> = instances
        .iter()
        .map(|i| json!({"InstanceId": i.id, "InstanceState": i.state, "Image": {"ImageId": i.image}}))
        .collect();
    let good = json!({"instances_total": 3, "modules_total": 0, "InstanceSet": instance_set, "ModuleSet": []});
    check_snapshot(&ours_with_usage(good.clone()), USAGE_RULES, &[]).code(1);

    let mut short = good.clone();
    short["instances_total"] = json!(4);
    check_snapshot(&ours_with_usage(short.clone()), USAGE_RULES, &[])
        .code(3)
        .stderr_has("ecmguard::snapshot-incomplete")
        .stderr_has("3 distinct instances but a total of 4");
    let mut no_total = good.clone();
    no_total["modules_total"] = Value::Null;
    check_snapshot(&ours_with_usage(no_total), USAGE_RULES, &[])
        .code(3)
        .stderr_has("has no `modules_total`");
    let mut nameless = good.clone();
    nameless["InstanceSet"][1]["InstanceId"] = Value::Null;
    check_snapshot(&ours_with_usage(nameless), USAGE_RULES, &[])
        .code(2)
        .stderr_has("instance 2 has no `InstanceId`");
    let mut wrong_type = good;
    wrong_type["InstanceSet"][0]["InstanceState"] = json!(7);
    check_snapshot(&ours_with_usage(wrong_type), USAGE_RULES, &[])
        .code(2)
        .stderr_has("ecmguard::snapshot-json");
    // Nothing reads usage: the section is not judged.
    check_snapshot(&ours_with_usage(short), STATE, &[]).code(1);
}
