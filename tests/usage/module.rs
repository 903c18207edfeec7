//! `check --module MODULE_ID`: the pre-deployment check of what a module will deploy, its
//! default image, as a narrowed selection; live and from a snapshot with usage.

use ecm_emulator::{Config, DESCRIBE_IMAGE, DESCRIBE_MODULE, FaultScript, Module};
use serde_json::Value;

use super::live::{check, server};
use super::snapshot::{check_snapshot, fetch};
use crate::live_cli::{STATE, Server, sample};

#[test]
fn a_module_is_checked_by_its_default_image() {
    let server = server(FaultScript::none());
    let out = check(
        &server,
        STATE,
        &["--module", "em-5wrpefy1", "--format", "json"],
    )
    .code(0);
    let report = out.json();
    assert_eq!(report["summary"]["images"], 1);
    assert_eq!(report["run"]["images"], 1);
    // The module first (by id), then its image (by id): nothing else is listed.
    let log = server.log();
    type Filters = Vec<(String, Vec<String>)>;
    let asked: Vec<(String, Filters)> = log
        .iter()
        .map(|e| (e.action.clone(), e.filters.clone()))
        .collect();
    assert_eq!(
        asked,
        [
            (
                DESCRIBE_MODULE.to_owned(),
                vec![("module-id".to_owned(), vec!["em-5wrpefy1".to_owned()])]
            ),
            (
                DESCRIBE_IMAGE.to_owned(),
                vec![("image-id".to_owned(), vec!["img-im4w1234".to_owned()])]
            ),
        ]
    );
    // A narrowed selection: set-level rules are skipped.
    let set_level = "rules:\n  - id: some\n    title: T\n    expect: { count: { gte: 5 } }\n";
    let report = check(
        &server,
        set_level,
        &["--module", "em-5wrpefy1", "--format", "json"],
    )
    .code(0)
    .json();
    assert_eq!(report["rules"][0]["status"], "skip");
    let reason = report["rules"][0]["skip_reason"].as_str().unwrap();
    assert!(
        reason.contains("--module em-5wrpefy1 (img-im4w1234)"),
        "{reason}"
    );
    // With --image: both.
    let report = check(
        &server,
        STATE,
        &[
            "--module",
            "em-5wrpefy1",
            "--image",
            "img-f0ld9e2r",
            "--format",
            "json",
        ],
    )
    .code(1)
    .json();
    assert_eq!(report["summary"]["images"], 2);
}

/// A module without a default image deploys nothing: nothing is checked, which fails the
/// gate (nothing checked is not a pass) with a warning naming the module.
#[test]
fn a_module_without_a_default_image_checks_nothing() {
    let server = server(FaultScript::none());
    let out = check(&server, STATE, &["--module", "em-n2e2345"]).code(1);
    let out = out
        .stdout_has("module em-n2e2345 (batch) has no default image")
        .stderr_has("ecmguard::nothing-checked");
    assert!(
        server.log().iter().all(|e| e.action == DESCRIBE_MODULE),
        "no image is listed for it: {}",
        out.stdout
    );
    // --allow-empty accepts it, as for any empty selection.
    check(&server, STATE, &["--module", "em-n2e2345", "--allow-empty"]).code(0);
}

#[test]
fn an_unknown_module_is_exit_2_naming_the_modules_that_exist() {
    let server = server(FaultScript::none());
    check(
        &server,
        STATE,
        &["--module", "em-5wrpefy1", "--module", "em-nope0000"],
    )
    .code(2)
    .stderr_has("ecmguard::module-not-found")
    .stderr_has("no module em-nope0000")
    .stderr_has("em-5wrpefy1 (web), em-n2e2345 (batch)");
    // No image was asked for.
    assert!(server.log().iter().all(|e| e.action == DESCRIBE_MODULE));
    // --module is a selection of its own: it does not combine with --filter.
    check(
        &server,
        STATE,
        &[
            "--module",
            "em-5wrpefy1",
            "--filter",
            "image-type=PRIVATE_IMAGE",
        ],
    )
    .code(2)
    .stderr_has("cannot be used with");
}

/// A module whose default image DescribeImage does not list: what it would deploy cannot
/// be judged, so the check is refused (exit 2), as an `--image` that does not exist.
#[test]
fn a_module_whose_image_is_gone_is_exit_2() {
    let module = Module {
        id: "em-orphan00".into(),
        name: "orphan".into(),
        state: "NORMAL".into(),
        default_image: Some("img-deleted0".into()),
    };
    let server = Server::start(sample(), |config| config.modules = vec![module]);
    check(&server, STATE, &["--module", "em-orphan00"])
        .code(2)
        .stderr_has("its default image img-deleted0 is not in the result set");
}

/// Seven modules: looked up five ids at a time (the documented limit of a filter).
#[test]
fn modules_are_looked_up_five_at_a_time() {
    let images = ecm_emulator::generate_images(60);
    let (instances, modules) = ecm_emulator::generate_usage(&images, 100, 20);
    let ids: Vec<String> = modules
        .iter()
        .filter(|m| m.default_image.is_some())
        .take(7)
        .map(|m| m.id.clone())
        .collect();
    let server = Server::start(images, |config: &mut Config| {
        config.instances = instances;
        config.modules = modules;
    });
    let mut args: Vec<&str> = ids
        .iter()
        .flat_map(|id| ["--module", id.as_str()])
        .collect();
    args.extend(["--format", "json"]);
    let report = check(&server, STATE, &args).json();
    assert!(report["summary"]["images"].as_u64().unwrap() >= 1);
    let lookups: Vec<usize> = server
        .log()
        .iter()
        .filter(|e| e.action == DESCRIBE_MODULE)
        .map(|e| e.filters[0].1.len())
        .collect();
    assert_eq!(lookups, [5, 2]);
}

/// From a snapshot, the modules are those of its usage: the same selection as live; a
/// snapshot without usage cannot name any module.
#[test]
fn a_snapshot_with_usage_finds_its_modules() {
    let server = server(FaultScript::none());
    let text = fetch(&server.url(), None, &["--usage"])
        .code(0)
        .read("snap.json");
    let live = check(
        &server,
        STATE,
        &["--module", "em-5wrpefy1", "--format", "json"],
    )
    .code(0)
    .json();
    let saved = check_snapshot(
        &text,
        STATE,
        &["--module", "em-5wrpefy1", "--format", "json"],
    )
    .code(0)
    .json();
    assert_eq!(saved["summary"], live["summary"]);
    check_snapshot(&text, STATE, &["--module", "em-nope0000"])
        .code(2)
        .stderr_has("ecmguard::module-not-found");
    let without: Value = {
        let mut v: Value = serde_json::from_str(&text).unwrap();
        v.as_object_mut().unwrap().remove("usage");
        v
    };
    check_snapshot(&without.to_string(), STATE, &["--module", "em-5wrpefy1"])
        .code(3)
        .stderr_has("needed by --module");
}
