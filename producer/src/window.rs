//! The overlap window's memory: an incremental stream re-reads `overlap_secs` before its cursor
//! on every pass (late commits), so most of what it reads there it has published already. A row
//! read again with the same value of the stream's date field is the same event: it is not
//! published again (a bad record would otherwise be dead-lettered once per pass). Any other
//! change of the row moves one of the watched dates and comes through that field's stream.
//!
//! Memory is bounded by the rows within the overlap of the newest date read; a new producer
//! process starts empty (its first pass publishes the window once more, harmlessly).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use k3sync_common::record::parse_datetime;

/// A Kingdee date as µs (zone-less, compared only with each other).
fn micros(text: &str) -> Option<i64> {
    Some(parse_datetime(text)?.and_utc().timestamp_micros())
}

#[derive(Debug, Default)]
pub struct Window {
    overlap: Duration,
    /// (date, key) in the order read, which is date order.
    order: VecDeque<(i64, i64)>,
    /// The date each key was last published with.
    published: HashMap<i64, i64>,
}

impl Window {
    pub fn new(overlap: Duration) -> Self {
        Self {
            overlap,
            ..Self::default()
        }
    }

    /// Whether the row `key` read with the date text `at` is news; remembers it.
    pub fn is_new(&mut self, key: i64, at: &str) -> bool {
        let Some(at) = micros(at) else {
            return true;
        };
        if self.published.get(&key) == Some(&at) {
            return false;
        }
        self.published.insert(key, at);
        self.order.push_back((at, key));
        true
    }

    /// Forgets `key`: the row changed sides (it left, or came back) in another stream, so a
    /// re-read here is news again.
    pub fn forget(&mut self, key: i64) {
        self.published.remove(&key);
    }

    /// Forgets rows older than the overlap before `newest`: no later pass reads them again.
    pub fn forget_before(&mut self, newest: &str) {
        let Some(newest) = micros(newest) else {
            return;
        };
        let horizon = newest.saturating_sub(self.overlap.as_micros() as i64);
        while let Some(&(at, key)) = self.order.front() {
            if at >= horizon {
                break;
            }
            self.order.pop_front();
            if self.published.get(&key) == Some(&at) {
                self.published.remove(&key);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.published.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_read_again_with_the_same_date_is_old_news_until_it_falls_out_of_the_window() {
        let mut window = Window::new(Duration::from_secs(300));
        assert!(window.is_new(1, "2024-03-12T09:00:00.000"));
        assert!(window.is_new(2, "2024-03-12T09:04:00.000"));
        assert!(
            !window.is_new(1, "2024-03-12T09:00:00"),
            "same date, other text"
        );
        assert!(window.is_new(1, "2024-03-12T09:06:00.000"), "the row moved");
        window.forget_before("2024-03-12T09:08:00.000");
        // 09:04 and 09:06 are within 5 minutes of 09:08; the first read of key 1 is gone.
        assert_eq!(window.len(), 2);
        assert!(!window.is_new(2, "2024-03-12T09:04:00.000"));
        window.forget(2);
        assert!(
            window.is_new(2, "2024-03-12T09:04:00.000"),
            "forgotten: news again"
        );
        window.forget_before("2024-03-12T09:30:00.000");
        assert_eq!(window.len(), 0);
        assert!(window.is_new(2, "2024-03-12T09:04:00.000"));
    }
}
