//! Progress of a pass on a terminal: records so far and the rate (the total is unknown up front:
//! Kingdee reports no row count). Off a terminal the structured logs tell the same.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(job: &str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self { bar: None };
        }
        let bar = ProgressBar::new_spinner();
        let style = ProgressStyle::with_template(
            "{spinner} {prefix}: {human_pos} records confirmed ({per_sec}) {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_prefix(job.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar: Some(bar) }
    }

    pub fn advance(&self, records: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(records);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
