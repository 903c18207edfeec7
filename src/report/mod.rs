//! The report: an evaluation with the policy, the images and the run's
//! metadata around it, its summary, and one module per output format.
//! Renderers write into a `Write`; the library never prints. The verdict and
//! the exit code are decided before a report exists; it only shows them.

pub mod csv;
pub mod github;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod page;
pub mod sarif;

use std::path::{Component, Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;

use crate::eval::{Evaluation, FailOn, Finding, Status, Verdict};
use crate::image::{Image, ImageSet};
use crate::policy::PolicySet;
use crate::policy::model::{Rule, Severity};
use crate::source::Provenance;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Junit,
    Markdown,
    Html,
    Csv,
    Github,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 8] = [
        Format::Human,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Markdown,
        Format::Html,
        Format::Csv,
        Format::Github,
    ];

    /// The name on the command line (`human`, `json`, …).
    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Csv => "csv",
            Format::Github => "github",
        }
    }

    /// The format of a command-line name, ignoring case.
    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

/// Images listed per rule by the formats people read (`human`, `github`,
/// `markdown`) when `--max-findings` is not given.
pub const DEFAULT_MAX_FINDINGS: usize = 10;

/// Render `report` in `format` into `out`. `style.max_findings` caps the
/// lists of `human`, `github` and `markdown`; the rest of `style` is the
/// human report's.
pub fn render(
    report: &Report<'_>,
    format: Format,
    out: &mut dyn std::io::Write,
    style: human::Style,
) -> std::io::Result<()> {
    match format {
        Format::Human => human::render(report, out, style),
        // JSON escapes the C0 controls itself; the rest are escaped on the way out.
        Format::Json => json::render(report, &mut crate::text::JsonControls::new(&mut *out)),
        Format::Sarif => sarif::render(report, &mut crate::text::JsonControls::new(&mut *out)),
        Format::Junit => junit::render(report, out),
        Format::Markdown => markdown::render(report, out, style.max_findings),
        Format::Html => html::render(report, out),
        Format::Csv => csv::render(report, out),
        Format::Github => github::render(report, out, style.max_findings),
    }
}

/// Run metadata for reports.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub now: Timestamp,
    pub zone: crate::time::ApiZone,
    pub source: Provenance,
    pub fail_on: FailOn,
    /// The gate's verdict, decided by the command (it also fails on a check
    /// of nothing, which no finding shows).
    pub verdict: Verdict,
    /// The process exit code this run ends with, decided by the command
    /// before rendering; reports show it, they never choose it.
    pub exit_code: u8,
    /// Wall time of the whole run, measured by the caller.
    pub duration_seconds: f64,
    pub duplicates_dropped: usize,
    /// `--baseline` as given, when one was in force.
    pub baseline: Option<String>,
    /// The directory policy paths in reports are relative to: the working
    /// directory, where CI resolves SARIF's `%SRCROOT%` and annotation paths.
    /// `None`: paths as given.
    pub root: Option<std::path::PathBuf>,
}

/// A complete report: what every renderer reads.
pub struct Report<'a> {
    pub policy: &'a PolicySet,
    pub images: &'a ImageSet,
    pub run: RunInfo,
    pub evaluation: Evaluation,
}

/// Totals for the closing summary line and report headers.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub images: usize,
    pub rules: usize,
    pub violations: SeverityCounts,
    pub indeterminate: usize,
    pub waived: usize,
    pub baselined: usize,
    /// Violations within their rule's grace period (`check --history`).
    pub grace: usize,
    pub failing: usize,
    pub warnings: usize,
    pub passed: bool,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SeverityCounts {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
}

impl Report<'_> {
    pub fn rule(&self, finding: &Finding) -> &Rule {
        &self.policy.rules[finding.rule]
    }

    pub fn image(&self, index: usize) -> &Image {
        &self.images.images()[index]
    }

    /// Does this finding fail the gate under `--fail-on`?
    pub(crate) fn is_failing(&self, finding: &Finding) -> bool {
        Evaluation::is_failing(self.policy, finding, self.run.fail_on)
    }

    /// The exit code the run ends with (decided by the command, shown here).
    pub fn exit_code(&self) -> u8 {
        self.run.exit_code
    }

    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            images: self.images.len(),
            rules: self.policy.rules.len(),
            warnings: self.evaluation.warnings.len(),
            ..Summary::default()
        };
        for finding in &self.evaluation.findings {
            match finding.status {
                Status::Violation => match self.rule(finding).severity {
                    Severity::Error => summary.violations.error += 1,
                    Severity::Warning => summary.violations.warning += 1,
                    Severity::Info => summary.violations.info += 1,
                },
                Status::Indeterminate => summary.indeterminate += 1,
                Status::Waived => summary.waived += 1,
                Status::Baselined => summary.baselined += 1,
                Status::Grace => summary.grace += 1,
            }
            if self.is_failing(finding) {
                summary.failing += 1;
            }
        }
        summary.passed = self.run.verdict == Verdict::Pass;
        summary
    }
}

