//! A dead letter: a record that will never be written as it is, carried alone in the same
//! envelope shape as every other message (so it can be replayed alone), or a body that could not
//! be read, kept verbatim. It goes to the job's dead queue with the reason in its headers.

use uuid::Uuid;

use super::{DeadClass, Headers};
use crate::amqp::{Envelope, Outgoing, Topology};

#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub class: DeadClass,
    pub error: String,
    /// The record's key; `None` for a body that did not decode.
    pub key: Option<i64>,
    pub message_id: String,
    /// The headers of the message the record came in (job, run, attempt).
    pub headers: Headers,
    pub body: Vec<u8>,
}

impl DeadLetter {
    /// Record `index` of `envelope`, alone in an envelope of its own.
    pub fn record(
        envelope: &Envelope,
        index: usize,
        headers: &Headers,
        class: DeadClass,
        error: String,
    ) -> Self {
        let single = envelope.subset(&[index]);
        Self {
            class,
            error,
            key: single.records.first().map(|r| r.key),
            message_id: single.message_id().to_string(),
            headers: Headers {
                run: Some(envelope.run_id.to_string()),
                ..headers.clone()
            },
            body: single.to_json(),
        }
    }

    /// A whole body kept as it came (it does not decode, or is too large to).
    pub fn verbatim(
        body: &[u8],
        message_id: Option<&str>,
        headers: &Headers,
        class: DeadClass,
        error: String,
    ) -> Self {
        Self {
            class,
            error,
            key: None,
            message_id: message_id.map_or_else(|| Uuid::new_v4().to_string(), str::to_owned),
            headers: headers.clone(),
            body: body.to_vec(),
        }
    }

    /// The message that carries it to the job's dead queue.
    pub fn outgoing(&self, topology: &Topology, failed_at: &str, worker: &str) -> Outgoing {
        let headers = self
            .headers
            .dead(self.class, &self.error, failed_at, worker);
        Outgoing::new(
            topology.dead_route(),
            self.message_id.clone(),
            headers.to_table(),
            self.body.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::amqp::Entry;
    use crate::dlq::names;

    #[test]
    fn a_dead_record_travels_alone_with_its_reason_in_the_headers() {
        let envelope = Envelope::new(
            "materials",
            "BD_MATERIAL",
            Uuid::nil(),
            vec!["FMaterialId".into()],
            (1..=3)
                .map(|key| Entry {
                    key,
                    modified: "2024-01-01T00:00:00".into(),
                    values: vec![json!(key)],
                })
                .collect(),
        );
        let headers = Headers {
            attempt: 2,
            ..Headers::new("materials", "ignored")
        };
        let letter = DeadLetter::record(&envelope, 1, &headers, DeadClass::Data, "1406".into());
        let body = Envelope::from_json(&letter.body).unwrap();
        assert_eq!(body.records.len(), 1);
        assert_eq!(body.records[0].key, 2);
        assert_eq!(letter.key, Some(2));
        assert_eq!(letter.message_id, body.message_id().to_string());
        let topology = Topology {
            job: "materials".into(),
            tier_delays_ms: vec![5_000],
            delivery_limit: 20,
            quorum_replicas: 3,
        };
        let out = letter.outgoing(&topology, "2024-01-01T00:00:00Z", "w-1");
        assert_eq!(
            (out.exchange.as_str(), out.routing_key.as_str()),
            ("k3sync.dlx", "materials")
        );
        let read = Headers::from_table(&out.headers);
        assert_eq!(read.class.as_deref(), Some("data"));
        assert_eq!(read.error.as_deref(), Some("1406"));
        assert_eq!(read.attempt, 2);
        assert_eq!(read.run, Some(Uuid::nil().to_string()));
        assert!(out.headers.contains_key(names::WORKER));
    }
}
