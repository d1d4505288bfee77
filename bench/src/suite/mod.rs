//! The benchmarks (producer alone, one worker, end to end, convergence, partitions) and what the first
//! three share: the raw reference run on a copy of the target table.

pub mod converge;
pub mod e2e;
pub mod partitions;
pub mod producer;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use anyhow::ensure;
use k3sync_common::sink::MappedRow;
use serde_json::Value;

use crate::cpu::Ledger;
use crate::world::World;
use crate::{machine, raw, rows};

/// Rows per raw statement: the worker's `batch_size`.
pub const RAW_BATCH: usize = 1000;

/// Upserts `rows` into an empty copy of the target table over `connections` connections;
/// returns the seconds from the first statement to the last commit, and the CPU account.
pub async fn raw_reference(
    world: &World,
    rows: Arc<Vec<MappedRow>>,
    connections: usize,
) -> anyhow::Result<(f64, Value)> {
    let table = format!("{}_raw{connections}", world.table());
    raw::create_copy(&world.pool, &table, world.table()).await?;
    let mapping = rows::mapping_for(&world.settings, &table)?;
    let job = &world.settings.jobs[0];
    let (upsert, rows) = raw::as_the_sink_writes(&job.name, job.leave.as_ref(), &mapping, rows)?;
    machine::settle("raw reference", Duration::from_secs(120)).await;
    let ledger = Ledger::open(&[]);
    let took = raw::upsert(
        &world.settings.mysql,
        upsert,
        Arc::clone(&rows),
        connections,
        RAW_BATCH,
    )
    .await?;
    let cpu = ledger.close(&[]);
    let written = world.count(&table).await?;
    ensure!(written > 0, "the raw reference wrote nothing");
    tracing::info!(
        connections,
        rows = rows.len(),
        table_rows = written,
        seconds = took.as_secs_f64(),
        "Raw reference done"
    );
    Ok((took.as_secs_f64(), cpu))
}
