//! Test support: a fluent builder that runs the real binary in a temporary
//! directory, and helpers that compile policies and evaluate in-process.

mod isolation;

use std::path::{Path, PathBuf};
use std::process::Command;

use ecmguard::diag::Diag;
use ecmguard::eval::Status;
use ecmguard::eval::{EvalOptions, evaluate};
use ecmguard::image::{Image, ImageSet};
use ecmguard::policy::{self, CompileOptions, Loaded};
use ecmguard::source_text::SourceFile;
use ecmguard::time::ApiZone;
use tempfile::TempDir;

/// The fixed clock of every test.
pub const NOW: &str = "2026-01-01T00:00:00+08:00";

pub fn now() -> jiff::Timestamp {
    NOW.parse().expect("valid NOW")
}

/// Path of a file in `tests/fixtures/tencent/`: Tencent Cloud reference data kept in the
/// repository (its README says where each file comes from).
/// A pseudo-terminal: (the master side the test reads, the terminal side
/// given to the binary as its stdout or stderr).
pub fn pseudo_terminal() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use rustix::fs::{Mode, OFlags};
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pseudo-terminal");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let terminal = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY,
        Mode::empty(),
    )
    .expect("open the terminal");
    (master, terminal)
}

pub fn tencent_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tencent")
        .join(name)
}

/// How long a run may take before it is taken for a hang and killed: far
/// above any run of the suite (the slowest take seconds in a debug build on
/// a loaded machine), so it never fails a slow run, only a stuck one. The
/// work of hostile inputs is bounded by the tool itself (the parser's
/// budgets, size caps), which the tests check; how fast is for benchmarks.
pub const HANG_DEADLINE: std::time::Duration = std::time::Duration::from_secs(600);

/// What a run of the binary keeps of the environment of the test process:
/// what any process needs to run, and to be measured or debugged. Nothing
/// else: a developer's `ECMGUARD_HISTORY` (which the README tells users to
/// export) would record fixture runs into their real history, their
/// `TENCENTCLOUD_*` credentials, token or credentials file would be used,
/// `ECMGUARD_PARAM_*` would change policies, `CLICOLOR_FORCE`, `COLUMNS`,
/// `GITHUB_ACTIONS` and `HOME` would change what is printed or read.
const KEPT_ENVIRONMENT: &[&str] = &[
    "PATH",
    "TMPDIR",
    "LANG",
    "LLVM_PROFILE_FILE",
    "RUST_BACKTRACE",
    "RUST_LIB_BACKTRACE",
];

/// The `ecmguard` binary with an environment of [`KEPT_ENVIRONMENT`] only:
/// a test names every variable a run should see.
pub fn ecmguard_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecmguard"));
    command.env_clear();
    for key in KEPT_ENVIRONMENT {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    command
}

/// A run of the `ecmguard` binary in a fresh directory.
pub struct Test {
    dir: TempDir,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Kept so files the run wrote can be read afterwards.
    dir: TempDir,
}

impl Test {
    pub fn new() -> Self {
        Self {
            dir: TempDir::new().expect("temp dir"),
            args: Vec::new(),
            stdin: None,
            env: Vec::new(),
        }
    }

    /// The directory the run will happen in (to plant files before it).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file relative to the test directory.
    pub fn file(self, path: &str, contents: impl AsRef<[u8]>) -> Self {
        let full = self.dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(full, contents).expect("write");
        self
    }

    /// `policies/main.yaml` (the default --policy directory).
    pub fn policy(self, yaml: &str) -> Self {
        self.file("policies/main.yaml", yaml)
    }

    /// `images.json`: the images as one complete listing (tccli's output of
    /// one page, whose `TotalCount` is the number of distinct ImageIds), as
    /// the tests that give images mean them: the whole account.
    pub fn images(self, images: serde_json::Value) -> Self {
        let listing = match &images {
            serde_json::Value::Array(list) => {
                let distinct: std::collections::HashSet<&str> = list
                    .iter()
                    .filter_map(|image| image.get("ImageId")?.as_str())
                    .collect();
                serde_json::json!({
                    "TotalCount": distinct.len(),
                    "ImageSet": images,
                    "RequestId": "6bf23a6f-0be1-48df-b5f6-6cd131e8cdb5",
                })
            }
            _ => images,
        };
        self.file(
            "images.json",
            serde_json::to_vec_pretty(&listing).expect("json"),
        )
    }

