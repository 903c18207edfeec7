//! The history cases, each run against SQLite and against a real
//! PostgreSQL server (`both!`): first run, streaks, fix and regress, grace,
//! narrowed runs, accounts, concurrent writers, a run killed mid-write, a
//! newer schema, prune, and the secret search.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::db::{Db, check, day, day_seconds, findings, history, spawn_check, workdir};
use crate::support::Test;

const STATE: &str = "\
rules:
  - id: state
    title: Images are NORMAL
    assert: { ImageState: NORMAL }
";

const GRACE: &str = "\
rules:
  - id: state
    title: Images are NORMAL
    grace: 2d
    assert: { ImageState: NORMAL }
";

fn image(id: &str, state: &str) -> Value {
    json!({ "ImageId": id, "ImageName": format!("name of {id}"), "ImageState": state })
}

both!(
    first_run,
    streak_across_three_runs,
    fix_then_regress_starts_a_new_streak,
    grace_before_and_after,
    waivers_and_baselines_apply_before_grace,
    narrowed_runs_do_not_end_other_streaks,
    accounts_have_their_own_streaks,
    two_concurrent_writers_both_land,
    a_run_killed_mid_write_records_nothing,
    a_newer_schema_is_refused_untouched,
    prune_deletes_old_runs_and_keeps_open_streaks,
    no_secret_is_stored,
    database_text_is_escaped_in_every_history_format,
);

fn first_run(db: &Db) {
    let out = check(
        db,
        1,
        STATE,
        json!([image("img-a", "CREATING"), image("img-b", "NORMAL")]),
        &[],
    )
    .code(1);
    assert_eq!(
        findings(&out.json()),
        vec![(
            "state".into(),
            Some("img-a".into()),
            "violation".into(),
            day(1),
            0
        )]
    );
    let h = history(db, 1, &[]);
    assert_eq!(h["schema"], "ecmguard/history/v1");
    let runs = h["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["account"], "default");
    assert_eq!(runs[0]["images"], 2);
    assert_eq!(runs[0]["verdict"], "fail");
    assert_eq!(runs[0]["exit_code"], 1);
    assert_eq!(runs[0]["counts"]["violations"]["error"], 1);
    assert_eq!(runs[0]["time"], day(1));
    assert_eq!(h["open"][0]["image"], "img-a");
    assert_eq!(h["open"][0]["first_seen"], day(1));
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_findings"), 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_rule_counts"), 1);
}

