//! The queue corpus read from `tests/corpus/queue/*.json`: each file a message body (a standard
//! record with some fields changed, a JSON body, or raw text) and the outcome it must have.

use std::collections::BTreeMap;

use k3sync_tests::chaos::{envelope, material};
use k3sync_tests::envelopes::EnvelopeRecord;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::corpus;

/// One file of `tests/corpus/queue/`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    about: String,
    /// Fields set on the standard record (a key of its own, every field the mapping reads).
    #[serde(default)]
    record: Option<Map<String, Value>>,
    /// Fields taken off the standard record.
    #[serde(default)]
    remove: Vec<String>,
    /// The whole message body as JSON.
    #[serde(default)]
    body: Option<Value>,
    /// The whole message body as text (for bodies that are not JSON).
    #[serde(default)]
    body_text: Option<String>,
    expect: Expect,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum Expect {
    /// The row (by `data_id`, the case's key unless given) holds these column values.
    Stored(BTreeMap<String, Value>),
    /// One dead letter of this class whose reason contains the text, and no row.
    Dead {
        class: String,
        error_contains: String,
    },
    /// Acknowledged with nothing to write: no row, no dead letter.
    Dropped(String),
}

/// A case ready to publish.
pub(super) struct Case {
    /// The file name without `.json`.
    pub(super) name: String,
    pub(super) about: String,
    /// The key of the case's record(s).
    pub(super) key: i64,
    pub(super) body: Vec<u8>,
    pub(super) expect: Expect,
}

/// The standard record of a case: every field the demo mapping reads, all valid.
pub(super) fn standard(key: i64) -> EnvelopeRecord {
    material(
        key,
        &format!("BI-{key}"),
        json!(format!("坏输入 {key}")),
        "2024-06-01T12:00:00.000",
    )
}

/// Expands the corpus placeholders: `"$KEY"` (the key as a number), `"$RECORD"` (the standard
/// record), `"$FIELDS"` and `"$VALUES"` (its field names and values, for an envelope written
/// out by hand), `$KEY_TEXT` and `$JOB` inside text, `{"$repeat": [text, times]}`.
fn expand(value: &Value, key: i64, job: &str) -> Value {
    match value {
        Value::String(s) if s == "$KEY" => json!(key),
        Value::String(s) if s == "$RECORD" => Value::Object(standard(key).record),
        Value::String(s) if s == "$FIELDS" => {
            json!(standard(key).record.keys().collect::<Vec<_>>())
        }
        Value::String(s) if s == "$VALUES" => {
            json!(standard(key).record.values().collect::<Vec<_>>())
        }
        Value::String(s) => json!(
            s.replace("$KEY_TEXT", &key.to_string())
                .replace("$JOB", job)
        ),
        Value::Object(map) if map.contains_key("$repeat") => {
            let (text, times) = (&map["$repeat"][0], &map["$repeat"][1]);
            json!(
                text.as_str()
                    .expect("$repeat text")
                    .repeat(times.as_u64().expect("$repeat times") as usize)
            )
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), expand(v, key, job)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| expand(v, key, job)).collect()),
        other => other.clone(),
    }
}

/// Every case of the queue corpus, in file name order, with keys from `first_key` on.
pub(super) fn load_cases(job: &str, first_key: i64) -> Vec<Case> {
    let mut paths: Vec<_> = std::fs::read_dir(corpus("queue"))
        .expect("tests/corpus/queue")
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .zip(first_key..)
        .map(|(path, key)| {
            let name = path
                .file_stem()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(path).expect("corpus file");
            let file: CaseFile = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("tests/corpus/queue/{name}.json: {e}"));
            let body = match (&file.record, &file.body, &file.body_text) {
                (_, Some(body), None) => serde_json::to_vec(&expand(body, key, job)).expect("body"),
                (_, None, Some(text)) => text
                    .replace("$KEY_TEXT", &key.to_string())
                    .replace("$JOB", job)
                    .into_bytes(),
                (patch, None, None) => {
                    let mut record = standard(key);
                    for field in &file.remove {
                        record.record.shift_remove(field);
                    }
                    for (field, value) in patch.iter().flatten() {
                        record.record.insert(field.clone(), expand(value, key, job));
                    }
                    if let Some(Value::String(modified)) = record.record.get("FModifyDate") {
                        record.modified = modified.clone();
                    }
                    envelope(job, vec![record])
                }
                _ => panic!("{name}: give one of record, body, body_text"),
            };
            let expect = match file.expect {
                Expect::Stored(columns) => Expect::Stored(
                    columns
                        .iter()
                        .map(|(c, v)| (c.clone(), expand(v, key, job)))
                        .collect(),
                ),
                other => other,
            };
            Case {
                name,
                about: file.about,
                key,
                body,
                expect,
            }
        })
        .collect()
}
