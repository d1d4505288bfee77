//! Progress of a pass on a terminal: records so far, the rate, and for a full pass an ETA
//! against the last successful full pass's record count (Kingdee reports no row count; the last
//! pass is a fair total). Off a terminal the structured logs tell the same.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `total`: the expected record count, when one is known.
    pub fn new(job: &str, total: Option<u64>) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self { bar: None };
        }
        let bar = total.map_or_else(ProgressBar::new_spinner, ProgressBar::new);
        let style = ProgressStyle::with_template(template(total))
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_prefix(job.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar: Some(bar) }
    }

    pub fn advance(&self, records: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(records);
            // More rows than last time: the total was only an estimate.
            if bar.length().is_some_and(|len| bar.position() > len) {
                bar.set_length(bar.position());
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

/// A bar with an ETA when the total is known, a spinner otherwise.
fn template(total: Option<u64>) -> &'static str {
    match total {
        Some(_) => {
            "{prefix}: [{bar:30}] {human_pos}/{human_len} records confirmed ({per_sec}, ETA {eta}) {elapsed}"
        }
        None => "{spinner} {prefix}: {human_pos} records confirmed ({per_sec}) {elapsed}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_total_gives_a_bar_with_an_eta_and_an_unknown_one_a_spinner() {
        assert!(template(Some(10)).contains("ETA {eta}"));
        assert!(template(Some(10)).contains("{human_len}"));
        assert!(!template(None).contains("eta"));
        for total in [Some(1), None] {
            assert!(ProgressStyle::with_template(template(total)).is_ok());
        }
    }
}
