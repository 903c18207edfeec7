//! Reading snapshots in-process: shapes, provenance, and round trips.

use ecmguard::source::snapshot::{self, Shape};

#[test]
fn the_example_snapshot_is_ours_and_complete() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/snapshots/account.json"
    ))
    .unwrap();
    let snap = snapshot::read("account.json", &bytes).unwrap();
    assert_eq!(snap.shape, Shape::Ecmguard);
    assert_eq!(snap.total_count, Some(snap.images.len() as u64));
}

#[test]
fn unknown_fields_survive_a_round_trip() {
    let bytes = br#"[{"ImageId":"img-a","Labels":[{"Key":"team","Value":"data"}],"SrcImage":{"Region":"x","Zone":"y"}}]"#;
    let snap = snapshot::read("t.json", bytes).unwrap();
    let back = serde_json::to_value(&snap.images[0]).unwrap();
    assert_eq!(back["Labels"][0]["Key"], "team");
    assert_eq!(back["SrcImage"]["Zone"], "y");
}
