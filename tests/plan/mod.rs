//! `ecmguard plan` end to end (docs/remediation.md): against the emulator and
//! snapshots, the plan it shows and saves, the plan file's verification, and
//! the `fix` key's validation.

use ecm_emulator::{DESCRIBE_IMAGE, DESCRIBE_INSTANCES, DESCRIBE_MODULE};
use serde_json::Value;

use crate::live_cli::{Server, sample, with_credentials};
use crate::support::{NOW, Output, Test};
use crate::usage::sample_usage;

/// A delete of old unused images, and a rename of names with capitals, with
/// no rule reading usage: the delete alone makes the plan list it.
const FIX_RULES: &str = "rules:
  - id: old-private-images
    title: Private images are rebuilt every two years
    where: { ImageType: PRIVATE_IMAGE }
    assert: { ImageCreateTime: { newer_than: 2y } }
    fix: delete
  - id: lower-case-names
    title: Private image names are lower case
    where: { ImageType: PRIVATE_IMAGE }
    assert: { ImageName: { matches: \"^[a-z0-9-]+$\" } }
    fix: { rename: \"{ImageId}-renamed\" }
";

fn server() -> Server {
    let (instances, modules) = sample_usage();
    Server::start(sample(), |config| {
        config.instances = instances;
        config.modules = modules;
    })
}

fn plan_live(server: &Server, policy: &str, extra: &[&str]) -> Output {
    let url = server.url();
    let mut args = vec!["plan", "--endpoint", url.as_str(), "--now", NOW];
    args.extend_from_slice(extra);
    with_credentials(Test::new().policy(policy))
        .args(&args)
        .run()
}

#[test]
fn a_live_plan_deletes_only_unused_private_images_and_says_what_it_kept() {
    let server = server();
    let out = plan_live(&server, FIX_RULES, &["-o", "plan.json"]).code(0);
    let shown = out.stdout.replace(&server.url(), "URL");
    insta::assert_snapshot!("live_plan", shown);
    let plan: Value = serde_json::from_str(&out.read("plan.json")).expect("plan");
    let deleted: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "delete")
        .map(|a| a["image_id"].as_str().unwrap())
        .collect();
    // img-060ov1xz runs on two instances: kept, with their ids.
    assert!(!deleted.contains(&"img-060ov1xz"), "{deleted:?}");
    let kept = plan["kept"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["image_id"] == "img-060ov1xz" && k["action"] == "delete")
        .expect("kept");
    assert_eq!(kept["reason"]["kind"], "in_use");
    assert_eq!(
        kept["reason"]["instances"],
        serde_json::json!(["ein-bb0ab3pc", "ein-b6kee4dg"])
    );
    assert_eq!(plan["endpoint"], server.url());
    // Nothing but reads reached the service.
    for entry in server.log() {
        assert!(
            [DESCRIBE_IMAGE, DESCRIBE_INSTANCES, DESCRIBE_MODULE].contains(&entry.action.as_str()),
            "plan sent {}",
            entry.action
        );
    }
    assert!(server.log().iter().any(|e| e.action == DESCRIBE_INSTANCES));
}

#[test]
fn format_json_prints_the_plan_file_itself() {
    let server = server();
    let out = plan_live(&server, FIX_RULES, &["--format", "json", "-o", "plan.json"]).code(0);
    assert_eq!(out.stdout, out.read("plan.json"));
    assert_eq!(out.json()["schema"], "ecmguard/plan/v1");
}

#[test]
fn more_actions_than_max_actions_is_exit_2_and_nothing_is_saved() {
    let server = server();
    let out = plan_live(
        &server,
        FIX_RULES,
        &["--max-actions", "1", "-o", "plan.json"],
    )
    .code(2)
    .stderr_has("more than --max-actions 1")
    .stderr_has("too-many-actions");
    assert!(!out.dir().join("plan.json").exists());
}

/// `-o` is refused when it names a file the run reads; the history database is one (a plan
/// saved over it would destroy every recorded run), even before this run creates it.
#[test]
fn the_plan_is_never_saved_over_the_history_or_another_input() {
    let server = server();
    for target in ["history.db", "./history.db"] {
        let out = plan_live(
            &server,
            FIX_RULES,
            &["--history", "history.db", "-o", target],
        )
        .code(2)
        .stderr_has("output-is-input")
        .stderr_has("the history database");
        assert!(!out.dir().join("history.db").exists(), "{target}");
    }
    plan_live(&server, FIX_RULES, &["-o", "policies/main.yaml"])
        .code(2)
        .stderr_has("output-is-input")
        .stderr_has("a policy file");
}

fn saved_plan() -> (Output, Vec<u8>) {
    let server = server();
    let out = plan_live(&server, FIX_RULES, &["-o", "plan.json"]).code(0);
    let bytes = std::fs::read(out.dir().join("plan.json")).expect("plan");
    (out, bytes)
}

fn system_now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

#[test]
fn the_digest_is_what_jq_and_sha256sum_compute() {
    let (out, bytes) = saved_plan();
    let plan: Value = serde_json::from_slice(&bytes).unwrap();
    let Ok(jq) = std::process::Command::new("jq")
        .args(["-jcS", "del(.digest)", "plan.json"])
        .current_dir(out.dir())
        .output()
    else {
        panic!("jq is needed to check the documented verification recipe");
    };
    use sha2::Digest;
    let hashed = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&jq.stdout)));
    assert_eq!(plan["digest"], hashed);
}

