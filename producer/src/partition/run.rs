//! A partitioned full pass at work: plans (or resumes) the partitions, keeps up to
//! `kingdee.max_in_flight` of them reading at once, and splits a lagging one for an idle reader.
//! The rules are in the module doc ([`super`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use k3sync_common::record::Cursor;
use k3sync_common::state::{self, RunStatus, StoredPartition};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::table::{Lane, Table};
use super::{PREFIX, name, split_range};
use crate::fetch::FetchError;
use crate::pass::{PassError, Producer};
use crate::read::{Checkpoint, Reader};

/// The first failure is the pass's; it stops the other readers after their current page.
fn fail(outcome: &mut Result<RunStatus, PassError>, error: PassError, stop: &CancellationToken) {
    if outcome.is_ok() {
        *outcome = Err(error);
    }
    stop.cancel();
}

impl Producer {
    /// Reads the `full` stream of `reader` as partitions ([`super`]); with one reader and no
    /// partitioned pass to resume, as the one stream it always was.
    pub(crate) async fn read_partitioned(
        &self,
        reader: &Reader<'_>,
    ) -> Result<RunStatus, PassError> {
        let (job, pass) = (reader.job, &reader.stream.cursor);
        let run_id = reader.tally.run_id();
        let readers = self.settings.kingdee.max_in_flight.max(1);
        let saved = state::load_cursor(&self.pool, &job.name, pass).await?;
        let (stored, open) = saved.unwrap_or((Cursor::Start, false));
        // Partition rows count only while the pass is open. An open pass with none of them open
        // (resumed as one stream since, or killed between its last partition and its close) is
        // planned anew from its cursor, the low watermark.
        let partitions = if open {
            state::load_partitions(&self.pool, &job.name, PREFIX).await?
        } else {
            Vec::new()
        };
        let resumable = partitions.iter().any(|p| p.open);
        if readers == 1 && !resumable {
            return self.read_stream(reader).await;
        }
        let span = self.key_span(reader).await?;
        let table = if resumable {
            tracing::info!(job = %job.name, partitions = partitions.len(), readers, "Full pass resuming its partitions");
            Table::new(pass, stored, partitions, span)
        } else {
            let stored = if open { stored } else { Cursor::Start };
            let after = stored.key();
            let planned: Vec<StoredPartition> = split_range(after, span, readers)
                .into_iter()
                .zip(1..)
                .map(|(range, id)| StoredPartition {
                    name: name(id),
                    cursor: Cursor::after(range.after),
                    until: range.until,
                    open: true,
                })
                .collect();
            state::plan_partitions(
                &self.pool, &job.name, pass, &stored, PREFIX, &planned, run_id,
            )
            .await?;
            tracing::info!(job = %job.name, partitions = planned.len(), readers, span = ?span, "Full pass partitioned");
            Table::new(pass, stored, planned, span)
        };
        let table = Arc::new(Mutex::new(table));
        let status = self.read_lanes(reader, &table, readers).await?;
        if status != RunStatus::Succeeded {
            return Ok(status);
        }
        let reached = {
            let table = table.lock().await;
            let (partitions, splits) = table.counts();
            tracing::info!(job = %job.name, splits, partitions, "Full pass read every partition");
            table.highest()
        };
        state::store_cursor(&self.pool, &job.name, pass, &reached, false, run_id).await?;
        Ok(RunStatus::Succeeded)
    }

