//! The project config file, `ecmguard.yaml`: defaults for the flags a team
//! repeats on every command line (README, "Configuration"). Found in the
//! working directory, or named with `--config FILE`; `--config none` reads
//! none. Read like a policy file (regular file, size cap, the spanned YAML
//! reader), and checked whole: every unknown key, wrong type and invalid
//! value is a located diagnostic, all reported together.
//!
//! Choices the product's rules for the config file leave open, and why:
//! - Paths in the file are relative to the file's directory, not to the
//!   working directory, so `--config ci/ecmguard.yaml` means the same thing
//!   from anywhere (as `.cargo/config.toml` and tsconfig do).
//! - A flag on the command line replaces the file's value, lists included
//!   (`--policy x` replaces `policy:`, it does not add to it): one rule,
//!   and nothing merged behind the user's back.
//! - It never holds secrets: it is committed with the project. A key that
//!   looks like a credential, at any depth, a value holding a Tencent Cloud
//!   SecretId, a URL password and a password parameter are refused, and
//!   every diagnostic about the file leaves through one masking step
//!   (`secrets`), whatever the parse state, so none shows a secret.
//!
//! The library reads; `settings` merges the flags over it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

mod read;
mod secrets;
mod starter;

use secrets::Secrets;
#[cfg(test)]
use secrets::looks_like_credential;
pub use starter::starter_yaml;
pub(crate) use starter::starter_yaml_for;

use crate::diag::Diag;
use crate::eval::FailOn;
use crate::policy::yaml;
use crate::report::Format;
use crate::source_text::SourceFile;
use crate::time::ApiZone;

/// The config file read from the working directory when `--config` is not given.
pub(crate) const FILE_NAME: &str = "ecmguard.yaml";

/// `--config none`: read no config file, even if one is present.
pub(crate) const NONE: &str = "none";

/// The keys of the config file, in the order the reference lists them.
pub const KEYS: &[&str] = &[
    "policy",
    "fail_on",
    "api_time_zone",
    "param_files",
    "reports",
    "baseline",
    "history",
    "account",
    "rate",
    "timeout",
    "endpoint",
];

/// A validated config file. Every field is a default for a flag; `None`
/// where the file does not set it.
#[derive(Debug, Clone, Default)]
pub struct ProjectConfig {
    /// The file as found or given (`ecmguard.yaml`, `ci/ecmguard.yaml`).
    pub path: PathBuf,
    /// `policy`: `--policy` paths, resolved against the file's directory.
    pub policy: Option<Vec<PathBuf>>,
    /// `fail_on`: `--fail-on`.
    pub fail_on: Option<FailOn>,
    /// `api_time_zone`: `--api-time-zone`.
    pub api_time_zone: Option<ApiZone>,
    /// `param_files`: `--param-file` paths, resolved, lowest precedence first.
    pub param_files: Option<Vec<PathBuf>>,
    /// `reports`: `--report FORMAT=FILE`, files resolved.
    pub reports: Option<Vec<(Format, PathBuf)>>,
    /// `baseline`: `--baseline`, resolved.
    pub baseline: Option<PathBuf>,
    /// `history`: `--history DB`; a path (resolved) or a URL without a password.
    pub history: Option<String>,
    /// `account`: `--account NAME`.
    pub account: Option<String>,
    /// `rate`: `--rate`, requests per second.
    pub rate: Option<f64>,
    /// `timeout`: `--timeout`.
    pub timeout: Option<std::time::Duration>,
    /// `endpoint`: `--endpoint`, checked like the flag.
    pub endpoint: Option<String>,
}

