//! The generator against the shipped pack: exactly the images it made to
//! violate get findings, and its snapshot reads back complete.

use std::collections::HashSet;
use std::path::PathBuf;

use ecmguard::eval::{EvalOptions, evaluate};
use ecmguard::generate::{GenOptions, write_snapshot};
use ecmguard::policy::{self, CompileOptions};
use ecmguard::source::snapshot;
use ecmguard::time::ApiZone;

#[test]
fn exactly_the_violating_images_fail_the_shipped_pack() {
    let options = GenOptions {
        count: 4000,
        seed: 42,
        violating: 0.25,
        ..GenOptions::default()
    };
    let mut bytes = Vec::new();
    let violating = write_snapshot(&options, &mut bytes).expect("generate");
    let loaded = snapshot::load_bytes("gen.json", &bytes, &ApiZone::default()).expect("reads");
    assert_eq!(loaded.images.len(), options.count);
    let compile = CompileOptions {
        now: options.now,
        zone: ApiZone::default(),
        params: Vec::new(),
    };
    let pack = policy::load(
        &[PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies")],
        &compile,
    )
    .expect("the shipped pack loads");
    let evaluation = evaluate(
        &pack.policy,
        &loaded.images,
        EvalOptions {
            now: options.now,
            baseline: None,
        },
    );
    let failing: HashSet<usize> = evaluation.findings.iter().filter_map(|f| f.image).collect();
    assert_eq!(failing.len(), violating);
    // Roughly the asked-for share; the exact count is a seeded draw.
    assert!((900..1100).contains(&violating), "{violating}");
    // Every rule of the pack is hit by something.
    let rules: HashSet<usize> = evaluation.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules.len(), pack.policy.rules.len());
}
