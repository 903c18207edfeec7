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
    let loaded = snapshot::load_bytes(
        "gen.json",
        &bytes,
        &ApiZone::default(),
        snapshot::Completeness::Proven,
    )
    .expect("reads");
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
            selection: None,
            history: None,
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

/// The file fast path (`source::split`) and the streaming parser used for
/// stdin give the same report, end to end through the binary.
#[test]
fn a_generated_file_and_the_same_bytes_on_stdin_give_the_same_report() {
    let mut bytes = Vec::new();
    write_snapshot(
        &GenOptions {
            count: 3000,
            seed: 7,
            violating: 0.3,
            ..GenOptions::default()
        },
        &mut bytes,
    )
    .expect("generate");
    let pack = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies");
    let pack = pack.to_str().expect("UTF-8 path");
    let now = ecmguard::generate::REFERENCE_NOW;
    let from_file = crate::support::Test::new()
        .file("images.json", &bytes)
        .args(&[
            "check",
            "--snapshot",
            "images.json",
            "--policy",
            pack,
            "--now",
            now,
            "--format",
            "json",
        ])
        .run()
        .code(1);
    let from_stdin = crate::support::Test::new()
        .stdin(bytes)
        .args(&[
            "check",
            "--snapshot",
            "-",
            "--policy",
            pack,
            "--now",
            now,
            "--format",
            "json",
        ])
        .run()
        .code(1);
    let (a, b) = (from_file.json(), from_stdin.json());
    assert_eq!(a["summary"], b["summary"]);
    assert_eq!(a["findings"], b["findings"]);
    assert_eq!(a["rules"], b["rules"]);
    assert_eq!(a["run"]["source"]["shape"], "ecmguard");
}
