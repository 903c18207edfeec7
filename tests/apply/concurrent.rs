//! Apply runs several images side by side (docs/remediation.md, "Side by side"): one image's
//! actions still go in the plan's order, one after the other; a slow image does not hold
//! up the others; lines come as actions complete while the result file keeps the plan's
//! order; and once a write action is refused for a permission, no new write of it is sent.

use ecm_emulator::{
    DELETE_IMAGE, DESCRIBE_IMAGE, DESCRIBE_INSTANCES, DESCRIBE_MODULE, Fault, FaultRule,
    FaultScript, LogEntry, MODIFY_IMAGE_ATTRIBUTE,
};
use ecmguard::plan::model::ActionKind;

use super::support::{A, B, C, apply, deletes_forbidden, later_usage_reads_late, plan, server};

/// Private images of the generated set besides A, B and C.
const D: &str = "img-00000005";
const E: &str = "img-00000007";

/// The position in the log of the first request matching `pick`.
fn first(log: &[LogEntry], pick: impl Fn(&LogEntry) -> bool) -> usize {
    log.iter()
        .position(pick)
        .expect("the request is in the log")
}

fn body_has(entry: &LogEntry, text: &str) -> bool {
    String::from_utf8_lossy(&entry.body).contains(text)
}

fn reads_image(entry: &LogEntry, id: &str) -> bool {
    entry.action == DESCRIBE_IMAGE
        && entry
            .filters
            .iter()
            .any(|(name, values)| name == "image-id" && values == &[id.to_owned()])
}

#[test]
fn a_slow_image_holds_up_no_other_and_one_image_s_actions_keep_the_plan_s_order() {
    // A's usage read (the first DescribeInstances) answers a second late.
    let server = server(|c| {
        c.faults = FaultScript::new(vec![
            FaultRule::once(Fault::Delay { ms: 1000 }).for_action(DESCRIBE_INSTANCES),
        ])
    });
    let plan = plan(
        &server.url(),
        &[
            (ActionKind::Delete, A),
            (
                ActionKind::Rename {
                    to: "renamed-c".into(),
                },
                C,
            ),
            (
                ActionKind::Describe {
                    to: "described-c".into(),
                },
                C,
            ),
            (ActionKind::Delete, B),
        ],
    );
    let out = apply(&server, &plan, &["-o", "result.json"]).code(0);
    let log = server.log();
    // B, later in the plan, is deleted while A is still being re-read.
    let delete_of = |id: &str| {
        first(&log, |e| {
            e.action == DELETE_IMAGE && body_has(e, &format!("\"{id}\""))
        })
    };
    assert!(delete_of(B) < delete_of(A), "B waited for A");
    // C's rename is sent, answered, and only then is C re-read for its description.
    let rename = first(&log, |e| {
        e.action == MODIFY_IMAGE_ATTRIBUTE && body_has(e, "renamed-c")
    });
    let description = first(&log, |e| {
        e.action == MODIFY_IMAGE_ATTRIBUTE && body_has(e, "described-c")
    });
    let second_read_of_c = log
        .iter()
        .enumerate()
        .filter(|(_, e)| reads_image(e, C))
        .map(|(i, _)| i)
        .nth(1)
        .expect("C is re-read for each of its actions");
    assert!(rename < second_read_of_c && second_read_of_c < description);
    // Lines as actions complete; the result file in the plan's order.
    let line_of = |id: &str| {
        out.stdout
            .find(&format!("delete {id}: done"))
            .expect("a line per action")
    };
    assert!(line_of(B) < line_of(A), "{}", out.stdout);
    let result: serde_json::Value = serde_json::from_str(&out.read("result.json")).unwrap();
    let order: Vec<(&str, &str)> = result["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap(),
                a["image_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [("delete", A), ("rename", C), ("describe", C), ("delete", B)]
    );
}

#[test]
fn once_a_write_action_is_refused_for_a_permission_no_new_write_of_it_is_sent() {
    // Every delete is refused. A's module read answers 0.4 s late, so the others (paced
    // 50 ms apart) have started their re-reads before A's delete is sent; every instance
    // read after A's answers 0.8 s late, so they are still re-reading, their deletes not
    // yet sent, when A's refusal comes.
    let server = server(|c| {
        c.faults = FaultScript::new(vec![
            deletes_forbidden(),
            FaultRule::once(Fault::Delay { ms: 400 }).for_action(DESCRIBE_MODULE),
            later_usage_reads_late(800),
        ])
    });
    let plan = plan(
        &server.url(),
        &[
            (ActionKind::Delete, A),
            (ActionKind::Delete, B),
            (ActionKind::Delete, D),
            (ActionKind::Delete, E),
            (
                ActionKind::Rename {
                    to: "renamed-c".into(),
                },
                C,
            ),
        ],
    );
    let out = apply(&server, &plan, &["-o", "result.json"]).code(3);
    let log = server.log();
    // The others were all under way before the refusal came back…
    let refused = first(&log, |e| e.action == DELETE_IMAGE);
    for id in [B, D, E] {
        assert!(
            first(&log, |e| reads_image(e, id)) < refused,
            "{id} had not started"
        );
    }
    // …and none of them sent its delete; the other write action went on.
    assert_eq!(
        log.iter().filter(|e| e.action == DELETE_IMAGE).count(),
        1,
        "{}",
        out.stdout
    );
    let result: serde_json::Value = serde_json::from_str(&out.read("result.json")).unwrap();
    let outcomes: Vec<&str> = result["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "failed",
            "not_attempted",
            "not_attempted",
            "not_attempted",
            "done"
        ]
    );
    assert!(
        out.stdout.contains("img-00000002: not attempted (not attempted: DeleteImage was refused (UnauthorizedOperation.ForbiddenOperation) for an earlier action"),
        "{}",
        out.stdout
    );
}
