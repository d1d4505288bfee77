//! k3sync's library: everything the binaries do, in pieces that tests can drive step by step.
//! `record` (the record and its field, date and key rules), settings, mapping and state sit at
//! the bottom; the Kingdee client, the AMQP envelope and topology, the dead-letter contract and
//! the MySQL sink build on them; the binaries only parse flags and call in here. No module
//! calls back up.
//!
//! The walk of one record, with every shape it takes (six, from Kingdee's JSON to the bound
//! statement):
//! 1. Kingdee's JSON answer (the producer asks for it with
//!    [`kingdee::KingdeeClient::execute_bill_query`]) →
//! 2. [`record::Rows`]: the FieldKeys once, each row an array of values →
//! 3. [`amqp::Envelope`]: the producer moves each row's values into an [`amqp::Entry`] (key and
//!    version read by [`record::parse_key`] and [`record::version_text`]) →
//! 4. the envelope's JSON bytes on the work queue: the one message shape, also of retries, dead
//!    letters and replays → back into the same [`amqp::Envelope`] in the worker, which works out
//!    once per message where each mapped field sits ([`amqp::Envelope::positions`]) →
//! 5. [`sink::MappedRow`] (a `Vec<mapping::SqlValue>`), each record mapped by position →
//! 6. [`sink::MySqlSink`]'s one multi-row upsert statement with every value bound.
//!
//! Four modules of `common` do the walking — `kingdee`, `amqp`, `mapping`, `sink` — with the
//! producer and worker binaries, all on the types and rules of `record`, which calls nothing.
//!
//! What cannot be written is settled by the worker's plan: retried as a smaller
//! [`amqp::Envelope`], or dead-lettered as a [`dlq::DeadLetter`] of one record. A row that
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
