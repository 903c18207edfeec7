//! The cap on the diagnostics of one file: past it, the rest are counted
//! in one diagnostic ("and 49,950 more problems in FILE"), so what a run
//! prints about a file is bounded however many mistakes it holds.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Code, Diag, Level};
use crate::source_text::SourceFile;

/// Diagnostics a config or param file shows at most: small files by
/// nature, where more than this is one mistake repeated (a generated file).
pub const SMALL_FILE: usize = 50;

/// Diagnostics a policy or test file shows at most: enough for every
/// mistake of any file written by people to be listed in one run (a
/// systematic one, such as a misspelt key in each of 300 rules,
/// included), few enough that the output stays readable and bounded.
pub const LARGE_FILE: usize = 500;

/// At most `limit(file)` diagnostics about each file, in the order given;
/// the rest of a file's are replaced by one diagnostic at the place of the
/// first of them, which counts them and points at it. Diagnostics about no
/// file are kept. Linear in the number of diagnostics.
pub fn cap_per_file(diags: Vec<Diag>, limit: impl Fn(&SourceFile) -> usize) -> Vec<Diag> {
    struct Dropped {
        at: usize,
        limit: usize,
        errors: usize,
        warnings: usize,
    }
    let mut kept_of: HashMap<*const SourceFile, usize> = HashMap::new();
    let mut dropped: HashMap<*const SourceFile, Dropped> = HashMap::new();
    let mut out: Vec<Option<Diag>> = Vec::with_capacity(diags.len());
    for diag in diags {
        let Some(file) = diag.file().cloned() else {
            out.push(Some(diag));
            continue;
        };
        let key = Arc::as_ptr(&file);
        let limit = limit(&file);
        let kept = kept_of.entry(key).or_default();
        if *kept < limit {
            *kept += 1;
            out.push(Some(diag));
            continue;
        }
        let entry = dropped.entry(key).or_insert_with(|| {
            out.push(Some(more_problems(&diag)));
            Dropped {
                at: out.len() - 1,
                limit,
                errors: 0,
                warnings: 0,
            }
        });
        if diag.is_error() {
            entry.errors += 1;
        } else {
            entry.warnings += 1;
        }
    }
    for counted in dropped.into_values() {
        if let Some(diag) = out[counted.at].take() {
            out[counted.at] = Some(counted_as(
                diag,
                counted.limit,
                counted.errors,
                counted.warnings,
            ));
        }
    }
    out.into_iter().flatten().collect()
}

/// The diagnostics with every long value of their file (`long`: the values
/// over [`crate::text::MAX_VALUE_CHARS`] characters) clipped where a
/// message, label or help quotes it whole: a message about a 900 KB value
/// stays one line. One step for every diagnostic of a reader, whatever
/// built it (a parser's own message quoting the value included).
pub fn clip_values(diags: Vec<Diag>, long: &[&str]) -> Vec<Diag> {
    if long.is_empty() {
        return diags;
    }
    let clip = |text: &str| {
        let mut out = text.to_owned();
        for value in long {
            if out.contains(value) {
                out = out.replace(value, &crate::text::clip_value(value));
            }
        }
        out
    };
    diags.into_iter().map(|diag| diag.map_text(clip)).collect()
}

/// The diagnostic standing for the problems of a file not shown, located at
/// the first of them (`first`); counted by [`counted_as`].
fn more_problems(first: &Diag) -> Diag {
    let mut diag = Diag::error(Code::MoreProblems, String::new());
    if let (Some(file), Some(span)) = (first.file(), first.primary_span()) {
        diag = diag.at(file, span, "the first of them");
    }
    diag
}

fn counted_as(mut diag: Diag, shown: usize, errors: usize, warnings: usize) -> Diag {
    let name = diag.file().map(|f| f.name().to_owned()).unwrap_or_default();
    let total = errors + warnings;
    diag.message = format!(
        "and {} more {} in {name}, not shown",
        crate::text::thousands(total as u64),
        if total == 1 { "problem" } else { "problems" }
    );
    diag.level = if errors > 0 {
        Level::Error
    } else {
        Level::Warning
    };
    diag.stands_for = Some((errors, warnings));
    diag.with_help(format!(
        "one run lists the first {shown} problems of a file; fix those (often one mistake repeated) and run again"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source_text::Span;

    #[test]
    fn past_the_limit_a_file_s_problems_are_counted_at_the_first_of_them() {
        let a = SourceFile::new("a.yaml", "x\n".repeat(10));
        let b = SourceFile::new("b.yaml", "y\n");
        let mut diags: Vec<Diag> = (0..10)
            .map(|i| {
                Diag::error(Code::UnknownKey, format!("a{i}")).at(&a, Span::new(i * 2, 1), "here")
            })
            .collect();
        diags.insert(
            3,
            Diag::error(Code::UnknownKey, "b").at(&b, Span::new(0, 1), "here"),
        );
        diags.push(Diag::warning(Code::UnusedParam, "w").at(&a, Span::new(0, 1), "here"));
        diags.push(Diag::error(Code::FileRead, "no file"));
        let capped = cap_per_file(diags, |_| 4);
        let messages: Vec<&str> = capped.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "a0",
                "a1",
                "a2",
                "b",
                "a3",
                "and 7 more problems in a.yaml, not shown",
                "no file"
            ]
        );
        let more = &capped[5];
        assert_eq!(more.code, Code::MoreProblems);
        assert_eq!(more.counts(), (6, 1));
        assert_eq!(more.location().map(|(_, at)| at.line), Some(5));
        assert!(more.is_error());
    }
}
