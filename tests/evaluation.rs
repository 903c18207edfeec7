//! Evaluation semantics (docs/policy-language.md, "Conditions" to "Waivers"): every
//! operator on present, missing and boundary values, three-valued logic, scope,
//! `unknown`, set-level rules and waivers. `--now` is 2026-01-01T00:00:00+08:00
//! throughout.

use ecmguard::eval::Status;
use serde_json::{Value, json};

use crate::support::{compile, findings};

/// The outcome of `assert: { <field>: <matcher> }` on one image holding
/// `value` at `field` (`None`: the field is absent): T holds, F violation,
/// U indeterminate.
fn outcome(field: &str, matcher: &str, value: Option<Value>) -> char {
    let yaml = format!("rules:\n  - id: t\n    title: T\n    assert: {{ {field}: {matcher} }}\n");
    let mut image = json!({ "ImageId": "img-1" });
    if let Some(value) = value {
        match field.strip_prefix("SrcImage.") {
            Some(inner) => image["SrcImage"] = json!({ inner: value }),
            None => image[field] = value,
        }
    }
    match findings(&yaml, json!([image])).as_slice() {
        [] => 'T',
        [(_, _, Status::Violation)] => 'F',
        [(_, _, Status::Indeterminate)] => 'U',
        other => panic!("unexpected findings {other:?}"),
    }
}

