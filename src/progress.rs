//! Fetch progress on stderr, as the binary shows it. On a terminal: a live
//! bar (indicatif), with each retry and restart printed in full above it.
//! Anywhere else (CI logs, `2> file`): one plain line when the fetch starts,
//! one per retry and per restart, and one closing line; the same for each
//! listing of usage (instances, modules) after it. Quiet: nothing.
//! Part of the binary, not the library: the library reports progress
//! through `source::live::Progress` and never prints.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use ecmguard::source::live::{Action, FetchProgress, FetchStats, Progress};
use ecmguard::text::{count, escape};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A live bar: stderr is a terminal.
    Bar,
    /// Plain lines: stderr is a log or a file, where a bar would be noise
    /// and silence would look like a hang.
    Lines,
    /// Nothing at all.
    Quiet,
}

impl Mode {
    /// What suits this process's stderr: a bar on a terminal, plain lines
    /// elsewhere, nothing when `quiet`.
    pub fn for_stderr(quiet: bool) -> Mode {
        use std::io::IsTerminal;
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

/// The fetch progress sink of the binary (see the module comment).
pub struct FetchBar {
    mode: Mode,
    bar: ProgressBar,
    state: Mutex<State>,
    /// Where plain lines go: stderr (a buffer in tests).
    out: Mutex<Box<dyn Write + Send>>,
}

/// What the bar shows.
#[derive(Debug, Default)]
struct State {
    endpoint: String,
    /// The listing under way when it is not the images' (usage, `--module`).
    action: Option<&'static Action>,
    /// Pages received and needed in the current listing; `None` until the
    /// first page tells the total.
    pages: Option<(u64, u64)>,
    images: u64,
}

impl FetchBar {
    pub fn new(mode: Mode) -> Self {
        Self::with_output(mode, Box::new(std::io::stderr()))
    }

    fn with_output(mode: Mode, out: Box<dyn Write + Send>) -> Self {
        let target = match mode {
            Mode::Bar => ProgressDrawTarget::stderr(),
            Mode::Lines | Mode::Quiet => ProgressDrawTarget::hidden(),
        };
        let bar = ProgressBar::with_draw_target(None, target);
        // `wide_msg` is cut at the terminal's width: the text starts with what
        // matters (the page count); reasons are printed whole above the bar.
        if let Ok(style) = ProgressStyle::with_template("{spinner} {wide_msg}") {
            bar.set_style(style);
        }
        Self {
            mode,
            bar,
            state: Mutex::new(State::default()),
            out: Mutex::new(out),
        }
    }

    /// The run was interrupted: clear the bar, so the message that follows
    /// starts on a clean line.
    pub fn interrupted(&self) {
        if self.mode == Mode::Bar {
            self.bar.finish_and_clear();
        }
    }

    /// One whole line: above the bar on a terminal, else on its own.
    fn line(&self, text: &str) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Bar => self.bar.println(text),
            Mode::Lines => self.write(text),
        }
    }

