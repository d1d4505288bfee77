//! Operations on one existing row: the status rules K3Cloud enforces and the dates and users
//! each operation stamps. Save edits only un-audited rows (Z, A, D; Z becomes A); submit moves
//! A or D to B; audit moves B to C; un-audit moves C to D and clears the approval; forbid and
//! enable flip FForbidStatus; delete removes a Z, A or D row unless other orgs hold copies of
//! its master.

use super::{Change, Ctx, Edit, Op, Refusal, Request, after_own_dates, doc_status, forbid_status};
use super::{next_version, rows};
use crate::data::fields::{Col, resolve};
use crate::data::json::apply_patch;
use crate::data::row::{Arena, RefField, Row, TextField};
use crate::data::{DateField, Store};

/// Applies one operation to the live row `material_id`.
pub fn apply(
    store: &mut Store,
    material_id: i64,
    request: &Request,
    ctx: &mut Ctx<'_>,
) -> Result<Change, Refusal> {
    let pos = store
        .position(material_id)
        .ok_or_else(|| Refusal::missing(material_id))?;
    let row = &store.slots()[pos];
    let arena = store.arena();
    let number = arena.get(row.text(TextField::Number)).to_owned();
    let refuse = |why: &str| Err(Refusal::rule(material_id, &number, why));
    let (status, forbid) = (doc_status(row, arena), forbid_status(row, arena));
    match request {
        Request::Save(_) if status == "B" => refuse("正在审核中，不允许修改。"),
        Request::Save(_) if status == "C" => refuse("已审核，不允许修改，请先反审核。"),
        Request::Submit if status == "Z" => refuse("为暂存状态，请先保存再提交。"),
        Request::Submit if status == "B" => refuse("已经提交，不能重复提交。"),
        Request::Submit if status == "C" => refuse("已审核，不能提交。"),
        Request::Audit if status == "C" => refuse("，单据已经审核！"),
        Request::Audit if status != "B" => refuse("不是审核中状态，请先提交。"),
        Request::Unaudit if status != "C" => refuse("未审核，不能反审核。"),
        Request::Forbid if forbid == "B" => refuse("已禁用，不能重复禁用。"),
        Request::Enable if forbid != "B" => refuse("未禁用，不需要反禁用。"),
        Request::Delete if status == "B" => refuse("正在审核中，不允许删除。"),
        Request::Delete if status == "C" => refuse("已审核，不允许删除。"),
        Request::Delete if rows::has_copies(store, pos) => {
            refuse("已分配到其他组织，不允许删除，请先取消分配。")
        }
        Request::Allocate { .. } if status != "C" => refuse("未审核，不能分配。"),
        Request::Allocate { .. } if forbid == "B" => refuse("已禁用，不能分配。"),
        Request::Allocate { org, audit } => rows::allocate(store, pos, *org, *audit, ctx)
            .map_err(|why| Refusal::rule(material_id, &number, &why)),
        Request::Delete => {
            let change = Change::of(Op::Delete, row, arena, 0);
            store.delete(pos);
            Ok(change)
        }
        Request::Save(edit) => save(store, pos, edit, ctx),
        _ => Ok(flip(store, pos, request, ctx)),
    }
}

