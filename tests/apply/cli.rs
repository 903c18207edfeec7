//! `ecmguard apply PLAN` end to end against the emulator: each action re-checked and done,
//! already done, skipped or failed, the exit code, the result file, and the
//! plans that are refused before anything is done.

use ecm_emulator::{Change, DELETE_IMAGE, Fault, FaultRule, FaultScript, MODIFY_IMAGE_ATTRIBUTE};
use ecmguard::plan::model::ActionKind;

use crate::live_cli::{Server, with_credentials};
use crate::support::{NOW, Test};

use super::support::{
    A, B, C, apply, apply_bytes, deletes_forbidden, later_usage_reads_late, plan, plan_file,
    server, writes,
};

fn rename(to: &str) -> ActionKind {
    ActionKind::Rename { to: to.to_owned() }
}

fn describe(to: &str) -> ActionKind {
    ActionKind::Describe { to: to.to_owned() }
}

fn image(server: &crate::live_cli::Server, id: &str) -> Option<serde_json::Value> {
    server.handle().and_then(|h| h.image(id))
}

#[test]
fn every_action_is_done_then_a_second_apply_redoes_nothing() {
    let server = server(|_| {});
    let plan = plan(
        &server.url(),
        &[
            (ActionKind::Delete, A),
            (rename("renamed-b"), B),
            (describe("kept for audit"), C),
        ],
    );
    let out = apply(&server, &plan, &["--output", "result.json"]).code(0);
    assert!(
        out.stdout
            .contains("- delete img-00000001: done (RequestId "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("~ rename img-00000002 -> \"renamed-b\": done")
    );
    assert!(
        out.stdout
            .contains("~ describe img-00000004 -> \"kept for audit\": done")
    );
    assert!(
        out.stdout
            .contains("Apply: 3 done, 0 already done, 0 skipped (stale), 0 failed.")
    );
    assert!(image(&server, A).is_none());
    assert_eq!(image(&server, B).unwrap()["ImageName"], "renamed-b");
    assert_eq!(
        image(&server, C).unwrap()["ImageDescription"],
        "kept for audit"
    );
    let result: serde_json::Value = serde_json::from_str(&out.read("result.json")).unwrap();
    assert_eq!(result["schema"], "ecmguard/apply/v1");
    assert_eq!(result["all_done"], true);
    assert_eq!(result["actions"][0]["outcome"], "done");
    assert!(result["actions"][0]["request_id"].as_str().is_some());
    assert!(
        result["plan_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(writes(&server), 3);

    let again = apply(&server, &plan, &[]).code(0);
    assert!(
        again
            .stdout
            .contains("Apply: 0 done, 3 already done, 0 skipped (stale), 0 failed."),
        "{}",
        again.stdout
    );
    assert_eq!(writes(&server), 3, "nothing is sent again");
}

#[test]
fn what_changed_since_the_plan_is_skipped_with_the_field_that_changed() {
    let server = server(|_| {});
    let plan = plan(
        &server.url(),
        &[
            (ActionKind::Delete, A),
            (ActionKind::Delete, B),
            (rename("new-c"), C),
        ],
    );
    let handle = server.handle().unwrap();
    handle.change(&Change::Rename {
        image: A.into(),
        name: "touched".into(),
    });
    handle.change(&Change::UseByModule { image: B.into() });
    // Another image takes the name the rename wanted.
    handle.change(&Change::Rename {
        image: "img-00000005".into(),
        name: "new-c".into(),
    });
    let out = apply(&server, &plan, &[]).code(1);
    assert!(
        out.stdout.contains(
            "skipped (stale) (ImageName changed since the plan: \"app-1\" -> \"touched\")"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("img-00000002: skipped (stale) (now in use (module: "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("the name \"new-c\" is now taken by img-00000005"),
        "{}",
        out.stdout
    );
    assert_eq!(writes(&server), 0);
    assert!(image(&server, A).is_some() && image(&server, B).is_some());
}

#[test]
fn the_service_s_in_use_refusal_is_a_skip() {
    // The image is put in use between the usage re-check and the delete.
    let server = server(|c| {
        c.faults = FaultScript::new(vec![
            FaultRule::once(Fault::Change {
                change: Change::UseByInstance { image: A.into() },
            })
            .for_action("DescribeModule"),
        ])
    });
    let plan = plan(&server.url(), &[(ActionKind::Delete, A)]);
    let out = apply(&server, &plan, &[]).code(1);
    assert!(
        out.stdout
            .contains("skipped (in use) (the service refused: the image is in use"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(
        "Apply: 0 done, 0 already done, 0 skipped (stale), 1 skipped (in use), 0 failed."
    ));
    assert!(image(&server, A).is_some());
}

#[test]
fn a_permission_denial_stops_that_kind_and_only_that_kind() {
    let server = server(|c| {
        c.faults = FaultScript::new(vec![
            deletes_forbidden(),
            // B is re-read side by side with A: its usage read answers late, so its
            // delete is not sent before A's refusal is known.
            later_usage_reads_late(500),
        ])
    });
    let plan = plan(
        &server.url(),
        &[
            (ActionKind::Delete, A),
            (ActionKind::Delete, B),
            (rename("renamed-c"), C),
        ],
    );
    let out = apply(&server, &plan, &["-o", "result.json"]).code(3);
    assert!(out.stdout.contains("img-00000001: failed (UnauthorizedOperation.ForbiddenOperation: no ecm:DeleteImage; RequestId "), "{}", out.stdout);
    assert!(out.stdout.contains("img-00000002: not attempted (not attempted: DeleteImage was refused (UnauthorizedOperation.ForbiddenOperation)"), "{}", out.stdout);
    assert!(out.stdout.contains("img-00000004 -> \"renamed-c\": done"));
    let log = server.log();
    assert_eq!(
        log.iter().filter(|e| e.action == DELETE_IMAGE).count(),
        1,
        "never retried, never repeated"
    );
    let result: serde_json::Value = serde_json::from_str(&out.read("result.json")).unwrap();
    assert_eq!(
        result["actions"][0]["code"],
        "UnauthorizedOperation.ForbiddenOperation"
    );
    assert_eq!(result["actions"][1]["outcome"], "not_attempted");
}

#[test]
fn a_lost_answer_is_re_read_before_anything_is_sent_again() {
    // The delete is done, but its answer comes after the client gave up waiting.
    let server = server(|c| {
        c.faults = FaultScript::new(vec![
            FaultRule::once(Fault::Delay { ms: 2500 }).for_action(DELETE_IMAGE),
        ])
    });
    let plan = plan(&server.url(), &[(ActionKind::Delete, A)]);
    let out = apply(&server, &plan, &["--timeout", "1s"]).code(0);
    assert!(
        out.stdout.contains("done (the answer was lost (no answer within the request timeout); a re-read shows the image no longer exists)"),
        "{}",
        out.stdout
    );
    let deletes = server
        .log()
        .iter()
        .filter(|e| e.action == DELETE_IMAGE)
        .count();
    assert_eq!(deletes, 1, "a timed-out delete is never sent blindly again");
}

#[test]
fn throttling_and_transient_errors_are_retried_within_the_budget() {
    let server = server(|c| {
        c.faults = FaultScript::new(vec![
            FaultRule::once(Fault::Throttle).for_action(MODIFY_IMAGE_ATTRIBUTE),
            FaultRule::once(Fault::InternalError).for_action(DELETE_IMAGE),
        ])
    });
    let plan = plan(
        &server.url(),
        &[(ActionKind::Delete, A), (rename("renamed-b"), B)],
    );
    let out = apply(&server, &plan, &[]).code(0);
    assert!(out.stdout.contains("Apply: 2 done"), "{}", out.stdout);
    let count = |action: &str| server.log().iter().filter(|e| e.action == action).count();
    assert_eq!(count(DELETE_IMAGE), 2, "re-read, then sent again");
    assert_eq!(count(MODIFY_IMAGE_ATTRIBUTE), 2);
}

#[test]
fn plans_that_cannot_be_trusted_are_refused_before_anything_is_done() {
    let server = server(|_| {});
    let good = plan(&server.url(), &[(ActionKind::Delete, A)]);

    let edited = String::from_utf8(plan_file(&good)).unwrap().replace(A, B);
    apply_bytes(&server, edited.as_bytes(), &[])
        .code(2)
        .stderr_has("plan-edited");

    let mut expired = good.clone();
    expired.expires_at = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    apply(&server, &expired, &[])
        .code(2)
        .stderr_has("plan-expired");

    let mut elsewhere = good.clone();
    elsewhere.endpoint = Some("https://ecm.example.invalid".into());
    apply(&server, &elsewhere, &[])
        .code(2)
        .stderr_has("plan-target");

    let mut foreign = good.clone();
    foreign.account = Some("0123456789abcdef".into());
    apply(&server, &foreign, &[])
        .code(2)
        .stderr_has("plan-target");

    apply(&server, &good, &["--filter", "image-type=PRIVATE_IMAGE"])
        .code(2)
        .stderr_has("--filter does not apply");
    apply(&server, &good, &["--output", "plan.json"])
        .code(2)
        .stderr_has("is the plan file");

    assert_eq!(writes(&server), 0);
    assert!(image(&server, A).is_some());
}

/// The API sends fields as `null` (`TaskId`, `SrcImage`, `IsSupportCloudInit`…) that the
/// plan, written from the image model, leaves out: null and absent are the same value there.
/// Made by `ecmguard plan` itself (not a hand-written plan), a delete of such an image is
/// done, not skipped as if the image had changed.
#[test]
fn a_field_sent_as_null_is_not_a_change_since_the_plan() {
    let mut images = ecm_emulator::generate_images(12);
    let target = images
        .iter()
        .position(|i| i["ImageType"] == "PRIVATE_IMAGE")
        .expect("a private image");
    let id = images[target]["ImageId"].as_str().expect("id").to_owned();
    for key in [
        "TaskId",
        "SrcImage",
        "IsSupportCloudInit",
        "ImageDescription",
    ] {
        images[target][key] = serde_json::Value::Null;
    }
    let server = Server::start(images, |_| {});
    let url = server.url();
    let policy = format!(
        "rules:\n  - id: doomed\n    title: doomed\n    where: {{ ImageId: [{id}] }}\n    assert: {{ ImageState: RETIRED }}\n    fix: delete\n"
    );
    let planned = with_credentials(Test::new().policy(&policy))
        .args(&["plan", "--endpoint", &url, "--now", NOW, "--format", "json"])
        .run();
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    assert!(planned.stdout.contains(&id), "{}", planned.stdout);
    let applied = apply_bytes(&server, planned.stdout.as_bytes(), &[]);
    assert!(
        applied.stdout.contains(&format!("delete {id}: done")),
        "{}\n{}",
        applied.stdout,
        applied.stderr
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert!(image(&server, &id).is_none(), "the image was deleted");
}
