//! The SARIF 2.1.0 report: plain serde structs for the part of the format we
//! write, one `reportingDescriptor` per rule, one result per finding located
//! at its rule in the policy file, with the image as a logical location.
//! Documented in `docs/reports.md`; checked against the official schema in
//! the tests and with the official validator in `tests/consumers/sarif.rs`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use url::Url;

use crate::diag::Diag;
use crate::eval::{Finding, Status};
use crate::policy::model::{Origin, Rule, Severity};
use crate::report::{NO_IMAGE_ID, Report, SourcePath, source_path};

/// The schema URI of the final SARIF 2.1.0 standard (with errata 01).
pub(crate) const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of our `partialFingerprints`; bump the version if the value's
/// recipe ever changes, so consumers do not match old and new values.
pub(crate) const FINGERPRINT_KEY: &str = "ecmguard/v1";

/// The base id that relative policy paths are resolved against.
pub const SRCROOT: &str = "%SRCROOT%";

/// Where to read about the tool (`tool.driver.informationUri`).
const INFORMATION_URI: &str = match option_env!("CARGO_PKG_REPOSITORY") {
    Some(uri) if !uri.is_empty() => uri,
    _ => "https://crates.io/crates/ecmguard",
};

/// Render with policy paths relative to the run's root (the working
/// directory), where CI systems (GitHub code scanning among them) resolve
/// `%SRCROOT%`.
pub fn render(report: &Report<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let log = build(report, report.run.root.as_deref());
    serde_json::to_writer_pretty(&mut *out, &log).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

// ---------------------------------------------------------------------------
// The subset of the SARIF object model that we write. Field names follow the
// standard (camelCase); absent optional members are left out, never null.

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: [Invocation<'a>; 1],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    original_uri_base_ids: BTreeMap<&'static str, ArtifactLocation>,
    /// Our columns count characters, not UTF-16 code units (SARIF's default).
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
    properties: RunProperties<'a>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<Descriptor<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor<'a> {
    id: &'a str,
    name: String,
    short_description: Message<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_description: Option<Message<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<Help>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<&'a str>,
    default_configuration: Configuration,
    properties: DescriptorProperties<'a>,
}

#[derive(Serialize)]
struct Message<'a> {
    text: Cow<'a, str>,
}

impl<'a> Message<'a> {
    fn new(text: impl Into<Cow<'a, str>>) -> Self {
        Self { text: text.into() }
    }
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct DescriptorProperties<'a> {
    tags: Vec<&'a str>,
    /// `assert` (per image) or `expect` (set-level).
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation<'a> {
    execution_successful: bool,
    exit_code: u8,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_configuration_notifications: Vec<Notification<'a>>,
    properties: InvocationProperties,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InvocationProperties {
    now: String,
    time_zone: String,
    fail_on: &'static str,
    images: usize,
    /// What the run listed of usage, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<crate::report::UsageSummary>,
}

#[derive(Serialize)]
struct Notification<'a> {
    descriptor: DescriptorReference,
    level: &'static str,
    message: Message<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location<'a>>,
}

#[derive(Serialize)]
struct DescriptorReference {
    id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    kind: &'static str,
    level: &'static str,
    message: Message<'a>,
    locations: [Location<'a>; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location<'a>>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_state: Option<&'static str>,
    properties: ResultProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<LogicalLocation<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
    /// The source text of the span (the rule's `id` entry), so a viewer
    /// without the repository still sees what is meant.
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<Message<'static>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation<'a> {
    name: &'a str,
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
struct Suppression<'a> {
    kind: &'static str,
    status: &'static str,
    justification: &'a str,
    location: Location<'a>,
    properties: SuppressionProperties<'a>,
}

#[derive(Serialize)]
struct SuppressionProperties<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties<'a> {
    /// Our status: violation, indeterminate, waived, baselined or grace
    /// (`skip` for a rule that was not evaluated).
    status: &'static str,
    severity: &'static str,
    /// Whether this finding fails the gate under `--fail-on`.
    failing: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_name: Option<&'a str>,
    /// Set-level `unique` findings: the duplicated value.
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    /// With `check --history`: the start of the finding's streak (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    first_seen: Option<String>,
    /// With `check --history`: seconds since `firstSeen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    open_for_seconds: Option<i64>,
    /// A rule that reads usage: the instances and modules behind the counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<crate::report::UsageEvidence<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunProperties<'a> {
    verdict: &'static str,
    /// Baseline entries that match no finding any more.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    baseline_fixed: Vec<&'a crate::eval::FixedEntry>,
}

// ---------------------------------------------------------------------------

fn build<'a>(report: &'a Report<'a>, root: Option<&Path>) -> Log<'a> {
    let locate = Locator { root };
    let mut original_uri_base_ids = BTreeMap::new();
    if let Some(uri) = root.and_then(directory_uri) {
        original_uri_base_ids.insert(
            SRCROOT,
            ArtifactLocation {
                uri,
                uri_base_id: None,
            },
        );
    }
    let baseline_used = report.baseline_used();
    let mut results: Vec<SarifResult<'_>> = report
        .evaluation
        .findings
        .iter()
        .map(|finding| result(report, finding, &locate, baseline_used))
        .collect();
    // Rules that were not judged (a narrowed selection, no image in scope):
    // `notApplicable` results, which SARIF viewers do not count as alerts.
    for (index, (rule, outcome)) in report
        .policy
        .rules
        .iter()
        .zip(&report.evaluation.rules)
        .enumerate()
    {
        if let Some(reason) = &outcome.skip {
            results.push(SarifResult {
                rule_id: &rule.id,
                rule_index: index,
                kind: "notApplicable",
                level: "none",
                message: Message::new(format!("{} not evaluated: {reason}", rule.id)),
                locations: [locate.at(&rule.origin)],
                related_locations: Vec::new(),
                partial_fingerprints: BTreeMap::from([(
                    FINGERPRINT_KEY,
                    format!("{}/skip", rule.id),
                )]),
                suppressions: Vec::new(),
                baseline_state: None,
                properties: ResultProperties {
                    status: "skip",
                    severity: rule.severity.as_str(),
                    failing: false,
                    image_id: None,
                    image_name: None,
                    value: None,
                    first_seen: None,
                    open_for_seconds: None,
                    usage: None,
                },
            });
        }
    }
    let exit_code = report.exit_code();
    Log {
        schema: SARIF_SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "ecmguard",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: INFORMATION_URI,
                    rules: report.policy.rules.iter().map(descriptor).collect(),
                },
            },
            invocations: [Invocation {
                // A complete evaluation is a successful execution whatever
                // the verdict; failed runs (exit 2 and 3) write no report.
                execution_successful: true,
                exit_code,
                tool_configuration_notifications: report
                    .evaluation
                    .warnings
                    .iter()
                    .map(|w| notification(w, &locate))
                    .collect(),
                properties: InvocationProperties {
                    now: report.run.now.to_string(),
                    time_zone: report.run.zone.label().to_owned(),
                    fail_on: report.run.fail_on.as_str(),
                    images: report.images.len(),
                    usage: report.usage_summary(),
                },
            }],
            original_uri_base_ids,
            column_kind: "unicodeCodePoints",
            results,
            properties: RunProperties {
                verdict: if exit_code == 0 { "pass" } else { "fail" },
                baseline_fixed: report.evaluation.baseline_fixed.iter().collect(),
            },
        }],
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn descriptor(rule: &Rule) -> Descriptor<'_> {
    let description = rule
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    let remediation = rule
        .remediation
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let url = rule.url.as_deref().filter(|u| is_absolute_uri(u));
    // Only a URL that passed validation (absolute http(s), no spaces, quotes
    // or angle brackets) becomes a Markdown autolink.
    let help = match (remediation, url) {
        (None, None) => None,
        (Some(text), None) => Some(Help {
            text: text.to_owned(),
            markdown: crate::text::markdown::paragraphs(text),
        }),
        (remediation, Some(link)) => {
            let text = remediation.unwrap_or("See the policy documentation.");
            Some(Help {
                text: format!("{text} ({link})"),
                markdown: format!("{}\n\n<{link}>", crate::text::markdown::paragraphs(text)),
            })
        }
    };
    let mut tags: Vec<&str> = Vec::new();
    for tag in &rule.tags {
        // The schema wants unique tags.
        if !tags.contains(&tag.as_str()) {
            tags.push(tag);
        }
    }
    Descriptor {
        id: &rule.id,
        name: pascal_case(&rule.id),
        short_description: Message::new(rule.title.as_str()),
        full_description: description.map(Message::new),
        help,
        help_uri: url,
        default_configuration: Configuration {
            level: level(rule.severity),
        },
        properties: DescriptorProperties {
            tags,
            kind: if rule.is_set_level() {
                "expect"
            } else {
                "assert"
            },
        },
    }
}