fn streak_across_three_runs(db: &Db) {
    check(
        db,
        1,
        STATE,
        json!([image("img-a", "CREATING"), image("img-b", "NORMAL")]),
        &[],
    )
    .code(1);
    check(
        db,
        2,
        STATE,
        json!([image("img-a", "CREATING"), image("img-b", "IMPORTFAILED")]),
        &[],
    )
    .code(1);
    let out = check(
        db,
        3,
        STATE,
        json!([image("img-a", "CREATING"), image("img-b", "IMPORTFAILED")]),
        &[],
    )
    .code(1);
    assert_eq!(
        findings(&out.json()),
        vec![
            (
                "state".into(),
                Some("img-a".into()),
                "violation".into(),
                day(1),
                2 * 86_400
            ),
            (
                "state".into(),
                Some("img-b".into()),
                "violation".into(),
                day(2),
                86_400
            ),
        ]
    );
    let h = history(db, 3, &[]);
    let trend: Vec<i64> = h["rules"][0]["trend"]
        .as_array()
        .expect("trend")
        .iter()
        .map(|p| p["violations"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(trend, vec![1, 2, 2]);
    assert_eq!(h["open"][0]["open_for_seconds"], 2 * 86_400);
}

fn fix_then_regress_starts_a_new_streak(db: &Db) {
    check(db, 1, STATE, json!([image("img-a", "CREATING")]), &[]).code(1);
    check(db, 3, STATE, json!([image("img-a", "NORMAL")]), &[]).code(0);
    let out = check(db, 4, STATE, json!([image("img-a", "CREATING")]), &[]).code(1);
    assert_eq!(
        findings(&out.json())[0].3,
        day(4),
        "a regression is a new streak"
    );
    let h = history(db, 4, &[]);
    assert_eq!(h["time_to_fix"]["fixed"], 1);
    assert_eq!(h["time_to_fix"]["mean_seconds"], 2 * 86_400);
    assert_eq!(h["time_to_fix"]["worst_seconds"], 2 * 86_400);
    assert_eq!(h["rules"][0]["time_to_fix"]["fixed"], 1);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM ecmguard_fixes"),
        1,
        "one streak ended"
    );
}

fn grace_before_and_after(db: &Db) {
    let images = || json!([image("img-a", "CREATING")]);
    // New: within grace, reported, not failing.
    let first = check(db, 1, GRACE, images(), &[]).code(0);
    let report = first.json();
    assert_eq!(report["findings"][0]["status"], "grace");
    assert_eq!(report["findings"][0]["failing"], false);
    assert_eq!(report["findings"][0]["grace_ends"], day(3));
    assert_eq!(report["summary"]["grace"], 1);
    // One day old: still within 2d.
    check(db, 2, GRACE, images(), &[]).code(0);
    // Two days old: the grace period is over, it fails.
    let third = check(db, 3, GRACE, images(), &[]).code(1);
    let report = third.json();
    assert_eq!(report["findings"][0]["status"], "violation");
    assert_eq!(report["findings"][0]["first_seen"], day(1));
    // A new image on day 3 starts its own grace period.
    let out = check(
        db,
        3,
        GRACE,
        json!([image("img-a", "CREATING"), image("img-new", "CREATING")]),
        &[],
    )
    .code(1);
    let statuses: Vec<(Option<String>, String)> = findings(&out.json())
        .into_iter()
        .map(|f| (f.1, f.2))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (Some("img-a".into()), "violation".into()),
            (Some("img-new".into()), "grace".into())
        ]
    );
}

fn waivers_and_baselines_apply_before_grace(db: &Db) {
    let policy =
        format!("{GRACE}waivers:\n  - rules: [state]\n    images: [img-w]\n    reason: accepted\n");
    let baseline = json!({ "schema": "ecmguard/baseline/v1", "entries": [{ "rule": "state", "image": "img-b" }] });
    let history_arg = db.arg();
    let out = Test::new()
        .policy(&policy)
        .images(json!([
            image("img-w", "CREATING"),
            image("img-b", "CREATING"),
            image("img-g", "CREATING")
        ]))
        .file("baseline.json", baseline.to_string())
        .args(&[
            "check",
            "--snapshot",
            "images.json",
            "--now",
            &day(1),
            "--history",
            &history_arg,
            "--baseline",
            "baseline.json",
            "--format",
            "json",
        ])
        .run()
        .code(0);
    let statuses: Vec<String> = findings(&out.json()).into_iter().map(|f| f.2).collect();
    assert_eq!(statuses, vec!["waived", "baselined", "grace"]);
    // Set aside or not, every finding has its first-seen time.
    assert!(findings(&out.json()).iter().all(|f| f.3 == day(1)));
}

