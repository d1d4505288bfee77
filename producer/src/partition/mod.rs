//! Partitioned keyset paging of a full pass. A real K3Cloud takes hundreds of milliseconds per
//! page, so one keyset stream is bound by the round trip; a full pass therefore reads its key
//! range as several keyset streams at once, all through the one Kingdee client (its rate
//! limiter and its cap on requests in flight).
//!
//! - **Partitions**: as many as `kingdee.max_in_flight`, of equal key width ([`split_range`])
//!   between the lowest and highest key under the job's filter; the last has no upper bound, so
//!   rows created during the pass are read as a single stream reads them. With
//!   `max_in_flight = 1` a pass is the one stream `full` it always was (a partitioned pass left
//!   open is still resumed partition by partition).
//! - **A partition** is a keyset stream `key > cursor AND key <= until` with its own cursor row
//!   `full:part:<n>` in `sync_state.mode`, stored only after the broker confirmed its page. The
//!   row `full` stays the pass's own: open while the pass is unfinished, its cursor the low
//!   watermark (the cursor of the lowest open partition: every key up to it is confirmed).
//! - **Balance**: when a reader is idle and nothing is left unread, the widest remaining range
//!   of a partition being read is halved ([`pick_split`]) if it holds at least two pages' worth
//!   of keys (ids are distinct integers, so a narrower range holds at most two pages); the new
//!   partition takes the upper half and the idle reader, so a skewed key range ends up split
//!   where its rows are.
//! - **Crash semantics**: the split is one transaction (the lower partition's `cursor_until`
//!   and the new row): a crash leaves either the old partition whole or both halves. The split
//!   point lies above every key the partition has handed to the publisher, and a page already in
//!   flight drops its rows past the lowered bound, so no key is published by both halves. A pass
//!   killed mid-way resumes every open partition from its cursor; each may send its one
//!   unconfirmed page again, as a single stream may. The partition rows of a finished pass are
//!   only read while the row `full` is open.
//!
//! Incremental and `new` passes are not partitioned: their streams are ordered by a date, not
//! by the key, and after the first pass they read a few pages (the first one still reads the
//! past as one stream: partitioning it by key range as well is left for later).

mod run;
mod table;

pub(crate) use table::Lane;

/// The prefix of the partition rows' names in `sync_state.mode`.
pub const PREFIX: &str = "full:part:";

/// The `sync_state.mode` of partition `id`.
pub fn name(id: u32) -> String {
    format!("{PREFIX}{id}")
}

/// The id of a partition row's name.
pub fn id_of(name: &str) -> Option<u32> {
    name.strip_prefix(PREFIX)?.parse().ok()
}

/// A partition's keys: after `after` (`None`: from the start) up to `until` inclusive (`None`:
/// to the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub after: Option<i64>,
    pub until: Option<i64>,
}

/// The keys after `after` (`None`: all) of a key range `lowest..=highest` cut into at most `n`
/// ranges of equal width. The first keeps `after`, the last is unbounded; every key is in
/// exactly one range. `None` for the span: no row, one unbounded range.
pub fn split_range(after: Option<i64>, span: Option<(i64, i64)>, n: usize) -> Vec<Range> {
    let whole = vec![Range { after, until: None }];
    let Some((lowest, highest)) = span else {
        return whole;
    };
    let base = i128::from(lowest) - 1;
    let base = after.map_or(base, |after| base.max(i128::from(after)));
    let width = i128::from(highest) - base;
    let parts = i128::try_from(n).unwrap_or(1).min(width).max(1);
    if parts == 1 {
        return whole;
    }
    // Each bound lies within lowest-1..=highest, so it fits an i64.
    let bound = |i: i128| i64::try_from(base + width * i / parts).unwrap_or(i64::MAX);
    (0..parts)
        .map(|i| Range {
            after: if i == 0 { after } else { Some(bound(i)) },
            until: (i + 1 < parts).then(|| bound(i + 1)),
        })
        .collect()
}

/// A partition being read, as the split rule sees it: the keys after `from` up to `until` are
/// not yet handed to the publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remaining {
    pub id: u32,
    pub from: i64,
    pub until: i64,
}

