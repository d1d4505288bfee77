//! k3sync's library: everything the binaries do, in pieces that tests can drive step by step.
//! `record` (the record and its field, date and key rules), settings, mapping and state sit at
//! the bottom; the Kingdee client, the AMQP envelope and topology, the dead-letter contract and
//! the MySQL sink build on them; the binaries only parse flags and call in here. No module
//! calls back up.
//!
//! The walk of one record, with every shape it takes:
//! 1. Kingdee's JSON answer → [`record::Rows`]: the FieldKeys once, each row an array of values
//!    (`kingdee::KingdeeClient::execute_bill_query_rows`).
//! 2. The producer moves each row's values into an [`amqp::Entry`] (key and version pulled out by
//!    [`record::parse_key`] and [`record::version_text`]) and packs them into
//!    [`amqp::Envelope`]s, which travel as JSON bytes — the one message shape, also of retries,
//!    dead letters and replays.
//! 3. The worker decodes the bytes back into the same [`amqp::Envelope`], works out once per
//!    message where each mapped field sits ([`amqp::Envelope::positions`]), and maps every record
//!    by position into a [`sink::MappedRow`] (a `Vec<mapping::SqlValue>`).
//! 4. [`sink::MySqlSink`] binds the rows into one multi-row upsert statement.
//!
//! What cannot be written is settled by the worker's plan: retried as a smaller
//! [`amqp::Envelope`], or dead-lettered as an [`dlq::DeadLetter`] of one record. A row that
//! leaves Kingdee's view (convergence) walks the same way as the same envelope, of kind
//! [`amqp::Kind::Leave`], holding target keys only; the sink marks or deletes those rows.

pub mod amqp;
pub mod backoff;
pub mod cli;
pub mod db;
pub mod dlq;
mod error;
pub use error::error_chain;
pub mod health;
pub mod kingdee;
pub mod mapping;
pub mod monitoring;
pub mod record;
pub mod settings;
pub mod shutdown;
pub mod sink;
pub mod state;
pub mod telemetry;
