//! A progress bar on standard error, only on a terminal, and only once the
//! work has run for about a second (short runs print nothing).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use servicing_doctor::diagnose::ProgressFn;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Bar {
    bar: ProgressBar,
    start: Instant,
}

impl Bar {
    /// Counts bytes read. `None` when standard error is not a terminal.
    pub fn new() -> Option<Bar> {
        Bar::with_template("{spinner} reading logs {bytes}/{total_bytes} ({bytes_per_sec}, {eta})")
    }

    /// Counts whole inputs (one per machine).
    pub fn inputs() -> Option<Bar> {
        Bar::with_template("{spinner} diagnosed {pos}/{len} inputs ({per_sec}, {eta})")
    }

    fn with_template(template: &str) -> Option<Bar> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
        Some(Bar { bar, start: Instant::now() })
    }

    pub fn callback(&self) -> ProgressFn {
        let bar = self.bar.clone();
        let start = self.start;
        ProgressFn(Arc::new(move |done, total| {
            if bar.is_hidden() && start.elapsed() > Duration::from_secs(1) {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
            bar.set_length(total);
            bar.set_position(done);
        }))
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
