//! Plans for apply tests, made through the library as `ecmguard plan` writes them (the
//! planner is not what is tested here): actions on the emulator's own images, for its
//! endpoint and account.

use ecm_emulator::DELETE_IMAGE;
use ecmguard::history::account::Fingerprint;
use ecmguard::image::{Image, ImageSet};
use ecmguard::plan::model::{Action, ActionKind, NotPlanned, Plan, SeenUsage};
use ecmguard::time::ApiZone;
use serde_json::Value;

use crate::live_cli::{Server, with_credentials};
use crate::support::{Output, Test};

/// Twelve generated images (private: indexes not divisible by 3) and no usage.
pub fn server(configure: impl FnOnce(&mut ecm_emulator::Config)) -> Server {
    Server::start(ecm_emulator::generate_images(12), configure)
}

/// The emulator's image of this id, as the plan saw it.
pub fn seen(images: &[Value], id: &str) -> serde_json::Map<String, Value> {
    images
        .iter()
        .find(|i| i["ImageId"] == id)
        .and_then(|i| i.as_object().cloned())
        .unwrap_or_else(|| panic!("no image {id}"))
}

/// A plan of these actions on the generated images, for `url`.
pub fn plan(url: &str, actions: &[(ActionKind, &str)]) -> Plan {
    let images = ecm_emulator::generate_images(12);
    let typed: Vec<Image> = images
        .iter()
        .map(|v| serde_json::from_value(v.clone()).expect("image"))
        .collect();
    let account = Fingerprint::of_images(&ImageSet::new(typed, &ApiZone::default())).to_stored();
    let now = jiff::Timestamp::now();
    Plan {
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: now,
        expires_at: now + jiff::SignedDuration::from_hours(24),
        evaluated_at: now,
        endpoint: Some(url.to_owned()),
        account,
        policy_digest: "sha256:0".to_owned(),
        selection: None,
        actions: actions
            .iter()
            .map(|(kind, id)| Action {
                kind: kind.clone(),
                image_id: (*id).to_owned(),
                rule: "test-rule".to_owned(),
                message: format!("{id} fails test-rule"),
                image: seen(&images, id),
                usage: Some(SeenUsage::default()),
            })
            .collect(),
        kept: Vec::new(),
        not_planned: NotPlanned::default(),
    }
}

/// The plan file's bytes.
pub fn plan_file(plan: &Plan) -> Vec<u8> {
    let mut bytes = Vec::new();
    ecmguard::plan::file::write(plan, &mut bytes).expect("plan serialises");
    bytes
}

/// `ecmguard apply plan.json --endpoint URL` with `extra` flags, in a directory holding
/// the plan.
pub fn apply(server: &Server, plan: &Plan, extra: &[&str]) -> Output {
    apply_bytes(server, &plan_file(plan), extra)
}

pub fn apply_bytes(server: &Server, plan: &[u8], extra: &[&str]) -> Output {
    let url = server.url();
    let mut args = vec!["apply", "plan.json", "--endpoint", url.as_str()];
    args.extend_from_slice(extra);
    with_credentials(Test::new().file("plan.json", plan).args(&args)).run()
}

/// How many write requests the emulator received.
pub fn writes(server: &Server) -> usize {
    server
        .log()
        .iter()
        .filter(|e| e.action == DELETE_IMAGE || e.action == ecm_emulator::MODIFY_IMAGE_ATTRIBUTE)
        .count()
}

/// Private images of the generated set.
pub const A: &str = "img-00000001";
pub const B: &str = "img-00000002";
pub const C: &str = "img-00000004";

/// Every `DeleteImage` refused for a missing permission.
pub fn deletes_forbidden() -> ecm_emulator::FaultRule {
    ecm_emulator::FaultRule::once(ecm_emulator::Fault::ApiError {
        code: "UnauthorizedOperation.ForbiddenOperation".into(),
        message: Some("no ecm:DeleteImage".into()),
    })
    .for_action(DELETE_IMAGE)
    .forever()
}

/// Every instance read after the first answers `ms` late: the images applied side by side
/// with the first are still re-reading (no write sent) while the first one's write is out.
pub fn later_usage_reads_late(ms: u64) -> ecm_emulator::FaultRule {
    ecm_emulator::FaultRule::once(ecm_emulator::Fault::Delay { ms })
        .for_action(ecm_emulator::DESCRIBE_INSTANCES)
        .after(1)
        .forever()
}
