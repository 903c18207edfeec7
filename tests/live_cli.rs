//! The live path through the binary: `check` and `fetch` against the
//! emulator on 127.0.0.1, the pre-deployment `--image` check, the run
//! section of the report, and that no secret reaches any output.

use ecm_emulator::{Config, DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, Emulator, FaultScript, Key};
use serde_json::{Value, json};

use crate::support::{NOW, Output, Test};

/// An emulator on its own runtime, alive as long as the value.
pub(crate) struct Server {
    emulator: Option<Emulator>,
    runtime: tokio::runtime::Runtime,
}

impl Server {
    pub(crate) fn start(images: Vec<Value>, configure: impl FnOnce(&mut Config)) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let mut config = Config::new(images);
        config.rate_limit = None;
        configure(&mut config);
        let emulator = runtime
            .block_on(Emulator::start(config))
            .expect("emulator starts");
        Server {
            emulator: Some(emulator),
            runtime,
        }
    }

    pub(crate) fn url(&self) -> String {
        self.emulator
            .as_ref()
            .map(Emulator::url)
            .unwrap_or_default()
    }

    pub(crate) fn requests(&self) -> u64 {
        self.emulator.as_ref().map_or(0, Emulator::request_count)
    }

    /// The emulator's data handle (to change its data between runs).
    pub(crate) fn handle(&self) -> Option<ecm_emulator::Handle> {
        self.emulator.as_ref().map(Emulator::handle)
    }

    /// Every request so far (with its action), in arrival order.
    pub(crate) fn log(&self) -> Vec<ecm_emulator::LogEntry> {
        self.emulator
            .as_ref()
            .map(Emulator::log)
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.runtime.block_on(emulator.shutdown());
        }
    }
}

/// One rule every sample image is judged by.
pub(crate) const STATE: &str =
    "rules:\n  - id: state\n    title: Images are NORMAL\n    assert: { ImageState: NORMAL }\n";

/// The sample images (`tests/fixtures/tencent/sample_images.json`).
pub(crate) fn sample() -> Vec<Value> {
    let text = std::fs::read_to_string(crate::support::tencent_fixture("sample_images.json"))
        .expect("sample images");
    let doc: Value = serde_json::from_str(&text).expect("json");
    doc["ImageSet"].as_array().cloned().unwrap_or_default()
}

pub(crate) fn with_credentials(test: Test) -> Test {
    test.env("TENCENTCLOUD_SECRET_ID", DEFAULT_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", DEFAULT_SECRET_KEY)
        .env("HOME", "/nonexistent")
}

fn live_check(server: &Server, extra: &[&str]) -> Output {
    let url = server.url();
    let mut args = vec!["check", "--endpoint", url.as_str(), "--now", NOW];
    args.extend_from_slice(extra);
    with_credentials(Test::new().policy(STATE))
        .args(&args)
        .run()
}

#[test]
fn check_over_the_api_gives_the_verdict_and_records_the_run() {
    let server = Server::start(sample(), |_| {});
    let out = live_check(
        &server,
        &["--format", "json", "--filter", "image-type=PRIVATE_IMAGE"],
    )
    .code(1);
    let report = out.json();
    let run = &report["run"];
    assert_eq!(run["source"]["kind"], "api");
    assert_eq!(run["endpoint"], server.url());
    assert_eq!(
        run["filters"],
        json!([{ "Name": "image-type", "Values": ["PRIVATE_IMAGE"] }])
    );
    assert_eq!(run["requests"], 1);
    assert_eq!(run["retries"], 0);
    assert_eq!(run["source"]["pages"], 1);
    assert!(run["duration_seconds"].as_f64().is_some());
    let failing: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["image"]["ImageId"].as_str())
        .collect();
    assert_eq!(failing, ["img-k7pz3c1m", "img-f0ld9e2r"]);
}

#[test]
fn the_pre_deployment_check_judges_one_image() {
    let server = Server::start(sample(), |_| {});
    live_check(&server, &["--image", "img-u22x64ls"])
        .code(0)
        .stdout_has("PASS: 1 image checked");
    live_check(&server, &["--image", "img-f0ld9e2r"])
        .code(1)
        .stdout_has("img-f0ld9e2r (legacy-app-import)");
    live_check(&server, &["--image", "img-zzzzzzzz"])
        .code(2)
        .stderr_has("no image img-zzzzzzzz");
}

