//! How dead letters print: a table for `list` and dry runs, every fact and the record for
//! `show`, and JSON for scripts.

use std::fmt::Write;

use chrono::Utc;
use serde_json::{Value, json};

use super::browse::Shown;
use super::letter::Letter;
use crate::output::{Table, clip, human_duration, or_dash, pretty_json, time};

/// Characters of an error message shown in a table cell.
const ERROR_WIDTH: usize = 70;

fn keys(letter: &Letter) -> String {
    match letter.keys.as_slice() {
        [] => "-".into(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} +{}", rest.len()),
    }
}

/// The letters as a table (one line each).
pub fn render_letters(letters: &[Letter]) -> String {
    let now = Utc::now();
    let mut table = Table::new(&[
        "id",
        "job",
        "class",
        "key",
        ">attempt",
        "failed_at",
        ">age",
        "worker",
        "error",
    ]);
    for l in letters {
        table.row(vec![
            or_dash(l.id.as_deref()),
            l.job.clone(),
            l.class.clone(),
            keys(l),
            or_dash(l.attempt),
            time(l.failed_at),
            or_dash(l.age_secs(now).map(human_duration)),
            or_dash(l.worker.as_deref()),
            clip(l.error.as_deref().unwrap_or("-"), ERROR_WIDTH),
        ]);
    }
    table.render(0)
}

/// `dlq list`: the table and a count, or a JSON array.
pub fn render_list(letters: &[Letter], json: bool) -> String {
    if json {
        return pretty_json(letters);
    }
    if letters.is_empty() {
        return "no dead letters match\n".into();
    }
    format!(
        "{}{} dead letters shown\n",
        render_letters(letters),
        letters.len()
    )
}

/// `dlq show`: every fact of the letter, its failure history and the body.
pub fn render_show(id: &str, shown: &Shown, json: bool) -> String {
    if json {
        let letter = shown.letter.as_ref().map(|l| {
            let mut v = serde_json::to_value(l).unwrap_or(Value::Null);
            v["body"] = l.body_value();
            v
        });
        let doc = json!({"id": id, "letter": letter, "history": shown.history,
            "history_error": shown.history_error});
        return pretty_json(&doc);
    }
    let mut out = String::new();
    match &shown.letter {
        Some(l) => {
            let now = Utc::now();
            let age = l
                .age_secs(now)
                .map(|a| format!(" ({} ago)", human_duration(a)))
                .unwrap_or_default();
            let facts = [
                ("id", or_dash(l.id.as_deref())),
                ("job", l.job.clone()),
                ("class", l.class.clone()),
                ("error", or_dash(l.error.as_deref())),
                ("keys", format!("{:?}", l.keys)),
                ("attempt", or_dash(l.attempt)),
                ("failed_at", format!("{}{age}", time(l.failed_at))),
                ("worker", or_dash(l.worker.as_deref())),
                ("run", or_dash(l.run.as_deref())),
                ("deaths", or_dash(l.deaths)),
                ("position", format!("{} in the dead queue", l.position)),
            ];
            for (name, value) in facts {
                let _ = writeln!(out, "{name:<10} {value}");
            }
        }
        None => {
            let _ = writeln!(out, "{id} is not in any dead queue");
        }
    }
    if let Some(error) = &shown.history_error {
        let _ = writeln!(out, "error_log unavailable: {error}");
    } else if !shown.history.is_empty() {
        let _ = writeln!(
            out,
            "failures recorded in error_log: {}",
            shown.history.len()
        );
        let mut table = Table::new(&["at", "class", ">attempt", "worker", "resolved", "error"]);
        for f in &shown.history {
            let resolved = match (f.replayed_at, f.purged_at) {
                (Some(t), _) => format!("replayed {}", time(Some(t))),
                (None, Some(t)) => format!("purged {}", time(Some(t))),
                (None, None) => "-".into(),
            };
            table.row(vec![
                time(f.at),
                f.class.clone(),
                f.attempt.to_string(),
                or_dash(f.worker.as_deref()),
                resolved,
                clip(&f.error, ERROR_WIDTH),
            ]);
        }
        out.push_str(&table.render(2));
    }
    if let Some(l) = &shown.letter {
        let text = match l.body_value() {
            Value::String(raw) => raw,
            other => serde_json::to_string_pretty(&other).unwrap_or_default(),
        };
        let _ = writeln!(out, "body:\n{text}");
    }
    out
}
