//! The project config file: found in the working directory or named by
//! `--config`, ignored with `--config none`, overridden by every flag, paths
//! relative to its directory, every mistake located, never a credential.

use serde_json::json;

use super::{POLICY, failing, images, param, project};
use crate::live_cli::{Server, with_credentials};
use crate::support::{NOW, Test};

/// The 50 GB image fails `size` at min_size 60.
const STRICT: &str = "min_size: 60\n";

#[test]
fn a_config_file_in_the_working_directory_sets_defaults_that_flags_override() {
    let test = || {
        project().file("vars.yaml", STRICT).file(
            "ecmguard.yaml",
            "fail_on: never\nparam_files: [vars.yaml]\n",
        )
    };
    // The param file makes `size` fail; fail_on: never keeps the gate green.
    let out = test().check(&["--format", "json"]).run().code(0);
    assert_eq!(failing(&out), ["size"]);
    assert_eq!(out.json()["run"]["fail_on"], "never");
    // --fail-on on the command line wins.
    test().check(&["--fail-on", "error"]).run().code(1);
    // --config none reads no config file: no param file, default fail_on.
    let out = test()
        .check(&["--format", "json", "--config", "none"])
        .run()
        .code(0);
    assert!(failing(&out).is_empty());
    assert_eq!(out.json()["run"]["fail_on"], "error");
}

#[test]
fn config_none_ignores_even_a_broken_file() {
    project()
        .file("ecmguard.yaml", "fail-on: [\n")
        .args(&["validate", "--config", "none"])
        .run()
        .code(0);
}

#[test]
fn each_flag_replaces_the_config_value() {
    // api_time_zone
    let test = || project().file("ecmguard.yaml", "api_time_zone: UTC\n");
    let out = test().check(&["--format", "json"]).run();
    assert_eq!(out.json()["run"]["time_zone"], "UTC");
    let out = test()
        .check(&["--format", "json", "--api-time-zone", "+09:00"])
        .run();
    assert_eq!(out.json()["run"]["time_zone"], "+09:00");

    // policy: the flag replaces the list, it does not add to it.
    let test = || {
        project()
            .file(
                "other/only.yaml",
                "rules:\n  - id: only\n    title: Only\n    assert: { ImageState: NORMAL }\n",
            )
            .file("ecmguard.yaml", "policy: [other]\n")
    };
    let out = test().args(&["rules", "--format", "json"]).run().code(0);
    assert_eq!(out.json()["rules"][0]["id"], "only");
    assert_eq!(out.json()["rules"].as_array().map(Vec::len), Some(1));
    let out = test()
        .args(&["rules", "--format", "json", "--policy", "policies"])
        .run()
        .code(0);
    assert_eq!(out.json()["rules"][0]["id"], "size");

    // param_files: --param-file replaces the config's list.
    let test = || {
        project()
            .file("a.yaml", "min_size: 30\nmax_age: 10d\n")
            .file("b.yaml", "min_size: 40\n")
            .file("ecmguard.yaml", "param_files: [a.yaml]\n")
    };
    let out = test().args(&["rules", "--format", "json"]).run().code(0);
    assert_eq!(param(&out, "max_age").0, "10d");
    let out = test()
        .args(&["rules", "--format", "json", "--param-file", "b.yaml"])
        .run()
        .code(0);
    assert_eq!(param(&out, "min_size").0, "40");
    assert_eq!(
        param(&out, "max_age"),
        ("180d".to_owned(), json!({"kind": "default"}))
    );

    // reports: --report replaces the config's reports.
    let test = || project().file("ecmguard.yaml", "reports: [json=out.json, csv=out.csv]\n");
    let out = test().check(&[]).run().code(0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out.read("out.json")).expect("json")["schema"],
        "ecmguard/report/v1"
    );
    assert!(out.dir().join("out.csv").exists());
    let out = test().check(&["--report", "sarif=out.sarif"]).run().code(0);
    assert!(out.dir().join("out.sarif").exists());
    assert!(!out.dir().join("out.json").exists());

    // baseline: the config's baseline marks the finding; --baseline replaces it.
    let test = || {
        project()
            .file("vars.yaml", STRICT)
            .file("ecmguard.yaml", "baseline: accepted.json\nparam_files: [vars.yaml]\n")
            .file(
                "accepted.json",
                r#"{"schema": "ecmguard/baseline/v1", "entries": [{"rule": "size", "image": "img-a"}]}"#,
            )
            .file("empty.json", r#"{"schema": "ecmguard/baseline/v1", "entries": []}"#)
    };
    test().check(&[]).run().code(0).stdout_has("baselined");
    test().check(&["--baseline", "empty.json"]).run().code(1);
}

