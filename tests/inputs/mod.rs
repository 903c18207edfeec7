//! Terraform-style inputs through the binary: param files (`--param-file`),
//! `ECMGUARD_PARAM_<name>` variables, `--param`, and the project config file
//! (`ecmguard.yaml`, `--config`); their precedence, the sources `rules`
//! shows, and a located diagnostic with its code for every mistake.

mod config;
mod env;
mod help;
mod param_files;
mod precedence;
mod schema;

use serde_json::json;

use crate::support::{Output, Test};

/// Four params, one of each type, each used by one rule.
pub(crate) const POLICY: &str = r#"params:
  min_size: { default: 20, description: Smallest disk in GB }
  max_age: { default: 180d }
  allowed_os: { default: [Ubuntu] }
  name_re: { default: '.*' }
rules:
  - id: size
    title: Disks are large enough
    assert: { ImageSize: { gte: "${min_size}" } }
  - id: age
    title: Images are fresh
    assert: { ImageCreateTime: { newer_than: "${max_age}" } }
  - id: os
    title: Approved OS
    assert: { Platform: "${allowed_os}" }
  - id: naming
    title: Names follow the convention
    assert: { ImageName: { matches: "${name_re}" } }
"#;

/// One image that passes every rule at the defaults (50 GB, 30 days old).
pub(crate) fn images() -> serde_json::Value {
    json!([{
        "ImageId": "img-a",
        "ImageName": "web #x",
        "ImageSize": 50,
        "Platform": "Ubuntu",
        "ImageCreateTime": "2025-12-02 00:00:00"
    }])
}

/// [`images`] and `img-web`, named `web`: a `name_re` of `^web #x$` cut at
/// its `#` (a YAML comment) to `^web` passes it; whole, it fails it.
pub(crate) fn images_with_plain_web() -> serde_json::Value {
    let mut images = images();
    let mut plain = images[0].clone();
    plain["ImageId"] = json!("img-web");
    plain["ImageName"] = json!("web");
    images.as_array_mut().expect("an array").push(plain);
    images
}

/// `(rule, ImageId)` of the failing findings of a `check --format json` run.
pub(crate) fn failing_images(out: &Output) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = out.json()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let field = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            (field(&f["rule"]), field(&f["image"]["ImageId"]))
        })
        .collect();
    found.sort();
    found
}

/// A run in a directory holding [`POLICY`] and [`images`].
pub(crate) fn project() -> Test {
    Test::new().policy(POLICY).images(images())
}

/// `ecmguard rules --format json`: each param's value and source.
pub(crate) fn params_of(out: &Output) -> Vec<(String, String, serde_json::Value)> {
    out.json()["params"]
        .as_array()
        .expect("params")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_owned(),
                p["value"].as_str().unwrap_or_default().to_owned(),
                p["source"].clone(),
            )
        })
        .collect()
}

/// The value and source of one param in a `rules --format json` run.
#[track_caller]
pub(crate) fn param(out: &Output, name: &str) -> (String, serde_json::Value) {
    params_of(out)
        .into_iter()
        .find(|(n, _, _)| n == name)
        .map(|(_, value, source)| (value, source))
        .unwrap_or_else(|| panic!("no param {name} in {}", out.stdout))
}

/// The rule ids of the failing findings of a `check --format json` run.
pub(crate) fn failing(out: &Output) -> Vec<String> {
    let mut rules: Vec<String> = out.json()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or_default().to_owned())
        .collect();
    rules.sort();
    rules
}
