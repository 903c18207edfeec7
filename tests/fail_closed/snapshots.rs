//! Nothing checked is not a pass, and a snapshot whose completeness cannot
//! be established is not judged (exit 3), nor one with images that cannot be
//! told apart (exit 2).

use serde_json::json;

use crate::live_cli::{Server, with_credentials};
use crate::support::{NOW, Test};

const STATE: &str =
    "rules:\n  - id: state\n    title: Images are NORMAL\n    assert: { ImageState: NORMAL }\n";

fn snapshot(text: &str) -> crate::support::Output {
    Test::new()
        .policy(STATE)
        .file("images.json", text)
        .check(&[])
        .run()
}

#[test]
fn an_empty_result_set_fails_unless_allowed() {
    for empty in [
        r#"{"Response":{"TotalCount":0,"ImageSet":[],"RequestId":"r"}}"#,
        r#"{"Response":{"TotalCount":0,"ImageSet":null,"RequestId":"r"}}"#,
        r#"{"schema":"ecmguard/snapshot/v1","total_count":0,"ImageSet":[]}"#,
        r#"{"TotalCount":0,"ImageSet":null,"RequestId":"r"}"#,
    ] {
        snapshot(empty)
            .code(1)
            .stderr_has("ecmguard::nothing-checked")
            .stderr_has("the snapshot images.json holds no image")
            .stdout_has("FAIL: 0 images checked");
        Test::new()
            .policy(STATE)
            .file("images.json", empty)
            .check(&["--allow-empty"])
            .run()
            .code(0)
            .stdout_has("PASS: 0 images checked");
    }
}

