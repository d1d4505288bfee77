//! The dead-letter contract, in one place: why a record failed ([`DeadClass`]), the headers
//! every k3sync message carries ([`Headers`]), what a dead letter is ([`DeadLetter`]: the same
//! envelope with one record, or an unreadable body kept verbatim), and the `error_log` rows that
//! record it ([`error_log`]). The worker writes dead letters and ctl reads and replays them; both
//! only call in here.

mod class;
pub mod error_log;
pub mod headers;
mod letter;

pub use class::{DeadClass, UnknownClass};
pub use headers::{Headers, names};
pub use letter::DeadLetter;
