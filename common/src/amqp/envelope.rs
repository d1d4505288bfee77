//! The message body: a batch of raw Kingdee records of one job, and its deterministic message
//! id. The raw record travels; the worker maps it, so a mapping fix also fixes replays.
//!
//! Two versions, both read everywhere:
//! - `v: 2`, what the producer writes: the FieldKeys once, then each record's values as an array
//!   in that order, as Kingdee sends them —
//!   `{"v":2,"job":…,"form_id":…,"run_id":…,"fields":["FMaterialId",…],"records":[{"key":…,"modified":…,"values":[…]}]}`;
//! - `v: 1`, each record an object keyed by field —
//!   `{"v":1,…,"records":[{"key":…,"modified":…,"record":{"FMaterialId":…}}]}` — what
//!   [`Envelope::to_json`] writes for dead letters and retries, where a record travels alone and
//!   should read as it is.

use serde::de::Error as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::kingdee::Record;

/// The newest envelope version, the one the producer writes (values as arrays).
pub const VERSION: u32 = 2;

/// The version whose records are objects ([`Envelope::to_json`]).
pub const OBJECT_VERSION: u32 = 1;

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

/// One message: up to `records_per_message` records of one job, each record an object (read from
/// either version; [`Envelope::to_json`] writes version 1).
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
    #[error("unknown envelope version {0} (this build reads versions 1 and 2)")]
    UnknownVersion(u64),
}

/// Namespace of k3sync's UUIDv5 message ids.
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"urn:k3sync:message")
}

impl Envelope {
    pub fn new(job: &str, form_id: &str, run_id: Uuid, records: Vec<EnvelopeRecord>) -> Self {
        Self {
            v: OBJECT_VERSION,
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

    /// Decodes a body of either version, checking the version before the shape so the error
    /// says which it is. (The worker's hot path reads bodies with [`super::FieldEnvelope`].)
    pub fn from_json(body: &[u8]) -> Result<Self, EnvelopeError> {
        #[derive(Deserialize)]
        struct Probe {
            v: Option<u64>,
        }
        match serde_json::from_slice::<Probe>(body) {
            Ok(Probe { v: Some(1) }) => {
                serde_json::from_slice::<Envelope>(body).map_err(EnvelopeError::Undecodable)
            }
            Ok(Probe { v: Some(2) }) => serde_json::from_slice::<ArrayBody>(body)
                .map_err(EnvelopeError::Undecodable)?
                .into_envelope(),
            Ok(Probe { v: Some(v) }) => Err(EnvelopeError::UnknownVersion(v)),
            // Not JSON, not an object, no usable `v`: the version 1 decoder says what is wrong.
            _ => Err(EnvelopeError::Undecodable(
                serde_json::from_slice::<Envelope>(body)
                    .err()
                    .unwrap_or_else(|| serde_json::Error::custom("no envelope version")),
            )),
        }
    }
}

/// A version 2 body as it is on the wire.
#[derive(Deserialize)]
struct ArrayBody {
    job: String,
    form_id: String,
    run_id: Uuid,
    fields: Vec<String>,
    records: Vec<ArrayRecord>,
}

#[derive(Deserialize)]
struct ArrayRecord {
    key: i64,
    modified: String,
    values: Vec<Value>,
}

impl ArrayBody {
    fn into_envelope(self) -> Result<Envelope, EnvelopeError> {
        let fields = self.fields;
        let records = self
            .records
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                if r.values.len() != fields.len() {
                    return Err(EnvelopeError::Undecodable(serde_json::Error::custom(
                        format!(
                            "record {i} has {} values for {} fields",
                            r.values.len(),
                            fields.len()
                        ),
                    )));
                }
                Ok(EnvelopeRecord {
                    key: r.key,
                    modified: r.modified,
                    record: fields.iter().cloned().zip(r.values).collect(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Envelope::new(
            &self.job,
            &self.form_id,
            self.run_id,
            records,
        ))
    }
}

/// A record written straight from a page's row: the producer's side of [`EnvelopeRecord`].
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RowRecord<'a> {
    pub key: i64,
    pub modified: &'a str,
    /// The row's values, in the order of the envelope's fields.
    pub values: &'a [Value],
}

/// A version 2 body: `fields` once, then each record's values in that order. No map is built
/// per record, and the field names are not repeated per record.
pub fn rows_to_json(
    job: &str,
    form_id: &str,
    run_id: Uuid,
    fields: &[String],
    records: &[RowRecord<'_>],
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        v: u32,
        job: &'a str,
        form_id: &'a str,
        run_id: Uuid,
        fields: &'a [String],
        records: &'a [RowRecord<'a>],
    }
    let body = Body {
        v: VERSION,
        job,
        form_id,
        run_id,
        fields,
        records,
    };
    // Serialising plain data (strings, numbers, arrays) cannot fail.
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
    fn a_version_2_body_reads_as_the_envelope_of_the_same_records() {
        let fields = ["FMaterialId".to_owned(), "FName".to_owned()];
        let values = [json!(7), json!("螺丝M3 \"x\"")];
        let run = Uuid::new_v4();
        let body = rows_to_json(
            "materials",
            "BD_MATERIAL",
            run,
            &fields,
            &[RowRecord {
                key: 7,
                modified: "2024-01-01T00:00:00",
                values: &values,
            }],
        );
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.starts_with(r#"{"v":2,"#), "{text}");
        assert!(
            text.contains(r#""fields":["FMaterialId","FName"]"#),
            "{text}"
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
        let read = Envelope::from_json(&body).unwrap();
        assert_eq!(read, expected);
        // Written again it is a version 1 body (a dead letter or a retry), read back the same.
        assert_eq!(Envelope::from_json(&read.to_json()).unwrap(), expected);
    }

    #[test]
    fn a_version_2_record_of_the_wrong_length_is_undecodable() {
        let body = br#"{"v":2,"job":"materials","form_id":"BD_MATERIAL","run_id":"67e55044-10b1-426f-9247-bb680e5fe0c8","fields":["FMaterialId","FName"],"records":[{"key":1,"modified":"2024-01-01T00:00:00","values":[1]}]}"#;
        let err = Envelope::from_json(body).unwrap_err();
        assert!(matches!(err, EnvelopeError::Undecodable(_)), "{err}");
        assert!(
            err.to_string()
                .contains("record 0 has 1 values for 2 fields"),
            "{err}"
        );
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
        let err = Envelope::from_json(br#"{"v":3,"job":"materials"}"#).unwrap_err();
        assert!(matches!(err, EnvelopeError::UnknownVersion(3)), "{err}");
        let err = Envelope::from_json(b"not json").unwrap_err();
        assert!(matches!(err, EnvelopeError::Undecodable(_)), "{err}");
    }
}
