//! A delivery in hand: its headers read, its body decoded and every record mapped once, on
//! receipt, while the previous batch is being written. Field positions are worked out once per
//! message; each record is mapped by position.

use k3sync_common::amqp::Envelope;
use k3sync_common::dlq::{DeadClass, Headers};
use k3sync_common::mapping::CompiledMapping;
use k3sync_common::sink::MappedRow;
use lapin::message::Delivery;

pub struct Held {
    pub delivery: Delivery,
    pub headers: Headers,
    /// The decoded envelope, or why the body is refused as a whole (with its dead-letter class).
    pub body: Result<Envelope, (DeadClass, String)>,
    /// One entry per record of the envelope: its row, or why the mapping refused it. Taken out
    /// (moved, not cloned) when the batch is written.
    pub mapped: Vec<Result<MappedRow, String>>,
}

impl Held {
    /// `fields`: the mapping's [`CompiledMapping::source_fields`]. `max_bytes`: the largest body
    /// decoded; a larger one is refused undecoded, so one message cannot take memory out of
    /// proportion to what a worker is sized for.
    pub fn new(
        delivery: Delivery,
        mapping: &CompiledMapping,
        fields: &[String],
        max_bytes: usize,
    ) -> Self {
        let headers = delivery
            .properties
            .headers()
            .as_ref()
            .map(Headers::from_table)
            .unwrap_or_default();
        let size = delivery.data.len();
        let body = if size > max_bytes {
            Err((
                DeadClass::TooLarge,
                format!(
                    "message of {size} bytes exceeds worker.max_message_bytes ({max_bytes}); not decoded"
                ),
            ))
        } else {
            Envelope::from_json(&delivery.data).map_err(|e| (DeadClass::Decode, e.to_string()))
        };
        let mapped = match &body {
            Ok(envelope) => {
                let positions = envelope.positions(fields);
                envelope
                    .records
                    .iter()
                    .map(|r| {
                        mapping
                            .apply_row(&positions, &r.values)
                            .map_err(|e| e.to_string())
                    })
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        Self {
            delivery,
            headers,
            body,
            mapped,
        }
    }

    /// Records carried (a refused message counts as one).
    pub fn records(&self) -> usize {
        self.body.as_ref().map_or(1, |e| e.records.len().max(1))
    }
}