#[test]
fn a_snapshot_whose_completeness_is_unknown_is_not_judged() {
    for (case, text) in [
        ("an empty Response", r#"{"Response":{}}"#),
        (
            "no ImageSet",
            r#"{"Response":{"TotalCount":1,"RequestId":"r"}}"#,
        ),
        (
            "no TotalCount",
            r#"{"Response":{"ImageSet":[{"ImageId":"img-a","ImageState":"NORMAL"}]}}"#,
        ),
        (
            "a page without TotalCount",
            r#"[{"Response":{"TotalCount":1,"ImageSet":[{"ImageId":"img-a","ImageState":"NORMAL"}]}},{"Response":{"ImageSet":[]}}]"#,
        ),
        (
            "v1 without total_count",
            r#"{"schema":"ecmguard/snapshot/v1","ImageSet":[{"ImageId":"img-a","ImageState":"NORMAL"}]}"#,
        ),
        (
            "v1 with a null total_count",
            r#"{"schema":"ecmguard/snapshot/v1","total_count":null,"ImageSet":[{"ImageId":"img-a","ImageState":"NORMAL"}]}"#,
        ),
        (
            "tccli without TotalCount",
            r#"{"ImageSet":[{"ImageId":"img-a","ImageState":"NORMAL"}],"RequestId":"r"}"#,
        ),
    ] {
        let out = snapshot(text);
        assert_eq!(out.code, 3, "{case}: {}", out.stderr);
        assert!(
            out.stderr.contains("ecmguard::snapshot-incomplete"),
            "{case}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{case}: no verdict: {}", out.stdout);
    }
    // A total of the wrong type is malformed.
    snapshot(
        r#"{"schema":"ecmguard/snapshot/v1","total_count":"1","ImageSet":[{"ImageId":"img-a"}]}"#,
    )
    .code(2)
    .stderr_has("ecmguard::snapshot-json");
}

#[test]
fn an_error_in_any_shape_is_an_api_error() {
    for (case, error, shown) in [
        (
            "a string",
            r#""boom""#,
            "an `Error` without a code: \"boom\"",
        ),
        (
            "an empty code",
            r#"{"Code":"","Message":"m"}"#,
            "an `Error` without a code: m",
        ),
        (
            "an empty object",
            "{}",
            "an `Error` with no code or message",
        ),
        ("a numeric code", r#"{"Code":7,"Message":"m"}"#, "7: m"),
        (
            "a normal one",
            r#"{"Code":"AuthFailure","Message":"m"}"#,
            "AuthFailure: m",
        ),
    ] {
        let out = snapshot(&format!(
            r#"{{"Response":{{"Error":{error},"TotalCount":0,"ImageSet":[],"RequestId":"r"}}}}"#
        ));
        assert_eq!(out.code, 3, "{case}: {}", out.stderr);
        assert!(
            out.stderr.contains("ecmguard::snapshot-api-error"),
            "{case}"
        );
        assert!(out.stderr.contains(shown), "{case}: {}", out.stderr);
    }
}

#[test]
fn images_without_an_image_id_are_refused_not_counted() {
    let hundred: Vec<serde_json::Value> = (0..100)
        .map(|i| json!({ "ImageName": format!("n{i}"), "ImageState": "NORMAL" }))
        .collect();
    // The same 100 images on two pages: never "200 images".
    let pages = json!([
        { "Response": { "TotalCount": 200, "ImageSet": hundred, "RequestId": "a" } },
        { "Response": { "TotalCount": 200, "ImageSet": hundred, "RequestId": "b" } },
    ]);
    snapshot(&pages.to_string())
        .code(2)
        .stderr_has("ecmguard::snapshot-image-without-id")
        .stderr_has("image 1 of page 1 has no `ImageId`");
    snapshot(r#"[{"ImageId":"img-a","ImageState":"NORMAL"},{"ImageState":"NORMAL"}]"#)
        .code(2)
        .stderr_has("image 2 of the array of images has no `ImageId`");
}

#[test]
fn a_live_page_with_an_image_without_an_id_is_exit_3() {
    let hundred: Vec<serde_json::Value> = (0..100)
        .map(|i| json!({ "ImageName": format!("n{i}"), "ImageState": "NORMAL" }))
        .collect();
    let server = Server::start(hundred, |_| {});
    let url = server.url();
    let out = with_credentials(Test::new().policy(STATE))
        .args(&["check", "--endpoint", &url, "--now", NOW])
        .run()
        .code(3)
        .stderr_has("ecmguard::api-image-without-id");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    // Not retried: the answer would be the same.
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_filter_value_typo_is_refused_before_any_request() {
    let server = Server::start(
        vec![json!({ "ImageId": "img-a", "ImageType": "PRIVATE_IMAGE" })],
        |_| {},
    );
    let url = server.url();
    with_credentials(Test::new().policy(STATE))
        .args(&[
            "check",
            "--endpoint",
            &url,
            "--now",
            NOW,
            "--filter",
            "image-type=PRIVATE",
        ])
        .run()
        .code(2)
        .stderr_has("ecmguard::filter-value")
        .stderr_has("did you mean image-type=PRIVATE_IMAGE?");
    assert_eq!(server.requests(), 0);
}

#[test]
fn a_filter_that_matches_nothing_is_not_a_pass() {
    let server = Server::start(
        vec![json!({ "ImageId": "img-a", "ImageType": "PUBLIC_IMAGE", "ImageState": "NORMAL" })],
        |_| {},
    );
    let url = server.url();
    with_credentials(Test::new().policy(STATE))
        .args(&[
            "check",
            "--endpoint",
            &url,
            "--now",
            NOW,
            "--filter",
            "image-type=PRIVATE_IMAGE",
        ])
        .run()
        .code(1)
        .stderr_has("ecmguard::nothing-checked")
        .stderr_has("matched --filter")
        .stderr_has("image-type=PRIVATE_IMAGE; no rule was evaluated");
}

/// `tccli ecm DescribeImage --Limit 2 --Offset 11 --filter ImageSet`: two
/// images of an account of 17, as a bare array. It states no total, so it
/// cannot prove it is the account: no verdict, exit 3, with what to do.
fn two_of_seventeen() -> serde_json::Value {
    json!([
        { "ImageId": "img-k7pz3c1m", "ImageState": "NORMAL" },
        { "ImageId": "img-f0ld9e2r", "ImageState": "NORMAL" },
    ])
}

#[test]
fn a_bare_array_is_not_a_green_gate() {
    let out = Test::new()
        .policy(STATE)
        .image_array(two_of_seventeen())
        .check(&[])
        .run()
        .code(3)
        .stderr_has("ecmguard::snapshot-without-total")
        .stderr_has("a bare array of 2 images states no total")
        .stderr_has("--assume-complete");
    assert!(out.stdout.is_empty(), "no verdict: {}", out.stdout);
    // In every format: no report at all.
    let out = Test::new()
        .policy(STATE)
        .image_array(two_of_seventeen())
        .check(&["--format", "json", "--report", "sarif=r.sarif"])
        .run()
        .code(3);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(!out.dir().join("r.sarif").exists());
    // An empty array states no total either.
    Test::new()
        .policy(STATE)
        .image_array(json!([]))
        .check(&[])
        .run()
        .code(3)
        .stderr_has("ecmguard::snapshot-without-total");
}

/// With `--assume-complete` the array is judged, and every report says the
/// verdict rests on the user's word: the source, a warning, the history.
#[test]
fn an_assumed_completeness_shows_in_every_report_and_the_history() {
    let out = Test::new()
        .policy(STATE)
        .image_array(two_of_seventeen())
        .check(&[
            "--assume-complete",
            "--history",
            "h.db",
            "--report",
            "json=r.json",
            "--report",
            "sarif=r.sarif",
            "--report",
            "markdown=r.md",
            "--report",
            "html=r.html",
            "--report",
            "github=r.github",
            "--report",
            "junit=r.xml",
        ])
        .run()
        .code(0)
        .stdout_has(
            "PASS: 2 images checked (completeness assumed: --assume-complete) against 1 rule",
        )
        .stdout_has("ecmguard::snapshot-assumed-complete")
        .stdout_has("its 2 images were judged as the complete result set");
    let report: serde_json::Value = serde_json::from_str(&out.read("r.json")).unwrap();
    assert_eq!(report["run"]["source"]["assumed_complete"], true);
    assert_eq!(report["run"]["source"]["shape"], "image_array");
    assert_eq!(report["warnings"][0]["code"], "snapshot-assumed-complete");
    let sarif: serde_json::Value = serde_json::from_str(&out.read("r.sarif")).unwrap();
    let notes = &sarif["runs"][0]["invocations"][0]["toolConfigurationNotifications"];
    assert_eq!(
        notes[0]["descriptor"]["id"], "snapshot-assumed-complete",
        "{notes}"
    );
    for file in ["r.md", "r.html"] {
        let text = out.read(file);
        // (Markdown escapes the parentheses around it.)
        assert!(
            text.contains("completeness assumed: --assume-complete"),
            "{file}: the source says so"
        );
        assert!(
            text.contains("snapshot-assumed-complete"),
            "{file}: the warning"
        );
    }
    let github = out.read("r.github");
    assert!(
        github.contains("completeness assumed: --assume-complete"),
        "{github}"
    );
    let junit = out.read("r.xml");
    assert!(
        junit.contains("value=\"snapshot images.json (completeness assumed: --assume-complete)\""),
        "{junit}"
    );
    let history = Test::new()
        .args(&[
            "history",
            "--history",
            &out.dir().join("h.db").display().to_string(),
            "--format",
            "json",
            "--now",
            NOW,
        ])
        .run()
        .code(0)
        .json();
    assert_eq!(
        history["runs"][0]["source"], "snapshot-assumed-complete",
        "{history}"
    );
}

#[test]
fn assume_complete_goes_with_a_snapshot_and_never_waives_a_stated_total() {
    // Not with the live API.
    Test::new()
        .policy(STATE)
        .args(&["check", "--assume-complete", "--now", NOW])
        .run()
        .code(2)
        .stderr_has("--snapshot");
    // One page of a longer listing is still refused: its TotalCount says so.
    let page = json!({ "TotalCount": 17, "ImageSet": two_of_seventeen(), "RequestId": "r" });
    let out = snapshot_with(&page.to_string(), &["--assume-complete"])
        .code(3)
        .stderr_has("holds 2 distinct images but its TotalCount is 17");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    // On a complete listing it changes nothing, and says so.
    let whole = json!({ "TotalCount": 2, "ImageSet": two_of_seventeen(), "RequestId": "r" });
    let out = snapshot_with(
        &whole.to_string(),
        &["--assume-complete", "--format", "json"],
    )
    .code(0);
    let report = out.json();
    assert_eq!(report["run"]["source"]["assumed_complete"], false);
    assert_eq!(report["warnings"][0]["code"], "assume-complete-unused");
}

fn snapshot_with(text: &str, extra: &[&str]) -> crate::support::Output {
    Test::new()
        .policy(STATE)
        .file("images.json", text)
        .check(extra)
        .run()
}