#[test]
fn the_saved_plan_loads_as_made_and_every_refusal_is_located() {
    let (_out, bytes) = saved_plan();
    let now = system_now();
    let plan = ecmguard::plan::file::load("plan.json", &bytes, now).expect("a fresh plan loads");
    assert!(!plan.actions.is_empty());
    // Round trip: written again, the same bytes.
    let mut again = Vec::new();
    ecmguard::plan::file::write(&plan, &mut again).unwrap();
    assert_eq!(again, bytes);
    // One edited byte.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let edited = text.replacen("img-", "img_", 1);
    let err = ecmguard::plan::file::load("plan.json", edited.as_bytes(), now).unwrap_err();
    assert_eq!(err.code.name(), "plan-edited");
    assert!(err.location().is_some());
    // A foreign schema.
    let foreign = text.replace("ecmguard/plan/v1", "other/plan/v1");
    let err = ecmguard::plan::file::load("plan.json", foreign.as_bytes(), now).unwrap_err();
    assert_eq!(err.code.name(), "plan-schema");
    // Expired: made again through the library (an edit would break the digest).
    let mut old = plan.clone();
    old.expires_at = now - jiff::SignedDuration::from_secs(1);
    let mut expired = Vec::new();
    ecmguard::plan::file::write(&old, &mut expired).unwrap();
    let err = ecmguard::plan::file::load("plan.json", &expired, now).unwrap_err();
    assert_eq!(err.code.name(), "plan-expired");
    // Another endpoint or account.
    let endpoint = plan.endpoint.clone().unwrap();
    assert!(
        plan.check_target(&endpoint, plan.account.as_deref())
            .is_ok()
    );
    assert!(
        plan.check_target("https://ecm.tencentcloudapi.com", plan.account.as_deref())
            .is_err()
    );
    assert!(
        plan.check_target(&endpoint, Some("0000000000000000"))
            .is_err()
    );
}

#[test]
fn the_plan_ttl_sets_the_expiry_by_the_system_clock_not_now() {
    let (_out, bytes) = saved_plan();
    let plan: Value = serde_json::from_slice(&bytes).unwrap();
    let created: jiff::Timestamp = plan["created_at"].as_str().unwrap().parse().unwrap();
    let expires: jiff::Timestamp = plan["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires.duration_since(created).as_secs(), 24 * 3600);
    // --now is 2026-01-01; the plan is made now.
    assert!(created.as_second() > system_now().as_second() - 600);
    assert_eq!(plan["evaluated_at"], "2025-12-31T16:00:00Z");
}

#[test]
fn the_fix_key_is_validated_where_it_is_written() {
    let out = Test::new()
        .policy(
            "rules:
  - id: count
    title: t
    expect: { count: { gte: 1 } }
    fix: delete
  - id: a
    title: t
    assert: { ImageState: NORMAL }
    fix: delet
  - id: b
    title: t
    assert: { ImageState: NORMAL }
    fix: { rename: \"{ImageNmae}-x\" }
  - id: c
    title: t
    assert: { ImageState: NORMAL }
    fix: { renme: x }
",
        )
        .args(&["validate"])
        .run()
        .code(2)
        .stderr_has("fix-on-set-level")
        .stderr_has("unknown fix `delet`")
        .stderr_has("did you mean `delete`")
        .stderr_has("unknown placeholder `{ImageNmae}` in fix `rename`")
        .stderr_has("did you mean `rename`");
    assert!(out.stderr.contains("main.yaml:5"), "{}", out.stderr);
}

#[test]
fn a_plan_from_a_snapshot_is_the_same_as_the_live_one() {
    let server = server();
    let url = server.url();
    let fetched = with_credentials(Test::new().policy(FIX_RULES))
        .args(&[
            "fetch",
            "--endpoint",
            url.as_str(),
            "--usage",
            "-o",
            "snap.json",
        ])
        .run()
        .code(0);
    let snapshot = fetched.read("snap.json");
    let from_snapshot = Test::new()
        .policy(FIX_RULES)
        .file("snap.json", snapshot)
        .args(&[
            "plan",
            "--snapshot",
            "snap.json",
            "--now",
            NOW,
            "--format",
            "json",
        ])
        .run()
        .code(0)
        .json();
    let live = plan_live(&server, FIX_RULES, &["--format", "json"])
        .code(0)
        .json();
    assert_eq!(from_snapshot["actions"], live["actions"]);
    assert_eq!(from_snapshot["kept"], live["kept"]);
    assert_eq!(from_snapshot["endpoint"], live["endpoint"]);
}
