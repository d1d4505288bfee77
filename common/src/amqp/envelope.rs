//! The message body, the one shape every message of k3sync has: the producer's pages, the worker's
//! retries and dead letters, ctl's replays. A batch of raw Kingdee records of one job — the field
//! names once, then each record's key, version and values in that order, as Kingdee sends them:
//!
//! `{"v":2,"job":…,"form_id":…,"run_id":…,"fields":["FMaterialId",…],"records":[{"key":…,"modified":…,"values":[…]}]}`
//!
//! Two optional members say what the records do: `"kind":"leave"` (the records' keys are
//! target keys whose rows leave the target; no fields, no values) and `"seen"`, when k3sync
//! read that state from Kingdee (µs, increasing per job): the stale-write guard of converging
//! jobs orders events by it, so an older state never overwrites a newer one, whichever worker
//! handles which first. Without them a message is an upsert seen at 0.
//!
//! A retry carries the records still to write, a dead letter exactly one. The raw record
//! travels and the worker maps it, so a mapping fix also fixes replays. (Version 1, with each
//! record an object, is gone: no installation ever stored one.)

use std::fmt::Write as _;

use serde::de::Error as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::record::{Record, positions};

/// The envelope version this build writes and reads.
pub const VERSION: u32 = 2;

/// One message: records of one job with the field names they share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u32,
    pub job: String,
    pub form_id: String,
    pub run_id: Uuid,
    /// The FieldKeys the values follow.
    pub fields: Vec<String>,
    pub records: Vec<Entry>,
    #[serde(default, skip_serializing_if = "Kind::is_upsert")]
    pub kind: Kind,
    /// When the producer read these records (µs; see the module's text); 0: unknown.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seen: i64,
}

/// What a message's records do to the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Insert or update the mapped rows.
    #[default]
    Upsert,
    /// The rows with these target keys leave the target (deleted or marked, per job).
    Leave,
}

impl Kind {
    pub fn is_upsert(&self) -> bool {
        *self == Kind::Upsert
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// One Kingdee record: its key and version pulled out for ids, routing and logs, and its values
/// in the order of [`Envelope::fields`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub key: i64,
    /// The modification time as Kingdee sent it (the record's version).
    pub modified: String,
    pub values: Vec<Value>,
}

/// Why a body is not an envelope this build can read; always a permanent failure.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("message body is not a k3sync envelope: {0}")]
    Undecodable(#[source] serde_json::Error),
    #[error("unknown envelope version {0} (this build reads version 2)")]
    UnknownVersion(u64),
}

impl Envelope {
    pub fn new(
        job: &str,
        form_id: &str,
        run_id: Uuid,
        fields: Vec<String>,
        records: Vec<Entry>,
    ) -> Self {
        Self {
            v: VERSION,
            job: job.into(),
            form_id: form_id.into(),
            run_id,
            fields,
            records,
            kind: Kind::Upsert,
            seen: 0,
        }
    }

    /// The same message, stamped with when its records were read.
    pub fn seen_at(mut self, seen: i64) -> Self {
        self.seen = seen;
        self
    }

    /// A message making the rows of `target_keys` leave the target, as of `seen`.
    pub fn leave(job: &str, form_id: &str, run_id: Uuid, seen: i64, target_keys: &[i64]) -> Self {
        let records = target_keys
            .iter()
            .map(|&key| Entry {
                key,
                modified: String::new(),
                values: Vec::new(),
            })
            .collect();
        Self {
            kind: Kind::Leave,
            ..Self::new(job, form_id, run_id, Vec::new(), records)
        }
        .seen_at(seen)
    }