fn save(store: &mut Store, pos: usize, edit: &Edit, ctx: &mut Ctx<'_>) -> Result<Change, Refusal> {
    let mut row = store.slots()[pos].clone();
    let stamp = ctx.stamp(store, after_own_dates(&row));
    let arena = store.arena_mut();
    match edit {
        Edit::Name => bump(&mut row, arena, TextField::Name),
        Edit::Spec => bump(&mut row, arena, TextField::Specification),
        Edit::Both => {
            bump(&mut row, arena, TextField::Name);
            bump(&mut row, arena, TextField::Specification);
        }
        Edit::Patch(fields) => {
            if let Some(key) = fields.keys().find(|k| resolve(k).is_some_and(system_owned)) {
                return Err(Refusal {
                    material_id: row.material_id,
                    msg_code: 11,
                    message: format!("字段{key}由系统维护，保存时不能修改。"),
                });
            }
            apply_patch(&mut row, arena, fields).map_err(|message| Refusal {
                material_id: row.material_id,
                msg_code: 9,
                message,
            })?;
        }
    }
    if doc_status(&row, arena) == "Z" {
        row.set_text(TextField::DocumentStatus, arena.push("A"));
    }
    // A save always stamps, whatever the fields said: it is what the save did.
    row.modify_date = Some(stamp.at);
    row.set_reference(RefField::Modifier, ctx.user());
    let mut change = Change::of(Op::Save, &row, arena, stamp.lag_ms);
    change.dates.push((DateField::Modify, Some(stamp.at)));
    store.update(pos, |r, _| *r = row);
    Ok(change)
}

/// Fields only operations set (statuses, ids, org, the audit and forbid trail, dates): a save
/// that names one is refused, so `/_mock/ops` cannot break the rules (`/_mock/rows` can).
fn system_owned(col: Col) -> bool {
    matches!(
        col,
        Col::MaterialId
            | Col::MasterId
            | Col::Text(TextField::DocumentStatus | TextField::ForbidStatus)
            | Col::CreateDate
            | Col::ModifyDate
            | Col::ApproveDate
            | Col::ForbidDate
    ) || matches!(
        col,
        Col::RefId(r) | Col::RefNumber(r) | Col::RefName(r)
            if matches!(
                r,
                RefField::UseOrg
                    | RefField::CreateOrg
                    | RefField::Creator
                    | RefField::Modifier
                    | RefField::Approver
                    | RefField::Forbidder
            )
    )
}

fn bump(row: &mut Row, arena: &mut Arena, field: TextField) {
    let next = next_version(arena.get(row.text(field)));
    row.set_text(field, arena.push(&next));
}

/// Submit, audit, un-audit, forbid, enable: a status flips and its date moves (FModifyDate
/// too only when `audit_moves_modify_date`).
fn flip(store: &mut Store, pos: usize, request: &Request, ctx: &mut Ctx<'_>) -> Change {
    let floor = after_own_dates(&store.slots()[pos]);
    let stamp = ctx.stamp(store, floor);
    let t = stamp.at;
    let user = ctx.user();
    let (op, text, value, date) = match request {
        Request::Submit => (Op::Submit, TextField::DocumentStatus, "B", None),
        Request::Audit => (Op::Audit, TextField::DocumentStatus, "C", Some(Some(t))),
        Request::Unaudit => (Op::Unaudit, TextField::DocumentStatus, "D", Some(None)),
        Request::Forbid => (Op::Forbid, TextField::ForbidStatus, "B", Some(Some(t))),
        _ if ctx.living.enable_clears_forbid_date => {
            (Op::Enable, TextField::ForbidStatus, "A", Some(None))
        }
        _ => (Op::Enable, TextField::ForbidStatus, "A", Some(Some(t))),
    };
    let moves_modify = ctx.living.audit_moves_modify_date;
    store.update(pos, |row, arena| {
        row.set_text(text, arena.push(value));
        let mut change = Change::of(op, row, arena, stamp.lag_ms);
        if let Some(date) = date {
            let (field, who) = if text == TextField::ForbidStatus {
                (DateField::Forbid, RefField::Forbidder)
            } else {
                (DateField::Approve, RefField::Approver)
            };
            match field {
                DateField::Forbid => row.forbid_date = date,
                _ => row.approve_date = date,
            }
            row.set_reference(who, if date.is_some() { user } else { 0 });
            change.dates.push((field, date));
        }
        if moves_modify {
            row.modify_date = Some(t);
            change.dates.push((DateField::Modify, Some(t)));
        }
        if change.dates.is_empty() {
            change.lag_ms = 0;
        }
        change
    })
}
