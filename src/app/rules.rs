//! `ecmguard rules`: the loaded rules with their metadata, as text, JSON
//! (`ecmguard/rules/v1`) or Markdown.

use std::io::Write;

use serde::Serialize;

use crate::policy::PolicySet;
use crate::policy::model::{Location, ParamSource, Severity, UnknownPolicy};
use crate::text::escape;
use crate::text::markdown::{cell, code, inline, paragraphs};

pub(crate) const RULES_SCHEMA: &str = "ecmguard/rules/v1";

#[derive(Serialize)]
struct RuleEntry<'a> {
    id: &'a str,
    title: &'a str,
    severity: Severity,
    kind: &'static str,
    description: Option<&'a str>,
    remediation: Option<&'a str>,
    url: Option<&'a str>,
    tags: &'a [String],
    unknown: UnknownPolicy,
    location: Location,
}

#[derive(Serialize)]
struct ParamEntry<'a> {
    name: &'a str,
    value: &'a str,
    description: Option<&'a str>,
    /// Where `value` came from: `{"kind": "default" | "param_file" | "env" |
    /// "command_line"}`, with `file` and `line` (param file) or `variable` (env).
    source: &'a ParamSource,
    /// `source.kind == "command_line"`: kept for scripts written against
    /// the first listings, which only knew `--param`.
    from_command_line: bool,
    location: Location,
}

#[derive(Serialize)]
struct Listing<'a> {
    schema: &'static str,
    rules: Vec<RuleEntry<'a>>,
    params: Vec<ParamEntry<'a>>,
    waivers: usize,
}

fn listing(policy: &PolicySet) -> Listing<'_> {
    Listing {
        schema: RULES_SCHEMA,
        rules: policy
            .rules
            .iter()
            .map(|r| RuleEntry {
                id: &r.id,
                title: &r.title,
                severity: r.severity,
                kind: if r.is_set_level() { "expect" } else { "assert" },
                description: r.description.as_deref(),
                remediation: r.remediation.as_deref(),
                url: r.url.as_deref(),
                tags: &r.tags,
                unknown: r.unknown,
                location: r.origin.location(),
            })
            .collect(),
        params: policy
            .params
            .iter()
            .map(|p| ParamEntry {
                name: &p.name,
                value: &p.value,
                description: p.description.as_deref(),
                source: &p.source,
                from_command_line: p.source == ParamSource::CommandLine,
                location: p.origin.location(),
            })
            .collect(),
        waivers: policy.waivers.len(),
    }
}

pub fn json(policy: &PolicySet, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &listing(policy)).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

pub fn human(policy: &PolicySet, out: &mut dyn Write) -> std::io::Result<()> {
    let width = policy
        .rules
        .iter()
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(0);
    for rule in &policy.rules {
        let at = rule.origin.location();
        let kind = if rule.is_set_level() { "set" } else { "image" };
        writeln!(
            out,
            "{:<width$}  {:<7}  {:<5}  {}",
            rule.id,
            rule.severity.as_str(),
            kind,
            escape(&rule.title)
        )?;
        let tags = if rule.tags.is_empty() {
            String::new()
        } else {
            format!("  [{}]", escape(&rule.tags.join(", ")))
        };
        writeln!(
            out,
            "{:<width$}  {}:{}:{}{tags}",
            "",
            escape(&at.file),
            at.line,
            at.column
        )?;
    }
    if !policy.params.is_empty() {
        writeln!(out, "\nparams:")?;
        for param in &policy.params {
            let source = match &param.source {
                ParamSource::Default => "default".to_owned(),
                other => format!("from {}", escape(&other.describe())),
            };
            writeln!(
                out,
                "  {} = {} ({source}){}",
                param.name,
                escape(&param.value),
                param
                    .description
                    .as_deref()
                    .map(|d| format!(" — {}", escape(d)))
                    .unwrap_or_default()
            )?;
        }
    }
    writeln!(
        out,
        "\n{}, {}",
        crate::text::count(policy.rules.len() as u64, "rule", "rules"),
        crate::text::count(policy.waivers.len() as u64, "waiver", "waivers")
    )
}

pub fn markdown(policy: &PolicySet, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "# ecmguard rules\n")?;
    writeln!(out, "| id | severity | kind | title | tags | defined at |")?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    for rule in &policy.rules {
        let at = rule.origin.location();
        writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {}:{} |",
            rule.id,
            rule.severity,
            if rule.is_set_level() { "set" } else { "image" },
            cell(&rule.title),
            cell(&rule.tags.join(", ")),
            cell(&at.file),
            at.line
        )?;
    }
    for rule in &policy.rules {
        writeln!(out, "\n## `{}` — {}\n", rule.id, inline(&rule.title))?;
        if let Some(description) = &rule.description {
            writeln!(out, "{}\n", paragraphs(description))?;
        }
        if let Some(remediation) = &rule.remediation {
            writeln!(out, "**Remediation:** {}\n", paragraphs(remediation))?;
        }
        if let Some(url) = &rule.url {
            writeln!(out, "More: <{url}>\n")?;
        }
    }
    if !policy.params.is_empty() {
        writeln!(
            out,
            "\n## Params\n\n| name | value | source | description |\n|---|---|---|---|"
        )?;
        for param in &policy.params {
            writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                param.name,
                code(&param.value),
                cell(&param.source.describe()),
                cell(param.description.as_deref().unwrap_or(""))
            )?;
        }
    }
    Ok(())
}
