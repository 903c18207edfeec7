//! The JSON report, schema `ecmguard/report/v1`, documented field by field
//! in `docs/report-json.md`. Streamed with serde: no intermediate tree.

use std::io::{BufWriter, Write};

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use crate::diag::Diag;
use crate::eval::{Finding, RuleResult};
use crate::policy::model::{Location, Rule};
use crate::report::Report;

pub(crate) const REPORT_SCHEMA: &str = "ecmguard/report/v1";

pub fn render(report: &Report<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    // serde_json writes many tiny pieces; a concrete buffer here keeps them
    // off the `dyn Write` path (a twentieth of a large check otherwise).
    let mut buffered = BufWriter::with_capacity(1 << 16, out);
    let mut ser = serde_json::Serializer::pretty(&mut buffered);
    ReportView(report)
        .serialize(&mut ser)
        .map_err(std::io::Error::other)?;
    buffered.write_all(b"\n")?;
    buffered.flush()
}

struct ReportView<'r, 'a>(&'r Report<'a>);

impl Serialize for ReportView<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("schema", REPORT_SCHEMA)?;
        map.serialize_entry(
            "tool",
            &Tool {
                name: "ecmguard",
                version: env!("CARGO_PKG_VERSION"),
            },
        )?;
        map.serialize_entry("run", &Run(report))?;
        map.serialize_entry("summary", &report.summary())?;
        map.serialize_entry("rules", &Rules(report))?;
        map.serialize_entry("findings", &Findings(report))?;
        map.serialize_entry("warnings", &Warnings(&report.evaluation.warnings))?;
        map.serialize_entry("baseline_fixed", &report.evaluation.baseline_fixed)?;
        map.end()
    }
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

struct Run<'r, 'a>(&'r Report<'a>);

impl Serialize for Run<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let run = &self.0.run;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("now", &run.zone.rfc3339(run.now))?;
        map.serialize_entry("time_zone", run.zone.label())?;
        map.serialize_entry("source", &run.source)?;
        let endpoint = run.source.endpoint();
        let filters = run.source.filters();
        let (requests, retries) = run.source.requests_and_retries();
        map.serialize_entry("endpoint", &endpoint)?;
        map.serialize_entry("filters", &filters)?;
        map.serialize_entry("requests", &requests)?;
        map.serialize_entry("retries", &retries)?;
        map.serialize_entry("duration_seconds", &run.duration_seconds)?;
        map.serialize_entry("fail_on", &run.fail_on)?;
        map.serialize_entry("images", &self.0.images.len())?;
        map.serialize_entry("duplicates_dropped", &run.duplicates_dropped)?;
        map.serialize_entry("baseline", &run.baseline)?;
        map.serialize_entry("exit_code", &self.0.exit_code())?;
        // What the run listed of usage (null: it listed none).
        map.serialize_entry("usage", &self.0.usage_summary())?;
        map.end()
    }
}

struct Rules<'r, 'a>(&'r Report<'a>);

impl Serialize for Rules<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        let mut seq = s.serialize_seq(Some(report.policy.rules.len()))?;
        for (rule, result) in report.policy.rules.iter().zip(&report.evaluation.rules) {
            seq.serialize_element(&RuleView { rule, result })?;
        }
        seq.end()
    }
}

struct RuleView<'a> {
    rule: &'a Rule,
    result: &'a RuleResult,
}

impl Serialize for RuleView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rule = self.rule;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", &rule.id)?;
        map.serialize_entry("title", &rule.title)?;
        map.serialize_entry("severity", &rule.severity)?;
        map.serialize_entry(
            "kind",
            if rule.is_set_level() {
                "expect"
            } else {
                "assert"
            },
        )?;
        map.serialize_entry("description", &rule.description)?;
        map.serialize_entry("remediation", &rule.remediation)?;
        map.serialize_entry("url", &rule.url)?;
        map.serialize_entry("tags", &rule.tags)?;
        map.serialize_entry("unknown", &rule.unknown)?;
        map.serialize_entry("status", &self.result.status)?;
        if let Some(reason) = &self.result.skip {
            map.serialize_entry("skip_reason", &reason.to_string())?;
        }
        map.serialize_entry("counts", &self.result.counts)?;
        map.serialize_entry("location", &rule.origin.location())?;
        map.end()
    }
}

