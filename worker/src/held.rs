//! A delivery in hand: decoded and mapped once, on receipt, while the previous batch is being
//! written; it carries the attempt number from its headers. Only the fields the mapping reads
//! are decoded; the whole envelope is decoded again from the body on the rare paths that need
//! it (dead letters, retries).

use std::sync::OnceLock;

use k3sync_common::amqp::{Envelope, EnvelopeError, FieldEnvelope, headers};
use k3sync_common::mapping::CompiledMapping;
use k3sync_common::sink::MappedRow;
use lapin::message::Delivery;
use lapin::types::AMQPValue;

pub struct Held {
    pub delivery: Delivery,
    /// How many retry tiers the message has been through (0 on first delivery).
    pub attempt: u32,
    pub envelope: Result<FieldEnvelope, EnvelopeError>,
    /// One entry per record of the envelope: its row, or why the mapping refused it. Taken out
    /// (moved, not cloned) when the batch is written.
    pub mapped: Vec<Result<MappedRow, String>>,
    full: OnceLock<Option<Envelope>>,
}

impl Held {
    /// `fields`: the mapping's [`CompiledMapping::source_fields`].
    pub fn new(delivery: Delivery, mapping: &CompiledMapping, fields: &[String]) -> Self {
        let attempt = attempt_of(&delivery);
        let envelope = FieldEnvelope::from_json(&delivery.data, fields);
        let mapped = match &envelope {
            Ok(envelope) => envelope
                .records
                .iter()
                .map(|r| mapping.apply_values(&r.values).map_err(|e| e.to_string()))
                .collect(),
            Err(_) => Vec::new(),
        };
        Self {
            delivery,
            attempt,
            envelope,
            mapped,
            full: OnceLock::new(),
        }
    }

    /// Records carried (an undecodable message counts as one).
    pub fn records(&self) -> usize {
        self.envelope.as_ref().map_or(1, |e| e.records.len().max(1))
    }

    /// The whole envelope, every field of every record (decoded once, when first asked for).
    /// `None` only for a body that did not decode in the first place.
    pub fn full(&self) -> Option<&Envelope> {
        self.full
            .get_or_init(|| Envelope::from_json(&self.delivery.data).ok())
            .as_ref()
    }
}

/// The `x-k3sync-attempt` header; absent or unreadable counts as the first attempt.
pub fn attempt_of(delivery: &Delivery) -> u32 {
    let Some(table) = delivery.properties.headers() else {
        return 0;
    };
    match table.inner().get(headers::ATTEMPT) {
        Some(AMQPValue::LongLongInt(n)) => u32::try_from(*n).unwrap_or(0),
        Some(AMQPValue::LongInt(n)) => u32::try_from(*n).unwrap_or(0),
        Some(AMQPValue::LongUInt(n)) => *n,
        Some(AMQPValue::ShortInt(n)) => u32::try_from(*n).unwrap_or(0),
        Some(AMQPValue::ShortShortInt(n)) => u32::try_from(*n).unwrap_or(0),
        Some(AMQPValue::LongString(s)) => s.to_string().parse().unwrap_or(0),
        _ => 0,
    }
}
