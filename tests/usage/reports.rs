//! Usage in every report format: the findings of rules that read usage carry the instance
//! and module ids behind their counts (all of them in json, csv and sarif; capped like
//! images elsewhere), and every format says how many instances run an image the API does
//! not name.

use serde_json::{Value, json};

use super::USAGE_RULES;
use super::snapshot::check_snapshot;
use crate::live_cli::sample;

/// The sample images with the usage of `sample_usage`, and one more instance whose image
/// is unknown when `unknown` is set.
fn snapshot(unknown: bool) -> String {
    let (instances, modules) = super::sample_usage();
    let mut instance_set: Vec<Value> = instances
        .iter()
        .map(|i| {
            json!({"InstanceId": i.id, "InstanceState": i.state, "Image": {"ImageId": i.image},
                   "SimpleModule": i.module.as_ref().map(|m| json!({"ModuleId": m}))})
        })
        .collect();
    if unknown {
        instance_set
            .push(json!({"InstanceId": "ein-unknown0", "InstanceState": "RUNNING", "Image": null}));
    }
    let module_set: Vec<Value> = modules
        .iter()
        .map(|m| {
            json!({"ModuleId": m.id, "ModuleName": m.name, "ModuleState": m.state,
                        "DefaultImage": m.default_image.as_ref().map(|i| json!({"ImageId": i}))})
        })
        .collect();
    let images = sample();
    json!({
        "schema": "ecmguard/snapshot/v1", "total_count": images.len(), "ImageSet": images,
        "usage": {"instances_total": instance_set.len(), "modules_total": module_set.len(),
                  "InstanceSet": instance_set, "ModuleSet": module_set}
    })
    .to_string()
}

fn report(unknown: bool, format: &str, extra: &[&str]) -> String {
    let mut args = vec!["--format", format];
    args.extend_from_slice(extra);
    check_snapshot(&snapshot(unknown), USAGE_RULES, &args)
        .code(1)
        .stdout
}

#[test]
fn json_and_sarif_carry_every_id_behind_the_counts() {
    let json: Value = serde_json::from_str(&report(false, "json", &[])).unwrap();
    assert_eq!(
        json["run"]["usage"],
        json!({"instances": 3, "modules": 2, "instances_with_unknown_image": 0})
    );
    let running = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["image"]["ImageId"] == "img-060ov1xz")
        .expect("the running image's finding");
    assert_eq!(
        running["usage"],
        json!({"Instances": 2, "RunningInstances": 1, "Modules": 0, "InUse": true, "exact": true,
               "instances": ["ein-bb0ab3pc", "ein-b6kee4dg"], "modules": []})
    );
    // The image object stays the image as the API sent it.
    assert!(running["image"].get("Usage").is_none());
    let unused = &json["findings"][0];
    assert_eq!(unused["usage"]["InUse"], false);

    let sarif: Value = serde_json::from_str(&report(false, "sarif", &[])).unwrap();
    let run = &sarif["runs"][0];
    assert_eq!(run["invocations"][0]["properties"]["usage"]["instances"], 3);
    let result = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["properties"]["imageId"] == "img-060ov1xz")
        .unwrap();
    assert_eq!(
        result["properties"]["usage"]["instances"],
        json!(["ein-bb0ab3pc", "ein-b6kee4dg"])
    );
}

#[test]
fn csv_has_usage_columns_when_usage_was_listed() {
    let csv = report(false, "csv", &[]);
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.ends_with(",usage_instances,usage_running_instances,usage_modules,usage_in_use,usage_instance_ids,usage_module_ids"),
        "{header}"
    );
    assert!(
        csv.contains(",2,1,0,true,ein-bb0ab3pc ein-b6kee4dg,"),
        "{csv}"
    );
    // Without usage, the columns are absent: existing consumers see no change.
    let plain = crate::support::Test::new()
        .policy(crate::live_cli::STATE)
        .images(Value::Array(sample()))
        .check(&["--format", "csv"])
        .run();
    let first = plain.stdout.lines().next().unwrap_or_default().to_owned();
    assert!(!first.contains("usage_"), "{first}");
}

#[test]
fn the_formats_people_read_cap_the_ids_like_images() {
    let human = report(false, "human", &["--max-findings", "1"]);
    assert!(
        human.contains("usage: 2 instances (1 running): ein-bb0ab3pc and 1 more; 0 modules"),
        "{human}"
    );
    let human = report(false, "human", &[]);
    assert!(
        human.contains("usage: 2 instances (1 running): ein-bb0ab3pc, ein-b6kee4dg; 0 modules"),
        "{human}"
    );
    assert!(human.contains("usage: no instance, no module"), "{human}");
    for format in ["markdown", "html", "junit", "github"] {
        // Markdown escapes its punctuation.
        let out = report(false, format, &[])
            .replace("\\(", "(")
            .replace("\\)", ")");
        assert!(
            out.contains("usage: 2 instances (1 running): ein-bb0ab3pc, ein-b6kee4dg"),
            "{format}: {out}"
        );
    }
    let markdown = report(false, "markdown", &[]);
    assert!(
        markdown.contains("usage: 3 instances, 2 modules"),
        "{markdown}"
    );
}

/// An instance whose image is unknown: every format says how many there are.
#[test]
fn every_format_says_how_many_instances_run_an_unknown_image() {
    for format in [
        "human", "json", "sarif", "junit", "markdown", "html", "csv", "github",
    ] {
        let out = report(true, format, &[]);
        assert!(
            out.contains("1 instance runs an image the API does not name"),
            "{format}: {out}"
        );
    }
    let json: Value = serde_json::from_str(&report(true, "json", &[])).unwrap();
    assert_eq!(json["run"]["usage"]["instances_with_unknown_image"], 1);
}
