//! Turns a page of Kingdee rows into messages: each row's key and version pulled out by the
//! record rules, the values moved into envelopes of at most `records_per_message` records and
//! `max_message_bytes` bytes, each with its headers and deterministic message id.

use k3sync_common::amqp::{Entry, Envelope, Outgoing, Route};
use k3sync_common::dlq::{DeadClass, DeadLetter, Headers};
use k3sync_common::record::{Rows, parse_key, version_text};
use serde_json::Value;
use uuid::Uuid;

/// Where the messages of one pass go and what they say about themselves.
pub struct Batcher {
    pub job: String,
    pub form_id: String,
    pub run_id: Uuid,
    pub route: Route,
    pub key_field: String,
    pub modified_field: String,
    pub records_per_message: usize,
    pub max_message_bytes: usize,
}

/// A record the producer cannot publish (no key or no version); the page fails with it.
#[derive(Debug, thiserror::Error)]
#[error("record {position} of the page has no usable `{field}` (got {value})")]
pub struct BadRecord {
    pub position: usize,
    pub field: String,
    pub value: String,
}

/// A page ready to publish.
#[derive(Debug, Default)]
pub struct Batch {
    pub messages: Vec<Outgoing>,
    /// Records that alone make a message over `max_message_bytes`: not published, recorded in
    /// `error_log` as bad source records (class `too_large`) while the pass goes on.
    pub oversized: Vec<DeadLetter>,
}

impl Batcher {
    /// The page's messages, stamped `seen` (when the page was read); its values are moved into
    /// them. A record without a version (a NULL `FModifyDate`) travels with an empty one.
    pub fn messages(&self, rows: Rows, seen: i64) -> Result<Batch, BadRecord> {
        let key_at = rows.position(&self.key_field);
        let modified_at = rows.position(&self.modified_field);
        let mut entries = Vec::with_capacity(rows.len());
        for (position, values) in rows.rows.into_iter().enumerate() {
            let field = |at: Option<usize>| at.and_then(|i| values.get(i));
            let bad = |name: &str, at: Option<usize>| BadRecord {
                position,
                field: name.to_owned(),
                value: field(at).map_or_else(|| "nothing".to_owned(), Value::to_string),
            };
            let key = field(key_at)
                .and_then(parse_key)
                .ok_or_else(|| bad(&self.key_field, key_at))?;
            let modified = match field(modified_at) {
                None | Some(Value::Null) => String::new(),
                Some(value) => version_text(value)
                    .ok_or_else(|| bad(&self.modified_field, modified_at))?
                    .to_owned(),
            };
            entries.push(Entry {
                key,
                modified,
                values,
            });
        }
        let envelopes = Envelope::pack(
            &self.job,
            &self.form_id,
            self.run_id,
            seen,
            &rows.fields,
            entries,
            self.records_per_message,
        );
        let headers = Headers::new(&self.job, self.run_id);
        let mut batch = Batch::default();
        for envelope in envelopes {
            self.encode(envelope, &headers, &mut batch);
        }
        Ok(batch)
    }

