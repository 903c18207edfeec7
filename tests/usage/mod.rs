//! Usage (docs/usage.md): the `Usage.*` paths in the policy language, and `check` reading
//! usage from the live API (the emulator's `DescribeInstances` and `DescribeModule`), with
//! every way it fails closed.

mod fields;
mod live;
mod module;
mod reports;
mod snapshot;

use ecm_emulator::{Instance, Module};

/// The usage of the sample images (`tests/fixtures/tencent/sample_images.json`) the tests
/// share: img-060ov1xz (private, 2019) runs on a running and a stopped instance,
/// img-9qabwvbn (public) on a running one, img-im4w1234 (private, 2024) is the default image
/// of a module, and a second module has none. The other private images are unused.
pub(crate) fn sample_usage() -> (Vec<Instance>, Vec<Module>) {
    let instance = |id: &str, state: &str, image: &str, module: Option<&str>| Instance {
        id: id.to_owned(),
        name: format!("node {id}"),
        state: state.to_owned(),
        image: Some(image.to_owned()),
        module: module.map(str::to_owned),
    };
    (
        vec![
            instance(
                "ein-bb0ab3pc",
                "RUNNING",
                "img-060ov1xz",
                Some("em-5wrpefy1"),
            ),
            instance(
                "ein-b6kee4dg",
                "STOPPED",
                "img-060ov1xz",
                Some("em-5wrpefy1"),
            ),
            instance("ein-pq3n0w8s", "RUNNING", "img-9qabwvbn", None),
        ],
        vec![
            Module {
                id: "em-5wrpefy1".to_owned(),
                name: "web".to_owned(),
                state: "NORMAL".to_owned(),
                default_image: Some("img-im4w1234".to_owned()),
            },
            Module {
                id: "em-n2e2345".to_owned(),
                name: "batch".to_owned(),
                state: "NORMAL".to_owned(),
                default_image: None,
            },
        ],
    )
}

/// The two rules of docs/usage.md.
pub(crate) const USAGE_RULES: &str = "rules:
  - id: unused-private-images-expire
    title: Unused private images are deleted after 90 days
    where: { ImageType: PRIVATE_IMAGE, Usage.InUse: false }
    assert: { ImageCreateTime: { newer_than: 90d } }
  - id: running-images-are-current
    title: No running instance uses an image older than a year
    where: { Usage.RunningInstances: { gt: 0 } }
    assert: { ImageCreateTime: { newer_than: 1y } }
    message: \"{ImageId} ({ImageName}) runs on {Usage.RunningInstances} instances and is older than a year\"
";
