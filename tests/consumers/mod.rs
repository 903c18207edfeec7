//! The report formats read by their real consumers (docs/reports.md, "Checking the
//! formats"): the official SARIF validator (`sarif`), Python's junitparser (`junit`),
//! and headless Chromium for the HTML report and the `history --format html` page
//! (`html`, the screenshots read back by `screenshot`).
//!
//! The consumers are not Rust crates (they come from npm, PyPI and Debian), so these
//! tests are `#[ignore]`d in a plain `cargo test`. `.ci/run`, and
//! `scripts/check-reports.sh` by hand, install them and run
//! `cargo test --test integration consumers -- --include-ignored`. Run that way, a
//! test whose tool is missing fails and says how to install it: none passes without
//! its consumer.
//!
//! The tools are found through environment variables, with defaults on `PATH`:
//!
//! - `ECMGUARD_SARIF_MULTITOOL`: the `Sarif.Multitool` binary of
//!   `@microsoft/sarif-multitool` (default `sarif-multitool`, the npm wrapper);
//! - `ECMGUARD_PYTHON`: a Python that can `import junitparser` (default `python3`);
//! - `ECMGUARD_CHROMIUM`: Chromium (default `chromium`).
//!
//! `ECMGUARD_CONSUMERS_KEEP=DIR` copies the generated reports and the screenshots
//! into DIR, to look at them.
//!
//! Every input is made here by the ecmguard binary, with a fixed `--now`: the report
//! fixture (`tests/fixtures/reports/`), the shipped policies on the example account
//! (`examples/snapshots/account.json`), and a history of ten runs of that account.

mod html;
mod junit;
mod sarif;
mod screenshot;

use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// `--now` of the fixture runs: the fixture's ages and expiries assume it.
pub const NOW: &str = "2026-11-27T00:00:00+08:00";

/// The repository: the example data and policies, and the report fixture.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A tool named by `var`, or `default` on `PATH`; missing, the test fails with
/// `install`, the way to get it.
#[track_caller]
pub fn tool(var: &str, default: &str, install: &str) -> PathBuf {
    let on_path = |name: &Path| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    };
    let (found, missing) = match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(value) => {
            let named = PathBuf::from(value);
            let found = if named.components().count() > 1 {
                named.is_file().then(|| named.clone())
            } else {
                on_path(&named)
            };
            (
                found,
                format!("{var} names `{}`, which does not exist", named.display()),
            )
        }
        None => (
            on_path(Path::new(default)),
            format!("{var} is not set, and `{default}` is not on PATH"),
        ),
    };
    found.unwrap_or_else(|| {
        panic!(
            "{missing}. {install} `bash scripts/check-reports.sh` installs every consumer \
             and runs these tests."
        )
    })
}

/// What a tool printed, and how it ended.
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Both streams, for failure messages.
    pub fn log(&self) -> String {
        format!("--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr)
    }
}

