//! The message body (`v: 1`): a batch of raw Kingdee records of one job, and its deterministic
//! message id. The raw record travels; the worker maps it, so a mapping fix also fixes replays.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::kingdee::{Record, RowRef};

/// Envelope version this build writes and reads.
pub const VERSION: u32 = 1;

/// Header names k3sync sets on its messages.
pub mod headers {
    pub const JOB: &str = "x-k3sync-job";
    pub const RUN: &str = "x-k3sync-run";
    pub const ATTEMPT: &str = "x-k3sync-attempt";
    pub const ERROR_CLASS: &str = "x-k3sync-error-class";
    pub const ERROR: &str = "x-k3sync-error";
    pub const FAILED_AT: &str = "x-k3sync-failed-at";
    pub const WORKER: &str = "x-k3sync-worker";
}

/// One message: up to `records_per_message` records of one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub v: u32,
    pub job: String,
    pub form_id: String,
    pub run_id: Uuid,
    pub records: Vec<EnvelopeRecord>,
}

/// One Kingdee record with its key and version pulled out for routing, ids and logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopeRecord {
    pub key: i64,
    /// The modification time as Kingdee returned it (the record's version).
    pub modified: String,
    pub record: Record,
}

/// Why a body is not an envelope this build can read; always a permanent failure.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("message body is not a k3sync envelope: {0}")]
    Undecodable(#[source] serde_json::Error),
    #[error("unknown envelope version {0} (this build reads version {VERSION})")]
    UnknownVersion(u64),
}

/// Namespace of k3sync's UUIDv5 message ids.
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"urn:k3sync:message")
}

impl Envelope {
    pub fn new(job: &str, form_id: &str, run_id: Uuid, records: Vec<EnvelopeRecord>) -> Self {
        Self {
            v: VERSION,
            job: job.into(),
            form_id: form_id.into(),
            run_id,
            records,
        }
    }

    /// UUIDv5 of the job and the (key, modified) pairs: the same versions of the same records
    /// always get the same id, so a re-sent page carries the ids it had the first time.
    pub fn message_id(&self) -> Uuid {
        message_id(
            &self.job,
            self.records.iter().map(|r| (r.key, r.modified.as_str())),
        )
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain data (strings, numbers, maps) cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes a body, checking the version before the shape so the error says which it is.
    /// The body is parsed once on the hot path; only a body that fails is looked at again.
    pub fn from_json(body: &[u8]) -> Result<Self, EnvelopeError> {
        match serde_json::from_slice::<Envelope>(body) {
            Ok(envelope) if envelope.v == VERSION => Ok(envelope),
            Ok(envelope) => Err(EnvelopeError::UnknownVersion(u64::from(envelope.v))),
            Err(error) => {
                #[derive(Deserialize)]
                struct Probe {
                    v: Option<u64>,
                }
                match serde_json::from_slice::<Probe>(body) {
                    Ok(Probe { v: Some(v) }) if v != u64::from(VERSION) => {
                        Err(EnvelopeError::UnknownVersion(v))
                    }
                    _ => Err(EnvelopeError::Undecodable(error)),
                }
            }
        }
    }
}

/// A record written straight from a page's row: the producer's side of [`EnvelopeRecord`].
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RowRecord<'a> {
    pub key: i64,
    pub modified: &'a str,
    #[serde(rename = "record")]
    pub row: RowRef<'a>,
}

/// The body of an envelope of `records`, written without building a map per record: the same
/// bytes [`Envelope::to_json`] writes for the same records (fields in FieldKeys order).
pub fn rows_to_json(job: &str, form_id: &str, run_id: Uuid, records: &[RowRecord<'_>]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        v: u32,
        job: &'a str,
        form_id: &'a str,
        run_id: Uuid,
        records: &'a [RowRecord<'a>],
    }
    let body = Body {
        v: VERSION,
        job,
        form_id,
        run_id,
        records,
    };
    // Serialising plain data (strings, numbers, maps) cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The message id of a job's batch of (key, modified) pairs.
pub fn message_id<'a>(job: &str, pairs: impl Iterator<Item = (i64, &'a str)>) -> Uuid {
    let mut name = String::with_capacity(64);
    name.push_str(job);
    for (key, modified) in pairs {
        name.push('\n');
        name.push_str(&key.to_string());
        name.push('@');
        name.push_str(modified);
    }
    Uuid::new_v5(&namespace(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_envelope_written_from_rows_is_the_envelope_of_the_same_records() {
        let fields = ["FMaterialId".to_owned(), "FName".to_owned()];
        let values = [json!(7), json!("螺丝M3 \"x\"")];
        let run = Uuid::new_v4();
        let row = RowRef {
            fields: &fields,
            values: &values,
        };
        let body = rows_to_json(
            "materials",
            "BD_MATERIAL",
            run,
            &[RowRecord {
                key: 7,
                modified: "2024-01-01T00:00:00",
                row,
            }],
        );
        let mut record = Record::new();
        record.insert("FMaterialId".into(), json!(7));
        record.insert("FName".into(), json!("螺丝M3 \"x\""));
        let expected = Envelope::new(
            "materials",
            "BD_MATERIAL",
            run,
            vec![EnvelopeRecord {
                key: 7,
                modified: "2024-01-01T00:00:00".into(),
                record,
            }],
        );
        assert_eq!(body, expected.to_json());
    }

    fn record(key: i64, modified: &str) -> EnvelopeRecord {
        let mut r = Record::new();
        r.insert("FMaterialId".into(), json!(key));
        r.insert("FName".into(), json!("螺丝M3"));
        EnvelopeRecord {
            key,
            modified: modified.into(),
            record: r,
        }
    }

    #[test]
    fn the_same_versions_get_the_same_message_id_and_a_new_version_a_new_one() {
        let run = Uuid::new_v4();
        let a = Envelope::new(
            "materials",
            "BD_MATERIAL",
            run,
            vec![record(1, "2024-03-12T09:32:21.125")],
        );
        let b = Envelope::new(
            "materials",
            "BD_MATERIAL",
            Uuid::new_v4(),
            vec![record(1, "2024-03-12T09:32:21.125")],
        );
        let c = Envelope::new(
            "materials",
            "BD_MATERIAL",
            run,
            vec![record(1, "2024-03-12T09:32:21.126")],
        );
        assert_eq!(a.message_id(), b.message_id());
        assert_ne!(a.message_id(), c.message_id());
    }

    #[test]
    fn an_envelope_round_trips_with_chinese_text() {
        let e = Envelope::new(
            "materials",
            "BD_MATERIAL",
            Uuid::new_v4(),
            vec![record(7, "2024-01-01T00:00:00")],
        );
        let back = Envelope::from_json(&e.to_json()).unwrap();
        assert_eq!(back, e);
        assert!(String::from_utf8(e.to_json()).unwrap().contains("螺丝M3"));
    }

    #[test]
    fn an_unknown_version_and_a_non_json_body_are_told_apart() {
        let err = Envelope::from_json(br#"{"v":2,"job":"materials"}"#).unwrap_err();
        assert!(matches!(err, EnvelopeError::UnknownVersion(2)), "{err}");
        let err = Envelope::from_json(b"not json").unwrap_err();
        assert!(matches!(err, EnvelopeError::Undecodable(_)), "{err}");
    }
}