#[test]
fn fetch_writes_each_image_exactly_as_received_and_checks_the_same() {
    let mut images = sample();
    images[0]["FutureField"] = json!({ "nested": [1, 2, 3] });
    let server = Server::start(images.clone(), |_| {});
    let url = server.url();
    let fetched = with_credentials(Test::new().policy(STATE))
        .args(&["fetch", "--endpoint", &url, "-o", "snap.json"])
        .run()
        .code(0);
    let snapshot: Value = serde_json::from_str(&fetched.read("snap.json")).unwrap();
    assert_eq!(snapshot["schema"], "ecmguard/snapshot/v1");
    assert_eq!(snapshot["total_count"], images.len());
    assert_eq!(
        snapshot["ImageSet"],
        json!(images),
        "images must be written exactly as the API sent them"
    );

    let offline = Test::new()
        .policy(STATE)
        .file("snap.json", fetched.read("snap.json"))
        .args(&[
            "check",
            "--snapshot",
            "snap.json",
            "--now",
            NOW,
            "--format",
            "json",
        ])
        .run()
        .code(1);
    let online = live_check(&server, &["--format", "json"]).code(1);
    assert_eq!(offline.json()["findings"], online.json()["findings"]);
}

#[test]
fn a_failed_fetch_leaves_no_file_and_exits_3() {
    // A never-retried error keeps this fast; retried faults that do not clear
    // are covered with a short retry budget in the library tests (live::faults).
    let faults = FaultScript::parse(r#"{"faults": [{"forever": true, "fault": {"kind": "api_error", "code": "UnauthorizedOperation.ForbiddenOperation"}}]}"#).expect("script");
    let server = Server::start(sample(), |c| c.faults = faults);
    let url = server.url();
    let out = with_credentials(Test::new())
        .args(&["fetch", "--endpoint", &url, "-o", "snap.json"])
        .run()
        .code(3)
        .stderr_has("UnauthorizedOperation.ForbiddenOperation");
    assert!(
        std::fs::metadata(out_path(&out, "snap.json")).is_err(),
        "no snapshot may be left behind"
    );
    assert!(
        std::fs::metadata(out_path(&out, "snap.partial")).is_err(),
        "no partial file may be left behind"
    );
    let check = live_check(&server, &["--format", "json"]).code(3);
    assert!(
        check.stdout.is_empty(),
        "no verdict on incomplete data: {}",
        check.stdout
    );
}

fn out_path(out: &Output, name: &str) -> std::path::PathBuf {
    out.dir().join(name)
}

#[test]
fn invalid_filters_are_refused_before_any_request() {
    let server = Server::start(sample(), |_| {});
    live_check(&server, &["--filter", "image-colour=red"])
        .code(2)
        .stderr_has("image-colour");
    live_check(&server, &["--filter", "image-name=a,b"]).code(2);
    let many: Vec<String> = (0..11).map(|i| format!("image-id=img-{i:08}")).collect();
    let mut args = Vec::new();
    for filter in &many {
        args.extend(["--filter", filter.as_str()]);
    }
    live_check(&server, &args).code(2);
    assert_eq!(server.requests(), 0);
}

#[test]
fn no_secret_appears_in_any_output() {
    const KEY: &str = "SeCrEtKeY-0123456789-do-not-print";
    const TOKEN: &str = "ToKeN-abcdef-do-not-print";
    let server = Server::start(sample(), |c| {
        c.keys = vec![Key::new(DEFAULT_SECRET_ID, KEY).with_token(TOKEN)]
    });
    let url = server.url();
    let wrong = Server::start(sample(), |c| {
        c.keys = vec![Key::new(DEFAULT_SECRET_ID, "another-key")]
    });
    let wrong_url = wrong.url();
    let formats = [
        "human", "json", "sarif", "junit", "markdown", "html", "csv", "github",
    ];
    // Each run with the exit code it must have and the files it must write:
    // a run that failed early, or wrote nothing, would print no secret
    // without proving anything.
    let mut runs: Vec<(Vec<String>, i32, &[&str])> = Vec::new();
    for (endpoint, check_code, fetch_code, written) in [
        (url.as_str(), 1, 0, &["r.json", "b.json"][..]),
        (wrong_url.as_str(), 3, 3, &[][..]),
        // Refused before any request: plain http to a host that is not loopback.
        ("http://example.com", 2, 2, &[][..]),
    ] {
        for format in formats {
            runs.push((
                vec![
                    "check".into(),
                    "--endpoint".into(),
                    endpoint.into(),
                    "--format".into(),
                    format.into(),
                    "--report".into(),
                    "json=r.json".into(),
                    "--write-baseline".into(),
                    "b.json".into(),
                ],
                check_code,
                written,
            ));
        }
        // Into a file, and to stdout.
        for output in ["s.json", "-"] {
            let snapshot: &[&str] = if fetch_code == 0 && output != "-" {
                &["s.json"]
            } else {
                &[]
            };
            runs.push((
                vec![
                    "fetch".into(),
                    "--endpoint".into(),
                    endpoint.into(),
                    "-o".into(),
                    output.into(),
                ],
                fetch_code,
                snapshot,
            ));
        }
    }
    runs.push((vec!["validate".into()], 0, &[]));
    runs.push((
        vec!["rules".into(), "--format".into(), "json".into()],
        0,
        &[],
    ));
    for (args, code, written) in runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = Test::new()
            .policy(STATE)
            .env("TENCENTCLOUD_SECRET_ID", DEFAULT_SECRET_ID)
            .env("TENCENTCLOUD_SECRET_KEY", KEY)
            .env("TENCENTCLOUD_TOKEN", TOKEN)
            .env("HOME", "/nonexistent")
            .args(&args)
            .run();
        assert_eq!(out.code, code, "{args:?}\n{}", out.stderr);
        let mut everything = format!("{}{}", out.stdout, out.stderr);
        for file in written {
            let text = std::fs::read_to_string(out_path(&out, file))
                .unwrap_or_else(|e| panic!("{args:?} wrote no {file}: {e}"));
            assert!(text.contains("img-"), "{args:?}: {file} lists no image");
            everything.push_str(&text);
        }
        if args.last() == Some(&"-") && code == 0 {
            assert!(
                out.stdout.contains("ImageSet"),
                "{args:?}: no snapshot on stdout"
            );
        }
        for secret in [KEY, TOKEN] {
            assert!(
                !everything.contains(secret),
                "{args:?} printed a secret:\n{everything}"
            );
        }
    }
}

