//! Lifecycle tests: each operation's status rule, the fields and dates it changes (and those
//! it leaves alone), allocation's invariants, late commits, and the settings that change what
//! audit and enable stamp.

use super::*;
use serde_json::json;

use crate::data::fields::resolve;
use crate::dates::ms_of;

/// A store and everything an operation needs, with a clock that moves a second per operation.
struct World {
    store: Store,
    living: Living,
    rng: Rng,
    now: i64,
}

impl World {
    fn new() -> Self {
        Self {
            store: Store::generate(3000, 21),
            living: Living::default(),
            rng: Rng::new(5),
            now: ms_of(2025, 6, 1, 9, 0, 0, 0),
        }
    }

    fn op(&mut self, id: i64, request: Request) -> Result<Change, Refusal> {
        self.now += 1000;
        let mut ctx = Ctx {
            living: &self.living,
            now: self.now,
            rng: &mut self.rng,
        };
        apply(&mut self.store, id, &request, &mut ctx)
    }

    fn ok(&mut self, id: i64, request: Request) -> Change {
        self.op(id, request.clone())
            .unwrap_or_else(|e| panic!("{request:?} on {id}: {e}"))
    }

    fn refused(&mut self, id: i64, request: Request) -> Refusal {
        let before = self.store.slots()[self.store.slot_of(id).expect("row")].clone();
        let refusal = self.op(id, request).expect_err("must be refused");
        let after = &self.store.slots()[self.store.slot_of(id).expect("row")];
        assert_eq!(&before, after, "a refused operation changes nothing");
        refusal
    }

    fn create(&mut self) -> i64 {
        self.now += 1000;
        let mut ctx = Ctx {
            living: &self.living,
            now: self.now,
            rng: &mut self.rng,
        };
        create(&mut self.store, None, &mut ctx)
            .expect("create")
            .material_id
    }

    /// The latest FModifyDate held.
    fn newest_modify(&self) -> i64 {
        let index = self.store.date_index(DateField::Modify);
        index.last().expect("dates").0
    }

    fn row(&self, id: i64) -> &Row {
        &self.store.slots()[self.store.slot_of(id).expect("row")]
    }

    /// A field as text; NULL reads "NULL".
    fn get(&self, id: i64, key: &str) -> String {
        let v = resolve(key)
            .expect("field")
            .get(self.row(id), self.store.arena());
        v.to_text().unwrap_or_else(|| "NULL".to_owned())
    }

    /// The first live, enabled row in `status` that is its master's only row.
    fn find(&self, status: &str) -> i64 {
        self.store
            .live()
            .find(|(p, r)| {
                doc_status(r, self.store.arena()) == status
                    && forbid_status(r, self.store.arena()) == "A"
                    && r.master_id == r.material_id
                    && !has_copies(&self.store, *p)
            })
            .map(|(_, r)| r.material_id)
            .expect("such a row")
    }
}

/// An allocation, audited, to whichever org the master lacks.
fn anywhere() -> Request {
    Request::Allocate {
        org: None,
        audit: true,
    }
}

#[test]
fn a_new_material_goes_created_submitted_audited_stamping_only_its_own_dates() {
    let mut w = World::new();
    let newest = w.newest_modify();
    let id = w.create();
    assert_eq!(id, 103_001);
    assert_eq!(w.row(id).master_id, id);
    assert_eq!(
        (w.get(id, "FDocumentStatus"), w.get(id, "FForbidStatus")),
        ("A".into(), "A".into())
    );
    let created = w.row(id).create_date;
    assert!(created > newest);
    assert_eq!(w.row(id).modify_date, Some(created));
    assert_eq!(w.get(id, "FApproveDate"), "NULL");
    assert_eq!(w.get(id, "FApproverId"), "0");

    let submit = w.ok(id, Request::Submit);
    assert_eq!((submit.status, submit.dates.len()), ("B", 0));
    assert_eq!(
        w.row(id).modify_date,
        Some(created),
        "submit stamps nothing"
    );

    let audit = w.ok(id, Request::Audit);
    let approved = w.row(id).approve_date.expect("approved");
    assert_eq!(audit.status, "C");
    assert_eq!(audit.dates, [(DateField::Approve, Some(approved))]);
    assert!(approved > created);
    assert_ne!(w.get(id, "FApproverId"), "0");
    assert_eq!(
        w.row(id).modify_date,
        Some(created),
        "audit leaves FModifyDate"
    );
    assert!(w.store.indices_consistent());
}

