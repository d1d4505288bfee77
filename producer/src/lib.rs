//! The producer: reads a job's records out of Kingdee K3Cloud page by page (keyset paging) and
//! publishes them to RabbitMQ, moving the job's cursor only over what the broker confirmed.

mod backpressure;
mod batch;
mod fetch;
mod leaving;
pub mod outcome;
mod partition;
mod pass;
mod progress;
mod read;
mod reconcile;
pub mod sample;
mod schedule;
mod stamp;
mod stream;
mod tally;
mod window;

pub use pass::{PassError, PassReport, Producer, derive_field_keys};
pub use schedule::run_scheduled;
