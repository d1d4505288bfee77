//! The mock's data set: BD_MATERIAL rows sorted by FMaterialId, their text arena, and ordered
//! indices on (FModifyDate, FMaterialId) and (FCreateDate, FMaterialId) so keyset pages on
//! dates need not scan every row. All mutation goes through [`Store::update`] and
//! [`Store::insert`], which keep the indices in step.

pub mod fields;
pub mod generate;
pub mod json;
pub mod row;
pub mod tables;

use std::collections::BTreeSet;

use row::{Arena, Row};

/// A date index: (date in ms, FMaterialId).
pub type DateIndex = BTreeSet<(i64, i64)>;

#[derive(Debug)]
pub struct Store {
    rows: Vec<Row>,
    arena: Arena,
    by_modify: DateIndex,
    by_create: DateIndex,
}

impl Store {
    /// Generates the initial data set.
    pub fn generate(rows: usize, seed: u64) -> Self {
        let (rows, arena) = generate::generate(rows, seed);
        Self::from_rows(rows, arena)
    }

    pub fn from_rows(mut rows: Vec<Row>, arena: Arena) -> Self {
        rows.sort_by_key(|r| r.material_id);
        let by_modify = rows
            .iter()
            .map(|r| (r.modify_date, r.material_id))
            .collect();
        let by_create = rows
            .iter()
            .map(|r| (r.create_date, r.material_id))
            .collect();
        Self {
            rows,
            arena,
            by_modify,
            by_create,
        }
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub fn arena(&self) -> &Arena {
        &self.arena
    }

    pub fn by_modify(&self) -> &DateIndex {
        &self.by_modify
    }

    pub fn by_create(&self) -> &DateIndex {
        &self.by_create
    }

    /// The position of a FMaterialId in [`Store::rows`]. Ids are dense unless rows were
    /// inserted with ids of their own, so the id's offset from the first is tried first.
    pub fn position(&self, material_id: i64) -> Option<usize> {
        let first = self.rows.first()?.material_id;
        let guess = usize::try_from(material_id - first).ok();
        if let Some(i) = guess.filter(|&i| {
            self.rows
                .get(i)
                .is_some_and(|r| r.material_id == material_id)
        }) {
            return Some(i);
        }
        self.rows
            .binary_search_by_key(&material_id, |r| r.material_id)
            .ok()
    }

    /// The FMaterialId a new row gets.
    pub fn next_id(&self) -> i64 {
        self.rows
            .last()
            .map_or(generate::FIRST_ID, |r| r.material_id + 1)
    }

    /// A timestamp strictly later than every FModifyDate and FCreateDate held, and not earlier
    /// than the server's clock: what an edit made now would record.
    pub fn fresh_timestamp(&self) -> i64 {
        let newest = [self.by_modify.last(), self.by_create.last()]
            .into_iter()
            .flatten()
            .map(|&(t, _)| t)
            .max()
            .unwrap_or(i64::MIN);
        crate::dates::now_ms().max(newest.saturating_add(1))
    }

    /// Changes the row at `pos` (its FMaterialId must stay the same).
    pub fn update<T>(&mut self, pos: usize, f: impl FnOnce(&mut Row, &mut Arena) -> T) -> T {
        let row = &mut self.rows[pos];
        let id = row.material_id;
        self.by_modify.remove(&(row.modify_date, id));
        self.by_create.remove(&(row.create_date, id));
        let out = f(row, &mut self.arena);
        row.material_id = id;
        self.by_modify.insert((row.modify_date, id));
        self.by_create.insert((row.create_date, id));
        out
    }

    /// Adds a row whose FMaterialId is not held yet; returns its position.
    pub fn insert(&mut self, row: Row) -> usize {
        let pos = self
            .rows
            .partition_point(|r| r.material_id < row.material_id);
        self.by_modify.insert((row.modify_date, row.material_id));
        self.by_create.insert((row.create_date, row.material_id));
        self.rows.insert(pos, row);
        pos
    }

    pub fn arena_mut(&mut self) -> &mut Arena {
        &mut self.arena
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::data::fields::{Col, Value};
    use crate::data::row::{RefField, TextField};

    #[test]
    fn same_seed_gives_the_same_rows_and_another_seed_differs() {
        let a = Store::generate(3000, 42);
        let b = Store::generate(3000, 42);
        let c = Store::generate(3000, 43);
        let dump = |s: &Store| -> Vec<String> {
            s.rows()
                .iter()
                .map(|r| json::row_object(r, s.arena()).to_string())
                .collect()
        };
        assert_eq!(dump(&a), dump(&b));
        assert_ne!(dump(&a), dump(&c));
        assert_eq!(a.rows().len(), 3000);
    }

    #[test]
    fn a_t00_filter_gives_at_most_one_row_per_master() {
        let s = Store::generate(20_000, 7);
        let mut per_master: HashMap<i64, Vec<usize>> = HashMap::new();
        for r in s.rows() {
            per_master
                .entry(r.master_id)
                .or_default()
                .push(r.reference(RefField::UseOrg));
        }
        let allocated = per_master.values().filter(|orgs| orgs.len() > 1).count();
        assert!(allocated > per_master.len() / 10, "about 15% are allocated");
        for orgs in per_master.values() {
            let mut unique = orgs.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), orgs.len(), "one row per org and master");
            assert!(orgs.iter().filter(|&&o| o == tables::ORG_T00).count() <= 1);
        }
    }

    #[test]
    fn copies_share_master_and_number_and_come_later() {
        let s = Store::generate(5000, 3);
        let number = Col::Text(TextField::Number);
        for r in s.rows() {
            let master = &s.rows()[s.position(r.master_id).expect("master row exists")];
            assert!(r.material_id >= master.material_id);
            assert_eq!(number.get(r, s.arena()), number.get(master, s.arena()));
            assert!(r.modify_date >= r.create_date);
            assert!(r.gross_weight >= r.net_weight);
        }
    }

    #[test]
    fn dates_rise_with_ids_but_not_strictly() {
        let s = Store::generate(10_000, 42);
        let dates: Vec<i64> = s.rows().iter().map(|r| r.create_date).collect();
        let inversions = dates.windows(2).filter(|w| w[1] < w[0]).count();
        assert!(inversions > 0);
        assert!(dates[dates.len() - 1] > dates[0]);
        let first = Col::CreateDate.get(&s.rows()[0], s.arena());
        assert!(
            matches!(first, Value::Date(t) if t >= crate::dates::ms_of(2019, 1, 1, 0, 0, 0, 0))
        );
    }

    #[test]
    fn updates_keep_the_date_index_in_step() {
        let mut s = Store::generate(100, 1);
        let t = s.fresh_timestamp();
        s.update(5, |r, _| r.modify_date = t);
        assert_eq!(s.by_modify().last(), Some(&(t, s.rows()[5].material_id)));
        assert_eq!(s.by_modify().len(), 100);
        assert!(s.fresh_timestamp() > t);
    }
}
