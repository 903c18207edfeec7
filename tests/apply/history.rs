//! `apply --history`: each action recorded with its apply (SQLite and a real PostgreSQL,
//! which is skipped visibly where there is none), listed by `ecmguard history` in every
//! format with hostile text escaped, the label's account checked before anything is done,
//! a version-2 history migrated forward, and no secret stored.

use ecm_emulator::{DEFAULT_SECRET_KEY, DESCRIBE_IMAGE};
use ecmguard::plan::model::ActionKind;
use serde_json::Value;

use super::support::{A, B, apply, plan, server, writes};
use crate::history::both;
use crate::history::db::Db;
use crate::support::Test;

both!(
    actions_are_recorded_and_listed,
    another_account_under_the_label_is_refused_before_anything_is_done,
    a_version_2_history_is_migrated_and_takes_the_apply,
);

/// A rule id that would reverse the text after it, and a new description with a terminal
/// escape: what `history` shows must show them as escapes.
const HOSTILE_RULE: &str = "rule\u{202e}evil";
const HOSTILE_VALUE: &str = "new\u{1b}[31mred";

fn history(db: &Db, format: &str) -> crate::support::Output {
    let arg = db.arg();
    // The applies are stamped by the system clock: the report is as of far ahead.
    Test::new()
        .args(&[
            "history",
            "--history",
            &arg,
            "--format",
            format,
            "--now",
            "2099-01-01T00:00:00Z",
        ])
        .run()
        .code(0)
}

fn actions_are_recorded_and_listed(db: &Db) {
    let server = server(|_| {});
    let mut made = plan(
        &server.url(),
        &[
            (
                ActionKind::Describe {
                    to: HOSTILE_VALUE.to_owned(),
                },
                A,
            ),
            (ActionKind::Delete, B),
        ],
    );
    made.actions[0].rule = HOSTILE_RULE.to_owned();
    let arg = db.arg();
    apply(&server, &made, &["--history", &arg, "--account", "prod"]).code(0);
    assert_eq!(writes(&server), 2);

    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_applies"), 1);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM ecmguard_actions WHERE outcome = 'done'"),
        2
    );
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM ecmguard_applies WHERE account = 'prod' AND exit_code = 0 \
             AND plan = 'plan.json' AND account_fingerprint IS NOT NULL"
        ),
        1
    );
    // The delete keeps the name of the image it removed; every write its RequestId.
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM ecmguard_actions WHERE action = 'delete' AND image_id = 'img-00000002' \
             AND old_value IS NOT NULL AND new_value IS NULL AND request_id IS NOT NULL"
        ),
        1
    );
    // No secret enters the database.
    assert!(!db.everything().contains(DEFAULT_SECRET_KEY));
    if let Some(password) = db.password() {
        assert!(!db.everything().contains(password));
    }

    let json: Value = serde_json::from_str(&history(db, "json").stdout).expect("json");
    let applies = json["applies"].as_array().expect("applies");
    assert_eq!(applies.len(), 1);
    assert_eq!(applies[0]["account"], "prod");
    let actions = applies[0]["actions"].as_array().expect("actions");
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0]["action"], "describe");
    assert_eq!(actions[0]["rule"], HOSTILE_RULE);
    assert_eq!(actions[0]["new_value"], HOSTILE_VALUE);
    assert_eq!(actions[1]["action"], "delete");
    assert_eq!(actions[1]["outcome"], "done");
    assert!(actions[1]["request_id"].is_string());

    let human = history(db, "human").stdout;
    assert!(human.contains("Applies (1)"), "{human}");
    assert!(human.contains("- delete img-00000002"), "{human}");
    assert!(human.contains("rule\\u{202e}evil"), "{human}");
    assert!(human.contains("\\u{1b}[31mred"), "{human}");
    let html = history(db, "html").stdout;
    assert!(html.contains("Actions applied"), "{html}");
    for shown in [&human, &html] {
        assert!(!shown.contains('\u{202e}') && !shown.contains('\u{1b}'));
    }
}

fn another_account_under_the_label_is_refused_before_anything_is_done(db: &Db) {
    let first = server(|_| {});
    let made = plan(&first.url(), &[(ActionKind::Delete, B)]);
    let arg = db.arg();
    // The label's first apply makes it this account's.
    apply(&first, &made, &["--history", &arg, "--account", "prod"]).code(0);
    // Another account's apply was recorded under it.
    db.execute(
        "UPDATE ecmguard_applies SET account_fingerprint = '0123456789abcdef' WHERE account = 'prod'",
    );
    let other = server(|_| {});
    let made = plan(&other.url(), &[(ActionKind::Delete, A)]);
    apply(&other, &made, &["--history", &arg, "--account", "prod"])
        .code(2)
        .stderr_has("ecmguard::history-other-account");
    assert_eq!(writes(&other), 0);
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_applies"), 1);
    // Under its own label it goes ahead.
    apply(&other, &made, &["--history", &arg, "--account", "staging"]).code(0);
    assert_eq!(db.count("SELECT COUNT(*) FROM ecmguard_applies"), 2);
}

fn a_version_2_history_is_migrated_and_takes_the_apply(db: &Db) {
    use ecmguard::history::schema::{Dialect, migration};
    let dialect = match db {
        Db::Sqlite { .. } => Dialect::Sqlite,
        Db::Postgres { .. } => Dialect::Postgres,
    };
    let mut setup: Vec<String> = migration(1, dialect).expect("version 1");
    setup.extend(migration(2, dialect).expect("version 2"));
    setup.push("INSERT INTO ecmguard_meta (key, value) VALUES ('schema_version', '2')".into());
    if let Db::Sqlite { path, .. } = db {
        rusqlite::Connection::open(path).expect("create the SQLite file");
    }
    db.execute(&setup.join(";\n"));
    let server = server(|_| {});
    let made = plan(&server.url(), &[(ActionKind::Delete, B)]);
    let arg = db.arg();
    apply(&server, &made, &["--history", &arg]).code(0);
    assert_eq!(
        db.count("SELECT CAST(value AS BIGINT) FROM ecmguard_meta WHERE key = 'schema_version'"),
        3
    );
    // Without --account the label is the profile's, else `default`, as for check.
    assert_eq!(
        db.count("SELECT COUNT(*) FROM ecmguard_actions a JOIN ecmguard_applies p ON p.id = a.apply_id WHERE p.account = 'default'"),
        1
    );
    assert!(server.log().iter().any(|e| e.action == DESCRIBE_IMAGE));
}
