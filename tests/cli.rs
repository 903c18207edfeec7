//! Command-line behaviour: exit codes 0, 1 and 2 (and 3 for snapshots that
//! say they are incomplete), policy discovery, stdin, and flag validation.

use serde_json::json;

use crate::support::Test;

const STATE_RULE: &str = "rules:\n  - id: state\n    title: Images are NORMAL\n    remediation: Fix the image.\n    assert: { ImageState: NORMAL }\n";

fn normal() -> serde_json::Value {
    json!([{ "ImageId": "img-a", "ImageState": "NORMAL" }])
}

fn broken() -> serde_json::Value {
    json!([{ "ImageId": "img-a", "ImageState": "NORMAL" }, { "ImageId": "img-b", "ImageName": "镜像-b", "ImageState": "IMPORTFAILED" }])
}

#[test]
fn exit_0_when_everything_passes() {
    Test::new()
        .policy(STATE_RULE)
        .images(normal())
        .check(&[])
        .run()
        .code(0)
        .stdout_has("PASS: 1 image checked against 1 rule");
}

#[test]
fn exit_1_on_a_violation_with_the_finding_shown() {
    Test::new()
        .policy(STATE_RULE)
        .images(broken())
        .check(&[])
        .run()
        .code(1)
        .stdout_has("img-b (镜像-b): ImageState is \"IMPORTFAILED\", expected equal to \"NORMAL\"")
        // The location of the failing condition (the rule's `assert`).
        .stdout_has("--> policies/main.yaml:5:13")
        .stdout_has("help: Fix the image.")
        .stdout_has("FAIL: 2 images checked against 1 rule: 1 error, 0 warning, 0 info violations")
        .stderr_has("ecmguard::gate-failed")
        .stderr_has("the gate failed: 1 finding at or above --fail-on error");
}