#[test]
fn an_audited_row_is_edited_by_unaudit_save_submit_audit() {
    let mut w = World::new();
    let id = w.find("C");
    let (name, modified) = (w.get(id, "FName"), w.row(id).modify_date);
    let refusal = w.refused(id, Request::Save(Edit::Name));
    assert_eq!(refusal.msg_code, 11);
    assert!(refusal.message.contains("已审核，不允许修改"), "{refusal}");

    let unaudit = w.ok(id, Request::Unaudit);
    assert_eq!(unaudit.status, "D");
    assert_eq!(unaudit.dates, [(DateField::Approve, None)]);
    assert_eq!(
        w.get(id, "FApproveDate"),
        "NULL",
        "un-audit clears the approval"
    );
    assert_eq!(w.get(id, "FApproverId"), "0");
    assert_eq!(w.row(id).modify_date, modified);

    let save = w.ok(id, Request::Save(Edit::Both));
    let stamp = w.row(id).modify_date.expect("stamped");
    assert_eq!(save.dates, [(DateField::Modify, Some(stamp))]);
    assert!(Some(stamp) > modified);
    assert_eq!(w.get(id, "FName"), format!("{name} v2"));
    assert!(w.get(id, "FSpecification").ends_with(" v2"));
    assert_eq!(w.get(id, "FDocumentStatus"), "D", "a saved D row stays D");

    w.ok(id, Request::Submit);
    let audit = w.ok(id, Request::Audit);
    assert_eq!(w.get(id, "FDocumentStatus"), "C");
    assert!(audit.dates[0].1 > Some(stamp));
    assert_eq!(w.row(id).modify_date, Some(stamp));
}

#[test]
fn a_draft_becomes_created_when_saved_and_a_patch_sets_the_given_fields() {
    let mut w = World::new();
    let id = w.create();
    let pos = w.store.position(id).expect("row");
    w.store.update(pos, |r, a| {
        r.set_text(crate::data::row::TextField::DocumentStatus, a.push("Z"))
    });
    w.refused(id, Request::Submit);
    let fields = json!({"FName": "新名称", "FSpecification": "M4*10"});
    let fields = fields.as_object().expect("object").clone();
    w.ok(id, Request::Save(Edit::Patch(fields)));
    assert_eq!(w.get(id, "FDocumentStatus"), "A");
    assert_eq!(w.get(id, "FName"), "新名称");
    assert_eq!(w.get(id, "FSpecification"), "M4*10");
    let bad = json!({"FNoSuchField": 1});
    let refusal = w
        .op(
            id,
            Request::Save(Edit::Patch(bad.as_object().expect("o").clone())),
        )
        .expect_err("unknown field");
    assert_eq!(refusal.msg_code, 9);
    for owned in [
        json!({"FDocumentStatus": "C"}),
        json!({"FApproveDate": "2025-01-01"}),
        json!({"FUseOrgId.FNumber": "101"}),
    ] {
        let patch = Edit::Patch(owned.as_object().expect("o").clone());
        assert_eq!(w.refused(id, Request::Save(patch)).msg_code, 11, "{owned}");
    }
}

#[test]
fn status_rules_refuse_what_k3cloud_refuses() {
    let mut w = World::new();
    let id = w.create();
    w.refused(id, Request::Audit);
    w.refused(id, Request::Unaudit);
    w.refused(id, Request::Enable);
    w.refused(id, anywhere());
    w.ok(id, Request::Submit);
    for r in [Request::Submit, Request::Save(Edit::Name), Request::Delete] {
        assert_eq!(w.refused(id, r).msg_code, 11);
    }
    w.ok(id, Request::Audit);
    let again = w.refused(id, Request::Audit);
    assert!(again.message.ends_with("单据已经审核！"), "{again}");
    w.refused(id, Request::Submit);
    let delete = w.refused(id, Request::Delete);
    assert!(delete.message.contains("已审核，不允许删除"), "{delete}");
    w.ok(id, Request::Forbid);
    w.refused(id, Request::Forbid);
    w.refused(id, anywhere());
    let gone = w.op(1, Request::Audit).expect_err("no such row");
    assert_eq!(gone.msg_code, 10);
}

#[test]
fn forbid_and_enable_stamp_the_forbid_date_and_the_settings_change_what_moves() {
    let mut w = World::new();
    let id = w.find("C");
    let modified = w.row(id).modify_date;
    let forbid = w.ok(id, Request::Forbid);
    let t = w.row(id).forbid_date.expect("forbidden");
    assert_eq!(forbid.dates, [(DateField::Forbid, Some(t))]);
    assert_eq!(w.get(id, "FForbidStatus"), "B");
    assert_ne!(w.get(id, "FForbidderId"), "0");
    assert_eq!(w.row(id).modify_date, modified);
    w.ok(id, Request::Enable);
    assert_eq!(w.get(id, "FForbidStatus"), "A");
    assert!(w.row(id).forbid_date > Some(t), "enable stamps FForbidDate");

    w.living.enable_clears_forbid_date = true;
    w.living.audit_moves_modify_date = true;
    w.ok(id, Request::Forbid);
    let enable = w.ok(id, Request::Enable);
    assert_eq!(w.get(id, "FForbidDate"), "NULL");
    assert_eq!(w.get(id, "FForbidderId"), "0");
    let stamp = w.row(id).modify_date.expect("stamped");
    assert!(Some(stamp) > modified);
    assert_eq!(
        enable.dates,
        [(DateField::Forbid, None), (DateField::Modify, Some(stamp))]
    );
    w.ok(id, Request::Unaudit);
    w.ok(id, Request::Submit);
    w.ok(id, Request::Audit);
    assert_eq!(w.row(id).modify_date, w.row(id).approve_date);
    assert!(w.store.indices_consistent());
}

