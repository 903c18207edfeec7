//! libpq's password file (`~/.pgpass`, or the file `PGPASSFILE` names), read
//! the way libpq reads it, so a PostgreSQL history URL need not hold a
//! password (docs/history.md, "Where the history lives").
//!
//! Each line is `hostname:port:database:username:password`; each of the
//! first four fields is a literal or `*` (anything); `\` escapes `:` and `\`;
//! lines starting with `#` are comments; the first matching line wins. A
//! Unix-socket connection matches the host `localhost`. On Unix the file is
//! ignored when group or others may access it (libpq's rule: a password
//! file must be `0600` or stricter), and when it is not a regular file.

use std::path::{Path, PathBuf};

/// A password file may not be larger than this (libpq reads line by line;
/// a file this large is not a password file).
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// What a connection is matched on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted<'a> {
    /// The host as given (`localhost` for a Unix socket).
    pub host: &'a str,
    pub port: u16,
    pub database: &'a str,
    pub user: &'a str,
}

/// The outcome of a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Password(String),
    /// No file, or no line for this connection.
    Nothing,
    /// The file exists but was not used, and why (for the message of a
    /// login that then fails; never holds a password).
    Ignored(String),
}

/// Look up the password for `wanted` in `file`.
pub(crate) fn lookup(file: &Path, wanted: &Wanted<'_>) -> Found {
    let meta = match std::fs::metadata(file) {
        Ok(meta) => meta,
        Err(_) => return Found::Nothing,
    };
    if !meta.is_file() {
        return Found::Ignored(format!(
            "the password file {} is not a plain file",
            file.display()
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Found::Ignored(format!(
                "the password file {} was ignored: it has group or world access (chmod 0600 it, as libpq requires)",
                file.display()
            ));
        }
    }
    let bytes = match crate::fs::read::read_capped(file, MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(e) => {
            return Found::Ignored(format!(
                "the password file {} cannot be read: {e}",
                file.display()
            ));
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(password) = match_line(line, wanted) {
            return Found::Password(password);
        }
    }
    Found::Nothing
}

/// Where the password file is: `PGPASSFILE`, else `~/.pgpass`.
pub fn location(pgpassfile: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
    match pgpassfile.filter(|p| !p.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => home
            .filter(|h| !h.is_empty())
            .map(|h| Path::new(h).join(".pgpass")),
    }
}

/// The password of `line` when its first four fields match `wanted`.
fn match_line(line: &str, wanted: &Wanted<'_>) -> Option<String> {
    let fields = split(line);
    // Fewer than five fields: not an entry (libpq skips it). A fifth field
    // holds the rest of the line, colons (escaped or not) included.
    if fields.len() < 5 {
        return None;
    }
    let port = wanted.port.to_string();
    let matches = |field: &str, value: &str| field == "*" || field == value;
    (matches(&fields[0], wanted.host)
        && matches(&fields[1], &port)
        && matches(&fields[2], wanted.database)
        && matches(&fields[3], wanted.user))
    .then(|| fields[4].clone())
}

/// The fields of a line, unescaped: `\x` is `x`; an unescaped `:` ends one
/// of the first four fields, and the fifth is the rest of the line.
fn split(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next()
                    && let Some(field) = fields.last_mut()
                {
                    field.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(field) = fields.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANTED: Wanted<'static> = Wanted {
        host: "db.internal",
        port: 5432,
        database: "ecmguard",
        user: "ci",
    };

    #[test]
    fn the_first_matching_line_wins_with_wildcards() {
        assert_eq!(
            match_line("db.internal:5432:ecmguard:ci:s3cret", &WANTED),
            Some("s3cret".into())
        );
        assert_eq!(match_line("*:*:*:ci:any", &WANTED), Some("any".into()));
        assert_eq!(match_line("db.internal:5433:*:*:x", &WANTED), None);
        assert_eq!(match_line("other:*:*:*:x", &WANTED), None);
        assert_eq!(match_line("*:*:*:*", &WANTED), None, "no password field");
    }

    #[test]
    fn backslash_escapes_colons_and_backslashes() {
        assert_eq!(
            match_line(r"*:*:*:ci:pa\:ss\\word", &WANTED),
            Some(r"pa:ss\word".into())
        );
        let odd = Wanted {
            database: "a:b",
            ..WANTED
        };
        assert_eq!(match_line(r"*:*:a\:b:*:x", &odd), Some("x".into()));
        assert_eq!(match_line("*:*:a:b:*:x", &odd), None);
        // The password keeps later colons as written.
        assert_eq!(match_line("*:*:*:*:a:b", &WANTED), Some("a:b".into()));
    }

    #[test]
    fn the_file_comes_from_pgpassfile_or_home() {
        assert_eq!(
            location(Some("/etc/pw"), Some("/home/u")),
            Some(PathBuf::from("/etc/pw"))
        );
        assert_eq!(
            location(None, Some("/home/u")),
            Some(PathBuf::from("/home/u/.pgpass"))
        );
        assert_eq!(location(Some(""), None), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "# comment\n*:*:*:*:s3cret\n").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(lookup(&file, &WANTED), Found::Password("s3cret".into()));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let Found::Ignored(why) = lookup(&file, &WANTED) else {
            panic!("a group-readable file is ignored");
        };
        assert!(
            why.contains("chmod 0600") && !why.contains("s3cret"),
            "{why}"
        );
        assert_eq!(lookup(&dir.path().join("none"), &WANTED), Found::Nothing);
    }
}
