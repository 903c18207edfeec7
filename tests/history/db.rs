//! The two backends behind one test interface: a SQLite file in a temporary
//! directory, or a fresh database on the shared PostgreSQL test server. The
//! same cases run against both (`both!`), through the real binary.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

use super::server;
use crate::support::{Output, Test};

pub enum Db {
    Sqlite { _dir: TempDir, path: PathBuf },
    Postgres { url: String, database: String },
}

impl Db {
    pub fn sqlite() -> Db {
        let dir = TempDir::new().expect("temp dir");
        let path = dir.path().join("history.db");
        Db::Sqlite { _dir: dir, path }
    }

    /// A fresh database on the test server; `None` where there is no
    /// server and none is required (`server::server`).
    pub fn postgres() -> Option<Db> {
        let url = server::server()?.new_database();
        let database = url.rsplit('/').next().unwrap_or_default().to_owned();
        Some(Db::Postgres { url, database })
    }

    /// The database password, for a search of what must never hold it.
    pub fn password(&self) -> Option<&'static str> {
        match self {
            Db::Sqlite { .. } => None,
            Db::Postgres { .. } => Some(pg().password()),
        }
    }

    /// What `--history` is given.
    pub fn arg(&self) -> String {
        match self {
            Db::Sqlite { path, .. } => path.display().to_string(),
            Db::Postgres { url, .. } => url.clone(),
        }
    }

    /// A number from the database (a count).
    pub fn count(&self, sql: &str) -> i64 {
        match self {
            Db::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).expect("open the SQLite file");
                conn.query_row(sql, [], |row| row.get(0))
                    .expect("query the SQLite file")
            }
            Db::Postgres { database, .. } => pg()
                .admin(database)
                .query_one(sql, &[])
                .expect("query PostgreSQL")
                .get(0),
        }
    }

    /// Run a statement directly (to set up what ecmguard must cope with).
    pub fn execute(&self, sql: &str) {
        match self {
            Db::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).expect("open the SQLite file");
                conn.execute_batch(sql).expect("execute on the SQLite file");
            }
            Db::Postgres { database, .. } => pg()
                .admin(database)
                .batch_execute(sql)
                .expect("execute on PostgreSQL"),
        }
    }

    /// Everything the database holds, as text: the SQLite files' bytes (the
    /// database and its WAL), or every row of every ecmguard table.
    pub fn everything(&self) -> String {
        match self {
            Db::Sqlite { path, .. } => {
                let mut text = String::new();
                for suffix in ["", "-wal", "-journal"] {
                    let file = PathBuf::from(format!("{}{suffix}", path.display()));
                    if let Ok(bytes) = std::fs::read(&file) {
                        text.push_str(&String::from_utf8_lossy(&bytes));
                    }
                }
                text
            }
            Db::Postgres { database, .. } => {
                let mut client = pg().admin(database);
                let mut text = String::new();
                for table in [
                    "ecmguard_meta",
                    "ecmguard_runs",
                    "ecmguard_findings",
                    "ecmguard_rule_counts",
                    "ecmguard_fixes",
                    "ecmguard_applies",
                    "ecmguard_actions",
                ] {
                    for row in client
                        .query(&format!("SELECT t::text FROM {table} t"), &[])
                        .expect("dump a table")
                    {
                        text.push_str(row.get::<_, &str>(0));
                        text.push('\n');
                    }
                }
                text
            }
        }
    }

    /// A fingerprint of the stored state that does not depend on how the
    /// backend lays it out: counts of every table and the schema version.
    pub fn state(&self) -> Vec<i64> {
        let mut state: Vec<i64> = [
            "ecmguard_runs",
            "ecmguard_findings",
            "ecmguard_rule_counts",
            "ecmguard_fixes",
        ]
        .iter()
        .map(|t| self.count(&format!("SELECT COUNT(*) FROM {t}")))
        .collect();
        state.push(
            self.count(
                "SELECT CAST(value AS BIGINT) FROM ecmguard_meta WHERE key = 'schema_version'",
            ),
        );
        state
    }
}

/// The server a `Db::Postgres` lives on (there is one whenever there is such
/// a `Db`).
fn pg() -> &'static server::Server {
    server::server().expect("a PostgreSQL Db exists only with a server")
}

/// `2026-01-DD` at midnight +08:00.
pub fn day(n: u32) -> String {
    format!("2026-01-{n:02}T00:00:00+08:00")
}

/// The Unix time of `day(n)`.
pub fn day_seconds(n: u32) -> i64 {
    day(n)
        .parse::<jiff::Timestamp>()
        .expect("a time")
        .as_second()
}

/// `check --snapshot images.json --now day(n) --history DB --format json`.
pub fn check(db: &Db, n: u32, policy: &str, images: Value, extra: &[&str]) -> Output {
    let now = day(n);
    let history = db.arg();
    let mut args = vec![
        "check",
        "--snapshot",
        "images.json",
        "--now",
        now.as_str(),
        "--history",
        history.as_str(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    Test::new().policy(policy).images(images).args(&args).run()
}

/// `ecmguard history --history DB --format FORMAT --now day(n)`, run.
pub fn history_run(db: &Db, n: u32, format: &str, extra: &[&str]) -> Output {
    let now = day(n);
    let history = db.arg();
    let mut args = vec![
        "history",
        "--history",
        history.as_str(),
        "--format",
        format,
        "--now",
        now.as_str(),
    ];
    args.extend_from_slice(extra);
    Test::new().args(&args).run()
}

/// `ecmguard history --history DB --format json --now day(n)`, parsed.
pub fn history(db: &Db, n: u32, extra: &[&str]) -> Value {
    history_run(db, n, "json", extra).code(0).json()
}

/// `ecmguard history prune --history DB --older-than DURATION --now day(n)`.
pub fn prune(db: &Db, n: u32, older_than: &str) -> Output {
    Test::new()
        .args(&[
            "history",
            "prune",
            "--history",
            &db.arg(),
            "--older-than",
            older_than,
            "--now",
            &day(n),
        ])
        .run()
}

/// The findings of a JSON report as `(rule, image, status, first_seen, open_for_seconds)`.
pub fn findings(report: &Value) -> Vec<(String, Option<String>, String, String, i64)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_owned(),
                f["image"]["ImageId"].as_str().map(str::to_owned),
                f["status"].as_str().unwrap_or_default().to_owned(),
                f["first_seen"].as_str().unwrap_or("<absent>").to_owned(),
                f["open_for_seconds"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

/// A `check --history` process started in `dir` (which must hold
/// `policies/` and `images.json`), not waited for.
pub fn spawn_check(dir: &Path, db: &Db, n: u32, env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecmguard"));
    command
        .current_dir(dir)
        .args(["check", "--snapshot", "images.json", "--now"])
        .arg(day(n))
        .args(["--history", &db.arg(), "--format", "json"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    command.spawn().expect("spawn ecmguard")
}

/// A directory with a policy and images, for spawned processes.
pub fn workdir(policy: &str, images: &Value) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("policies")).expect("mkdir");
    std::fs::write(dir.path().join("policies/main.yaml"), policy).expect("policy");
    // The whole account: a listing that states its total.
    let total = images.as_array().map_or(0, Vec::len);
    let listing = serde_json::json!({ "TotalCount": total, "ImageSet": images });
    std::fs::write(
        dir.path().join("images.json"),
        serde_json::to_vec(&listing).expect("json"),
    )
    .expect("images");
    dir
}
