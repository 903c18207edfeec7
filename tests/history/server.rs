//! A real PostgreSQL server for the history tests, started once per test
//! process from Debian's `postgresql` package: `initdb` and `pg_ctl` into a
//! temporary directory, listening on a free 127.0.0.1 port, password login
//! (scram-sha-256) over TCP. As root, the server runs as the `postgres`
//! user (PostgreSQL refuses to run as root). A watchdog shell stops the
//! server and removes its directory when this process exits.
//!
//! Missing binaries fail the tests that need them, with the fix: these
//! tests never pass without a server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use postgres::{Client, NoTls};

/// The superuser's password: also what the secret-search test looks for.
pub const PASSWORD: &str = "Pg-History-Secret-7f3c1e";

pub struct Server {
    pub port: u16,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The shared server, started on first use.
pub fn server() -> &'static Server {
    match SERVER.get_or_init(start) {
        Ok(server) => server,
        Err(why) => panic!("{why}"),
    }
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
        format!(
            "postgres://postgres:{PASSWORD}@127.0.0.1:{}/{name}",
            self.port
        )
    }

    /// A client on one database, for the tests' own queries.
    pub fn admin(&self, database: &str) -> Client {
        let params = format!(
            "host=127.0.0.1 port={} user=postgres password={PASSWORD} dbname={database}",
            self.port
        );
        Client::connect(&params, NoTls).expect("connect to the test server")
    }
}

fn bin_dir() -> Result<PathBuf, String> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): the history tests run \
         against a real server. Install it with `apt-get install -y postgresql` (.ci/run does)."
            .to_owned()
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

fn start() -> Result<Server, String> {
    let bin = bin_dir()?;
    let root = is_root();
    let dir = tempfile::Builder::new()
        .prefix("ecmguard-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    let data = dir.join("data");
    let pwfile = dir.join("pw");
    std::fs::write(&pwfile, PASSWORD).map_err(|e| e.to_string())?;
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
                return Ok(Server { port });
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
