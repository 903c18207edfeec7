//! Validation reports everything, independently: one broken rule never
//! hides another problem or invents one, and a failed run ends with a count.

use crate::support::Test;

#[test]
fn a_duplicate_id_is_reported_even_when_the_first_rule_is_broken() {
    let out = Test::new()
        .policy("rules:\n  - id: r1\n    title: T\n    assert: { ImageStat: NORMAL }\n  - id: r1\n    title: T\n    assert: { ImageState: NORMAL }\n")
        .args(&["validate"])
        .run()
        .code(2)
        .stderr_has("ecmguard::unknown-field")
        .stderr_has("ecmguard::duplicate-rule-id")
        .stderr_has("policies/main.yaml:5:9")
        .stderr_has("first defined here");
    assert!(
        out.stderr
            .contains("error: 2 problems (2 errors, 0 warnings) in 1 file"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_cross_file_duplicate_points_at_both_places() {
    Test::new()
        .file("policies/a.yaml", "# one\n# two\nrules:\n  - id: same\n    title: A\n    assert: { ImageState: NORMAL }\n")
        .file(
            "policies/b.yaml",
            "rules:\n  - id: x1\n    title: X\n    assert: { ImageState: NORMAL }\n  - id: x2\n    title: X\n    assert: { ImageState: NORMAL }\n  - id: x3\n    title: X\n    assert: { ImageState: NORMAL }\n  - id: same\n    title: B\n    assert: { ImageState: NORMAL }\n",
        )
        .args(&["validate"])
        .run()
        .code(2)
        .stderr_has("policies/b.yaml:11:9")
        .stderr_has("the first is in policies/a.yaml:4:9");
}

#[test]
fn a_param_used_only_by_a_broken_rule_is_used() {
    let out = Test::new()
        .policy("params:\n  max_age: { default: 180d }\nrules:\n  - id: r1\n    title: T\n    where: { ImageTyp: PRIVATE_IMAGE }\n    assert: { ImageCreateTime: { newer_than: \"${max_age}\" } }\n")
        .args(&["validate"])
        .run()
        .code(2)
        .stderr_has("unknown field `ImageTyp`");
    assert!(!out.stderr.contains("never used"), "{}", out.stderr);
}

#[test]
fn validate_strict_fails_on_warnings() {
    let policy = "params:\n  unused: { default: 1 }\nrules:\n  - id: a\n    title: A\n    assert: { ImageState: NORMAL }\n";
    Test::new().policy(policy).args(&["validate"]).run().code(0);
    Test::new()
        .policy(policy)
        .args(&["validate", "--strict"])
        .run()
        .code(2)
        .stderr_has("ecmguard::unused-param")
        .stderr_has("error: 1 problem (0 errors, 1 warning) in 1 file");
}

#[test]
fn a_failed_check_ends_with_the_count_too() {
    Test::new()
        .file(
            "policies/a.yaml",
            "rules:\n  - id: A\n    title: T\n    assert: { ImageState: NORMAL }\n",
        )
        .file(
            "policies/b.yaml",
            "rules:\n  - id: b\n    title: T\n    assert: { ImageState: { eqq: NORMAL } }\n",
        )
        .images(serde_json::json!([{ "ImageId": "img-a" }]))
        .check(&[])
        .run()
        .code(2)
        .stderr_has("error: 2 problems (2 errors, 0 warnings) in 2 files");
}
