//! Deliberate poison for the chaos runs: records the worker must dead-letter, published straight
//! to the work queue in the same envelopes as good neighbours that must still be written. Keys
//! from 9,000,000 up stay clear of the mock's (100,001 and on).

use std::collections::BTreeMap;

use k3sync_common::record::Record;

use crate::envelopes::{EnvelopeRecord, envelope_of};
use serde_json::{Value, json};

use super::expect::{Row, expected_row};

/// A material record shaped like the producer's, with every field the demo mapping reads.
pub fn material(key: i64, number: &str, name: Value, modified: &str) -> EnvelopeRecord {
    let mut r = Record::new();
    for (field, value) in [
        ("FMaterialId", json!(key)),
        ("FModifyDate", json!(modified)),
        ("FCreateDate", json!("2023-01-05T08:00:00.5")),
        ("FMasterId", json!(key)),
        ("FNumber", json!(number)),
        ("FName", name),
        ("FSpecification", json!("  M3*8 ")),
        ("F_ProductLine", json!("PL-01")),
        ("FMaterialGroup.FNumber", json!("01.01")),
        ("FBaseUnitId.FNumber", json!("Pcs")),
        ("FErpClsID", json!("1")),
        ("FUseOrgId.FNumber", json!("T00")),
        ("FDocumentStatus", json!("C")),
        ("FForbidStatus", json!("A")),
    ] {
        r.insert(field.into(), value);
    }
    EnvelopeRecord {
        key,
        modified: modified.into(),
        record: r,
    }
}

/// One poisoned record and the dead letter it must become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoisonCase {
    pub key: i64,
    pub class: &'static str,
    pub error_contains: &'static str,
}

/// The poison of a chaos run: the bodies to publish, the good neighbours they carry (expected in
/// the table) and the poisoned records (expected in the dead queue, and nothing else).
pub struct Poison {
    pub bodies: Vec<Vec<u8>>,
    pub good: BTreeMap<i64, Row>,
    pub dead: Vec<PoisonCase>,
}

impl Poison {
    /// Three poisoned records (a 300-character FNumber, a date in another format, a null FName)
    /// between four good ones, in two envelopes of `job`.
    pub fn new(job: &str) -> Self {
        let at = |ms: u32| format!("2024-05-01T10:00:00.{ms:03}");
        let batches = vec![
            vec![
                material(9_000_001, "P-1", json!("好的一 😀"), &at(1)),
                material(9_000_002, &"X".repeat(300), json!("太长"), &at(2)),
                material(9_000_003, "P-3", json!("好的三 𠀀"), &at(3)),
            ],
            vec![
                material(9_000_004, "P-4", json!("坏日期"), "2024/05/01 10:00:00"),
                material(9_000_005, "P-5", Value::Null, &at(5)),
                material(9_000_006, "P-6", json!("好的六"), &at(6)),
                material(9_000_007, "P-7", json!("好的七"), &at(7)),
            ],
        ];
        let dead = vec![
            PoisonCase {
                key: 9_000_002,
                class: "data",
                error_contains: "Data too long for column 'code'",
            },
            PoisonCase {
                key: 9_000_004,
                class: "mapping",
                error_contains: "2024/05/01 10:00:00",
            },
            PoisonCase {
                key: 9_000_005,
                class: "data",
                error_contains: "Column 'name' cannot be null",
            },
        ];
        let good = batches
            .iter()
            .flatten()
            .filter(|r| !dead.iter().any(|d| d.key == r.key))
            .map(|r| (r.key, expected_row(&Value::Object(r.record.clone()))))
            .collect();
        let bodies = batches
            .into_iter()
            .map(|records| envelope_of(job, records).to_json())
            .collect();
        Self { bodies, good, dead }
    }
}