struct Findings<'r, 'a>(&'r Report<'a>);

impl Serialize for Findings<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        // Each rule's location once, not once per finding (a line/column
        // lookup and a file-name copy each).
        let locations: Vec<Location> = report
            .policy
            .rules
            .iter()
            .map(|rule| rule.origin.location())
            .collect();
        let mut seq = s.serialize_seq(Some(report.evaluation.findings.len()))?;
        for finding in &report.evaluation.findings {
            let Some(location) = locations.get(finding.rule) else {
                continue;
            };
            seq.serialize_element(&FindingView {
                report,
                finding,
                location,
            })?;
        }
        seq.end()
    }
}

struct FindingView<'r, 'a> {
    report: &'r Report<'a>,
    finding: &'r Finding,
    location: &'r Location,
}

impl Serialize for FindingView<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (report, finding) = (self.report, self.finding);
        let rule = report.rule(finding);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("rule", &rule.id)?;
        map.serialize_entry("status", &finding.status)?;
        map.serialize_entry("severity", &rule.severity)?;
        map.serialize_entry("failing", &report.is_failing(finding))?;
        map.serialize_entry("image", &finding.image.map(|i| report.image(i)))?;
        map.serialize_entry("message", &finding.message)?;
        map.serialize_entry("location", self.location)?;
        // Only with --history: without it the keys are absent, not null.
        if let (Some(first_seen), Some(open_for)) = (
            report.first_seen_rfc3339(finding),
            report.open_for_seconds(finding),
        ) {
            map.serialize_entry("first_seen", &first_seen)?;
            map.serialize_entry("open_for_seconds", &open_for)?;
        }
        if let Some(ends) = (finding.status == crate::eval::Status::Grace)
            .then(|| report.grace_ends(finding))
            .flatten()
        {
            map.serialize_entry("grace_ends", &report.run.zone.rfc3339(ends))?;
        }
        if let Some(index) = finding.waiver {
            let waiver = &report.policy.waivers[index];
            map.serialize_entry(
                "waiver",
                &WaiverView {
                    reason: &waiver.reason,
                    owner: waiver.owner.as_deref(),
                    expires: waiver.expires.as_ref().map(|(d, _)| d.as_str()),
                    location: waiver.origin.location(),
                },
            )?;
        }
        if let Some(duplicate) = &finding.duplicate {
            map.serialize_entry("value", &duplicate.value)?;
            let ids: Vec<Option<&str>> = duplicate
                .images
                .iter()
                .map(|&i| report.image(i).id())
                .collect();
            map.serialize_entry("images", &ids)?;
        }
        // The instances and modules behind the counts of a rule that reads usage.
        if let Some(evidence) = report.usage_evidence(finding) {
            map.serialize_entry("usage", &evidence)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct WaiverView<'a> {
    reason: &'a str,
    owner: Option<&'a str>,
    expires: Option<&'a str>,
    location: Location,
}

struct Warnings<'a>(&'a [Diag]);

impl Serialize for Warnings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for diag in self.0 {
            seq.serialize_element(&WarningView(diag))?;
        }
        seq.end()
    }
}

struct WarningView<'a>(&'a Diag);

impl Serialize for WarningView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let diag = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("code", diag.code.name())?;
        map.serialize_entry("message", &diag.message)?;
        let location = diag.location().map(|(file, at)| Location {
            file: file.to_owned(),
            line: at.line,
            column: at.column,
        });
        map.serialize_entry("location", &location)?;
        map.end()
    }
}
