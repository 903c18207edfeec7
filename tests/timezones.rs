//! The result never depends on the machine's time zone: the same check under
//! several `TZ` values gives byte-identical JSON (the duration aside).

use serde_json::json;

use crate::support::Test;

const POLICY: &str = "\
rules:
  - id: age
    title: Private images are younger than 180 days
    where: { ImageType: PRIVATE_IMAGE }
    assert: { ImageCreateTime: { newer_than: 180d } }
  - id: after
    title: Created after 2025-07-05
    assert: { ImageCreateTime: { gte: 2025-07-05 } }
";

fn run(tz: &str, zone: &str) -> serde_json::Value {
    let images = json!([
        { "ImageId": "img-edge", "ImageType": "PRIVATE_IMAGE", "ImageCreateTime": "2025-07-05 00:00:00" },
        { "ImageId": "img-in", "ImageType": "PRIVATE_IMAGE", "ImageCreateTime": "2025-07-05 08:00:00" },
        { "ImageId": "img-out", "ImageType": "PRIVATE_IMAGE", "ImageCreateTime": "2025-07-04 23:59:59" },
        { "ImageId": "img-public", "ImageType": "PUBLIC_IMAGE", "ImageCreateTime": "" }
    ]);
    let out = Test::new()
        .policy(POLICY)
        .images(images)
        .env("TZ", tz)
        .check(&["--format", "json", "--api-time-zone", zone])
        .run();
    let mut report = out.json();
    report["run"]["duration_seconds"] = json!(0);
    report
}

#[test]
fn identical_results_under_any_machine_zone() {
    for zone in ["+08:00", "Asia/Shanghai", "UTC"] {
        let reference = run("UTC", zone);
        for tz in ["Asia/Shanghai", "America/Los_Angeles", "Pacific/Kiritimati"] {
            assert_eq!(run(tz, zone), reference, "TZ={tz} --api-time-zone {zone}");
        }
    }
}

#[test]
fn the_api_zone_moves_the_boundary() {
    let failing = |report: &serde_json::Value| -> Vec<String> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "age")
            .map(|f| f["image"]["ImageId"].as_str().unwrap().to_owned())
            .collect()
    };
    // In +08:00, 2025-07-05 00:00:00 is exactly 180 days before now: not newer.
    assert_eq!(failing(&run("UTC", "+08:00")), ["img-edge", "img-out"]);
    // Read as UTC the same texts are 8 hours later: all newer than 180 days.
    assert!(failing(&run("UTC", "UTC")).is_empty());
    // Read as UTC-10 they are 18 hours later still.
    assert!(failing(&run("UTC", "-10:00")).is_empty());
}