#[test]
fn a_passing_run_is_silent_on_stderr() {
    let out = Test::new()
        .policy(STATE_RULE)
        .images(normal())
        .check(&["--format", "json"])
        .run()
        .code(0);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn fail_on_sets_the_threshold() {
    let warning_rule =
        STATE_RULE.replace("    remediation", "    severity: warning\n    remediation");
    Test::new()
        .policy(&warning_rule)
        .images(broken())
        .check(&[])
        .run()
        .code(0);
    Test::new()
        .policy(&warning_rule)
        .images(broken())
        .check(&["--fail-on", "warning"])
        .run()
        .code(1);
    Test::new()
        .policy(&warning_rule)
        .images(broken())
        .check(&["--fail-on", "info"])
        .run()
        .code(1);
    Test::new()
        .policy(STATE_RULE)
        .images(broken())
        .check(&["--fail-on", "never"])
        .run()
        .code(0);
}

#[test]
fn indeterminate_fails_like_a_violation() {
    Test::new()
        .policy(STATE_RULE)
        .images(json!([{ "ImageId": "img-a" }]))
        .check(&[])
        .run()
        .code(1)
        .stdout_has("cannot be decided: ImageState is missing");
}

#[test]
fn exit_2_on_invalid_invocations() {
    let t = || Test::new().policy(STATE_RULE).images(normal());
    t().check(&["--now", "yesterday"])
        .run()
        .code(2)
        .stderr_has("--now");
    t().check(&["--api-time-zone", "Mars/Base"])
        .run()
        .code(2)
        .stderr_has("--api-time-zone");
    t().check(&["--param", "novalue"])
        .run()
        .code(2)
        .stderr_has("NAME=VALUE");
    t().check(&["--param", "ghost=1"])
        .run()
        .code(2)
        .stderr_has("ecmguard::unknown-param-argument");
    t().check(&["--report", "pdf=out.pdf"])
        .run()
        .code(2)
        .stderr_has("unknown format `pdf`");
    t().args(&["check", "--snapshot", "missing.json"])
        .run()
        .code(2)
        .stderr_has("cannot read snapshot missing.json");
    t().args(&["check", "--bogus-flag"]).run().code(2);
    Test::new()
        .images(normal())
        .check(&[])
        .run()
        .code(2)
        .stderr_has("cannot read policies");
    Test::new()
        .file("policies/empty/.keep", "")
        .images(normal())
        .check(&["--policy", "policies/empty"])
        .run()
        .code(2)
        .stderr_has("holds no matching");
}

#[test]
fn exit_2_on_malformed_snapshots_with_location() {
    let t = || Test::new().policy(STATE_RULE);
    t().file(
        "images.json",
        "[{\"ImageId\": \"img-a\",\n \"ImageSize\": \"50\"}]",
    )
    .check(&[])
    .run()
    .code(2)
    .stderr_has("images.json:2:");
    t().file("images.json", "[{\"ImageId\": \"img-a\"")
        .check(&[])
        .run()
        .code(2)
        .stderr_has("cut off");
    t().file("images.json", "{\"hello\": 1}")
        .check(&[])
        .run()
        .code(2)
        .stderr_has("not a snapshot");
    t().file("images.json", "\u{feff}garbage")
        .check(&[])
        .run()
        .code(2);
}

#[test]
fn exit_3_on_snapshots_that_are_not_complete() {
    let partial = json!({ "Response": { "TotalCount": 20, "ImageSet": [{ "ImageId": "img-a", "ImageState": "NORMAL" }], "RequestId": "r" } });
    Test::new()
        .policy(STATE_RULE)
        .file("images.json", partial.to_string())
        .check(&[])
        .run()
        .code(3)
        .stderr_has("holds 1 distinct image but its TotalCount is 20");
    let error = json!({ "Response": { "Error": { "Code": "AuthFailure.SignatureFailure", "Message": "bad" }, "RequestId": "r" } });
    Test::new()
        .policy(STATE_RULE)
        .file("images.json", error.to_string())
        .check(&[])
        .run()
        .code(3)
        .stderr_has("AuthFailure.SignatureFailure");
}

#[test]
fn every_snapshot_shape_is_accepted() {
    let image = json!({ "ImageId": "img-a", "ImageState": "NORMAL" });
    let other = json!({ "ImageId": "img-b", "ImageState": "NORMAL" });
    let tccli = |images| json!({ "TotalCount": 2, "ImageSet": images, "RequestId": "r" });
    let shapes = [
        json!({ "schema": "ecmguard/snapshot/v1", "fetched_at": "2026-01-01T00:00:00+08:00", "endpoint": "https://ecm.tencentcloudapi.com", "filters": [], "total_count": 1, "ImageSet": [image] }).to_string(),
        json!({ "Response": { "TotalCount": 1, "ImageSet": [image], "RequestId": "r" } }).to_string(),
        json!([{ "Response": { "TotalCount": 1, "ImageSet": [image], "RequestId": "r1" } }, { "Response": { "TotalCount": 1, "ImageSet": null, "RequestId": "r2" } }]).to_string(),
        json!({ "TotalCount": 1, "ImageSet": [image], "RequestId": "r" }).to_string(),
        // The pages of one listing saved with tccli, as `jq -s .` and `cat` put them together.
        json!([tccli(json!([image])), tccli(json!([other]))]).to_string(),
        format!("{:#}\n{:#}\n", tccli(json!([image])), tccli(json!([other]))),
    ];
    for shape in shapes {
        Test::new()
            .policy(STATE_RULE)
            .file("images.json", &shape)
            .check(&[])
            .run()
            .code(0)
            .stdout_has("PASS");
    }
    // A bare array states no total: judged only on the user's word.
    Test::new()
        .policy(STATE_RULE)
        .image_array(json!([image]))
        .check(&["--assume-complete"])
        .run()
        .code(0)
        .stdout_has("PASS: 1 image checked (completeness assumed: --assume-complete)");
}

#[test]
fn the_tencent_sample_images_load() {
    let sample = std::fs::read(crate::support::tencent_fixture("sample_images.json"))
        .expect("sample images fixture");
    Test::new()
        .policy(STATE_RULE)
        .file("images.json", sample)
        .check(&[])
        .run()
        .code(1)
        .stdout_has("IMPORTFAILED");
}

#[test]
fn snapshot_from_stdin() {
    Test::new()
        .policy(STATE_RULE)
        .stdin(json!({ "TotalCount": 2, "ImageSet": broken() }).to_string())
        .args(&["check", "--snapshot", "-", "--now", crate::support::NOW])
        .run()
        .code(1);
    Test::new()
        .policy(STATE_RULE)
        .stdin("[{\"ImageId\": \"img-a\", \"ImageSt")
        .args(&["check", "--snapshot", "-", "--now", crate::support::NOW])
        .run()
        .code(2)
        .stderr_has("-:1:");
}

#[test]
fn duplicate_images_are_counted_once() {
    let images = json!([{ "ImageId": "img-a", "ImageState": "CREATING" }, { "ImageId": "img-a", "ImageState": "CREATING" }]);
    let out = Test::new()
        .policy(STATE_RULE)
        .images(images)
        .check(&["--format", "json"])
        .run()
        .code(1);
    let report = out.json();
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(1));
    assert_eq!(report["run"]["duplicates_dropped"], 1);
}

