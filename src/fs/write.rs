//! Files the tool writes (reports, snapshots, baselines) are complete or
//! absent: each is written into a new temporary file in the destination's
//! directory, flushed and synced, then renamed over the destination. A
//! failed or interrupted run leaves the previous file untouched and no
//! partial file behind; a symlink at the destination is replaced, never
//! followed; a file that happens to have the temporary's name is never
//! touched. Writes stream through a buffer: memory does not grow with the
//! size of what is written.
//!
//! On Linux the temporary has no name until it is complete (`O_TMPFILE`),
//! so even a killed process leaves nothing behind; elsewhere (or on a file
//! system without `O_TMPFILE`) it is a hidden, exclusively created file that
//! is removed on every failure the process survives, and by
//! [`abandon_unfinished`] when a signal ends the process (the binary calls it
//! on Ctrl-C and SIGTERM).
//!
//! A destination that exists and is neither a regular file nor a directory
//! (`/dev/null`, `/dev/stdout`, a named pipe, the `/dev/fd/63` of a shell's
//! process substitution) is a stream, not a file to replace: it is written
//! directly. Renaming over it would put a regular file where a device was.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The write buffer: large enough that a big report costs few system calls.
const BUFFER: usize = 1 << 16;

/// A file being written; [`AtomicFile::commit`] puts it in place.
pub struct AtomicFile {
    dest: PathBuf,
    file: BufWriter<File>,
    temporary: Temporary,
}

enum Temporary {
    /// No temporary: the destination is a device or a pipe, written as it is.
    Stream,
    /// An unnamed `O_TMPFILE` in the destination's directory.
    #[cfg(target_os = "linux")]
    Unnamed,
    /// A named temporary, deleted when dropped uncommitted, and listed
    /// while it exists.
    Named(tempfile::TempPath, Listed),
}

/// The named temporaries that exist now. A process ended by a signal runs no
/// destructor, so the signal handler removes these ([`abandon_unfinished`]).
/// Commits hold the lock while they rename, so a handler never removes a
/// file being put in place, and no commit starts after it.
static UNFINISHED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn unfinished() -> MutexGuard<'static, Vec<PathBuf>> {
    UNFINISHED.lock().unwrap_or_else(|e| e.into_inner())
}

/// A path in [`UNFINISHED`] for as long as this lives.
struct Listed(PathBuf);

impl Listed {
    fn new(path: &Path) -> Listed {
        unfinished().push(path.to_owned());
        Listed(path.to_owned())
    }
}

impl Drop for Listed {
    fn drop(&mut self) {
        let mut list = unfinished();
        if let Some(i) = list.iter().position(|p| *p == self.0) {
            list.swap_remove(i);
        }
    }
}

/// What [`abandon_unfinished`] returns: while it is held, no output file is
/// put in place.
pub struct Abandoned {
    _held: MutexGuard<'static, Vec<PathBuf>>,
}

/// For a process about to exit on a signal: remove every temporary of a file
/// still being written (an unnamed one vanishes with the process by itself),
/// and keep any further commit from happening. Hold the result until the
/// process exits. A commit in progress finishes first: its file is complete.
pub fn abandon_unfinished() -> Abandoned {
    let held = unfinished();
    for path in held.iter() {
        let _ = std::fs::remove_file(path);
    }
    Abandoned { _held: held }
}

impl AtomicFile {
    /// Start writing `dest`. Fails at once when its directory is missing or
    /// not writable, before any other work is done.
    pub fn create(dest: &Path) -> io::Result<AtomicFile> {
        let dir = match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        if dest.file_name().is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path names a directory, not a file",
            ));
        }
        // Where the destination leads (symlinks followed, so `/dev/stdout`
        // is seen as the terminal or pipe it is).
        if let Ok(meta) = std::fs::metadata(dest) {
            if meta.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the path names a directory, not a file",
                ));
            }
            if !meta.is_file() {
                let file = std::fs::OpenOptions::new().write(true).open(dest)?;
                return Ok(AtomicFile {
                    dest: dest.to_owned(),
                    file: BufWriter::with_capacity(BUFFER, file),
                    temporary: Temporary::Stream,
                });
            }
        }
        #[cfg(target_os = "linux")]
        if let Ok(file) = unnamed_in(dir) {
            return Ok(AtomicFile {
                dest: dest.to_owned(),
                file: BufWriter::with_capacity(BUFFER, file),
                temporary: Temporary::Unnamed,
            });
        }
        let named = tempfile::Builder::new()
            .prefix(".ecmguard-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        let (file, path) = named.into_parts();
        let listed = Listed::new(&path);
        // Like a file created the ordinary way (tempfile makes it 0600).
        set_ordinary_permissions(&file)?;
        Ok(AtomicFile {
            dest: dest.to_owned(),
            file: BufWriter::with_capacity(BUFFER, file),
            temporary: Temporary::Named(path, listed),
        })
    }

    /// The destination.
    pub fn path(&self) -> &Path {
        &self.dest
    }

    /// Flush, sync, and rename over the destination. Only now does the
    /// destination change.
    pub fn commit(self) -> io::Result<()> {
        let AtomicFile {
            dest,
            file,
            temporary,
        } = self;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        if let Temporary::Stream = temporary {
            // Flushed into the device or pipe; there is nothing to sync.
            return Ok(());
        }
        file.sync_all()?;
        // Renamed under the lock: a signal handler waits for it (the file is
        // complete), and the hidden name `link_over` gives the unnamed file
        // for a moment is never left behind. Unlisted after the lock is let
        // go (unlisting takes it).
        let mut listed = None;
        let result = {
            let _renaming = unfinished();
            match temporary {
                Temporary::Stream => Ok(()),
                #[cfg(target_os = "linux")]
                Temporary::Unnamed => link_over(&file, &dest),
                Temporary::Named(path, entry) => {
                    listed = Some(entry);
                    path.persist(&dest).map_err(|e| e.error)
                }
            }
        };
        drop(listed);
        result
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(unix)]
fn set_ordinary_permissions(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_ordinary_permissions(_: &File) -> io::Result<()> {
    Ok(())
}

/// An unnamed file in `dir`: it gets a name only when complete.
#[cfg(target_os = "linux")]
fn unnamed_in(dir: &Path) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        dir,
        OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC,
        // What an ordinary new file gets; the umask applies.
        Mode::from_raw_mode(0o666),
    )?;
    Ok(File::from(fd))
}

