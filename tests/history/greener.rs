//! A history never makes a gate greener than the facts (docs/history.md,
//! "Which runs end a streak"): each case is a way a recorded history once
//! turned a failing gate green — a run that checked nothing, a run of other
//! rules, another account under the same label, a prune, a database that
//! disagrees with itself — against SQLite and PostgreSQL.

use serde_json::{Value, json};

use super::db::{Db, check, day, findings, history, history_run};
use super::grace::GRACE;

/// Other rules, as a trial policy would have (`check --policy hygiene.yaml`).
const HYGIENE: &str = "\
rules:
  - id: named
    title: Images have a name
    assert: { ImageName: { exists: true } }
";

fn image(id: &str, state: &str) -> Value {
    json!({ "ImageId": id, "ImageName": format!("name of {id}"), "ImageState": state })
}

/// A private image of the account whose UIN is `owner`.
fn owned(id: &str, state: &str, owner: i64) -> Value {
    json!({
        "ImageId": id, "ImageName": format!("name of {id}"), "ImageState": state,
        "ImageType": "PRIVATE_IMAGE", "ImageOwner": owner
    })
}

/// A public image (owner 0, as the API sends it).
fn public(id: &str, state: &str) -> Value {
    json!({
        "ImageId": id, "ImageName": format!("name of {id}"), "ImageState": state,
        "ImageType": "PUBLIC_IMAGE", "ImageOwner": 0
    })
}

fn failing_three() -> Value {
    json!([
        image("img-a", "CREATING"),
        image("img-b", "CREATING"),
        image("img-c", "CREATING")
    ])
}

both!(
    a_run_that_checked_nothing_ends_no_streak,
    a_run_of_other_rules_ends_no_streak,
    a_changed_policy_continues_the_streaks_of_its_rules,
    another_account_under_one_label_is_refused,
    prune_keeps_the_runs_of_narrowed_only_accounts,
    prune_keeps_the_latest_run_of_each_rule,
    a_first_seen_after_its_run_is_clamped,
    lost_finding_rows_stop_the_check,
    lost_rule_counts_stop_the_check,
    a_version_1_history_is_migrated_and_keeps_its_streaks,
);

fn a_run_that_checked_nothing_ends_no_streak(db: &Db) {
    check(db, 1, GRACE, failing_three(), &[]).code(0);
    // An empty snapshot: exit 1 ("nothing was checked"), and recorded.
    check(db, 20, GRACE, json!([]), &[])
        .code(1)
        .stderr_has("nothing was checked");
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_runs"), 2);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM ecmguard_fixes"),
        0,
        "a run without images fixed nothing"
    );
    // Day 21: the three violations are 20 days old, past their grace.
    let out = check(db, 21, GRACE, failing_three(), &[]).code(1);
    let firsts: Vec<(String, String)> = findings(&out.json())
        .into_iter()
        .map(|f| (f.2, f.3))
        .collect();
    assert_eq!(firsts, vec![("violation".to_owned(), day(1)); 3]);
    // A narrowed run that matched nothing (an `--image` of a snapshot with
    // filters) ends nothing either, and the history lists the three as open.
    let h = history(db, 21, &[]);
    assert_eq!(h["open"].as_array().map(Vec::len), Some(3));
    assert_eq!(h["time_to_fix"]["fixed"], 0);
}