    /// A line straight to the output (stderr), where no bar is drawn.
    fn write(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn redraw(&self, state: &State) {
        self.bar.set_message(bar_text(state));
    }
}

impl FetchBar {
    /// A listing starts: its first line, or the bar (again, after the last listing's).
    fn start(&self, state: &mut State) {
        state.pages = None;
        state.images = 0;
        match self.mode {
            Mode::Bar => {
                self.bar.reset();
                self.redraw(state);
                self.bar.enable_steady_tick(Duration::from_millis(120));
            }
            _ => self.line(&starting_line(state.action, &state.endpoint)),
        }
    }
}

impl Progress for FetchBar {
    fn event(&self, event: FetchProgress) {
        if self.mode == Mode::Quiet {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            FetchProgress::Started { endpoint } => {
                state.endpoint = endpoint;
                state.action = None;
                self.start(&mut state);
            }
            FetchProgress::Listing { action, endpoint } => {
                state.endpoint = endpoint;
                state.action = Some(action);
                self.start(&mut state);
            }
            FetchProgress::Page {
                done,
                total,
                images,
            } => {
                state.pages = Some((done, total));
                state.images = images;
                self.redraw(&state);
            }
            FetchProgress::Retry {
                offset,
                attempt,
                delay,
                reason,
            } => self.line(&retry_line(state.action, offset, attempt, delay, &reason)),
            FetchProgress::Restart {
                restart,
                max_restarts,
                reason,
            } => {
                // The new listing's total is not known until its first page.
                state.pages = None;
                state.images = 0;
                self.redraw(&state);
                self.line(&restart_line(restart, max_restarts, &reason));
            }
            FetchProgress::Finished {
                endpoint,
                images,
                stats,
            } => {
                // On a terminal the bar goes, and the line stays as the
                // fetch's summary.
                self.bar.finish_and_clear();
                self.write(&closing_line(None, &endpoint, images, &stats));
            }
            FetchProgress::Listed {
                action,
                endpoint,
                items,
                stats,
            } => {
                self.bar.finish_and_clear();
                self.write(&closing_line(Some(action), &endpoint, items, &stats));
            }
            _ => {}
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `fetching images from https://… …`: said at once, so a slow or refused
/// endpoint is not silence. Another listing names its action: `fetching
/// instances (DescribeInstances) from https://… …`.
fn starting_line(action: Option<&Action>, endpoint: &str) -> String {
    format!("fetching {} from {} …", what(action), escape(endpoint))
}

/// `images`, or `instances (DescribeInstances)`.
fn what(action: Option<&Action>) -> String {
    match action {
        None => "images".to_owned(),
        Some(action) => format!("{} ({})", action.items, action.name),
    }
}

/// `fetching images: page 3/? (250 images) from https://…`: the total is
/// `?` until the first page of the listing says it.
fn bar_text(state: &State) -> String {
    let pages = match state.pages {
        Some((done, total)) => format!("page {done}/{total}"),
        None => "page 0/?".to_owned(),
    };
    let (one, many) = state
        .action
        .map_or(("image", "images"), |a| (a.item, a.items));
    format!(
        "fetching {many}: {pages} ({}) from {}",
        count(state.images, one, many),
        escape(&state.endpoint)
    )
}

/// `retrying the page at offset 300 in 0.8 s (attempt 2): HTTP 502`; the
/// reason whole, escaped (it can quote the server).
fn retry_line(
    action: Option<&Action>,
    offset: u64,
    attempt: u32,
    delay: Duration,
    reason: &str,
) -> String {
    let when = if delay.is_zero() {
        // After throttling the retry takes the slowed pacer's next slot.
        "at the next free slot".to_owned()
    } else {
        format!("in {}", seconds(delay))
    };
    let page = match action {
        None => "the page".to_owned(),
        Some(action) => format!("the {} page", action.name),
    };
    format!(
        "retrying {page} at offset {offset} {when} (attempt {attempt}): {}",
        escape(reason)
    )
}

/// `restarting the listing (restart 1 of 3): TotalCount changed …`.
fn restart_line(restart: u32, max_restarts: u32, reason: &str) -> String {
    format!(
        "restarting the listing (restart {restart} of {max_restarts}): {}",
        escape(reason)
    )
}

/// `fetched 2,345 images from https://… in 24 pages (30 requests, 6
/// retries) in 4.6 s`, with the restarts when there were any; another
/// listing names its action: `fetched 1,250 instances (DescribeInstances)
/// from …`.
fn closing_line(
    action: Option<&Action>,
    endpoint: &str,
    images: u64,
    stats: &FetchStats,
) -> String {
    let mut effort = format!(
        "{}, {}",
        count(stats.requests, "request", "requests"),
        count(stats.retries, "retry", "retries")
    );
    if stats.restarts > 0 {
        effort.push_str(&format!(
            ", {}",
            count(stats.restarts, "restart", "restarts")
        ));
    }
    let fetched = match action {
        None => count(images, "image", "images"),
        Some(action) => format!("{} ({})", action.count(images), action.name),
    };
    format!(
        "fetched {fetched} from {} in {} ({effort}) in {}",
        escape(endpoint),
        count(stats.pages, "page", "pages"),
        seconds(stats.duration)
    )
}

/// `4.6 s`.
fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ecmguard::source::live::DESCRIBE_INSTANCES;

    use super::*;

    fn stats(pages: u64, requests: u64, retries: u64, restarts: u64, ms: u64) -> FetchStats {
        FetchStats {
            pages,
            requests,
            retries,
            throttled: 0,
            restarts,
            duration: Duration::from_millis(ms),
        }
    }

    #[test]
    fn the_closing_line_counts_in_english() {
        assert_eq!(
            closing_line(
                None,
                "https://ecm.tencentcloudapi.com",
                2345,
                &stats(24, 30, 6, 0, 4600)
            ),
            "fetched 2,345 images from https://ecm.tencentcloudapi.com in 24 pages (30 requests, 6 retries) in 4.6 s"
        );
        assert_eq!(
            closing_line(None, "http://127.0.0.1:9", 1, &stats(1, 1, 1, 1, 40)),
            "fetched 1 image from http://127.0.0.1:9 in 1 page (1 request, 1 retry, 1 restart) in 0.0 s"
        );
    }

    #[test]
    fn the_bar_says_the_total_is_unknown_until_it_is() {
        let mut state = State {
            endpoint: "http://127.0.0.1:9".into(),
            ..State::default()
        };
        assert_eq!(
            bar_text(&state),
            "fetching images: page 0/? (0 images) from http://127.0.0.1:9"
        );
        state.pages = Some((3, 24));
        state.images = 300;
        assert!(bar_text(&state).starts_with("fetching images: page 3/24 (300 images)"));
    }

    #[test]
    fn reasons_are_whole_and_escaped() {
        let long = "TotalCount changed from 950 to 952 while the listing was read, ".repeat(4);
        let line = restart_line(1, 3, &long);
        assert!(line.ends_with(&long), "{line}");
        assert_eq!(
            retry_line(None, 300, 2, Duration::from_millis(800), "HTTP 502\x1b[2J"),
            "retrying the page at offset 300 in 0.8 s (attempt 2): HTTP 502\\u{1b}[2J"
        );
        assert_eq!(
            retry_line(None, 0, 3, Duration::ZERO, "RequestLimitExceeded"),
            "retrying the page at offset 0 at the next free slot (attempt 3): RequestLimitExceeded"
        );
    }

    /// A `Vec` behind the sink's writer, readable after the events.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn run(mode: Mode) -> String {
        let captured = Captured::default();
        let sink = FetchBar::with_output(mode, Box::new(captured.clone()));
        let endpoint = "http://127.0.0.1:9".to_owned();
        for event in [
            FetchProgress::Started {
                endpoint: endpoint.clone(),
            },
            FetchProgress::Request {
                offset: 0,
                attempt: 1,
            },
            FetchProgress::Retry {
                offset: 0,
                attempt: 2,
                delay: Duration::from_millis(500),
                reason: "InternalError".into(),
            },
            FetchProgress::Page {
                done: 1,
                total: 1,
                images: 8,
            },
            FetchProgress::Finished {
                endpoint: endpoint.clone(),
                images: 8,
                stats: stats(1, 2, 1, 0, 1200),
            },
            FetchProgress::Listing {
                action: &DESCRIBE_INSTANCES,
                endpoint: endpoint.clone(),
            },
            FetchProgress::Retry {
                offset: 100,
                attempt: 2,
                delay: Duration::ZERO,
                reason: "RequestLimitExceeded".into(),
            },
            FetchProgress::Listed {
                action: &DESCRIBE_INSTANCES,
                endpoint,
                items: 1250,
                stats: stats(13, 14, 1, 0, 700),
            },
        ] {
            sink.event(event);
        }
        sink.finish();
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn plain_lines_start_retry_and_close_and_quiet_says_nothing() {
        assert_eq!(
            run(Mode::Lines),
            "fetching images from http://127.0.0.1:9 …\n\
             retrying the page at offset 0 in 0.5 s (attempt 2): InternalError\n\
             fetched 8 images from http://127.0.0.1:9 in 1 page (2 requests, 1 retry) in 1.2 s\n\
             fetching instances (DescribeInstances) from http://127.0.0.1:9 …\n\
             retrying the DescribeInstances page at offset 100 at the next free slot (attempt 2): RequestLimitExceeded\n\
             fetched 1,250 instances (DescribeInstances) from http://127.0.0.1:9 in 13 pages (14 requests, 1 retry) in 0.7 s\n"
        );
        assert_eq!(run(Mode::Quiet), "");
    }
}
