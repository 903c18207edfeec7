//! Credentials: the [`Secret`] wrapper, and where the secret id, key and token come from.
//!
//! The lookup order (docs/live.md, "Credentials"): without a profile, the environment, then `[default]` of the
//! SDK credentials file; with `--profile NAME`, tccli's `~/.tccli/NAME.credential`, then
//! `[NAME]` of the SDK credentials file. The environment and the home directory are injected,
//! so tests never read the real ones. When nothing is found, the error names every place that
//! was looked at, in order, with what was wrong there.

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::diag::Code;

/// Environment variable for the secret id (same name as the official SDKs and tccli).
pub const ENV_SECRET_ID: &str = "TENCENTCLOUD_SECRET_ID";
/// Environment variable for the secret key.
pub const ENV_SECRET_KEY: &str = "TENCENTCLOUD_SECRET_KEY";
/// tccli's token variable; read first.
pub const ENV_TOKEN: &str = "TENCENTCLOUD_TOKEN";
/// terraform-provider-tencentcloud's token variable; read when `TENCENTCLOUD_TOKEN` is unset.
pub const ENV_SECURITY_TOKEN: &str = "TENCENTCLOUD_SECURITY_TOKEN";
/// Overrides the SDK credentials file path (as the Go SDK does).
pub const ENV_CREDENTIALS_FILE: &str = "TENCENTCLOUD_CREDENTIALS_FILE";

/// Biggest credentials file we read; real ones are a few hundred bytes.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// A secret string. `Debug` and `Display` print `***`; it has no `Serialize`, and the only way
/// to read it is [`Secret::expose`], which the signer and the token header use.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Call sites are few and deliberate: signing and the token header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A resolved set of API credentials.
#[derive(Clone, Debug)]
pub struct Credentials {
    secret_id: String,
    secret_key: Secret,
    token: Option<Secret>,
    origin: String,
    /// The file they came from, when its group or others may read it.
    exposed_file: Option<PathBuf>,
}

impl Credentials {
    /// Credentials given directly (tests, embedding). `origin` says where they came from, for
    /// error hints ("environment", a file path…).
    pub fn new(
        secret_id: impl Into<String>,
        secret_key: impl Into<String>,
        token: Option<String>,
    ) -> Self {
        Credentials {
            secret_id: secret_id.into(),
            secret_key: Secret::new(secret_key),
            token: token.map(Secret::new),
            origin: "given directly".to_owned(),
            exposed_file: None,
        }
    }

    /// The credentials file they were read from, when its permissions let its group or
    /// other users read it (the CLI warns: the secret key is in it).
    pub fn exposed_file(&self) -> Option<&Path> {
        self.exposed_file.as_deref()
    }

    fn read_from(mut self, path: &Path) -> Self {
        if readable_by_others(path) {
            self.exposed_file = Some(path.to_owned());
        }
        self
    }

    /// The secret id (shown in errors: it identifies the key, it does not unlock it).
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The secret key.
    pub fn secret_key(&self) -> &Secret {
        &self.secret_key
    }

    /// The session token of temporary credentials, if any.
    pub fn token(&self) -> Option<&Secret> {
        self.token.as_ref()
    }

    /// Where these credentials were read from, e.g. `environment (TENCENTCLOUD_SECRET_ID)`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    fn with_origin(mut self, origin: String) -> Self {
        self.origin = origin;
        self
    }
}

/// Why no usable credentials could be resolved. All of these end the run with exit 3.
#[derive(Debug, Error)]
pub enum CredentialsError {
    /// Nothing was found anywhere.
    #[error("no Tencent Cloud credentials found; looked at:\n{}", bullet_list(.looked_at))]
    NotFound {
        /// Every place that was consulted, in order, with what was found there.
        looked_at: Vec<String>,
    },

    /// Only half of a key pair is present somewhere.
    #[error("incomplete credentials in {place}: {what}")]
    Incomplete {
        /// The file or environment that holds the half pair.
        place: String,
        /// Which part is missing.
        what: String,
    },

    /// A credentials file exists but cannot be read or parsed.
    #[error("cannot read credentials file {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong (never the file's content).
        reason: String,
    },

    /// A value cannot be used (e.g. characters that cannot travel in an HTTP header).
    #[error("unusable credentials from {place}: {what}")]
    Invalid {
        /// Where the credentials came from.
        place: String,
        /// What is wrong (never the value itself).
        what: String,
    },

    /// The profile name could not be a file name.
    #[error("invalid profile name {name:?}")]
    BadProfile {
        /// The name as given.
        name: String,
    },
}

