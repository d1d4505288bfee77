//! Turns a page of Kingdee records into messages: `records_per_message` records per envelope,
//! each record's key and version pulled out, headers and a deterministic message id set.

use k3sync_common::amqp::topology::EXCHANGE;
use k3sync_common::amqp::{Outgoing, RowRecord, headers, message_id, rows_to_json};
use k3sync_common::kingdee::{FieldSource, RowRef, Rows};
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
    /// The page's messages (envelope version 2), written straight from its rows: no map built
    /// per record.
    pub fn messages(&self, rows: &Rows) -> Result<Vec<Outgoing>, BadRecord> {
        let key_at = rows.fields.iter().position(|f| *f == self.key_field);
        let modified_at = rows.fields.iter().position(|f| *f == self.modified_field);
        let mut items = Vec::with_capacity(rows.len());
        for (position, values) in rows.rows.iter().enumerate() {
            let row = RowRef {
                fields: &rows.fields,
                values,
            };
            let key = key_at
                .and_then(|i| values.get(i))
                .and_then(as_key)
                .ok_or_else(|| self.bad(position, &self.key_field, &row))?;
            let modified = modified_at
                .and_then(|i| values.get(i))
                .and_then(Value::as_str)
                .ok_or_else(|| self.bad(position, &self.modified_field, &row))?;
            items.push(RowRecord {
                key,
                modified,
                values,
            });
        }
        let per_message = self.records_per_message.max(1);
        Ok(items
            .chunks(per_message)
            .map(|chunk| Outgoing {
                exchange: EXCHANGE.to_owned(),
                routing_key: self.job.clone(),
                message_id: message_id(&self.job, chunk.iter().map(|r| (r.key, r.modified)))
                    .to_string(),
                headers: self.headers(),
                body: rows_to_json(&self.job, &self.form_id, self.run_id, &rows.fields, chunk),
            })
            .collect())
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

    fn bad(&self, position: usize, field: &str, row: &RowRef<'_>) -> BadRecord {
        let value = row
            .field(field)
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
    use k3sync_common::amqp::Envelope;
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

    fn rows(rows: Vec<(Value, Value)>) -> Rows {
        Rows {
            fields: vec!["FMaterialId".to_owned(), "FModifyDate".to_owned()].into(),
            rows: rows.into_iter().map(|(k, m)| vec![k, m]).collect(),
        }
    }

    #[test]
    fn a_page_is_cut_into_messages_of_records_per_message() {
        let page = rows(
            (0..250)
                .map(|i| (json!(100_000 + i), json!("2024-01-01T00:00:00.1")))
                .collect(),
        );
        let messages = batcher(100).messages(&page).unwrap();
        let sizes: Vec<usize> = messages
            .iter()
            .map(|m| Envelope::from_json(&m.body).unwrap().records.len())
            .collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        let first = Envelope::from_json(&messages[0].body).unwrap();
        assert_eq!(first.message_id().to_string(), messages[0].message_id);
        assert_eq!(first.records[0].record["FMaterialId"], json!(100_000));
        let one = batcher(1)
            .messages(&rows(vec![(json!("42"), json!("2024-01-01T00:00:00"))]))
            .unwrap();
        assert_eq!(
            Envelope::from_json(&one[0].body).unwrap().records[0].key,
            42
        );
    }

    #[test]
    fn a_record_without_a_key_fails_the_page_and_names_the_field() {
        let err = batcher(100)
            .messages(&rows(vec![(json!(null), json!("2024-01-01T00:00:00"))]))
            .unwrap_err();
        assert_eq!(err.field, "FMaterialId");
        assert_eq!(err.position, 0);
        assert_eq!(err.value, "null");
    }
}
