//! The generator against the shipped pack: exactly the images it made to
//! violate get findings, and its snapshot (with its usage) reads back complete.

use std::collections::BTreeSet;
use std::path::PathBuf;

use ecmguard::eval::{EvalOptions, Status, evaluate};
use ecmguard::generate::{Breach, GenOptions, images, write_snapshot};
use ecmguard::policy::{self, CompileOptions};
use ecmguard::source::snapshot;
use ecmguard::time::ApiZone;

/// The findings the shipped pack gives an image the generator broke in
/// these ways: `(rule, status)`. Where two breaches touch one field, the
/// one that leaves nothing to judge wins (a missing platform over an
/// unapproved one, an unreadable time over an old one); cloud-init is only
/// read for Linux images.
fn meant(breaches: &[Breach], image: &serde_json::Value) -> Vec<(&'static str, Status)> {
    let has = |b: Breach| breaches.contains(&b);
    let linux = image["OsType"]
        .as_str()
        .is_some_and(|os| os.eq_ignore_ascii_case("linux"));
    let mut out = Vec::new();
    if has(Breach::UnreadableTime) {
        out.push(("private-image-max-age", Status::Indeterminate));
    } else if has(Breach::OldPrivate) {
        out.push(("private-image-max-age", Status::Violation));
    }
    if has(Breach::PlatformMissing) {
        out.push(("approved-platform", Status::Indeterminate));
    } else if has(Breach::UnapprovedPlatform) {
        out.push(("approved-platform", Status::Violation));
    }
    if linux && has(Breach::NoCloudInit) {
        out.push(("cloud-init-supported", Status::Violation));
    } else if linux && has(Breach::CloudInitMissing) {
        out.push(("cloud-init-supported", Status::Indeterminate));
    }
    if has(Breach::NotNormal) {
        out.push(("image-state-normal", Status::Violation));
    }
    if has(Breach::BadName) {
        out.push(("private-image-naming", Status::Violation));
    }
    if has(Breach::NoDescription) {
        out.push(("private-image-description", Status::Violation));
    }
    // An unused image whose creation time cannot be read cannot be judged by its age.
    if has(Breach::UnusedOld) && has(Breach::UnreadableTime) {
        out.push(("unused-private-images-expire", Status::Indeterminate));
    } else if has(Breach::UnusedOld) {
        out.push(("unused-private-images-expire", Status::Violation));
    }
    out
}

#[test]
fn exactly_the_violating_images_fail_the_shipped_pack() {
    let options = GenOptions {
        count: 4000,
        seed: 42,
        violating: 0.25,
        ..GenOptions::default()
    };
    // What the generator made each image break, as (rule, ImageId, status).
    let mut generator = images(&options);
    let mut expected = BTreeSet::new();
    while let Some(image) = generator.next() {
        let id = image["ImageId"].as_str().expect("an ImageId").to_owned();
        for (rule, status) in meant(generator.breaches(), &image) {
            expected.insert((rule.to_owned(), id.clone(), status));
        }
    }
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
    let mut images = loaded.images;
    let usage = snapshot::usage("gen.json", loaded.usage, "the pack").expect("usage adds up");
    assert!(
        usage.set().instances.len() > options.count,
        "about two per image"
    );
    assert!(usage.set().modules.iter().any(|m| m.image_id().is_none()));
    images.attach_usage(usage);
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
        &images,
        EvalOptions {
            now: options.now,
            baseline: None,
            selection: None,
            history: None,
        },
    );
    let found: BTreeSet<(String, String, Status)> = evaluation
        .findings
        .iter()
        .map(|f| {
            let image = f.image.and_then(|i| images.images()[i].id());
            (
                pack.policy.rules[f.rule].id.clone(),
                image.expect("a per-image finding").to_owned(),
                f.status,
            )
        })
        .collect();
    // Exactly the findings the generator meant: the same images, rules and statuses.
    let missing: Vec<_> = expected.difference(&found).take(5).collect();
    let extra: Vec<_> = found.difference(&expected).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "meant but not found: {missing:?}\nfound but not meant: {extra:?}"
    );
    let failing: BTreeSet<&String> = found.iter().map(|(_, id, _)| id).collect();
    assert_eq!(failing.len(), violating);
    // Roughly the asked-for share; the exact count is a seeded draw.
    assert!((900..1100).contains(&violating), "{violating}");
    // Every rule of the pack is hit by something.
    let rules: BTreeSet<&String> = found.iter().map(|(rule, _, _)| rule).collect();
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