/// Shown in reports where an image has no `ImageId`.
pub(crate) const NO_IMAGE_ID: &str = "<no ImageId>";

impl Report<'_> {
    /// The findings with one status, in evaluation order.
    pub(crate) fn findings_with(&self, status: Status) -> impl Iterator<Item = &Finding> + '_ {
        self.evaluation
            .findings
            .iter()
            .filter(move |f| f.status == status)
    }

    /// The findings of one rule (index into `PolicySet::rules`), in evaluation order.
    pub(crate) fn findings_of(&self, rule: usize) -> impl Iterator<Item = &Finding> + '_ {
        self.evaluation
            .findings
            .iter()
            .filter(move |f| f.rule == rule)
    }

    /// Whether a `--baseline` was in force (even one that matched nothing).
    pub(crate) fn baseline_used(&self) -> bool {
        self.run.baseline.is_some()
    }

    /// `--now` as a civil time in the API time zone (`2026-11-27 00:00:00
    /// +08:00`), the way the people reading a report think of it.
    pub(crate) fn now_label(&self) -> String {
        format!(
            "{} {}",
            self.run.zone.format(self.run.now),
            self.run.zone.label()
        )
    }

    /// Whether the run had a history (`check --history`): findings then
    /// carry `first_seen`, and the formats that show it add it.
    pub(crate) fn has_history(&self) -> bool {
        self.evaluation.history
    }

    /// How long the finding has been open at `now`, in seconds (with history).
    pub fn open_for_seconds(&self, finding: &Finding) -> Option<i64> {
        finding
            .first_seen
            .map(|at| (self.run.now.as_second() - at.as_second()).max(0))
    }

    /// `first_seen` as RFC 3339 in the API zone (with history).
    pub(crate) fn first_seen_rfc3339(&self, finding: &Finding) -> Option<String> {
        finding.first_seen.map(|at| self.run.zone.rfc3339(at))
    }

    /// `2025-12-20 08:00:00 (open 12d)`, for the formats people read.
    pub(crate) fn first_seen_label(&self, finding: &Finding) -> Option<String> {
        let at = finding.first_seen?;
        let open = self.open_for_seconds(finding).unwrap_or(0);
        Some(format!(
            "{} (open {})",
            self.run.zone.format(at),
            crate::time::describe_seconds(open)
        ))
    }

    /// When a finding in `grace` starts to fail: first seen + the rule's grace.
    pub fn grace_ends(&self, finding: &Finding) -> Option<Timestamp> {
        let grace = self.rule(finding).grace.as_ref()?;
        grace.duration.after(finding.first_seen?, &self.run.zone)
    }

    /// `img-x (name)` for a finding's image, or `None` for a set-level finding.
    pub(crate) fn image_label(&self, finding: &Finding) -> Option<String> {
        finding.image.map(|index| image_label(self.image(index)))
    }

    /// The label to put before a finding's message: `img-x (name)`, or
    /// `None` for a set-level finding and when the rule's `message` names
    /// its image itself (`{ImageId}`), which would otherwise say it twice
    /// (`img-x (n): img-x runs …`).
    pub(crate) fn message_label(&self, finding: &Finding) -> Option<String> {
        let names_image = self
            .rule(finding)
            .message
            .as_ref()
            .is_some_and(|template| template.names_image());
        if names_image {
            None
        } else {
            self.image_label(finding)
        }
    }

    /// A finding as one line of text: `img-x (name): message`, or the
    /// message alone (see [`Report::message_label`]). Raw: each format
    /// escapes it its own way.
    pub(crate) fn finding_text(&self, finding: &Finding) -> String {
        match self.message_label(finding) {
            Some(label) => format!("{label}: {}", finding.message),
            None => finding.message.to_string(),
        }
    }
}