/// `private-image-max-age` → `PrivateImageMaxAge`: SARIF's `name` is a
/// readable identifier, conventionally Pascal case.
pub(crate) fn pascal_case(id: &str) -> String {
    id.split(['-', '.', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `scheme:rest` with no whitespace or control characters: what the schema's
/// `uri` format accepts. A policy `url` that is not one stays in the help text.
fn is_absolute_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && text.chars().all(|c| {
            c.is_ascii_graphic()
                && !matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`')
        })
}

fn result<'a>(
    report: &'a Report<'a>,
    finding: &'a Finding,
    locate: &Locator<'_>,
    baseline_used: bool,
) -> SarifResult<'a> {
    let rule = report.rule(finding);
    let image = finding.image.map(|i| report.image(i));
    let mut location = locate.at(&rule.origin);
    if let Some(image) = image {
        location.logical_locations = image_location(image.id());
    }
    let related_locations = finding
        .duplicate
        .iter()
        .flat_map(|d| &d.images)
        .enumerate()
        .map(|(n, &i)| {
            let related = report.image(i);
            Location {
                id: Some(n + 1),
                physical_location: None,
                logical_locations: image_location(related.id()),
                message: Some(Message::new(crate::report::image_label(related))),
            }
        })
        .collect();
    let suppressions = finding
        .waiver
        .and_then(|index| report.policy.waivers.get(index))
        .map(|waiver| Suppression {
            kind: "external",
            status: "accepted",
            justification: &waiver.reason,
            location: locate.at(&waiver.origin),
            properties: SuppressionProperties {
                owner: waiver.owner.as_deref(),
                expires: waiver.expires.as_ref().map(|(date, _)| date.as_str()),
            },
        })
        .into_iter()
        .collect();
    let baseline_state = match finding.status {
        Status::Baselined => Some("unchanged"),
        _ if baseline_used => Some("new"),
        _ => None,
    };
    SarifResult {
        rule_id: &rule.id,
        rule_index: finding.rule,
        // Indeterminate findings fail the gate like violations (docs/policy-language.md, three-valued logic), so
        // they are `fail` results at the rule's level rather than `open`
        // (which SARIF requires to have level `none`).
        kind: "fail",
        level: level(rule.severity),
        message: Message::new(match report.message_label(finding) {
            Some(label) => Cow::Owned(format!("{label}: {}", finding.message)),
            None => Cow::Borrowed(&*finding.message),
        }),
        locations: [location],
        related_locations,
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, fingerprint(report, finding))]),
        suppressions,
        baseline_state,
        properties: ResultProperties {
            status: finding.status.as_str(),
            severity: rule.severity.as_str(),
            failing: report.is_failing(finding),
            image_id: image.and_then(|i| i.id()),
            image_name: image.and_then(|i| i.name()),
            value: finding.duplicate.as_ref().map(|d| d.value.as_str()),
            first_seen: report.first_seen_rfc3339(finding),
            open_for_seconds: report.open_for_seconds(finding),
            usage: report.usage_evidence(finding),
        },
    }
}

/// Stable across runs, independent of messages, order and `--now`: the rule
/// id and the ImageId; for set-level findings the rule id and the duplicated
/// value (`count` findings: the rule id alone, there is one per rule).
pub fn fingerprint(report: &Report<'_>, finding: &Finding) -> String {
    let rule = &report.rule(finding).id;
    match (finding.image, finding.duplicate.as_ref().map(|d| &d.value)) {
        (Some(index), _) => {
            let image = report.image(index);
            match (image.id(), image.name()) {
                (Some(id), _) => format!("{rule}/{id}"),
                // No id: the name is the next most stable thing we have.
                (None, Some(name)) => format!("{rule}/name:{name}"),
                (None, None) => format!("{rule}/index:{index}"),
            }
        }
        (None, Some(value)) => format!("{rule}/value:{value}"),
        (None, None) => rule.clone(),
    }
}

fn image_location(id: Option<&str>) -> Vec<LogicalLocation<'_>> {
    let name = id.unwrap_or(NO_IMAGE_ID);
    vec![LogicalLocation {
        name,
        fully_qualified_name: format!("ecm/images/{name}"),
        kind: "resource",
    }]
}

fn notification<'a>(warning: &'a Diag, locate: &Locator<'_>) -> Notification<'a> {
    let locations = match (warning.file(), warning.primary_span()) {
        (Some(file), Some(span)) => vec![locate.at(&Origin {
            file: file.clone(),
            span,
        })],
        _ => Vec::new(),
    };
    Notification {
        descriptor: DescriptorReference {
            id: warning.code.name(),
        },
        level: if warning.is_error() {
            "error"
        } else {
            "warning"
        },
        message: Message::new(warning.message.as_str()),
        locations,
    }
}

/// Turns policy file origins into SARIF locations.
struct Locator<'r> {
    root: Option<&'r Path>,
}

impl Locator<'_> {
    fn at<'a>(&self, origin: &Origin) -> Location<'a> {
        let at = origin.line_col();
        let artifact_location = match source_path(origin.file.name(), self.root) {
            SourcePath::Relative(segments) => ArtifactLocation {
                uri: relative_reference(&segments),
                uri_base_id: Some(SRCROOT),
            },
            SourcePath::Outside(path) => ArtifactLocation {
                uri: outside_uri(&path),
                uri_base_id: None,
            },
        };
        // Only a span on one line has an end column and a snippet.
        let text = origin
            .file
            .text()
            .get(origin.span.start..origin.span.end())
            .filter(|t| !t.is_empty() && !t.contains(['\n', '\r']));
        Location {
            id: None,
            physical_location: Some(PhysicalLocation {
                artifact_location,
                region: Region {
                    start_line: at.line.max(1),
                    start_column: at.column.max(1),
                    end_column: text.map(|t| at.column.max(1) + t.chars().count()),
                    snippet: text.map(|t| Message::new(t.to_owned())),
                },
            }),
            logical_locations: Vec::new(),
            message: None,
        }
    }
}

/// `file:///abs/dir/` for `%SRCROOT%` (SARIF wants the trailing slash).
fn directory_uri(dir: &Path) -> Option<String> {
    Url::from_directory_path(dir).ok().map(String::from)
}

/// A policy file outside the working directory: an absolute `file:` URI,
/// or (a relative path when no working directory is known) a relative
/// reference, its `..` steps kept.
fn outside_uri(path: &Path) -> String {
    match Url::from_file_path(path) {
        Ok(url) => url.into(),
        Err(()) => {
            let components: Vec<String> = path
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let up = components.iter().take_while(|c| *c == "..").count();
            let mut uri = "../".repeat(up);
            uri.push_str(&relative_reference(&components[up..]));
            uri
        }
    }
}

/// Path segments as a relative URI reference, each segment encoded as
/// `url` encodes a file path. A first segment holding `:` would read as a
/// scheme (`a:b.yaml`), so it gets a `./` before it (RFC 3986, 4.2).
fn relative_reference(segments: &[String]) -> String {
    // A base to encode against; the literal always parses.
    let Ok(mut url) = Url::parse("file:///") else {
        return segments.join("/");
    };
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    let encoded = url.path().trim_start_matches('/');
    match segments.first() {
        Some(first) if first.contains(':') => format!("./{encoded}"),
        _ => encoded.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_pascal_case() {
        assert_eq!(pascal_case("private-image-max-age"), "PrivateImageMaxAge");
        assert_eq!(pascal_case("a.b_c--d"), "ABCD");
    }

    #[test]
    fn paths_become_file_uris_and_relative_references() {
        let segments = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            relative_reference(&segments(&["策略 a", "b #1%.yaml"])),
            "%E7%AD%96%E7%95%A5%20a/b%20%231%25.yaml"
        );
        assert_eq!(relative_reference(&segments(&["a:b.yaml"])), "./a:b.yaml");
        assert_eq!(
            directory_uri(Path::new("/w/x y")).as_deref(),
            Some("file:///w/x%20y/")
        );
        assert_eq!(directory_uri(Path::new("/")).as_deref(), Some("file:///"));
        assert_eq!(directory_uri(Path::new("relative")), None);
        assert_eq!(
            outside_uri(Path::new("/etc/p q.yaml")),
            "file:///etc/p%20q.yaml"
        );
        assert_eq!(
            outside_uri(Path::new("../../x/a b.yaml")),
            "../../x/a%20b.yaml"
        );
    }

    #[test]
    fn only_absolute_uris_become_help_uris() {
        assert!(is_absolute_uri("https://example.com/policy#age"));
        assert!(!is_absolute_uri("example.com/policy"));
        assert!(!is_absolute_uri("https://example.com/a b"));
        assert!(!is_absolute_uri(":x"));
    }
}
