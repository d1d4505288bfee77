//! The worker: consumes a job's work queue, maps each record with the job's declarative mapping,
//! upserts batches into MySQL and acknowledges only what is committed (or safely handed on to a
//! retry tier or the dead-letter queue).

mod consume;
mod dead_letter;
mod held;
mod process;
mod setup;

pub use consume::run_job;
pub use dead_letter::worker_id;
pub use process::{BatchOutcome, process_batch};
pub use setup::{JobContext, prepare};
