//! `--param NAME=VALUE` is text, never YAML: literal for a string or regex
//! param, parsed as the param's type otherwise.

use serde_json::json;

use crate::support::Test;

const NAMING: &str = r#"params:
  name_re: { default: '^[a-z]+$', description: Naming convention }
  min_size: { default: 20 }
  allowed_os: { default: [Ubuntu, CentOS] }
  cloud_init: { default: true }
rules:
  - id: naming
    title: Names follow the convention
    assert: { ImageName: { matches: "${name_re}" } }
  - id: size
    title: Disks are large enough
    assert: { ImageSize: { gte: "${min_size}" } }
  - id: os
    title: Approved OS
    assert: { Platform: "${allowed_os}" }
  - id: init
    title: Cloud-init
    assert: { IsSupportCloudInit: "${cloud_init}" }
"#;

fn images() -> serde_json::Value {
    json!([
        { "ImageId": "img-a", "ImageName": "web #x", "ImageSize": 50, "Platform": "Ubuntu", "IsSupportCloudInit": true },
        { "ImageId": "img-b", "ImageName": "web", "ImageSize": 50, "Platform": "Debian", "IsSupportCloudInit": true },
    ])
}

fn failing_rules(out: &crate::support::Output) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = out.json()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_owned(),
                f["image"]["ImageId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

/// `#` would start a YAML comment: the naming gate silently loosened to `^web`.
#[test]
fn a_string_param_keeps_hash_brackets_colons_quotes_and_spaces() {
    let out = Test::new()
        .policy(NAMING)
        .images(images())
        .check(&["--format", "json", "--param", "name_re=^web #x$"])
        .run();
    // Only img-a's name matches `^web #x$` literally; `^web` would pass both.
    assert_eq!(
        failing_rules(&out),
        [
            ("naming".to_owned(), "img-b".to_owned()),
            ("os".to_owned(), "img-b".to_owned())
        ]
    );
    // Each value, read as YAML or trimmed, would be another regex (or no
    // regex at all): `[a-z]+-v[0-9]+` a broken flow list, `a: b` a mapping,
    // `"quoted"` the word without its quotes, `  spaced  ` without its
    // spaces. One image's name matches the literal regex; the other's only
    // what a misreading would leave: only the first may pass the naming rule
    // (every other rule passes both).
    for (regex, matching, misread) in [
        ("[a-z]+-v[0-9]+", "web-v2", "web"),
        ("a: b", "xa: bx", "xax"),
        ("\"quoted\"", "x\"quoted\"x", "xquotedx"),
        ("  spaced  ", "x  spaced  x", "xspacedx"),
    ] {
        let images = json!([
            { "ImageId": "img-literal", "ImageName": matching, "ImageSize": 50, "Platform": "Ubuntu", "IsSupportCloudInit": true },
            { "ImageId": "img-misread", "ImageName": misread, "ImageSize": 50, "Platform": "Ubuntu", "IsSupportCloudInit": true },
        ]);
        let out = Test::new()
            .policy(NAMING)
            .images(images)
            .check(&["--format", "json", "--param", &format!("name_re={regex}")])
            .run()
            .code(1);
        assert_eq!(
            failing_rules(&out),
            [("naming".to_owned(), "img-misread".to_owned())],
            "{regex:?}"
        );
    }
}

#[test]
fn typed_params_parse_as_their_type_and_say_the_expected_form() {
    // An integer param.
    Test::new()
        .policy(NAMING)
        .images(images())
        .check(&["--param", "min_size=60", "--param", "name_re=.*"])
        .run()
        .code(1)
        .stdout_has("ImageSize is 50, expected at least 60");
    Test::new()
        .policy(NAMING)
        .images(images())
        .check(&["--param", "min_size=big"])
        .run()
        .code(2)
        .stderr_has("ecmguard::param-value-type")
        .stderr_has("--param min_size: `big` is not an integer")
        .stderr_has("e.g. --param min_size=50");
    // A boolean param.
    Test::new()
        .policy(NAMING)
        .images(images())
        .check(&["--param", "cloud_init=yes"])
        .run()
        .code(2)
        .stderr_has("is not true or false");
    // A list param: comma-separated, or a flow list; one item is a list of one.
    for value in [
        "Ubuntu,Debian",
        "[Ubuntu, Debian]",
        "[\"Ubuntu\", 'Debian']",
    ] {
        let out = Test::new()
            .policy(NAMING)
            .images(images())
            .check(&[
                "--format",
                "json",
                "--param",
                "name_re=.*",
                "--param",
                &format!("allowed_os={value}"),
            ])
            .run()
            .code(0);
        assert!(failing_rules(&out).is_empty(), "{value}");
    }
    let out = Test::new()
        .policy(NAMING)
        .images(images())
        .check(&[
            "--format",
            "json",
            "--param",
            "name_re=.*",
            "--param",
            "allowed_os=Debian",
        ])
        .run()
        .code(1);
    assert_eq!(failing_rules(&out), [("os".to_owned(), "img-a".to_owned())]);
}

/// A param without a default is typed where it is used.
#[test]
fn a_param_without_default_is_typed_by_its_use() {
    let policy = "params:\n  min: { description: no default }\n  pat: {}\nrules:\n  - id: r\n    title: T\n    assert: { ImageSize: { gte: \"${min}\" }, ImageName: { matches: \"${pat}\" } }\n";
    Test::new()
        .policy(policy)
        .images(images())
        .check(&["--param", "min=10", "--param", "pat=^web( #x)?$"])
        .run()
        .code(0);
    Test::new()
        .policy(policy)
        .images(images())
        .check(&["--param", "min=ten", "--param", "pat=x"])
        .run()
        .code(2)
        .stderr_has("`ten` is not an integer");
}
