//! Param values given from outside the policy files, each with where it came
//! from: param files (`--param-file`, like Terraform's `-var-file`),
//! `ECMGUARD_PARAM_<name>` environment variables (like `TF_VAR_<name>`),
//! `--param NAME=VALUE`, and a policy test case's `params:`.
//!
//! This module only reads them and keeps their locations; the compiler
//! (`params`) checks their names against the policy set and types them like
//! `--param` (docs/policy-language.md, "Params"). Precedence is the order of
//! `CompileOptions::params`, lowest first: the last value given for a name is
//! the one in force. `settings` builds that order: param files in the order
//! given, then the environment, then `--param`.

use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;

use crate::diag::{Code, Diag};
use crate::policy::model::ParamSource;
use crate::policy::read::{Collect, Dialect, Of, Read};
use crate::policy::yaml::{self, Node, NodeKind};
use crate::source_text::{SourceFile, Span};

/// The prefix of the environment variables that set params.
pub(crate) const ENV_PREFIX: &str = "ECMGUARD_PARAM_";

/// One value given for a param.
#[derive(Debug, Clone)]
pub struct ParamInput {
    pub name: String,
    pub value: Given,
    pub source: ParamSource,
    /// The text diagnostics about the value point into: the param file, or
    /// (for the environment, `--param` and test cases) the value alone.
    pub file: Arc<SourceFile>,
    /// The value in `file`.
    pub span: Span,
    /// The name in `file` (a param file's key), for "no such param".
    pub name_span: Option<Span>,
}

/// A value as it was given, before it is typed like its param.
#[derive(Debug, Clone, PartialEq)]
pub enum Given {
    /// Text, typed like `--param`: taken as written for a string param,
    /// parsed as the param's type otherwise; `a,b` or `[a, b]` for a list.
    Text(String),
    /// A YAML list in a param file: each item's text and span.
    List(Vec<(String, Span)>),
}

impl ParamInput {
    /// A value written as text in the file named `label` (no position of its
    /// own: diagnostics show the text itself).
    fn text(name: &str, text: &str, source: ParamSource, label: String) -> ParamInput {
        let file = SourceFile::new(label, text.to_owned());
        ParamInput {
            name: name.to_owned(),
            value: Given::Text(text.to_owned()),
            source,
            span: Span::new(0, file.text().len()),
            file,
            name_span: None,
        }
    }

    /// `--param NAME=VALUE`.
    pub fn command_line(name: &str, text: &str) -> ParamInput {
        ParamInput::text(
            name,
            text,
            ParamSource::CommandLine,
            format!("--param {name}"),
        )
    }

    /// `ECMGUARD_PARAM_<name>=VALUE`.
    pub fn env(name: &str, text: &str) -> ParamInput {
        let variable = format!("{ENV_PREFIX}{name}");
        ParamInput::text(
            name,
            text,
            ParamSource::Env {
                variable: variable.clone(),
            },
            variable,
        )
    }

    /// A policy test case's `params:` entry, as text.
    pub(crate) fn test_case(name: &str, text: &str) -> ParamInput {
        ParamInput::text(
            name,
            text,
            ParamSource::TestCase,
            format!("test case param {name}"),
        )
    }

    /// How messages name this value: `--param max_age`,
    /// `ECMGUARD_PARAM_max_age`, `param `max_age` in vars.yaml`.
    pub fn what(&self) -> String {
        match &self.source {
            ParamSource::CommandLine | ParamSource::Default => format!("--param {}", self.name),
            ParamSource::Env { variable } => variable.clone(),
            ParamSource::ParamFile { file, .. } => format!("param `{}` in {file}", self.name),
            ParamSource::TestCase => format!("param `{}` of the test case", self.name),
        }
    }

    /// How `value` is written for this param where this value was given, for
    /// help texts: `--param max_age=90d`, `ECMGUARD_PARAM_max_age=90d`, `max_age: 90d`.
    pub fn example(&self, value: &str) -> String {
        match &self.source {
            ParamSource::CommandLine | ParamSource::Default => {
                format!("--param {}={value}", self.name)
            }
            ParamSource::Env { variable } => format!("{variable}={value}"),
            ParamSource::ParamFile { .. } | ParamSource::TestCase => {
                format!("{}: {value}", self.name)
            }
        }
    }
}