    /// `images.json`: a bare JSON array of images, which states no total.
    pub fn image_array(self, images: serde_json::Value) -> Self {
        self.file(
            "images.json",
            serde_json::to_vec_pretty(&images).expect("json"),
        )
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// An environment variable whose value need not be UTF-8.
    pub fn env_os(mut self, key: &str, value: std::ffi::OsString) -> Self {
        self.env.push((key.into(), value));
        self
    }

    /// `check --snapshot images.json --now NOW` plus the given args.
    pub fn check(self, extra: &[&str]) -> Self {
        let mut args = vec!["check", "--snapshot", "images.json", "--now", NOW];
        args.extend_from_slice(extra);
        self.args(&args)
    }

    pub fn run(self) -> Output {
        use std::io::Write;
        use std::process::Stdio;
        let mut command = ecmguard_command();
        command
            .args(&self.args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn ecmguard");
        if let (Some(bytes), Some(mut input)) = (&self.stdin, child.stdin.take()) {
            let _ = input.write_all(bytes);
        }
        let output = wait_or_kill(child, &self.args);
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            dir: self.dir,
        }
    }
}

/// The child's output, or a failure naming `args` when it is still running
/// after [`HANG_DEADLINE`] (it is killed then).
#[track_caller]
pub fn wait_or_kill(child: std::process::Child, args: &[String]) -> std::process::Output {
    use rustix::process::{Pid, Signal, kill_process};
    let pid = Pid::from_child(&child);
    let (finished, watch) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let hung = watch.recv_timeout(HANG_DEADLINE).is_err();
        if hung {
            let _ = kill_process(pid, Signal::KILL);
        }
        hung
    });
    let output = child.wait_with_output().expect("wait for ecmguard");
    let _ = finished.send(());
    let hung = watchdog.join().unwrap_or(false);
    assert!(
        !hung,
        "ecmguard {args:?} was still running after {HANG_DEADLINE:?} and was killed (a hang?)"
    );
    output
}

impl Output {
    #[track_caller]
    pub fn code(self, expected: i32) -> Self {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n--- stdout\n{}",
            self.stdout
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }

    /// The directory the run ran in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A file the run wrote, relative to its directory.
    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(path))
            .unwrap_or_else(|e| panic!("reading {path}: {e}"))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).expect("stdout is JSON")
    }
}

/// Rendered diagnostics' text: each line's frame (`×`, `│`) and every space
/// removed, the lines joined, so a needle can be found however it was
/// wrapped (Chinese text breaks between characters, where no space is lost).
pub fn unframed(shown: &str) -> String {
    shown
        .lines()
        .map(|line| line.trim_start().trim_start_matches(['×', '│']))
        .collect::<String>()
        .replace(' ', "")
}

pub fn options() -> CompileOptions {
    CompileOptions {
        now: now(),
        zone: ApiZone::default(),
        params: Vec::new(),
    }
}

/// Compile one policy text in-process.
pub fn compile(yaml: &str) -> Result<Loaded, Vec<Diag>> {
    policy::compile(vec![SourceFile::new("p.yaml", yaml)], &options())
}

/// The located diagnostics of a policy that must fail to load.
pub fn diagnostics(yaml: &str) -> Vec<Diag> {
    match compile(yaml) {
        Ok(loaded) => panic!(
            "expected the policy to fail, got {} rules and warnings {:?}",
            loaded.policy.rules.len(),
            loaded.warnings
        ),
        Err(problems) => problems,
    }
}

/// Evaluate a policy on images in-process, at [`NOW`], without baseline,
/// selection or history: the policy, the image set and the evaluation.
pub fn evaluated(
    yaml: &str,
    images: serde_json::Value,
) -> (
    ecmguard::policy::PolicySet,
    ImageSet,
    ecmguard::eval::Evaluation,
) {
    let loaded =
        compile(yaml).unwrap_or_else(|problems| panic!("policy does not load: {problems:?}"));
    let images: Vec<Image> = serde_json::from_value(images).expect("images");
    let set = ImageSet::new(images, &ApiZone::default());
    let evaluation = evaluate_at_now(&loaded.policy, &set);
    (loaded.policy, set, evaluation)
}

/// Evaluate at [`NOW`], without baseline, selection or history.
fn evaluate_at_now(
    policy: &ecmguard::policy::PolicySet,
    set: &ImageSet,
) -> ecmguard::eval::Evaluation {
    evaluate(
        policy,
        set,
        EvalOptions {
            now: now(),
            baseline: None,
            selection: None,
            history: None,
        },
    )
}

/// Evaluate a loaded policy on an image set already built (with its usage, say):
/// `(rule id, image id, status, message)` of every finding.
pub fn findings_in(
    loaded: &Loaded,
    set: &ImageSet,
) -> Vec<(String, Option<String>, Status, String)> {
    evaluate_at_now(&loaded.policy, set)
        .findings
        .iter()
        .map(|f| {
            (
                loaded.policy.rules[f.rule].id.clone(),
                f.image
                    .and_then(|i| set.images()[i].id().map(str::to_owned)),
                f.status,
                f.message.to_string(),
            )
        })
        .collect()
}

/// Evaluate a policy on images in-process: `(rule id, image id, status)`.
pub fn findings(yaml: &str, images: serde_json::Value) -> Vec<(String, Option<String>, Status)> {
    let (policy, set, evaluation) = evaluated(yaml, images);
    evaluation
        .findings
        .iter()
        .map(|f| {
            (
                policy.rules[f.rule].id.clone(),
                f.image
                    .and_then(|i| set.images()[i].id().map(str::to_owned)),
                f.status,
            )
        })
        .collect()
}