/// The partition to halve for an idle reader, and the key it keeps up to: the widest remaining
/// range if it is at least `min_width` keys wide.
pub fn pick_split(remaining: &[Remaining], min_width: i64) -> Option<(u32, i64)> {
    let widest = remaining.iter().max_by_key(|r| {
        (
            i128::from(r.until) - i128::from(r.from),
            std::cmp::Reverse(r.id),
        )
    })?;
    let width = i128::from(widest.until) - i128::from(widest.from);
    if width < i128::from(min_width.max(2)) {
        return None;
    }
    let mid = i128::from(widest.from) + width / 2;
    Some((widest.id, i64::try_from(mid).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_of(ranges: &[Range], lowest: i64, highest: i64) -> Vec<usize> {
        (lowest..=highest)
            .map(|k| {
                ranges
                    .iter()
                    .filter(|r| r.after.is_none_or(|a| k > a) && r.until.is_none_or(|u| k <= u))
                    .count()
            })
            .collect()
    }

    #[test]
    fn a_key_range_is_cut_into_equal_ranges_that_hold_every_key_once() {
        let ranges = split_range(None, Some((101, 500)), 4);
        assert_eq!(
            ranges,
            [
                Range {
                    after: None,
                    until: Some(200)
                },
                Range {
                    after: Some(200),
                    until: Some(300)
                },
                Range {
                    after: Some(300),
                    until: Some(400)
                },
                Range {
                    after: Some(400),
                    until: None
                },
            ]
        );
        assert!(keys_of(&ranges, 1, 600).iter().all(|&n| n == 1));
        // Uneven widths and a resumed cursor.
        for (after, n) in [(None, 3), (Some(150), 4), (Some(7), 5), (None, 7)] {
            let ranges = split_range(after, Some((101, 457)), n);
            assert_eq!(ranges.len(), n, "{after:?} {n}");
            assert_eq!(ranges[0].after, after);
            let counts = keys_of(&ranges, 1, 600);
            for (k, count) in (1..=600).zip(counts) {
                let wanted = usize::from(after.is_none_or(|a| k > a));
                assert_eq!(count, wanted, "key {k} in {ranges:?}");
            }
        }
    }

    #[test]
    fn a_range_too_narrow_or_empty_is_one_unbounded_partition() {
        let whole = |after| vec![Range { after, until: None }];
        assert_eq!(split_range(None, None, 4), whole(None));
        assert_eq!(split_range(Some(9), None, 4), whole(Some(9)));
        assert_eq!(split_range(None, Some((5, 5)), 4), whole(None));
        // The cursor is past the highest key: rows created since are read to the end.
        assert_eq!(split_range(Some(900), Some((5, 800)), 4), whole(Some(900)));
        assert_eq!(split_range(None, Some((1, 100)), 1), whole(None));
        assert_eq!(split_range(None, Some((5, 7)), 8).len(), 3);
        let extreme = split_range(None, Some((1, i64::MAX)), 4);
        assert_eq!(extreme.len(), 4);
        assert_eq!(extreme[3].until, None);
    }

    #[test]
    fn an_idle_reader_halves_the_widest_remaining_range_once_it_is_two_pages_wide() {
        let lagging = [
            Remaining {
                id: 1,
                from: 100,
                until: 10_100,
            },
            Remaining {
                id: 3,
                from: 20_000,
                until: 20_050,
            },
        ];
        assert_eq!(pick_split(&lagging, 4_000), Some((1, 5_100)));
        assert_eq!(pick_split(&lagging, 10_001), None);
        assert_eq!(pick_split(&[], 1), None);
        // Equal widths: the oldest partition goes first.
        let tie = [
            Remaining {
                id: 4,
                from: 0,
                until: 10,
            },
            Remaining {
                id: 2,
                from: 50,
                until: 60,
            },
        ];
        assert_eq!(pick_split(&tie, 2), Some((2, 55)));
        // A range of one key cannot be halved.
        assert_eq!(
            pick_split(
                &[Remaining {
                    id: 1,
                    from: 5,
                    until: 6
                }],
                0
            ),
            None
        );
    }

    #[test]
    fn partition_rows_are_named_after_the_full_stream_and_numbered() {
        assert_eq!(name(3), "full:part:3");
        assert_eq!(id_of("full:part:12"), Some(12));
        assert_eq!(id_of("full"), None);
        assert_eq!(id_of("watch:FModifyDate:enter"), None);
    }
}
