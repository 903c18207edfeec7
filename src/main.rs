//! The `ecmguard` binary: parse flags, run, exit with the code `app::run`
//! returns. It alone decides where output goes and whether it is coloured,
//! and draws fetch progress on a terminal (`progress`).

mod progress;

use std::io::{BufWriter, IsTerminal, Write};

use clap::Parser;

use ecmguard::app::{self, Io};
use ecmguard::cli::Cli;
use ecmguard::report::human::Style;
use progress::FetchBar;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = !no_color && stdout.is_terminal();
    let err_color = !no_color && stderr.is_terminal();
    let width = terminal_width().unwrap_or(120);
    // Rust's stdout is line-buffered even into a pipe or file: a JSON report
    // of 100k images would cost a write(2) per line. Buffer it; the flush
    // below (and the BufWriter's own on drop) writes out the rest.
    let mut out = BrokenPipeIsFine(BufWriter::with_capacity(1 << 16, stdout.lock()));
    // Not locked for the whole run: the progress bar's ticker thread writes
    // to stderr too, and holding the lock here would deadlock it.
    let mut err = std::io::stderr();
    let mut stdin = std::io::stdin().lock();
    let bar = FetchBar::new();
    let mut io = Io {
        stdout: &mut out,
        stderr: &mut err,
        stdin: &mut stdin,
        style: Style {
            color,
            width,
            ..Style::default()
        },
        err_style: Style {
            color: err_color,
            width,
            ..Style::default()
        },
        clock: jiff::Timestamp::now,
        progress: &bar,
    };
    let code = app::run(cli, &mut io);
    let _ = out.flush();
    code.into()
}

fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()?
        .parse()
        .ok()
        .filter(|w| *w >= 40)
}

/// A closed stdout (`ecmguard check | head`) is not an error: the verdict is
/// the exit code, and the reader chose to stop reading.
struct BrokenPipeIsFine<W: Write>(W);

impl<W: Write> Write for BrokenPipeIsFine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(buf.len()),
            other => other,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}
