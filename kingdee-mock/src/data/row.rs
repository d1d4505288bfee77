//! One row of a form (BD_MATERIAL, BD_Customer, BD_Supplier), stored compactly: numbers and
//! dates inline, base-data references as small indices into the static tables, and text as
//! spans of one shared string arena (so a million rows cost a few hundred bytes each and need
//! no allocation per string). Every form uses the same ten text and ten reference slots; a
//! field says which slot it lives in ([`TextField::slot`], [`RefField::slot`]), so a customer's
//! FTEL shares the slot of a material's FSpecification and no row grows for another form.

/// A span of the [`Arena`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Str {
    start: u32,
    len: u32,
}

/// Every row's text, appended in one buffer. Mutations append the new text; the old text stays
/// (a mock's edits are few, so nothing is reclaimed until `/_mock/reset`).
#[derive(Debug, Default)]
pub struct Arena {
    buf: String,
}

impl Arena {
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            buf: String::with_capacity(bytes),
        }
    }

    pub fn push(&mut self, s: &str) -> Str {
        let start = self.buf.len() as u32;
        self.buf.push_str(s);
        Str {
            start,
            len: s.len() as u32,
        }
    }

    /// Appends whatever `f` writes, as one span.
    pub fn push_with(&mut self, f: impl FnOnce(&mut String)) -> Str {
        let start = self.buf.len();
        f(&mut self.buf);
        Str {
            start: start as u32,
            len: (self.buf.len() - start) as u32,
        }
    }

    pub fn get(&self, s: Str) -> &str {
        let start = s.start as usize;
        self.buf.get(start..start + s.len as usize).unwrap_or("")
    }
}

/// The text fields of every form; [`TextField::slot`] is the index into [`Row::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Number,
    Name,
    Specification,
    MnemonicCode,
    OldNumber,
    Description,
    DocumentStatus,
    ForbidStatus,
    ErpClsId,
    Barcode,
    /// Customer and supplier fields, in slots materials use for fields these forms lack.
    ShortName,
    Tel,
    Address,
    TaxRegisterCode,
    Contact,
    SupplyClassify,
}

impl TextField {
    /// The slot of [`Row::text`] the field is stored in. Slots 0, 1, 6 and 7 (number, name and
    /// the statuses) mean the same in every form.
    #[inline]
    pub const fn slot(self) -> usize {
        match self {
            TextField::Number => 0,
            TextField::Name => 1,
            TextField::Specification | TextField::Tel => 2,
            TextField::MnemonicCode | TextField::ShortName => 3,
            TextField::OldNumber | TextField::TaxRegisterCode => 4,
            TextField::Description | TextField::Address => 5,
            TextField::DocumentStatus => 6,
            TextField::ForbidStatus => 7,
            TextField::ErpClsId | TextField::SupplyClassify => 8,
            TextField::Barcode | TextField::Contact => 9,
        }
    }
}

pub const TEXT_COUNT: usize = 10;

/// The boolean flags of a row, bits of [`Row::flags`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    IsPurchase = 1,
    IsInventory = 2,
    IsSale = 4,
}

/// The base-data references of every form; [`RefField::slot`] is the index into [`Row::refs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefField {
    MaterialGroup,
    CreateOrg,
    UseOrg,
    Creator,
    Modifier,
    Approver,
    Forbidder,
    BaseUnit,
    Category,
    TaxRate,
    /// Customer and supplier references, in slots materials use for references they lack.
    Country,
    Seller,
    Currency,
    SupplierGroup,
}

impl RefField {
    /// The slot of [`Row::refs`] the reference is stored in. Slots 1–6 (orgs and users) mean
    /// the same in every form.
    #[inline]
    pub const fn slot(self) -> usize {
        match self {
            RefField::MaterialGroup | RefField::Country => 0,
            RefField::CreateOrg => 1,
            RefField::UseOrg => 2,
            RefField::Creator => 3,
            RefField::Modifier => 4,
            RefField::Approver => 5,
            RefField::Forbidder => 6,
            RefField::BaseUnit | RefField::Seller => 7,
            RefField::Category | RefField::Currency => 8,
            RefField::TaxRate | RefField::SupplierGroup => 9,
        }
    }
}

pub const REF_COUNT: usize = 10;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The form's primary key: FMaterialId, FCUSTID or FSupplierId.
    pub material_id: i64,
    pub master_id: i64,
    pub create_date: i64,
    /// `None` is SQL NULL: old or imported rows may have no modification date (§10.1 #18).
    pub modify_date: Option<i64>,
    pub approve_date: Option<i64>,
    pub forbid_date: Option<i64>,
    pub net_weight: f64,
    pub gross_weight: f64,
    pub text: [Str; TEXT_COUNT],
    /// `None` is SQL NULL (the custom field was never filled in).
    pub product_line: Option<Str>,
    /// Index into the table of each reference; 0 is the empty reference.
    pub refs: [u16; REF_COUNT],
    pub flags: u8,
    /// A deleted row stays in its slot (so FMaterialId still finds a slot by offset) but is
    /// gone from every index, query and listing.
    pub deleted: bool,
}

impl Row {
    pub fn text(&self, field: TextField) -> Str {
        self.text[field.slot()]
    }

    pub fn set_text(&mut self, field: TextField, s: Str) {
        self.text[field.slot()] = s;
    }

    pub fn reference(&self, field: RefField) -> usize {
        usize::from(self.refs[field.slot()])
    }

    pub fn set_reference(&mut self, field: RefField, index: usize) {
        self.refs[field.slot()] = index as u16;
    }

    pub fn flag(&self, flag: Flag) -> bool {
        self.flags & flag as u8 != 0
    }

    pub fn set_flag(&mut self, flag: Flag, on: bool) {
        if on {
            self.flags |= flag as u8;
        } else {
            self.flags &= !(flag as u8);
        }
    }
}
