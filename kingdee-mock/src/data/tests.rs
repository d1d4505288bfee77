//! Store tests: generation is deterministic and realistic, and every mutation keeps the slots,
//! tombstones and date indices in step.

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
        s.slots()
            .iter()
            .map(|r| json::row_object(r, s.arena()).to_string())
            .collect()
    };
    assert_eq!(dump(&a), dump(&b));
    assert_ne!(dump(&a), dump(&c));
    assert_eq!(a.len(), 3000);
}

#[test]
fn a_t00_filter_gives_at_most_one_row_per_master() {
    let s = Store::generate(20_000, 7);
    let mut per_master: HashMap<i64, Vec<usize>> = HashMap::new();
    for (_, r) in s.live() {
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
    for (_, r) in s.live() {
        let master = &s.slots()[s.position(r.master_id).expect("master row exists")];
        assert!(r.material_id >= master.material_id);
        assert_eq!(number.get(r, s.arena()), number.get(master, s.arena()));
        assert!(r.modify_date.expect("no NULL dates by default") >= r.create_date);
        assert!(r.gross_weight >= r.net_weight);
    }
}

#[test]
fn audit_fields_follow_the_status_an_unaudited_row_has_no_approval() {
    let s = Store::generate(5000, 9);
    for (_, r) in s.live() {
        let status = s.arena().get(r.text(TextField::DocumentStatus));
        let approver = r.reference(RefField::Approver);
        if status == "C" {
            assert!(r.approve_date.is_some() && approver != 0);
        } else {
            assert!(r.approve_date.is_none() && approver == 0, "status {status}");
        }
        let forbidden = s.arena().get(r.text(TextField::ForbidStatus)) == "B";
        assert_eq!(r.forbid_date.is_some(), forbidden);
    }
}

#[test]
fn dates_rise_with_ids_but_not_strictly() {
    let s = Store::generate(10_000, 42);
    let dates: Vec<i64> = s.live().map(|(_, r)| r.create_date).collect();
    let inversions = dates.windows(2).filter(|w| w[1] < w[0]).count();
    assert!(inversions > 0);
    assert!(dates[dates.len() - 1] > dates[0]);
    let first = Col::CreateDate.get(&s.slots()[0], s.arena());
    assert!(matches!(first, Value::Date(t) if t >= crate::dates::ms_of(2019, 1, 1, 0, 0, 0, 0)));
}

#[test]
fn a_null_modify_date_ratio_blanks_that_share_of_rows_and_indexes_them_first() {
    let plain = Store::generate(10_000, 5);
    let s = Store::generate_with(10_000, 5, 0.1);
    let nulls = s.live().filter(|(_, r)| r.modify_date.is_none()).count();
    assert!((800..1200).contains(&nulls), "{nulls} of 10000");
    // The rest of the data set is the same rows.
    for ((_, a), (_, b)) in plain.live().zip(s.live()) {
        assert_eq!(a.material_id, b.material_id);
        assert_eq!(a.text, b.text);
        assert!(b.modify_date.is_none() || b.modify_date == a.modify_date);
    }
    let first = s.date_index(DateField::Modify).iter().take(nulls);
    assert!(first.clone().all(|&(t, _)| t == NULL_KEY));
    let ids: Vec<i64> = first.map(|&(_, id)| id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "NULLs in id order");
    assert!(s.indices_consistent());
}

#[test]
fn updates_keep_every_date_index_in_step() {
    let mut s = Store::generate(100, 1);
    let t = s.fresh_timestamp();
    s.update(5, |r, _| {
        r.modify_date = Some(t);
        r.approve_date = None;
        r.forbid_date = Some(t);
    });
    let id = s.slots()[5].material_id;
    assert_eq!(s.date_index(DateField::Modify).last(), Some(&(t, id)));
    assert_eq!(s.date_index(DateField::Forbid).last(), Some(&(t, id)));
    assert!(s.date_index(DateField::Approve).contains(&(NULL_KEY, id)));
    assert_eq!(s.date_index(DateField::Modify).len(), 100);
    assert!(s.fresh_timestamp() > t);
    assert!(s.indices_consistent());
}

#[test]
fn a_deleted_row_leaves_every_index_and_lookup_but_keeps_its_id_taken() {
    let mut s = Store::generate(100, 1);
    let last = s.slots()[99].material_id;
    let id = s.slots()[40].material_id;
    s.delete(40);
    assert_eq!(s.len(), 99);
    assert_eq!(s.position(id), None);
    assert_eq!(s.slot_of(id), Some(40));
    for f in DateField::ALL {
        assert!(s.date_index(f).iter().all(|&(_, i)| i != id), "{f:?}");
        assert_eq!(s.date_index(f).len(), 99);
    }
    assert!(s.live().all(|(_, r)| r.material_id != id));
    // Later rows are still found by offset, and ids are never handed out twice.
    assert_eq!(s.position(last), Some(99));
    s.delete(99);
    assert_eq!(s.next_id(), last + 1);
    assert!(s.indices_consistent());
    // Bringing an id back reuses its slot.
    let mut back = s.slots()[40].clone();
    back.modify_date = Some(1);
    assert_eq!(s.insert(back), 40);
    assert_eq!(s.position(id), Some(40));
    assert_eq!(s.len(), 99);
    assert!(s.indices_consistent());
}
