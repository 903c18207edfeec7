//! A real PostgreSQL server for the history tests, found where people have
//! it, started once per test process:
//!
//! 1. `ECMGUARD_TEST_POSTGRES_URL`: an existing server (a URL whose user may
//!    create databases); each test gets a fresh database on it;
//! 2. else `initdb` and `pg_ctl` from `PATH`, from `pg_config --bindir`, or
//!    from Debian's `/usr/lib/postgresql/*/bin` (the newest; another root
//!    through `ECMGUARD_TEST_POSTGRES_ROOT`), started into a temporary
//!    directory on a free 127.0.0.1 port with password login
//!    (scram-sha-256) over TCP. As root, the server runs as the `postgres`
//!    user (PostgreSQL refuses to run as root). A watchdog shell stops it
//!    and removes its directory when this process exits.
//!
//! Where there is none, the PostgreSQL cases say so on stderr (past the
//! test harness's capture) and do not run: the SQLite cases always do. With
//! `ECMGUARD_REQUIRE_POSTGRES=1` (CI sets it) a missing server fails them
//! instead, so they cannot silently stop running. A server that is found
//! but does not start always fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use postgres::{Client, NoTls};

/// The password of a server the tests start: also what the secret-search
/// test looks for.
const STARTED_PASSWORD: &str = "Pg-History-Secret-7f3c1e";

pub struct Server {
    /// The URL of the server's `postgres` database, with its password.
    url: url::Url,
    password: String,
}

/// Why there is no server: nothing to start one with (a skip, unless
/// required), or one that failed (always a failure).
enum Unavailable {
    NotInstalled(String),
    Failed(String),
}

static SERVER: OnceLock<Result<Server, Unavailable>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);
static SKIP_NOTE: OnceLock<()> = OnceLock::new();

/// The shared server, started on first use; `None` (after a note on
/// stderr) when there is none and none is required.
pub fn server() -> Option<&'static Server> {
    match SERVER.get_or_init(find) {
        Ok(server) => Some(server),
        Err(Unavailable::Failed(why)) => panic!("{why}"),
        Err(Unavailable::NotInstalled(why)) => {
            if required() {
                panic!(
                    "{why}\nECMGUARD_REQUIRE_POSTGRES=1: the PostgreSQL history tests must run here"
                );
            }
            SKIP_NOTE.get_or_init(|| {
                // Written to the process's stderr, not through the
                // harness's capture: a skip must be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "\nnote: the PostgreSQL history tests are SKIPPED (they pass without running): {why}\n      \
                     Set ECMGUARD_REQUIRE_POSTGRES=1 to make a missing server a failure (CI does).\n"
                );
            });
            None
        }
    }
}

