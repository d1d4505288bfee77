//! The MySQL end of the pipeline: mapped rows go into the job's target table with batched,
//! version-guarded upserts; database errors are classified once, here.

mod bind;
mod classify;
mod upsert;
mod writer;

pub use classify::{WriteErrorClass, classify, is_unavailable};
pub use upsert::UpsertSql;
pub use writer::{MappedRow, MySqlSink, RowFailure, WriteError};
