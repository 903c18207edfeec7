//! `ecmguard fetch -o FILE`: the complete result set, each image exactly as
//! the API sent it, saved as an ecmguard snapshot. Also the credential
//! resolution every live fetch starts with.

use std::io::Write;
use std::path::Path;

use super::{Io, done, file_failed, stdout_failed};
use crate::cli::FetchArgs;
use crate::diag::{Code, Diag};
use crate::fs::write::AtomicFile;
use crate::outcome::{Error, Outcome};
use crate::settings::{FetchSettings, LiveSettings};
use crate::source::live::{self, Blocking, Fetched, FetchedUsage, LiveConfig, UsageScope};
use crate::source::snapshot;
use crate::text::escape;
use crate::usage::SectionOut;

use super::modules::Resolved;

pub(super) fn run(args: &FetchArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let settings = FetchSettings::from_args(args, io.clock).map_err(Error::Usage)?;
    refuse_overwriting_the_config(&settings)?;
    let needed_by = usage_needed_by(&settings)?;
    // The destination is opened first: an unwritable one is found before
    // the whole fetch, not after it.
    let mut file = match settings.output.as_str() {
        "-" => None,
        path => Some(
            AtomicFile::create(Path::new(path)).map_err(|e| file_failed(Path::new(path), &e))?,
        ),
    };
    let wanted = Wanted {
        usage: needed_by.as_deref(),
        modules: &[],
    };
    let Live {
        config,
        fetched,
        usage,
        ..
    } = fetch_live(&settings.live, wanted, io)?;
    let document = SnapshotOut {
        schema: snapshot::SNAPSHOT_SCHEMA,
        fetched_at: settings.zone.rfc3339((io.clock)()),
        endpoint: &config.endpoint,
        filters: fetched.filters_json(),
        total_count: fetched.total_count,
        image_set: &fetched.images,
        usage: usage.as_ref().map(|u| SectionOut::of(&u.set)),
    };
    match &mut file {
        // The snapshot is the product: a reader that stopped reading did
        // not get it, so every failure on stdout is an error here.
        None => write_snapshot(&document, io.stdout)
            .and_then(|()| io.stdout.flush())
            .map_err(stdout_failed)?,
        Some(file) => {
            write_snapshot(&document, file).map_err(|e| file_failed(file.path(), &e))?;
        }
    }
    if let Some(file) = file {
        let path = file.path().to_owned();
        file.commit().map_err(|e| file_failed(&path, &e))?;
        // What the fetch took is on the progress sink's closing line.
        let note = format!(
            "snapshot written to {}\n",
            escape(&path.display().to_string())
        );
        let _ = io.stderr.write_all(note.as_bytes());
    }
    done()
}

/// Why the snapshot saves usage: `--usage`, or the policies it is for read it. Policies
/// that do not load stop the fetch, as they stop a check (exit 2).
fn usage_needed_by(settings: &FetchSettings) -> Result<Option<String>, Error> {
    if settings.usage {
        return Ok(Some("--usage".to_owned()));
    }
    let Some(policy) = &settings.policy else {
        return Ok(None);
    };
    let loaded = crate::policy::load(&policy.paths, &policy.compile).map_err(Error::Policy)?;
    let readers = loaded.policy.usage_readers();
    Ok((!readers.is_empty()).then(|| readers.describe()))
}

/// `fetch -o ecmguard.yaml` would replace the config file the run read.
fn refuse_overwriting_the_config(settings: &FetchSettings) -> Result<(), Error> {
    let (Some(config), output) = (&settings.config_file, Path::new(&settings.output)) else {
        return Ok(());
    };
    let identity = crate::fs::write::file_identity(output);
    if settings.output == "-"
        || identity.is_none()
        || identity != crate::fs::write::file_identity(config)
    {
        return Ok(());
    }
    Err(Error::usage(
        crate::diag::Diag::error(
            crate::diag::Code::OutputIsInput,
            format!(
                "-o {} is the same file as the config file {}: writing it would destroy what the run reads",
                settings.output,
                config.display()
            ),
        )
        .with_help("write the snapshot somewhere else; nothing was fetched or written"),
    ))
}

