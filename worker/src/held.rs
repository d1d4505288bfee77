//! A delivery in hand: decoded once on receipt (so the batch can count records), with the
//! attempt number it carries.

use k3sync_common::amqp::{Envelope, EnvelopeError, headers};
use lapin::message::Delivery;
use lapin::types::AMQPValue;

pub struct Held {
    pub delivery: Delivery,
    /// How many retry tiers the message has been through (0 on first delivery).
    pub attempt: u32,
    pub envelope: Result<Envelope, EnvelopeError>,
}

impl Held {
    pub fn new(delivery: Delivery) -> Self {
        let attempt = attempt_of(&delivery);
        let envelope = Envelope::from_json(&delivery.data);
        Self {
            delivery,
            attempt,
            envelope,
        }
    }

    /// Records carried (an undecodable message counts as one).
    pub fn records(&self) -> usize {
        self.envelope.as_ref().map_or(1, |e| e.records.len().max(1))
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
