//! The worker's reading of an envelope: for each record, its key, its version and the values of
//! the fields one mapping reads, decoded in one pass over the body without building a map per
//! record. Field names match exactly first, then ignoring case (as [`CompiledMapping::apply`]
//! looks them up); a field the record lacks stays `None`. In a version 2 body the fields are
//! matched once per message and each record's array is read by position. Anything this reader
//! refuses (a body out of the usual order included) is handed to [`Envelope::from_json`], so a
//! bad body gets exactly the error it always got.
//!
//! [`CompiledMapping::apply`]: crate::mapping::CompiledMapping::apply

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use uuid::Uuid;

use super::envelope::{Envelope, EnvelopeError, OBJECT_VERSION, VERSION};
use crate::kingdee::record_field;

/// An envelope as one mapping needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldEnvelope {
    pub job: String,
    pub run_id: Uuid,
    pub records: Vec<FieldRecord>,
}

/// One record: key, version, and one value per wanted field (in the order asked for).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRecord {
    pub key: i64,
    pub modified: String,
    pub values: Vec<Option<Value>>,
}

impl FieldEnvelope {
    /// Decodes `body`, keeping only `fields` of each record.
    pub fn from_json(body: &[u8], fields: &[String]) -> Result<Self, EnvelopeError> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let fast = EnvelopeSeed { fields }
            .deserialize(&mut deserializer)
            .and_then(|decoded| deserializer.end().map(|()| decoded));
        match fast {
            Ok((v, envelope, arrays))
                if (v == u64::from(OBJECT_VERSION) && !arrays)
                    || (v == u64::from(VERSION) && arrays) =>
            {
                Ok(envelope)
            }
            // Not the current shape: the full decoder names the problem (or, should it read the
            // body after all, its reading is used).
            _ => Envelope::from_json(body).map(|envelope| Self::from_envelope(&envelope, fields)),
        }
    }

    /// The same reading from an envelope already decoded.
    pub fn from_envelope(envelope: &Envelope, fields: &[String]) -> Self {
        Self {
            job: envelope.job.clone(),
            run_id: envelope.run_id,
            records: envelope
                .records
                .iter()
                .map(|r| FieldRecord {
                    key: r.key,
                    modified: r.modified.clone(),
                    values: fields
                        .iter()
                        .map(|f| record_field(&r.record, f).cloned())
                        .collect(),
                })
                .collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum TopField {
    V,
    Job,
    FormId,
    RunId,
    Fields,
    Records,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum RecordField {
    Key,
    Modified,
    Record,
    Values,
    #[serde(other)]
    Other,
}

fn once<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    if slot.replace(value).is_some() {
        return Err(E::duplicate_field(name));
    }
    Ok(())
}

/// The whole body: `(v, envelope, whether its records were arrays)`.
struct EnvelopeSeed<'f> {
    fields: &'f [String],
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_> {
    type Value = (u64, FieldEnvelope, bool);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_> {
    type Value = (u64, FieldEnvelope, bool);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a k3sync envelope")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut v, mut job, mut form_id, mut run_id, mut records) = (None, None, None, None, None);
        // Version 2: for each of the body's fields, the wanted slot it fills.
        let mut slots: Option<Vec<Option<usize>>> = None;
        while let Some(field) = map.next_key::<TopField>()? {
            match field {
                TopField::V => once(&mut v, map.next_value::<u64>()?, "v")?,
                TopField::Job => once(&mut job, map.next_value::<String>()?, "job")?,
                TopField::FormId => once(&mut form_id, map.next_value::<String>()?, "form_id")?,
                TopField::RunId => once(&mut run_id, map.next_value::<Uuid>()?, "run_id")?,
                TopField::Fields => {
                    let names = map.next_value::<Vec<String>>()?;
                    once(&mut slots, slots_of(&names, self.fields), "fields")?;
                }
                TopField::Records => once(
                    &mut records,
                    map.next_value_seed(RecordsSeed {
                        fields: self.fields,
                        slots: slots.as_deref(),
                    })?,
                    "records",
                )?,
                TopField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let v = v.ok_or_else(|| de::Error::missing_field("v"))?;
        let job = job.ok_or_else(|| de::Error::missing_field("job"))?;
        form_id.ok_or_else(|| de::Error::missing_field("form_id"))?;
        let run_id = run_id.ok_or_else(|| de::Error::missing_field("run_id"))?;
        let records = records.ok_or_else(|| de::Error::missing_field("records"))?;
        Ok((
            v,
            FieldEnvelope {
                job,
                run_id,
                records,
            },
            slots.is_some(),
        ))
    }
}

/// For each name of a version 2 body, the wanted slot it fills: the exact spelling first, else
/// the first name that matches ignoring case (as [`CompiledMapping::apply`] looks fields up).
///
/// [`CompiledMapping::apply`]: crate::mapping::CompiledMapping::apply
fn slots_of(names: &[String], wanted: &[String]) -> Vec<Option<usize>> {
    let mut slots = vec![None; names.len()];
    for (slot, want) in wanted.iter().enumerate() {
        let at = names
            .iter()
            .position(|n| n == want)
            .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(want)));
        if let Some(at) = at {
            slots[at] = Some(slot);
        }
    }
    slots
}

struct RecordsSeed<'f> {
    fields: &'f [String],
    slots: Option<&'f [Option<usize>]>,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = Vec<FieldRecord>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = Vec<FieldRecord>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(record) = seq.next_element_seed(RecordSeed {
            fields: self.fields,
            slots: self.slots,
        })? {
            records.push(record);
        }
        Ok(records)
    }
}

