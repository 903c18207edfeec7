//! For random images, random policies (per-image and set-level rules,
//! waivers by image and by `where`) and a random subset chosen as with
//! `--image`: the per-image findings on the selection equal the full set's
//! findings restricted to those images, and set-level rules are skipped.

use ecmguard::eval::{EvalOptions, Evaluation, RuleStatus, Selection, evaluate};
use ecmguard::image::{Image, ImageSet};
use ecmguard::policy::{self, PolicySet};
use ecmguard::source_text::SourceFile;
use ecmguard::time::ApiZone;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

use crate::support::{now, options};

const RULES: &[&str] = &[
    "  - id: state\n    title: NORMAL\n    assert: { ImageState: NORMAL }\n",
    "  - id: fresh\n    title: Fresh\n    where: { ImageType: PRIVATE_IMAGE }\n    assert: { ImageCreateTime: { newer_than: 180d } }\n",
    "  - id: size\n    title: Size\n    assert: { ImageSize: { gte: 50 } }\n    unknown: pass\n",
    "  - id: os\n    title: OS\n    assert: { Platform: [Ubuntu, CentOS] }\n",
    "  - id: ubuntu\n    title: Ubuntu exists\n    where: { Platform: Ubuntu }\n    expect: { count: { gte: 1 } }\n",
    "  - id: unique-names\n    title: Unique names\n    expect: { unique: ImageName }\n",
];

fn image() -> impl Strategy<Value = Value> {
    (
        prop::option::of(prop::sample::select(vec![
            "NORMAL",
            "IMPORTFAILED",
            "CREATING",
        ])),
        prop::sample::select(vec!["PRIVATE_IMAGE", "PUBLIC_IMAGE"]),
        prop::option::of(prop::sample::select(vec!["Ubuntu", "CentOS", "Debian"])),
        prop::option::of(0i64..100),
        prop::option::of(prop::sample::select(vec![
            "2025-01-01 00:00:00",
            "2025-12-01 00:00:00",
            "",
        ])),
        prop::sample::select(vec!["a", "b", "c"]),
    )
        .prop_map(|(state, ty, platform, size, created, name)| {
            json!({
                "ImageState": state, "ImageType": ty, "Platform": platform,
                "ImageSize": size, "ImageCreateTime": created, "ImageName": name,
            })
        })
}

/// Images, which rules to keep, which images to select, and waivers.
type Case = (Vec<Value>, Vec<bool>, Vec<bool>, Vec<(usize, bool)>);

/// A per-image finding: rule id, image id, status, message, waiver.
type PerImage = (String, String, String, String, Option<usize>);

/// At least one `true`: every case keeps a rule and selects an image.
fn some(n: usize) -> impl Strategy<Value = Vec<bool>> {
    prop::collection::vec(any::<bool>(), n).prop_filter("at least one", |v| v.contains(&true))
}

fn case() -> impl Strategy<Value = Case> {
    prop::collection::vec(image(), 1..12).prop_flat_map(|images| {
        let n = images.len();
        (
            Just(images),
            some(RULES.len()),
            some(n),
            // Waivers: (an image index, by id (true) or by `where` on its name).
            prop::collection::vec((0..n, any::<bool>()), 0..3),
        )
    })
}

