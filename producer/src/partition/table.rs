//! The partitions of a pass in memory, shared by its readers: what each has confirmed and
//! handed to the publisher, its bound, and the split rule applied to them ([`super`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use k3sync_common::record::{Cursor, Rows, parse_key};
use k3sync_common::state::{self, StoredPartition};
use sqlx::MySqlPool;
use tokio::sync::Mutex;
use uuid::Uuid;

use super::{Remaining, id_of, name, pick_split};

/// `Part::until` of a partition with no upper bound.
pub(super) const UNBOUNDED: i64 = i64::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
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
pub(super) struct Table {
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
    pub(super) fn new(
        pass: &str,
        watermark: Cursor,
        stored: Vec<StoredPartition>,
        span: Option<(i64, i64)>,
    ) -> Self {
        let parts: Vec<Part> = stored
            .into_iter()
            .map(|p| {
                let status = if p.open { Status::Unread } else { Status::Done };
                Part::new(id_of(&p.name).unwrap_or(0), p, status)
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
    pub(super) fn highest(&self) -> Cursor {
        Cursor::after(self.parts.iter().filter_map(|p| p.cursor.key()).max())
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
                let confirmed = p.cursor.key().unwrap_or(lowest.saturating_sub(1));
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

impl Table {
    /// Partitions in all, and splits made by this pass (for the log).
    pub(super) fn counts(&self) -> (usize, u32) {
        (self.parts.len(), self.splits)
    }

    /// Hands the next unread partition to a reader.
    pub(super) fn take_unread(&mut self, table: &Arc<Mutex<Table>>) -> Option<Lane> {
        let part = self.parts.iter_mut().find(|p| p.status == Status::Unread)?;
        part.status = Status::Reading;
        Some(part.lane(table))
    }

    /// The split due for an idle reader ([`pick_split`]), not yet made.
    pub(super) fn plan_split(&self, min_width: i64) -> Option<Split> {
        let (id, at) = pick_split(&self.remaining(), min_width)?;
        let lower = self.parts.iter().find(|p| p.id == id)?;
        let until = lower.until.load(Ordering::Acquire);
        Some(Split {
            lower: id,
            lower_name: lower.name.clone(),
            at,
            upper: StoredPartition {
                name: name(self.next_id),
                cursor: Cursor::Key { key: at },
                until: (until != UNBOUNDED).then_some(until),
                open: true,
            },
        })
    }

    /// Makes a split once it is stored ([`Table`] says why): lowers the lower half's bound and
    /// hands the upper half to a reader.
    pub(super) fn apply_split(&mut self, split: Split, table: &Arc<Mutex<Table>>) -> Lane {
        if let Some(lower) = self.part(split.lower) {
            lower.until.store(split.at, Ordering::Release);
        }
        let part = Part::new(self.next_id, split.upper, Status::Reading);
        let lane = part.lane(table);
        self.parts.push(part);
        self.next_id += 1;
        self.splits += 1;
        lane
    }
}

impl Part {
    /// A stored partition in memory, nothing claimed yet.
    fn new(id: u32, stored: StoredPartition, status: Status) -> Self {
        Self {
            id,
            name: stored.name,
            cursor: stored.cursor,
            claimed: None,
            until: Arc::new(AtomicI64::new(stored.until.unwrap_or(UNBOUNDED))),
            status,
        }
    }

    fn lane(&self, table: &Arc<Mutex<Table>>) -> Lane {
        Lane {
            id: self.id,
            name: self.name.clone(),
            start: self.cursor.clone(),
            until: Arc::clone(&self.until),
            table: Arc::clone(table),
        }
    }
}

/// A partition's upper keys handed to a new partition.
pub(super) struct Split {
    lower: u32,
    pub lower_name: String,
    pub at: i64,
    pub upper: StoredPartition,
}

/// One partition handed to a reader.
pub(crate) struct Lane {
    id: u32,
    name: String,
    pub(super) start: Cursor,
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stored(name: &str, cursor: Option<i64>, until: Option<i64>, open: bool) -> StoredPartition {
        StoredPartition {
            name: name.into(),
            cursor: Cursor::after(cursor),
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

    #[test]
    fn a_split_hands_the_upper_half_to_a_new_partition_and_lowers_the_bound_once_made() {
        let shared = Arc::new(Mutex::new(table()));
        let mut table = table();
        let first = table.take_unread(&shared).expect("partition 1");
        let last = table.take_unread(&shared).expect("partition 3");
        assert_eq!((first.name(), last.name()), ("full:part:1", "full:part:3"));
        assert!(table.take_unread(&shared).is_none());
        let split = table.plan_split(100).expect("the unbounded one is wide");
        assert_eq!((split.lower_name.as_str(), split.at), ("full:part:3", 700));
        assert_eq!(split.upper, stored("full:part:4", Some(700), None, true));
        assert_eq!(last.bound(), None, "not lowered before the split is stored");
        let upper = table.apply_split(split, &shared);
        assert_eq!(last.bound(), Some(700));
        assert_eq!(
            (upper.name(), upper.bound(), &upper.start),
            ("full:part:4", None, &Cursor::Key { key: 700 })
        );
        assert_eq!(table.counts(), (4, 1));
        // Now partition 1 (101..=200: 100 keys) is the widest.
        table.parts[2].claimed = Some(690);
        table.parts[3].claimed = Some(990);
        assert!(table.plan_split(101).is_none());
        assert_eq!(table.plan_split(10).map(|s| s.at), Some(150));
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
