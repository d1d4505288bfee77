//! The forms the mock serves (BD_MATERIAL, BD_Customer, BD_Supplier) and each one's field
//! catalogue: which keys a query may name and which stored column each reads. A form is data:
//! the store, the query engine, the renderer, QueryBusinessInfo and `/_mock/rows` look the
//! form up here and share everything else.

use std::sync::LazyLock;

use super::fields::Col;
use super::row::{Flag, RefField, TextField};

/// A form (业务对象) the mock serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    Material,
    Customer,
    Supplier,
}

/// A catalogue's scalar fields, in the order `/_mock/rows` and QueryBusinessInfo list them:
/// the form's own fields before [`LIFECYCLE`], LIFECYCLE, then the rest. Every base-data
/// reference adds `.FNumber` and `.FName` after its id. The first is the primary key.
type Scalars = (
    &'static [(&'static str, Col)],
    &'static [(&'static str, Col)],
);

/// The statuses, orgs, users and dates every base-data form has, in the same slots.
static LIFECYCLE: &[(&str, Col)] = &[
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
];

static MATERIAL: Scalars = (
    &[
        ("FMaterialId", Col::MaterialId),
        ("FMasterId", Col::MasterId),
        ("FNumber", Col::Text(TextField::Number)),
        ("FName", Col::Text(TextField::Name)),
        ("FSpecification", Col::Text(TextField::Specification)),
        ("FMnemonicCode", Col::Text(TextField::MnemonicCode)),
        ("FOldNumber", Col::Text(TextField::OldNumber)),
        ("FDescription", Col::Text(TextField::Description)),
        ("FMaterialGroup", Col::RefId(RefField::MaterialGroup)),
    ],
    &[
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
    ],
);

/// BD_Customer, spelled as K3Cloud spells its keys (FCUSTID, FCOUNTRY, FTEL… in capitals).
static CUSTOMER: Scalars = (
    &[
        ("FCUSTID", Col::MaterialId),
        ("FMasterId", Col::MasterId),
        ("FNumber", Col::Text(TextField::Number)),
        ("FName", Col::Text(TextField::Name)),
        ("FShortName", Col::Text(TextField::ShortName)),
        ("FCOUNTRY", Col::RefId(RefField::Country)),
        ("FADDRESS", Col::Text(TextField::Address)),
        ("FTEL", Col::Text(TextField::Tel)),
        ("FTaxRegisterCode", Col::Text(TextField::TaxRegisterCode)),
        ("FSELLER", Col::RefId(RefField::Seller)),
        ("FTRADINGCURRID", Col::RefId(RefField::Currency)),
    ],
    &[],
);

/// BD_Supplier.
static SUPPLIER: Scalars = (
    &[
        ("FSupplierId", Col::MaterialId),
        ("FMasterId", Col::MasterId),
        ("FNumber", Col::Text(TextField::Number)),
        ("FName", Col::Text(TextField::Name)),
        ("FShortName", Col::Text(TextField::ShortName)),
        ("FGroup", Col::RefId(RefField::SupplierGroup)),
        ("FSupplyClassify", Col::Text(TextField::SupplyClassify)),
        ("FCountry", Col::RefId(RefField::Country)),
        ("FAddress", Col::Text(TextField::Address)),
        ("FContact", Col::Text(TextField::Contact)),
        ("FTel", Col::Text(TextField::Tel)),
        ("FTaxRegisterCode", Col::Text(TextField::TaxRegisterCode)),
        ("FPayCurrencyId", Col::RefId(RefField::Currency)),
    ],
    &[],
);

/// Each form's scalars with the dotted `.FNumber`/`.FName` of every reference after its id.
fn expand(scalars: &[(&str, Col)]) -> Vec<(String, Col)> {
    scalars
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
}

static SCALARS: LazyLock<[Vec<(&'static str, Col)>; 3]> = LazyLock::new(|| {
    [MATERIAL, CUSTOMER, SUPPLIER].map(|(own, rest)| [own, LIFECYCLE, rest].concat())
});

static CATALOGUES: LazyLock<[Vec<(String, Col)>; 3]> =
    LazyLock::new(|| Form::ALL.map(|f| expand(f.scalars())));

impl Form {
    pub const ALL: [Form; 3] = [Form::Material, Form::Customer, Form::Supplier];