struct RecordSeed<'f> {
    fields: &'f [String],
    slots: Option<&'f [Option<usize>]>,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = FieldRecord;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = FieldRecord;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record with key, modified and record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut key, mut modified, mut values) = (None, None, None);
        while let Some(field) = map.next_key::<RecordField>()? {
            match field {
                RecordField::Key => once(&mut key, map.next_value::<i64>()?, "key")?,
                RecordField::Modified => {
                    once(&mut modified, map.next_value::<String>()?, "modified")?;
                }
                // Version 1 (an object), or version 2 (an array after the body's fields).
                RecordField::Record if self.slots.is_none() => once(
                    &mut values,
                    map.next_value_seed(ValuesSeed {
                        fields: self.fields,
                    })?,
                    "record",
                )?,
                RecordField::Values if self.slots.is_some() => once(
                    &mut values,
                    map.next_value_seed(ArraySeed {
                        wanted: self.fields.len(),
                        slots: self.slots.unwrap_or_default(),
                    })?,
                    "values",
                )?,
                RecordField::Record | RecordField::Values => {
                    return Err(de::Error::custom("record shape does not match the version"));
                }
                RecordField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(FieldRecord {
            key: key.ok_or_else(|| de::Error::missing_field("key"))?,
            modified: modified.ok_or_else(|| de::Error::missing_field("modified"))?,
            values: values.ok_or_else(|| de::Error::missing_field("record"))?,
        })
    }
}

/// The record's object: only the wanted fields' values are built, the rest is skipped.
struct ValuesSeed<'f> {
    fields: &'f [String],
}

impl<'de> DeserializeSeed<'de> for ValuesSeed<'_> {
    type Value = Vec<Option<Value>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ValuesSeed<'_> {
    type Value = Vec<Option<Value>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kingdee record (an object of fields)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = vec![None; self.fields.len()];
        // Slots filled by a match ignoring case: an exact match later replaces them, another
        // match ignoring case does not (the first one wins, as in `CompiledMapping::apply`).
        let mut by_case: Vec<usize> = Vec::new();
        while let Some(slot) = map.next_key_seed(SlotSeed {
            fields: self.fields,
        })? {
            match slot {
                Slot::Exact(i) => {
                    values[i] = Some(map.next_value::<Value>()?);
                    by_case.retain(|&c| c != i);
                }
                Slot::IgnoringCase(i) if values[i].is_none() => {
                    values[i] = Some(map.next_value::<Value>()?);
                    by_case.push(i);
                }
                Slot::IgnoringCase(_) | Slot::Unwanted => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(values)
    }
}

/// A version 2 record's values: one per field of the body, the wanted ones kept by position.
struct ArraySeed<'s> {
    wanted: usize,
    slots: &'s [Option<usize>],
}

impl<'de> DeserializeSeed<'de> for ArraySeed<'_> {
    type Value = Vec<Option<Value>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ArraySeed<'_> {
    type Value = Vec<Option<Value>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an array of {} values", self.slots.len())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = vec![None; self.wanted];
        for (i, slot) in self.slots.iter().enumerate() {
            let present = match slot {
                Some(slot) => seq
                    .next_element::<Value>()?
                    .map(|value| values[*slot] = Some(value))
                    .is_some(),
                None => seq.next_element::<IgnoredAny>()?.is_some(),
            };
            if !present {
                return Err(de::Error::invalid_length(i, &self));
            }
        }
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(self.slots.len() + 1, &self));
        }
        Ok(values)
    }
}

/// Where a record's key goes, decided from the key text without allocating it.
enum Slot {
    Exact(usize),
    IgnoringCase(usize),
    Unwanted,
}

struct SlotSeed<'f> {
    fields: &'f [String],
}

