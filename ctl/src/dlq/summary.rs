//! What a replay or a purge did, for the summary line (`replayed 3 (data 3), kept 4`).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::act::Outcome;
use super::letter::Letter;
use super::render::render_letters;

/// What a replay (or a purge) did.
#[derive(Debug, Default)]
pub struct Summary {
    /// The letters replayed (or, in a dry run, that would be).
    pub letters: Vec<Letter>,
    /// Letters left in the dead queues.
    pub kept: usize,
}

impl From<Outcome> for Summary {
    fn from(outcome: Outcome) -> Self {
        Self {
            letters: outcome.done,
            kept: outcome.kept,
        }
    }
}

impl Summary {
    /// Letters by class.
    pub fn by_class(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for letter in &self.letters {
            *counts.entry(letter.class.as_str()).or_default() += 1;
        }
        counts
    }

    fn counts(&self) -> String {
        let classes: Vec<String> = self
            .by_class()
            .iter()
            .map(|(class, n)| format!("{class} {n}"))
            .collect();
        if classes.is_empty() {
            String::new()
        } else {
            format!(" ({})", classes.join(", "))
        }
    }

    /// The summary line (and in a dry run, the letters that would go).
    pub fn render(&self, dry_run: bool) -> String {
        let mut out = String::new();
        if dry_run {
            out.push_str(&render_letters(&self.letters));
            let _ = writeln!(
                out,
                "dry run: would replay {}{}, keep {}; nothing changed",
                self.letters.len(),
                self.counts(),
                self.kept
            );
        } else {
            let _ = writeln!(
                out,
                "replayed {}{}, kept {}",
                self.letters.len(),
                self.counts(),
                self.kept
            );
        }
        out
    }

    /// `purged N (…), kept M`.
    pub fn render_purged(&self) -> String {
        format!(
            "purged {}{}, kept {}\n",
            self.letters.len(),
            self.counts(),
            self.kept
        )
    }
}