/// The `ECMGUARD_PARAM_<name>` variables among `vars`, sorted by name so the
/// order never depends on the environment's. Values are literal text. A
/// value that is not UTF-8 cannot be text: it is reported, not dropped.
pub fn from_env(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> (Vec<ParamInput>, Vec<Diag>) {
    let mut found: Vec<(String, Result<String, OsString>)> = vars
        .into_iter()
        .filter_map(|(key, value)| {
            // A name that is not UTF-8 cannot be a param name, nor ours.
            let name = key.to_str()?.strip_prefix(ENV_PREFIX)?.to_owned();
            Some((name, value.into_string()))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let mut inputs = Vec::with_capacity(found.len());
    let mut problems = Vec::new();
    for (name, value) in found {
        match value {
            Ok(text) => inputs.push(ParamInput::env(&name, &text)),
            Err(_) => problems.push(
                Diag::error(
                    Code::InvalidParamEnv,
                    format!("{ENV_PREFIX}{name}: the value is not valid UTF-8"),
                )
                .with_help("param values are text; set the variable to UTF-8 text"),
            ),
        }
    }
    (inputs, problems)
}

/// Read a param file: a YAML mapping of param names to values, read like a
/// policy file (regular files only, size-capped, UTF-8).
pub(crate) fn read_param_file(path: &Path) -> Result<Vec<ParamInput>, Vec<Diag>> {
    let file = super::read_source(path).map_err(|d| vec![d])?;
    param_file(&file)
}

/// The values of a param file's text. Every problem of the file is
/// reported; names are checked against the policy set when it compiles.
pub fn param_file(file: &Arc<SourceFile>) -> Result<Vec<ParamInput>, Vec<Diag>> {
    let root = yaml::parse(file).map_err(|d| vec![d])?;
    let entries = match &root.kind {
        // An empty file sets nothing (a placeholder for an environment).
        NodeKind::Null => return Ok(Vec::new()),
        NodeKind::Map(entries) => entries,
        _ => {
            return Err(vec![
                shape(
                    file,
                    root.span,
                    format!(
                        "a param file is a mapping of param names to values, found {}",
                        root.type_name()
                    ),
                    "expected a mapping",
                )
                .with_help("write one `name: value` per line, e.g. `max_private_age: 90d`"),
            ]);
        }
    };
    let mut reader = Collect::new(file, &PARAM_FILE, crate::diag::SMALL_FILE);
    let names = Of::new(file.name())
        .keys("a param name", "not a param name")
        .again("keep one of them; a later param file (or the environment, or --param) overrides an earlier one");
    let mut inputs: Vec<ParamInput> = Vec::with_capacity(entries.len());
    for item in reader.each(entries, names) {
        let given =
            item.and_then(|(name, key, value)| Ok((name, key, value, given(file, name, value)?)));
        match given {
            Ok((name, key, value, given)) => inputs.push(ParamInput {
                name: name.to_owned(),
                value: given,
                source: ParamSource::ParamFile {
                    file: file.name().to_owned(),
                    line: file.line_col(value.span.start).line,
                },
                file: file.clone(),
                span: value.span,
                name_span: Some(key.span),
            }),
            Err(diag) => reader.push(diag),
        }
    }
    if reader.problems.is_empty() {
        return Ok(inputs);
    }
    let mut long = Vec::new();
    root.long_strings(&mut long);
    let shown = crate::diag::cap_per_file(reader.problems, |_| crate::diag::SMALL_FILE);
    Err(crate::diag::clip_values(shown, &long))
}

/// A param file's words: everything about its shape is
/// `invalid-param-file`, and a name set twice says so.
const PARAM_FILE: Dialect = Dialect {
    wrong_type: Code::InvalidParamFile,
    unknown_key: Code::UnknownParamInFile,
    key_label: "not a param name",
    keys_of_what: false,
    dashes_are_underscores: false,
    twice: |name, file| format!("param `{name}` is set twice in {file}"),
};

/// A param file's value: a scalar as text, or a list of scalars.
fn given(file: &Arc<SourceFile>, name: &str, value: &Node) -> Result<Given, Diag> {
    match &value.kind {
        NodeKind::Null => Err(shape(
            file,
            value.span,
            format!("param `{name}` has no value in {}", file.name()),
            "no value",
        )
        .with_help(format!(
            "write a value (`{name}: VALUE`), or remove the line to keep the param's value from elsewhere"
        ))),
        NodeKind::Map(_) => Err(shape(
            file,
            value.span,
            format!("param `{name}` is a mapping; a param value is a scalar or a list"),
            "a mapping",
        )
        .with_help("params hold a string, number, boolean, duration, time or a list of them")),
        NodeKind::Seq(items) => {
            let mut texts = Vec::with_capacity(items.len());
            for item in items {
                match scalar_text(file, item) {
                    Some(text) => texts.push((text, item.span)),
                    None => {
                        return Err(shape(
                            file,
                            item.span,
                            format!(
                                "an item of param `{name}` is {}; list items are scalars",
                                item.type_name()
                            ),
                            "not a scalar",
                        )
                        .with_help(format!("e.g. `{name}: [Ubuntu, CentOS]`")));
                    }
                }
            }
            Ok(Given::List(texts))
        }
        _ => Ok(Given::Text(scalar_text(file, value).unwrap_or_default())),
    }
}

/// A scalar's text as `--param` would receive it: a string's value (quotes
/// removed), anything else exactly as written (`1.10` stays `1.10` for a
/// string param; an integer param parses it).
fn scalar_text(file: &Arc<SourceFile>, node: &Node) -> Option<String> {
    match &node.kind {
        NodeKind::Str(s) => Some(s.clone()),
        NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_) => Some(
            file.text()
                .get(node.span.start..node.span.end())
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map_or_else(|| node.display(), str::to_owned),
        ),
        NodeKind::Null | NodeKind::Seq(_) | NodeKind::Map(_) => None,
    }
}

fn shape(file: &Arc<SourceFile>, span: Span, message: String, label: &str) -> Diag {
    Diag::error(Code::InvalidParamFile, message).at(file, span, label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<ParamInput>, Vec<Diag>> {
        param_file(&SourceFile::new("vars.yaml", text))
    }

    #[test]
    fn values_keep_their_text_and_position() {
        let inputs = read("a: 1.10\nb: \"x #y\"\nc: [Ubuntu, 2]\nd: true\n").expect("valid");
        let values: Vec<(&str, &Given)> =
            inputs.iter().map(|i| (i.name.as_str(), &i.value)).collect();
        assert_eq!(values[0], ("a", &Given::Text("1.10".into())));
        assert_eq!(values[1], ("b", &Given::Text("x #y".into())));
        assert!(
            matches!(values[2].1, Given::List(items) if items.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>() == ["Ubuntu", "2"])
        );
        assert_eq!(values[3], ("d", &Given::Text("true".into())));
        assert_eq!(
            inputs[2].source,
            ParamSource::ParamFile {
                file: "vars.yaml".into(),
                line: 3
            }
        );
    }

    #[test]
    fn every_shape_problem_is_reported_and_located() {
        let problems = read("a:\nb: { x: 1 }\nc: [[1]]\na: 2\n").expect_err("invalid");
        let codes: Vec<Code> = problems.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [
                Code::InvalidParamFile,
                Code::InvalidParamFile,
                Code::InvalidParamFile,
                Code::DuplicateKey
            ]
        );
        assert!(problems.iter().all(|d| d.location().is_some()));
        assert_eq!(read("- a\n").expect_err("a list").len(), 1);
        assert!(read("").expect("empty").is_empty());
    }

    #[test]
    fn the_environment_gives_literal_text_in_name_order() {
        let (inputs, problems) = from_env([
            ("ECMGUARD_PARAM_b".into(), " x #y ".into()),
            ("PATH".into(), "/bin".into()),
            ("ECMGUARD_PARAM_a".into(), "1".into()),
        ]);
        assert!(problems.is_empty());
        let got: Vec<(&str, &Given)> = inputs.iter().map(|i| (i.name.as_str(), &i.value)).collect();
        assert_eq!(
            got,
            [
                ("a", &Given::Text("1".into())),
                ("b", &Given::Text(" x #y ".into()))
            ]
        );
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let (inputs, problems) =
                from_env([("ECMGUARD_PARAM_a".into(), OsString::from_vec(vec![0xff]))]);
            assert!(inputs.is_empty());
            assert_eq!(problems[0].code, Code::InvalidParamEnv);
        }
    }
}
