//! Chooses the rows of one page. The paging model is §4.4's: order the filtered rows, keep the
//! first TopRowCount (if > 0), skip StartRow, keep Limit (if > 0). When the order is the order
//! of an index (FMaterialId, or one of the indexed dates then FMaterialId: FCreateDate,
//! FModifyDate, FApproveDate, FForbidDate) the index is walked from the bound the filter
//! implies and the walk stops once the page is full; any other order keeps only the first
//! StartRow+Limit rows with a partial selection instead of a full sort. Deleted rows are in
//! no index, and the FMaterialId walk skips their tombstones.

use std::ops::Range as Span;

use super::order::{OrderKey, compare};
use crate::data::fields::Col;
use crate::data::{DateField, Store};
use crate::filter::Pred;
use crate::filter::bounds::{Range, range_of};

/// TopRowCount, StartRow and Limit, already coerced to non-negative numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub top: usize,
    pub start: usize,
    pub limit: usize,
}

impl Window {
    /// How many ordered rows the page can reach into; `None` is all of them.
    pub fn needed(self) -> Option<usize> {
        let top = (self.top > 0).then_some(self.top);
        let end = (self.limit > 0).then(|| self.start.saturating_add(self.limit));
        match (top, end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The window of a server that cuts every page to `clamp` rows (0: no clamp) without
    /// saying so: Limit 0 (all rows) and any Limit above it become `clamp`.
    pub fn clamped(self, clamp: usize) -> Self {
        if clamp == 0 || (self.limit > 0 && self.limit <= clamp) {
            return self;
        }
        Self {
            limit: clamp,
            ..self
        }
    }

    /// The page's slice of `total` ordered rows.
    pub fn span(self, total: usize) -> Span<usize> {
        let end = self.needed().map_or(total, |n| n.min(total));
        self.start.min(end)..end
    }
}

enum Walk {
    Ids,
    Index(DateField),
}

/// The positions (in `store.slots()`) of the page's rows, in order.
pub fn select(store: &Store, pred: &Pred, keys: &[OrderKey], window: Window) -> Vec<usize> {
    let needed = window.needed();
    if needed == Some(0) {
        return Vec::new();
    }
    let (walk, reverse, ordered) = match index_order(keys) {
        Some((walk, reverse)) => (walk, reverse, true),
        None => (narrowest(pred), false, false),
    };
    let range = match walk {
        Walk::Ids => range_of(pred, Col::MaterialId),
        Walk::Index(field) => range_of(pred, field.col()),
    };
    if range.is_empty() {
        return Vec::new();
    }
    let rows = store.slots();
    let arena = store.arena();
    let hits = candidates(store, &walk, range, reverse).filter(|&p| pred.matches(&rows[p], arena));
    if ordered {
        let limit = needed.map_or(usize::MAX, |n| n - window.start.min(n));
        return hits.skip(window.start).take(limit).collect();
    }
    let mut found: Vec<usize> = hits.collect();
    let cmp = |a: &usize, b: &usize| compare(keys, &rows[*a], &rows[*b], arena);
    if let Some(k) = needed.filter(|&k| found.len() > k) {
        found.select_nth_unstable_by(k - 1, cmp);
        found.truncate(k);
    }
    found.sort_unstable_by(cmp);
    let span = window.span(found.len());
    found.drain(span).collect()
}

/// The index whose order is `keys`, and whether it is walked backwards.
fn index_order(keys: &[OrderKey]) -> Option<(Walk, bool)> {
    match keys {
        [k] if k.col == Col::MaterialId => Some((Walk::Ids, k.desc)),
        [d, id] if id.col == Col::MaterialId && d.desc == id.desc => {
            DateField::of(d.col).map(|f| (Walk::Index(f), d.desc))
        }
        _ => None,
    }
}

/// For an order no index has: walk whatever the filter bounds, to touch fewer rows.
fn narrowest(pred: &Pred) -> Walk {
    if !range_of(pred, Col::MaterialId).is_full() {
        return Walk::Ids;
    }
    DateField::ALL
        .into_iter()
        .find(|&f| !range_of(pred, f.col()).is_full())
        .map_or(Walk::Ids, Walk::Index)
}

fn candidates<'a>(
    store: &'a Store,
    walk: &Walk,
    range: Range,
    reverse: bool,
) -> Box<dyn Iterator<Item = usize> + 'a> {
    match walk {
        Walk::Ids => {
            let rows = store.slots();
            let lo = rows.partition_point(|r| r.material_id < range.lo);
            let hi = rows.partition_point(|r| r.material_id <= range.hi);
            let live = move |p: &usize| !rows[*p].deleted;
            if reverse {
                Box::new((lo..hi).rev().filter(live))
            } else {
                Box::new((lo..hi).filter(live))
            }
        }
        Walk::Index(field) => {
            let index = store.date_index(*field);
            let span = index.range((range.lo, i64::MIN)..=(range.hi, i64::MAX));
            let pos = move |&(_, id): &(i64, i64)| store.position(id);
            if reverse {
                Box::new(span.rev().filter_map(pos))
            } else {
                Box::new(span.filter_map(pos))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(top: usize, start: usize, limit: usize) -> Window {
        Window { top, start, limit }
    }

    #[test]
    fn the_window_applies_top_then_start_then_limit() {
        assert_eq!(w(0, 0, 0).span(10), 0..10);
        assert_eq!(w(0, 3, 4).span(10), 3..7);
        assert_eq!(w(0, 8, 4).span(10), 8..10);
        assert_eq!(w(0, 20, 4).span(10), 10..10);
        assert_eq!(w(0, 2, 0).span(10), 2..10);
        assert_eq!(w(5, 3, 4).span(10), 3..5);
        assert_eq!(w(4, 1, 0).span(10), 1..4);
        assert_eq!(w(20, 0, 0).span(10), 0..10);
        // TopRowCount equal to the page size empties every page after the first (§4.4).
        assert_eq!(w(3, 3, 3).span(10), 3..3);
        assert_eq!(w(6, 3, 3).span(10), 3..6);
    }

    #[test]
    fn a_clamp_cuts_the_limit_and_the_unlimited_page_but_no_smaller_one() {
        assert_eq!(w(0, 40, 100).clamped(30), w(0, 40, 30));
        assert_eq!(w(0, 0, 0).clamped(30), w(0, 0, 30));
        assert_eq!(w(0, 0, 20).clamped(30), w(0, 0, 20));
        assert_eq!(w(0, 0, 100).clamped(0), w(0, 0, 100));
        assert_eq!(w(50, 40, 100).clamped(30).span(1000), 40..50);
    }

    #[test]
    fn needed_is_the_smaller_of_top_and_the_page_end() {
        assert_eq!(w(0, 0, 0).needed(), None);
        assert_eq!(w(0, 4000, 2000).needed(), Some(6000));
        assert_eq!(w(100, 4000, 2000).needed(), Some(100));
        assert_eq!(w(100, 0, 0).needed(), Some(100));
        assert_eq!(w(0, usize::MAX, 5).needed(), Some(usize::MAX));
    }
}
