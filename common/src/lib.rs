//! k3sync's library: everything the binaries do, in pieces that tests can drive step by step.
//! Settings, mapping and state sit at the bottom; the Kingdee client, the AMQP topology and the
//! MySQL sink build on them; the binaries only parse flags and call in here.

pub mod amqp;
pub mod cli;
pub mod db;
mod error;
pub use error::error_chain;
pub mod health;
pub mod kingdee;
pub mod mapping;
pub mod settings;
pub mod shutdown;
pub mod sink;
pub mod state;
pub mod telemetry;
