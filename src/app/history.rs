//! The history in the commands: `check --history` (open before fetching,
//! the open streaks for evaluation, the record after it) and `ecmguard
//! history` / `history prune`. The database work is `crate::history`'s; this
//! module decides what to open, reads the environment (`PGPASSWORD`, the
//! test hook) and where output goes.

use std::thread::JoinHandle;

use jiff::Timestamp;

use super::{Io, done, stdout_failed};
use crate::cli::{HistoryAction, HistoryArgs, HistoryFormat, PruneArgs};
use crate::diag::{Code, Diag};
use crate::history::account::Fingerprint;
use crate::history::actions::ApplyQuery;
use crate::history::record::{self, Checked};
use crate::history::render::{self, HistoryView};
use crate::history::summary::{self, Query};
use crate::history::{Facts, History, OpenOptions, Target, html};
use crate::image::ImageSet;
use crate::outcome::{Error, Outcome};
use crate::policy;
use crate::report::Report;
use crate::settings::{HistoryCommandSettings, HistorySettings, PruneSettings};

/// Test hook, compiled only with the `test-hooks` feature (which the tests
/// turn on and a release build never does): a file path. When set, `check
/// --history` creates that file inside its write transaction, just before the
/// commit, and waits there until the file is removed (at most a minute): a
/// test can then start a second writer against the held lock, or kill the
/// process mid-write and show that nothing of the run was kept.
#[cfg(feature = "test-hooks")]
pub const PAUSE_BEFORE_COMMIT: &str = "ECMGUARD_TEST_HISTORY_PAUSE";

/// A check's history: the open database, its account, and since when each
/// finding has been open (what evaluation is given).
pub(super) struct CheckHistory {
    history: History,
    account: String,
    pub facts: Facts,
    /// Who owns the run's images, once it is admitted.
    owners: Fingerprint,
}

fn options(create: bool) -> OpenOptions {
    OpenOptions {
        create,
        pg_password: std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()),
        pg_passfile: crate::history::pgpass::location(
            std::env::var("PGPASSFILE").ok().as_deref(),
            std::env::var("HOME").ok().as_deref(),
        ),
    }
}

pub(super) fn open_for_check(
    settings: Option<&HistorySettings>,
    now: Timestamp,
) -> Result<Option<Opening>, Error> {
    let Some(settings) = settings else {
        return Ok(None);
    };
    // Opened here, before any image is fetched: a path, URL, file or schema
    // that cannot be used stops the run before the API is asked anything.
    let mut history = History::open(&settings.target, &options(true)).map_err(Error::History)?;
    // The open streaks are read while the images load (the second core is
    // otherwise idle then); evaluation waits for them.
    let account = settings.account.clone();
    let reader = std::thread::Builder::new()
        .name("history-read".into())
        .spawn(move || {
            let facts = history.open_since(&account, now)?;
            Ok(CheckHistory {
                history,
                account,
                facts,
                owners: Fingerprint::default(),
            })
        })
        .map_err(|e| Error::History(thread_failed("start reading the history", &e)))?;
    Ok(Some(Opening { reader }))
}

/// `apply --history`: the database the actions are recorded in, opened (and created, and
/// migrated) before anything is done.
pub(super) fn open_for_apply(settings: Option<&HistorySettings>) -> Result<Option<History>, Error> {
    settings
        .map(|s| History::open(&s.target, &options(true)).map_err(Error::History))
        .transpose()
}

/// A history whose open streaks are being read.
pub(super) struct Opening {
    reader: JoinHandle<Result<CheckHistory, Diag>>,
}

impl Opening {
    /// The history with its facts, once they are read.
    pub(super) fn wait(self) -> Result<CheckHistory, Error> {
        let mut read = self.reader.join();
        // The streaks were allocated by the reading thread, among what it
        // freed as they grew: copied here, compactly and into the holes the
        // images left, they let that thread's memory go back to the system.
        // Kept there, its pages would stay counted through evaluation, the
        // check's peak (nothing on this thread reuses that memory).
        if let Ok(Ok(history)) = &mut read {
            history.facts.open = history.facts.open.clone();
        }
        crate::history::release_freed();
        match read {
            Ok(read) => read.map_err(Error::History),
            Err(_) => Err(Error::History(Diag::error(
                Code::HistoryRead,
                "reading the history's open findings stopped unexpectedly",
            ))),
        }
    }
}

fn thread_failed(what: &str, e: &std::io::Error) -> Diag {
    Diag::error(Code::HistoryRead, format!("cannot {what}: {e}"))
        .with_help("the system is out of threads or memory; run the check again")
}

/// Closes the database on a thread of its own once the run is recorded:
/// SQLite moves the run from its write-ahead log into the file when the last
/// connection closes, which need not hold up the reports. Dropping this
/// waits for it, so the process never exits mid-way.
pub(super) struct Closing(Option<JoinHandle<()>>);

