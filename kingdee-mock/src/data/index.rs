//! The store's ordered date indices, one per date field a keyset cursor may walk: (date,
//! FMaterialId) for FCreateDate, FModifyDate, FApproveDate and FForbidDate. A NULL date is
//! kept under [`NULL_KEY`], below every real date, so an index walk meets NULLs first exactly
//! where SQL Server's ascending order puts them, and a `> 'T'` bound skips them.

use std::collections::BTreeSet;

use super::fields::Col;
use super::row::Row;

/// A date index: (date in ms or [`NULL_KEY`], FMaterialId).
pub type DateIndex = BTreeSet<(i64, i64)>;

/// Where a NULL date sorts: before every date a row can hold.
pub const NULL_KEY: i64 = i64::MIN;

/// The indexed date fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateField {
    Create,
    Modify,
    Approve,
    Forbid,
}

impl DateField {
    pub const ALL: [DateField; 4] = [
        DateField::Create,
        DateField::Modify,
        DateField::Approve,
        DateField::Forbid,
    ];

    /// The indexed field a column reads, if it is one.
    pub fn of(col: Col) -> Option<Self> {
        match col {
            Col::CreateDate => Some(DateField::Create),
            Col::ModifyDate => Some(DateField::Modify),
            Col::ApproveDate => Some(DateField::Approve),
            Col::ForbidDate => Some(DateField::Forbid),
            _ => None,
        }
    }

    pub fn col(self) -> Col {
        match self {
            DateField::Create => Col::CreateDate,
            DateField::Modify => Col::ModifyDate,
            DateField::Approve => Col::ApproveDate,
            DateField::Forbid => Col::ForbidDate,
        }
    }

    pub fn get(self, row: &Row) -> Option<i64> {
        match self {
            DateField::Create => Some(row.create_date),
            DateField::Modify => row.modify_date,
            DateField::Approve => row.approve_date,
            DateField::Forbid => row.forbid_date,
        }
    }

    fn key(self, row: &Row) -> i64 {
        self.get(row).unwrap_or(NULL_KEY)
    }
}

/// Every date index of the store. Holds the live rows only.
#[derive(Debug, Default)]
pub struct DateIndices {
    by: [DateIndex; 4],
}

/// A row's key in each index, in [`DateField::ALL`] order.
pub type Keys = [i64; 4];

pub fn keys(row: &Row) -> Keys {
    DateField::ALL.map(|f| f.key(row))
}

impl DateIndices {
    pub fn build(rows: &[Row]) -> Self {
        let mut by: [DateIndex; 4] = Default::default();
        for (i, f) in DateField::ALL.into_iter().enumerate() {
            by[i] = rows
                .iter()
                .filter(|r| !r.deleted)
                .map(|r| (f.key(r), r.material_id))
                .collect();
        }
        Self { by }
    }

    pub fn get(&self, field: DateField) -> &DateIndex {
        &self.by[field as usize]
    }

    pub fn add(&mut self, row: &Row) {
        for (index, key) in self.by.iter_mut().zip(keys(row)) {
            index.insert((key, row.material_id));
        }
    }

    pub fn remove(&mut self, row: &Row) {
        for (index, key) in self.by.iter_mut().zip(keys(row)) {
            index.remove(&(key, row.material_id));
        }
    }

    /// Moves a row whose dates changed from `old` to `new`; unchanged keys are not touched
    /// (most operations stamp one date, and a B-tree removal is not free on a million rows).
    pub fn moved(&mut self, id: i64, old: Keys, new: Keys) {
        for ((index, o), n) in self.by.iter_mut().zip(old).zip(new) {
            if o != n {
                index.remove(&(o, id));
                index.insert((n, id));
            }
        }
    }

    /// The latest date held in any index.
    pub fn newest(&self) -> Option<i64> {
        self.by
            .iter()
            .filter_map(|i| i.last().map(|&(t, _)| t))
            .filter(|&t| t != NULL_KEY)
            .max()
    }
}
