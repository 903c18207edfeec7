//! The CI examples in `examples/ci/` are valid YAML and wire the reports the
//! way their README says.

use serde_json::Value;

fn load(name: &str) -> (String, Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ci")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("example exists");
    let value: Value = serde_saphyr::from_str(&text).expect("valid YAML");
    (text, value)
}

#[test]
fn github_workflow_gates_uploads_sarif_and_writes_the_summary() {
    let (_, workflow) = load("github-actions.yml");
    assert_eq!(workflow["permissions"]["security-events"], "write");
    let steps = workflow["jobs"]["gate"]["steps"].as_array().expect("steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let check = runs
        .iter()
        .find(|r| r.contains("ecmguard check"))
        .expect("a check step");
    for flag in [
        "--format github",
        "--report markdown=\"$GITHUB_STEP_SUMMARY\"",
        "--report sarif=ecmguard.sarif",
    ] {
        assert!(check.contains(flag), "{flag}");
    }
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("an upload-sarif step");
    assert_eq!(upload["with"]["sarif_file"], "ecmguard.sarif");
    // The last step fails the job with the gate's exit code.
    let last = steps
        .last()
        .and_then(|s| s["run"].as_str())
        .unwrap_or_default();
    assert!(last.contains("steps.check.outputs.exit_code"), "{last}");
}

#[test]
fn gitlab_job_publishes_junit() {
    let (_, pipeline) = load("gitlab-ci.yml");
    let job = &pipeline["ecmguard"];
    assert_eq!(job["artifacts"]["reports"]["junit"], "ecmguard-junit.xml");
    assert_eq!(job["artifacts"]["when"], "always");
    let script = job["script"][0].as_str().expect("script");
    assert!(
        script.contains("ecmguard check") && script.contains("--report junit=ecmguard-junit.xml"),
        "{script}"
    );
}

/// Both templates build ecmguard once per tag and restore it from the CI cache afterwards,
/// from a repository the user names in a CI variable: no placeholder URL to forget, no
/// build on every run.
#[test]
fn ecmguard_is_built_once_per_tag_from_a_named_repository() {
    for name in ["github-actions.yml", "gitlab-ci.yml"] {
        let (text, _) = load(name);
        for placeholder in ["your-org", "example.com", "example.org"] {
            assert!(!text.contains(placeholder), "{name}: {placeholder}");
        }
        assert!(text.contains("if [ -z \"$ECMGUARD_GIT\" ]"), "{name}");
    }

    let (_, workflow) = load("github-actions.yml");
    assert_eq!(workflow["env"]["ECMGUARD_GIT"], "${{ vars.ECMGUARD_GIT }}");
    let steps = workflow["jobs"]["gate"]["steps"].as_array().expect("steps");
    let cache = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache@"))
        })
        .expect("a cache step");
    assert_eq!(cache["with"]["path"], "~/.ecmguard");
    let key = cache["with"]["key"].as_str().expect("cache key");
    assert!(key.contains("env.ECMGUARD_TAG"), "{key}");
    let install = steps
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("cargo install"))
        })
        .expect("an install step");
    let condition = install["if"].as_str().expect("install is conditional");
    assert!(
        condition.contains(&format!(
            "steps.{}.outputs.cache-hit",
            cache["id"].as_str().expect("cache id")
        )),
        "{condition}"
    );
    let run = install["run"].as_str().unwrap_or_default();
    assert!(
        run.contains("--root ~/.ecmguard --git \"$ECMGUARD_GIT\" --tag \"$ECMGUARD_TAG\""),
        "{run}"
    );

    let (_, pipeline) = load("gitlab-ci.yml");
    let job = &pipeline["ecmguard"];
    let key = job["cache"]["key"].as_str().expect("cache key");
    assert!(key.contains("$ECMGUARD_TAG"), "{key}");
    assert_eq!(job["cache"]["paths"][0], ".ecmguard/");
    let install = job["before_script"][0].as_str().expect("before_script");
    assert!(
        install.starts_with("if [ ! -x .ecmguard/bin/ecmguard ]; then"),
        "{install}"
    );
    assert!(install.contains("--root .ecmguard --git"), "{install}");
}
