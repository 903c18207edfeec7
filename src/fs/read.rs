//! Files a user names for ecmguard to read whole (policies, policy tests,
//! baselines, credentials, param files): regular files only, read up to a
//! size cap. A FIFO would hang the run and `/dev/zero` would never end, so
//! both are refused before anything is read. (Snapshots stream and may come
//! from a pipe; they are read elsewhere.)

use std::io::{self, Read};
use std::path::Path;

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// It does not exist.
    NotFound,
    /// Not a regular file: a directory, FIFO, socket or device.
    NotRegular(&'static str),
    /// Larger than the cap.
    TooLarge {
        size: u64,
        limit: u64,
    },
    Io(io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotFound => f.write_str("no such file"),
            ReadError::NotRegular(kind) => write!(f, "it is {kind}, not a regular file"),
            ReadError::TooLarge { size, limit } => {
                write!(f, "it is {size} bytes; the limit is {limit} bytes")
            }
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Read a regular file of at most `limit` bytes.
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_without_blocking(path)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    let kind = kind_of(&meta.file_type());
    if let Some(kind) = kind {
        return Err(ReadError::NotRegular(kind));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    // The size can change under us; never read more than the cap.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// Open for reading without waiting for a FIFO's writer (it is refused
/// once its type is known).
fn open_without_blocking(path: &Path) -> Result<std::fs::File, ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    #[cfg(not(target_os = "linux"))]
    if let Ok(meta) = std::fs::metadata(path)
        && let Some(kind) = kind_of(&meta.file_type())
    {
        return Err(ReadError::NotRegular(kind));
    }
    options.open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Io(e),
    })
}

/// `None` for a regular file, else what it is.
fn kind_of(file_type: &std::fs::FileType) -> Option<&'static str> {
    if file_type.is_file() {
        return None;
    }
    if file_type.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a FIFO");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return Some("a device");
        }
    }
    Some("not a regular file")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_others_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.yaml");
        std::fs::write(&file, "rules: []\n").unwrap();
        assert_eq!(read_capped(&file, 100).unwrap(), b"rules: []\n");
        assert!(matches!(
            read_capped(&file, 3),
            Err(ReadError::TooLarge { size: 10, limit: 3 })
        ));
        assert!(matches!(
            read_capped(dir.path(), 100),
            Err(ReadError::NotRegular("a directory"))
        ));
        assert!(matches!(
            read_capped(&dir.path().join("none"), 100),
            Err(ReadError::NotFound)
        ));
        #[cfg(unix)]
        {
            assert!(matches!(
                read_capped(Path::new("/dev/zero"), 100),
                Err(ReadError::NotRegular("a device"))
            ));
            let fifo = dir.path().join("fifo");
            let status = std::process::Command::new("mkfifo").arg(&fifo).status();
            if status.is_ok_and(|s| s.success()) {
                assert!(matches!(
                    read_capped(&fifo, 100),
                    Err(ReadError::NotRegular("a FIFO"))
                ));
            }
        }
    }
}