/// The policy of a case. Every generated policy is valid: one that does not
/// compile is a failure of the test (it used to count as a passed case).
fn compile(
    rules: &[bool],
    waivers: &[(usize, bool)],
    names: &[String],
) -> Result<PolicySet, String> {
    let mut text = String::from("rules:\n");
    let mut ids = Vec::new();
    for (rule, keep) in RULES.iter().zip(rules) {
        if *keep {
            text.push_str(rule);
            ids.push(
                rule.split_whitespace()
                    .nth(2)
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
    if !waivers.is_empty() {
        text.push_str("waivers:\n");
        for (index, by_id) in waivers {
            let target = if *by_id {
                format!("images: [img-{index}]")
            } else {
                format!("where: {{ ImageName: {} }}", names[*index])
            };
            text.push_str(&format!(
                "  - rules: [{}]\n    {target}\n    reason: r\n",
                ids.join(", ")
            ));
        }
    }
    policy::compile(vec![SourceFile::new("p.yaml", text.as_str())], &options())
        .map(|loaded| loaded.policy)
        .map_err(|problems| format!("the generated policy does not compile: {problems:?}\n{text}"))
}

/// Per-image findings as (rule id, image id, status, message, waiver).
fn per_image(policy: &PolicySet, set: &ImageSet, evaluation: &Evaluation) -> Vec<PerImage> {
    let mut out: Vec<_> = evaluation
        .findings
        .iter()
        .filter_map(|f| {
            let image = set.images()[f.image?].id()?.to_owned();
            Some((
                policy.rules[f.rule].id.clone(),
                image,
                f.status.as_str().to_owned(),
                f.message.to_string(),
                f.waiver,
            ))
        })
        .collect();
    out.sort();
    out
}

/// How many cases to run; each must be evaluated.
const CASES: u32 = 200;

#[test]
fn findings_on_a_selection_are_the_full_findings_restricted_to_it() {
    let evaluated = std::sync::atomic::AtomicU32::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&case(), |(images, rules, chosen, waivers)| {
        one_case(images, &rules, &chosen, &waivers)?;
        evaluated.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    // Every case was evaluated and compared: none was skipped or set aside.
    assert_eq!(evaluated.into_inner(), CASES);
}

fn one_case(
    images: Vec<Value>,
    rules: &[bool],
    chosen: &[bool],
    waivers: &[(usize, bool)],
) -> Result<(), TestCaseError> {
    let images: Vec<Value> = images
        .into_iter()
        .enumerate()
        .map(|(i, mut image)| {
            image["ImageId"] = json!(format!("img-{i}"));
            image
        })
        .collect();
    let names: Vec<String> = images
        .iter()
        .map(|i| i["ImageName"].as_str().unwrap_or("a").to_owned())
        .collect();
    let policy = compile(rules, waivers, &names).map_err(TestCaseError::fail)?;
    let zone = ApiZone::default();
    let typed: Vec<Image> = serde_json::from_value(Value::Array(images.clone())).expect("images");
    let full = ImageSet::new(typed.clone(), &zone);
    let selected_ids: Vec<String> = (0..images.len())
        .filter(|&i| chosen[i])
        .map(|i| format!("img-{i}"))
        .collect();
    prop_assert!(!selected_ids.is_empty(), "the strategy selects an image");
    let subset = ImageSet::new(
        typed
            .into_iter()
            .filter(|i| {
                i.id()
                    .is_some_and(|id| selected_ids.iter().any(|s| s == id))
            })
            .collect(),
        &zone,
    );
    let selection = Selection {
        narrowed_by: "--image".into(),
    };
    let whole = evaluate(
        &policy,
        &full,
        EvalOptions {
            now: now(),
            baseline: None,
            selection: None,
            history: None,
        },
    );
    let part = evaluate(
        &policy,
        &subset,
        EvalOptions {
            now: now(),
            baseline: None,
            selection: Some(&selection),
            history: None,
        },
    );
    let restricted: Vec<_> = per_image(&policy, &full, &whole)
        .into_iter()
        .filter(|f| selected_ids.contains(&f.1))
        .collect();
    prop_assert_eq!(per_image(&policy, &subset, &part), restricted);
    for (rule, result) in policy.rules.iter().zip(&part.rules) {
        if rule.is_set_level() {
            prop_assert_eq!(result.status, RuleStatus::Skip);
        }
    }
    prop_assert!(
        part.findings.iter().all(|f| f.image.is_some()),
        "no set-level finding on a selection"
    );
    Ok(())
}
