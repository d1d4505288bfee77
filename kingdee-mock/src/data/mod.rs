//! One form's data set (BD_MATERIAL, BD_Customer or BD_Supplier: [`form::Form`]): rows in
//! slots sorted by their primary key (FMaterialId, FCUSTID or FSupplierId, all called
//! FMaterialId below), their text arena, and ordered indices on every date a keyset cursor may walk (see [`index`]), so date pages need
//! not scan every row. A deleted row keeps its slot as a tombstone: ids stay dense, so a
//! FMaterialId still finds its slot by offset. All mutation goes through [`Store::update`],
//! [`Store::insert`] and [`Store::delete`], which keep the indices in step. A last index
//! finds a master's rows (allocation and delete need them) without a scan.

pub mod fields;
pub mod form;
pub mod generate;
pub mod index;
pub mod json;
pub mod partners;
pub mod row;
pub mod shapes;
pub mod tables;

use std::collections::BTreeSet;

pub use index::{DateField, DateIndex, NULL_KEY};
use index::{DateIndices, keys};
use row::{Arena, Row};

/// A live row that is not its master's own (FMasterId ≠ FMaterialId): an allocated copy.
fn copy_key(row: &Row) -> Option<(i64, i64)> {
    (!row.deleted && row.master_id != row.material_id).then_some((row.master_id, row.material_id))
}

#[derive(Debug)]
pub struct Store {
    slots: Vec<Row>,
    arena: Arena,
    index: DateIndices,
    /// (FMasterId, FMaterialId) of every allocated copy; a master's own row is found by id.
    copies: BTreeSet<(i64, i64)>,
    live: usize,
    /// The serial the next new material's FNumber gets (one past every generated master's).
    next_serial: usize,
}

impl Store {
    /// Generates the initial data set.
    pub fn generate(rows: usize, seed: u64) -> Self {
        Self::generate_with(rows, seed, 0.0)
    }

    /// Generates the initial data set with `null_modify_ratio` of the rows' FModifyDate NULL.
    pub fn generate_with(rows: usize, seed: u64, null_modify_ratio: f64) -> Self {
        let (mut rows, arena) = generate::generate(rows, seed);
        generate::null_modify_dates(&mut rows, seed, null_modify_ratio);
        Self::from_rows(rows, arena)
    }

    /// Generates the initial data set of `form`: [`Store::generate_with`] for materials,
    /// [`partners::generate`] for customers and suppliers (NULL FModifyDates alike).
    pub fn generate_form(form: form::Form, rows: usize, seed: u64, null_modify_ratio: f64) -> Self {
        if form == form::Form::Material {
            return Self::generate_with(rows, seed, null_modify_ratio);
        }
        let (mut rows, arena) = partners::generate(form, rows, seed);
        generate::null_modify_dates(&mut rows, seed, null_modify_ratio);
        Self::from_rows(rows, arena)
    }

    pub fn from_rows(mut rows: Vec<Row>, arena: Arena) -> Self {
        rows.sort_by_key(|r| r.material_id);
        let masters = rows.iter().filter(|r| r.master_id == r.material_id).count();
        Self {
            index: DateIndices::build(&rows),
            copies: rows.iter().filter_map(copy_key).collect(),
            live: rows.iter().filter(|r| !r.deleted).count(),
            slots: rows,
            arena,
            next_serial: masters + 1,
        }
    }

    /// Every slot, deleted rows included (check [`Row::deleted`]); positions index into it.
    pub fn slots(&self) -> &[Row] {
        &self.slots
    }

    /// The live rows with their positions, in FMaterialId order.
    pub fn live(&self) -> impl DoubleEndedIterator<Item = (usize, &Row)> {
        self.slots.iter().enumerate().filter(|(_, r)| !r.deleted)
    }