#[test]
fn operators_on_present_missing_and_boundary_values() {
    let cases: Vec<(&str, &str, Option<Value>, char)> = vec![
        // eq / ne on strings, scalar shorthand
        ("ImageName", "web", Some(json!("web")), 'T'),
        ("ImageName", "web", Some(json!("Web")), 'F'),
        ("ImageName", "web", None, 'U'),
        ("ImageName", "web", Some(Value::Null), 'U'),
        (
            "ImageName",
            "{ eq: web, ignore_case: true }",
            Some(json!("WEB")),
            'T',
        ),
        ("ImageName", "{ ne: web }", Some(json!("x")), 'T'),
        ("ImageName", "{ ne: web }", Some(json!("web")), 'F'),
        ("ImageName", "{ ne: web }", None, 'U'),
        ("ImageName", "{ eq: \"\" }", Some(json!("")), 'T'),
        // in / not_in, list shorthand
        ("Platform", "[Ubuntu, CentOS]", Some(json!("CentOS")), 'T'),
        ("Platform", "[Ubuntu, CentOS]", Some(json!("Windows")), 'F'),
        ("Platform", "[Ubuntu, CentOS]", None, 'U'),
        (
            "Platform",
            "{ in: [ubuntu], ignore_case: true }",
            Some(json!("Ubuntu")),
            'T',
        ),
        (
            "Platform",
            "{ not_in: [Windows] }",
            Some(json!("Ubuntu")),
            'T',
        ),
        (
            "Platform",
            "{ not_in: [Windows] }",
            Some(json!("Windows")),
            'F',
        ),
        ("Platform", "{ not_in: [Windows] }", None, 'U'),
        // matches / not_matches / glob
        (
            "ImageName",
            "{ matches: \"^web-\" }",
            Some(json!("web-1")),
            'T',
        ),
        (
            "ImageName",
            "{ matches: \"^web-\" }",
            Some(json!("my-web-1")),
            'F',
        ),
        (
            "ImageName",
            "{ matches: \"web\" }",
            Some(json!("my-web-1")),
            'T',
        ),
        (
            "ImageName",
            "{ matches: \"^WEB\", ignore_case: true }",
            Some(json!("web-1")),
            'T',
        ),
        ("ImageName", "{ matches: \"^web-\" }", None, 'U'),
        (
            "ImageName",
            "{ not_matches: \"^tmp\" }",
            Some(json!("web")),
            'T',
        ),
        (
            "ImageName",
            "{ not_matches: \"^tmp\" }",
            Some(json!("tmp-1")),
            'F',
        ),
        ("ImageName", "{ not_matches: \"^tmp\" }", None, 'U'),
        (
            "ImageName",
            "{ glob: \"web-*\" }",
            Some(json!("web-edge")),
            'T',
        ),
        (
            "ImageName",
            "{ glob: \"web-*\" }",
            Some(json!("xweb-edge")),
            'F',
        ),
        (
            "ImageName",
            "{ glob: \"web-?\" }",
            Some(json!("web-12")),
            'F',
        ),
        (
            "ImageName",
            "{ glob: \"WEB-*\", ignore_case: true }",
            Some(json!("web-1")),
            'T',
        ),
        ("ImageName", "{ glob: \"*\" }", None, 'U'),
        // substring tests, including Unicode case folding
        (
            "ImageName",
            "{ starts_with: 视频 }",
            Some(json!("视频转码")),
            'T',
        ),
        (
            "ImageName",
            "{ starts_with: web }",
            Some(json!("my-web")),
            'F',
        ),
        (
            "ImageName",
            "{ ends_with: \"-prod\" }",
            Some(json!("api-prod")),
            'T',
        ),
        (
            "ImageName",
            "{ ends_with: \"-prod\" }",
            Some(json!("api-prod-old")),
            'F',
        ),
        (
            "ImageName",
            "{ contains: edge }",
            Some(json!("web-edge-1")),
            'T',
        ),
        (
            "ImageName",
            "{ contains: ÄB, ignore_case: true }",
            Some(json!("xäbc")),
            'T',
        ),
        ("ImageName", "{ contains: edge }", None, 'U'),
        // exists is never unknown; "" is present for strings
        ("TaskId", "{ exists: true }", Some(json!("12")), 'T'),
        ("TaskId", "{ exists: true }", None, 'F'),
        ("TaskId", "{ exists: true }", Some(Value::Null), 'F'),
        ("TaskId", "{ exists: false }", None, 'T'),
        ("TaskId", "{ exists: false }", Some(json!("")), 'F'),
        (
            "SrcImage.Region",
            "{ exists: true }",
            Some(json!("ap-x")),
            'T',
        ),
        ("SrcImage.Region", "{ exists: false }", None, 'T'),
        // integers: eq, ne, ordering at the boundary, in / not_in
        ("ImageSize", "50", Some(json!(50)), 'T'),
        ("ImageSize", "{ ne: 50 }", Some(json!(50)), 'F'),
        ("ImageSize", "{ gt: 50 }", Some(json!(50)), 'F'),
        ("ImageSize", "{ gt: 50 }", Some(json!(51)), 'T'),
        ("ImageSize", "{ gte: 50 }", Some(json!(50)), 'T'),
        ("ImageSize", "{ lt: 50 }", Some(json!(50)), 'F'),
        ("ImageSize", "{ lt: 50 }", Some(json!(49)), 'T'),
        ("ImageSize", "{ lte: 50 }", Some(json!(50)), 'T'),
        ("ImageSize", "{ gte: 10, lte: 100 }", Some(json!(101)), 'F'),
        ("ImageSize", "{ gt: 50 }", None, 'U'),
        ("ImageOwner", "{ in: [0, 251006057] }", Some(json!(0)), 'T'),
        ("ImageOwner", "{ not_in: [0] }", Some(json!(0)), 'F'),
        ("SrcImage.RegionID", "{ eq: 0 }", Some(json!(0)), 'T'),
        // booleans
        ("IsSupportCloudInit", "true", Some(json!(true)), 'T'),
        ("IsSupportCloudInit", "true", Some(json!(false)), 'F'),
        ("IsSupportCloudInit", "true", None, 'U'),
        (
            "IsSupportCloudInit",
            "{ ne: false }",
            Some(json!(true)),
            'T',
        ),
        // timestamps: ages at the boundary (now - 180d = 2025-07-05 00:00:00 +08:00)
        (
            "ImageCreateTime",
            "{ newer_than: 180d }",
            Some(json!("2025-07-05 00:00:00")),
            'F',
        ),
        (
            "ImageCreateTime",
            "{ older_than: 180d }",
            Some(json!("2025-07-05 00:00:00")),
            'F',
        ),
        (
            "ImageCreateTime",
            "{ newer_than: 180d }",
            Some(json!("2025-07-05 00:00:01")),
            'T',
        ),
        (
            "ImageCreateTime",
            "{ older_than: 180d }",
            Some(json!("2025-07-04 23:59:59")),
            'T',
        ),
        (
            "ImageCreateTime",
            "{ newer_than: 180d }",
            Some(json!("")),
            'U',
        ),
        ("ImageCreateTime", "{ newer_than: 180d }", None, 'U'),
        (
            "ImageCreateTime",
            "{ newer_than: 180d }",
            Some(json!("2025/07/05 00:00:00")),
            'U',
        ),
        ("ImageCreateTime", "{ exists: true }", Some(json!("")), 'F'),
        (
            "ImageCreateTime",
            "{ exists: false }",
            Some(json!("garbage")),
            'T',
        ),
        // calendar units count back in the API zone: 1y before now is 2025-01-01 00:00:00 +08:00
        (
            "ImageCreateTime",
            "{ older_than: 1y }",
            Some(json!("2025-01-01 00:00:00")),
            'F',
        ),
        (
            "ImageCreateTime",
            "{ older_than: 1y }",
            Some(json!("2024-12-31 23:59:59")),
            'T',
        ),
        (
            "ImageCreateTime",
            "{ older_than: 6mo }",
            Some(json!("2025-06-30 23:59:59")),
            'T',
        ),
        (
            "ImageCreateTime",
            "{ older_than: 36h }",
            Some(json!("2025-12-30 12:00:00")),
            'F',
        ),
        (
            "ImageCreateTime",
            "{ older_than: 36h }",
            Some(json!("2025-12-30 11:59:59")),
            'T',
        ),
        // time comparisons: dates are midnight in the API zone
        (
            "ImageCreateTime",
            "{ gt: 2025-01-01 }",
            Some(json!("2025-01-01 00:00:00")),
            'F',
        ),
        (
            "ImageCreateTime",
            "{ gte: 2025-01-01 }",
            Some(json!("2025-01-01 00:00:00")),
            'T',
        ),
        (
            "ImageCreateTime",
            "{ lt: \"2025-01-01 00:00:01\" }",
            Some(json!("2025-01-01 00:00:00")),
            'T',
        ),
        (
            "ImageCreateTime",
            "{ lte: \"2025-01-01 00:00:00\" }",
            Some(json!("2025-01-01 00:00:00")),
            'T',
        ),
        (
            "ImageCreateTime",
            "{ eq: \"2024-12-31T16:00:00Z\" }",
            Some(json!("2025-01-01 00:00:00")),
            'T',
        ),
        (
            "ImageCreateTime",
            "{ ne: \"2025-01-01T00:00:00+08:00\" }",
            Some(json!("2025-01-01 00:00:00")),
            'F',
        ),
        (
            "ImageCreateTime",
            "{ gt: 2025-01-01 }",
            Some(json!("")),
            'U',
        ),
    ];
    let mut wrong = Vec::new();
    for (field, matcher, value, expected) in &cases {
        let got = outcome(field, matcher, value.clone());
        if got != *expected {
            wrong.push(format!(
                "{field}: {matcher} on {value:?}: expected {expected}, got {got}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

#[test]
fn three_valued_logic() {
    // t holds, f does not, u is unknown (TaskId is missing).
    let with = |logic: &str| {
        let yaml = format!("rules:\n  - id: t\n    title: T\n    assert: {logic}\n");
        let found = findings(
            &yaml,
            json!([{ "ImageId": "img-1", "ImageSize": 50, "Platform": "CentOS" }]),
        );
        match found.as_slice() {
            [] => 'T',
            [(_, _, Status::Violation)] => 'F',
            [(_, _, Status::Indeterminate)] => 'U',
            other => panic!("{other:?}"),
        }
    };
    let t = "{ ImageSize: 50 }";
    let f = "{ Platform: Ubuntu }";
    let u = "{ TaskId: x }";
    let cases = [
        (format!("{{ not: {t} }}"), 'F'),
        (format!("{{ not: {f} }}"), 'T'),
        (format!("{{ not: {u} }}"), 'U'),
        (format!("{{ all: [{t}, {f}, {u}] }}"), 'F'),
        (format!("{{ all: [{t}, {u}] }}"), 'U'),
        (format!("{{ all: [{t}, {t}] }}"), 'T'),
        (format!("{{ any: [{f}, {u}] }}"), 'U'),
        (format!("{{ any: [{t}, {u}] }}"), 'T'),
        (format!("{{ any: [{f}, {f}] }}"), 'F'),
        ("{ ImageSize: 50, TaskId: x }".to_string(), 'U'),
        ("{ Platform: Ubuntu, TaskId: x }".to_string(), 'F'),
        (format!("{{ not: {{ any: [{f}, {u}] }} }}"), 'U'),
        ("{ TaskId: { exists: true, eq: x } }".to_string(), 'F'),
    ];
    for (logic, expected) in cases {
        assert_eq!(with(&logic), expected, "{logic}");
    }
}

#[test]
fn where_unknown_is_out_of_scope_and_unknown_pass_passes() {
    let yaml = "rules:\n  - id: scoped\n    title: T\n    where: { ImageType: PRIVATE_IMAGE }\n    assert: { ImageSize: { lte: 10 } }\n  - id: lenient\n    title: L\n    unknown: pass\n    assert: { ImageCreateTime: { newer_than: 30d } }\n";
    let images = json!([
        { "ImageId": "img-private", "ImageType": "PRIVATE_IMAGE", "ImageSize": 50, "ImageCreateTime": "" },
        { "ImageId": "img-notype", "ImageSize": 50, "ImageCreateTime": "2025-12-31 00:00:00" },
        { "ImageId": "img-public", "ImageType": "PUBLIC_IMAGE", "ImageSize": 50 },
    ]);
    let found = findings(yaml, images);
    assert_eq!(
        found,
        vec![(
            "scoped".into(),
            Some("img-private".into()),
            Status::Violation
        )]
    );
}

#[test]
fn default_messages_state_value_and_expectation() {
    let (_, _, evaluation) = crate::support::evaluated(
        "rules:\n  - id: age\n    title: T\n    assert: { ImageCreateTime: { newer_than: 180d } }\n",
        json!([
            { "ImageId": "img-old", "ImageCreateTime": "2019-07-22 20:48:14" },
            { "ImageId": "img-blank", "ImageCreateTime": "" },
            { "ImageId": "img-bad", "ImageCreateTime": "22/07/2019" }
        ]),
    );
    let messages: Vec<&str> = evaluation.findings.iter().map(|f| &*f.message).collect();
    assert_eq!(
        messages,
        vec![
            "ImageCreateTime is 2019-07-22 20:48:14 (age 2354d 3h), expected newer than 180d",
            "cannot be decided: ImageCreateTime is missing",
            "cannot be decided: ImageCreateTime \"22/07/2019\" could not be read (expected YYYY-MM-DD hh:mm:ss)",
        ]
    );
}

#[test]
fn templates_fill_placeholders() {
    let yaml = "rules:\n  - id: t\n    title: The title\n    assert: { Platform: Ubuntu }\n    message: \"{rule.id}: {ImageId} runs {Platform} on {SrcImage.Region} {{literal}}\"\n";
    let loaded = compile(yaml).unwrap();
    let images: Vec<ecmguard::image::Image> =
        serde_json::from_value(json!([{ "ImageId": "img-1", "Platform": "CentOS" }])).unwrap();
    let set = ecmguard::image::ImageSet::new(images, &ecmguard::time::ApiZone::default());
    let evaluation = ecmguard::eval::evaluate(
        &loaded.policy,
        &set,
        ecmguard::eval::EvalOptions {
            now: crate::support::now(),
            baseline: None,
            selection: None,
            history: None,
        },
    );
    assert_eq!(
        &*evaluation.findings[0].message,
        "t: img-1 runs CentOS on <missing> {literal}"
    );
}

#[test]
fn set_level_count_reports_an_absence() {
    let yaml = "rules:\n  - id: ubuntu-base\n    title: U\n    where: { Platform: Ubuntu, ImageState: NORMAL }\n    expect: { count: { gte: 1 } }\n";
    let found = findings(
        yaml,
        json!([{ "ImageId": "img-1", "Platform": "CentOS", "ImageState": "NORMAL" }]),
    );
    assert_eq!(found, vec![("ubuntu-base".into(), None, Status::Violation)]);
    let found = findings(
        yaml,
        json!([{ "ImageId": "img-1", "Platform": "Ubuntu", "ImageState": "NORMAL" }]),
    );
    assert!(found.is_empty());
    let bounded = "rules:\n  - id: few\n    title: F\n    expect: { count: { gte: 1, lt: 2 } }\n";
    assert_eq!(
        findings(bounded, json!([{ "ImageId": "a" }, { "ImageId": "b" }])).len(),
        1
    );
    assert_eq!(findings(bounded, json!([{ "ImageId": "a" }])).len(), 0);
    assert_eq!(findings(bounded, json!([])).len(), 1);
}

/// A `unique` rule's findings: `(value, the ImageIds sharing it)`, sorted.
fn duplicates(yaml: &str, images: serde_json::Value) -> Vec<(String, Vec<String>)> {
    let (_, set, evaluation) = crate::support::evaluated(yaml, images);
    let mut found: Vec<(String, Vec<String>)> = evaluation
        .findings
        .iter()
        .map(|f| {
            assert_eq!(f.image, None, "a set-level finding has no image of its own");
            let duplicate = f
                .duplicate
                .as_ref()
                .expect("a unique finding names its value");
            let mut ids: Vec<String> = duplicate
                .images
                .iter()
                .filter_map(|&i| set.images()[i].id().map(str::to_owned))
                .collect();
            ids.sort();
            (duplicate.value.clone(), ids)
        })
        .collect();
    found.sort();
    found
}

#[test]
fn set_level_unique_reports_each_duplicated_value() {
    let yaml = "rules:\n  - id: names\n    title: N\n    where: { ImageType: PRIVATE_IMAGE }\n    expect: { unique: ImageName }\n";
    let images = json!([
        { "ImageId": "a", "ImageType": "PRIVATE_IMAGE", "ImageName": "web" },
        { "ImageId": "b", "ImageType": "PRIVATE_IMAGE", "ImageName": "web" },
        { "ImageId": "c", "ImageType": "PRIVATE_IMAGE", "ImageName": "db" },
        { "ImageId": "d", "ImageType": "PRIVATE_IMAGE", "ImageName": "db" },
        { "ImageId": "e", "ImageType": "PRIVATE_IMAGE", "ImageName": "db" },
        { "ImageId": "f", "ImageType": "PRIVATE_IMAGE" },
        { "ImageId": "g", "ImageType": "PRIVATE_IMAGE" },
        { "ImageId": "h", "ImageType": "PUBLIC_IMAGE", "ImageName": "web" }
    ]);
    // Each duplicated value once, with exactly the images in scope that
    // share it (values as JSON): not the public `h`, and no value for the
    // two without a name.
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        duplicates(yaml, images),
        [
            ("\"db\"".to_owned(), ids(&["c", "d", "e"])),
            ("\"web\"".to_owned(), ids(&["a", "b"]))
        ]
    );
    let pair =
        "rules:\n  - id: pair\n    title: P\n    expect: { unique: [Platform, OsVersion] }\n";
    let images = json!([
        { "ImageId": "a", "Platform": "Ubuntu", "OsVersion": "22.04" },
        { "ImageId": "b", "Platform": "Ubuntu", "OsVersion": "24.04" },
        { "ImageId": "c", "Platform": "Ubuntu", "OsVersion": "22.04" }
    ]);
    let found = duplicates(pair, images);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, ids(&["a", "c"]));
    assert!(
        found[0].0.contains("Ubuntu") && found[0].0.contains("22.04"),
        "{found:?}"
    );
}

#[test]
fn waivers_by_images_where_and_set_level() {
    let yaml = "\
rules:
  - id: state
    title: S
    assert: { ImageState: NORMAL }
  - id: base
    title: B
    where: { Platform: Ubuntu }
    expect: { count: { gte: 1 } }
waivers:
  - rules: [state]
    images: [img-a]
    reason: tracked in OPS-1
    expires: 2026-06-30
  - rules: [state]
    where: { ImageName: { starts_with: legacy- } }
    images: [img-b, img-c]
    reason: legacy, both must hold
  - rules: [base]
    reason: no Ubuntu yet
";
    let images = json!([
        { "ImageId": "img-a", "ImageState": "CREATING", "ImageName": "x" },
        { "ImageId": "img-b", "ImageState": "CREATING", "ImageName": "legacy-b" },
        { "ImageId": "img-c", "ImageState": "CREATING", "ImageName": "c" },
        { "ImageId": "img-d", "ImageState": "CREATING", "ImageName": "legacy-d" }
    ]);
    let found = findings(yaml, images);
    assert_eq!(
        found,
        vec![
            ("state".into(), Some("img-a".into()), Status::Waived),
            ("state".into(), Some("img-b".into()), Status::Waived),
            ("state".into(), Some("img-c".into()), Status::Violation),
            ("state".into(), Some("img-d".into()), Status::Violation),
            ("base".into(), None, Status::Waived),
        ]
    );
}
