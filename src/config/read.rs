//! The config file's keys read into a [`ProjectConfig`], with the one YAML
//! reader (`policy::read`) in the config file's words and codes: every
//! unknown key, wrong type and invalid value a located diagnostic, all of
//! them reported. Values refused as credentials are not read (`secrets`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::secrets::{Secrets, looks_like_credential};
use super::{KEYS, ProjectConfig};
use crate::diag::{Code, Diag, SMALL_FILE};
use crate::eval::FailOn;
use crate::policy::duration::Duration;
use crate::policy::read::{Collect, Dialect, Of, Read};
use crate::policy::yaml::{Node, NodeKind};
use crate::report::Format;
use crate::source::live::{self, Credentials, LiveConfig};
use crate::source_text::SourceFile;
use crate::time::ApiZone;

/// The config file's words: its own codes, and its keys are its flags'
/// names, so "did you mean" reads `fail-on` as `fail_on`.
const CONFIG: Dialect = Dialect {
    wrong_type: Code::ConfigType,
    unknown_key: Code::ConfigUnknownKey,
    key_label: "expected a string",
    keys_of_what: false,
    dashes_are_underscores: true,
    twice: crate::policy::read::appears_twice,
};

/// The file as a whole, as messages name it.
const THE_FILE: &str = "the config file";

/// The config file's values, or every problem of it (secrets not yet
/// masked: `parse` does that to all of them at once).
pub(super) fn read(
    root: &Node,
    file: &Arc<SourceFile>,
    path: &Path,
    secrets: &mut Secrets,
) -> Result<ProjectConfig, Vec<Diag>> {
    let mut r = Collect::new(file, &CONFIG, SMALL_FILE);
    r.problems = secrets.in_tree(root);
    let mut reader = Reader {
        r,
        dir: path.parent().unwrap_or(Path::new("")),
        secrets,
    };
    let mut config = ProjectConfig {
        path: path.to_owned(),
        ..ProjectConfig::default()
    };
    match &root.kind {
        NodeKind::Null => {}
        NodeKind::Map(entries) => reader.keys(entries, &mut config),
        _ => reader
            .r
            .wrong_type(root, THE_FILE, "a mapping of keys to values"),
    }
    if reader.r.problems.is_empty() {
        Ok(config)
    } else {
        Err(reader.r.problems)
    }
}

/// Reads the file's mapping, collecting problems.
struct Reader<'a> {
    r: Collect,
    /// Paths in the file are relative to its directory.
    dir: &'a Path,
    secrets: &'a Secrets,
}

