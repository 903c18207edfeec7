//! The `ecmguard` binary: parse flags, run, exit with the code `app::run`
//! returns. It alone decides where output goes and whether it is coloured,
//! shows fetch progress on stderr (`progress`), ends a run cleanly on Ctrl-C
//! (`interrupt`), and in GitHub Actions keeps report text from being read as
//! workflow commands.

mod interrupt;
mod progress;

use std::io::{BufWriter, IsTerminal, Write};
use std::sync::Arc;

use clap::Parser;

use ecmguard::app::{self, Io};
use ecmguard::cli::{Cli, Command};
use ecmguard::diag::{Code, Diag};
use ecmguard::exit::ExitCode;
use ecmguard::report::Format;
use ecmguard::report::human::{self, Style};
use progress::{FetchBar, Mode};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    // `--color` first, then NO_COLOR, then CLICOLOR_FORCE, then whether the
    // stream is a terminal (each stream on its own).
    let env = |name: &str| std::env::var(name).ok();
    let color = cli.color.colors(stdout.is_terminal(), env);
    let err_color = cli.color.colors(stderr.is_terminal(), env);
    let width = terminal_width().unwrap_or(120);
    let guard = in_github_actions() && !writes_workflow_commands(&cli) && !is_regular_file(&stdout);
    // Rust's stdout is line-buffered even into a pipe or file: a JSON report
    // of 100k images would cost a write(2) per line. Buffer it.
    let mut out = StopCommands::new(BufWriter::with_capacity(1 << 16, stdout.lock()), guard);
    // Not locked for the whole run: the progress bar's ticker thread writes
    // to stderr too, and holding the lock here would deadlock it.
    let mut err = std::io::stderr();
    let mut stdin = std::io::stdin().lock();
    let err_style = Style {
        color: err_color,
        width,
        ..Style::default()
    };
    let bar = Arc::new(FetchBar::new(Mode::for_stderr(quiet_progress(&cli))));
    interrupt::watch(Arc::clone(&bar), err_style);
    let mut io = Io {
        stdout: &mut out,
        stderr: &mut err,
        stdin: &mut stdin,
        style: Style {
            color,
            width,
            ..Style::default()
        },
        err_style,
        clock: jiff::Timestamp::now,
        progress: &*bar,
    };
    let code = app::run(cli, &mut io);
    // The commands flushed what they wrote; what is left is the closing
    // stop-commands marker. A failure here is lost output like any other.
    match out.close() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe && code != ExitCode::Incomplete => {
            let diag = Diag::error(Code::FileWrite, format!("cannot write to stdout: {e}"))
                .with_help("check the output destination (a full disk, or a closed terminal)");
            let _ = err.write_all(human::render_diagnostic(&diag, err_style).as_bytes());
            ExitCode::Invalid.into()
        }
        _ => code.into(),
    }
}

/// Whether fetch progress (its closing line included) is left out:
/// `check --quiet` asks for the table and the verdict only. Retries and
/// restarts that end in a failure are still told by the diagnostic.
fn quiet_progress(cli: &Cli) -> bool {
    matches!(&cli.command, Command::Check(args) if args.quiet)
}

/// The width the human output wraps at: `COLUMNS` when set (a CI log, or a
/// user's choice), else the terminal's own width when stdout is one, else
/// none (the caller's default). Narrower than 40 columns is not honoured:
/// nothing useful fits.
fn terminal_width() -> Option<usize> {
    let from_env = std::env::var("COLUMNS").ok().and_then(|w| w.parse().ok());
    let width = from_env.or_else(|| {
        let (_rows, cols) = console::Term::stdout().size_checked()?;
        Some(usize::from(cols))
    })?;
    (width >= 40).then_some(width)
}

/// GitHub's runner reads workflow commands (`::error::…`, and the legacy
/// `##[…]` anywhere in a line) in everything a step prints.
fn in_github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// `check --format github` to stdout is meant to issue workflow commands.
fn writes_workflow_commands(cli: &Cli) -> bool {
    matches!(&cli.command, Command::Check(args) if args.format == Format::Github && args.output.is_none())
}

/// `> file` never reaches the runner's log: no markers in the file.
fn is_regular_file(stdout: &std::io::Stdout) -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let Ok(fd) = stdout.as_fd().try_clone_to_owned() else {
            return false;
        };
        std::fs::File::from(fd)
            .metadata()
            .is_ok_and(|m| m.file_type().is_file())
    }
    #[cfg(not(unix))]
    {
        let _ = stdout;
        false
    }
}

/// In GitHub Actions, everything printed goes between
/// `::stop-commands::TOKEN` and `::TOKEN::` (a fresh random token), so no
/// image name or message can issue a workflow command. The opening marker
/// is written with the first byte of output; nothing is added to an empty
/// output.
struct StopCommands<W: Write> {
    inner: W,
    token: Option<String>,
    started: bool,
    /// Whether the last byte written ended a line.
    at_line_start: bool,
}

impl<W: Write> StopCommands<W> {
    fn new(inner: W, guard: bool) -> Self {
        let token = guard.then(|| {
            format!(
                "ecmguard-{:016x}{:016x}",
                ecmguard::fs::write::random_u64(),
                ecmguard::fs::write::random_u64()
            )
        });
        StopCommands {
            inner,
            token,
            started: false,
            at_line_start: true,
        }
    }

    fn close(&mut self) -> std::io::Result<()> {
        if let (Some(token), true) = (&self.token, self.started) {
            let newline = if self.at_line_start { "" } else { "\n" };
            writeln!(self.inner, "{newline}::{token}::")?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Write for StopCommands<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let (Some(token), false) = (&self.token, self.started) {
            if buf.is_empty() {
                return Ok(0);
            }
            writeln!(self.inner, "::stop-commands::{token}")?;
            self.started = true;
        }
        let written = self.inner.write(buf)?;
        if written > 0 {
            self.at_line_start = buf[written - 1] == b'\n';
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
