//! Reading snapshots in-process: shapes, provenance, and round trips; the
//! shipped example holds only fields that exist, and fields that ecmguard
//! does not know are kept unchanged (tried on a fixture of their own).

use std::path::PathBuf;

use ecmguard::source::snapshot::{self, Completeness, Shape};
use serde_json::Value;

use crate::support::Test;

fn example() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/snapshots/account.json"
    ))
    .unwrap()
}

/// `tests/fixtures/snapshots/unknown-fields.json` (its README says what it holds).
fn unknown_fields() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/snapshots/unknown-fields.json"
    ))
}

#[test]
fn the_example_snapshot_is_ours_and_complete() {
    let snap = snapshot::read("account.json", &example()).unwrap();
    assert_eq!(snap.shape, Shape::Ecmguard);
    assert_eq!(snap.total_count, Some(snap.images.len() as u64));
}

/// The example is what users copy: a field the API does not have (tccli
/// drops it, no SDK models it) would teach one that does not exist.
#[test]
fn the_example_snapshot_holds_only_fields_of_the_official_model() {
    // The `Image` and `SrcImage` members of DescribeImage's official model
    // (tccli's API spec and the Python and Go SDKs agree on them).
    const IMAGE: [&str; 17] = [
        "ImageId",
        "ImageName",
        "ImageState",
        "ImageType",
        "ImageOsName",
        "ImageDescription",
        "ImageCreateTime",
        "Architecture",
        "OsType",
        "OsVersion",
        "Platform",
        "ImageOwner",
        "ImageSize",
        "SrcImage",
        "ImageSource",
        "TaskId",
        "IsSupportCloudInit",
    ];
    const SRC_IMAGE: [&str; 10] = [
        "ImageId",
        "ImageName",
        "ImageOsName",
        "ImageDescription",
        "Region",
        "RegionID",
        "RegionName",
        "InstanceName",
        "InstanceId",
        "ImageType",
    ];
    let example: Value = serde_json::from_slice(&example()).unwrap();
    let images = example["ImageSet"].as_array().expect("images");
    assert_eq!(images.len(), 17);
    for image in images {
        let id = &image["ImageId"];
        for key in image.as_object().expect("an object").keys() {
            assert!(
                IMAGE.contains(&key.as_str()),
                "{id}: `{key}` is not an Image field"
            );
        }
        if let Some(src) = image["SrcImage"].as_object() {
            for key in src.keys() {
                assert!(
                    SRC_IMAGE.contains(&key.as_str()),
                    "{id}: `SrcImage.{key}` is not a SrcImage field"
                );
            }
        }
    }
}

#[test]
fn unknown_fields_survive_a_round_trip() {
    let bytes = std::fs::read(unknown_fields()).unwrap();
    let snap = snapshot::read("unknown-fields.json", &bytes).unwrap();
    assert_eq!(snap.shape, Shape::Tccli);
    let back = serde_json::to_value(&snap.images[0]).unwrap();
    assert_eq!(back["Labels"][0]["Key"], "team");
    assert_eq!(back["FutureCounter"], 7);
    assert_eq!(back["SrcImage"]["Zone"], "ap-chongqing-ecm2-1");
    assert_eq!(back["SrcImage"]["Region"], "ap-chongqing-ecm2");
    // And as the emulator reads its data: the JSON exactly as written.
    let json = snapshot::load_json(
        &unknown_fields().display().to_string(),
        Completeness::Proven,
        &mut std::io::empty(),
    )
    .unwrap();
    let written: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(Value::Array(json), written["ImageSet"]);
}

/// A check's report carries every field of an image, known or not.
#[test]
fn unknown_fields_reach_the_report() {
    let fixture = std::fs::read(unknown_fields()).unwrap();
    let out = Test::new()
        .policy("rules:\n  - id: named\n    title: Images are named plain\n    assert: { ImageName: plain }\n")
        .file("images.json", fixture)
        .check(&["--format", "json"])
        .run()
        .code(1);
    let report = out.json();
    let image = &report["findings"][0]["image"];
    assert_eq!(image["ImageId"], "img-u1k2n3w4");
    assert_eq!(image["Labels"][0]["Value"], "data");
    assert_eq!(image["FutureCounter"], 7);
    assert_eq!(image["SrcImage"]["Zone"], "ap-chongqing-ecm2-1");
}