/// Run a consumer with a time limit (a hung browser must not hang the suite): in
/// a process group of its own, killed whole when the time is up (a browser's
/// helpers with it). Its output goes to files, so a chatty tool never blocks on a
/// full pipe.
#[track_caller]
pub fn run(command: &mut Command, what: &str, limit: Duration) -> Ran {
    let logs = TempDir::new().expect("temp dir");
    let (out, err) = (logs.path().join("stdout"), logs.path().join("stderr"));
    let mut child = command
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(File::create(&out).expect("stdout file"))
        .stderr(File::create(&err).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("{what} does not start ({command:?}): {e}"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the consumer") {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |path: &Path| {
        String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
    };
    let ran = Ran {
        code: status.and_then(|s| s.code()),
        stdout: read(&out),
        stderr: read(&err),
    };
    assert!(
        status.is_some(),
        "{what} did not finish within {limit:?} and was killed\n{}",
        ran.log()
    );
    ran
}

/// `ecmguard` with these arguments in `dir`; nothing from the caller's
/// environment (`support::ecmguard_command`).
pub fn ecmguard<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> std::process::Output {
    crate::support::ecmguard_command()
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run ecmguard")
}

/// `ecmguard` must have exited with one of `codes`.
#[track_caller]
pub fn expect_code(output: &std::process::Output, codes: &[i32], what: &str) {
    let code = output.status.code().unwrap_or(-1);
    assert!(
        codes.contains(&code),
        "{what}: exit code {code}, expected one of {codes:?}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A temporary directory of generated reports.
pub struct Reports {
    dir: TempDir,
}

impl Reports {
    pub fn new() -> Self {
        Reports {
            dir: TempDir::new().expect("temp dir"),
        }
    }

    /// A file in it (written or to be written).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A scratch directory in it (a browser profile).
    pub fn scratch(&self, name: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(&path).expect("mkdir");
        path
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
    }

    /// Copy a file into `ECMGUARD_CONSUMERS_KEEP`, when that is set.
    pub fn keep(&self, name: &str) {
        if let Some(keep) = std::env::var_os("ECMGUARD_CONSUMERS_KEEP").filter(|v| !v.is_empty()) {
            let keep = PathBuf::from(keep);
            std::fs::create_dir_all(&keep).expect("create ECMGUARD_CONSUMERS_KEEP");
            std::fs::copy(self.path(name), keep.join(name))
                .unwrap_or_else(|e| panic!("keeping {name} in {}: {e}", keep.display()));
        }
    }

    /// The report fixture in every format from one run: `fixture.json` (the
    /// reference), `.sarif`, `.xml` (JUnit), `.html`, `.md`, `.csv`,
    /// `.github.txt`. It has violations: exit 1.
    pub fn fixture() -> Self {
        let reports = Reports::new();
        let report =
            |format: &str, name: &str| format!("{format}={}", reports.path(name).display());
        let output = ecmguard(
            &repo().join("tests/fixtures/reports"),
            &[
                "check".to_owned(),
                "--policy".into(),
                "policy.yaml".into(),
                "--snapshot".into(),
                "snapshot.json".into(),
                "--baseline".into(),
                "baseline.json".into(),
                "--now".into(),
                NOW.into(),
                "--format".into(),
                "json".into(),
                "--output".into(),
                reports.path("fixture.json").display().to_string(),
                "--report".into(),
                report("sarif", "fixture.sarif"),
                "--report".into(),
                report("junit", "fixture.xml"),
                "--report".into(),
                report("html", "fixture.html"),
                "--report".into(),
                report("markdown", "fixture.md"),
                "--report".into(),
                report("csv", "fixture.csv"),
                "--report".into(),
                report("github", "fixture.github.txt"),
            ],
        );
        expect_code(&output, &[1], "the report fixture (it has violations)");
        for name in [
            "fixture.json",
            "fixture.sarif",
            "fixture.xml",
            "fixture.html",
        ] {
            reports.keep(name);
        }
        reports
    }

    /// `first-seen.html`: the report fixture's HTML report from a check with
    /// `--history`, whose findings were first seen on 2026-10-01 (the second
    /// of two recorded runs), so the findings tables have a "First seen"
    /// column with dates and ages.
    pub fn fixture_with_history() -> Self {
        let reports = Reports::new();
        let history = reports.path("history.db").display().to_string();
        for (now, format, output) in [
            ("2026-10-01T00:00:00+08:00", "json", "first.json"),
            (NOW, "html", "first-seen.html"),
        ] {
            let output_path = reports.path(output).display().to_string();
            let output = ecmguard(
                &repo().join("tests/fixtures/reports"),
                &[
                    "check",
                    "--policy",
                    "policy.yaml",
                    "--snapshot",
                    "snapshot.json",
                    "--baseline",
                    "baseline.json",
                    "--history",
                    &history,
                    "--now",
                    now,
                    "--format",
                    format,
                    "--output",
                    &output_path,
                ],
            );
            expect_code(&output, &[1], &format!("the report fixture at {now}"));
        }
        reports.keep("first-seen.html");
        reports
    }

    /// The shipped policies on the example account as SARIF, `account.sarif`:
    /// real-world data for the validator. It has violations: exit 1.
    pub fn account_sarif() -> Self {
        let reports = Reports::new();
        let output = ecmguard(
            repo(),
            &[
                "check".to_owned(),
                "--snapshot".into(),
                "examples/snapshots/account.json".into(),
                "--now".into(),
                NOW.into(),
                "--format".into(),
                "sarif".into(),
                "--output".into(),
                reports.path("account.sarif").display().to_string(),
            ],
        );
        expect_code(&output, &[1], "the example account (it has violations)");
        reports.keep("account.sarif");
        reports
    }

    /// `history.html`: `ecmguard history --format html` over ten daily runs of the
    /// example account (shipped and example policies), its failed import fixed from
    /// the sixth day on.
    pub fn history_page() -> Self {
        let reports = Reports::new();
        let account = repo().join("examples/snapshots/account.json");
        let mut doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&account).expect("read the example account"))
                .expect("the example account is JSON");
        let images = match doc.get_mut("ImageSet") {
            Some(set) => set,
            None => &mut doc,
        };
        let mut fixed = 0;
        for image in images.as_array_mut().expect("an array of images") {
            if image["ImageState"] == "IMPORTFAILED" {
                image["ImageState"] = "NORMAL".into();
                fixed += 1;
            }
        }
        assert!(fixed > 0, "the example account has no failed import to fix");
        let fixed_path = reports.path("fixed.json");
        std::fs::write(&fixed_path, serde_json::to_vec(&doc).expect("JSON")).expect("write");

        let history = reports.path("history.db").display().to_string();
        for day in 1..=10 {
            let snapshot = if day > 5 {
                fixed_path.display().to_string()
            } else {
                account.display().to_string()
            };
            let output = ecmguard(
                repo(),
                &[
                    "check".to_owned(),
                    "--snapshot".into(),
                    snapshot,
                    "--policy".into(),
                    "policies".into(),
                    "--policy".into(),
                    "examples/policies".into(),
                    "--history".into(),
                    history.clone(),
                    "--now".into(),
                    format!("2026-11-{day:02}T00:00:00+08:00"),
                    "--format".into(),
                    "json".into(),
                ],
            );
            // Passed or failed, the run is recorded; 2 and above are errors.
            expect_code(&output, &[0, 1], &format!("the run of day {day}"));
        }
        let output = ecmguard(
            repo(),
            &[
                "history",
                "--history",
                &history,
                "--policy",
                "policies",
                "--policy",
                "examples/policies",
                "--now",
                "2026-11-10T12:00:00+08:00",
                "--format",
                "html",
            ],
        );
        expect_code(&output, &[0], "ecmguard history --format html");
        std::fs::write(reports.path("history.html"), &output.stdout).expect("write");
        reports.keep("history.html");
        reports
    }
}