/// What uses a finding's image: the evidence behind the counts of a rule that reads
/// `Usage.*` (docs/usage.md). Every format shows it for those findings: all the ids in
/// `json`, `csv` and `sarif`, capped like images in the others.
#[derive(Debug, Clone)]
pub struct UsageEvidence<'a> {
    /// The counts, and whether they are exact or lower bounds.
    pub usage: crate::image::ImageUsage,
    /// `Usage.InUse` (`None`: unknown).
    pub in_use: Option<bool>,
    /// The ids of the instances counted, in listing order.
    pub instances: Vec<&'a str>,
    /// The ids of the modules counted, in listing order.
    pub modules: Vec<&'a str>,
    /// Instances of the run whose image the API does not name.
    pub unknown_image_instances: u64,
}

impl UsageEvidence<'_> {
    /// `3 instances (2 running): ein-a, ein-b, ein-c; 1 module: em-1`, at most `cap` ids
    /// of each (`0`: counts only); `at least …` when the counts are lower bounds; `no
    /// instance, no module`; or why the use is unknown.
    pub fn text(&self, cap: usize) -> String {
        use crate::image::UsageKnown;
        let counts = self.usage.counts;
        if self.in_use.is_none() {
            return format!(
                "unknown: no instance or module counted, but {} an image the API does not name",
                if self.unknown_image_instances == 1 {
                    "1 instance runs".to_owned()
                } else {
                    format!(
                        "{} instances run",
                        crate::text::thousands(self.unknown_image_instances)
                    )
                }
            );
        }
        if counts.instances == 0 && counts.modules == 0 {
            return "no instance, no module".to_owned();
        }
        let ids = |ids: &[&str]| {
            if cap == 0 || ids.is_empty() {
                return String::new();
            }
            let shown: Vec<&str> = ids.iter().take(cap).copied().collect();
            let mut text = format!(": {}", shown.join(", "));
            if ids.len() > cap {
                text.push_str(&format!(" and {} more", ids.len() - cap));
            }
            text
        };
        let at_least = if self.usage.known == UsageKnown::LowerBound {
            "at least "
        } else {
            ""
        };
        let instances = format!(
            "{at_least}{} ({} running){}",
            crate::text::count(u64::from(counts.instances), "instance", "instances"),
            counts.running,
            ids(&self.instances)
        );
        let modules = format!(
            "{}{}",
            crate::text::count(u64::from(counts.modules), "module", "modules"),
            ids(&self.modules)
        );
        format!("{instances}; {modules}")
    }
}

/// In `json` and `sarif`: `{"Instances", "RunningInstances", "Modules", "InUse", "exact",
/// "instances": [ids], "modules": [ids]}`, every id (docs/report-json.md).
impl Serialize for UsageEvidence<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let counts = self.usage.counts;
        let mut map = s.serialize_map(Some(7))?;
        map.serialize_entry("Instances", &counts.instances)?;
        map.serialize_entry("RunningInstances", &counts.running)?;
        map.serialize_entry("Modules", &counts.modules)?;
        map.serialize_entry("InUse", &self.in_use)?;
        map.serialize_entry(
            "exact",
            &(self.usage.known == crate::image::UsageKnown::Exact),
        )?;
        map.serialize_entry("instances", &self.instances)?;
        map.serialize_entry("modules", &self.modules)?;
        map.end()
    }
}

/// What the run listed of usage, for the formats that describe the run's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UsageSummary {
    /// Instances listed.
    pub instances: u64,
    /// Modules listed.
    pub modules: u64,
    /// Instances whose image the API does not name (the counts are lower bounds while
    /// there is one).
    pub instances_with_unknown_image: u64,
}

impl UsageSummary {
    /// `usage: 20,000 instances, 500 modules` and, when there are some, `; 3 instances run
    /// an image the API does not name`.
    pub fn label(&self) -> String {
        let mut label = format!(
            "usage: {}, {}",
            crate::text::count(self.instances, "instance", "instances"),
            crate::text::count(self.modules, "module", "modules")
        );
        match self.instances_with_unknown_image {
            0 => {}
            1 => label.push_str("; 1 instance runs an image the API does not name"),
            n => label.push_str(&format!(
                "; {} instances run an image the API does not name",
                crate::text::thousands(n)
            )),
        }
        label
    }
}

