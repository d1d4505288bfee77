//! Output for people: plain aligned tables (no box drawing, so they paste into tickets and
//! grep well) and short human durations. JSON output is serde's, next to each report type.

use std::fmt::{Display, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// A table with a header row; numeric columns are right-aligned.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Columns by name; a name starting with `>` is right-aligned (the `>` is not printed).
    pub fn new(columns: &[&str]) -> Self {
        Self {
            headers: columns
                .iter()
                .map(|c| c.trim_start_matches('>').to_owned())
                .collect(),
            right: columns.iter().map(|c| c.starts_with('>')).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table, each line indented by `indent` spaces, trailing spaces trimmed.
    pub fn render(&self, indent: usize) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(width(cell));
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = " ".repeat(indent);
            for (i, w) in widths.iter().enumerate() {
                let cell = row.get(i).map_or("", String::as_str);
                let pad = " ".repeat(w.saturating_sub(width(cell)));
                if i > 0 {
                    line.push_str("  ");
                }
                if self.right[i] {
                    line.push_str(&pad);
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&pad);
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }
}

/// Display width: CJK characters take two columns on a terminal.
fn width(text: &str) -> usize {
    text.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF |
        0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

/// `42s`, `3m12s`, `5h04m`, `3d02h`; negative ages (clock skew) read as `0s`.
pub fn human_duration(secs: f64) -> String {
    if secs > 0.0 && secs < 1.0 {
        return format!("{}ms", (secs * 1000.0).round());
    }
    if secs < 10.0 && secs.fract() != 0.0 {
        return format!("{secs:.1}s");
    }
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

/// A cell for an optional value: `-` when absent.
pub fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// A cell for an optional time: to the second, RFC 3339 in UTC; `-` when absent.
pub fn time(at: Option<DateTime<Utc>>) -> String {
    or_dash(at.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)))
}

/// `data 3, mapping 1`: counts by name, on one line.
pub fn count_list<K: Display, V: Display>(counts: impl IntoIterator<Item = (K, V)>) -> String {
    let parts = counts.into_iter().map(|(name, n)| format!("{name} {n}"));
    parts.collect::<Vec<_>>().join(", ")
}

/// A JSON document for scripts: pretty, on lines of its own.
pub fn pretty_json(value: &(impl Serialize + ?Sized)) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    format!("{text}\n")
}

/// Cuts `text` to `max` characters (with `…`) and flattens newlines, for one table cell.
pub fn clip(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_numbers_align_right() {
        let mut t = Table::new(&["queue", ">ready"]);
        t.row(vec!["k3sync.materials".into(), "7".into()]);
        t.row(vec!["k3sync.materials.dead".into(), "1234".into()]);
        assert_eq!(
            t.render(2),
            "  queue                  ready\n  k3sync.materials           7\n  k3sync.materials.dead   1234\n"
        );
    }

    #[test]
    fn chinese_text_counts_two_columns() {
        let mut t = Table::new(&["name", "x"]);
        t.row(vec!["螺丝".into(), "1".into()]);
        t.row(vec!["abcd".into(), "2".into()]);
        let out = t.render(0);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "螺丝  1");
        assert_eq!(lines[2], "abcd  2");
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human_duration(0.0), "0s");
        assert_eq!(human_duration(0.0421), "42ms");
        assert_eq!(human_duration(1.5), "1.5s");
        assert_eq!(human_duration(42.0), "42s");
        assert_eq!(human_duration(192.0), "3m12s");
        assert_eq!(human_duration(5.0 * 3600.0 + 240.0), "5h04m");
        assert_eq!(human_duration(3.0 * 86400.0 + 7200.0), "3d02h");
        assert_eq!(human_duration(-5.0), "0s");
    }

    #[test]
    fn long_cells_are_clipped_on_one_line() {
        assert_eq!(clip("a\nb", 10), "a b");
        assert_eq!(clip("abcdefghij", 5), "abcd…");
    }
}
