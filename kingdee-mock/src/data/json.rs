//! Rows as the operator endpoints show and take them: JSON objects keyed by the canonical field
//! names (dotted `.FNumber`/`.FName` included), and patches that insert or edit a row.

use serde_json::{Map, Value as Json};

use super::fields::Col;
#[cfg(test)]
use super::fields::Value;
use super::form::Form;
use super::row::{Arena, REF_COUNT, RefField, Row, Str, TEXT_COUNT, TextField};
use super::tables::{BaseData, ORG_T00};
use crate::dates;

/// Every field of a material `row`, keyed by canonical names in catalogue order.
#[cfg(test)]
pub fn row_object(row: &Row, arena: &Arena) -> Json {
    row_object_of(Form::Material, row, arena)
}

/// Every field of a `form` row, keyed by canonical names in catalogue order.
#[cfg(test)]
pub fn row_object_of(form: Form, row: &Row, arena: &Arena) -> Json {
    let map: Map<String, Json> = form
        .catalogue()
        .iter()
        .map(|(key, col)| (key.clone(), to_json(col.get(row, arena))))
        .collect();
    Json::Object(map)
}

#[cfg(test)]
fn to_json(v: Value<'_>) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Int(i) => Json::from(i),
        Value::Num(n) => Json::from(n),
        Value::Str(s) => Json::from(s),
        Value::Date(t) => Json::from(dates::format_ms(t)),
        Value::Bool(b) => Json::from(b),
    }
}

/// A material that was never generated: audited, enabled, used in T00, stamped `now`.
pub fn blank_row(id: i64, now: i64, arena: &mut Arena) -> Row {
    blank_row_of(Form::Material, id, now, arena)
}

/// A row of `form` that was never generated: audited, enabled, used in T00, stamped `now`.
pub fn blank_row_of(form: Form, id: i64, now: i64, arena: &mut Arena) -> Row {
    let mut text = [Str::default(); TEXT_COUNT];
    for slot in &mut text {
        *slot = arena.push("");
    }
    let noun = match form {
        Form::Material => "物料",
        Form::Customer => "客户",
        Form::Supplier => "供应商",
    };
    text[TextField::Number.slot()] = arena.push(&format!("NEW.{id}"));
    text[TextField::Name.slot()] = arena.push(&format!("新{noun}{id}"));
    text[TextField::DocumentStatus.slot()] = arena.push("C");
    text[TextField::ForbidStatus.slot()] = arena.push("A");
    if form == Form::Material {
        text[TextField::ErpClsId.slot()] = arena.push("1");
    }
    let mut refs = [0u16; REF_COUNT];
    refs[RefField::CreateOrg.slot()] = ORG_T00 as u16;
    refs[RefField::UseOrg.slot()] = ORG_T00 as u16;
    Row {
        material_id: id,
        master_id: id,
        create_date: now,
        modify_date: Some(now),
        approve_date: Some(now),
        forbid_date: None,
        net_weight: 0.0,
        gross_weight: 0.0,
        text,
        product_line: None,
        refs,
        flags: 0,
        deleted: false,
    }
}

/// Applies the fields of `patch` to a material `row`. `FMaterialId` is the row's identity and
/// is skipped. Returns whether the patch set FModifyDate itself.
pub fn apply_patch(
    row: &mut Row,
    arena: &mut Arena,
    patch: &Map<String, Json>,
) -> Result<bool, String> {
    apply_patch_of(Form::Material, row, arena, patch)
}