impl CredentialsError {
    /// The diagnostic code of this error.
    pub fn code(&self) -> Code {
        match self {
            CredentialsError::NotFound { .. } => Code::CredentialsNotFound,
            CredentialsError::Incomplete { .. } => Code::CredentialsIncomplete,
            CredentialsError::Unreadable { .. } => Code::CredentialsUnreadable,
            CredentialsError::Invalid { .. } => Code::CredentialsInvalid,
            CredentialsError::BadProfile { .. } => Code::InvalidProfileName,
        }
    }

    /// What to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            CredentialsError::NotFound { .. } => {
                "set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, or write them as \
                 secret_id and secret_key under [default] in ~/.tencentcloud/credentials (or pass \
                 --profile NAME for a tccli profile)"
            }
            CredentialsError::Incomplete { .. } => {
                "give both the secret id and the secret key in the same place"
            }
            CredentialsError::Unreadable { .. } => {
                "fix or remove the file; see docs/live.md for its format"
            }
            CredentialsError::Invalid { .. } => {
                "copy the secret id, key and token again from the CAM console or the STS response"
            }
            CredentialsError::BadProfile { .. } => {
                "a profile name is made of letters, digits, '.', '_' and '-'"
            }
        }
    }
}

fn bullet_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("  - {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Resolves credentials in the documented order (docs/live.md, "Credentials").
///
/// `env` looks up an environment variable (pass `|k| std::env::var(k).ok()` in the binary);
/// `home` is the user's home directory, `None` when unknown. Values are trimmed, and an empty
/// value counts as unset (as the SDKs do).
pub fn resolve_credentials(
    profile: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<Credentials, CredentialsError> {
    let get = |k: &str| {
        env(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut looked_at = Vec::new();

    let ini_path = match get(ENV_CREDENTIALS_FILE) {
        Some(p) => Some((PathBuf::from(p), true)),
        None => home.map(|h| (h.join(".tencentcloud").join("credentials"), false)),
    };

    match profile {
        None => {
            let id = get(ENV_SECRET_ID);
            let key = get(ENV_SECRET_KEY);
            match (id, key) {
                (Some(id), Some(key)) => {
                    let token = get(ENV_TOKEN).or_else(|| get(ENV_SECURITY_TOKEN));
                    return Ok(Credentials::new(id, key, token)
                        .with_origin(format!("environment ({ENV_SECRET_ID})")));
                }
                // A half-set pair is almost always a mistake; silently falling through to a
                // file could run the gate under a different account than intended.
                (Some(_), None) => {
                    return Err(CredentialsError::Incomplete {
                        place: "the environment".into(),
                        what: format!("{ENV_SECRET_ID} is set but {ENV_SECRET_KEY} is not"),
                    });
                }
                (None, Some(_)) => {
                    return Err(CredentialsError::Incomplete {
                        place: "the environment".into(),
                        what: format!("{ENV_SECRET_KEY} is set but {ENV_SECRET_ID} is not"),
                    });
                }
                (None, None) => looked_at.push(format!(
                    "environment: {ENV_SECRET_ID} and {ENV_SECRET_KEY} are not set"
                )),
            }
            from_ini(ini_path, "default", &mut looked_at)?
                .ok_or(CredentialsError::NotFound { looked_at })
        }
        Some(name) => {
            if !valid_profile_name(name) {
                return Err(CredentialsError::BadProfile { name: name.into() });
            }
            match home {
                Some(h) => {
                    let path = h.join(".tccli").join(format!("{name}.credential"));
                    if let Some(c) = from_tccli(&path, &mut looked_at)? {
                        return Ok(c);
                    }
                }
                None => looked_at.push(format!(
                    "~/.tccli/{name}.credential: no home directory is known"
                )),
            }
            from_ini(ini_path, name, &mut looked_at)?
                .ok_or(CredentialsError::NotFound { looked_at })
        }
    }
}

fn valid_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Reads a small regular file; `Ok(None)` when it does not exist.
fn read_small(path: &Path) -> Result<Option<String>, CredentialsError> {
    let unreadable = |reason: String| CredentialsError::Unreadable {
        path: path.to_owned(),
        reason,
    };
    let bytes = match crate::fs::read::read_capped(path, MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(crate::fs::read::ReadError::NotFound) => return Ok(None),
        Err(e) => return Err(unreadable(e.to_string())),
    };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| unreadable("not UTF-8".to_owned()))
}

/// Whether a credentials file can be read by its group or by others.
#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_: &Path) -> bool {
    false
}

fn from_tccli(
    path: &Path,
    looked_at: &mut Vec<String>,
) -> Result<Option<Credentials>, CredentialsError> {
    #[derive(serde::Deserialize)]
    struct TccliCredential {
        #[serde(rename = "secretId")]
        secret_id: Option<String>,
        #[serde(rename = "secretKey")]
        secret_key: Option<String>,
        token: Option<String>,
    }
    let Some(text) = read_small(path)? else {
        looked_at.push(format!("{}: no such file", path.display()));
        return Ok(None);
    };
    // The parse error is reported by position only: serde_json's messages can quote input,
    // and this input holds a secret.
    let parsed: TccliCredential =
        serde_json::from_str(&text).map_err(|e| CredentialsError::Unreadable {
            path: path.to_owned(),
            reason: format!("not valid JSON (line {}, column {})", e.line(), e.column()),
        })?;
    let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let place = path.display().to_string();
    match (clean(parsed.secret_id), clean(parsed.secret_key)) {
        (Some(id), Some(key)) => Ok(Some(
            Credentials::new(id, key, clean(parsed.token))
                .with_origin(place)
                .read_from(path),
        )),
        (None, None) => {
            looked_at.push(format!("{place}: has no secretId/secretKey"));
            Ok(None)
        }
        (Some(_), None) => Err(CredentialsError::Incomplete {
            place,
            what: "secretId is set but secretKey is not".into(),
        }),
        (None, Some(_)) => Err(CredentialsError::Incomplete {
            place,
            what: "secretKey is set but secretId is not".into(),
        }),
    }
}

fn from_ini(
    path: Option<(PathBuf, bool)>,
    section: &str,
    looked_at: &mut Vec<String>,
) -> Result<Option<Credentials>, CredentialsError> {
    let Some((path, explicit)) = path else {
        looked_at.push(format!(
            "~/.tencentcloud/credentials [{section}]: no home directory is known and \
             {ENV_CREDENTIALS_FILE} is not set"
        ));
        return Ok(None);
    };
    let Some(text) = read_small(&path)? else {
        // A file named explicitly by the variable must exist: a typo there should not
        // silently mean "no credentials".
        if explicit {
            return Err(CredentialsError::Unreadable {
                path,
                reason: format!("no such file (named by {ENV_CREDENTIALS_FILE})"),
            });
        }
        looked_at.push(format!("{} [{section}]: no such file", path.display()));
        return Ok(None);
    };
    let place = format!("{} [{section}]", path.display());
    let Some(entries) = ini_section(&text, section) else {
        looked_at.push(format!("{place}: no such section"));
        return Ok(None);
    };
    let find = |k: &str| {
        entries
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    match (find("secret_id"), find("secret_key")) {
        (Some(id), Some(key)) => Ok(Some(
            Credentials::new(id, key, None)
                .with_origin(place)
                .read_from(&path),
        )),
        (None, None) => {
            looked_at.push(format!("{place}: has no secret_id/secret_key"));
            Ok(None)
        }
        (Some(_), None) => Err(CredentialsError::Incomplete {
            place,
            what: "secret_id is set but secret_key is not".into(),
        }),
        (None, Some(_)) => Err(CredentialsError::Incomplete {
            place,
            what: "secret_key is set but secret_id is not".into(),
        }),
    }
}

/// The `key = value` entries of one INI section, or `None` when the section is absent.
///
/// Follows Python's `configparser` where it matters for these files: `=` or `:` separates,
/// keys are case-insensitive, values are trimmed, `#` and `;` start comment lines. Repeated
/// sections are merged (last value wins).
fn ini_section(text: &str, wanted: &str) -> Option<Vec<(String, String)>> {
    let mut found = false;
    let mut current: Option<&str> = None;
    let mut entries = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim();
            current = Some(name);
            found |= name == wanted;
            continue;
        }
        if current != Some(wanted) {
            continue;
        }
        let split = line.find(['=', ':']);
        if let Some(i) = split {
            let key = line[..i].trim().to_ascii_lowercase();
            let value = line[i + 1..].trim().to_owned();
            entries.push((key, value));
        }
    }
    found.then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        let c = Credentials::new("AKID1", "hunter2", Some("tok-en".into()));
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2") && !dbg.contains("tok-en"), "{dbg}");
        assert!(dbg.contains("AKID1"));
    }

    #[test]
    fn env_comes_first_with_either_token_variable() {
        let home = tempfile::tempdir().unwrap();
        write(
            home.path(),
            ".tencentcloud/credentials",
            "[default]\nsecret_id=FILEID\nsecret_key=FILEKEY\n",
        );
        let env = env_of(&[
            (ENV_SECRET_ID, " ENVID "),
            (ENV_SECRET_KEY, "ENVKEY"),
            (ENV_SECURITY_TOKEN, "TFTOKEN"),
        ]);
        let c = resolve_credentials(None, &env, Some(home.path())).unwrap();
        assert_eq!(c.secret_id(), "ENVID");
        assert_eq!(c.secret_key().expose(), "ENVKEY");
        assert_eq!(c.token().map(Secret::expose), Some("TFTOKEN"));

        let env = env_of(&[
            (ENV_SECRET_ID, "ENVID"),
            (ENV_SECRET_KEY, "ENVKEY"),
            (ENV_TOKEN, "CLITOKEN"),
            (ENV_SECURITY_TOKEN, "TFTOKEN"),
        ]);
        let c = resolve_credentials(None, &env, Some(home.path())).unwrap();
        assert_eq!(c.token().map(Secret::expose), Some("CLITOKEN"));
    }

    #[test]
    fn then_the_default_section_of_the_sdk_file() {
        let home = tempfile::tempdir().unwrap();
        write(
            home.path(),
            ".tencentcloud/credentials",
            "# comment\n[other]\nsecret_id=X\nsecret_key=Y\n[default]\nSecret_Id = FILEID\nsecret_key: FILEKEY\n",
        );
        let c = resolve_credentials(None, &env_of(&[]), Some(home.path())).unwrap();
        assert_eq!(c.secret_id(), "FILEID");
        assert_eq!(c.secret_key().expose(), "FILEKEY");
        assert!(c.token().is_none());
        assert!(c.origin().contains("[default]"));
    }

    #[test]
    fn credentials_file_variable_overrides_home() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "elsewhere.ini",
            "[default]\nsecret_id=A\nsecret_key=B\n",
        );
        let env = env_of(&[(ENV_CREDENTIALS_FILE, p.to_str().unwrap())]);
        let c = resolve_credentials(None, &env, None).unwrap();
        assert_eq!(c.secret_id(), "A");

        let env = env_of(&[(ENV_CREDENTIALS_FILE, "/nonexistent/ecmguard/creds")]);
        let e = resolve_credentials(None, &env, None).unwrap_err();
        assert!(matches!(e, CredentialsError::Unreadable { .. }), "{e}");
    }

    #[test]
    fn not_found_names_every_place() {
        let home = tempfile::tempdir().unwrap();
        let e = resolve_credentials(None, &env_of(&[]), Some(home.path())).unwrap_err();
        let text = e.to_string();
        assert!(text.contains(ENV_SECRET_ID), "{text}");
        assert!(
            text.contains(".tencentcloud/credentials [default]"),
            "{text}"
        );

        let e = resolve_credentials(Some("prod"), &env_of(&[]), Some(home.path())).unwrap_err();
        let text = e.to_string();
        assert!(text.contains(".tccli/prod.credential"), "{text}");
        assert!(text.contains(".tencentcloud/credentials [prod]"), "{text}");

        let e = resolve_credentials(None, &env_of(&[]), None).unwrap_err();
        assert!(e.to_string().contains("no home directory"), "{e}");
    }

    #[test]
    fn profile_reads_tccli_then_ini_and_ignores_env() {
        let home = tempfile::tempdir().unwrap();
        let env = env_of(&[(ENV_SECRET_ID, "ENVID"), (ENV_SECRET_KEY, "ENVKEY")]);
        write(
            home.path(),
            ".tencentcloud/credentials",
            "[prod]\nsecret_id=INIID\nsecret_key=INIKEY\n",
        );
        let c = resolve_credentials(Some("prod"), &env, Some(home.path())).unwrap();
        assert_eq!(c.secret_id(), "INIID");

        write(
            home.path(),
            ".tccli/prod.credential",
            r#"{"secretId": "CLIID", "secretKey": "CLIKEY", "token": "CLITOK"}"#,
        );
        let c = resolve_credentials(Some("prod"), &env, Some(home.path())).unwrap();
        assert_eq!(c.secret_id(), "CLIID");
        assert_eq!(c.secret_key().expose(), "CLIKEY");
        assert_eq!(c.token().map(Secret::expose), Some("CLITOK"));
    }

    #[test]
    fn half_pairs_and_bad_files_are_errors_without_secrets() {
        let env = env_of(&[(ENV_SECRET_ID, "ENVID")]);
        assert!(matches!(
            resolve_credentials(None, &env, None),
            Err(CredentialsError::Incomplete { .. })
        ));
        let home = tempfile::tempdir().unwrap();
        write(
            home.path(),
            ".tccli/p.credential",
            r#"{"secretId": "ID", "secretKey": "SUPERSECRETVALUE""#,
        );
        let e = resolve_credentials(Some("p"), &env_of(&[]), Some(home.path())).unwrap_err();
        assert!(!format!("{e} {e:?}").contains("SUPERSECRETVALUE"));
        assert!(matches!(
            resolve_credentials(Some("../x"), &env_of(&[]), Some(home.path())),
            Err(CredentialsError::BadProfile { .. })
        ));
    }
}