/// The ecmguard snapshot document; each image exactly as the API sent it.
#[derive(serde::Serialize)]
struct SnapshotOut<'a> {
    schema: &'static str,
    fetched_at: String,
    endpoint: &'a str,
    filters: serde_json::Value,
    total_count: u64,
    #[serde(rename = "ImageSet")]
    image_set: &'a [Box<serde_json::value::RawValue>],
    /// The instance and module listings, when usage was fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<SectionOut<'a>>,
}

/// Streamed, pretty-printed, with a final newline: never held whole.
fn write_snapshot(document: &SnapshotOut<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, document)?;
    out.write_all(b"\n")
}

/// What a live run lists besides the images.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Wanted<'a> {
    /// Usage, because this reads it (`the rules a and b`, `--usage`): the subject of the
    /// diagnostics that say why a failed usage listing was needed.
    pub(super) usage: Option<&'a str>,
    /// `--module`: these modules first, and then their default images with the others.
    pub(super) modules: &'a [String],
}

/// What a live run listed.
pub(super) struct Live {
    pub(super) config: LiveConfig,
    pub(super) fetched: Fetched,
    pub(super) usage: Option<FetchedUsage>,
    /// The `--module`s, resolved to their default images.
    pub(super) modules: Resolved,
    /// What the module lookups took (counted into the run's requests).
    pub(super) module_stats: live::FetchStats,
}

/// Resolve credentials (after everything else was validated) and fetch the images, then
/// what else is `wanted`, in one session (one deadline, a pacer per action).
pub(super) fn fetch_live(
    settings: &LiveSettings,
    wanted: Wanted<'_>,
    io: &mut Io<'_>,
) -> Result<Live, Error> {
    let config = live_config(settings, io)?;
    let listed = list(config, wanted, io.progress);
    io.progress.finish();
    listed
}

/// The live settings with their credentials, resolved now (after everything else was
/// validated); the settings' warnings and an exposed credentials file are said on stderr.
pub(super) fn live_config(settings: &LiveSettings, io: &mut Io<'_>) -> Result<LiveConfig, Error> {
    super::print_diagnostics(&settings.warnings, io);
    let mut config = settings.config.clone();
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let env = |key: &str| std::env::var(key).ok();
    config.credentials =
        live::resolve_credentials(settings.profile.as_deref(), &env, home.as_deref())
            .map_err(|e| Error::Fetch(e.into()))?;
    if let Some(path) = config.credentials.exposed_file() {
        let warning = Diag::warning(
            Code::CredentialsExposed,
            format!(
                "the credentials file {} can be read by other users of this machine",
                path.display()
            ),
        )
        .with_help(format!(
            "it holds a secret key: chmod 600 {}",
            path.display()
        ));
        super::print_diagnostics(&[warning], io);
    }
    Ok(config)
}

/// The listings of a run, in order: the `--module`s (their default images join the image
/// filter), the images, then usage; one session, so one deadline and a pacer per action.
fn list(
    config: LiveConfig,
    wanted: Wanted<'_>,
    progress: &dyn live::Progress,
) -> Result<Live, Error> {
    let run = Blocking::new(&config)?;
    let mut filters = config.filters.clone();
    let (mut modules, mut module_stats) = (Resolved::default(), live::FetchStats::default());
    if !wanted.modules.is_empty() {
        let (found, stats) = run.modules(wanted.modules, progress)?;
        module_stats = stats;
        modules =
            super::modules::resolve(wanted.modules, &found, || Ok(run.modules(&[], progress)?.0))?;
        let images = modules.images();
        match filters.iter_mut().find(|f| f.name == "image-id") {
            // --image too: the union.
            Some(filter) => {
                for image in images {
                    if !filter.values.contains(&image) {
                        filter.values.push(image);
                    }
                }
            }
            None if !images.is_empty() => filters.push(live::image_id_filter(images)),
            // Only modules without a default image: there is no image to list (listing
            // without a filter would judge the whole account instead).
            None => {
                let usage = match wanted.usage {
                    Some(needed_by) => Some(run.usage(UsageScope::Account, needed_by, progress)?),
                    None => None,
                };
                return Ok(Live {
                    fetched: Fetched::nothing(filters),
                    config,
                    usage,
                    modules,
                    module_stats,
                });
            }
        }
    }
    let fetched = run.images(&filters, progress)?;
    let usage = match wanted.usage {
        Some(needed_by) => Some(run.usage(UsageScope::Account, needed_by, progress)?),
        None => None,
    };
    Ok(Live {
        config,
        fetched,
        usage,
        modules,
        module_stats,
    })
}
