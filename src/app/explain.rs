//! `ecmguard explain`: what a diagnostic code means, an example of what
//! gives it and the fix, from the one code table (`diag::Code`); and the
//! field paths and operators a policy can test, from their own definitions
//! (`image::Field`, `policy::operator::Operator`). Nothing here is a second
//! list of any of them.

use super::{Io, done, to_reader};
use crate::cli::ExplainArgs;
use crate::diag::{Code, Diag, did_you_mean};
use crate::image::{Field, FieldType};
use crate::outcome::{Error, Outcome};
use crate::policy::operator::Operator;

/// The topics besides codes.
const FIELDS: &str = "fields";
const OPERATORS: &str = "operators";

/// Where the generated reference of every code lives.
const REFERENCE: &str = "docs/diagnostics.md";

pub(super) fn run(args: &ExplainArgs, io: &mut Io<'_>) -> Result<Outcome, Error> {
    let width = io.style.width.clamp(60, 100);
    let text = match args.topic.as_deref().map(str::trim) {
        None => every_code(width),
        Some(topic) => explain(topic, width)?,
    };
    to_reader(io.stdout.write_all(text.as_bytes()))?;
    done()
}

fn explain(topic: &str, width: usize) -> Result<String, Error> {
    let lowered = topic.to_lowercase();
    if lowered == FIELDS {
        return Ok(fields());
    }
    if lowered == OPERATORS {
        return Ok(operators(width));
    }
    if let Some(code) = Code::from_name(&lowered) {
        return Ok(code_text(code, width));
    }
    // `explain older_than`, `explain ImageCreateTime`: the one entry.
    if let Some(op) = Operator::from_name(&lowered) {
        return Ok(operator_text(op, width));
    }
    if let Some(field) = Field::from_path(topic) {
        return Ok(field_text(field));
    }
    Err(unknown(topic))
}

fn unknown(topic: &str) -> Error {
    let name = topic.strip_prefix("ecmguard::").unwrap_or(topic);
    let candidates = Code::ALL
        .iter()
        .map(|c| c.name())
        .chain([FIELDS, OPERATORS]);
    Error::usage(
        Diag::error(
            Code::InvalidArgument,
            format!("`{topic}` is not a diagnostic code, `{FIELDS}` or `{OPERATORS}`"),
        )
        .with_help(format!(
            "`ecmguard explain` lists every code, and so does {REFERENCE}"
        ))
        .suggest(did_you_mean(name, candidates)),
    )
}

/// `text` wrapped to `width` at spaces only: codes, paths and flags such
/// as `private-image-age` or `~/.tencentcloud/credentials` are never cut at
/// a hyphen or a slash (as Unicode line breaking, on by default, would).
fn wrap(text: &str, width: usize) -> String {
    textwrap::fill(text, wrapping(width))
}

fn wrapping(width: usize) -> textwrap::Options<'static> {
    textwrap::Options::new(width)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
}

/// [`wrap`], every line indented by two spaces.
fn indented(text: &str, width: usize) -> String {
    textwrap::fill(
        text,
        wrapping(width).initial_indent("  ").subsequent_indent("  "),
    )
}

fn code_text(code: Code, width: usize) -> String {
    format!(
        "ecmguard::{} ({})\n\n{}\n\nExample:\n{}\n\nFix:\n{}\n\nEvery code: `ecmguard explain`, or {REFERENCE}.\n",
        code.name(),
        code.area(),
        wrap(code.description(), width),
        indented(code.example(), width),
        indented(code.fix(), width),
    )
}

fn every_code(width: usize) -> String {
    let mut out = format!(
        "Diagnostic codes, by area. `ecmguard explain CODE` shows one with an example and the fix;\n\
         `ecmguard explain {FIELDS}` and `ecmguard explain {OPERATORS}` list what a policy can test.\n\
         The same reference: {REFERENCE}.\n"
    );
    let name_width = Code::ALL.iter().map(|c| c.name().len()).max().unwrap_or(0);
    let mut area = "";
    for code in Code::ALL {
        if code.area() != area {
            area = code.area();
            out.push_str(&format!("\n{area}\n"));
        }
        let first = wrap(
            code.description(),
            width.saturating_sub(name_width + 4).max(30),
        );
        let hanging = " ".repeat(name_width + 4);
        for (i, line) in first.lines().enumerate() {
            if i == 0 {
                out.push_str(&format!("  {:name_width$}  {line}\n", code.name()));
            } else {
                out.push_str(&format!("{hanging}{line}\n"));
            }
        }
    }
    out
}