/// `--config ci/ecmguard.yaml` means the same from any directory: its paths
/// are relative to its own directory.
#[test]
fn paths_in_the_config_file_are_relative_to_its_directory() {
    let test = Test::new()
        .images(images())
        .file("ci/rules/main.yaml", POLICY)
        .file("ci/vars.yaml", STRICT)
        .file(
            "ci/ecmguard.yaml",
            "policy: rules\nparam_files: [vars.yaml]\nreports: [json=out/report.json]\n",
        )
        .file("ci/out/.keep", "");
    let out = test
        .check(&["--config", "ci/ecmguard.yaml"])
        .run()
        .code(1)
        .stdout_has("ci/rules/main.yaml");
    let report: serde_json::Value =
        serde_json::from_str(&out.read("ci/out/report.json")).expect("report written in ci/out");
    assert_eq!(report["findings"][0]["rule"], "size");
    let out = Test::new()
        .file("ci/rules/main.yaml", POLICY)
        .file("ci/vars.yaml", STRICT)
        .file(
            "ci/ecmguard.yaml",
            "policy: rules\nparam_files: [vars.yaml]\n",
        )
        .args(&["rules", "--format", "json", "--config", "ci/ecmguard.yaml"])
        .run()
        .code(0);
    assert_eq!(
        param(&out, "min_size").1,
        json!({"kind": "param_file", "file": "ci/vars.yaml", "line": 1})
    );
}

/// The live keys: the config's endpoint is the one fetched from, unless
/// --endpoint names another.
#[test]
fn the_endpoint_comes_from_the_config_unless_the_flag_is_given() {
    let images = vec![json!({ "ImageId": "img-a", "ImageState": "NORMAL" })];
    let configured = Server::start(images.clone(), |_| {});
    let flagged = Server::start(images, |_| {});
    let test = || {
        with_credentials(Test::new())
            .policy(
                "rules:\n  - id: state\n    title: NORMAL\n    assert: { ImageState: NORMAL }\n",
            )
            .file(
                "ecmguard.yaml",
                format!("endpoint: {}\nrate: 5\ntimeout: 10s\n", configured.url()),
            )
    };
    test().args(&["check", "--now", NOW]).run().code(0);
    assert_eq!(configured.requests(), 1);
    let url = flagged.url();
    test()
        .args(&["check", "--now", NOW, "--endpoint", &url])
        .run()
        .code(0);
    assert_eq!(flagged.requests(), 1);
    assert_eq!(configured.requests(), 1);
    // fetch reads the same keys; and -o must not overwrite the config file.
    let out = test().args(&["fetch", "-o", "snapshot.json"]).run().code(0);
    assert_eq!(configured.requests(), 2);
    let snapshot: serde_json::Value =
        serde_json::from_str(&out.read("snapshot.json")).expect("snapshot");
    assert_eq!(snapshot["endpoint"], configured.url());
    let out = test()
        .args(&["fetch", "-o", "ecmguard.yaml"])
        .run()
        .code(2)
        .stderr_has("ecmguard::output-is-input")
        .stderr_has("the same file as the config file ecmguard.yaml");
    assert!(out.read("ecmguard.yaml").starts_with("endpoint: "));
    assert_eq!(configured.requests(), 2);
    // With --snapshot the live keys are simply not used.
    project()
        .file(
            "ecmguard.yaml",
            "endpoint: https://ecm.tencentcloudapi.com\nrate: 5\n",
        )
        .check(&[])
        .run()
        .code(0);
}

