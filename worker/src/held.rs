//! A delivery in hand: its headers read, its body decoded and every record mapped once, on
//! receipt, while the previous batch is being written. Field positions are worked out once per
//! message; each record is mapped by position and prepared for the job's sink (a converging
//! job's rows get their stamp). A leave message's records are target keys: nothing to map.

use k3sync_common::amqp::{Envelope, Kind};
use k3sync_common::dlq::{DeadClass, Headers};
use k3sync_common::sink::{Leave, MappedRow, MySqlSink};
use lapin::message::Delivery;

pub struct Held {
    pub delivery: Delivery,
    pub headers: Headers,
    /// The decoded envelope, or why the body is refused as a whole (with its dead-letter class).
    pub body: Result<Envelope, (DeadClass, String)>,
    /// One entry per record of an upsert: its row, or why it is refused (with its dead-letter
    /// class). Taken out (moved, not cloned) when the batch is written. Empty for a leave.
    pub mapped: Vec<Result<MappedRow, (DeadClass, String)>>,
}

impl Held {
    /// `fields`: the mapping's `source_fields`. `max_bytes`: the largest body decoded; a larger
    /// one is refused undecoded, so one message cannot take memory out of proportion to what a
    /// worker is sized for.
    pub fn new(delivery: Delivery, sink: &MySqlSink, fields: &[String], max_bytes: usize) -> Self {
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
            Envelope::from_json(&delivery.data)
                .map_err(|e| (DeadClass::Decode, e.to_string()))
                .and_then(|envelope| match envelope.kind {
                    Kind::Leave if sink.convergence().is_none() => Err((
                        DeadClass::Data,
                        "a leave message for a job without [jobs.leave]: its rows cannot leave"
                            .to_owned(),
                    )),
                    _ => Ok(envelope),
                })
        };
        let mapped = match &body {
            Ok(envelope) if envelope.kind == Kind::Upsert => {
                let positions = envelope.positions(fields);
                envelope
                    .records
                    .iter()
                    .map(|r| {
                        let row = sink
                            .mapping()
                            .apply_row(&positions, &r.values)
                            .map_err(|e| (DeadClass::Mapping, e.to_string()))?;
                        sink.prepare(row, envelope.seen)
                            .map_err(|e| (DeadClass::Data, e.to_string()))
                    })
                    .collect()
            }
            _ => Vec::new(),
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

    /// A leave message (decoded, of a converging job).
    pub fn is_leave(&self) -> bool {
        self.body.as_ref().is_ok_and(|e| e.kind == Kind::Leave)
    }

    /// The leaves of a leave message (its records' target keys at its stamp); none otherwise.
    pub fn leaves(&self) -> Vec<Leave> {
        match &self.body {
            Ok(envelope) if envelope.kind == Kind::Leave => envelope
                .records
                .iter()
                .map(|r| Leave {
                    key: r.key,
                    stamp: envelope.seen,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}
