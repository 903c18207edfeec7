//! default < param files (in order) < environment < `--param`: each pair,
//! as `rules` reports it (value and source) and as a check evaluates it.

use serde_json::json;

use super::{failing, param, project};

fn rules_json(test: crate::support::Test, extra: &[&str]) -> crate::support::Output {
    let mut args = vec!["rules", "--format", "json"];
    args.extend_from_slice(extra);
    test.args(&args).run().code(0)
}

#[test]
fn without_any_input_the_default_is_in_force() {
    let out = rules_json(project(), &[]);
    assert_eq!(
        param(&out, "min_size"),
        ("20".to_owned(), json!({"kind": "default"}))
    );
    assert_eq!(out.json()["params"][0]["from_command_line"], json!(false));
}

#[test]
fn a_param_file_overrides_the_default() {
    let test = || project().file("vars.yaml", "# production\nmin_size: 60\n");
    let out = rules_json(test(), &["--param-file", "vars.yaml"]);
    assert_eq!(
        param(&out, "min_size"),
        (
            "60".to_owned(),
            json!({"kind": "param_file", "file": "vars.yaml", "line": 2})
        )
    );
    // And the check uses it: the 50 GB image is now too small.
    let out = test()
        .check(&["--format", "json", "--param-file", "vars.yaml"])
        .run()
        .code(1);
    assert_eq!(failing(&out), ["size"]);
    test()
        .check(&["--param-file", "vars.yaml"])
        .run()
        .code(1)
        .stdout_has("ImageSize is 50, expected at least 60");
}

#[test]
fn a_later_param_file_overrides_an_earlier_one() {
    let test = || {
        project()
            .file("a.yaml", "min_size: 30\nmax_age: 10d\n")
            .file("b.yaml", "min_size: 40\n")
    };
    let out = rules_json(
        test(),
        &["--param-file", "a.yaml", "--param-file", "b.yaml"],
    );
    assert_eq!(
        param(&out, "min_size"),
        (
            "40".to_owned(),
            json!({"kind": "param_file", "file": "b.yaml", "line": 1})
        )
    );
    // A name the later file does not set keeps the earlier file's value.
    assert_eq!(
        param(&out, "max_age"),
        (
            "10d".to_owned(),
            json!({"kind": "param_file", "file": "a.yaml", "line": 2})
        )
    );
    let out = rules_json(
        test(),
        &["--param-file", "b.yaml", "--param-file", "a.yaml"],
    );
    assert_eq!(param(&out, "min_size").0, "30");
}

#[test]
fn the_environment_overrides_param_files() {
    let out = rules_json(
        project()
            .file("vars.yaml", "min_size: 30\n")
            .env("ECMGUARD_PARAM_min_size", "45"),
        &["--param-file", "vars.yaml"],
    );
    assert_eq!(
        param(&out, "min_size"),
        (
            "45".to_owned(),
            json!({"kind": "env", "variable": "ECMGUARD_PARAM_min_size"})
        )
    );
}

#[test]
fn the_command_line_overrides_the_environment() {
    let out = rules_json(
        project().env("ECMGUARD_PARAM_min_size", "45"),
        &["--param", "min_size=55"],
    );
    assert_eq!(
        param(&out, "min_size"),
        ("55".to_owned(), json!({"kind": "command_line"}))
    );
    let entry = out.json()["params"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "min_size").cloned())
        .expect("min_size");
    assert_eq!(entry["from_command_line"], json!(true));
}

/// Every layer at once, each param from another one, in every listing
/// format, and evaluated with the values in force.
#[test]
fn each_param_comes_from_its_highest_source_in_every_listing() {
    let test = || {
        project()
            .file(
                "a.yaml",
                "min_size: 30\nmax_age: 10d\nallowed_os: [Debian]\n",
            )
            .file("b.yaml", "min_size: 35\n")
            .env("ECMGUARD_PARAM_allowed_os", "Ubuntu,Debian")
            .env("ECMGUARD_PARAM_min_size", "45")
    };
    let flags = [
        "--param-file",
        "a.yaml",
        "--param-file",
        "b.yaml",
        "--param",
        "min_size=55",
    ];
    let mut args = vec!["rules"];
    args.extend_from_slice(&flags);
    test()
        .args(&args)
        .run()
        .code(0)
        .stdout_has("min_size = 55 (from --param) — Smallest disk in GB")
        .stdout_has("max_age = 10d (from a.yaml:2)")
        .stdout_has("allowed_os = [\"Ubuntu\", \"Debian\"] (from ECMGUARD_PARAM_allowed_os)")
        .stdout_has("name_re = .* (default)");
    let mut args = vec!["rules", "--format", "markdown"];
    args.extend_from_slice(&flags);
    test()
        .args(&args)
        .run()
        .code(0)
        .stdout_has("| name | value | source | description |")
        .stdout_has("| `min_size` | `55` | --param | Smallest disk in GB |")
        .stdout_has("| `max_age` | `10d` | a.yaml:2 |")
        .stdout_has("| `allowed_os` | `[\"Ubuntu\", \"Debian\"]` | ECMGUARD_PARAM_allowed_os |")
        .stdout_has("| `name_re` | `.*` | default |");
    // 55 GB fails the 50 GB image; 10d fails its 30-day age; Ubuntu passes.
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(&flags);
    let out = test().check(&args).run().code(1);
    assert_eq!(failing(&out), ["age", "size"]);
}