    /// The FormId, as K3Cloud spells it.
    pub fn id(self) -> &'static str {
        match self {
            Form::Material => "BD_MATERIAL",
            Form::Customer => "BD_Customer",
            Form::Supplier => "BD_Supplier",
        }
    }

    /// The form a FormId names, case-insensitively (surrounding spaces ignored).
    pub fn parse(id: &str) -> Option<Self> {
        let id = id.trim();
        Self::ALL
            .into_iter()
            .find(|f| f.id().eq_ignore_ascii_case(id))
    }

    /// The scalar fields, primary key first.
    pub fn scalars(self) -> &'static [(&'static str, Col)] {
        &SCALARS[self as usize]
    }

    /// The primary key's field key (FMaterialId, FCUSTID, FSupplierId).
    pub fn pk_key(self) -> &'static str {
        self.scalars()[0].0
    }

    /// Every column with its canonical key, in catalogue order.
    pub fn catalogue(self) -> &'static [(String, Col)] {
        &CATALOGUES[self as usize]
    }

    /// Resolves a field key (`FNUMBER`, `FUseOrgId.FNumber`, `fcustid`, …) case-insensitively;
    /// `.FId` of a reference is its id.
    pub fn resolve(self, key: &str) -> Option<Col> {
        let key = key.trim();
        let (head, tail) = match key.split_once('.') {
            Some((h, t)) => (h, Some(t)),
            None => (key, None),
        };
        let &(_, col) = self
            .scalars()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(head))?;
        match (col, tail) {
            (col, None) => Some(col),
            (Col::RefId(r), Some(t)) if t.eq_ignore_ascii_case("FNumber") => {
                Some(Col::RefNumber(r))
            }
            (Col::RefId(r), Some(t)) if t.eq_ignore_ascii_case("FName") => Some(Col::RefName(r)),
            (Col::RefId(r), Some(t)) if t.eq_ignore_ascii_case("FId") => Some(Col::RefId(r)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_ids_parse_case_insensitively() {
        assert_eq!(Form::parse(" bd_customer "), Some(Form::Customer));
        assert_eq!(Form::parse("BD_SUPPLIER"), Some(Form::Supplier));
        assert_eq!(Form::parse("BD_MATERIAL"), Some(Form::Material));
        assert_eq!(Form::parse("BD_Customers"), None);
        for f in Form::ALL {
            assert_eq!(Form::parse(f.id()), Some(f));
        }
    }

    #[test]
    fn customer_and_supplier_keys_resolve_in_their_own_form_only() {
        let c = Form::Customer;
        assert_eq!(c.resolve("fcustid"), Some(Col::MaterialId));
        assert_eq!(c.resolve("FCUSTID"), Some(Col::MaterialId));
        assert_eq!(
            c.resolve("FCountry.FNumber"),
            Some(Col::RefNumber(RefField::Country))
        );
        assert_eq!(
            c.resolve("fseller.fname"),
            Some(Col::RefName(RefField::Seller))
        );
        assert_eq!(c.resolve("FTel"), Some(Col::Text(TextField::Tel)));
        assert_eq!(c.resolve("FMaterialId"), None);
        assert_eq!(c.resolve("FSpecification"), None);
        assert_eq!(c.resolve("FSupplierId"), None);
        let s = Form::Supplier;
        assert_eq!(s.resolve("FSUPPLIERID"), Some(Col::MaterialId));
        assert_eq!(
            s.resolve("FPayCurrencyId.FNumber"),
            Some(Col::RefNumber(RefField::Currency))
        );
        assert_eq!(
            s.resolve("FGroup.FName"),
            Some(Col::RefName(RefField::SupplierGroup))
        );
        assert_eq!(s.resolve("FCUSTID"), None);
        assert_eq!(s.resolve("FTRADINGCURRID"), None);
        assert_eq!(Form::Material.resolve("FCUSTID"), None);
    }

    #[test]
    fn every_catalogue_key_resolves_to_itself_in_its_form() {
        for form in Form::ALL {
            let refs = form
                .scalars()
                .iter()
                .filter(|(_, c)| matches!(c, Col::RefId(_)))
                .count();
            assert_eq!(form.catalogue().len(), form.scalars().len() + 2 * refs);
            for (key, col) in form.catalogue() {
                assert_eq!(form.resolve(key), Some(*col), "{form:?} {key}");
            }
        }
    }

    #[test]
    fn no_two_fields_of_a_form_share_a_slot() {
        for form in Form::ALL {
            let mut text = Vec::new();
            let mut refs = Vec::new();
            for (key, col) in form.scalars() {
                match col {
                    Col::Text(t) => text.push((t.slot(), *key)),
                    Col::RefId(r) => refs.push((r.slot(), *key)),
                    _ => {}
                }
            }
            for list in [&mut text, &mut refs] {
                let n = list.len();
                list.sort();
                list.dedup_by_key(|(slot, _)| *slot);
                assert_eq!(list.len(), n, "{form:?} has two fields in one slot");
            }
        }
    }
}