#[test]
fn every_mistake_is_located_with_its_code_and_reported_together() {
    let out = project()
        .file(
            "ecmguard.yaml",
            "fail-on: never\nfail_on: eror\npolicy: 5\nrate: 0\ntimeout: 30\nendpoint: http://example.com\nreports: [jsno=r.json]\napi_time_zone: Mars/Base\naccount: \"\"\n",
        )
        .check(&[])
        .run()
        .code(2);
    for expected in [
        "ecmguard::config-unknown-key",
        "unknown key `fail-on` in the config file",
        "[ecmguard.yaml:1:1]",
        "did you mean `fail_on`?",
        "ecmguard::config-value",
        "`fail_on`: `eror` is not a level",
        "[ecmguard.yaml:2:10]",
        "did you mean `error`?",
        "ecmguard::config-type",
        "`policy` must be a path or a list of paths, found an integer",
        "[ecmguard.yaml:3:9]",
        "`rate`: 0 is not a positive number",
        "[ecmguard.yaml:4:7]",
        "`timeout` must be a duration with a unit, found an integer",
        "[ecmguard.yaml:5:10]",
        "ecmguard::insecure-endpoint",
        "[ecmguard.yaml:6:11]",
        "`reports`: unknown format `jsno`",
        "did you mean `json`?",
        "[ecmguard.yaml:8:16]",
        "`account`: is empty",
    ] {
        assert!(
            out.stderr.contains(expected),
            "stderr lacks {expected:?}\n{}",
            out.stderr
        );
    }
    // Also with the flags' problems, in one run.
    project()
        .file("ecmguard.yaml", "polcy: x\n")
        .check(&["--param", "nonsense", "--api-time-zone", "Mars"])
        .run()
        .code(2)
        .stderr_has("did you mean `policy`?")
        .stderr_has("--param `nonsense` is not NAME=VALUE")
        .stderr_has("--api-time-zone:");
}

#[test]
fn a_missing_config_file_is_an_error_only_when_named() {
    project()
        .args(&["validate", "--config", "absent.yaml"])
        .run()
        .code(2)
        .stderr_has("ecmguard::file-read")
        .stderr_has("cannot read absent.yaml")
        .stderr_has("`--config none` reads none");
    project().args(&["validate"]).run().code(0);
}

const SECRET_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
const SECRET_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";

#[test]
fn credentials_are_refused_with_a_pointer_and_never_printed() {
    let sources = [
        "TENCENTCLOUD_SECRET_ID",
        "~/.tencentcloud/credentials",
        "--profile",
    ];
    for (text, at, pointers) in [
        (
            format!("fail_on: error\nsecret_key: {SECRET_KEY}\n"),
            "[ecmguard.yaml:2:1]",
            &sources[..],
        ),
        (
            format!("tencentcloud:\n  SecretId: \"{SECRET_ID}\"\n  token: x{SECRET_KEY}\n"),
            "[ecmguard.yaml:2:3]",
            &sources[..],
        ),
        (
            format!("account: {SECRET_ID}\n"),
            "[ecmguard.yaml:1:10]",
            &sources[..],
        ),
        (
            format!("history: postgres://ecm:{SECRET_KEY}@db.example.com/ecm\n"),
            "[ecmguard.yaml:1:10]",
            &["PGPASSWORD", "~/.pgpass"][..],
        ),
        // A file that does not parse is masked too.
        (
            format!("Password: {SECRET_KEY}\npolicy: [\n"),
            "[ecmguard.yaml:",
            &["ecmguard::yaml-syntax"][..],
        ),
    ] {
        let out = project()
            .file("ecmguard.yaml", &text)
            .check(&[])
            .run()
            .code(2);
        assert!(
            out.stderr.contains(at),
            "{text}: stderr lacks {at}\n{}",
            out.stderr
        );
        for pointer in pointers {
            assert!(
                out.stderr.contains(pointer),
                "{text}: stderr lacks {pointer}\n{}",
                out.stderr
            );
        }
        if !text.contains("policy: [") {
            assert!(
                out.stderr.contains("ecmguard::config-credential"),
                "{}",
                out.stderr
            );
        }
        for secret in [SECRET_KEY, SECRET_ID, "Gu5t9x", "AKIDz8"] {
            assert!(
                !out.stderr.contains(secret) && !out.stdout.contains(secret),
                "{text}: a secret was printed:\n{}",
                out.stderr
            );
        }
    }
}

#[test]
fn the_config_file_and_param_files_are_inputs_no_output_may_overwrite() {
    project()
        .file("ecmguard.yaml", "fail_on: error\n")
        .check(&["--report", "json=ecmguard.yaml"])
        .run()
        .code(2)
        .stderr_has("ecmguard::output-is-input")
        .stderr_has("the same file as the config file ecmguard.yaml");
    let out = project()
        .file("vars.yaml", STRICT)
        .check(&["--param-file", "vars.yaml", "--output", "./vars.yaml"])
        .run()
        .code(2)
        .stderr_has("the same file as a param file vars.yaml");
    assert_eq!(out.read("vars.yaml"), STRICT);
}