#[test]
fn delete_takes_only_unaudited_rows_and_the_row_is_gone_everywhere() {
    let mut w = World::new();
    let id = w.find("C");
    w.refused(id, Request::Delete);
    w.ok(id, Request::Unaudit);
    let len = w.store.len();
    let deleted = w.ok(id, Request::Delete);
    assert_eq!((deleted.op, deleted.status), (Op::Delete, "D"));
    assert_eq!(w.store.len(), len - 1);
    assert_eq!(w.store.position(id), None);
    for f in DateField::ALL {
        assert!(w.store.date_index(f).iter().all(|&(_, i)| i != id));
    }
    assert!(w.store.indices_consistent());
    assert_eq!(w.op(id, Request::Delete).expect_err("gone").msg_code, 10);
    assert_eq!(w.create(), w.store.next_id() - 1, "ids are not reused");
}

#[test]
fn allocation_copies_an_audited_master_once_per_org_and_protects_the_master() {
    let mut w = World::new();
    let id = w.find("C");
    let (number, org) = (w.get(id, "FNumber"), w.get(id, "FUseOrgId.FNumber"));
    let to = if org == "101" { "102" } else { "101" };
    let target = (1..ORGS.len()).find(|&i| ORGS[i].number == to);
    let copy = w.ok(
        id,
        Request::Allocate {
            org: target,
            audit: true,
        },
    );
    let c = copy.material_id;
    assert_eq!(c, w.store.next_id() - 1);
    assert_eq!(
        (w.row(c).master_id, w.get(c, "FNumber")),
        (id, number.clone())
    );
    assert_eq!(w.get(c, "FUseOrgId.FNumber"), to);
    assert_eq!(w.get(c, "FCreateOrgId"), w.get(id, "FCreateOrgId"));
    assert_eq!(w.get(c, "FDocumentStatus"), "C");
    assert_eq!(w.row(c).approve_date, Some(w.row(c).create_date));
    let twice = w.refused(
        id,
        Request::Allocate {
            org: target,
            audit: true,
        },
    );
    assert!(twice.message.contains("不能重复分配"), "{twice}");

    // Random targets fill the free orgs, never one twice, then run out.
    let unaudited = w.ok(
        c,
        Request::Allocate {
            org: None,
            audit: false,
        },
    );
    assert_eq!(unaudited.status, "A");
    assert_eq!(w.get(unaudited.material_id, "FApproveDate"), "NULL");
    while w.op(id, anywhere()).is_ok() {}
    let mut orgs = rows::orgs_of(&w.store, id);
    assert_eq!(orgs.len(), ORGS.len() - 1, "one row in every org");
    orgs.dedup();
    assert_eq!(orgs.len(), ORGS.len() - 1);

    // The master's own row cannot go while copies live; a copy can.
    w.ok(id, Request::Unaudit);
    let kept = w.refused(id, Request::Delete);
    assert!(kept.message.contains("已分配到其他组织"), "{kept}");
    w.ok(unaudited.material_id, Request::Delete);
    assert!(w.store.indices_consistent());
}

#[test]
fn late_commits_stamp_up_to_the_bound_in_the_past_and_repeat_for_a_seed() {
    let run = |seed: u64| {
        let mut w = World::new();
        w.rng = Rng::new(seed);
        w.living.late_commit_max_secs = 30;
        let ids: Vec<i64> = w
            .store
            .live()
            .filter(|(_, r)| doc_status(r, w.store.arena()) == "A")
            .map(|(_, r)| r.material_id)
            .take(40)
            .collect();
        let mut missed_by_a_cursor = 0;
        let mut lags = Vec::new();
        for id in ids {
            let visible = w.store.fresh_after(w.now + 1000);
            let newest = w.newest_modify();
            let change = w.ok(id, Request::Save(Edit::Name));
            let t = w.row(id).modify_date.expect("stamped");
            assert_eq!(t, visible - change.lag_ms);
            assert!((0..=30_000).contains(&change.lag_ms), "{}", change.lag_ms);
            missed_by_a_cursor += usize::from(t <= newest);
            lags.push(change.lag_ms);
        }
        assert!(
            missed_by_a_cursor > 10,
            "late stamps land behind the newest"
        );
        lags
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

#[test]
fn edits_made_by_the_mock_count_their_versions() {
    assert_eq!(next_version("螺丝"), "螺丝 v2");
    assert_eq!(next_version("螺丝 v2"), "螺丝 v3");
    assert_eq!(next_version("A vX"), "A vX v2");
}