/// [`apply_patch`] for a row of `form` (its primary key is skipped).
pub fn apply_patch_of(
    form: Form,
    row: &mut Row,
    arena: &mut Arena,
    patch: &Map<String, Json>,
) -> Result<bool, String> {
    let mut modify_set = false;
    for (key, value) in patch {
        let col = form
            .resolve(key)
            .ok_or_else(|| format!("unknown field {key}"))?;
        let bad = || format!("bad value for {key}: {value}");
        match col {
            Col::MaterialId => {}
            Col::MasterId => row.master_id = value.as_i64().ok_or_else(bad)?,
            Col::Text(t) => row.set_text(t, arena.push(&text(value).ok_or_else(bad)?)),
            Col::ProductLine => {
                row.product_line = match value {
                    Json::Null => None,
                    v => Some(arena.push(&text(v).ok_or_else(bad)?)),
                }
            }
            Col::CreateDate => row.create_date = date(value).flatten().ok_or_else(bad)?,
            Col::ModifyDate => {
                row.modify_date = date(value).ok_or_else(bad)?;
                modify_set = true;
            }
            Col::ApproveDate => row.approve_date = date(value).ok_or_else(bad)?,
            Col::ForbidDate => row.forbid_date = date(value).ok_or_else(bad)?,
            Col::NetWeight => row.net_weight = value.as_f64().ok_or_else(bad)?,
            Col::GrossWeight => row.gross_weight = value.as_f64().ok_or_else(bad)?,
            Col::Flag(f) => row.set_flag(f, flag(value).ok_or_else(bad)?),
            Col::RefId(r) => {
                let id = value.as_i64().ok_or_else(bad)?;
                row.set_reference(r, find(r, |b| b.id == id).ok_or_else(bad)?);
            }
            Col::RefNumber(r) => {
                let n = text(value).ok_or_else(bad)?;
                row.set_reference(r, find(r, |b| b.number == n).ok_or_else(bad)?);
            }
            Col::RefName(r) => {
                let n = text(value).ok_or_else(bad)?;
                row.set_reference(r, find(r, |b| b.name == n).ok_or_else(bad)?);
            }
        }
    }
    Ok(modify_set)
}

fn text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `Some(None)` for JSON null, `Some(Some(ms))` for a date string, `None` for anything else.
fn date(v: &Json) -> Option<Option<i64>> {
    match v {
        Json::Null => Some(None),
        Json::String(s) => dates::parse(s).map(Some),
        _ => None,
    }
}

fn flag(v: &Json) -> Option<bool> {
    match v {
        Json::Bool(b) => Some(*b),
        Json::Number(n) => n.as_i64().map(|i| i != 0),
        _ => None,
    }
}

fn find(r: RefField, pred: impl Fn(&BaseData) -> bool) -> Option<usize> {
    r.table().iter().position(pred)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patch_sets_scalars_and_references_by_id_number_or_name() {
        let mut arena = Arena::default();
        let mut row = blank_row(7, 0, &mut arena);
        let patch = json!({"FName": "新名称", "FUseOrgId.FNumber": "101",
            "FCreateOrgId": 100_012, "FBaseUnitId.FName": "千克", "F_ProductLine": "PL-03",
            "FModifyDate": "2024-05-06 07:08:09.010", "FIsSale": true, "FNETWEIGHT": 1.5});
        let modify_set = apply_patch(&mut row, &mut arena, patch.as_object().expect("object"))
            .expect("patch applies");
        assert!(modify_set);
        let obj = row_object(&row, &arena);
        assert_eq!(obj["FName"], "新名称");
        assert_eq!(obj["FUseOrgId.FNumber"], "101");
        assert_eq!(obj["FCreateOrgId.FNumber"], "100");
        assert_eq!(obj["FBaseUnitId.FNumber"], "kg");
        assert_eq!(obj["F_ProductLine"], "PL-03");
        assert_eq!(obj["FModifyDate"], "2024-05-06T07:08:09.010");
        assert_eq!(obj["FIsSale"], true);
        assert_eq!(obj["FNETWEIGHT"], 1.5);
        assert_eq!(obj["FMaterialGroup"], 0);
        assert_eq!(obj["FMaterialGroup.FNumber"], "");
    }

    #[test]
    fn a_patch_with_an_unknown_field_or_reference_is_refused() {
        let mut arena = Arena::default();
        let mut row = blank_row(7, 0, &mut arena);
        let bad = json!({"FNoSuch": 1});
        assert!(apply_patch(&mut row, &mut arena, bad.as_object().expect("object")).is_err());
        let bad = json!({"FUseOrgId.FNumber": "999"});
        assert!(apply_patch(&mut row, &mut arena, bad.as_object().expect("object")).is_err());
    }
}
