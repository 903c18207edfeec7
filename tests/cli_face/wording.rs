//! What a new user read and stumbled on: plurals, suggestions that were
//! wrong or missing, hints in the wrong syntax, types named as Rust names
//! them. Each test failed before the wording was fixed.

use serde_json::json;

use crate::support::{Output, Test};

/// What stderr says, as one line: diagnostics are wrapped to the terminal,
/// with a gutter (`│`) on continued lines.
fn said(out: &Output) -> String {
    out.stderr
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[track_caller]
fn says(out: &Output, text: &str) {
    assert!(
        said(out).contains(text),
        "stderr lacks {text:?}\n{}",
        out.stderr
    );
}

const ONE_RULE: &str = "params:\n  max_age: { default: 180d }\nrules:\n  - id: fresh\n    title: Images are fresh\n    assert: { ImageCreateTime: { newer_than: \"${max_age}\" } }\n";

#[test]
fn one_of_a_thing_is_singular() {
    Test::new()
        .policy(ONE_RULE)
        .args(&["validate"])
        .run()
        .code(0)
        .stdout_has("ok: 1 rule in 1 file valid (0 waivers, 1 param)");
    Test::new()
        .policy(ONE_RULE)
        .args(&["rules"])
        .run()
        .code(0)
        .stdout_has("1 rule, 0 waivers");
}

#[test]
fn an_empty_rules_list_is_pointed_at_as_empty() {
    let out = Test::new()
        .policy("rules: []\n")
        .args(&["validate"])
        .run()
        .code(2)
        .stderr_has("ecmguard::no-rules")
        .stderr_has("this `rules:` lists no rule");
    assert!(!out.stderr.contains("no `rules:` here"), "{}", out.stderr);
    Test::new()
        .policy("params: {}\n")
        .args(&["validate"])
        .run()
        .code(2)
        .stderr_has("this file has no `rules:`");
}

#[test]
fn an_unknown_report_format_is_not_called_malformed() {
    let out = Test::new()
        .policy(ONE_RULE)
        .images(json!([]))
        .check(&["--report", "yaml=x.yaml"])
        .run()
        .code(2)
        .stderr_has("unknown format `yaml`")
        .stderr_has("FORMAT is one of human, json");
    assert!(
        !out.stderr.contains("expected FORMAT=FILE"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_time_limit_in_an_unknown_unit_lists_the_units() {
    for (flag, value) in [("--timeout", "50ms"), ("--deadline", "500ms")] {
        let out = Test::new()
            .policy(ONE_RULE)
            .args(&["check", flag, value])
            .run()
            .code(2);
        says(&out, "`ms` is not a duration unit");
        says(&out, "units s, min, h, d, w,");
        says(&out, "no unit below a second");
        assert!(!out.stderr.contains("mo, y"), "{}", out.stderr);
    }
    let out = Test::new()
        .policy(ONE_RULE)
        .file("ecmguard.yaml", "timeout: 50ms\n")
        .args(&["check"])
        .run()
        .code(2);
    says(&out, "no unit below a second");
}

#[test]
fn snapshot_type_errors_say_what_a_person_reads() {
    for (image, expected) in [
        (
            json!({ "ImageId": "img-a", "ImageSize": "50" }),
            "expected an integer for ImageSize (or null)",
        ),
        (
            json!({ "ImageId": "img-a", "IsSupportCloudInit": "yes" }),
            "expected true or false for IsSupportCloudInit (or null)",
        ),
        (
            json!({ "ImageId": 5 }),
            "expected a string for ImageId (or null)",
        ),
        (
            json!({ "ImageId": "img-a", "SrcImage": { "RegionID": 1.5 } }),
            "expected an integer for SrcImage.RegionID (or null)",
        ),
    ] {
        let out = Test::new()
            .policy(ONE_RULE)
            .images(json!([image]))
            .check(&[])
            .run()
            .code(2);
        says(&out, expected);
        assert!(
            !out.stderr.contains("i64") && !out.stderr.contains("bool"),
            "{}",
            out.stderr
        );
    }
    let out = Test::new()
        .policy(ONE_RULE)
        .file(
            "images.json",
            r#"{"schema": "ecmguard/snapshot/v1", "total_count": "3", "ImageSet": []}"#,
        )
        .check(&[])
        .run()
        .code(2);
    says(&out, "expected a whole number of images for total_count");
    assert!(!out.stderr.contains("u64"), "{}", out.stderr);
}

const NAMES_UNIQUE: &str = "rules:\n  - id: private-image-names-unique\n    title: Names are unique\n    expect: { unique: ImageName }\n";

#[test]
fn a_waiver_for_a_rule_not_loaded_gets_no_wrong_suggestion() {
    let waiver = |id: &str| {
        format!("{NAMES_UNIQUE}waivers:\n  - rules: [{id}]\n    reason: legacy workload\n")
    };
    let out = Test::new()
        .policy(&waiver("private-image-max-age"))
        .args(&["validate"])
        .run()
        .code(2)
        .stderr_has("waiver names unknown rule `private-image-max-age`")
        .stderr_has("ecmguard rules");
    assert!(!out.stderr.contains("did you mean"), "{}", out.stderr);
    Test::new()
        .policy(&waiver("private-image-names-uniqe"))
        .args(&["validate"])
        .run()
        .code(2)
        .stderr_has("did you mean `private-image-names-unique`?");
}

#[test]
fn a_misspelt_time_zone_gets_the_name_it_resembles() {
    Test::new()
        .policy(ONE_RULE)
        .args(&["validate", "--api-time-zone", "Asia/Shanghia"])
        .run()
        .code(2)
        .stderr_has("did you mean `Asia/Shanghai`?");
    Test::new()
        .policy(ONE_RULE)
        .file("ecmguard.yaml", "api_time_zone: Europe/Berln\n")
        .args(&["validate"])
        .run()
        .code(2)
        .stderr_has("did you mean `Europe/Berlin`?");
    let out = Test::new()
        .policy(ONE_RULE)
        .args(&["validate", "--api-time-zone", "Nowhere/Zzzzzzzz"])
        .run()
        .code(2);
    assert!(!out.stderr.contains("did you mean"), "{}", out.stderr);
}

/// A param whose default is one value, used where a list is needed: the
/// hint shows how to give a list where the value came from, the command
/// line included, not only the policy file's syntax.
#[test]
fn a_list_param_hint_shows_the_command_line_syntax() {
    let policy = "params:\n  allowed_os: { default: Ubuntu }\nrules:\n  - id: os\n    title: Approved OS\n    assert: { Platform: { in: \"${allowed_os}\" } }\n";
    Test::new()
        .policy(policy)
        .args(&["validate", "--param", "allowed_os=Ubuntu"])
        .run()
        .code(2)
        .stderr_has("default: [a, b]")
        .stderr_has("--param 'allowed_os=[a, b]'");
    // With a list default, one value on the command line is a list of one.
    let listed = policy.replace("default: Ubuntu", "default: [Ubuntu, CentOS]");
    Test::new()
        .policy(&listed)
        .args(&["validate", "--param", "allowed_os=Ubuntu"])
        .run()
        .code(0);
}
