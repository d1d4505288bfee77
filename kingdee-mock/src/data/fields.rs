//! The columns a query can read, their types, and a typed accessor over a stored row; which
//! keys name them is each form's catalogue ([`super::form`]). Keys are matched
//! case-insensitively, as the real server does.

use serde::ser::{Serialize, Serializer};

pub use super::form::Form;

use super::row::{Arena, Flag, RefField, Row, TextField};
use crate::dates;

/// A column a query can read. `MaterialId` is the form's primary key (FMaterialId, FCUSTID,
/// FSupplierId): every order ends with it and the row slots are sorted by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    MaterialId,
    MasterId,
    Text(TextField),
    ProductLine,
    CreateDate,
    ModifyDate,
    ApproveDate,
    ForbidDate,
    NetWeight,
    GrossWeight,
    Flag(Flag),
    RefId(RefField),
    RefNumber(RefField),
    RefName(RefField),
}

/// The JSON type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColKind {
    Int,
    Num,
    Str,
    Date,
    Bool,
}

/// One value read from a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Num(f64),
    Str(&'a str),
    Date(i64),
    Bool(bool),
}

/// Every BD_MATERIAL column with its canonical key, in catalogue order.
pub fn catalogue() -> &'static [(String, Col)] {
    Form::Material.catalogue()
}

/// Resolves a BD_MATERIAL field key (`FNUMBER`, `FUseOrgId.FNumber`, …) case-insensitively;
/// [`Form::resolve`] does it for any form.
pub fn resolve(key: &str) -> Option<Col> {
    Form::Material.resolve(key)
}

impl Col {
    pub fn kind(self) -> ColKind {
        match self {
            Col::MaterialId | Col::MasterId | Col::RefId(_) => ColKind::Int,
            Col::NetWeight | Col::GrossWeight => ColKind::Num,
            Col::CreateDate | Col::ModifyDate | Col::ApproveDate | Col::ForbidDate => ColKind::Date,
            Col::Flag(_) => ColKind::Bool,
            Col::Text(_) | Col::ProductLine | Col::RefNumber(_) | Col::RefName(_) => ColKind::Str,
        }
    }

    /// Reads the column of `row`.
    #[inline]
    pub fn get<'a>(self, row: &Row, arena: &'a Arena) -> Value<'a> {
        match self {
            Col::MaterialId => Value::Int(row.material_id),
            Col::MasterId => Value::Int(row.master_id),
            Col::Text(t) => Value::Str(arena.get(row.text(t))),
            Col::ProductLine => row
                .product_line
                .map_or(Value::Null, |s| Value::Str(arena.get(s))),
            Col::CreateDate => Value::Date(row.create_date),
            Col::ModifyDate => row.modify_date.map_or(Value::Null, Value::Date),
            Col::ApproveDate => row.approve_date.map_or(Value::Null, Value::Date),
            Col::ForbidDate => row.forbid_date.map_or(Value::Null, Value::Date),
            Col::NetWeight => Value::Num(row.net_weight),
            Col::GrossWeight => Value::Num(row.gross_weight),
            Col::Flag(f) => Value::Bool(row.flag(f)),
            Col::RefId(r) => Value::Int(base_data(row, r).id),
            Col::RefNumber(r) => Value::Str(base_data(row, r).number),
            Col::RefName(r) => Value::Str(base_data(row, r).name),
        }
    }
}

fn base_data(row: &Row, r: RefField) -> super::tables::BaseData {
    let table = r.table();
    table.get(row.reference(r)).copied().unwrap_or(table[0])
}

impl Value<'_> {
    /// The value as a filter's LIKE sees it.
    pub fn to_text(self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Int(i) => Some(i.to_string()),
            Value::Num(n) => Some(n.to_string()),
            Value::Str(s) => Some(s.to_owned()),
            Value::Date(t) => Some(dates::format_ms(t)),
            Value::Bool(b) => Some(if b { "1" } else { "0" }.to_owned()),
        }
    }
}

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Value::Null => s.serialize_unit(),
            Value::Int(i) => s.serialize_i64(i),
            Value::Num(n) => s.serialize_f64(n),
            Value::Str(v) => s.serialize_str(v),
            Value::Date(t) => {
                let mut buf = String::with_capacity(23);
                dates::write_ms(&mut buf, t);
                s.serialize_str(&buf)
            }
            Value::Bool(b) => s.serialize_bool(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_resolve_case_insensitively_with_dotted_references() {
        assert_eq!(resolve("FNUMBER"), Some(Col::Text(TextField::Number)));
        assert_eq!(resolve(" fmaterialid "), Some(Col::MaterialId));
        assert_eq!(
            resolve("fuseorgid.fnumber"),
            Some(Col::RefNumber(RefField::UseOrg))
        );
        assert_eq!(
            resolve("FCreatorId.FName"),
            Some(Col::RefName(RefField::Creator))
        );
        assert_eq!(resolve("FNumber.FName"), None);
        assert_eq!(resolve("FNoSuchField"), None);
        assert_eq!(resolve("FUseOrgId.FNope"), None);
    }

    #[test]
    fn every_catalogue_key_resolves_to_itself() {
        let all = catalogue();
        assert_eq!(all.len(), 32 + 2 * 10);
        for (key, col) in all {
            assert_eq!(resolve(key), Some(*col), "{key}");
        }
    }
}
