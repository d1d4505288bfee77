//! RabbitMQ: the topology both binaries declare, the one message envelope they exchange, and the
//! confirmed publisher the producer (and the worker, for retries and dead letters) sends through.

mod connect;
pub mod envelope;
mod publisher;
pub mod topology;

pub use connect::{ConnectError, connect, open_channel};
pub use envelope::{Entry, Envelope, EnvelopeError, Kind};
pub use publisher::{Outgoing, PublishError, Publisher};
pub use topology::{Route, Topology, declare};
