//! The keyset streams a pass reads, one after the other, each with its own cursor in
//! `sync_state` (named by [`Stream::cursor`]):
//!
//! - `full`: every row of the job's scope and filter, by key; an unfinished pass resumes. It is
//!   read as key-range partitions at once, each with its own cursor `full:part:<n>`
//!   ([`crate::partition`]).
//! - `new`: rows created after the watermark (`created_field`), the seed's 新增.
//! - incremental: for each watched date field `F` (`jobs.watch`), `watch:F:enter` reads the
//!   rows of scope and filter whose `F` moved; a converging job also reads `watch:F:leave`, the
//!   rows of the scope that no longer match the filter, which leave the target. Each re-reads
//!   `overlap_secs` before its cursor, for changes committed late with an earlier timestamp.
//!
//! A row with a NULL date is in no timed stream (it cannot be placed on a cursor); full mode
//! and the reconciliation read it.

use std::time::Duration;

use k3sync_common::amqp::Kind;
use k3sync_common::kingdee::Keyset;
use k3sync_common::record::{Cursor, parse_datetime};
use k3sync_common::settings::{JobSettings, SyncMode, filter_and as and};

/// One keyset stream of a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// Its cursor's name in `sync_state.mode`.
    pub cursor: String,
    pub keyset: Keyset,
    pub filter: String,
    /// What its rows become: upserts, or leaves of their target keys.
    pub kind: Kind,
    /// Read back this far before the stored cursor (incremental streams).
    pub overlap: Option<Duration>,
    /// Its first pass reads every row; otherwise (the job's other watched fields, the leave
    /// streams) it starts at the newest row: the first stream has just read the past.
    pub reads_the_past: bool,
    /// A finished pass starts over (full); otherwise the next pass goes on from the cursor.
    pub restarts: bool,
    /// Read as key-range partitions at once ([`crate::partition`]): the key-ordered `full`.
    pub partitioned: bool,
}

impl Stream {
    /// Where the stream starts from its stored cursor: an unfinished full pass resumes, a
    /// finished one starts over (the caller passes [`Cursor::Start`] for it); a timed cursor is
    /// moved back by the overlap, to the first row at that time (key 0: Kingdee's ids are
    /// positive, and a negative literal is best not sent).
    pub fn start(&self, stored: Cursor) -> Cursor {
        match (self.overlap.filter(|o| !o.is_zero()), stored) {
            (Some(overlap), Cursor::Timed { at, key }) => match parse_datetime(&at) {
                Some(time) => Cursor::Timed {
                    at: (time - overlap).format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
                    key: 0,
                },
                None => Cursor::Timed { at, key },
            },
            (_, stored) => stored,
        }
    }
}

/// The streams of a pass of `job` in `mode` (not the reconciliation, which lists keys).
pub fn streams(job: &JobSettings, mode: SyncMode) -> Vec<Stream> {
    let matching = job.matching();
    let upsert = |cursor: &str, keyset: Keyset| Stream {
        cursor: cursor.to_owned(),
        keyset,
        filter: matching.clone(),
        kind: Kind::Upsert,
        overlap: None,
        reads_the_past: true,
        restarts: false,
        partitioned: false,
    };
    match mode {
        SyncMode::Full | SyncMode::Reconcile => vec![Stream {
            restarts: true,
            partitioned: true,
            ..upsert("full", Keyset::by_key(&job.key_field))
        }],
        SyncMode::New => vec![upsert(
            "new",
            Keyset::by_time(&job.created_field, &job.key_field),
        )],
        SyncMode::Incremental => {
            let overlap = Some(Duration::from_secs(job.overlap_secs));
            let leaving = (job.converges() && !job.filter.trim().is_empty())
                .then(|| and(&job.scope, &format!("NOT ({})", job.filter)));
            let mut streams = Vec::new();
            for (i, field) in job.watch.iter().enumerate() {
                let keyset = Keyset::by_time(field, &job.key_field);
                streams.push(Stream {
                    overlap,
                    reads_the_past: i == 0,
                    ..upsert(&format!("watch:{field}:enter"), keyset.clone())
                });
                if let Some(filter) = &leaving {
                    streams.push(Stream {
                        filter: filter.clone(),
                        kind: Kind::Leave,
                        overlap,
                        reads_the_past: false,
                        ..upsert(&format!("watch:{field}:leave"), keyset)
                    });
                }
            }
            streams
        }
    }
}

