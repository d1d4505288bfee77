//! Envelopes as tests write and read them: records keyed by field name, turned into the one
//! envelope shape (field names once, values in that order) and back.

use k3sync_common::amqp::{Entry, Envelope};
use k3sync_common::record::Record;

/// A record as a test builds it: its key, its version, and its fields by name.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeRecord {
    pub key: i64,
    pub modified: String,
    pub record: Record,
}

/// The envelope of `records` for `job`, as the producer writes it. Records of one envelope share
/// their fields (in any order): a record that lacks a field its neighbours have cannot be
/// written in this shape, so a test puts it in an envelope of its own.
pub fn envelope_of(job: &str, records: Vec<EnvelopeRecord>) -> Envelope {
    let fields: Vec<String> = records
        .first()
        .map(|r| r.record.keys().cloned().collect())
        .unwrap_or_default();
    let entries = records
        .into_iter()
        .map(|r| {
            assert_eq!(
                r.record.len(),
                fields.len(),
                "record {} does not have the fields of its envelope's first record",
                r.key
            );
            let values = fields
                .iter()
                .map(|f| {
                    r.record.get(f).cloned().unwrap_or_else(|| {
                        panic!("record {} lacks `{f}`, which its neighbours have", r.key)
                    })
                })
                .collect();
            Entry {
                key: r.key,
                modified: r.modified,
                values,
            }
        })
        .collect();
    Envelope::new(job, "BD_MATERIAL", uuid::Uuid::new_v4(), fields, entries)
}

/// An envelope's records keyed by field name again.
pub fn records_of(envelope: &Envelope) -> Vec<EnvelopeRecord> {
    envelope
        .records
        .iter()
        .enumerate()
        .map(|(i, entry)| EnvelopeRecord {
            key: entry.key,
            modified: entry.modified.clone(),
            record: envelope.record(i).unwrap_or_default(),
        })
        .collect()
}