/// Give the unnamed file a fresh hidden name beside `dest` (never an
/// existing one: linking fails rather than replace), then rename it over
/// `dest`, which replaces a symlink there rather than following it.
#[cfg(target_os = "linux")]
fn link_over(file: &File, dest: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let dir = match dest.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    for _ in 0..16 {
        let name = dir.join(format!(".ecmguard-{:016x}.tmp", random_u64()));
        match rustix::fs::linkat(
            rustix::fs::CWD,
            proc_path.as_str(),
            rustix::fs::CWD,
            &name,
            rustix::fs::AtFlags::SYMLINK_FOLLOW,
        ) {
            Ok(()) => {
                return std::fs::rename(&name, dest).inspect_err(|_| {
                    let _ = std::fs::remove_file(&name);
                });
            }
            Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary name beside the destination",
    ))
}

/// 64 bits from the standard library's per-process random hash keys.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    hasher.finish()
}

/// The identity of an existing file (device and inode), to tell whether two
/// paths name the same file however they are spelt.
#[cfg(unix)]
pub fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
pub fn file_identity(path: &Path) -> Option<(u64, u64)> {
    let canonical = std::fs::canonicalize(path).ok()?;
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    canonical.hash(&mut hasher);
    Some((0, hasher.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".ecmguard-"))
            .collect()
    }

    /// A named temporary is listed for a signal handler exactly while it
    /// exists.
    #[test]
    fn named_temporaries_are_listed_while_they_exist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".ecmguard-listed.tmp");
        let listed = |p: &Path| unfinished().iter().any(|q| q == p);
        let entry = Listed::new(&path);
        assert!(listed(&path));
        drop(entry);
        assert!(!listed(&path));
    }

    #[test]
    fn the_destination_changes_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("report.json");
        std::fs::write(&dest, "old").unwrap();
        let mut file = AtomicFile::create(&dest).unwrap();
        file.write_all(b"new, complete").unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old");
        drop(file);
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old");
        assert!(leftovers(dir.path()).is_empty());
        let mut file = AtomicFile::create(&dest).unwrap();
        file.write_all(b"new, complete").unwrap();
        file.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new, complete");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_destination_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep me").unwrap();
        let dest = dir.path().join("report.json");
        std::os::unix::fs::symlink(&target, &dest).unwrap();
        let mut file = AtomicFile::create(&dest).unwrap();
        file.write_all(b"report").unwrap();
        file.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "report");
        assert!(
            !std::fs::symlink_metadata(&dest)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    /// A device or a pipe stays what it is: written to, never replaced by
    /// a regular file. (A named pipe stands in for `/dev/null`, so the test
    /// needs no privileges and, on a regression, harms nothing.)
    #[cfg(unix)]
    #[test]
    fn a_device_or_pipe_at_the_destination_is_written_not_replaced() {
        use std::io::Read;
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // A reader that does not wait for a writer, so a regression fails
        // rather than hangs.
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(&fifo)
            .unwrap();
        let mut file = AtomicFile::create(&fifo).unwrap();
        file.write_all(b"streamed").unwrap();
        file.commit().unwrap();
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo(),
            "still a pipe"
        );
        let mut text = String::new();
        let _ = reader.read_to_string(&mut text);
        assert_eq!(text, "streamed");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AtomicFile::create(dir.path()).is_err());
    }

    #[test]
    fn a_missing_directory_fails_at_create() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AtomicFile::create(&dir.path().join("no/such/dir/x.json")).is_err());
    }
}
