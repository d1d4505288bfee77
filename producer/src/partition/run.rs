//! A partitioned full pass at work: plans (or resumes) the partitions, keeps up to
//! `kingdee.max_in_flight` of them reading at once, and splits a lagging one for an idle reader.
//! The rules are in the module doc ([`super`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use k3sync_common::record::{Cursor, Rows, parse_key};
use k3sync_common::state::{self, RunStatus, StoredPartition};
use sqlx::MySqlPool;
use tokio::sync::Mutex;
use uuid::Uuid;

use super::{PREFIX, Remaining, id_of, name, pick_split, split_range};
use crate::fetch::FetchError;
use crate::pass::{PassError, Producer};
use crate::read::{Checkpoint, Reader};

/// `Part::until` of a partition with no upper bound.
const UNBOUNDED: i64 = i64::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Unread,
    Reading,
    Done,
}

struct Part {
    id: u32,
    name: String,
    /// The stored cursor: keys up to it are confirmed.
    cursor: Cursor,
    /// The highest key handed to the publisher.
    claimed: Option<i64>,
    /// Upper key bound (inclusive), [`UNBOUNDED`] for none; the fetcher reads it too.
    until: Arc<AtomicI64>,
    status: Status,
}

/// Every partition of the pass, under one lock: a split holds it while its transaction runs,
/// so the partition it cuts claims no key past the split point after it, and lowers the bound
/// only once the split is stored, so that partition cannot close on the lowered bound before.
struct Table {
    /// The pass's own row (`full`).
    pass: String,
    parts: Vec<Part>,
    /// The pass's row's cursor as last written ([`Table::watermark`]).
    watermark: Cursor,
    /// The key range found at the start of the pass (`None`: no row).
    span: Option<(i64, i64)>,
    next_id: u32,
    splits: u32,
}

impl Table {
    fn new(
        pass: &str,
        watermark: Cursor,
        stored: Vec<StoredPartition>,
        span: Option<(i64, i64)>,
    ) -> Self {
        let parts: Vec<Part> = stored
            .into_iter()
            .map(|p| Part {
                id: id_of(&p.name).unwrap_or(0),
                name: p.name,
                cursor: p.cursor,
                claimed: None,
                until: Arc::new(AtomicI64::new(p.until.unwrap_or(UNBOUNDED))),
                status: if p.open { Status::Unread } else { Status::Done },
            })
            .collect();
        let next_id = parts.iter().map(|p| p.id).max().unwrap_or(0) + 1;
        Self {
            pass: pass.to_owned(),
            parts,
            watermark,
            span,
            next_id,
            splits: 0,
        }
    }

    /// Every key up to it is confirmed: the cursor of the lowest partition still open (the
    /// ranges are disjoint, so the lowest is the one with the lowest bound), or the highest
    /// cursor once none is. A stale value is still true, so writes may land out of order.
    fn watermark(&self) -> Cursor {
        let lowest_open = self
            .parts
            .iter()
            .filter(|p| p.status != Status::Done)
            .min_by_key(|p| p.until.load(Ordering::Acquire));
        match lowest_open {
            Some(part) => part.cursor.clone(),
            None => self.highest(),
        }
    }

    /// The highest cursor of any partition.
    fn highest(&self) -> Cursor {
        self.parts
            .iter()
            .filter_map(|p| match p.cursor {
                Cursor::Key { key } => Some(key),
                _ => None,
            })
            .max()
            .map_or(Cursor::Start, |key| Cursor::Key { key })
    }

    fn part(&mut self, id: u32) -> Option<&mut Part> {
        self.parts.iter_mut().find(|p| p.id == id)
    }

    /// What each partition being read has left, for [`pick_split`].
    fn remaining(&self) -> Vec<Remaining> {
        let Some((lowest, highest)) = self.span else {
            return Vec::new();
        };
        self.parts
            .iter()
            .filter(|p| p.status == Status::Reading)
            .map(|p| {
                let confirmed = match p.cursor {
                    Cursor::Key { key } => key,
                    _ => lowest.saturating_sub(1),
                };
                let until = p.until.load(Ordering::Acquire);
                Remaining {
                    id: p.id,
                    from: confirmed.max(p.claimed.unwrap_or(i64::MIN)),
                    until: if until == UNBOUNDED { highest } else { until },
                }
            })
            .collect()
    }
}