impl Report<'_> {
    /// What the run listed of usage (`None`: usage was not listed).
    pub fn usage_summary(&self) -> Option<UsageSummary> {
        let usage = self.images.usage()?;
        Some(UsageSummary {
            instances: usage.set().instances.len() as u64,
            modules: usage.set().modules.len() as u64,
            instances_with_unknown_image: usage.unknown_image_instances(),
        })
    }

    /// A label of the run's source (`live API https://…`), with what it listed of usage
    /// when it did: `live API https://… (usage: 3 instances, 2 modules)`.
    pub fn with_usage(&self, source: String) -> String {
        match self.usage_summary() {
            Some(usage) => format!("{source} ({})", usage.label()),
            None => source,
        }
    }

    /// The evidence behind a finding of a rule that reads usage (`None` for other rules,
    /// set-level findings, and runs that did not list usage).
    pub fn usage_evidence(&self, finding: &Finding) -> Option<UsageEvidence<'_>> {
        let usage = self.images.usage()?;
        let position = finding.image?;
        if !self.rule(finding).reads_usage() {
            return None;
        }
        let image = self.image(position);
        let (instances, modules) = self.images.used_by(position)?;
        let in_use = match image.get(crate::image::Field::UsageInUse) {
            crate::image::Value::Bool(b) => Some(b),
            _ => None,
        };
        Some(UsageEvidence {
            usage: image.usage(),
            in_use,
            instances,
            modules,
            unknown_image_instances: usage.unknown_image_instances(),
        })
    }
}

/// `img-x (name)`, or the id alone when the image has no name.
pub(crate) fn image_label(image: &Image) -> String {
    let id = image.id().unwrap_or(NO_IMAGE_ID);
    match image.name() {
        Some(name) if !name.is_empty() => format!("{id} ({name})"),
        _ => id.to_owned(),
    }
}

/// Where a policy file lies as seen from a root directory (the working
/// directory of the run), for formats whose consumers resolve paths against
/// the repository root: SARIF (`%SRCROOT%`) and GitHub annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourcePath {
    /// Under the root: the path segments below it.
    Relative(Vec<String>),
    /// Outside the root (or no root known and the name is absolute).
    Outside(PathBuf),
}

impl SourcePath {
    /// `/`-separated, whatever the platform: the form CI systems expect.
    pub(crate) fn slash_path(&self) -> String {
        match self {
            SourcePath::Relative(segments) => segments.join("/"),
            SourcePath::Outside(path) => path.to_string_lossy().replace('\\', "/"),
        }
    }
}

/// Resolve a policy file name, as the user gave it, against `root`. Purely
/// lexical (`.` and `..` folded, no symlinks followed), so it neither touches
/// the file system nor depends on it.
pub fn source_path(file: &str, root: Option<&Path>) -> SourcePath {
    let path = Path::new(file);
    match root {
        Some(root) => {
            let absolute = if path.is_absolute() {
                normalize(path)
            } else {
                normalize(&root.join(path))
            };
            match absolute.strip_prefix(normalize(root)) {
                Ok(rest) => SourcePath::Relative(segments(rest)),
                Err(_) => SourcePath::Outside(absolute),
            }
        }
        None if path.is_relative() => {
            let normal = normalize(path);
            if normal
                .components()
                .any(|c| matches!(c, Component::ParentDir))
            {
                SourcePath::Outside(normal)
            } else {
                SourcePath::Relative(segments(&normal))
            }
        }
        None => SourcePath::Outside(normalize(path)),
    }
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                // `..` above a root stays at the root; above a relative start it is kept.
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn segments(path: &Path) -> Vec<String> {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect()
}

/// Whole days between an image's `ImageCreateTime` and `now` (negative for
/// a time in the future), or `None` when the time is missing or unreadable.
pub(crate) fn age_days(image: &Image, now: Timestamp) -> Option<i64> {
    match image.get(crate::image::Field::ImageCreateTime) {
        crate::image::Value::Time(at) => {
            Some((now.as_second() - at.as_second()).div_euclid(86_400))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_paths_are_relative_to_the_root_when_under_it() {
        let root = Path::new("/repo");
        assert_eq!(
            source_path("policies/a.yaml", Some(root)),
            SourcePath::Relative(vec!["policies".into(), "a.yaml".into()])
        );
        assert_eq!(
            source_path("./policies/../b.yaml", Some(root)),
            SourcePath::Relative(vec!["b.yaml".into()])
        );
        assert_eq!(
            source_path("/repo/x/c.yaml", Some(root)),
            SourcePath::Relative(vec!["x".into(), "c.yaml".into()])
        );
        assert_eq!(
            source_path("../other/d.yaml", Some(root)),
            SourcePath::Outside(PathBuf::from("/other/d.yaml"))
        );
        assert_eq!(
            source_path("/etc/e.yaml", Some(root)),
            SourcePath::Outside(PathBuf::from("/etc/e.yaml"))
        );
        assert_eq!(
            source_path("a/../../f.yaml", None),
            SourcePath::Outside(PathBuf::from("../f.yaml"))
        );
        assert_eq!(source_path("g.yaml", None).slash_path(), "g.yaml");
    }
}
