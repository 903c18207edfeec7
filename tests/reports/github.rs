//! GitHub workflow commands: escaped exactly as the runner reads them, one
//! annotation per failing finding at its rule, capped per rule.

use ecmguard::report::DEFAULT_MAX_FINDINGS as MAX_PER_RULE;
use ecmguard::report::github::{escape_data, escape_property};

use super::support::{many_violations, render, render_in};

/// Undo GitHub's escaping (what the runner does when it reads a command).
fn unescape(text: &str) -> String {
    text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

struct Command {
    name: String,
    properties: Vec<(String, String)>,
    message: String,
}

/// Parse `::name k=v,k=v::message` the way the runner does.
fn parse(line: &str) -> Command {
    let rest = line.strip_prefix("::").expect("a workflow command");
    let (head, message) = rest.split_once("::").expect("`::` after the properties");
    let (name, props) = head.split_once(' ').unwrap_or((head, ""));
    let properties = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').expect("key=value");
            (k.to_owned(), unescape(v))
        })
        .collect();
    Command {
        name: name.to_owned(),
        properties,
        message: unescape(message),
    }
}

#[test]
fn escaping_follows_the_runner() {
    assert_eq!(escape_data("a%b\rc\nd"), "a%25b%0Dc%0Ad");
    assert_eq!(escape_data("::error::x, y: z"), "::error::x, y: z");
    assert_eq!(escape_property("a%b\rc\nd:e,f"), "a%25b%0Dc%0Ad%3Ae%2Cf");
    // `%` first, so an escape sequence in the data is not read as one.
    assert_eq!(escape_data("%0A"), "%250A");
    assert_eq!(
        unescape(&escape_property("100% :: a,b\r\n")),
        "100% :: a,b\r\n"
    );
    assert_eq!(escape_data("视频转码"), "视频转码");
}

#[test]
fn one_annotation_per_failing_finding_at_its_rule() {
    let (text, code) = render("github");
    assert_eq!(code, 1);
    let commands: Vec<Command> = text.lines().map(parse).collect();
    // Every line is a command: no raw newline from the data broke one.
    assert!(text.lines().all(|l| l.starts_with("::")), "{text}");
    // Finding annotations carry the rule's title; policy warnings are
    // annotated too, titled with their code.
    let annotations: Vec<&Command> = commands
        .iter()
        .filter(|c| c.properties.iter().any(|(k, _)| k == "file"))
        .filter(|c| {
            !c.properties
                .iter()
                .any(|(k, v)| k == "title" && v.starts_with("ecmguard::"))
        })
        .collect();
    let warnings: Vec<&Command> = commands
        .iter()
        .filter(|c| {
            c.properties
                .iter()
                .any(|(k, v)| k == "title" && v.starts_with("ecmguard::"))
        })
        .collect();
    assert_eq!(warnings.len(), 1, "the expired waiver: {text}");
    assert_eq!(warnings[0].name, "warning");
    assert!(warnings[0].message.contains("waiver expired on 2026-01-01"));
    // At the waiver in its file, so the annotation lands on that line.
    let property = |command: &Command, key: &str| {
        command
            .properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        property(warnings[0], "file").as_deref(),
        Some("policy.yaml")
    );
    assert!(property(warnings[0], "line").is_some_and(|l| l.parse::<usize>().is_ok_and(|n| n > 1)));
    assert_eq!(
        property(warnings[0], "title").as_deref(),
        Some("ecmguard::waiver-expired")
    );
    // 7 open findings of error rules, 8 of warning rules, 2 of the info rule.
    assert_eq!(annotations.iter().filter(|c| c.name == "error").count(), 7);
    assert_eq!(
        annotations.iter().filter(|c| c.name == "warning").count(),
        8
    );
    assert_eq!(annotations.iter().filter(|c| c.name == "notice").count(), 2);
    for annotation in &annotations {
        let get = |key: &str| {
            annotation
                .properties
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("file"), Some("policy.yaml"));
        assert!(get("line").is_some_and(|l| l.parse::<usize>().is_ok()));
        assert_eq!(get("col"), Some("5"));
    }
    let hostile = annotations
        .iter()
        .find(|c| c.message.starts_with("img-pct00001"))
        .expect("the % image is annotated");
    // The rule's message names the image itself (`{ImageId}`): no
    // `img-pct00001 (…): ` before it saying it twice.
    assert_eq!(
        hostile.message,
        "img-pct00001 is 100% too old :: rebuild 100% ::error::injected,%0A"
    );
    let title = hostile
        .properties
        .iter()
        .find(|(k, _)| k == "title")
        .map(|(_, v)| v.as_str());
    assert_eq!(
        title,
        Some(
            "private-image-max-age: Private images are rebuilt within 180 days | <b>\"fresh\"</b>, really"
        )
    );
    assert!(
        annotations
            .iter()
            .any(|c| c.message.contains("pipe|comma,quote\"name\nsecond line"))
    );
    // Waived and baselined are one summary notice; the verdict closes.
    assert!(
        commands
            .iter()
            .any(|c| c.name == "notice" && c.message.starts_with("2 waived and 2 baselined"))
    );
    let last = commands.last().expect("a verdict");
    assert_eq!(last.name, "notice");
    assert!(
        last.message.starts_with("FAIL: 15 images"),
        "{}",
        last.message
    );
}

#[test]
fn annotations_are_capped_per_rule() {
    let dir = many_violations(MAX_PER_RULE + 5);
    let text = render_in(dir.path(), "github");
    let commands: Vec<Command> = text.lines().map(parse).collect();
    assert_eq!(
        commands.iter().filter(|c| c.name == "error").count(),
        MAX_PER_RULE
    );
    let rest = commands
        .iter()
        .find(|c| c.message.starts_with("5 more findings"))
        .expect("a notice for the rest");
    assert_eq!(rest.name, "notice");
}

/// Expired and unused waivers are `::warning` annotations at the waiver's
/// line, so exceptions cannot rot silently in CI.
#[test]
fn waiver_warnings_are_annotations_at_their_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let policy = "rules:\n  - id: state\n    title: Images are NORMAL\n    assert: { ImageState: NORMAL }\nwaivers:\n  - rules: [state]\n    images: [img-gone]\n    reason: Nothing left to waive\n  - rules: [state]\n    images: [img-a]\n    reason: Old exception\n    expires: 2026-01-01\n";
    std::fs::write(dir.path().join("policy.yaml"), policy).expect("write policy");
    let images = serde_json::json!({"TotalCount": 1, "ImageSet": [{"ImageId": "img-a", "ImageState": "CREATING"}]});
    std::fs::write(dir.path().join("snapshot.json"), images.to_string()).expect("write images");
    let text = render_in(dir.path(), "github");
    let warnings: Vec<Command> = text
        .lines()
        .map(parse)
        .filter(|c| c.name == "warning")
        .collect();
    let at = |title: &str| {
        let command = warnings
            .iter()
            .find(|c| c.properties.iter().any(|(k, v)| k == "title" && v == title))
            .unwrap_or_else(|| panic!("no {title} annotation in {text}"));
        let get = |key: &str| {
            command
                .properties
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        (get("file"), get("line"))
    };
    // Each at the waiver's first line (`- rules: …`).
    assert_eq!(
        at("ecmguard::waiver-unused"),
        (Some("policy.yaml".to_owned()), Some("6".to_owned()))
    );
    assert_eq!(
        at("ecmguard::waiver-expired"),
        (Some("policy.yaml".to_owned()), Some("9".to_owned()))
    );
}