    /// How many rows are live.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn arena(&self) -> &Arena {
        &self.arena
    }

    pub fn arena_mut(&mut self) -> &mut Arena {
        &mut self.arena
    }

    /// The index of one date field.
    pub fn date_index(&self, field: DateField) -> &DateIndex {
        self.index.get(field)
    }

    /// The slot of a FMaterialId, deleted or not. Ids are dense unless rows were inserted
    /// with ids of their own, so the id's offset from the first is tried first.
    pub fn slot_of(&self, material_id: i64) -> Option<usize> {
        let first = self.slots.first()?.material_id;
        let guess = usize::try_from(material_id - first).ok();
        if let Some(i) = guess.filter(|&i| {
            self.slots
                .get(i)
                .is_some_and(|r| r.material_id == material_id)
        }) {
            return Some(i);
        }
        self.slots
            .binary_search_by_key(&material_id, |r| r.material_id)
            .ok()
    }

    /// The position of a live row: a deleted FMaterialId is gone.
    pub fn position(&self, material_id: i64) -> Option<usize> {
        self.slot_of(material_id)
            .filter(|&p| !self.slots[p].deleted)
    }

    /// The positions of every live row of a master: its own row (FMaterialId = FMasterId)
    /// and its copies in other use-orgs.
    pub fn of_master(&self, master_id: i64) -> Vec<usize> {
        let own = self
            .position(master_id)
            .filter(|&p| self.slots[p].master_id == master_id);
        let copies = self
            .copies
            .range((master_id, i64::MIN)..=(master_id, i64::MAX))
            .filter_map(|&(_, id)| self.position(id));
        own.into_iter().chain(copies).collect()
    }

    /// The FMaterialId a new row gets; a deleted row's id is never handed out again.
    pub fn next_id(&self) -> i64 {
        self.slots
            .last()
            .map_or(generate::FIRST_ID, |r| r.material_id + 1)
    }

    /// Takes the serial of a new material's FNumber.
    pub fn take_serial(&mut self) -> usize {
        self.next_serial += 1;
        self.next_serial - 1
    }

    /// A timestamp strictly later than every date held and not earlier than `now`: what a
    /// change committed at `now` records.
    pub fn fresh_after(&self, now: i64) -> i64 {
        let newest = self.index.newest().unwrap_or(i64::MIN);
        now.max(newest.saturating_add(1))
    }

    /// [`Store::fresh_after`] the server's clock.
    pub fn fresh_timestamp(&self) -> i64 {
        self.fresh_after(crate::dates::now_ms())
    }

    /// Changes the live row at `pos` (its FMaterialId must stay the same, and it stays live).
    pub fn update<T>(&mut self, pos: usize, f: impl FnOnce(&mut Row, &mut Arena) -> T) -> T {
        let row = &mut self.slots[pos];
        let (id, deleted, before, copy) = (row.material_id, row.deleted, keys(row), copy_key(row));
        let out = f(row, &mut self.arena);
        row.material_id = id;
        row.deleted = deleted;
        if !deleted {
            self.index.moved(id, before, keys(row));
        }
        if let Some(k) = copy.filter(|&k| copy_key(row) != Some(k)) {
            self.copies.remove(&k);
        }
        if let Some(k) = copy_key(row) {
            self.copies.insert(k);
        }
        out
    }

    /// Adds a live row whose FMaterialId is not live; returns its position. A deleted row's
    /// slot is reused (only `/_mock/rows` can bring an id back).
    pub fn insert(&mut self, mut row: Row) -> usize {
        row.deleted = false;
        self.index.add(&row);
        if let Some(k) = copy_key(&row) {
            self.copies.insert(k);
        }
        self.live += 1;
        if let Some(p) = self.slot_of(row.material_id) {
            debug_assert!(self.slots[p].deleted, "insert of a live FMaterialId");
            if !self.slots[p].deleted {
                self.index.remove(&self.slots[p]);
                if let Some(k) = copy_key(&self.slots[p]) {
                    self.copies.remove(&k);
                }
                self.live -= 1;
            }
            self.slots[p] = row;
            return p;
        }
        let pos = self
            .slots
            .partition_point(|r| r.material_id < row.material_id);
        self.slots.insert(pos, row);
        pos
    }

    /// Deletes the live row at `pos`: it leaves every index and every query.
    pub fn delete(&mut self, pos: usize) {
        let row = &mut self.slots[pos];
        if row.deleted {
            return;
        }
        if let Some(k) = copy_key(row) {
            self.copies.remove(&k);
        }
        row.deleted = true;
        self.index.remove(row);
        self.live -= 1;
    }

    /// Whether every index holds exactly the live rows' keys (for tests).
    pub fn indices_consistent(&self) -> bool {
        let fresh = DateIndices::build(&self.slots);
        DateField::ALL
            .iter()
            .all(|&f| fresh.get(f) == self.index.get(f))
            && self.live == self.live().count()
            && self.copies == self.slots.iter().filter_map(copy_key).collect()
    }
}

#[cfg(test)]
mod tests;
