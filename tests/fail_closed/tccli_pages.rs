//! A listing saved with tccli, page by page, the ways users put the pages
//! together: `jq -s . page*.json` (an array of tccli outputs) and `cat
//! page*.json` (the outputs one after another). Both are the pages of one
//! listing, judged exactly as the live check of the same account; a page set
//! that does not add up is no verdict (exit 3), and a mixed array is a
//! located error (exit 2).

use serde::Serialize;
use serde_json::{Value, json};

use crate::live_cli::{Server, with_credentials};
use crate::support::{NOW, Output, Test, unframed};

/// The shipped policy pack, which reads many fields.
/// The shipped pack's `--policy` arguments without its usage rule: pages saved with tccli hold
/// the images alone (DescribeImage), so a rule that reads `Usage.*` could not judge them.
fn policies() -> Vec<String> {
    ["hygiene.yaml", "lifecycle.yaml", "platform.yaml"]
        .iter()
        .flat_map(|file| {
            [
                "--policy".to_owned(),
                format!("{}/policies/{file}", env!("CARGO_MANIFEST_DIR")),
            ]
        })
        .collect()
}

/// The example account's 17 images, as the API would send them.
fn account() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/snapshots/account.json"
    ))
    .expect("the example snapshot");
    let snapshot: Value = serde_json::from_str(&text).expect("JSON");
    snapshot["ImageSet"].as_array().cloned().expect("images")
}

/// What `tccli ecm DescribeImage --Offset N --Limit L` prints: the
/// `Response`'s members, indented by four spaces, not ASCII-escaped.
fn tccli_output(total: usize, images: &[Value], request: usize) -> String {
    let output = json!({
        "TotalCount": total,
        "ImageSet": images,
        "RequestId": format!("6bf23a6f-0be1-48df-b5f6-{request:012x}"),
    });
    let mut text = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut text,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    output.serialize(&mut serializer).expect("serialises");
    text.push(b'\n');
    String::from_utf8(text).expect("UTF-8")
}

/// Every page of `images` at `limit` per page.
fn pages(images: &[Value], limit: usize) -> Vec<String> {
    images
        .chunks(limit)
        .enumerate()
        .map(|(i, page)| tccli_output(images.len(), page, i))
        .collect()
}

/// `jq -s . page*.json`
fn slurped(pages: &[String]) -> String {
    let values: Vec<Value> = pages
        .iter()
        .map(|p| serde_json::from_str(p).expect("a page is JSON"))
        .collect();
    serde_json::to_string_pretty(&values).expect("serialises")
}

/// `cat page*.json`
fn concatenated(pages: &[String]) -> String {
    pages.concat()
}

fn check_file(text: &str, extra: &[&str]) -> Output {
    let policies = policies();
    let mut args = vec!["check", "--snapshot", "pages.json"];
    args.extend(policies.iter().map(String::as_str));
    args.extend(["--now", NOW]);
    args.extend_from_slice(extra);
    Test::new().file("pages.json", text).args(&args).run()
}

/// `check` of `source` by the shipped pack, as a JSON report.
fn json_check(test: Test, source: &[&str]) -> Output {
    let policies = policies();
    let mut args = vec!["check"];
    args.extend_from_slice(source);
    args.extend(policies.iter().map(String::as_str));
    args.extend(["--now", NOW, "--format", "json"]);
    test.args(&args).run()
}

/// What a check judged, whatever its source.
fn verdict(report: &Value) -> Value {
    json!({
        "summary": report["summary"],
        "findings": report["findings"],
        "rules": report["rules"],
        "warnings": report["warnings"],
        "exit_code": report["run"]["exit_code"],
    })
}

#[test]
fn pages_saved_with_tccli_are_judged_exactly_as_the_live_check() {
    let images = account();
    assert_eq!(images.len(), 17);
    let server = Server::start(images.clone(), |_| {});
    let url = server.url();
    let live = json_check(with_credentials(Test::new()), &["--endpoint", &url]).code(1);
    let live = verdict(&live.json());
    let saved = pages(&images, 5);
    assert_eq!(saved.len(), 4);
    for (how, text) in [("jq -s", slurped(&saved)), ("cat", concatenated(&saved))] {
        let out = check_file(&text, &["--format", "json"]).code(1);
        assert!(
            !out.stderr.contains("has no `ImageId`"),
            "{how}: not read as images: {}",
            out.stderr
        );
        let report = out.json();
        assert_eq!(report["run"]["source"]["shape"], "pages", "{how}");
        assert_eq!(report["run"]["source"]["assumed_complete"], false, "{how}");
        assert_eq!(verdict(&report), live, "{how}: judged as the live check");
        // Through stdin as well (`cat page*.json | ecmguard check --snapshot -`).
        let piped = json_check(Test::new().stdin(text.clone()), &["--snapshot", "-"]).code(1);
        assert_eq!(verdict(&piped.json()), live, "{how} on stdin");
    }
}

#[test]
fn a_page_set_that_does_not_add_up_is_no_verdict() {
    let images = account();
    let saved = pages(&images, 5);
    let mut missing = saved.clone();
    missing.remove(2);
    let mut twice = saved.clone();
    twice[2] = saved[1].clone();
    for (case, set) in [
        ("a page missing", missing),
        ("a page saved twice instead of another", twice),
    ] {
        for (how, text) in [("jq -s", slurped(&set)), ("cat", concatenated(&set))] {
            let out = check_file(&text, &[])
                .code(3)
                .stderr_has("ecmguard::snapshot-incomplete")
                .stderr_has("a page is missing")
                .stderr_has("ecmguard fetch -o FILE");
            assert!(out.stdout.is_empty(), "{case}, {how}: {}", out.stdout);
        }
    }
    // The listing moved between pages: two totals.
    let mut moved = saved.clone();
    moved[3] = tccli_output(18, &images[15..], 3);
    check_file(&concatenated(&moved), &[])
        .code(3)
        .stderr_has("document 4 says TotalCount 18, the pages before it 17");
    // A page that failed: tccli prints the error, jq -s keeps it.
    let mut failed: Vec<Value> = saved
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    failed[1] = json!({ "Error": { "Code": "RequestLimitExceeded", "Message": "请求的次数超过了频率限制。" }, "RequestId": "r" });
    let out = check_file(&serde_json::to_string(&failed).unwrap(), &[])
        .code(3)
        .stderr_has("ecmguard::snapshot-api-error");
    assert!(
        unframed(&out.stderr).contains(
            "page2holdsanAPIerrorinsteadofimages:RequestLimitExceeded:请求的次数超过了频率限制。"
        ),
        "{}",
        out.stderr
    );
    // The whole set of pages is complete on its own: --assume-complete adds nothing.
    check_file(&concatenated(&saved), &["--assume-complete"])
        .code(1)
        .stdout_has("ecmguard::assume-complete-unused");
}

#[test]
fn a_mixed_array_is_a_located_error() {
    let images = account();
    let saved = pages(&images[..4], 2);
    let mut elements: Vec<Value> = saved
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    elements.push(images[5].clone());
    let text = serde_json::to_string_pretty(&elements).unwrap();
    // The image's first key is on the line after the `{` that opens it, the
    // last element of the array.
    let lines: Vec<&str> = text.lines().collect();
    let line = lines
        .iter()
        .rposition(|l| *l == "  {")
        .map(|i| i + 2)
        .expect("the image is there");
    let out = check_file(&text, &[])
        .code(2)
        .stderr_has("ecmguard::snapshot-json")
        .stderr_has(&format!("pages.json:{line}:"))
        .stderr_has("element 3 is an image, but the elements before it are");
    assert!(out.stdout.is_empty());
}