fn narrowed_runs_do_not_end_other_streaks(db: &Db) {
    check(
        db,
        1,
        STATE,
        json!([image("img-a", "CREATING"), image("img-b", "CREATING")]),
        &[],
    )
    .code(1);
    // A pre-deployment check of img-b alone, which is fixed: it ends img-b's
    // streak, and says nothing about img-a.
    check(
        db,
        2,
        STATE,
        json!([image("img-a", "CREATING"), image("img-b", "NORMAL")]),
        &["--image", "img-b"],
    )
    .code(0);
    // A snapshot fetched with a filter is a selection too: img-a is not in it.
    let filtered = json!({
        "schema": "ecmguard/snapshot/v1",
        "fetched_at": day(3),
        "endpoint": "https://ecm.tencentcloudapi.com",
        "filters": [{ "Name": "image-id", "Values": ["img-c"] }],
        "total_count": 1,
        "ImageSet": [image("img-c", "NORMAL")]
    });
    let history_arg = db.arg();
    Test::new()
        .policy(STATE)
        .file("snap.json", filtered.to_string())
        .args(&[
            "check",
            "--snapshot",
            "snap.json",
            "--now",
            &day(3),
            "--history",
            &history_arg,
        ])
        .run()
        .code(0);
    let out = check(
        db,
        4,
        STATE,
        json!([image("img-a", "CREATING"), image("img-b", "CREATING")]),
        &[],
    )
    .code(1);
    assert_eq!(
        findings(&out.json())
            .into_iter()
            .map(|f| (f.1, f.3))
            .collect::<Vec<_>>(),
        vec![
            (Some("img-a".into()), day(1)),
            (Some("img-b".into()), day(4))
        ]
    );
    let h = history(db, 4, &[]);
    let narrowed: Vec<bool> = h["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["narrowed"].as_bool().unwrap_or(false))
        .collect();
    assert_eq!(narrowed, vec![false, true, true, false]);
    assert_eq!(h["time_to_fix"]["fixed"], 1, "only img-b was fixed");
}

fn accounts_have_their_own_streaks(db: &Db) {
    check(
        db,
        1,
        STATE,
        json!([image("img-a", "CREATING")]),
        &["--account", "prod"],
    )
    .code(1);
    // Another account without the finding ends nothing of prod's.
    check(
        db,
        2,
        STATE,
        json!([image("img-a", "NORMAL")]),
        &["--account", "staging"],
    )
    .code(0);
    let out = check(
        db,
        3,
        STATE,
        json!([image("img-a", "CREATING")]),
        &["--account", "prod"],
    )
    .code(1);
    assert_eq!(findings(&out.json())[0].3, day(1));
    let prod = history(db, 3, &["--account", "prod"]);
    assert_eq!(prod["runs"].as_array().map(Vec::len), Some(2));
    assert_eq!(prod["account"], "prod");
    let all = history(db, 3, &[]);
    assert_eq!(all["runs"].as_array().map(Vec::len), Some(3));
    assert_eq!(all["time_to_fix"]["fixed"], 0);
}

fn wait_for(path: &Path, what: &str) {
    let until = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn two_concurrent_writers_both_land(db: &Db) {
    let images = json!([image("img-a", "CREATING")]);
    let dir = workdir(STATE, &images);
    let pause = dir.path().join("paused");
    let pause_s = pause.display().to_string();
    // The first writer holds its transaction open…
    let first = spawn_check(
        dir.path(),
        db,
        1,
        &[("ECMGUARD_TEST_HISTORY_PAUSE", &pause_s)],
    );
    wait_for(&pause, "the first writer to enter its transaction");
    // …the second one queues behind it instead of failing…
    let mut second = spawn_check(dir.path(), db, 2, &[]);
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        second.try_wait().expect("poll").is_none(),
        "the second writer waits for the first"
    );
    // …and both land once the first commits.
    std::fs::remove_file(&pause).expect("release the first writer");
    let first = first.wait_with_output().expect("first");
    let second = second.wait_with_output().expect("second");
    for (name, out) in [("first", &first), ("second", &second)] {
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // And without the hook: two runs started at once.
    let a = spawn_check(dir.path(), db, 3, &[]);
    let b = spawn_check(dir.path(), db, 4, &[]);
    for out in [
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    ] {
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_runs"), 4);
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_findings"), 4);
    // The streak runs through all four.
    let out = check(db, 5, STATE, images, &[]).code(1);
    assert_eq!(findings(&out.json())[0].3, day(1));
}

fn a_run_killed_mid_write_records_nothing(db: &Db) {
    let many: Vec<Value> = (0..2000)
        .map(|i| image(&format!("img-{i:05}"), "CREATING"))
        .collect();
    check(db, 1, STATE, json!([image("img-a", "CREATING")]), &[]).code(1);
    let before = db.state();
    let dir = workdir(STATE, &Value::Array(many.clone()));
    let pause = dir.path().join("paused");
    let pause_s = pause.display().to_string();
    let mut child = spawn_check(
        dir.path(),
        db,
        2,
        &[("ECMGUARD_TEST_HISTORY_PAUSE", &pause_s)],
    );
    // Every row of the run is written, the commit is next: kill it now.
    wait_for(&pause, "the run to write its rows");
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert_eq!(db.state(), before, "no partial run, finding, count or fix");
    // The database is not left locked or damaged: the next run lands.
    check(db, 3, STATE, Value::Array(many), &[]).code(1);
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_runs"), 2);
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_findings"), 2001);
}

fn a_newer_schema_is_refused_untouched(db: &Db) {
    check(db, 1, STATE, json!([image("img-a", "CREATING")]), &[]).code(1);
    db.execute("UPDATE ecmguard_meta SET value = '99' WHERE key = 'schema_version'");
    let state = db.state();
    let bytes = db.everything();
    for args in [vec!["check"], vec!["history"], vec!["prune"]] {
        let out = match args[0] {
            "check" => check(db, 2, STATE, json!([image("img-a", "CREATING")]), &[]),
            "history" => super::db::history_run(db, 2, "human", &[]),
            _ => super::db::prune(db, 2, "1d"),
        }
        .code(2)
        .stderr_has("ecmguard::history-newer-schema")
        .stderr_has("schema version 99")
        .stderr_has("left untouched");
        assert!(
            out.stdout.is_empty(),
            "{}: no report from a refused run",
            args[0]
        );
    }
    assert_eq!(db.state(), state);
    assert_eq!(db.everything(), bytes, "not a byte changed");
}

fn prune_deletes_old_runs_and_keeps_open_streaks(db: &Db) {
    for n in [1, 10, 20] {
        check(db, n, STATE, json!([image("img-a", "CREATING")]), &[]).code(1);
    }
    // On day 21, older than 15 days is before day 6: only day 1 goes.
    let out = super::db::prune(db, 21, "15d")
        .code(0)
        .stdout_has("pruned 1 run (1 finding)");
    drop(out);
    let h = history(db, 21, &[]);
    let times: Vec<&str> = h["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["time"].as_str())
        .collect();
    assert_eq!(times, vec![day(10), day(20)]);
    assert_eq!(
        h["open"][0]["first_seen"],
        day(1),
        "the streak outlives its first run"
    );
    // Pruning everything older than a day keeps the latest whole run: the
    // state the next check needs.
    super::db::prune(db, 25, "1d").code(0);
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_runs"), 1);
    let out = check(db, 26, STATE, json!([image("img-a", "CREATING")]), &[]).code(1);
    assert_eq!(findings(&out.json())[0].3, day(1));
    assert_eq!(findings(&out.json())[0].4, day_seconds(26) - day_seconds(1));
}

fn no_secret_is_stored(db: &Db) {
    use ecm_emulator::{Config, Emulator, Key};
    const ID: &str = "AKIDhistoryleakcheck";
    const KEY: &str = "HistoryLeakCheckSecretKey-0123456789";
    const TOKEN: &str = "HistoryLeakCheckSessionToken-abcdef";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut config = Config::new(ecm_emulator::generate_images(50));
    config.rate_limit = None;
    config.keys = vec![Key::new(ID, KEY).with_token(TOKEN)];
    let emulator = runtime
        .block_on(Emulator::start(config))
        .expect("emulator starts");
    let url = emulator.url();
    let history_arg = db.arg();
    let out = Test::new()
        .policy(STATE)
        .env("TENCENTCLOUD_SECRET_ID", ID)
        .env("TENCENTCLOUD_SECRET_KEY", KEY)
        .env("TENCENTCLOUD_TOKEN", TOKEN)
        .env("HOME", "/nonexistent")
        .args(&[
            "check",
            "--endpoint",
            &url,
            "--now",
            &day(1),
            "--history",
            &history_arg,
            "--account",
            "leak-check",
            "--format",
            "json",
        ])
        .run();
    assert!(matches!(out.code, 0 | 1), "{}", out.stderr);
    runtime.block_on(emulator.shutdown());
    assert_eq!(
        db.count("SELECT COUNT(*) FROM ecmguard_runs"),
        1,
        "the run was recorded"
    );
    let stored = db.everything();
    assert!(stored.contains("leak-check"), "the search reads the data");
    for secret in [KEY, TOKEN].into_iter().chain(db.password()) {
        assert!(!stored.contains(secret), "the database holds a secret");
        assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
    }
    let report = Test::new()
        .args(&[
            "history",
            "--history",
            &history_arg,
            "--now",
            &day(1),
            "--format",
            "json",
        ])
        .run()
        .code(0);
    if let Some(password) = db.password() {
        assert!(!report.stdout.contains(password));
    }
}

/// A wrong password is reported without the password.
#[test]
fn postgres_errors_never_show_the_password() {
    let Some(server) = super::server::server() else {
        return;
    };
    let url = server.new_database();
    let wrong = url.replace(server.password(), "Wrong-Password-5a9d");
    let out = Test::new()
        .policy(STATE)
        .images(json!([image("img-a", "CREATING")]))
        .check(&["--history", &wrong])
        .run()
        .code(2)
        .stderr_has("ecmguard::history-open")
        .stderr_has("***");
    assert!(
        !out.stderr.contains("Wrong-Password-5a9d"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.is_empty(),
        "no report when the history cannot be used"
    );
    // TLS is not supported yet, and says so instead of failing obscurely.
    let tls = format!("{url}?sslmode=require");
    let out = Test::new()
        .policy(STATE)
        .images(json!([image("img-a", "CREATING")]))
        .check(&["--history", &tls])
        .run()
        .code(2);
    assert!(
        flat(&out.stderr).contains("TLS is not supported yet"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(server.password()), "{}", out.stderr);
}

/// A file that is not an ecmguard history is refused and left as it was.
#[test]
fn a_foreign_file_is_refused_untouched() {
    let test = Test::new()
        .policy(STATE)
        .images(json!([image("img-a", "CREATING")]))
        .file("notes.json", "{\"not\": \"a database\"}\n");
    let out = test
        .check(&["--history", "notes.json"])
        .run()
        .code(2)
        .stderr_has("ecmguard::history-foreign");
    assert_eq!(out.read("notes.json"), "{\"not\": \"a database\"}\n");
    // Another program's SQLite database is not taken over either.
    let dir = tempfile::tempdir().expect("dir");
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .and_then(|c| c.execute_batch("CREATE TABLE notes (text TEXT)"))
        .expect("another program's database");
    let before = std::fs::read(&other).expect("read");
    Test::new()
        .policy(STATE)
        .images(json!([image("img-a", "CREATING")]))
        .check(&["--history", &other.display().to_string()])
        .run()
        .code(2)
        .stderr_has("ecmguard::history-foreign")
        .stderr_has("(tables notes)");
    assert_eq!(std::fs::read(&other).expect("read"), before);
}

/// The two questions the schema is indexed for are answered by index
/// searches, not by reading every finding (SQLite's plan; the documented
/// SQL of docs/history.md).
#[test]
fn the_documented_questions_use_the_indexes() {
    let db = Db::sqlite();
    check(&db, 1, STATE, json!([image("img-a", "CREATING")]), &[]).code(1);
    let Db::Sqlite { path, .. } = &db else {
        unreachable!("a SQLite database")
    };
    let conn = rusqlite::Connection::open(path).expect("open");
    let plan = |sql: &str| -> String {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("plan");
        let rows = stmt
            .query_map([], |row| row.get::<_, String>(3))
            .expect("rows");
        rows.map(|r| r.expect("row")).collect::<Vec<_>>().join("\n")
    };
    let runs = plan("SELECT * FROM ecmguard_runs WHERE account = 'prod' ORDER BY time, id");
    assert!(
        runs.contains("USING INDEX ecmguard_runs_account_time"),
        "{runs}"
    );
    let findings = plan(
        "SELECT r.time, f.status FROM ecmguard_runs r JOIN ecmguard_findings f ON f.run_id = r.id \
         WHERE r.account = 'prod' AND f.rule_id = 'state' AND f.image_id = 'img-a' ORDER BY r.time",
    );
    assert!(
        findings.contains(
            "USING INDEX ecmguard_findings_run_rule_image (run_id=? AND rule_id=? AND image_id=?)"
        ),
        "{findings}"
    );
    assert!(!findings.contains("SCAN f"), "{findings}");
}

/// Nothing test-only ships: the test hook (a file written and a pause held
/// inside the write transaction) is compiled only with the `test-hooks`
/// feature, which the tests enable through a dev-dependency on this package
/// and a release build (`cargo build --release`, `cargo install`) never does.
#[test]
fn test_hooks_are_behind_a_feature_no_release_build_enables() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: toml_like::Manifest = toml_like::read(&root.join("Cargo.toml"));
    assert!(
        manifest.features.contains_key("test-hooks"),
        "a `test-hooks` feature"
    );
    assert!(
        !manifest
            .features
            .get("default")
            .is_some_and(|d| d.iter().any(|f| f == "test-hooks")),
        "not a default feature"
    );
    // Every mention of a test variable in the sources sits under the feature.
    let mut unguarded = Vec::new();
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            for (n, line) in lines.iter().enumerate() {
                if line.contains("\"ECMGUARD_TEST_") {
                    let guarded = lines[n.saturating_sub(12)..n]
                        .iter()
                        .any(|l| l.trim() == "#[cfg(feature = \"test-hooks\")]");
                    if !guarded {
                        unguarded.push(format!("{}:{}", path.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(
        unguarded.is_empty(),
        "test hooks outside the feature: {unguarded:?}"
    );
}

/// Just enough of Cargo.toml for the test above: the `[features]` table.
mod toml_like {
    use std::collections::BTreeMap;
    use std::path::Path;

    pub struct Manifest {
        pub features: BTreeMap<String, Vec<String>>,
    }

    pub fn read(path: &Path) -> Manifest {
        let text = std::fs::read_to_string(path).expect("Cargo.toml");
        let mut features = BTreeMap::new();
        let mut in_features = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_features = line == "[features]";
                continue;
            }
            if !in_features || line.starts_with('#') || line.is_empty() {
                continue;
            }
            if let Some((name, value)) = line.split_once('=') {
                let list = value
                    .trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split(',')
                    .map(|f| f.trim().trim_matches('"').to_owned())
                    .filter(|f| !f.is_empty())
                    .collect();
                features.insert(name.trim().to_owned(), list);
            }
        }
        Manifest { features }
    }
}

/// libpq's password file is read (`~/.pgpass`, `PGPASSFILE`; wildcards;
/// ignored when others may read it), and what the server says — its message
/// and SQLSTATE — is shown for a wrong password, a missing database and a
/// refused permission, never a bare "db error".
#[test]
fn postgres_logins_use_the_password_file_and_show_the_server_error() {
    use std::os::unix::fs::PermissionsExt;
    let Some(server) = super::server::server() else {
        return;
    };
    let url = server.new_database();
    let (host, port) = server.host_port();
    let user = server.user();
    let without_password = format!(
        "postgres://{user}@{host}:{port}/{}",
        url.rsplit('/').next().unwrap_or_default()
    );
    let home = tempfile::tempdir().expect("home");
    let pgpass = home.path().join(".pgpass");
    let escaped = server.password().replace('\\', "\\\\").replace(':', "\\:");
    std::fs::write(
        &pgpass,
        format!("# ecmguard tests\nother-host:*:*:*:wrong\n{host}:{port}:*:{user}:{escaped}\n"),
    )
    .expect("write .pgpass");
    let chmod = |mode: u32| {
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };
    chmod(0o600);
    let home_s = home.path().display().to_string();
    let run = |history: &str, env: &[(&str, &str)]| {
        let mut test = Test::new()
            .policy(STATE)
            .images(json!([image("img-a", "CREATING")]))
            .env("HOME", &home_s)
            .env("PGPASSWORD", "")
            .env("PGPASSFILE", "");
        for (key, value) in env {
            test = test.env(key, value);
        }
        test.check(&["--history", history]).run()
    };
    // ~/.pgpass gives the password: the run is recorded.
    run(&without_password, &[]).code(1);
    // PGPASSFILE names another file, which wins over ~/.pgpass.
    let elsewhere = home.path().join("elsewhere");
    std::fs::write(&elsewhere, "*:*:*:*:Not-The-Password-1\n").expect("write");
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = run(
        &without_password,
        &[("PGPASSFILE", &elsewhere.display().to_string())],
    )
    .code(2)
    .stderr_has("28P01");
    assert!(!out.stderr.contains("Not-The-Password-1"), "{}", out.stderr);
    // A file others may read is ignored, as libpq ignores it, and the
    // message says why the login had no password.
    chmod(0o644);
    let out = run(&without_password, &[])
        .code(2)
        .stderr_has("ecmguard::history-open");
    assert!(
        flat(&out.stderr).contains("group or world access"),
        "{}",
        out.stderr
    );
    chmod(0o600);
    // The server's own words: a wrong password, a missing database…
    let wrong = url.replace(server.password(), "Wrong-Password-3c1d");
    let out = run(&wrong, &[]).code(2);
    assert!(
        flat(&out.stderr).contains("password authentication failed"),
        "{}",
        out.stderr
    );
    assert!(
        flat(&out.stderr).contains("SQLSTATE 28P01"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("Wrong-Password-3c1d"),
        "{}",
        out.stderr
    );
    let missing = format!("{}_missing", url);
    let out = run(&missing, &[]).code(2);
    assert!(
        flat(&out.stderr).contains("does not exist"),
        "{}",
        out.stderr
    );
    assert!(
        flat(&out.stderr).contains("SQLSTATE 3D000"),
        "{}",
        out.stderr
    );
    // …and a login that may not create the history's tables.
    let database = url.rsplit('/').next().unwrap_or_default().to_owned();
    let fresh = server.new_database();
    let fresh_db = fresh.rsplit('/').next().unwrap_or_default().to_owned();
    server
        .admin(&database)
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS ecmguard_reader_{fresh_db}; CREATE ROLE ecmguard_reader_{fresh_db} LOGIN PASSWORD 'Reader-Pass-77'"
        ))
        .expect("create a role");
    let reader =
        format!("postgres://ecmguard_reader_{fresh_db}:Reader-Pass-77@{host}:{port}/{fresh_db}");
    let out = run(&reader, &[]).code(2);
    assert!(
        flat(&out.stderr).contains("permission denied"),
        "{}",
        out.stderr
    );
    assert!(
        flat(&out.stderr).contains("SQLSTATE 42501"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("Reader-Pass-77"), "{}", out.stderr);
    assert!(!out.stderr.contains(server.password()));
}

/// A diagnostic's text with its frame and line breaks taken out, so a
/// phrase wrapped across lines can be searched for.
fn flat(text: &str) -> String {
    text.replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A shared history is written by every runner that can log in: its text is
/// printed escaped (`history` human output) and neutralised in the HTML
/// page (control characters, bidirectional overrides, zero-width
/// characters), and never becomes a CSS class.
fn database_text_is_escaped_in_every_history_format(db: &Db) {
    check(db, 1, STATE, json!([image("img-a", "CREATING")]), &[]).code(1);
    db.execute(
        "UPDATE ecmguard_findings SET status = 'violation\u{1b}[2J\n##[error]forged', \
         rule_id = 'state\u{202e}', image_id = 'img-\u{200b}a'; \
         UPDATE ecmguard_rule_counts SET severity = 'error\u{1b}[31m', rule_id = 'state\u{202e}'; \
         UPDATE ecmguard_runs SET verdict = 'fail\u{2066}\n##[warning]forged', account = 'default\u{feff}'",
    );
    let raw = ['\u{1b}', '\u{202e}', '\u{200b}', '\u{2066}', '\u{feff}'];
    for format in ["human", "html"] {
        let out = super::db::history_run(db, 2, format, &[]).code(0);
        for c in raw {
            assert!(
                !out.stdout.contains(c),
                "{format}: a raw {:?} from the database:\n{}",
                c,
                out.stdout
            );
        }
        assert!(
            !out.stdout
                .lines()
                .any(|l| l.trim_start().starts_with("##[")),
            "{format}: a forged line:\n{}",
            out.stdout
        );
        assert!(out.stdout.contains("\\u{202e}"), "{format}: shown escaped");
        if format == "html" {
            assert!(
                !out.stdout.contains("sev-error\\u"),
                "no class from the database"
            );
        }
    }
}