impl<'de> DeserializeSeed<'de> for SlotSeed<'_> {
    type Value = Slot;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for SlotSeed<'_> {
    type Value = Slot;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Slot, E> {
        if let Some(i) = self.fields.iter().position(|f| f == name) {
            return Ok(Slot::Exact(i));
        }
        Ok(self
            .fields
            .iter()
            .position(|f| f.eq_ignore_ascii_case(name))
            .map_or(Slot::Unwanted, Slot::IgnoringCase))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields() -> Vec<String> {
        ["FNumber", "FName", "FMissing"]
            .iter()
            .map(|f| (*f).to_owned())
            .collect()
    }

    fn body(records: Value) -> Vec<u8> {
        json!({"v": 1, "job": "materials", "form_id": "BD_MATERIAL",
               "run_id": "67e55044-10b1-426f-9247-bb680e5fe0c8", "records": records})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn only_the_wanted_fields_are_kept_in_the_order_asked_for() {
        let body = body(json!([
            {"key": 1, "modified": "2024-01-01T00:00:00", "extra": [1],
             "record": {"FName": "螺丝", "FMaterialId": 1, "FNumber": "A-1"}},
            {"key": 2, "modified": "2024-01-02T00:00:00",
             "record": {"fnumber": "lower", "FNumber": "exact", "FNAME": null}}
        ]));
        let decoded = FieldEnvelope::from_json(&body, &fields()).unwrap();
        assert_eq!(decoded.job, "materials");
        assert_eq!(decoded.records.len(), 2);
        assert_eq!(decoded.records[0].key, 1);
        assert_eq!(decoded.records[0].modified, "2024-01-01T00:00:00");
        assert_eq!(
            decoded.records[0].values,
            vec![Some(json!("A-1")), Some(json!("螺丝")), None]
        );
        // The exact spelling wins over an earlier match ignoring case; a present null is a value.
        assert_eq!(
            decoded.records[1].values,
            vec![Some(json!("exact")), Some(json!(null)), None]
        );
        // The same reading as through the full decoder.
        let full = Envelope::from_json(&body).unwrap();
        assert_eq!(FieldEnvelope::from_envelope(&full, &fields()), decoded);
    }

    fn version_2(records: Value) -> Vec<u8> {
        json!({"v": 2, "job": "materials", "form_id": "BD_MATERIAL",
               "run_id": "67e55044-10b1-426f-9247-bb680e5fe0c8",
               "fields": ["FMaterialId", "FNAME", "FNumber"], "records": records})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_version_2_body_is_read_by_position() {
        let body = version_2(json!([
            {"key": 1, "modified": "2024-01-01T00:00:00", "values": [1, "螺丝", "A-1"]},
            {"key": 2, "modified": "2024-01-02T00:00:00", "values": [2, null, "A-2"]}
        ]));
        let decoded = FieldEnvelope::from_json(&body, &fields()).unwrap();
        assert_eq!(
            decoded.records[0].values,
            vec![Some(json!("A-1")), Some(json!("螺丝")), None]
        );
        assert_eq!(decoded.records[1].key, 2);
        assert_eq!(
            decoded.records[1].values,
            vec![Some(json!("A-2")), Some(json!(null)), None]
        );
        let full = Envelope::from_json(&body).unwrap();
        assert_eq!(FieldEnvelope::from_envelope(&full, &fields()), decoded);
        // Fields after the records (not how k3sync writes them) still read, the slow way.
        let reordered = br#"{"records":[{"key":1,"modified":"m","values":[1,"n","A-1"]}],"v":2,"job":"j","form_id":"F","run_id":"67e55044-10b1-426f-9247-bb680e5fe0c8","fields":["FMaterialId","FName","FNumber"]}"#;
        let decoded = FieldEnvelope::from_json(reordered, &fields()).unwrap();
        assert_eq!(
            decoded.records[0].values,
            vec![Some(json!("A-1")), Some(json!("n")), None]
        );
    }

    #[test]
    fn a_bad_body_gets_the_full_decoders_error() {
        for bad in [
            b"not json".to_vec(),
            br#"{"v":3,"job":"materials"}"#.to_vec(),
            version_2(json!([{"key": 1, "modified": "m", "values": ["A-1"]}])),
            version_2(json!([{"key": 1, "modified": "m", "values": ["A-1", "x", 1, 2]}])),
            version_2(json!([{"key": 1, "modified": "m", "record": {"FNumber": "A-1"}}])),
            body(json!([{"key": "x", "modified": "m", "record": {}}])),
            body(json!([{"key": 1, "modified": "m", "record": []}])),
            br#"{"v":1,"job":"materials","form_id":"F","run_id":"67e55044-10b1-426f-9247-bb680e5fe0c8","records":[]} trailing"#.to_vec(),
        ] {
            let fast = FieldEnvelope::from_json(&bad, &fields()).unwrap_err();
            let full = Envelope::from_json(&bad).unwrap_err();
            assert_eq!(fast.to_string(), full.to_string());
        }
    }
}
