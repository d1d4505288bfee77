//! RabbitMQ: the topology both binaries declare, the message envelope they exchange, and the
//! confirmed publisher the producer (and the worker, for dead letters) sends through.

mod connect;
pub mod envelope;
mod fields;
mod publisher;
pub mod topology;

pub use connect::{connect, open_channel};
pub use envelope::{
    Envelope, EnvelopeError, EnvelopeRecord, RowRecord, headers, message_id, rows_to_json,
};
pub use fields::{FieldEnvelope, FieldRecord};
pub use publisher::{Outgoing, PublishError, Publisher};
pub use topology::{Topology, declare};
