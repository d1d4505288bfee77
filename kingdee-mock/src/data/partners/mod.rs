//! Builds the deterministic BD_Customer and BD_Supplier data sets: the same seed and count give
//! the same rows. Every row is its own master (no allocation to other orgs); numbers are
//! `CUST0001` and `VEN0001` upwards in id order; names are Chinese company names (a few odd
//! ones); statuses, approvals, forbidding and dates are spread like the materials'.

pub mod tables;

use std::fmt::Write as _;

use super::form::Form;
use super::generate::{Clock, weights};
use super::row::{Arena, REF_COUNT, RefField, Row, Str, TEXT_COUNT, TextField};
use super::tables::USERS;
use crate::rng::Rng;
use tables::{
    CITIES, COMPANY_SUFFIXES, CONTACTS, COUNTRIES, CUSTOMER_TRADES, DOCUMENT_STATUSES,
    ODD_COMPANIES, SALESMEN, STREETS, SUPPLIER_TRADES,
};

/// The first FCUSTID handed out.
pub const FIRST_CUSTOMER_ID: i64 = 300_001;
/// The first FSupplierId handed out.
pub const FIRST_SUPPLIER_ID: i64 = 500_001;

/// The first id and the FNumber prefix of a partner form.
fn numbering(form: Form) -> (i64, &'static str) {
    match form {
        Form::Supplier => (FIRST_SUPPLIER_ID, "VEN"),
        Form::Customer | Form::Material => (FIRST_CUSTOMER_ID, "CUST"),
    }
}

/// Generates `rows` customers (or suppliers, for [`Form::Supplier`]) from `seed`, sorted by id.
/// Each form draws from a stream of its own, so the materials stay what they always were.
pub fn generate(form: Form, rows: usize, seed: u64) -> (Vec<Row>, Arena) {
    let stream = match form {
        Form::Supplier => 0x5355_5050,
        Form::Customer | Form::Material => 0x4355_5354,
    };
    let mut rng = Rng::new(seed ^ stream);
    let mut arena = Arena::with_capacity(rows.saturating_mul(160));
    let clock = Clock::for_masters(rows as f64);
    let (first, _) = numbering(form);
    let out = (0..rows)
        .map(|i| {
            let created = clock.at(i, &mut rng);
            partner(
                form,
                first + i as i64,
                i,
                created,
                &clock,
                &mut rng,
                &mut arena,
            )
        })
        .collect();
    (out, arena)
}

fn partner(
    form: Form,
    id: i64,
    index: usize,
    created: i64,
    clock: &Clock,
    rng: &mut Rng,
    arena: &mut Arena,
) -> Row {
    let supplier = form == Form::Supplier;
    let modified = clock.modified(created, rng);
    let status = DOCUMENT_STATUSES[rng.weighted(&weights(DOCUMENT_STATUSES))].0;
    let forbidden = rng.chance(0.04);
    let city = rng.pick(CITIES);
    let brand = *rng.pick(tables::BRANDS);
    let (trade, classify, group) = if supplier {
        *rng.pick(SUPPLIER_TRADES)
    } else {
        (*rng.pick(CUSTOMER_TRADES), "", 0)
    };
    let mut text = [Str::default(); TEXT_COUNT];
    let (_, prefix) = numbering(form);
    text[TextField::Number.slot()] = arena.push_with(|s| {
        let _ = write!(s, "{prefix}{:04}", index + 1);
    });
    if rng.chance(0.004) {
        let odd = *rng.pick(ODD_COMPANIES);
        text[TextField::Name.slot()] = arena.push(odd);
        text[TextField::ShortName.slot()] = arena.push(&odd.chars().take(4).collect::<String>());
    } else {
        let suffix = *rng.pick(COMPANY_SUFFIXES);
        text[TextField::Name.slot()] = arena.push_with(|s| {
            let _ = write!(s, "{}{brand}{trade}{suffix}", city.name);
        });
        text[TextField::ShortName.slot()] = arena.push_with(|s| {
            let _ = write!(s, "{brand}{trade}");
        });
    }
    text[TextField::Tel.slot()] = match rng.weighted(&[80, 10, 10]) {
        0 => arena.push_with(|s| {
            let _ = write!(s, "{}-{}", city.area, rng.range(50_000_000, 89_999_999));
        }),
        1 => arena.push_with(|s| {
            let _ = write!(s, "1{}", rng.range(3_000_000_000, 8_999_999_999));
        }),
        _ => Str::default(),
    };
    if rng.chance(0.95) {
        let street = *rng.pick(STREETS);
        text[TextField::Address.slot()] = arena.push_with(|s| {
            let _ = write!(s, "{}市{street}{}号", city.name, rng.range(1, 999));
        });
    }
    if rng.chance(0.9) {
        text[TextField::TaxRegisterCode.slot()] = arena.push_with(|s| {
            // 18 characters, like a unified social credit code (统一社会信用代码).
            let _ = write!(s, "91{}MA{:08X}", city.region, rng.below(1 << 32));
        });
    }
    text[TextField::DocumentStatus.slot()] = arena.push(status);
    text[TextField::ForbidStatus.slot()] = arena.push(if forbidden { "B" } else { "A" });
    if supplier {
        text[TextField::SupplyClassify.slot()] = arena.push(classify);
        if rng.chance(0.9) {
            text[TextField::Contact.slot()] = arena.push(rng.pick::<&str>(CONTACTS));
        }
    }
    let org = [1, 1, 1, 1, 1, 1, 2, 3, 4][rng.below(9) as usize];
    let user = |rng: &mut Rng| 1 + rng.below(USERS.len() as u64 - 1) as usize;
    let approved = status == "C";
    // Mostly China; a few foreign partners trade in their own currency.
    let country = 1 + rng.weighted(&[92, 2, 2, 1, 2, 1]);
    let currency = match COUNTRIES[country].number {
        "HongKong" => 2,
        "Germany" => 3,
        "Japan" => 4,
        "USA" | "Korea" => 5,
        _ => 1,
    };
    let mut row = Row {
        material_id: id,
        master_id: id,
        create_date: created,
        modify_date: Some(modified),
        approve_date: approved.then(|| created + (modified - created) / 2),
        forbid_date: forbidden.then_some(modified),
        net_weight: 0.0,
        gross_weight: 0.0,
        text,
        product_line: None,
        refs: [0; REF_COUNT],
        flags: 0,
        deleted: false,
    };
    row.set_reference(RefField::CreateOrg, org);
    row.set_reference(RefField::UseOrg, org);
    row.set_reference(RefField::Creator, user(rng));
    row.set_reference(RefField::Modifier, user(rng));
    row.set_reference(RefField::Approver, if approved { user(rng) } else { 0 });
    row.set_reference(RefField::Forbidder, if forbidden { user(rng) } else { 0 });
    row.set_reference(RefField::Country, country);
    row.set_reference(RefField::Currency, currency);
    if supplier {
        row.set_reference(RefField::SupplierGroup, group);
    } else if rng.chance(0.95) {
        row.set_reference(
            RefField::Seller,
            1 + rng.below(SALESMEN.len() as u64 - 1) as usize,
        );
    }
    row
}

#[cfg(test)]
mod tests;
