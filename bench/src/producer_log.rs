//! What the producer's own log says about a pass: its JSON lines (the producer logs JSON when
//! its output is not a terminal, as under the bench), read for the reconciliation's summary
//! and for the time each stream of an incremental pass took.

use std::path::Path;

use anyhow::bail;
use serde_json::{Map, Value, json};

use crate::report::secs;

/// The log's entries, each `{"timestamp":…, "fields":{"message":…, …}}`; other lines skipped.
fn entries(log: &Path) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read_to_string(log)?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .collect())
}

/// The fields of the "Reconciliation finished" line: listed, left, resent, listing_secs and
/// total_secs.
pub fn reconciliation_finished(log: &Path) -> anyhow::Result<Value> {
    for entry in entries(log)? {
        let fields = &entry["fields"];
        if fields["message"] == "Reconciliation finished" {
            return Ok(json!({
                "listed": fields["listed"],
                "left": fields["left"],
                "resent": fields["resent"],
                "listing_secs": fields["listing_secs"].as_f64().map(secs),
                "total_secs": fields["total_secs"].as_f64().map(secs),
            }));
        }
    }
    bail!("no `Reconciliation finished` line in {}", log.display())
}

/// Seconds from each "Stream starting" line to the next stream's start (or "Pass finished"):
/// what each watched stream of an incremental pass cost.
pub fn stream_seconds(log: &Path) -> anyhow::Result<Value> {
    let marks: Vec<(String, f64)> = entries(log)?
        .iter()
        .filter_map(|entry| {
            let fields = &entry["fields"];
            let at = chrono::DateTime::parse_from_rfc3339(entry["timestamp"].as_str()?).ok()?;
            let seconds = at.timestamp_micros() as f64 / 1e6;
            match fields["message"].as_str()? {
                "Stream starting" => Some((fields["stream"].as_str()?.to_owned(), seconds)),
                "Pass finished" => Some((String::new(), seconds)),
                _ => None,
            }
        })
        .collect();
    let mut streams = Map::new();
    for pair in marks.windows(2) {
        let ((stream, from), (_, to)) = (&pair[0], &pair[1]);
        if !stream.is_empty() {
            streams.insert(stream.clone(), json!(secs(to - from)));
        }
    }
    Ok(Value::Object(streams))
}