/// One partition handed to a reader.
pub(crate) struct Lane {
    id: u32,
    name: String,
    start: Cursor,
    until: Arc<AtomicI64>,
    table: Arc<Mutex<Table>>,
}

impl Lane {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its upper key bound now (`None`: none).
    pub fn bound(&self) -> Option<i64> {
        Some(self.until.load(Ordering::Acquire)).filter(|&until| until != UNBOUNDED)
    }

    /// The bound the fetcher narrows each request to ([`UNBOUNDED`]: none).
    pub fn until(&self) -> Arc<AtomicI64> {
        Arc::clone(&self.until)
    }

    /// Keeps the rows of a page within the partition's bound and marks them handed to the
    /// publisher; true when the page reached the bound (the partition is read to its end).
    pub async fn claim(&self, key_field: &str, mut records: Rows) -> (Rows, bool) {
        let mut table = self.table.lock().await;
        let until = self.until.load(Ordering::Acquire);
        let Some(at) = records.position(key_field) else {
            return (records, false);
        };
        let before = records.rows.len();
        records
            .rows
            .retain(|row| row.get(at).and_then(parse_key).is_none_or(|k| k <= until));
        let dropped = before - records.rows.len();
        let top = records
            .rows
            .iter()
            .filter_map(|row| row.get(at).and_then(parse_key))
            .max();
        if dropped > 0 {
            tracing::info!(partition = %self.name, until, dropped, "Rows past a lowered partition bound dropped");
        }
        if let (Some(top), Some(part)) = (top, table.part(self.id)) {
            part.claimed = Some(part.claimed.map_or(top, |c| c.max(top)));
        }
        (records, dropped > 0 || top.is_some_and(|top| top >= until))
    }

    /// Stores the partition's cursor after a confirmed page (closed once `last`).
    pub async fn store(
        &self,
        pool: &MySqlPool,
        job: &str,
        cursor: &Cursor,
        last: bool,
        run_id: Uuid,
    ) -> Result<(), sqlx::Error> {
        // Not under the lock: the split of this partition only lowers `cursor_until`, another
        // column, and a lane holds the lock across no await (the readers share one task).
        state::store_cursor(pool, job, &self.name, cursor, !last, run_id).await?;
        let moved = {
            let mut table = self.table.lock().await;
            if let Some(part) = table.part(self.id) {
                part.cursor = cursor.clone();
                if last {
                    part.status = Status::Done;
                }
            }
            let watermark = table.watermark();
            (watermark != table.watermark).then(|| {
                table.watermark = watermark.clone();
                (table.pass.clone(), watermark)
            })
        };
        // The pass's row follows the lowest open partition: what a reader of `sync_state` (or a
        // pass resumed as one stream) can rely on.
        if let Some((pass, watermark)) = moved {
            state::store_cursor(pool, job, &pass, &watermark, true, run_id).await?;
        }
        Ok(())
    }
}

