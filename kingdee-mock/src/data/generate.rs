//! Builds the deterministic BD_MATERIAL data set: the same seed and row count always give the
//! same rows. Materials are created in T00 mostly; about 15% are later allocated (分配) to one to
//! three other organisations, which adds rows with the same FMasterId and FNumber, a higher
//! FMaterialId and a different FUseOrgId (never twice the same org for one master).
//! [`material`] makes one more material the same way for the living-ERP operations.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;

use super::row::{Arena, Flag, REF_COUNT, RefField, Row, Str, TEXT_COUNT, TextField};
use super::shapes::{name_of, number_of, spec_of, weights_of};
use super::tables::{DESCRIPTIONS, DOCUMENT_STATUSES, ERP_CLASSES, KINDS, ORGS, USERS};
use crate::dates::ms_of;
use crate::rng::Rng;

/// The first FMaterialId handed out.
pub const FIRST_ID: i64 = 100_001;

const DAY: i64 = 86_400_000;

/// Where generated rows fall on 2019–2024: creation rises with the row's place in the data
/// set, modification follows it (shared with [`super::partners`]).
pub(crate) struct Clock {
    start: i64,
    span: i64,
    end: i64,
    masters: f64,
}

impl Clock {
    /// A timeline for `rows` materials, about 1.3 rows per master (allocated copies).
    pub(crate) fn new(rows: usize) -> Self {
        Self::for_masters(rows as f64 / 1.3)
    }

    /// A timeline for `masters` rows that are all masters (customers, suppliers).
    pub(crate) fn for_masters(masters: f64) -> Self {
        let start = ms_of(2019, 1, 1, 0, 0, 0, 0);
        Self {
            start,
            span: ms_of(2024, 10, 31, 0, 0, 0, 0) - start,
            end: ms_of(2024, 12, 31, 23, 59, 59, 999),
            masters: masters.max(1.0),
        }
    }

    /// A moment near the point of the timeline where master `i` is created.
    pub(crate) fn at(&self, i: usize, rng: &mut Rng) -> i64 {
        let frac = (i as f64 / self.masters).min(1.0);
        let t = self.start + (frac * self.span as f64) as i64 + rng.range(-3 * DAY, 3 * DAY);
        t.clamp(self.start, self.start + self.span)
    }

    /// A modification time after `created`: often minutes later, sometimes months.
    pub(crate) fn modified(&self, created: i64, rng: &mut Rng) -> i64 {
        let delta = match rng.weighted(&[35, 45, 20]) {
            0 => rng.range(0, 600_000),
            1 => rng.range(0, 60 * DAY),
            _ => rng.range(0, 400 * DAY),
        };
        (created + delta).min(self.end).max(created)
    }
}

/// Generates `rows` rows from `seed`, sorted by FMaterialId.
pub fn generate(rows: usize, seed: u64) -> (Vec<Row>, Arena) {
    let mut rng = Rng::new(seed);
    let mut arena = Arena::with_capacity(rows.saturating_mul(96));
    let mut out: Vec<Row> = Vec::with_capacity(rows);
    let clock = Clock::new(rows);
    // (due master index, sequence, position of the master row, target org)
    let mut pending: BinaryHeap<Reverse<(usize, usize, usize, usize)>> = BinaryHeap::new();
    let mut master = 0usize;
    let mut seq = 0usize;
    while out.len() < rows {
        while let Some(&Reverse((due, _, pos, org))) = pending.peek() {
            if due > master || out.len() >= rows {
                break;
            }
            pending.pop();
            let id = FIRST_ID + out.len() as i64;
            let created = clock.at(master, &mut rng);
            let copy = allocated_copy(&out[pos], id, org, created, &clock, &mut rng);
            out.push(copy);
        }
        if out.len() >= rows {
            break;
        }
        let pos = out.len();
        let id = FIRST_ID + pos as i64;
        let created = clock.at(master, &mut rng);
        let row = new_material(id, master, created, &clock, &mut rng, &mut arena);
        let home = row.reference(RefField::UseOrg);
        out.push(row);
        if rng.chance(0.15) {
            let mut others: Vec<usize> = (1..ORGS.len()).filter(|&o| o != home).collect();
            for _ in 0..rng.range(1, 3) {
                let org = others.remove(rng.below(others.len() as u64) as usize);
                let due = master + rng.range(1, 400) as usize;
                pending.push(Reverse((due, seq, pos, org)));
                seq += 1;
            }
        }
        master += 1;
    }
    (out, arena)
}

fn allocated_copy(
    master: &Row,
    id: i64,
    org: usize,
    created: i64,
    clock: &Clock,
    rng: &mut Rng,
) -> Row {
    let mut row = master.clone();
    row.material_id = id;
    row.create_date = created.max(master.create_date);
    let modified = clock.modified(row.create_date, rng);
    row.modify_date = Some(modified);
    row.set_reference(RefField::UseOrg, org);
    row.set_reference(
        RefField::Creator,
        1 + rng.below(USERS.len() as u64 - 1) as usize,
    );
    row.set_reference(RefField::Modifier, row.reference(RefField::Creator));
    row.approve_date = master.approve_date.map(|_| modified);
    row
}