    /// UUIDv5 of the job and the (key, modified) pairs: the same versions of the same records
    /// always get the same id, so a re-sent page carries the ids it had the first time.
    pub fn message_id(&self) -> Uuid {
        let mut name = String::with_capacity(32 + 32 * self.records.len());
        name.push_str(&self.job);
        if self.kind == Kind::Leave {
            name.push_str(&format!("\nleave@{}", self.seen));
        }
        for entry in &self.records {
            let _ = write!(name, "\n{}@{}", entry.key, entry.modified);
        }
        let namespace = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"urn:k3sync:message");
        Uuid::new_v5(&namespace, name.as_bytes())
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain data (strings, numbers, arrays) cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes a body and checks every record's length against the fields. A body that does
    /// not decode is read a second time for its version only, so the error says which it is.
    pub fn from_json(body: &[u8]) -> Result<Self, EnvelopeError> {
        let envelope = match serde_json::from_slice::<Envelope>(body) {
            Ok(envelope) if envelope.v == VERSION => envelope,
            Ok(envelope) => return Err(EnvelopeError::UnknownVersion(envelope.v.into())),
            Err(error) => {
                return Err(Self::version_error(body).unwrap_or(EnvelopeError::Undecodable(error)));
            }
        };
        let width = envelope.fields.len();
        if let Some(i) = envelope
            .records
            .iter()
            .position(|e| e.values.len() != width)
        {
            let values = envelope.records[i].values.len();
            let problem = format!("record {i} has {values} values for {width} fields");
            let error = serde_json::Error::custom(problem);
            return Err(EnvelopeError::Undecodable(error));
        }
        Ok(envelope)
    }

    /// An object with another numeric `v` is another version, whatever else it holds.
    fn version_error(body: &[u8]) -> Option<EnvelopeError> {
        #[derive(Deserialize)]
        struct Probe {
            v: Option<u64>,
        }
        match serde_json::from_slice::<Probe>(body) {
            Ok(Probe { v: Some(v) }) if v != u64::from(VERSION) => {
                Some(EnvelopeError::UnknownVersion(v))
            }
            _ => None,
        }
    }

    /// The same message (job, run, fields, kind, stamp) with only the records at `indices` (a
    /// retry, or with one index a dead letter).
    pub fn subset(&self, indices: &[usize]) -> Self {
        Self {
            job: self.job.clone(),
            form_id: self.form_id.clone(),
            fields: self.fields.clone(),
            records: indices
                .iter()
                .filter_map(|&i| self.records.get(i).cloned())
                .collect(),
            ..*self
        }
    }

    /// For each of `wanted`, where it sits among this message's fields ([`positions`]):
    /// worked out once per message, then every record is read by position.
    pub fn positions(&self, wanted: &[String]) -> Vec<Option<usize>> {
        positions(&self.fields, wanted)
    }

    /// Record `index` keyed by field name, for people to read.
    pub fn record(&self, index: usize) -> Option<Record> {
        let values = self.records.get(index)?.values.iter().cloned();
        Some(self.fields.iter().cloned().zip(values).collect())
    }