fn a_run_of_other_rules_ends_no_streak(db: &Db) {
    check(db, 1, GRACE, failing_three(), &[]).code(0);
    // A trial of another policy on the whole account, on day 19.
    check(db, 19, HYGIENE, failing_three(), &[]).code(0);
    // Day 20: the streaks started on day 1, past the 14 days.
    let out = check(db, 20, GRACE, failing_three(), &[]).code(1);
    assert!(
        findings(&out.json())
            .iter()
            .all(|f| f.2 == "violation" && f.3 == day(1)),
        "{:?}",
        findings(&out.json())
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_fixes"), 0);
    // A narrowed run of the other policy ends nothing of `state` either.
    check(db, 21, HYGIENE, failing_three(), &["--image", "img-a"]).code(0);
    let out = check(db, 22, GRACE, failing_three(), &[]).code(1);
    assert!(findings(&out.json()).iter().all(|f| f.3 == day(1)));
    // A run that evaluated `state` on img-a and found nothing ends its
    // streak: a fix, and a new streak when it fails again.
    check(
        db,
        23,
        GRACE,
        json!([
            image("img-a", "NORMAL"),
            image("img-b", "CREATING"),
            image("img-c", "CREATING")
        ]),
        &[],
    )
    .code(1);
    let out = check(db, 24, GRACE, failing_three(), &[]).code(1);
    let a = findings(&out.json());
    assert_eq!(
        (a[0].2.as_str(), a[0].3.as_str()),
        ("grace", day(24).as_str())
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_fixes"), 1);
}

fn a_changed_policy_continues_the_streaks_of_its_rules(db: &Db) {
    // The rule's text changes (a comment, a title): its id is the
    // obligation, so its streaks go on; an edit never buys a new grace period.
    check(db, 1, GRACE, failing_three(), &[]).code(0);
    let edited = GRACE.replace("Images are NORMAL", "Images are in the NORMAL state");
    let out = check(db, 16, &edited, failing_three(), &[]).code(1);
    assert!(findings(&out.json()).iter().all(|f| f.3 == day(1)));
}

fn another_account_under_one_label_is_refused(db: &Db) {
    // prod's own private images, one shared into it from another account
    // (it does not change who prod is), and a public image.
    let prod = || {
        json!([
            owned("img-p1", "CREATING", 111_111),
            owned("img-p2", "NORMAL", 111_111),
            owned("img-shared", "NORMAL", 333_333),
            public("img-pub", "NORMAL")
        ])
    };
    check(db, 1, GRACE, prod(), &[]).code(0);
    // Another account's snapshot under the same (default) label: refused
    // before it is judged, and nothing is recorded.
    let other = check(
        db,
        5,
        GRACE,
        json!([owned("img-s1", "NORMAL", 222_222)]),
        &[],
    )
    .code(2)
    .stderr_has("ecmguard::history-other-account")
    .stderr_has("--account");
    assert!(other.stdout.is_empty(), "no report from a refused run");
    // A whole-account run whose account cannot be told (no private image)
    // cannot vouch for the label's account either.
    check(db, 5, GRACE, json!([public("img-pub", "NORMAL")]), &[])
        .code(2)
        .stderr_has("ecmguard::history-other-account");
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_runs"), 1);
    // Under its own label the other account is recorded…
    check(
        db,
        5,
        GRACE,
        json!([owned("img-s1", "NORMAL", 222_222)]),
        &["--account", "staging"],
    )
    .code(0);
    // …a pre-deployment check of a public image is fine under any label…
    check(db, 6, GRACE, prod(), &["--image", "img-pub"]).code(0);
    // …and prod's streak was never ended: on day 16 it fails.
    let out = check(db, 16, GRACE, prod(), &[]).code(1);
    assert_eq!(findings(&out.json())[0].3, day(1));
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_fixes"), 0);
    // What is stored identifies the account without holding its UIN.
    let stored = db.everything();
    assert!(!stored.contains("111111") && !stored.contains("222222"));
}

fn prune_keeps_the_runs_of_narrowed_only_accounts(db: &Db) {
    // An account that only ever runs pre-deployment checks.
    let images = || json!([image("img-a", "CREATING"), image("img-b", "NORMAL")]);
    check(db, 1, GRACE, images(), &["--image", "img-a"]).code(0);
    check(db, 10, GRACE, images(), &["--image", "img-b"]).code(0);
    super::db::prune(db, 12, "1d").code(0);
    // Day 16: img-a has failed since day 1.
    let out = check(db, 16, GRACE, images(), &["--image", "img-a"]).code(1);
    assert_eq!(findings(&out.json())[0].3, day(1));
    // What no streak needs goes: img-b's day-10 run, superseded on day 17.
    check(db, 17, GRACE, images(), &["--image", "img-b"]).code(0);
    super::db::prune(db, 30, "1d").code(0);
    let kept: Vec<String> = history(db, 30, &[])["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["time"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(kept, vec![day(16), day(17)]);
}

fn prune_keeps_the_latest_run_of_each_rule(db: &Db) {
    check(db, 1, GRACE, failing_three(), &[]).code(0);
    check(db, 5, HYGIENE, failing_three(), &[]).code(0);
    // Day 1's run holds `state`'s streaks: it stays, although a later
    // whole-account run exists.
    super::db::prune(db, 6, "1d").code(0);
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_runs"), 2);
    let out = check(db, 16, GRACE, failing_three(), &[]).code(1);
    assert!(findings(&out.json()).iter().all(|f| f.3 == day(1)));
}

fn a_first_seen_after_its_run_is_clamped(db: &Db) {
    check(db, 1, GRACE, failing_three(), &[]).code(0);
    // A poisoned cache: streaks that "start" in 2100.
    db.execute("UPDATE ecmguard_findings SET first_seen = 4102444800");
    let out = check(db, 20, GRACE, failing_three(), &[]).code(1);
    let report = out.json();
    assert!(
        findings(&report)
            .iter()
            .all(|f| f.2 == "violation" && f.3 == day(1)),
        "clamped to the run that recorded them: {:?}",
        findings(&report)
    );
    assert!(
        report["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w["code"] == "history-clamped"),
        "the report says so too"
    );
}

fn lost_finding_rows_stop_the_check(db: &Db) {
    check(db, 1, GRACE, failing_three(), &[]).code(0);
    db.execute("DELETE FROM ecmguard_findings WHERE image_id = 'img-b'");
    let out = check(db, 2, GRACE, failing_three(), &[])
        .code(2)
        .stderr_has("ecmguard::history-inconsistent")
        .stderr_has("2 finding rows")
        .stderr_has("3");
    assert!(out.stdout.is_empty(), "no verdict on a history that lies");
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_runs"), 1);
    // `history` does not list a partial state as the open findings either.
    history_run(db, 2, "json", &[])
        .code(2)
        .stderr_has("ecmguard::history-inconsistent");
    // Every finding row gone reads as the same lie, not as a clean account.
    db.execute("DELETE FROM ecmguard_findings");
    check(db, 2, GRACE, failing_three(), &[])
        .code(2)
        .stderr_has("ecmguard::history-inconsistent");
}

fn lost_rule_counts_stop_the_check(db: &Db) {
    check(db, 1, GRACE, failing_three(), &[]).code(0);
    // Without its per-rule counts the run would look as if it had not run
    // the rule, and an older state (or none) would be used.
    db.execute("DELETE FROM ecmguard_rule_counts");
    check(db, 2, GRACE, failing_three(), &[])
        .code(2)
        .stderr_has("ecmguard::history-inconsistent");
}

fn a_version_1_history_is_migrated_and_keeps_its_streaks(db: &Db) {
    use ecmguard::history::schema::{Dialect, migration};
    let dialect = match db {
        Db::Sqlite { .. } => Dialect::Sqlite,
        Db::Postgres { .. } => Dialect::Postgres,
    };
    // A history as version 1 wrote it: its tables, and one run of day 1
    // with a finding in grace.
    let mut setup: Vec<String> = migration(1, dialect).expect("version 1");
    let day1 = super::db::day_seconds(1);
    setup.push("INSERT INTO ecmguard_meta (key, value) VALUES ('schema_version', '1')".into());
    setup.push(format!(
        "INSERT INTO ecmguard_runs (time, tool_version, account, source, source_path, endpoint, filters, \
         policy_digest, fail_on, images, rules, violations_error, violations_warning, violations_info, \
         indeterminate, grace, waived, baselined, failing, verdict, exit_code, narrowed, checked_images) \
         VALUES ({day1}, '0.1.0', 'default', 'snapshot', 'images.json', NULL, '[]', 'digest', 'error', \
         2, 1, 0, 0, 0, 0, 1, 0, 0, 0, 'pass', 0, 0, NULL)"
    ));
    setup.push(format!(
        "INSERT INTO ecmguard_findings (run_id, rule_id, image_id, status, severity, message, first_seen) \
         VALUES (1, 'state', 'img-p1', 'grace', 'error', 'ImageState is CREATING', {day1})"
    ));
    setup.push(
        "INSERT INTO ecmguard_rule_counts (run_id, rule_id, severity, violations, indeterminate, grace, \
         waived, baselined) VALUES (1, 'state', 'error', 0, 0, 1, 0, 0)"
            .into(),
    );
    if let Db::Sqlite { path, .. } = db {
        // The file as version 1 created it: rollback journal, not WAL yet.
        rusqlite::Connection::open(path).expect("create the SQLite file");
    }
    db.execute(&setup.join(";\n"));
    let images = || {
        json!([
            owned("img-p1", "CREATING", 111_111_111),
            owned("img-p2", "NORMAL", 111_111_111)
        ])
    };
    // Day 16: the version-1 streak goes on (past its grace), and the run is
    // recorded with the account's fingerprint (version 2), and the history migrated on to
    // the current version (3: the applies).
    let out = check(db, 16, GRACE, images(), &[]).code(1);
    assert_eq!(findings(&out.json())[0].3, day(1));
    assert_eq!(
        db.count("SELECT CAST(value AS BIGINT) FROM ecmguard_meta WHERE key = 'schema_version'"),
        3
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM ecmguard_runs WHERE account_fingerprint IS NOT NULL"),
        1
    );
    // The label's account is now known: another one is refused.
    check(
        db,
        17,
        GRACE,
        json!([owned("img-x", "NORMAL", 222_222_222)]),
        &[],
    )
    .code(2)
    .stderr_has("ecmguard::history-other-account");
}
