//! One dead letter as an operator sees it: read from the headers the worker wrote (class, error,
//! attempt, time, worker), or, for a letter the broker dead-lettered itself (delivery limit),
//! from RabbitMQ's `x-death` / `x-first-death-reason` headers.

use chrono::{DateTime, Utc};
use k3sync_common::amqp::Envelope;
use k3sync_common::dlq::headers::{integer, text};
use k3sync_common::dlq::{DeadClass, Headers};
use lapin::message::Delivery;
use lapin::types::{AMQPValue, FieldTable};
use serde::Serialize;
use serde_json::Value;

/// Class of a letter the broker dead-lettered because it was redelivered too often.
pub const DELIVERY_LIMIT: &str = DeadClass::DeliveryLimit.as_str();

/// A dead letter, parsed once when it is taken off the queue.
#[derive(Debug, Clone, Serialize)]
pub struct Letter {
    /// The job whose dead queue holds it.
    pub job: String,
    /// 0-based place in the dead queue when it was read.
    pub position: usize,
    /// The AMQP message id (the record's UUIDv5), the id `dlq show` takes.
    pub id: Option<String>,
    /// `decode`, `mapping`, `data`, `exhausted` (from the worker) or the broker's reason
    /// (`delivery_limit`, …).
    pub class: String,
    pub error: Option<String>,
    /// Record keys in the body (none when the body is not an envelope).
    pub keys: Vec<i64>,
    /// Retry tiers the message had been through when it failed.
    pub attempt: Option<i64>,
    pub failed_at: Option<DateTime<Utc>>,
    pub worker: Option<String>,
    pub run: Option<String>,
    /// How often the broker dead-lettered it (`x-death` count), for broker letters.
    pub deaths: Option<i64>,
    #[serde(skip)]
    pub body: Vec<u8>,
    #[serde(skip)]
    pub headers: FieldTable,
}

impl Letter {
    pub fn from_delivery(job: &str, position: usize, delivery: &Delivery) -> Self {
        let headers = delivery.properties.headers().clone().unwrap_or_default();
        let ours = Headers::from_table(&headers);
        let death = first_death(&headers);
        let class = ours
            .class
            .clone()
            .or_else(|| text(&headers, "x-first-death-reason"))
            .or_else(|| death.and_then(|d| text(d, "reason")))
            .unwrap_or_else(|| DeadClass::Unknown.as_str().to_owned());
        let failed_at = ours
            .failed_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .or_else(|| death.and_then(death_time));
        let keys = Envelope::from_json(&delivery.data)
            .map(|e| e.records.iter().map(|r| r.key).collect())
            .unwrap_or_default();
        let attempt = headers
            .contains_key(k3sync_common::dlq::names::ATTEMPT)
            .then_some(i64::from(ours.attempt));
        Self {
            job: job.to_owned(),
            position,
            id: delivery
                .properties
                .message_id()
                .as_ref()
                .map(|m| m.to_string()),
            class,
            error: ours.error,
            keys,
            attempt,
            failed_at,
            worker: ours.worker,
            run: ours.run,
            deaths: death.and_then(|d| integer(d, "count")),
            body: delivery.data.clone(),
            headers,
        }
    }

    pub fn age_secs(&self, now: DateTime<Utc>) -> Option<f64> {
        self.failed_at
            .map(|t| (now - t).num_milliseconds() as f64 / 1000.0)
    }

    /// The body as JSON when it is JSON (an envelope, normally), else as text.
    pub fn body_value(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into_owned()))
    }

    /// Drops the body and headers once the letter is dealt with (summaries keep only the facts).
    pub fn forget_payload(&mut self) {
        self.body = Vec::new();
        self.headers = FieldTable::default();
    }
}

/// The most recent `x-death` entry (RabbitMQ keeps them newest first).
fn first_death(table: &FieldTable) -> Option<&FieldTable> {
    match table.inner().get("x-death")? {
        AMQPValue::FieldArray(entries) => entries.as_slice().iter().find_map(|e| match e {
            AMQPValue::FieldTable(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

fn death_time(death: &FieldTable) -> Option<DateTime<Utc>> {
    match death.inner().get("time")? {
        AMQPValue::Timestamp(secs) => DateTime::from_timestamp(i64::try_from(*secs).ok()?, 0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k3sync_common::dlq::names;
    use lapin::BasicProperties;
    use lapin::types::FieldArray;

    fn delivery(headers: FieldTable, body: &[u8]) -> Delivery {
        let properties = BasicProperties::default()
            .with_message_id("m-1".into())
            .with_headers(headers);
        let mut d = Delivery::mock(1, "k3sync.dlx".into(), "job".into(), false, body.to_vec());
        d.properties = properties;
        d
    }

    fn long(s: &str) -> AMQPValue {
        AMQPValue::LongString(s.into())
    }

    #[test]
    fn a_worker_letter_is_read_from_our_headers() {
        let mut h = FieldTable::default();
        h.insert(names::ERROR_CLASS.into(), long("data"));
        h.insert(
            names::ERROR.into(),
            long("22001: Data too long for column 'code' at row 1"),
        );
        h.insert(names::ATTEMPT.into(), AMQPValue::LongLongInt(2));
        h.insert(names::FAILED_AT.into(), long("2024-03-12T09:32:21.125Z"));
        h.insert(names::WORKER.into(), long("host-42"));
        let body = br#"{"v":2,"job":"j","form_id":"BD_MATERIAL","run_id":"6f1c5b7e-1d7a-4c1e-9a43-2d7c8f0b9e11","fields":["FNumber"],"records":[{"key":7,"modified":"2024-01-01T00:00:00","values":["x"]}]}"#;
        let letter = Letter::from_delivery("j", 3, &delivery(h, body));
        assert_eq!(letter.class, "data");
        assert_eq!(letter.keys, vec![7]);
        assert_eq!(letter.attempt, Some(2));
        assert_eq!(letter.id.as_deref(), Some("m-1"));
        assert_eq!(letter.worker.as_deref(), Some("host-42"));
        assert_eq!(
            letter.failed_at.map(|t| t.timestamp_millis()),
            Some(1_710_235_941_125)
        );
        assert_eq!(letter.body_value()["records"][0]["key"], 7);
    }

    #[test]
    fn a_letter_the_broker_dead_lettered_shows_the_delivery_limit_class() {
        let mut death = FieldTable::default();
        death.insert("reason".into(), long("delivery_limit"));
        death.insert("count".into(), AMQPValue::LongLongInt(1));
        death.insert("time".into(), AMQPValue::Timestamp(1_710_235_941));
        let mut h = FieldTable::default();
        h.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(death)])),
        );
        h.insert("x-first-death-reason".into(), long("delivery_limit"));
        let letter = Letter::from_delivery("j", 0, &delivery(h, b"not json"));
        assert_eq!(letter.class, DELIVERY_LIMIT);
        assert_eq!(letter.deaths, Some(1));
        assert_eq!(letter.failed_at.map(|t| t.timestamp()), Some(1_710_235_941));
        assert!(letter.keys.is_empty());
        assert_eq!(letter.body_value(), Value::String("not json".into()));
    }

    #[test]
    fn a_letter_without_any_headers_is_unknown() {
        let letter = Letter::from_delivery("j", 0, &delivery(FieldTable::default(), b"{}"));
        assert_eq!(letter.class, "unknown");
        assert_eq!(letter.failed_at, None);
    }
}
