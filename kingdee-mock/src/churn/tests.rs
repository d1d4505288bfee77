//! Churn tests: a seed repeats the same operations, every kind of operation happens under the
//! real rules, and after thousands of them every index-driven page equals a brute-force scan.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::config::Living;
use crate::data::Store;
use crate::data::row::RefField;
use crate::dates::{format_ms, ms_of};
use crate::lifecycle::{Change, Op, doc_status};
use crate::query::tests::pages_equal_a_full_sort;

/// Runs `ops` churn steps on a fresh store, the clock moving 250 ms a step.
fn churn(rows: usize, seed: u64, ops: usize, living: &Living) -> (Store, Vec<Change>) {
    let mut store = Store::generate_with(rows, 17, 0.05);
    let mut planner = Planner::new(seed, &Mix::default());
    let mut now = ms_of(2025, 6, 1, 9, 0, 0, 0);
    let changes = (0..ops)
        .map(|_| {
            now += 250;
            planner
                .step(&mut store, living, now)
                .expect("a step applies")
        })
        .collect();
    assert_eq!(planner.refused, 0, "nothing else changes the rows");
    (store, changes)
}

fn dump(store: &Store) -> Vec<String> {
    store
        .slots()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.deleted,
                crate::data::json::row_object(r, store.arena())
            )
        })
        .collect()
}

#[test]
fn a_seed_repeats_the_same_operations_on_the_same_rows() {
    let living = Living {
        late_commit_max_secs: 20,
        ..Living::default()
    };
    let (a, log_a) = churn(2000, 9, 1500, &living);
    let (b, log_b) = churn(2000, 9, 1500, &living);
    let (c, log_c) = churn(2000, 10, 1500, &living);
    assert_eq!(log_a, log_b);
    assert_eq!(dump(&a), dump(&b));
    assert_ne!(log_a, log_c);
    assert_ne!(dump(&a), dump(&c));
}

#[test]
fn the_churn_applies_every_operation_in_realistic_order() {
    let (store, log) = churn(3000, 4, 4000, &Living::default());
    let mut counts: HashMap<Op, usize> = HashMap::new();
    for c in &log {
        *counts.entry(c.op).or_default() += 1;
    }
    for op in [
        Op::Save,
        Op::Submit,
        Op::Audit,
        Op::Unaudit,
        Op::Forbid,
        Op::Enable,
        Op::Delete,
        Op::Allocate,
        Op::Create,
    ] {
        assert!(
            counts.get(&op).copied().unwrap_or(0) > 20,
            "{op:?}: {counts:?}"
        );
    }
    // Every audit follows a submit of the same row, every delete finds the row un-audited.
    let mut last: HashMap<i64, Op> = HashMap::new();
    for c in &log {
        match c.op {
            Op::Audit => assert!(
                matches!(last.get(&c.material_id), Some(Op::Submit) | None),
                "audit after {:?}",
                last.get(&c.material_id)
            ),
            Op::Delete => assert_ne!(c.status, "C"),
            _ => {}
        }
        last.insert(c.material_id, c.op);
    }
    // The invariants of the final rows: an approval exactly on audited rows, one row per
    // master and org, deleted rows in no index.
    let arena = store.arena();
    let mut seen = HashSet::new();
    for (_, r) in store.live() {
        let audited = doc_status(r, arena) == "C";
        assert_eq!(r.approve_date.is_some(), audited, "{}", r.material_id);
        assert_eq!(r.reference(RefField::Approver) != 0, audited);
        assert!(seen.insert((r.master_id, r.reference(RefField::UseOrg))));
    }
    let deleted = log.iter().filter(|c| c.op == Op::Delete).count();
    let created = log
        .iter()
        .filter(|c| matches!(c.op, Op::Create | Op::Allocate))
        .count();
    assert_eq!(store.len(), 3000 + created - deleted);
    assert!(store.indices_consistent());
}

#[test]
fn after_thousands_of_operations_every_index_page_equals_a_brute_force_scan() {
    let living = Living {
        late_commit_max_secs: 5,
        ..Living::default()
    };
    let (store, log) = churn(4000, 12, 6000, &living);
    assert!(store.indices_consistent());
    // Cursors just behind the churn's latest stamps, so the pages hold churned rows.
    let stamp = |op: Op| {
        let c = log.iter().rev().filter(|c| c.op == op).nth(40).expect("op");
        let t = c.dates.iter().find_map(|&(_, t)| t).expect("a date");
        (format_ms(t), c.material_id)
    };
    let job = "FUseOrgId.FNumber = 'T00' AND FDocumentStatus = 'C' AND FForbidStatus = 'A'";
    let mut filters = vec![String::new(), job.to_owned()];
    for (field, op) in [
        ("FModifyDate", Op::Save),
        ("FApproveDate", Op::Audit),
        ("FForbidDate", Op::Forbid),
    ] {
        let (t, k) = stamp(op);
        let cursor = format!("{field} > '{t}' OR ({field} = '{t}' AND FMaterialId > {k})");
        filters.push(format!("({job}) AND ({cursor})"));
        filters.push(cursor);
        filters.push(format!("{field} IS NULL"));
    }
    let (_, k) = stamp(Op::Create);
    filters.push(format!("FMaterialId > {}", k - 300));
    let orders = [
        "FMaterialId",
        "FModifyDate, FMaterialId",
        "FApproveDate ASC, FMaterialId ASC",
        "FForbidDate, FMaterialId",
        "FCreateDate DESC, FMaterialId DESC",
        "FName",
    ];
    let windows = [(0, 0, 0), (0, 0, 100), (0, 100, 100), (150, 50, 100)];
    let nonempty = pages_equal_a_full_sort(&store, &filters, &orders, &windows);
    assert!(nonempty > 100, "the pages hold rows: {nonempty}");
}
