//! What a replay or a purge did, for the summary line (`replayed 3 (data 3), kept 4`).

use std::collections::BTreeMap;

use super::act::Outcome;
use super::letter::Letter;
use super::render::render_letters;
use crate::output::count_list;

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
        let classes = count_list(self.by_class());
        if classes.is_empty() {
            String::new()
        } else {
            format!(" ({classes})")
        }
    }

    /// `replayed N (…), kept M`, with another verb for a purge.
    fn line(&self, verb: &str) -> String {
        let (n, counts, kept) = (self.letters.len(), self.counts(), self.kept);
        format!("{verb} {n}{counts}, kept {kept}\n")
    }

    /// The summary line (and in a dry run, the letters that would go).
    pub fn render(&self, dry_run: bool) -> String {
        if !dry_run {
            return self.line("replayed");
        }
        let (n, counts, kept) = (self.letters.len(), self.counts(), self.kept);
        let letters = render_letters(&self.letters);
        format!("{letters}dry run: would replay {n}{counts}, keep {kept}; nothing changed\n")
    }

    /// `purged N (…), kept M`.
    pub fn render_purged(&self) -> String {
        self.line("purged")
    }
}
