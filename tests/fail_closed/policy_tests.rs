//! Policy tests test the policy next to them, with images as written: a
//! typo in a test image, or a test of a rule that is not loaded, is an
//! error, never a pass for the wrong reason.

use crate::support::Test;

const ORG: &str = "rules:\n  - id: org-private-only\n    title: Only private images\n    assert: { ImageType: PRIVATE_IMAGE }\n";
const OTHER: &str =
    "rules:\n  - id: state\n    title: NORMAL\n    assert: { ImageState: NORMAL }\n";

const ORG_TEST: &str = "now: 2026-01-01T00:00:00+08:00\ncases:\n  - name: a public image is flagged\n    images: [{ ImageId: img-a, ImageType: PUBLIC_IMAGE }]\n    expect: [{ rule: org-private-only, image: img-a, status: violation }]\n";

#[test]
fn a_test_file_given_by_path_tests_the_policy_beside_it() {
    // ./policies holds another set; `test mypol/org.test.yaml` must not use it.
    Test::new()
        .file("policies/main.yaml", OTHER)
        .file("mypol/org.yaml", ORG)
        .file("mypol/org.test.yaml", ORG_TEST)
        .args(&["test", "mypol/org.test.yaml"])
        .run()
        .code(0)
        .stdout_has("ok    a public image is flagged")
        .stdout_has("policy-tests: 1 passed, 0 failed");
    // No policy beside it, and no --policy: said, not run against ./policies.
    Test::new()
        .file("policies/main.yaml", OTHER)
        .file("mypol/lonely.test.yaml", ORG_TEST)
        .args(&["test", "mypol/lonely.test.yaml"])
        .run()
        .code(2)
        .stderr_has("no policy file beside mypol/lonely.test.yaml")
        .stderr_has("mypol/lonely.yaml");
    // With --policy, that set is used.
    Test::new()
        .file("policies/main.yaml", OTHER)
        .file("mypol/org.yaml", ORG)
        .file("mypol/org.test.yaml", ORG_TEST)
        .args(&["test", "mypol/org.test.yaml", "--policy", "policies"])
        .run()
        .code(2)
        .stderr_has("ecmguard::unknown-rule")
        .stderr_has("`expect` names rule `org-private-only`, which is not in the loaded policies");
}

#[test]
fn a_typo_in_a_test_image_is_an_error_with_a_suggestion() {
    for (typo, fixed, column) in [
        ("ImageTyp", "ImageType", 32),
        ("ImageCreateTim", "ImageCreateTime", 32),
    ] {
        let test = ORG_TEST.replace("ImageType: PUBLIC_IMAGE", &format!("{typo}: PUBLIC_IMAGE"));
        Test::new()
            .file("mypol/org.yaml", ORG)
            .file("mypol/org.test.yaml", test)
            .args(&["test", "mypol/org.test.yaml"])
            .run()
            .code(2)
            .stderr_has("ecmguard::unknown-field")
            .stderr_has(&format!("unknown field `{typo}` in a test image"))
            .stderr_has(&format!("mypol/org.test.yaml:4:{column}"))
            .stderr_has(&format!("did you mean `{fixed}`?"));
    }
    let nested = ORG_TEST.replace(
        "ImageType: PUBLIC_IMAGE",
        "ImageType: PUBLIC_IMAGE, SrcImage: { RegionId: 1 }",
    );
    Test::new()
        .file("mypol/org.yaml", ORG)
        .file("mypol/org.test.yaml", nested)
        .args(&["test", "mypol/org.test.yaml"])
        .run()
        .code(2)
        .stderr_has("unknown field `SrcImage.RegionId`")
        .stderr_has("did you mean `RegionID`?");
}

#[test]
fn expect_and_rules_must_name_loaded_rules() {
    let test = ORG_TEST.replace("rule: org-private-only", "rule: org-private-onyl");
    Test::new()
        .file("mypol/org.yaml", ORG)
        .file("mypol/org.test.yaml", test)
        .args(&["test", "mypol/org.test.yaml"])
        .run()
        .code(2)
        .stderr_has("ecmguard::unknown-rule")
        .stderr_has("mypol/org.test.yaml:5:22")
        .stderr_has("did you mean `org-private-only`?")
        .stderr_has("error: 1 problem (1 error, 0 warnings) in 1 file");
    let test = ORG_TEST.replace("now:", "rules: [org-privat]\nnow:");
    Test::new()
        .file("mypol/org.yaml", ORG)
        .file("mypol/org.test.yaml", test)
        .args(&["test", "mypol/org.test.yaml"])
        .run()
        .code(2)
        .stderr_has("`rules` names rule `org-privat`")
        .stderr_has("mypol/org.test.yaml:1:9");
}

#[test]
fn now_on_the_command_line_times_cases_without_one() {
    let test = ORG_TEST.replace("now: 2026-01-01T00:00:00+08:00\n", "");
    Test::new()
        .file("mypol/org.yaml", ORG)
        .file("mypol/org.test.yaml", &test)
        .args(&["test", "mypol/org.test.yaml"])
        .run()
        .code(2)
        .stderr_has("this case has no `now`")
        .stderr_has("or pass --now");
    Test::new()
        .file("mypol/org.yaml", ORG)
        .file("mypol/org.test.yaml", &test)
        .args(&[
            "test",
            "mypol/org.test.yaml",
            "--now",
            "2026-01-01T00:00:00+08:00",
        ])
        .run()
        .code(0);
}