    /// One envelope as messages under `max_message_bytes`: halved until each half fits.
    fn encode(&self, mut envelope: Envelope, headers: &Headers, batch: &mut Batch) {
        let body = envelope.to_json();
        if body.len() <= self.max_message_bytes {
            batch.messages.push(Outgoing::new(
                self.route.clone(),
                envelope.message_id().to_string(),
                headers.to_table(),
                body,
            ));
            return;
        }
        if envelope.records.len() <= 1 {
            let reason = format!(
                "record of {} bytes exceeds amqp.max_message_bytes ({}); not published",
                body.len(),
                self.max_message_bytes
            );
            let letter = DeadLetter::record(&envelope, 0, headers, DeadClass::TooLarge, reason);
            batch.oversized.push(letter);
            return;
        }
        let back = envelope.records.split_off(envelope.records.len() / 2);
        let second = Envelope {
            records: back,
            ..envelope.subset(&[])
        };
        self.encode(envelope, headers, batch);
        self.encode(second, headers, batch);
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
            route: Route {
                exchange: "k3sync".into(),
                routing_key: "materials".into(),
            },
            key_field: "FMaterialId".into(),
            modified_field: "FModifyDate".into(),
            records_per_message: per_message,
            max_message_bytes: 8 << 20,
        }
    }

    fn rows(rows: Vec<(Value, Value)>) -> Rows {
        Rows {
            fields: vec!["FMaterialId".to_owned(), "FModifyDate".to_owned()],
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
        let messages = batcher(100).messages(page, 5).unwrap().messages;
        let sizes: Vec<usize> = messages
            .iter()
            .map(|m| Envelope::from_json(&m.body).unwrap().records.len())
            .collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        let first = Envelope::from_json(&messages[0].body).unwrap();
        assert_eq!(first.message_id().to_string(), messages[0].message_id);
        assert_eq!(first.records[0].values[0], json!(100_000));
        assert_eq!(
            Headers::from_table(&messages[0].headers),
            Headers::new("materials", Uuid::nil())
        );
        let one = batcher(1)
            .messages(rows(vec![(json!("42"), json!("2024-01-01T00:00:00"))]), 5)
            .unwrap()
            .messages;
        assert_eq!(
            Envelope::from_json(&one[0].body).unwrap().records[0].key,
            42
        );
    }

    #[test]
    fn messages_are_halved_until_each_fits_and_a_record_too_large_alone_is_set_aside() {
        let mut b = batcher(100);
        b.max_message_bytes = 2_000;
        let page = Rows {
            fields: vec!["FMaterialId".into(), "FModifyDate".into(), "FName".into()],
            rows: (0..10)
                .map(|i| {
                    let name = if i == 7 {
                        "x".repeat(5_000)
                    } else {
                        "y".repeat(300)
                    };
                    vec![json!(i), json!("2024-01-01T00:00:00"), json!(name)]
                })
                .collect(),
        };
        let batch = b.messages(page, 5).unwrap();
        let mut keys = Vec::new();
        for m in &batch.messages {
            assert!(m.body.len() <= 2_000, "{}", m.body.len());
            let e = Envelope::from_json(&m.body).unwrap();
            assert_eq!(e.message_id().to_string(), m.message_id);
            keys.extend(e.records.iter().map(|r| r.key));
        }
        assert_eq!(keys, vec![0, 1, 2, 3, 4, 5, 6, 8, 9]);
        assert_eq!(batch.oversized.len(), 1);
        let big = &batch.oversized[0];
        assert_eq!((big.key, big.class), (Some(7), DeadClass::TooLarge));
        assert!(
            big.error.contains("amqp.max_message_bytes (2000)"),
            "{}",
            big.error
        );
    }

    #[test]
    fn a_record_without_a_key_or_with_a_blank_version_fails_the_page_and_names_the_field() {
        let err = batcher(100)
            .messages(rows(vec![(json!(null), json!("2024-01-01T00:00:00"))]), 5)
            .unwrap_err();
        assert_eq!(err.field, "FMaterialId");
        assert_eq!(err.position, 0);
        assert_eq!(err.value, "null");
        // A blank version is refused here exactly as the cursor refuses it.
        let err = batcher(100)
            .messages(
                rows(vec![
                    (json!(1), json!("2024-01-01T00:00:00")),
                    (json!(2), json!(" ")),
                ]),
                5,
            )
            .unwrap_err();
        assert_eq!((err.field.as_str(), err.position), ("FModifyDate", 1));
        // A NULL version (old or imported rows) is no error: the record travels with none.
        let batch = batcher(100)
            .messages(rows(vec![(json!(3), json!(null))]), 5)
            .unwrap();
        let e = Envelope::from_json(&batch.messages[0].body).unwrap();
        assert_eq!(
            (e.records[0].key, e.records[0].modified.as_str(), e.seen),
            (3, "", 5)
        );
    }
}