impl Reader<'_> {
    /// Each key in file order, its problems reported as they come.
    fn keys(&mut self, entries: &[(Node, Node)], config: &mut ProjectConfig) {
        for item in self.r.each(entries, Of::new(THE_FILE)) {
            let (name, key, value) = match item {
                Ok(entry) => entry,
                Err(diag) => {
                    self.r.push(diag);
                    continue;
                }
            };
            // Reported with the other credentials, before any key.
            if looks_like_credential(name) {
                continue;
            }
            if !KEYS.contains(&name) {
                self.r.unknown_key(name, key, THE_FILE, KEYS);
                continue;
            }
            // Refused as a credential: to be removed, not corrected.
            if self.secrets.refused_within(value.span) {
                continue;
            }
            self.value(name, value, config);
        }
    }

    fn value(&mut self, key: &str, node: &Node, config: &mut ProjectConfig) {
        match key {
            "policy" => config.policy = self.policy(node),
            "param_files" => config.param_files = self.paths(node, key),
            "baseline" => {
                config.baseline = self.text(node, key, "a path").map(|t| self.resolve(&t))
            }
            "fail_on" => config.fail_on = self.fail_on(node),
            "api_time_zone" => config.api_time_zone = self.api_time_zone(node),
            "reports" => config.reports = self.reports(node),
            "history" => config.history = self.history(node),
            "account" => config.account = self.account(node),
            "rate" => config.rate = self.rate(node),
            "timeout" => config.timeout = self.timeout(node),
            "endpoint" => config.endpoint = self.endpoint(node),
            _ => {}
        }
    }

    /// A value that is not valid for its key.
    fn invalid(&mut self, node: &Node, key: &str, message: String, help: impl Into<String>) {
        let diag = self
            .r
            .err(
                Code::ConfigValue,
                node.span,
                format!("`{key}`: {message}"),
                "invalid value",
            )
            .with_help(help);
        self.r.push(diag);
    }

    /// A string value; an empty one is invalid, anything else a wrong type.
    fn text(&mut self, node: &Node, key: &str, expected: &str) -> Option<String> {
        match &node.kind {
            NodeKind::Str(text) if !text.is_empty() => Some(text.clone()),
            NodeKind::Str(_) => {
                self.invalid(
                    node,
                    key,
                    "is empty".to_owned(),
                    format!("give {expected}, or remove the key"),
                );
                None
            }
            _ => {
                self.r.wrong_type(node, &format!("`{key}`"), expected);
                None
            }
        }
    }

    /// `policy`: one path or more.
    fn policy(&mut self, node: &Node) -> Option<Vec<PathBuf>> {
        let paths = self.paths(node, "policy")?;
        if paths.is_empty() {
            self.invalid(
                node,
                "policy",
                "names no policy".to_owned(),
                "remove the key to read ./policies, or name policy files or directories",
            );
            return None;
        }
        Some(paths)
    }

    /// A path, or a list of paths, resolved against the file's directory.
    fn paths(&mut self, node: &Node, key: &str) -> Option<Vec<PathBuf>> {
        let expected = "a path or a list of paths";
        match &node.kind {
            NodeKind::Str(_) => self
                .text(node, key, expected)
                .map(|t| vec![self.resolve(&t)]),
            NodeKind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items {
                    match self.text(item, key, "a path") {
                        Some(text) => out.push(self.resolve(&text)),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
            _ => {
                self.r.wrong_type(node, &format!("`{key}`"), expected);
                None
            }
        }
    }

    /// Relative to the config file's directory.
    fn resolve(&self, text: &str) -> PathBuf {
        let path = Path::new(text);
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.dir.join(path)
        }
    }

    fn fail_on(&mut self, node: &Node) -> Option<FailOn> {
        let text = self.text(node, "fail_on", "one of error, warning, info, never")?;
        let level = self
            .r
            .choose(&text, &["error", "warning", "info", "never"], |r| {
                r.err(
                    Code::ConfigValue,
                    node.span,
                    format!("`fail_on`: `{text}` is not a level (error, warning, info, never)"),
                    "not a level",
                )
                .with_help("the lowest severity that fails the gate: error, warning, info or never")
            })?;
        FailOn::parse(level)
    }

    fn api_time_zone(&mut self, node: &Node) -> Option<ApiZone> {
        let text = self.text(node, "api_time_zone", "a string such as \"+08:00\"")?;
        match ApiZone::parse(&text) {
            Ok(zone) => Some(zone),
            Err(message) => {
                let help =
                    "an offset such as \"+08:00\", UTC, or an IANA name such as Asia/Shanghai";
                let help = match crate::time::zone_suggestion(&text) {
                    Some(name) => format!("did you mean `{name}`? {help}"),
                    None => help.to_owned(),
                };
                self.invalid(node, "api_time_zone", message, help);
                None
            }
        }
    }

    /// `reports`: `FORMAT=FILE`, one or a list.
    fn reports(&mut self, node: &Node) -> Option<Vec<(Format, PathBuf)>> {
        let items: Vec<&Node> = match &node.kind {
            NodeKind::Str(_) => vec![node],
            NodeKind::Seq(items) => items.iter().collect(),
            _ => {
                self.r
                    .wrong_type(node, "`reports`", "a list of FORMAT=FILE");
                return None;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match self.report(item) {
                Some(report) => out.push(report),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// One `FORMAT=FILE` of `reports`.
    fn report(&mut self, item: &Node) -> Option<(Format, PathBuf)> {
        let formats: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        let help = format!(
            "FORMAT is one of {}; e.g. reports: [sarif=ecmguard.sarif]",
            formats.join(", ")
        );
        let text = self.text(item, "reports", "FORMAT=FILE")?;
        let Some((name, file)) =
            crate::cli::split_assignment(&text).filter(|(_, file)| !file.is_empty())
        else {
            self.invalid(
                item,
                "reports",
                format!("`{text}` is not FORMAT=FILE"),
                help,
            );
            return None;
        };
        let format = self.r.choose(name, &formats, |r| {
            r.err(
                Code::ConfigValue,
                item.span,
                format!("`reports`: unknown format `{name}` in `{text}`"),
                "unknown format",
            )
            .with_help(help.clone())
        })?;
        Some((Format::parse(format)?, self.resolve(file)))
    }

    /// `history`: a SQLite file (resolved) or a URL (without a password:
    /// one was refused as a credential already).
    fn history(&mut self, node: &Node) -> Option<String> {
        let text = self.text(node, "history", "a SQLite file path or a postgres:// URL")?;
        if !text.contains("://") {
            return Some(self.resolve(&text).display().to_string());
        }
        match url::Url::parse(&text) {
            Ok(_) => Some(text),
            Err(e) => {
                self.invalid(
                    node,
                    "history",
                    format!("not a URL ({e})"),
                    "a SQLite file path, or a URL such as postgres://ecmguard@db.example.com/ecmguard",
                );
                None
            }
        }
    }

    /// `account`: a label as `--account` takes it (`account::label`).
    fn account(&mut self, node: &Node) -> Option<String> {
        let text = self.text(node, "account", "a string")?;
        match crate::account::label(&text) {
            Ok(label) => Some(label.to_owned()),
            Err(problem) => {
                self.invalid(
                    node,
                    "account",
                    problem.describe(),
                    format!(
                        "an account label such as `production`: 1 to {} printable characters",
                        crate::account::MAX_CHARS
                    ),
                );
                None
            }
        }
    }

    fn rate(&mut self, node: &Node) -> Option<f64> {
        let rate = match node.kind {
            NodeKind::Int(n) => n as f64,
            NodeKind::Float(f) => f,
            _ => {
                self.r
                    .wrong_type(node, "`rate`", "a number of requests per second");
                return None;
            }
        };
        if rate.is_finite() && rate > 0.0 {
            return Some(rate);
        }
        self.invalid(
            node,
            "rate",
            format!("{rate} is not a positive number of requests per second"),
            format!("for example rate: {}", live::DEFAULT_RATE),
        );
        None
    }

    fn timeout(&mut self, node: &Node) -> Option<std::time::Duration> {
        let help = "a duration such as 30s or 2min (months and years are not timeouts)";
        if matches!(node.kind, NodeKind::Int(_) | NodeKind::Float(_)) {
            let diag = self
                .r
                .err(
                    Code::ConfigType,
                    node.span,
                    format!(
                        "`timeout` must be a duration with a unit, found {}",
                        node.type_name()
                    ),
                    "no unit",
                )
                .with_help(help);
            self.r.push(diag);
            return None;
        }
        let text = self.text(node, "timeout", "a duration such as 30s")?;
        match Duration::parse(&text).map(|d| d.fixed_positive()) {
            Ok(Some(timeout)) => Some(timeout),
            Ok(None) => {
                self.invalid(
                    node,
                    "timeout",
                    format!("`{text}` is not a positive time"),
                    help,
                );
                None
            }
            Err(e) => {
                let help = crate::policy::duration::time_limit_help(&text, "30s or 2min");
                self.invalid(node, "timeout", e.message, help);
                None
            }
        }
    }

    /// `endpoint`: checked like `--endpoint`, with that check's own code.
    fn endpoint(&mut self, node: &Node) -> Option<String> {
        let text = self.text(node, "endpoint", "a URL")?;
        let mut check = LiveConfig::new(Credentials::new("", "", None));
        check.endpoint = text.clone();
        let Err(e) = check.validate() else {
            return Some(text);
        };
        let diag = e.diag();
        let help = diag
            .help
            .clone()
            .unwrap_or_else(|| format!("for example endpoint: {}", live::DEFAULT_ENDPOINT));
        let located = self
            .r
            .err(
                diag.code,
                node.span,
                format!("`endpoint`: {}", diag.message),
                "this endpoint",
            )
            .with_help(help);
        self.r.push(located);
        None
    }
}