/// What `ecmguard init` will write is a working config file.
#[test]
fn the_starter_config_works_as_written() {
    let out = project()
        .file("ecmguard.yaml", ecmguard::config::starter_yaml())
        .check(&["--format", "json"])
        .run()
        .code(0);
    assert_eq!(out.json()["run"]["fail_on"], "error");
}

/// `test` runs the tests under the config's policy paths, with its param
/// files in force (a case's own `params:` overrides them).
#[test]
fn policy_tests_run_under_the_configured_policy_with_its_params() {
    let case = |name: &str, params: &str, expect: &str| {
        format!(
            "  - name: {name}\n    images:\n      - {{ ImageId: img-a, ImageSize: 50 }}\n{params}    expect: {expect}\n"
        )
    };
    let tests = format!(
        "now: 2026-01-01T00:00:00+08:00\nrules: [size]\ncases:\n{}{}",
        case(
            "the param file's limit applies",
            "",
            "[{ rule: size, image: img-a, status: violation }]"
        ),
        case(
            "a case's params override it",
            "    params: { min_size: 20 }\n",
            "[]"
        ),
    );
    Test::new()
        .file("pack/main.yaml", POLICY)
        .file("pack/main.test.yaml", tests)
        .file("params.yaml", STRICT)
        .file(
            "ecmguard.yaml",
            "policy: [pack]\nparam_files: [params.yaml]\n",
        )
        .args(&["test"])
        .run()
        .code(0)
        .stdout_has("ok    the param file's limit applies")
        .stdout_has("ok    a case's params override it")
        .stdout_has("policy-tests: 2 passed, 0 failed");
}

/// `history` and `account` in the config file serve `check --history`, and
/// `ecmguard history` and `history prune` read the same database without
/// flags, so a team writes the database's place once.
#[test]
fn the_config_history_serves_check_history_and_prune() {
    let test = project().file(
        "ecmguard.yaml",
        "history: db/history.sqlite\naccount: prod\napi_time_zone: UTC\n",
    );
    let dir = test.path().to_owned();
    std::fs::create_dir(dir.join("db")).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecmguard"))
            .args(args)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .env_remove("ECMGUARD_HISTORY")
            .output()
            .expect("run ecmguard");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, stderr) = run(&["check", "--snapshot", "images.json", "--now", NOW]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(dir.join("db/history.sqlite").is_file());
    let (code, stdout, stderr) = run(&["history", "--format", "json", "--now", NOW]);
    assert_eq!(code, Some(0), "{stderr}");
    let history: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let runs = history["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "{history}");
    assert_eq!(runs[0]["account"], "prod");
    // The flag still wins over the file.
    let (code, _, stderr) = run(&["history", "--history", "elsewhere.db", "--now", NOW]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("elsewhere.db"), "{stderr}");
    let (code, _, stderr) = run(&["history", "prune", "--older-than", "1d", "--now", NOW]);
    assert_eq!(code, Some(0), "{stderr}");
    // Without the file there is no database to read.
    let (code, _, stderr) = run(&["history", "--config", "none", "--now", NOW]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("needs --history DB"), "{stderr}");
}

/// Every file under `dir` but the config file itself, as text: where a
/// report or any other output could have put a secret.
fn written_files(dir: &std::path::Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.push_str(&written_files(&path));
        } else if path.file_name().is_some_and(|n| n != "ecmguard.yaml") {
            out.push_str(&String::from_utf8_lossy(
                &std::fs::read(&path).unwrap_or_default(),
            ));
        }
    }
    out
}