/// Every field type, in the order listings show them.
const TYPES: [FieldType; 4] = [
    FieldType::String,
    FieldType::Integer,
    FieldType::Boolean,
    FieldType::Timestamp,
];

fn type_names(types: &[FieldType]) -> String {
    if TYPES.iter().all(|ty| types.contains(ty)) {
        return "all".to_owned();
    }
    types
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn fields() -> String {
    let path_width = Field::ALL.iter().map(|f| f.path().len()).max().unwrap_or(0);
    let mut out = String::from(
        "Field paths a condition can test (docs/policy-language.md, \"Conditions\"). Every field\n\
         may be missing (absent or null): `{ exists: false }` tests that, and every other\n\
         operator is unknown on a missing field.\n\n",
    );
    out.push_str(&format!("  {:path_width$}  type\n", "path"));
    for field in Field::ALL {
        out.push_str(&format!("  {:path_width$}  {}\n", field.path(), field.ty()));
    }
    out.push_str("\nOperators by type (`ecmguard explain operators` for what each does):\n");
    for ty in TYPES {
        let ops: Vec<&str> = Operator::for_type(ty)
            .into_iter()
            .map(Operator::name)
            .collect();
        out.push_str(&format!("  {:9}  {}\n", ty.to_string(), ops.join(", ")));
    }
    out.push_str(
        "\nImageCreateTime is read in --api-time-zone (default +08:00); an empty or unreadable\n\
         one is missing.\n",
    );
    out.push_str(
        "\nUsage.* is what uses the image, listed from DescribeInstances and DescribeModule only\n\
         when a rule reads it (or --usage; docs/usage.md): instances of any state, RUNNING ones,\n\
         and modules whose default image it is. Usage.InUse is Instances + Modules > 0; while an\n\
         instance's image is unknown the counts are lower bounds and InUse is missing for an\n\
         image with no counted use.\n",
    );
    out
}

fn field_text(field: Field) -> String {
    let ops: Vec<&str> = Operator::for_type(field.ty())
        .into_iter()
        .map(Operator::name)
        .collect();
    format!(
        "{} ({})\n\nOperators: {}\n\nEvery field: `ecmguard explain {FIELDS}`.\n",
        field.path(),
        field.ty(),
        ops.join(", ")
    )
}

fn operators(width: usize) -> String {
    let name_width = Operator::ALL
        .iter()
        .map(|o| o.name().len())
        .max()
        .unwrap_or(0);
    let types_width = Operator::ALL
        .iter()
        .map(|o| type_names(o.types()).len())
        .max()
        .unwrap_or(0);
    let mut out = String::from(
        "Condition operators (docs/policy-language.md, \"Conditions\"). A matcher is a scalar\n\
         (eq), a list (in), or a mapping of operators that must all hold.\n\n",
    );
    out.push_str(&format!(
        "  {:name_width$}  {:types_width$}  holds when\n",
        "operator", "field types"
    ));
    let indent = name_width + types_width + 6;
    for op in Operator::ALL {
        let meaning = wrap(op.meaning(), width.saturating_sub(indent).max(30));
        for (i, line) in meaning.lines().enumerate() {
            if i == 0 {
                out.push_str(&format!(
                    "  {:name_width$}  {:types_width$}  {line}\n",
                    op.name(),
                    type_names(op.types())
                ));
            } else {
                out.push_str(&format!("{}{line}\n", " ".repeat(indent)));
            }
        }
        out.push_str(&format!("{}e.g. {}\n", " ".repeat(indent), op.example()));
    }
    out
}

fn operator_text(op: Operator, width: usize) -> String {
    format!(
        "{} (field types: {})\n\n{}\n\nExample:\n  {}\n\nEvery operator: `ecmguard explain {OPERATORS}`.\n",
        op.name(),
        type_names(op.types()),
        wrap(op.meaning(), width),
        op.example()
    )
}