impl Producer {
    /// Reads the `full` stream of `reader` as partitions ([`super`]); with one reader and no
    /// partitioned pass to resume, as the one stream it always was.
    pub(crate) async fn read_partitioned(
        &self,
        reader: &Reader<'_>,
    ) -> Result<RunStatus, PassError> {
        let job = reader.job;
        let stream = reader.stream;
        let run_id = reader.tally.run_id();
        let readers = self.settings.kingdee.max_in_flight.max(1);
        let saved = state::load_cursor(&self.pool, &job.name, &stream.cursor).await?;
        let (stored, open) = saved.unwrap_or((Cursor::Start, false));
        // Partition rows belong to the open pass only; a pass whose partitions are all closed
        // but which is still open was resumed as one stream since.
        let partitions = if open {
            state::load_partitions(&self.pool, &job.name, PREFIX).await?
        } else {
            Vec::new()
        };
        let resumable = partitions.iter().any(|p| p.open);
        if readers == 1 && !resumable {
            return self
                .read_stream(
                    job,
                    stream,
                    reader.stamps,
                    reader.progress,
                    reader.tally,
                    reader.cancel,
                )
                .await;
        }
        let span = self.key_span(reader).await?;
        let table = if resumable {
            tracing::info!(job = %job.name, partitions = partitions.len(), readers, "Full pass resuming its partitions");
            Table::new(&stream.cursor, stored, partitions, span)
        } else {
            let stored = if open { stored } else { Cursor::Start };
            let after = match stored {
                Cursor::Key { key } | Cursor::Timed { key, .. } => Some(key),
                Cursor::Start => None,
            };
            let planned: Vec<StoredPartition> = split_range(after, span, readers)
                .into_iter()
                .zip(1..)
                .map(|(range, id)| StoredPartition {
                    name: name(id),
                    cursor: range.after.map_or(Cursor::Start, |key| Cursor::Key { key }),
                    until: range.until,
                    open: true,
                })
                .collect();
            state::plan_partitions(
                &self.pool,
                &job.name,
                &stream.cursor,
                &stored,
                PREFIX,
                &planned,
                run_id,
            )
            .await?;
            tracing::info!(job = %job.name, partitions = planned.len(), readers, span = ?span, "Full pass partitioned");
            Table::new(&stream.cursor, stored, planned, span)
        };
        let table = Arc::new(Mutex::new(table));
        let status = self.read_lanes(reader, &table, readers).await?;
        if status != RunStatus::Succeeded {
            return Ok(status);
        }
        let reached = {
            let table = table.lock().await;
            tracing::info!(job = %job.name, splits = table.splits, partitions = table.parts.len(), "Full pass read every partition");
            table.highest()
        };
        state::store_cursor(
            &self.pool,
            &job.name,
            &stream.cursor,
            &reached,
            false,
            run_id,
        )
        .await?;
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
                        Err(e) => {
                            if outcome.is_ok() {
                                outcome = Err(e);
                            }
                            stop.cancel();
                        }
                    }
                }
                Event::Ended(ended) => {
                    exhausted = false;
                    match ended {
                        Ok(RunStatus::Succeeded) => {}
                        Ok(status) => {
                            if matches!(outcome, Ok(RunStatus::Succeeded)) {
                                outcome = Ok(status);
                            }
                        }
                        Err(e) => {
                            if outcome.is_ok() {
                                outcome = Err(e);
                            }
                            stop.cancel();
                        }
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
        let mut guard = table.lock().await;
        let lane = |part: &Part| Lane {
            id: part.id,
            name: part.name.clone(),
            start: part.cursor.clone(),
            until: Arc::clone(&part.until),
            table: Arc::clone(table),
        };
        if let Some(part) = guard.parts.iter_mut().find(|p| p.status == Status::Unread) {
            part.status = Status::Reading;
            return Ok(Some(lane(part)));
        }
        let min_width = i64::from(reader.job.page_size).saturating_mul(2);
        let Some((id, at)) = pick_split(&guard.remaining(), min_width) else {
            return Ok(None);
        };
        let new_id = guard.next_id;
        let Some(lower) = guard.part(id) else {
            return Ok(None);
        };
        let until = lower.until.load(Ordering::Acquire);
        let upper = StoredPartition {
            name: name(new_id),
            cursor: Cursor::Key { key: at },
            until: (until != UNBOUNDED).then_some(until),
            open: true,
        };
        let lower_name = lower.name.clone();
        state::split_partition(
            &self.pool,
            &reader.job.name,
            &lower_name,
            at,
            &upper,
            reader.tally.run_id(),
        )
        .await?;
        // Lowered only once the split is stored: the lower half cannot close before then (its
        // cursor store waits for this lock), and it claims no key past `at` after it.
        lower.until.store(at, Ordering::Release);
        tracing::info!(job = %reader.job.name, partition = %lower_name, at, new = %upper.name,
            until = ?upper.until, "Partition split for an idle reader");
        let part = Part {
            id: new_id,
            name: upper.name,
            cursor: upper.cursor,
            claimed: None,
            until: Arc::new(AtomicI64::new(until)),
            status: Status::Reading,
        };
        let handed = lane(&part);
        guard.parts.push(part);
        guard.next_id += 1;
        guard.splits += 1;
        Ok(Some(handed))
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
            let end = stream
                .keyset
                .advance(&rows, 0)
                .map_err(|source| FetchError {
                    index: 0,
                    cursor: Cursor::Start,
                    source,
                })?;
            match end {
                Cursor::Key { key } | Cursor::Timed { key, .. } => ends.push(key),
                Cursor::Start => return Ok(None),
            }
        }
        Ok(Some((ends[0], ends[1])))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stored(name: &str, cursor: Option<i64>, until: Option<i64>, open: bool) -> StoredPartition {
        StoredPartition {
            name: name.into(),
            cursor: cursor.map_or(Cursor::Start, |key| Cursor::Key { key }),
            until,
            open,
        }
    }

    fn table() -> Table {
        Table::new(
            "full",
            Cursor::Start,
            vec![
                stored("full:part:1", None, Some(200), true),
                stored("full:part:2", Some(350), Some(400), false),
                stored("full:part:3", Some(400), None, true),
            ],
            Some((101, 1_000)),
        )
    }

    fn rows(keys: &[i64]) -> Rows {
        Rows {
            fields: vec!["FMaterialId".into(), "FName".into()],
            rows: keys.iter().map(|k| vec![json!(k), json!("物料")]).collect(),
        }
    }

    #[test]
    fn the_pass_cursor_is_the_cursor_of_the_lowest_open_partition_then_the_highest() {
        let mut table = table();
        assert_eq!(table.next_id, 4);
        assert_eq!(table.watermark(), Cursor::Start);
        table.parts[0].status = Status::Done;
        table.parts[0].cursor = Cursor::Key { key: 200 };
        assert_eq!(table.watermark(), Cursor::Key { key: 400 });
        table.parts[2].status = Status::Done;
        table.parts[2].cursor = Cursor::Key { key: 990 };
        assert_eq!(table.watermark(), Cursor::Key { key: 990 });
    }

    #[test]
    fn what_is_left_of_a_partition_starts_after_the_keys_it_has_handed_to_the_publisher() {
        let mut table = table();
        assert!(table.remaining().is_empty(), "nothing is being read yet");
        for part in &mut table.parts {
            if part.status == Status::Unread {
                part.status = Status::Reading;
            }
        }
        table.parts[0].claimed = Some(150);
        let left = table.remaining();
        assert_eq!(
            left,
            [
                Remaining {
                    id: 1,
                    from: 150,
                    until: 200
                },
                Remaining {
                    id: 3,
                    from: 400,
                    until: 1_000
                },
            ]
        );
        assert_eq!(pick_split(&left, 100), Some((3, 700)));
        table.span = None;
        assert!(table.remaining().is_empty(), "no row, nothing to split");
    }

    #[tokio::test]
    async fn a_page_past_a_lowered_bound_keeps_only_the_partitions_rows_and_ends_it() {
        let mut table = table();
        table.parts[0].status = Status::Reading;
        let until = Arc::clone(&table.parts[0].until);
        let table = Arc::new(Mutex::new(table));
        let lane = Lane {
            id: 1,
            name: "full:part:1".into(),
            start: Cursor::Start,
            until: Arc::clone(&until),
            table: Arc::clone(&table),
        };
        let (kept, ended) = lane.claim("FMaterialId", rows(&[101, 102, 103])).await;
        assert_eq!((kept.rows.len(), ended), (3, false));
        // A split lowered the bound to 104 while the next page was in flight.
        until.store(104, Ordering::Release);
        assert_eq!(lane.bound(), Some(104));
        let (kept, ended) = lane.claim("fmaterialid", rows(&[104, 105, 190])).await;
        assert_eq!(kept.rows, rows(&[104]).rows);
        assert!(ended);
        assert_eq!(table.lock().await.parts[0].claimed, Some(104));
        // A page that ends exactly on the bound ends the partition without an empty page.
        until.store(106, Ordering::Release);
        let (kept, ended) = lane.claim("FMaterialId", rows(&[105, 106])).await;
        assert_eq!((kept.rows.len(), ended), (2, true));
        until.store(UNBOUNDED, Ordering::Release);
        assert_eq!(lane.bound(), None);
        let (_, ended) = lane.claim("FMaterialId", rows(&[107])).await;
        assert!(!ended);
    }
}