/// An attacker's view: a config file holding a known secret in each way a
/// diagnostic used to show one (in the message beside a masked snippet, as
/// an invalid value, in a URL the URL parser could not read, on the line
/// next to a YAML syntax error). The secret appears nowhere: not on stdout
/// or stderr, not in any file the run wrote.
#[test]
fn no_diagnostic_shows_a_secret_whatever_the_file_holds() {
    const PW: &str = "Zq7hunter2Pw";
    let cases = [
        // The endpoint's own message quoted the URL whole.
        format!("endpoint: https://ci:{PW}@ecm.example.com/\n"),
        // A SecretId as a value each key complains about.
        format!("fail_on: {SECRET_ID}\n"),
        format!("timeout: {SECRET_ID}\n"),
        format!("api_time_zone: {SECRET_ID}\n"),
        format!("reports: [{SECRET_ID}]\n"),
        format!("account: prod-{SECRET_ID}\n"),
        // URLs the URL parser refuses: libpq's multi-host list, a bad port.
        format!("history: postgres://ci:{PW}@db1:5432,db2:5432/ecm\n"),
        format!("history: postgres://ci:{PW}@db1:99999/ecm\n"),
        // A password as a query or connection-string parameter.
        format!("history: postgres://ci@db/ecm?sslmode=require&password={PW}\n"),
        format!("history: \"host=db sslpassword={PW} dbname=ecm\"\n"),
        // YAML syntax errors next to a secret, in every way one is written.
        format!("history: postgres://ci:{PW}@db/ecm\nrate: [\n"),
        format!("account: {SECRET_ID}\nrate: [\n"),
        format!("\"secret key\": {PW}\nrate: [\n"),
        format!("? token\n: {PW}\nrate: [\n"),
        format!("token:\n  {PW}\nrate: [\n"),
        format!("token: |\n  {PW}\nrate: [\n"),
        format!("# password: {PW}\nrate: [\n"),
        format!("endpoint: https://h/?x=1&password={PW}\nrate: [\n"),
    ];
    let mut shown = Vec::new();
    for text in &cases {
        let out = project()
            .file("ecmguard.yaml", text)
            .check(&["--report", "json=out/report.json"])
            .run()
            .code(2);
        let written = written_files(out.dir());
        let leaked = [PW, SECRET_ID, "hunter2", "AKIDz8"]
            .into_iter()
            .any(|secret| {
                out.stderr.contains(secret)
                    || out.stdout.contains(secret)
                    || written.contains(secret)
            });
        if leaked || !out.stderr.contains("[ecmguard.yaml:") {
            shown.push(format!("{text:?}:\n{}{}", out.stdout, out.stderr));
        }
    }
    assert!(
        shown.is_empty(),
        "{} of {} files had a secret shown (or no location):\n{}",
        shown.len(),
        cases.len(),
        shown.join("\n")
    );
}

/// A password in a history URL's query (`?password=`, `sslpassword=`) is
/// a password in the file, refused like one in the user info: it used to be
/// accepted and used to connect.
#[test]
fn a_password_parameter_in_the_history_url_is_refused() {
    for url in [
        "postgres://ci@db/ecm?password=s3cret",
        "postgresql://ci@db/ecm?sslmode=require&sslpassword=s3cret",
    ] {
        project()
            .file("ecmguard.yaml", format!("history: {url}\n"))
            .args(&["validate"])
            .run()
            .code(2)
            .stderr_has("ecmguard::config-credential")
            .stderr_has("a password parameter")
            .stderr_has("PGPASSWORD");
    }
    // A URL without one is a history like any other.
    project()
        .file(
            "ecmguard.yaml",
            "history: postgres://ci@db/ecm?sslmode=require\n",
        )
        .args(&["validate"])
        .run()
        .code(0);
}

/// `text` as the inside of a YAML double-quoted string: every character
/// outside printable ASCII as `\uXXXX`.
fn yaml_escaped(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c.to_string()
            } else {
                format!("\\u{:04X}", u32::from(c))
            }
        })
        .collect()
}

/// One rule for an account label wherever it is given: `--account` used to
/// take a bidirectional override or a zero-width character that `account:`
/// in the config file refused (and `ecmguard history` showed them raw). Now
/// both refuse control, bidirectional and invisible characters: the flag
/// with a flag diagnostic, the config key located in the file.
#[test]
fn an_account_label_is_checked_the_same_way_as_a_flag_and_in_the_config() {
    for (label, point, what) in [
        ("prod\u{202e}dab", "U+202E", "bidirectional"),
        ("prod\u{200b}", "U+200B", "invisible"),
        ("prod\u{7}", "U+0007", "control"),
    ] {
        project()
            .check(&["--history", "h.db", "--account", label])
            .run()
            .code(2)
            .stderr_has("ecmguard::invalid-argument")
            .stderr_has("--account must be 1 to 128 printable characters")
            .stderr_has(point)
            .stderr_has(what);
        let out = project()
            .file(
                "ecmguard.yaml",
                format!("history: h.db\naccount: \"{}\"\n", yaml_escaped(label)),
            )
            .check(&[])
            .run()
            .code(2)
            .stderr_has("ecmguard::config-value")
            .stderr_has("[ecmguard.yaml:2:10]")
            .stderr_has(point)
            .stderr_has(what);
        assert!(!out.dir().join("h.db").exists(), "nothing recorded");
    }
    // A plain label (surrounding spaces aside) is taken from either.
    project()
        .check(&["--history", "h.db", "--account", " prod-guangzhou "])
        .run()
        .code(0);
}
