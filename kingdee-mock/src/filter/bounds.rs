//! Reads from a compiled filter the range a column must lie in for a row to be selected, so a
//! query can start its scan of an ordered index there instead of at the first row. The range
//! is a necessary condition only: every row in it is still checked against the whole filter.

use super::eval::{Lit, Pred};
use super::lexer::CmpOp;
use crate::data::fields::Col;

/// An inclusive range of an integer or date column; `lo > hi` is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub lo: i64,
    pub hi: i64,
}

impl Range {
    pub const FULL: Range = Range {
        lo: i64::MIN,
        hi: i64::MAX,
    };
    pub const EMPTY: Range = Range {
        lo: i64::MAX,
        hi: i64::MIN,
    };

    pub fn is_empty(self) -> bool {
        self.lo > self.hi
    }

    pub fn is_full(self) -> bool {
        self == Range::FULL
    }

    fn intersect(self, o: Range) -> Range {
        Range {
            lo: self.lo.max(o.lo),
            hi: self.hi.min(o.hi),
        }
    }

    fn hull(self, o: Range) -> Range {
        if self.is_empty() {
            return o;
        }
        if o.is_empty() {
            return self;
        }
        Range {
            lo: self.lo.min(o.lo),
            hi: self.hi.max(o.hi),
        }
    }
}

fn key(lit: &Lit) -> Option<i64> {
    match lit {
        Lit::Int(v) | Lit::Date(v) => Some(*v),
        _ => None,
    }
}

/// The range `col` must be in for `pred` to be true.
pub fn range_of(pred: &Pred, col: Col) -> Range {
    match pred {
        Pred::Const(Some(true)) => Range::FULL,
        Pred::Const(_) => Range::EMPTY,
        Pred::And(a, b) => range_of(a, col).intersect(range_of(b, col)),
        Pred::Or(a, b) => range_of(a, col).hull(range_of(b, col)),
        Pred::Cmp { col: c, op, lit } if *c == col => match key(lit) {
            Some(v) => match op {
                CmpOp::Eq => Range { lo: v, hi: v },
                CmpOp::Gt => Range {
                    lo: v.saturating_add(1),
                    hi: i64::MAX,
                },
                CmpOp::Ge => Range {
                    lo: v,
                    hi: i64::MAX,
                },
                CmpOp::Lt => Range {
                    lo: i64::MIN,
                    hi: v.saturating_sub(1),
                },
                CmpOp::Le => Range {
                    lo: i64::MIN,
                    hi: v,
                },
                CmpOp::Ne => Range::FULL,
            },
            None => Range::FULL,
        },
        Pred::In {
            col: c,
            list,
            negated: false,
            ..
        } if *c == col => list
            .iter()
            .map(|l| key(l).map(|v| Range { lo: v, hi: v }))
            .try_fold(Range::EMPTY, |acc, r| r.map(|r| acc.hull(r)))
            .unwrap_or(Range::FULL),
        _ => Range::FULL,
    }
}
