//! The MySQL end of the pipeline: mapped rows go into the job's target table with batched,
//! version-guarded upserts sized to the server's `max_allowed_packet`; a converging job's leaves
//! delete or mark rows under the same guard; database errors are classified once, here.

mod bind;
mod classify;
mod converge;
mod failure;
#[cfg(test)]
mod fixtures;
mod leave;
mod session;
pub mod size;
mod upsert;
mod writer;

pub use classify::{PACKET_TOO_LARGE, WriteErrorClass, classify, is_unavailable};
pub use converge::{Convergence, ConvergenceError, NotIntegerKey, target_key};
pub use failure::{RowFailure, RowFailureKind};
pub use leave::{Leave, LeaveSql};
pub use upsert::UpsertSql;
pub use writer::{MappedRow, MySqlSink, SinkStats, WriteError};