#[test]
fn policy_directories_load_recursively_in_order_and_skip_tests() {
    let out = Test::new()
        .file(
            "p/b.yaml",
            "rules:\n  - id: b\n    title: B\n    assert: { ImageState: NORMAL }\n",
        )
        .file(
            "p/sub/a.yml",
            "rules:\n  - id: a\n    title: A\n    assert: { ImageState: NORMAL }\n",
        )
        .file("p/x.test.yaml", "cases: []\n")
        .file("p/README.md", "not yaml")
        .images(broken())
        .check(&["--policy", "p", "--format", "json"])
        .run()
        .code(1);
    let ids: Vec<String> = out.json()["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["b", "a"]);
}

#[test]
fn params_from_the_command_line_override_defaults() {
    let policy = "params:\n  max_age: { default: 10000d }\nrules:\n  - id: age\n    title: A\n    assert: { ImageCreateTime: { newer_than: \"${max_age}\" } }\n";
    let images = json!([{ "ImageId": "img-a", "ImageCreateTime": "2025-12-01 00:00:00" }]);
    Test::new()
        .policy(policy)
        .images(images.clone())
        .check(&[])
        .run()
        .code(0);
    Test::new()
        .policy(policy)
        .images(images.clone())
        .check(&["--param", "max_age=7d"])
        .run()
        .code(1)
        .stdout_has("expected newer than 7d");
    Test::new()
        .policy(policy)
        .images(images)
        .check(&["--param", "max_age=7"])
        .run()
        .code(2)
        .stderr_has("has no unit")
        .stderr_has("param `max_age`");
}

#[test]
fn write_and_use_a_baseline() {
    let out = Test::new()
        .policy(STATE_RULE)
        .images(broken())
        .check(&["--write-baseline", "baseline.json"])
        .run()
        .code(1);
    let baseline: serde_json::Value = serde_json::from_str(&out.read("baseline.json")).unwrap();
    assert_eq!(
        baseline["entries"],
        json!([{ "rule": "state", "image": "img-b" }])
    );
}

#[test]
fn output_to_a_file_and_several_reports() {
    let out = Test::new()
        .policy(STATE_RULE)
        .images(broken())
        .check(&[
            "--format",
            "json",
            "--output",
            "report.json",
            "--report",
            "human=report.txt",
        ])
        .run()
        .code(1);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let json: serde_json::Value = serde_json::from_str(&out.read("report.json")).unwrap();
    assert_eq!(json["schema"], "ecmguard/report/v1");
    let text = out.read("report.txt");
    assert!(text.contains("FAIL:"), "{text}");
}

/// Each case reports the code meant for it (they used to borrow the codes of
/// snapshots and of wrong YAML types).
#[test]
fn corrected_codes_name_their_case() {
    let t = || Test::new().policy(STATE_RULE).images(normal());
    t().file("baseline.json", "{ not json")
        .check(&["--baseline", "baseline.json"])
        .run()
        .code(2)
        .stderr_has("ecmguard::invalid-baseline")
        .stderr_has("baseline.json:1:");
    t().file(
        "baseline.json",
        r#"{"schema": "ecmguard/snapshot/v1", "entries": []}"#,
    )
    .check(&["--baseline", "baseline.json"])
    .run()
    .code(2)
    .stderr_has("ecmguard::invalid-baseline");
    Test::new()
        .policy("rules:\n  - id: r\n    title: \"\"\n    assert: { ImageState: NORMAL }\n")
        .args(&["validate"])
        .run()
        .code(2)
        .stderr_has("ecmguard::empty-value");
    Test::new()
        .policy("rules:\n  - id: r\n    title: T\n    url: \"https://x.example/a b\"\n    assert: { ImageState: NORMAL }\n")
        .args(&["validate"])
        .run()
        .code(2)
        .stderr_has("ecmguard::invalid-url");
}