impl Closing {
    pub(super) fn start(history: CheckHistory) -> Closing {
        let closer = std::thread::Builder::new()
            .name("history-close".into())
            .spawn(move || drop(history));
        // Without a thread, it is closed here, in line (`spawn` dropped it).
        Closing(closer.ok())
    }
}

impl Drop for Closing {
    fn drop(&mut self) {
        if let Some(closer) = self.0.take() {
            let _ = closer.join();
        }
    }
}

/// Refuse a run of another account than the label's (exit 2). A run that
/// checked no image ends nothing, so it needs no identity.
pub(super) fn admit(
    history: &mut CheckHistory,
    images: &ImageSet,
    checked: &Checked,
) -> Result<(), Error> {
    let whole_account = matches!(checked, Checked::WholeAccount) && !images.is_empty();
    // Worked out once, here, before evaluation holds its findings; the
    // record stores the same owners.
    history.owners = Fingerprint::of_images(images);
    history
        .facts
        .admit(&history.owners, whole_account)
        .map_err(Error::History)
}

/// Record the finished check; an error here is exit 2 (`exit.rs`).
pub(super) fn record(
    history: &mut CheckHistory,
    report: &Report<'_>,
    checked: Checked,
) -> Result<(), Error> {
    let run = record::run_record(report, &history.account, checked, &history.owners);
    let mut before_commit = pause_before_commit;
    // The facts go with the record: the streaks the run continues are
    // struck off them (nothing reads them after the evaluation).
    let facts = std::mem::take(&mut history.facts);
    history
        .history
        .record(
            &run,
            &record::ReportFindings::new(report),
            Some(facts),
            &mut before_commit,
        )
        .map_err(Error::History)?;
    Ok(())
}

/// The test hook's pause ([`PAUSE_BEFORE_COMMIT`]). The file is created
/// new (never through an existing file or symlink), and nothing happens
/// when it cannot be.
#[cfg(feature = "test-hooks")]
fn pause_before_commit() {
    use std::io::Write;
    let Some(path) = std::env::var_os(PAUSE_BEFORE_COMMIT) else {
        return;
    };
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut file| file.write_all(b"in the transaction\n"));
    if created.is_ok() {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::path::Path::new(&path).exists() && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// Without the test hooks, nothing happens before the commit.
#[cfg(not(feature = "test-hooks"))]
fn pause_before_commit() {}

/// `ecmguard history` and `ecmguard history prune`.
pub(super) fn run(args: &HistoryArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    if let Some(HistoryAction::Prune(prune_args)) = &args.action {
        return prune(prune_args, io);
    }
    let settings = HistoryCommandSettings::from_args(args, io.clock).map_err(Error::Usage)?;
    // Waivers first: a broken policy is reported before the database is touched.
    let waivers = match &settings.policy {
        Some(policy_settings) => {
            let loaded = policy::load(&policy_settings.paths, &policy_settings.compile)
                .map_err(Error::Policy)?;
            Some(summary::waivers_due(&loaded.policy, settings.now))
        }
        None => None,
    };
    let mut history = open_existing(&settings.target)?;
    let summary = history
        .summary(&Query {
            account: settings.account.clone(),
            since: settings.since,
            now: settings.now,
        })
        .map_err(Error::History)?;
    let applies = history
        .applies(&ApplyQuery {
            account: settings.account.clone(),
            since: settings.since.map(Timestamp::as_second),
            until: settings.now.as_second(),
        })
        .map_err(Error::History)?;
    let database = history.describe();
    let view = HistoryView {
        applies: &applies,
        summary: &summary,
        waivers: waivers.as_deref(),
        zone: &settings.zone,
        database: &database,
    };
    let written = match settings.format {
        HistoryFormat::Human => render::render_human(&view, io.stdout),
        HistoryFormat::Json => render::render_json(&view, io.stdout),
        HistoryFormat::Html => html::render(&view, io.stdout),
    };
    written.map_err(stdout_failed)?;
    done()
}

fn prune(args: &PruneArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let settings = PruneSettings::from_args(args, io.clock).map_err(Error::Usage)?;
    let mut history = open_existing(&settings.target)?;
    let pruned = history.prune(settings.before).map_err(Error::History)?;
    // An apply decides no streak: its record goes with its age alone.
    let applies = history
        .prune_applies(settings.before)
        .map_err(Error::History)?;
    let applies = if applies > 0 {
        format!(
            " and {}",
            crate::text::count(applies as u64, "apply", "applies")
        )
    } else {
        String::new()
    };
    let line = format!(
        "pruned {} ({}){applies} recorded more than {} ago from {}; the runs that open streaks, grace periods and account identities need are kept, whatever their age\n",
        crate::text::count(pruned.runs as u64, "run", "runs"),
        crate::text::count(pruned.findings as u64, "finding", "findings"),
        settings.older_than,
        history.describe()
    );
    io.stdout
        .write_all(line.as_bytes())
        .map_err(stdout_failed)?;
    done()
}

/// `history` and `prune` read a history that exists; they never create one.
fn open_existing(target: &Target) -> Result<History, Error> {
    History::open(target, &options(false)).map_err(Error::History)
}