/// On a terminal the progress bar draws from its own thread. Holding the
/// stderr lock for the whole run once deadlocked it; this runs the binary with
/// stderr on a real pseudo-terminal and bounds the time it may take.
#[test]
fn the_progress_bar_on_a_terminal_neither_hangs_nor_lingers() {
    use std::io::Read;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let (master, slave) = crate::support::pseudo_terminal();

    let server = Server::start(ecm_emulator::generate_images(450), |_| {});
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    let failing = "rules:\n  - id: huge\n    title: Images are huge\n    assert: { ImageSize: { gt: 100000 } }\n";
    std::fs::write(dir.path().join("policies/main.yaml"), failing).unwrap();
    let started = Instant::now();
    let mut child = crate::support::ecmguard_command()
        .args([
            "check",
            "--endpoint",
            &server.url(),
            "--rate",
            "4",
            "--format",
            "json",
            "--now",
            NOW,
        ])
        .current_dir(dir.path())
        .env("TENCENTCLOUD_SECRET_ID", DEFAULT_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", DEFAULT_SECRET_KEY)
        .env("HOME", "/nonexistent")
        // The terminal type a bar is drawn for (the harness passes none on).
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(slave))
        .spawn()
        .expect("spawn");
    // Drain the terminal so the child never blocks on a full buffer.
    let reader = std::thread::spawn(move || {
        let mut file = std::fs::File::from(master);
        let mut seen = Vec::new();
        let _ = file.read_to_end(&mut seen);
        seen
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > crate::support::HANG_DEADLINE {
            let _ = child.kill();
            panic!("ecmguard hung with its stderr on a terminal");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(1));
    let seen = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    assert!(
        seen.contains("fetching images"),
        "the bar was drawn: {seen:?}"
    );
    let bar_end = seen.rfind("fetching images").unwrap_or(0);
    let gate = seen.find("gate-failed").unwrap_or(0);
    assert!(
        gate > bar_end,
        "the bar is cleared before the verdict is written: {seen:?}"
    );
}
