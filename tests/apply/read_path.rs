//! Nothing on the read path reaches a write action: by the module graph (only `apply` and
//! the `apply` command name the write client or the write actions) and by what the
//! emulator receives from `check` and `fetch`.

use std::path::Path;

use ecm_emulator::{DELETE_IMAGE, MODIFY_IMAGE_ATTRIBUTE};

use crate::live_cli::{Server, with_credentials};
use crate::support::{NOW, Test};

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path.display().to_string(), text));
        }
    }
}

#[test]
fn only_the_apply_modules_know_the_write_client_and_the_write_actions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    let allowed = |path: &str| {
        path.contains("/src/apply/")
            || path.ends_with("/src/app/apply.rs")
            // The library's module list and the binary's Ctrl-C handler (which only asks
            // `apply::stop` whether a cooperative stop is running).
            || path.ends_with("/src/lib.rs")
            || path.ends_with("/src/interrupt.rs")
            || path.ends_with("/src/app/mod.rs")
    };
    let mut offenders = Vec::new();
    for (path, text) in &files {
        if allowed(path) {
            continue;
        }
        // An import of the write client, or an action name as a string that could be sent
        // (doc comments may name the actions).
        for needle in [
            "crate::apply",
            "ecmguard::apply",
            "\"DeleteImage\"",
            "\"ModifyImageAttribute\"",
        ] {
            if text.contains(needle) {
                offenders.push(format!("{path}: {needle}"));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "the read path names a write: {offenders:#?}"
    );
}

#[test]
fn check_and_fetch_never_send_a_write_action() {
    let server = Server::start(ecm_emulator::generate_images(30), |_| {});
    let url = server.url();
    with_credentials(Test::new().policy(crate::live_cli::STATE))
        .check(&["--endpoint", &url, "--now", NOW, "--usage"])
        .run();
    with_credentials(Test::new())
        .args(&["fetch", "--endpoint", &url, "--usage", "-o", "snap.json"])
        .run()
        .code(0);
    let log = server.log();
    assert!(log.len() > 2, "the runs did read");
    assert!(
        log.iter()
            .all(|e| e.action != DELETE_IMAGE && e.action != MODIFY_IMAGE_ATTRIBUTE),
        "a read command sent a write"
    );
}
