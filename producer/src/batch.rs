//! Turns a page of Kingdee records into messages: `records_per_message` records per envelope,
//! each record's key and version pulled out, headers and a deterministic message id set.

use k3sync_common::amqp::topology::EXCHANGE;
use k3sync_common::amqp::{Envelope, EnvelopeRecord, Outgoing, headers};
use k3sync_common::kingdee::Record;
use lapin::types::{AMQPValue, FieldTable};
use serde_json::Value;
use uuid::Uuid;

/// Where the messages of one pass go and what they say about themselves.
pub struct Batcher {
    pub job: String,
    pub form_id: String,
    pub run_id: Uuid,
    pub key_field: String,
    pub modified_field: String,
    pub records_per_message: usize,
}

/// A record the producer cannot publish (no key or no version); the page fails with it.
#[derive(Debug, thiserror::Error)]
#[error("record {position} of the page has no usable `{field}` (got {value})")]
pub struct BadRecord {
    pub position: usize,
    pub field: String,
    pub value: String,
}

impl Batcher {
    pub fn messages(&self, records: Vec<Record>) -> Result<Vec<Outgoing>, BadRecord> {
        let mut items = Vec::with_capacity(records.len());
        for (position, record) in records.into_iter().enumerate() {
            let key = record
                .get(&self.key_field)
                .and_then(as_key)
                .ok_or_else(|| self.bad(position, &self.key_field, &record))?;
            let modified = record
                .get(&self.modified_field)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| self.bad(position, &self.modified_field, &record))?;
            items.push(EnvelopeRecord {
                key,
                modified,
                record,
            });
        }
        let mut messages = Vec::with_capacity(items.len() / self.records_per_message + 1);
        let mut rest = items.into_iter().peekable();
        while rest.peek().is_some() {
            let chunk: Vec<EnvelopeRecord> = rest.by_ref().take(self.records_per_message).collect();
            let envelope = Envelope::new(&self.job, &self.form_id, self.run_id, chunk);
            messages.push(Outgoing {
                exchange: EXCHANGE.to_owned(),
                routing_key: self.job.clone(),
                message_id: envelope.message_id().to_string(),
                headers: self.headers(),
                body: envelope.to_json(),
            });
        }
        Ok(messages)
    }

    fn headers(&self) -> FieldTable {
        let mut table = FieldTable::default();
        table.insert(
            headers::JOB.into(),
            AMQPValue::LongString(self.job.as_str().into()),
        );
        table.insert(
            headers::RUN.into(),
            AMQPValue::LongString(self.run_id.to_string().into()),
        );
        table.insert(headers::ATTEMPT.into(), AMQPValue::LongLongInt(0));
        table
    }

    fn bad(&self, position: usize, field: &str, record: &Record) -> BadRecord {
        let value = record
            .get(field)
            .map_or_else(|| "nothing".to_owned(), Value::to_string);
        BadRecord {
            position,
            field: field.to_owned(),
            value,
        }
    }
}

/// Keys are integers; Kingdee sends them as numbers, some gateways as numeric strings.
fn as_key(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn batcher(per_message: usize) -> Batcher {
        Batcher {
            job: "materials".into(),
            form_id: "BD_MATERIAL".into(),
            run_id: Uuid::nil(),
            key_field: "FMaterialId".into(),
            modified_field: "FModifyDate".into(),
            records_per_message: per_message,
        }
    }

    fn record(key: Value, modified: Value) -> Record {
        let mut r = Record::new();
        r.insert("FMaterialId".into(), key);
        r.insert("FModifyDate".into(), modified);
        r
    }

    #[test]
    fn a_page_is_cut_into_messages_of_records_per_message() {
        let records: Vec<Record> = (0..250)
            .map(|i| record(json!(100_000 + i), json!("2024-01-01T00:00:00.1")))
            .collect();
        let messages = batcher(100).messages(records).unwrap();
        let sizes: Vec<usize> = messages
            .iter()
            .map(|m| Envelope::from_json(&m.body).unwrap().records.len())
            .collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        let one = batcher(1)
            .messages(vec![record(json!("42"), json!("2024-01-01T00:00:00"))])
            .unwrap();
        assert_eq!(
            Envelope::from_json(&one[0].body).unwrap().records[0].key,
            42
        );
    }

    #[test]
    fn a_record_without_a_key_fails_the_page_and_names_the_field() {
        let err = batcher(100)
            .messages(vec![record(json!(null), json!("2024-01-01T00:00:00"))])
            .unwrap_err();
        assert_eq!(err.field, "FMaterialId");
        assert_eq!(err.position, 0);
    }
}