/// The config file a run reads: `--config FILE`, none with `--config none`,
/// else [`FILE_NAME`] in the working directory if there is one. Every
/// problem of the file is reported together.
pub fn load(flag: Option<&Path>) -> Result<Option<ProjectConfig>, Vec<Diag>> {
    let path = match flag {
        Some(path) if path.as_os_str() == NONE => return Ok(None),
        Some(path) => path,
        None => {
            let path = Path::new(FILE_NAME);
            // Absent is the common case; anything else there (a dangling
            // link, a directory) is read and reported.
            if std::fs::symlink_metadata(path)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
            {
                return Ok(None);
            }
            path
        }
    };
    let file = crate::policy::read_source(path).map_err(|diag| {
        vec![diag.with_help(format!(
            "--config names the project config file; `--config {NONE}` reads none"
        ))]
    })?;
    parse(&file, path).map(Some)
}

/// The config file's text, read from `path` (which paths inside it are
/// relative to). Every diagnostic about the file passes through one masking
/// step on its way out, whatever the parse state: no secret-looking part of
/// the file is shown in a snippet, message, label or help.
pub fn parse(file: &Arc<SourceFile>, path: &Path) -> Result<ProjectConfig, Vec<Diag>> {
    let mut secrets = Secrets::in_text(file);
    let root = yaml::parse(file).map_err(|diag| secrets.redact(vec![diag]))?;
    read::read(&root, file, path, &mut secrets).map_err(|problems| {
        let shown = secrets.redact(crate::diag::cap_per_file(problems, |_| {
            crate::diag::SMALL_FILE
        }));
        // Long values are clipped as the messages now quote them: masked.
        let mut long = Vec::new();
        root.long_strings(&mut long);
        let long = secrets.mask_all(&long);
        crate::diag::clip_values(shown, &long.iter().map(String::as_str).collect::<Vec<_>>())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;

    fn read(text: &str) -> Result<ProjectConfig, Vec<Diag>> {
        parse(
            &SourceFile::new("ecmguard.yaml", text),
            Path::new("ecmguard.yaml"),
        )
    }

    fn codes(text: &str) -> Vec<Code> {
        read(text)
            .expect_err("invalid")
            .iter()
            .map(|d| d.code)
            .collect()
    }

    #[test]
    fn every_key_is_read_and_paths_are_relative_to_the_file() {
        let text = "policy: [policies, /abs/p.yaml]\nfail_on: warning\napi_time_zone: UTC\n\
                    param_files: params/prod.yaml\nreports: [json=out/r.json]\nbaseline: b.json\n\
                    history: h.db\naccount: prod\nrate: 5\ntimeout: 2min\nendpoint: http://127.0.0.1:9\n";
        let config = parse(
            &SourceFile::new("ci/ecmguard.yaml", text),
            Path::new("ci/ecmguard.yaml"),
        )
        .expect("valid");
        assert_eq!(
            config.policy,
            Some(vec![
                PathBuf::from("ci/policies"),
                PathBuf::from("/abs/p.yaml")
            ])
        );
        assert_eq!(config.fail_on, Some(FailOn::Warning));
        assert!(config.api_time_zone.is_some());
        assert_eq!(
            config.param_files,
            Some(vec![PathBuf::from("ci/params/prod.yaml")])
        );
        assert_eq!(
            config.reports,
            Some(vec![(Format::Json, PathBuf::from("ci/out/r.json"))])
        );
        assert_eq!(config.baseline, Some(PathBuf::from("ci/b.json")));
        assert_eq!(config.history.as_deref(), Some("ci/h.db"));
        assert_eq!(config.account.as_deref(), Some("prod"));
        assert_eq!(config.rate, Some(5.0));
        assert_eq!(config.timeout, Some(std::time::Duration::from_secs(120)));
        assert_eq!(config.endpoint.as_deref(), Some("http://127.0.0.1:9"));
        // A URL is not a path.
        let config = read("history: postgres://ecmguard@db/ecm\n").expect("valid");
        assert_eq!(
            config.history.as_deref(),
            Some("postgres://ecmguard@db/ecm")
        );
    }

    #[test]
    fn every_problem_is_located_and_reported_together() {
        let problems = read(
            "polcy: x\nfail_on: eror\nrate: \"20\"\ntimeout: 30\nendpoint: http://example.com\n\
             reports: [jsno=x.json, sarif]\napi_time_zone: Mars/Base\npolicy: []\n",
        )
        .expect_err("invalid");
        let got: Vec<(Code, usize)> = problems
            .iter()
            .map(|d| (d.code, d.location().expect("located").1.line))
            .collect();
        assert_eq!(
            got,
            [
                (Code::ConfigUnknownKey, 1),
                (Code::ConfigValue, 2),
                (Code::ConfigType, 3),
                (Code::ConfigType, 4),
                (Code::InsecureEndpoint, 5),
                (Code::ConfigValue, 6),
                (Code::ConfigValue, 6),
                (Code::ConfigValue, 7),
                (Code::ConfigValue, 8),
            ]
        );
        let help = |i: usize| problems[i].help.clone().unwrap_or_default();
        assert!(help(0).contains("did you mean `policy`"), "{}", help(0));
        assert!(help(1).contains("did you mean `error`"), "{}", help(1));
        assert!(help(5).contains("did you mean `json`"), "{}", help(5));
        assert_eq!(codes("fail-on: error\n"), [Code::ConfigUnknownKey]);
        assert!(
            read("fail-on: error\n").unwrap_err()[0]
                .help
                .as_deref()
                .is_some_and(|h| h.contains("did you mean `fail_on`"))
        );
        assert_eq!(codes("- policy\n"), [Code::ConfigType]);
        assert_eq!(codes("rate: 1\nrate: 2\n"), [Code::DuplicateKey]);
        assert_eq!(codes("policy: [\n"), [Code::YamlSyntax]);
    }

    /// Found by fuzzing (`fuzz/`, target `project_inputs`): a character
    /// wider than one byte just before a credential-looking key made the
    /// line scan cut into it and panic.
    #[test]
    fn a_wide_character_before_a_credential_key_is_masked_not_a_panic() {
        // Not YAML (the line scan alone finds the secret).
        let broken = "! Paravae muon (nel140dike a \u{623}pCsswordvex_prapikeyivage: 22d\n}";
        assert_eq!(codes(broken), [Code::YamlSyntax]);
        // YAML: the key is read from the tree and refused; its value never shown.
        let problems = read("\u{623}password: hunter2\n").expect_err("refused");
        assert_eq!(problems[0].code, Code::ConfigCredential);
        let shown = format!("{:?}", problems[0]);
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn credentials_are_refused_at_any_depth_and_never_shown() {
        let text = "SecretKey: Gu5t9xGARNpq86cd98joQYCN3EXAMPLE\ntencentcloud:\n  secret_id: AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE\naccount: AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE\nhistory: postgres://u:hunter2@db/x\nx-api-token: abc\n";
        let problems = read(text).expect_err("refused");
        let credentials = problems
            .iter()
            .filter(|d| d.code == Code::ConfigCredential)
            .count();
        assert_eq!(credentials, 5, "{problems:?}");
        // The unknown nested key is still an unknown key.
        assert!(problems.iter().any(|d| d.code == Code::ConfigUnknownKey));
        for diag in &problems {
            let shown = diag.file().map(|f| f.text().to_owned()).unwrap_or_default();
            for secret in ["Gu5t9x", "AKIDz8", "hunter2", "abc"] {
                assert!(
                    !shown.contains(secret),
                    "{secret} shown by {}",
                    diag.message
                );
                assert!(!diag.message.contains(secret));
            }
        }
        // A file that does not parse is masked line by line.
        let problems = read("token: hunter2\npolicy: [\n").expect_err("syntax");
        let shown = problems[0].file().expect("located").text().to_owned();
        assert!(
            !shown.contains("hunter2") && shown.contains("token:"),
            "{shown}"
        );
        assert!(looks_like_credential("TENCENTCLOUD_SECRET_ID"));
        assert!(looks_like_credential("db-Password"));
        for key in KEYS {
            assert!(!looks_like_credential(key), "{key}");
        }
    }
}