fn new_material(
    id: i64,
    index: usize,
    created: i64,
    clock: &Clock,
    rng: &mut Rng,
    arena: &mut Arena,
) -> Row {
    let kind = *rng.pick(KINDS);
    let modified = clock.modified(created, rng);
    let status = DOCUMENT_STATUSES[rng.weighted(&weights(DOCUMENT_STATUSES))].0;
    let forbidden = rng.chance(0.05);
    let erp = ERP_CLASSES[rng.weighted(&weights(ERP_CLASSES))].0;
    let group = if rng.chance(0.03) { 0 } else { kind.group };
    let mut text = [Str::default(); TEXT_COUNT];
    let (name, mnemonic) = name_of(&kind, rng);
    text[TextField::Number.slot()] = arena.push_with(|s| number_of(s, group, index));
    text[TextField::Name.slot()] = arena.push(&name);
    text[TextField::Specification.slot()] = arena.push_with(|s| spec_of(s, kind.spec, rng));
    text[TextField::MnemonicCode.slot()] = arena.push(&mnemonic);
    text[TextField::OldNumber.slot()] = if rng.chance(0.15) {
        arena.push_with(|s| {
            let _ = write!(s, "OLD-{:05}", rng.below(100_000));
        })
    } else {
        arena.push("")
    };
    let description: &str = if rng.chance(0.1) {
        rng.pick::<&str>(DESCRIPTIONS)
    } else {
        ""
    };
    text[TextField::Description.slot()] = arena.push(description);
    text[TextField::DocumentStatus.slot()] = arena.push(status);
    text[TextField::ForbidStatus.slot()] = arena.push(if forbidden { "B" } else { "A" });
    text[TextField::ErpClsId.slot()] = arena.push(erp);
    text[TextField::Barcode.slot()] = if rng.chance(0.7) {
        arena.push_with(|s| {
            let _ = write!(s, "69{:011}", rng.below(100_000_000_000));
        })
    } else {
        arena.push("")
    };
    let product_line = match rng.weighted(&[80, 12, 8]) {
        0 => Some(arena.push_with(|s| {
            let _ = write!(s, "PL-{:02}", rng.range(1, 12));
        })),
        1 => Some(arena.push("")),
        _ => None,
    };
    let org = [1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4][rng.below(11) as usize];
    let user = |rng: &mut Rng| 1 + rng.below(USERS.len() as u64 - 1) as u16;
    let mut refs = [0u16; REF_COUNT];
    refs[RefField::MaterialGroup.slot()] = group as u16;
    refs[RefField::CreateOrg.slot()] = org;
    refs[RefField::UseOrg.slot()] = org;
    refs[RefField::Creator.slot()] = user(rng);
    refs[RefField::Modifier.slot()] = user(rng);
    let approved = matches!(status, "C" | "D");
    refs[RefField::Approver.slot()] = if approved { user(rng) } else { 0 };
    refs[RefField::Forbidder.slot()] = if forbidden { user(rng) } else { 0 };
    refs[RefField::BaseUnit.slot()] = kind.unit as u16;
    refs[RefField::Category.slot()] = kind.category as u16;
    refs[RefField::TaxRate.slot()] = [1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 0][rng.below(12) as usize];
    let (net, gross) = weights_of(kind.unit, rng);
    let mut row = Row {
        material_id: id,
        master_id: id,
        create_date: created,
        modify_date: Some(modified),
        approve_date: approved.then(|| created + (modified - created) / 2),
        forbid_date: forbidden.then_some(modified),
        net_weight: net,
        gross_weight: gross,
        text,
        product_line,
        refs,
        flags: 0,
        deleted: false,
    };
    row.set_flag(Flag::IsPurchase, erp == "1" || rng.chance(0.2));
    row.set_flag(Flag::IsInventory, rng.chance(0.95));
    row.set_flag(Flag::IsSale, kind.category == 4 || rng.chance(0.3));
    if status == "D" {
        // Un-auditing clears the approval (README, Decisions); the approver was still drawn
        // above so that the rest of the data set stays what it always was.
        row.approve_date = None;
        row.set_reference(RefField::Approver, 0);
    }
    row
}

/// One new material as a user would create it at `now`: status A (创建), enabled, not
/// approved, its FNumber from `serial`, stamped `now`.
pub fn material(id: i64, serial: usize, now: i64, rng: &mut Rng, arena: &mut Arena) -> Row {
    let clock = Clock {
        start: now,
        span: 0,
        end: now,
        masters: 1.0,
    };
    let mut row = new_material(id, serial - 1, now, &clock, rng, arena);
    row.set_text(TextField::DocumentStatus, arena.push("A"));
    row.set_text(TextField::ForbidStatus, arena.push("A"));
    row.approve_date = None;
    row.forbid_date = None;
    row.set_reference(RefField::Approver, 0);
    row.set_reference(RefField::Forbidder, 0);
    row.set_reference(RefField::Modifier, row.reference(RefField::Creator));
    row
}

/// Blanks FModifyDate on `ratio` of the rows (old or imported rows have none), drawn from a
/// stream of its own so the rows themselves stay the same for every ratio.
pub fn null_modify_dates(rows: &mut [Row], seed: u64, ratio: f64) {
    if ratio <= 0.0 {
        return;
    }
    let mut rng = Rng::new(seed ^ 0x6E75_6C6C);
    for row in rows {
        if rng.chance(ratio) {
            row.modify_date = None;
        }
    }
}

pub(crate) fn weights(table: &[(&str, u32)]) -> Vec<u32> {
    table.iter().map(|&(_, w)| w).collect()
}