    /// The records of a page (read at `seen`) as envelopes of at most `per_message` records
    /// each. `entries` follow `fields`; their values are moved, not copied.
    pub fn pack(
        job: &str,
        form_id: &str,
        run_id: Uuid,
        seen: i64,
        fields: &[String],
        entries: Vec<Entry>,
        per_message: usize,
    ) -> Vec<Self> {
        let per_message = per_message.max(1);
        let mut out = Vec::with_capacity(entries.len().div_ceil(per_message));
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            let chunk: Vec<Entry> = entries.by_ref().take(per_message).collect();
            out.push(Self::new(job, form_id, run_id, fields.to_vec(), chunk).seen_at(seen));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Vec<String> {
        vec!["FMaterialId".into(), "FName".into()]
    }

    fn entry(key: i64, modified: &str) -> Entry {
        Entry {
            key,
            modified: modified.into(),
            values: vec![json!(key), json!("螺丝M3 \"x\"")],
        }
    }

    fn envelope(records: Vec<Entry>) -> Envelope {
        Envelope::new("materials", "BD_MATERIAL", Uuid::nil(), fields(), records)
    }

    #[test]
    fn an_envelope_is_written_with_the_fields_once_and_reads_back_the_same() {
        let e = envelope(vec![entry(7, "2024-01-01T00:00:00")]);
        let text = String::from_utf8(e.to_json()).unwrap();
        assert!(text.starts_with(r#"{"v":2,"job":"materials","#), "{text}");
        assert!(
            text.contains(r#""fields":["FMaterialId","FName"],"records":[{"key":7,"#),
            "{text}"
        );
        assert!(text.contains("螺丝M3"), "{text}");
        assert_eq!(Envelope::from_json(&e.to_json()).unwrap(), e);
    }

    #[test]
    fn a_record_of_the_wrong_length_is_undecodable() {
        let body = br#"{"v":2,"job":"materials","form_id":"BD_MATERIAL","run_id":"67e55044-10b1-426f-9247-bb680e5fe0c8","fields":["FMaterialId","FName"],"records":[{"key":1,"modified":"2024-01-01T00:00:00","values":[1]}]}"#;
        let err = Envelope::from_json(body).unwrap_err();
        assert!(matches!(err, EnvelopeError::Undecodable(_)), "{err}");
        assert!(
            err.to_string()
                .contains("record 0 has 1 values for 2 fields"),
            "{err}"
        );
    }

    #[test]
    fn the_same_versions_get_the_same_message_id_and_a_new_version_a_new_one() {
        let a = envelope(vec![entry(1, "2024-03-12T09:32:21.125")]);
        let mut b = envelope(vec![entry(1, "2024-03-12T09:32:21.125")]);
        b.run_id = Uuid::new_v4();
        let c = envelope(vec![entry(1, "2024-03-12T09:32:21.126")]);
        assert_eq!(a.message_id(), b.message_id());
        assert_ne!(a.message_id(), c.message_id());
    }

    #[test]
    fn an_unknown_version_and_a_non_json_body_are_told_apart() {
        let err = Envelope::from_json(br#"{"v":3,"job":"materials"}"#).unwrap_err();
        assert!(matches!(err, EnvelopeError::UnknownVersion(3)), "{err}");
        let err = Envelope::from_json(br#"{"v":1,"job":"materials","records":[]}"#).unwrap_err();
        assert!(matches!(err, EnvelopeError::UnknownVersion(1)), "{err}");
        let err = Envelope::from_json(b"not json").unwrap_err();
        assert!(matches!(err, EnvelopeError::Undecodable(_)), "{err}");
    }

    #[test]
    fn a_subset_keeps_the_fields_and_the_chosen_records() {
        let e = envelope(vec![entry(1, "a"), entry(2, "b"), entry(3, "c")]);
        let s = e.subset(&[2, 0]);
        assert_eq!(s.fields, e.fields);
        assert_eq!(
            s.records.iter().map(|r| r.key).collect::<Vec<_>>(),
            vec![3, 1]
        );
        assert_eq!(s.run_id, e.run_id);
        assert_eq!(e.record(1).unwrap()["FMaterialId"], json!(2));
    }

    #[test]
    fn positions_follow_the_one_field_lookup() {
        let e = envelope(vec![]);
        let wanted = ["fname".to_owned(), "FMaterialId".into(), "FMissing".into()];
        assert_eq!(e.positions(&wanted), vec![Some(1), Some(0), None]);
    }

    #[test]
    fn a_page_is_packed_into_messages_of_at_most_per_message_records() {
        let entries = (0..250).map(|k| entry(k, "m")).collect();
        let packed = Envelope::pack(
            "materials",
            "BD_MATERIAL",
            Uuid::nil(),
            42,
            &fields(),
            entries,
            100,
        );
        let sizes: Vec<usize> = packed.iter().map(|e| e.records.len()).collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        assert_eq!(packed[2].records[0].key, 200);
        assert!(
            packed
                .iter()
                .all(|e| e.seen == 42 && e.kind == Kind::Upsert)
        );
    }

    #[test]
    fn a_leave_message_carries_target_keys_its_stamp_and_kind_through_a_subset() {
        let e = Envelope::leave("materials", "BD_MATERIAL", Uuid::nil(), 7, &[10, 20]);
        let text = String::from_utf8(e.to_json()).unwrap();
        assert!(text.contains(r#""kind":"leave","seen":7"#), "{text}");
        let back = Envelope::from_json(&e.to_json()).unwrap();
        assert_eq!(back, e);
        let one = back.subset(&[1]);
        assert_eq!(
            (one.kind, one.seen, one.records[0].key),
            (Kind::Leave, 7, 20)
        );
        // An upsert seen at 0 is written as before: no kind, no seen.
        let plain = envelope(vec![entry(1, "m")]);
        let text = String::from_utf8(plain.to_json()).unwrap();
        assert!(!text.contains("kind") && !text.contains("seen"), "{text}");
        assert_ne!(
            e.message_id(),
            Envelope::leave("materials", "BD_MATERIAL", Uuid::nil(), 8, &[10, 20]).message_id()
        );
    }
}
