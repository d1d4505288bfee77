//! Operations that add a row: create (a new material, status A, FMasterId = FMaterialId) and
//! allocate (分配: a copy of an audited material for another use-org, with a new FMaterialId,
//! the same FMasterId and FNumber; one org never holds two rows of one master).

use serde_json::{Map, Value};

use super::{Change, Ctx, Op, Refusal, after_own_dates};
use crate::data::json::apply_patch;
use crate::data::row::{RefField, TextField};
use crate::data::tables::ORGS;
use crate::data::{DateField, Store, generate};

/// Creates one material (status A, enabled, unapproved), with `fields` applied on top.
pub fn create(
    store: &mut Store,
    fields: Option<&Map<String, Value>>,
    ctx: &mut Ctx<'_>,
) -> Result<Change, Refusal> {
    let id = store.next_id();
    let stamp = ctx.stamp(store, i64::MIN);
    let serial = store.take_serial();
    let mut row = generate::material(id, serial, stamp.at, ctx.rng, store.arena_mut());
    if let Some(fields) = fields {
        apply_patch(&mut row, store.arena_mut(), fields).map_err(|message| Refusal {
            material_id: id,
            msg_code: 9,
            message,
        })?;
    }
    let mut change = Change::of(Op::Create, &row, store.arena(), stamp.lag_ms);
    change.dates = vec![
        (DateField::Create, Some(row.create_date)),
        (DateField::Modify, row.modify_date),
    ];
    store.insert(row);
    Ok(change)
}

/// The use-orgs (indices into [`ORGS`]) holding a live row of `master_id`.
pub fn orgs_of(store: &Store, master_id: i64) -> Vec<usize> {
    store
        .of_master(master_id)
        .into_iter()
        .map(|p| store.slots()[p].reference(RefField::UseOrg))
        .collect()
}

/// Whether the row at `pos` is its master's own row and other rows of the master live on.
pub fn has_copies(store: &Store, pos: usize) -> bool {
    let row = &store.slots()[pos];
    row.material_id == row.master_id && store.of_master(row.master_id).len() > 1
}

/// Copies the audited row at `pos` to `org` (or a random org its master lacks). The error is
/// the reason, to be worded by the caller.
pub fn allocate(
    store: &mut Store,
    pos: usize,
    org: Option<usize>,
    audit: bool,
    ctx: &mut Ctx<'_>,
) -> Result<Change, String> {
    let source = store.slots()[pos].clone();
    let held = orgs_of(store, source.master_id);
    let target = match org {
        Some(o) if held.contains(&o) => {
            let name = ORGS.get(o).map_or("", |b| b.number);
            return Err(format!("已分配到组织“{name}”，不能重复分配。"));
        }
        Some(o) => o,
        None => {
            let free: Vec<usize> = (1..ORGS.len()).filter(|o| !held.contains(o)).collect();
            if free.is_empty() {
                return Err("已分配到所有组织。".to_owned());
            }
            free[ctx.rng.below(free.len() as u64) as usize]
        }
    };
    let stamp = ctx.stamp(store, after_own_dates(&source));
    let (t, user) = (stamp.at, ctx.user());
    let mut row = source;
    row.material_id = store.next_id();
    row.set_reference(RefField::UseOrg, target);
    row.create_date = t;
    row.modify_date = Some(t);
    row.set_reference(RefField::Creator, user);
    row.set_reference(RefField::Modifier, user);
    let arena = store.arena_mut();
    row.set_text(
        TextField::DocumentStatus,
        arena.push(if audit { "C" } else { "A" }),
    );
    row.approve_date = audit.then_some(t);
    row.set_reference(RefField::Approver, if audit { user } else { 0 });
    row.set_text(TextField::ForbidStatus, arena.push("A"));
    row.forbid_date = None;
    row.set_reference(RefField::Forbidder, 0);
    let mut change = Change::of(Op::Allocate, &row, arena, stamp.lag_ms);
    change.dates = vec![(DateField::Create, Some(t)), (DateField::Modify, Some(t))];
    if audit {
        change.dates.push((DateField::Approve, Some(t)));
    }
    store.insert(row);
    Ok(change)
}