/// Where a cursor stands in its stream's order (the start before everything).
pub fn position(cursor: &Cursor) -> impl Ord + use<> {
    match cursor {
        Cursor::Start => (None, i64::MIN),
        Cursor::Key { key } => (None, *key),
        Cursor::Timed { at, key } => (parse_datetime(at), *key),
    }
}

/// The later of two cursors of one stream: a pass that re-read its overlap window and found
/// fewer rows than before must not move the cursor back.
pub fn later(stored: Cursor, reached: Cursor) -> Cursor {
    std::cmp::max_by_key(stored, reached, position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k3sync_common::settings::LeaveSettings;

    fn job() -> JobSettings {
        JobSettings {
            name: "materials".into(),
            form_id: "BD_MATERIAL".into(),
            key_field: "FMaterialId".into(),
            scope: "FUseOrgId.FNumber = 'T00'".into(),
            filter: "FDocumentStatus = 'C'".into(),
            ..JobSettings::default()
        }
    }

    #[test]
    fn an_incremental_pass_watches_every_date_field_and_a_converging_job_reads_leavers_too() {
        let plain: Vec<String> = streams(&job(), SyncMode::Incremental)
            .into_iter()
            .map(|s| s.cursor)
            .collect();
        assert_eq!(
            plain,
            [
                "watch:FModifyDate:enter",
                "watch:FApproveDate:enter",
                "watch:FForbidDate:enter"
            ]
        );
        let converging = JobSettings {
            leave: Some(LeaveSettings::default()),
            ..job()
        };
        let all = streams(&converging, SyncMode::Incremental);
        assert_eq!(all.len(), 6);
        assert_eq!(
            all[0].filter,
            "(FUseOrgId.FNumber = 'T00') AND (FDocumentStatus = 'C')"
        );
        assert_eq!(
            (all[1].cursor.as_str(), all[1].kind, all[1].filter.as_str()),
            (
                "watch:FModifyDate:leave",
                Kind::Leave,
                "(FUseOrgId.FNumber = 'T00') AND (NOT (FDocumentStatus = 'C'))"
            )
        );
        assert_eq!(all[1].overlap, Some(Duration::from_secs(300)));
        let past: Vec<bool> = all.iter().map(|s| s.reads_the_past).collect();
        assert_eq!(past, [true, false, false, false, false, false]);
        let full = streams(&converging, SyncMode::Full);
        assert_eq!(
            (full.len(), full[0].kind, full[0].overlap),
            (1, Kind::Upsert, None)
        );
        assert!(full[0].restarts && full[0].reads_the_past && full[0].partitioned);
        assert!(all.iter().all(|s| !s.partitioned));
    }

    #[test]
    fn a_timed_cursor_starts_the_overlap_earlier_and_never_moves_back() {
        let stream = &streams(&job(), SyncMode::Incremental)[0];
        let stored = Cursor::Timed {
            at: "2024-03-12T09:32:21.125".into(),
            key: 7,
        };
        assert_eq!(
            stream.start(stored.clone()),
            Cursor::Timed {
                at: "2024-03-12T09:27:21.125".into(),
                key: 0
            }
        );
        assert_eq!(stream.start(Cursor::Start), Cursor::Start);
        // No overlap: the strict cursor, not every row of its second again.
        let strict = Stream {
            overlap: Some(Duration::ZERO),
            ..stream.clone()
        };
        assert_eq!(strict.start(stored.clone()), stored);
        let earlier = Cursor::Timed {
            at: "2024-03-12T09:30:00".into(),
            key: 99,
        };
        assert_eq!(later(stored.clone(), earlier.clone()), stored);
        assert_eq!(later(earlier, stored.clone()), stored);
        assert_eq!(
            later(Cursor::Start, Cursor::Key { key: 3 }),
            Cursor::Key { key: 3 }
        );
    }
}