/// Whether a missing server fails the tests (`ECMGUARD_REQUIRE_POSTGRES=1`,
/// set by CI) instead of skipping them.
fn required() -> bool {
    std::env::var("ECMGUARD_REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v == "true")
}

impl Server {
    /// A fresh database of its own, as a URL with the password in it.
    pub fn new_database(&self) -> String {
        let name = format!(
            "history_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::SeqCst)
        );
        let mut admin = self.admin("postgres");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a test database");
        let mut url = self.url.clone();
        url.set_path(&name);
        url.to_string()
    }

    /// A client on one database, for the tests' own queries.
    pub fn admin(&self, database: &str) -> Client {
        let mut config: postgres::Config = self.url.as_str().parse().expect("the server's URL");
        config.dbname(database);
        config.connect(NoTls).expect("connect to the test server")
    }

    /// The password of the tests' login: never to appear in any output.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `host` and `port` of the server, for `.pgpass` lines.
    pub fn host_port(&self) -> (String, u16) {
        (
            self.url.host_str().unwrap_or("127.0.0.1").to_owned(),
            self.url.port().unwrap_or(5432),
        )
    }

    /// The login user.
    pub fn user(&self) -> String {
        match self.url.username() {
            "" => "postgres".to_owned(),
            user => user.to_owned(),
        }
    }
}

fn find() -> Result<Server, Unavailable> {
    if let Ok(text) = std::env::var("ECMGUARD_TEST_POSTGRES_URL")
        && !text.trim().is_empty()
    {
        let url = url::Url::parse(text.trim()).map_err(|e| {
            Unavailable::Failed(format!("ECMGUARD_TEST_POSTGRES_URL is not a URL: {e}"))
        })?;
        let password = url
            .password()
            .map(|p| {
                url::form_urlencoded::parse(format!("p={p}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let server = Server { url, password };
        // Reachable now, or a clear failure (the variable promises a server).
        let mut config: postgres::Config = server
            .url
            .as_str()
            .parse()
            .map_err(|e| Unavailable::Failed(format!("ECMGUARD_TEST_POSTGRES_URL: {e}")))?;
        config.dbname("postgres");
        config.connect(NoTls).map_err(|e| {
            Unavailable::Failed(format!(
                "ECMGUARD_TEST_POSTGRES_URL names a server that cannot be used: {e}"
            ))
        })?;
        return Ok(server);
    }
    let bin = bin_dir().map_err(Unavailable::NotInstalled)?;
    start(&bin).map_err(Unavailable::Failed)
}

/// The directory holding `initdb` and `pg_ctl`: `PATH` first, then
/// `pg_config --bindir`, then Debian's versioned directories.
fn bin_dir() -> Result<PathBuf, String> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_server(&dir) {
                return Ok(dir);
            }
        }
    }
    if let Ok(out) = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_server(&dir) {
            return Ok(dir);
        }
    }
    let root = std::env::var_os("ECMGUARD_TEST_POSTGRES_ROOT")
        .map_or_else(|| PathBuf::from("/usr/lib/postgresql"), PathBuf::from);
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(&root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        format!(
            "no PostgreSQL server binaries (initdb, pg_ctl) on PATH, from `pg_config --bindir`, or in \
             {}/*/bin. Install PostgreSQL (Debian: `apt-get install -y postgresql`), or point \
             ECMGUARD_TEST_POSTGRES_URL at a server whose user may create databases.",
            root.display()
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn id_of(flag: &str) -> Result<u32, String> {
    let out = Command::new("id")
        .args([flag, "postgres"])
        .output()
        .map_err(|e| format!("id {flag} postgres: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| "no `postgres` user: install the postgresql package".to_owned())
}

/// `bin/program args…`, as the postgres user when we are root.
fn pg(bin: &Path, program: &str, args: &[&str], root: bool) -> Command {
    let path = bin.join(program);
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(path).args(args);
        command
    } else {
        let mut command = Command::new(path);
        command.args(args);
        command
    }
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn run(mut command: Command, what: &str) -> Result<(), String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn start(bin: &Path) -> Result<Server, String> {
    let bin = bin.to_owned();
    let root = is_root();
    let dir = tempfile::Builder::new()
        .prefix("ecmguard-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    let data = dir.join("data");
    let pwfile = dir.join("pw");
    std::fs::write(&pwfile, STARTED_PASSWORD).map_err(|e| e.to_string())?;
    if root {
        let (uid, gid) = (id_of("-u")?, id_of("-g")?);
        for path in [&dir, &pwfile] {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        }
    }
    let (data_s, pw_s, dir_s) = (
        data.display().to_string(),
        pwfile.display().to_string(),
        dir.display().to_string(),
    );
    run(
        pg(
            &bin,
            "initdb",
            &[
                "-D",
                &data_s,
                "-U",
                "postgres",
                &format!("--pwfile={pw_s}"),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            root,
        ),
        "initdb",
    )?;
    // A port can be taken between probing and binding: try a few.
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_port()?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={dir_s} -c fsync=off -c max_connections=200"
        );
        let log = format!("{dir_s}/log");
        match run(
            pg(
                &bin,
                "pg_ctl",
                &[
                    "-D", &data_s, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
                ],
                root,
            ),
            "pg_ctl start",
        ) {
            Ok(()) => {
                watchdog(&bin, &data_s, &dir_s, root);
                let url = url::Url::parse(&format!(
                    "postgres://postgres:{STARTED_PASSWORD}@127.0.0.1:{port}/postgres"
                ))
                .map_err(|e| e.to_string())?;
                return Ok(Server {
                    url,
                    password: STARTED_PASSWORD.to_owned(),
                });
            }
            Err(e) => {
                last = format!("{e}\n{}", std::fs::read_to_string(&log).unwrap_or_default());
            }
        }
    }
    Err(format!("the PostgreSQL test server did not start: {last}"))
}

/// Stop the server and remove its directory once this test process is gone.
fn watchdog(bin: &Path, data: &str, dir: &str, root: bool) {
    let pg_ctl = bin.join("pg_ctl").display().to_string();
    let stop = if root {
        format!("runuser -u postgres -- {pg_ctl} -D {data} -m immediate stop")
    } else {
        format!("{pg_ctl} -D {data} -m immediate stop")
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id()
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}
