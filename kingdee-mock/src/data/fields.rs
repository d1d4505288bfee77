//! The BD_MATERIAL field catalogue: every field key a query may name (dotted base-data
//! references included), its type, and a typed accessor over a stored row. Keys are matched
//! case-insensitively, as the real server does.

use std::sync::LazyLock;

use serde::ser::{Serialize, Serializer};

use super::row::{Arena, Flag, RefField, Row, TextField};
use crate::dates;

/// A column a query can read.
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

/// The scalar fields, in the order `/_mock/rows` and QueryBusinessInfo list them; every
/// base-data reference adds `.FNumber` and `.FName` after its id.
static SCALARS: &[(&str, Col)] = &[
    ("FMaterialId", Col::MaterialId),
    ("FMasterId", Col::MasterId),
    ("FNumber", Col::Text(TextField::Number)),
    ("FName", Col::Text(TextField::Name)),
    ("FSpecification", Col::Text(TextField::Specification)),
    ("FMnemonicCode", Col::Text(TextField::MnemonicCode)),
    ("FOldNumber", Col::Text(TextField::OldNumber)),
    ("FDescription", Col::Text(TextField::Description)),
    ("FMaterialGroup", Col::RefId(RefField::MaterialGroup)),
    ("FDocumentStatus", Col::Text(TextField::DocumentStatus)),
    ("FForbidStatus", Col::Text(TextField::ForbidStatus)),
    ("FCreateOrgId", Col::RefId(RefField::CreateOrg)),
    ("FUseOrgId", Col::RefId(RefField::UseOrg)),
    ("FCreatorId", Col::RefId(RefField::Creator)),
    ("FModifierId", Col::RefId(RefField::Modifier)),
    ("FApproverId", Col::RefId(RefField::Approver)),
    ("FForbidderId", Col::RefId(RefField::Forbidder)),
    ("FCreateDate", Col::CreateDate),
    ("FModifyDate", Col::ModifyDate),
    ("FApproveDate", Col::ApproveDate),
    ("FForbidDate", Col::ForbidDate),
    ("FErpClsID", Col::Text(TextField::ErpClsId)),
    ("FBaseUnitId", Col::RefId(RefField::BaseUnit)),
    ("FCategoryID", Col::RefId(RefField::Category)),
    ("FTaxRateId", Col::RefId(RefField::TaxRate)),
    ("FIsPurchase", Col::Flag(Flag::IsPurchase)),
    ("FIsInventory", Col::Flag(Flag::IsInventory)),
    ("FIsSale", Col::Flag(Flag::IsSale)),
    ("FBARCODE", Col::Text(TextField::Barcode)),
    ("FNETWEIGHT", Col::NetWeight),
    ("FGROSSWEIGHT", Col::GrossWeight),
    ("F_ProductLine", Col::ProductLine),
];

static CATALOGUE: LazyLock<Vec<(String, Col)>> = LazyLock::new(|| {
    SCALARS
        .iter()
        .flat_map(|&(key, col)| {
            let refs = match col {
                Col::RefId(r) => vec![
                    (format!("{key}.FNumber"), Col::RefNumber(r)),
                    (format!("{key}.FName"), Col::RefName(r)),
                ],
                _ => Vec::new(),
            };
            std::iter::once((key.to_owned(), col)).chain(refs)
        })
        .collect()
});

/// Every column with its canonical key, in catalogue order.
pub fn catalogue() -> &'static [(String, Col)] {
    &CATALOGUE
}

/// Resolves a field key (`FNUMBER`, `FUseOrgId.FNumber`, …) case-insensitively.
pub fn resolve(key: &str) -> Option<Col> {
    let key = key.trim();
    let (head, tail) = match key.split_once('.') {
        Some((h, t)) => (h, Some(t)),
        None => (key, None),
    };
    let &(_, col) = SCALARS.iter().find(|(k, _)| k.eq_ignore_ascii_case(head))?;
    match (col, tail) {
        (col, None) => Some(col),
        (Col::RefId(r), Some(t)) if t.eq_ignore_ascii_case("FNumber") => Some(Col::RefNumber(r)),
        (Col::RefId(r), Some(t)) if t.eq_ignore_ascii_case("FName") => Some(Col::RefName(r)),
        (Col::RefId(r), Some(t)) if t.eq_ignore_ascii_case("FId") => Some(Col::RefId(r)),
        _ => None,
    }
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