    /// Keeps up to `readers` partitions reading until none is left; the first failure stops the
    /// others after their current page and is the pass's. The readers run in this one task:
    /// they are polled while a partition is found or split, for a split waits for a pooled
    /// connection that a reader may hold mid-store.
    async fn read_lanes(
        &self,
        reader: &Reader<'_>,
        table: &Arc<Mutex<Table>>,
        readers: usize,
    ) -> Result<RunStatus, PassError> {
        type Next<'f> = Pin<Box<dyn Future<Output = Result<Option<Lane>, PassError>> + Send + 'f>>;
        enum Event {
            Found(Result<Option<Lane>, PassError>),
            Ended(Result<RunStatus, PassError>),
        }
        let stop = reader.cancel.child_token();
        let lane_reader = Reader {
            cancel: &stop,
            ..*reader
        };
        let mut running = FuturesUnordered::new();
        let mut outcome = Ok(RunStatus::Succeeded);
        let mut finding: Option<Next<'_>> = None;
        // Nothing to hand out until a reader ends (then a split may be due).
        let mut exhausted = false;
        loop {
            if finding.is_none()
                && !exhausted
                && matches!(outcome, Ok(RunStatus::Succeeded))
                && !stop.is_cancelled()
                && running.len() < readers
            {
                finding = Some(Box::pin(self.next_lane(reader, table)));
            }
            if finding.is_none() && running.is_empty() {
                break;
            }
            let event = tokio::select! {
                found = async {
                    match finding.as_mut() {
                        Some(next) => next.await,
                        None => std::future::pending().await,
                    }
                } => Event::Found(found),
                Some(ended) = running.next(), if !running.is_empty() => Event::Ended(ended),
            };
            match event {
                Event::Found(found) => {
                    finding = None;
                    match found {
                        Ok(Some(lane)) => running.push(self.read_lane(lane_reader, lane)),
                        Ok(None) => exhausted = true,
                        Err(e) => fail(&mut outcome, e, &stop),
                    }
                }
                Event::Ended(ended) => {
                    exhausted = false;
                    match ended {
                        Ok(status) if matches!(outcome, Ok(RunStatus::Succeeded)) => {
                            outcome = Ok(status);
                        }
                        Ok(_) => {}
                        Err(e) => fail(&mut outcome, e, &stop),
                    }
                }
            }
        }
        outcome
    }

    async fn read_lane(&self, reader: Reader<'_>, lane: Lane) -> Result<RunStatus, PassError> {
        let start = lane.start.clone();
        self.read_from(&reader, start, Checkpoint::Partition(&lane))
            .await
    }

    /// An unread partition, else the upper half of the widest one being read (stored before
    /// anyone reads it), else none.
    async fn next_lane(
        &self,
        reader: &Reader<'_>,
        table: &Arc<Mutex<Table>>,
    ) -> Result<Option<Lane>, PassError> {
        // Held across the split's transaction: the partition being cut claims nothing meanwhile.
        let mut guard = table.lock().await;
        if let Some(lane) = guard.take_unread(table) {
            return Ok(Some(lane));
        }
        let min_width = i64::from(reader.job.page_size).saturating_mul(2);
        let Some(split) = guard.plan_split(min_width) else {
            return Ok(None);
        };
        state::split_partition(
            &self.pool,
            &reader.job.name,
            &split.lower_name,
            split.at,
            &split.upper,
            reader.tally.run_id(),
        )
        .await?;
        tracing::info!(job = %reader.job.name, partition = %split.lower_name, at = split.at,
            new = %split.upper.name, until = ?split.upper.until, "Partition split for an idle reader");
        Ok(Some(guard.apply_split(split, table)))
    }

    /// The lowest and highest key under the stream's filter: two one-row queries.
    async fn key_span(&self, reader: &Reader<'_>) -> Result<Option<(i64, i64)>, PassError> {
        let (job, stream) = (reader.job, reader.stream);
        let mut ends = Vec::with_capacity(2);
        for query in [
            stream.keyset.earliest(&job.form_id, &stream.filter),
            stream.keyset.latest(&job.form_id, &stream.filter),
        ] {
            let rows = self.query_once(&query).await?;
            if rows.rows.is_empty() {
                return Ok(None);
            }
            let end = stream.keyset.advance(&rows, 0);
            let Some(key) = end.map_err(FetchError::outside)?.key() else {
                return Ok(None);
            };
            ends.push(key);
        }
        Ok(Some((ends[0], ends[1])))
    }
}
