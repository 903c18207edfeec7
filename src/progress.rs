//! The fetch progress bar: indicatif on stderr, drawn only when stderr is a
//! terminal (indicatif hides itself otherwise), cleared when the fetch ends.
//! Part of the binary, not the library: the library reports progress
//! through `source::live::Progress`.

use std::sync::Once;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use ecmguard::source::live::{FetchProgress, Progress};
use ecmguard::text::escape;

pub struct FetchBar {
    bar: ProgressBar,
    /// The spinner starts with the first fetch event, so commands that fetch
    /// nothing never draw it.
    started: Once,
}

impl Default for FetchBar {
    fn default() -> Self {
        Self::new()
    }
}

impl FetchBar {
    pub fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("{spinner} fetching images: page {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Self {
            bar,
            started: Once::new(),
        }
    }
}

impl Progress for FetchBar {
    fn event(&self, event: FetchProgress) {
        self.started
            .call_once(|| self.bar.enable_steady_tick(Duration::from_millis(120)));
        match event {
            FetchProgress::Page {
                done,
                total,
                images,
            } => {
                self.bar.set_length(total);
                self.bar.set_position(done);
                self.bar.set_message(format!("({images} images)"));
            }
            FetchProgress::Retry {
                reason, attempt, ..
            } => self.bar.set_message(format!(
                "(retrying: {}, attempt {attempt})",
                escape(&reason)
            )),
            FetchProgress::Restart {
                restart,
                max_restarts,
                reason,
            } => self.bar.set_message(format!(
                "(listing changed: {}; restart {restart}/{max_restarts})",
                escape(&reason)
            )),
            _ => {}
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
