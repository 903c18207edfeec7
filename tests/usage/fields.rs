//! The `Usage.*` paths in the policy language: typed and checked when the policy loads,
//! evaluated in three-valued logic, usable in messages, and written in policy tests as a
//! `Usage` mapping of a test image.

use ecmguard::diag::Code;
use ecmguard::eval::Status;
use ecmguard::image::{Image, ImageSet};
use ecmguard::time::ApiZone;
use ecmguard::usage::{Instance, Module, Usage, UsageSet};
use serde_json::json;

use crate::support::{Test, compile, diagnostics};

#[test]
fn usage_paths_are_typed_when_the_policy_loads() {
    let rule =
        |condition: &str| format!("rules:\n  - id: r\n    title: T\n    assert: {condition}\n");
    for (condition, needle) in [
        (r#"{ Usage.Instances: "3" }"#, "remove the quotes"),
        ("{ Usage.InUse: 0 }", "needs true or false"),
        ("{ Usage.Modules: { older_than: 90d } }", "older_than"),
        ("{ Usage.RunningInstances: { matches: x } }", "matches"),
    ] {
        let problems = diagnostics(&rule(condition));
        let text: Vec<String> = problems
            .iter()
            .map(|d| format!("{} {}", d.message, d.help.clone().unwrap_or_default()))
            .collect();
        assert!(
            text.iter().any(|t| t.contains(needle)),
            "{condition}: {text:?}"
        );
    }
    let misspelt = diagnostics(&rule("{ Usage.InUsed: false }"));
    assert_eq!(misspelt[0].code, Code::UnknownField);
    assert!(
        misspelt[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("Usage.InUse")),
        "{misspelt:?}"
    );
    // Every operator of its type, and placeholders.
    compile(
        "rules:
  - id: r
    title: T
    where: { Usage.Instances: { gte: 1, in: [1, 2, 3] }, Usage.InUse: { exists: true } }
    assert: { Usage.Modules: { lt: 5 }, Usage.RunningInstances: { ne: 0 } }
    message: \"{ImageId} runs on {Usage.Instances} instances ({Usage.RunningInstances} running), {Usage.Modules} modules, in use: {Usage.InUse}\"
",
    )
    .expect("valid");
}

fn image(id: &str, created: &str) -> Image {
    serde_json::from_value(json!({
        "ImageId": id, "ImageType": "PRIVATE_IMAGE", "ImageCreateTime": created
    }))
    .unwrap()
}

/// Evaluation reads the joined counts like any field; messages show them; an image no one
/// counts is unused, and unknown while an instance's image is unknown.
#[test]
fn evaluation_reads_the_joined_usage() {
    let loaded = compile(super::USAGE_RULES).unwrap();
    let evaluate_with = |instances: Vec<Instance>| {
        let mut images = ImageSet::new(
            vec![
                image("img-old-used", "2020-01-01 00:00:00"),
                image("img-old-unused", "2020-01-01 00:00:00"),
                image("img-module", "2020-01-01 00:00:00"),
            ],
            &ApiZone::default(),
        );
        let total = instances.len() as u64;
        let module = Module::new("em-1", Some("img-module"));
        let set = UsageSet::new(instances, total, vec![module], 1).unwrap();
        images.attach_usage(Usage::new(set));
        crate::support::findings_in(&loaded, &images)
            .into_iter()
            .map(|(rule, image, status, message)| {
                (rule, image.unwrap_or_default(), status, message)
            })
            .collect::<Vec<_>>()
    };
    let exact = evaluate_with(vec![
        Instance::new("ein-1", "RUNNING", Some("img-old-used")),
        Instance::new("ein-2", "RUNNING", Some("img-old-used")),
    ]);
    assert_eq!(exact.len(), 2, "{exact:?}");
    assert_eq!(
        (exact[0].0.as_str(), exact[0].1.as_str(), exact[0].2),
        (
            "unused-private-images-expire",
            "img-old-unused",
            Status::Violation
        )
    );
    assert_eq!(
        exact[1].3,
        "img-old-used (<missing>) runs on 2 instances and is older than a year"
    );
    // One instance whose image is unknown: img-old-unused might be its image.
    let lower_bound = evaluate_with(vec![
        Instance::new("ein-1", "RUNNING", Some("img-old-used")),
        Instance::new("ein-2", "STOPPED", None),
    ]);
    assert!(
        lower_bound
            .iter()
            .all(|(rule, _, _, _)| rule != "unused-private-images-expire"),
        "{lower_bound:?}"
    );
}

/// Without usage (a policy test image without `Usage`), every `Usage.*` field is missing:
/// a rule that reads one is out of scope or indeterminate, never a pass on zeros.
#[test]
fn without_usage_the_fields_are_missing() {
    let found = crate::support::findings(
        "rules:\n  - id: used\n    title: T\n    assert: { Usage.InUse: true }\n",
        json!([{ "ImageId": "img-a" }]),
    );
    assert_eq!(
        found,
        [(
            "used".to_owned(),
            Some("img-a".to_owned()),
            Status::Indeterminate
        )]
    );
}

const TESTS: &str = "now: 2026-01-01T00:00:00+08:00
cases:
  - name: an old unused private image is flagged, a used one is not
    images:
      - { ImageId: img-unused, ImageType: PRIVATE_IMAGE, ImageCreateTime: \"2025-01-01 00:00:00\", Usage: { Instances: 0, Modules: 0 } }
      - { ImageId: img-module, ImageType: PRIVATE_IMAGE, ImageCreateTime: \"2025-01-01 00:00:00\", Usage: { Modules: 1 } }
    expect:
      - { rule: unused-private-images-expire, image: img-unused, status: violation }
  - name: unknown use is never taken for unused
    images:
      - { ImageId: img-maybe, ImageType: PRIVATE_IMAGE, ImageCreateTime: \"2025-01-01 00:00:00\", Usage: { InUse: null } }
    expect: []
  - name: running images are current
    images:
      - { ImageId: img-run, ImageCreateTime: \"2024-01-01 00:00:00\", Usage: { Instances: 3, RunningInstances: 2 } }
    expect:
      - { rule: running-images-are-current, image: img-run, status: violation }
";

#[test]
fn policy_tests_give_test_images_their_usage() {
    Test::new()
        .file("policies/usage.yaml", super::USAGE_RULES)
        .file("policies/usage.test.yaml", TESTS)
        .args(&["test"])
        .run()
        .code(0)
        .stdout_has("3 passed");
}

#[test]
fn a_test_image_s_usage_is_checked_like_its_fields() {
    for (usage, needle) in [
        (
            "{ InUse: false, Instances: 2 }",
            "`Usage.InUse` disagrees with the counts",
        ),
        (
            "{ InUse: null, Modules: 1 }",
            "`Usage.InUse` disagrees with the counts",
        ),
        (
            "{ Instances: 1, RunningInstances: 2 }",
            "more than `Usage.Instances`",
        ),
        ("{ Instances: -1 }", "`Usage.Instances` is a whole number"),
        ("{ Instance: 1 }", "did you mean `Instances`"),
        ("{ InUse: maybe }", "`Usage.InUse` is true, false or null"),
    ] {
        let tests = format!(
            "now: 2026-01-01T00:00:00+08:00\ncases:\n  - name: c\n    images:\n      - {{ ImageId: img-a, Usage: {usage} }}\n    expect: []\n"
        );
        Test::new()
            .file("policies/usage.yaml", super::USAGE_RULES)
            .file("policies/usage.test.yaml", &tests)
            .args(&["test"])
            .run()
            .code(2)
            .stderr_has(needle);
    }
    // The dotted path is a field of policies, not a key of a test image.
    let dotted = "now: 2026-01-01T00:00:00+08:00\ncases:\n  - name: c\n    images:\n      - { ImageId: img-a, Usage.InUse: false }\n    expect: []\n";
    Test::new()
        .file("policies/usage.yaml", super::USAGE_RULES)
        .file("policies/usage.test.yaml", dotted)
        .args(&["test"])
        .run()
        .code(2)
        .stderr_has("`Usage: { InUse: … }`");
}
