//! The commands, end to end: validated settings, policies, images,
//! evaluation, reports. Output goes to the writers the binary hands in; this
//! module never touches the terminal itself, and never chooses an exit code:
//! each command returns an [`Outcome`] or a typed [`Error`], which
//! `exit::ExitCode::of` maps.

mod apply;
mod check;
mod explain;
mod fetch;
mod history;
mod init;
mod modules;
mod plan;
mod policies;
mod rules;
mod shell;

use std::io::{Read, Write};

use std::path::Path;

use jiff::Timestamp;

use crate::cli::{Cli, Command};
use crate::diag::{Code, Diag};
use crate::exit::ExitCode;
use crate::outcome::{Error, Outcome};
use crate::report::human::{self, Style};
use crate::source::live::Progress;
use crate::text::count;

/// Where a command's output goes, and how it looks.
pub struct Io<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    pub stdin: &'a mut dyn Read,
    pub style: Style,
    /// How diagnostics on stderr look (stderr may be a terminal when stdout is not).
    pub err_style: Style,
    /// The system clock, read once per run when `--now` is not given.
    pub clock: fn() -> Timestamp,
    /// Where fetch progress goes (the binary draws a bar on a terminal).
    pub progress: &'a dyn Progress,
}

/// Run a parsed command line: print why it stopped, if it did, and return
/// the process exit code.
pub fn run(cli: Cli, io: &mut Io<'_>) -> ExitCode {
    let result = match cli.command {
        Command::Check(args) => check::run(&args, io),
        Command::Validate(args) => policies::validate(&args, io),
        Command::Test(args) => policies::test(&args, io),
        Command::Rules(args) => policies::rules(&args, io),
        Command::Fetch(args) => fetch::run(&args, io),
        Command::Plan(args) => plan::run(&args, io),
        Command::History(args) => history::run(&args, io),
        Command::Apply(args) => apply::run(&args, io),
        Command::Explain(args) => explain::run(&args, io),
        Command::Init(args) => init::run(&args, io),
        Command::Completions(args) => shell::completions(&args, io),
        Command::Man(args) => shell::man(&args, io),
    };
    let code = ExitCode::of(&result);
    if let Err(error) = result {
        let counted = error.is_about_files();
        let diags = error.into_diagnostics();
        print_diagnostics(&diags, io);
        if counted {
            let _ = writeln!(io.stderr, "{}", problem_count(&diags));
        }
    }
    code
}

/// `error: 12 problems (11 errors, 1 warning) in 3 files`: the closing line
/// of a failed validation, so a long list of diagnostics has a total.
fn problem_count(diags: &[Diag]) -> String {
    // A diagnostic that counts a file's problems not shown counts as them.
    let (errors, warnings) = diags
        .iter()
        .map(Diag::counts)
        .fold((0, 0), |(e, w), (de, dw)| (e + de, w + dw));
    let mut files: Vec<&str> = diags
        .iter()
        .filter_map(|d| d.file().map(|f| f.name()))
        .collect();
    files.sort_unstable();
    files.dedup();
    let mut line = format!(
        "error: {} ({}, {})",
        count((errors + warnings) as u64, "problem", "problems"),
        count(errors as u64, "error", "errors"),
        count(warnings as u64, "warning", "warnings")
    );
    if !files.is_empty() {
        line.push_str(&format!(
            " in {}",
            count(files.len() as u64, "file", "files")
        ));
    }
    line
}

/// Diagnostics on stderr. stderr may be closed; the exit code still says
/// what happened.
fn print_diagnostics(diags: &[Diag], io: &mut Io<'_>) {
    for diag in diags {
        let text = human::render_diagnostic(diag, io.err_style);
        let _ = io.stderr.write_all(text.as_bytes());
    }
}

/// Output to stdout that could not be written (a closed pipe is handled by
/// the binary's writer and never gets here).
fn stdout_failed(err: std::io::Error) -> Error {
    Error::Output(
        Diag::error(Code::FileWrite, format!("cannot write to stdout: {err}"))
            .with_help("check the output destination (a full disk, or a closed terminal)"),
    )
}

fn file_failed(path: &Path, err: &std::io::Error) -> Error {
    Error::Output(
        Diag::error(
            Code::FileWrite,
            format!("cannot write {}: {err}", path.display()),
        )
        .with_help("check that the directory exists and is writable"),
    )
}

/// Output to stdout meant for a person or a pager: a reader that stopped
/// reading (`| head`) is not an error, and the verdict stands; any other
/// failure (a full disk) is, since output that was not written is never a
/// success.
fn to_reader(result: std::io::Result<()>) -> Result<(), Error> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(stdout_failed),
    }
}

/// Commands that answer without a verdict end with this.
fn done() -> Result<Outcome, Error> {
    Ok(Outcome::Done)
}
