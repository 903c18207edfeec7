//! Ctrl-C (SIGINT) and SIGTERM end a run cleanly, whatever it is doing: the
//! progress bar is cleared, the temporary of any output file still being
//! written is removed (`fs::write::abandon_unfinished`), `interrupted` is said
//! as a diagnostic, and the process exits with 130 (143 for SIGTERM), a
//! status no finished run has (`exit::INTERRUPTED`).
//!
//! Why a thread that exits the process rather than a cancelled future: a run
//! can be stopped anywhere (reading policies, the fetch, evaluating a
//! million images, writing reports), and most of it is not async. Once the
//! handler is installed the signal no longer kills the process by itself, so
//! it must cover the whole run, not only the fetch.

use std::io::Write;
use std::sync::Arc;

use ecmguard::diag::{Code, Diag};
use ecmguard::report::human::{self, Style};

use crate::progress::FetchBar;

/// The signals that stop a run.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Interrupt,
    Terminate,
}

/// Install the handler for the rest of the process. Returns once it is in
/// place, so no signal after this can leave a file behind.
pub fn watch(bar: Arc<FetchBar>, style: Style) {
    let (ready, installed) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("ecmguard-signals".to_owned())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                // Without a handler the signals keep their default action.
                let _ = ready.send(());
                return;
            };
            let mut ready = Some(ready);
            while let Some(signal) = runtime.block_on(wait(ready.take())) {
                // An apply lets the write in flight finish and starts no other; a second
                // Ctrl-C (or SIGTERM) ends the process as for any command.
                if matches!(signal, Stop::Interrupt) && ecmguard::apply::stop::request() {
                    say_stopping(style);
                    continue;
                }
                stop(signal, &bar, style);
            }
        });
    if spawned.is_ok() {
        let _ = installed.recv();
    }
}

/// Register the handlers, say so on `ready`, and wait for a signal.
#[cfg(unix)]
async fn wait(ready: Option<std::sync::mpsc::Sender<()>>) -> Option<Stop> {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    // A handler that could not be installed leaves its signal as it was;
    // the other one still works.
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    let mut terminate = signal(SignalKind::terminate()).ok();
    if let Some(ready) = ready {
        let _ = ready.send(());
    }
    async fn next(signal: &mut Option<Signal>) {
        let received = match signal {
            Some(signal) => signal.recv().await.is_some(),
            None => false,
        };
        if !received {
            std::future::pending::<()>().await;
        }
    }
    tokio::select! {
        () = next(&mut interrupt) => Some(Stop::Interrupt),
        () = next(&mut terminate) => Some(Stop::Terminate),
    }
}

#[cfg(not(unix))]
async fn wait(ready: Option<std::sync::mpsc::Sender<()>>) -> Option<Stop> {
    let ctrl_c = tokio::signal::ctrl_c();
    if let Some(ready) = ready {
        let _ = ready.send(());
    }
    ctrl_c.await.ok().map(|()| Stop::Interrupt)
}

/// An apply was asked to stop: say that it will, after the actions in flight.
fn say_stopping(style: Style) {
    let diag = Diag::warning(
        Code::Interrupted,
        "interrupted by Ctrl-C (SIGINT): the actions in flight finish, no other write is sent",
    )
    .with_help(
        "press Ctrl-C again to stop at once (the actions in flight may then be left unknown)",
    );
    let mut stderr = std::io::stderr();
    let _ = stderr.write_all(human::render_diagnostic(&diag, style).as_bytes());
    let _ = stderr.flush();
}

/// End the process: nothing half-written stays, and the reason is said.
fn stop(signal: Stop, bar: &FetchBar, style: Style) -> ! {
    // Held until the process is gone: no output file is put in place after
    // this (one being renamed now is complete and stays).
    let _unfinished = ecmguard::fs::write::abandon_unfinished();
    bar.interrupted();
    let (what, status) = match signal {
        Stop::Interrupt => ("Ctrl-C (SIGINT)", ecmguard::exit::INTERRUPTED),
        Stop::Terminate => ("SIGTERM", ecmguard::exit::TERMINATED),
    };
    let diag = Diag::error(
        Code::Interrupted,
        format!("interrupted by {what}: the run stopped before its end, with no verdict"),
    )
    .with_help("no output file was written or changed; run the command again");
    let mut stderr = std::io::stderr();
    let _ = stderr.write_all(human::render_diagnostic(&diag, style).as_bytes());
    let _ = stderr.flush();
    std::process::exit(i32::from(status))
}
