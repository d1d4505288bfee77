//! The operations of a living K3Cloud on BD_MATERIAL rows: save, submit, audit, un-audit,
//! forbid, enable, delete, allocate and create, with the real status codes (Z 暂存, A 创建,
//! B 审核中, C 已审核, D 重新审核), the rules that refuse an operation, and the dates each one
//! stamps. `/_mock/ops` and the churn both go through [`apply`] and [`create`], so each rule
//! has one home. The rules and why they were chosen are in the README ("Decisions").

mod rows;
mod status;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub use rows::{create, has_copies};
pub use status::apply;

use crate::config::Living;
use crate::data::row::{Arena, RefField, Row, TextField};
use crate::data::tables::{ORGS, USERS};
use crate::data::{DateField, NULL_KEY, Store};
use crate::dates::format_ms;
use crate::rng::Rng;

/// An operation's name, as `/_mock/ops` and the churn log spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Save,
    Submit,
    Audit,
    Unaudit,
    Forbid,
    Enable,
    Delete,
    Allocate,
    Create,
}

/// What a save changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// The next version of FName (`螺丝` → `螺丝 v2`).
    Name,
    /// The next version of FSpecification.
    Spec,
    Both,
    /// These fields, as `/_mock/rows` takes them.
    Patch(Map<String, Value>),
}

/// One operation on an existing row.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Save(Edit),
    Submit,
    Audit,
    Unaudit,
    Forbid,
    Enable,
    Delete,
    /// To the use-org at this index of [`ORGS`] (`None`: a random one the master lacks); the
    /// copy is audited at once when `audit` (K3Cloud's 分配后自动审核), else left A.
    Allocate {
        org: Option<usize>,
        audit: bool,
    },
}

impl Request {
    pub fn op(&self) -> Op {
        match self {
            Request::Save(_) => Op::Save,
            Request::Submit => Op::Submit,
            Request::Audit => Op::Audit,
            Request::Unaudit => Op::Unaudit,
            Request::Forbid => Op::Forbid,
            Request::Enable => Op::Enable,
            Request::Delete => Op::Delete,
            Request::Allocate { .. } => Op::Allocate,
        }
    }
}

/// What an operation needs besides the row: the behaviour settings, the server's clock, and
/// the random stream that picks users, late-commit lags and new materials.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub living: &'a Living,
    /// The server's clock (UTC+8 wall time in ms) when the change commits.
    pub now: i64,
    pub rng: &'a mut Rng,
}

/// When a change is stamped, and how far that lies before the moment it became visible.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    at: i64,
    lag_ms: i64,
}

impl Ctx<'_> {
    /// A user who does the operation (never the empty reference).
    fn user(&mut self) -> usize {
        1 + self.rng.below(USERS.len() as u64 - 1) as usize
    }

    /// Later than every date held, less a late-commit lag; never before `floor`, the row's
    /// own latest date (its previous change committed before this one started).
    fn stamp(&mut self, store: &Store, floor: i64) -> Stamp {
        let visible = store.fresh_after(self.now);
        let max_lag = self.living.late_commit_max_secs.saturating_mul(1000) as i64;
        let lag = if max_lag > 0 {
            self.rng.range(0, max_lag)
        } else {
            0
        };
        let at = (visible - lag).max(floor);
        Stamp {
            at,
            lag_ms: visible - at,
        }
    }
}

/// The latest date a row holds, plus one: where a later change's stamp may start.
fn after_own_dates(row: &Row) -> i64 {
    DateField::ALL
        .iter()
        .filter_map(|f| f.get(row))
        .max()
        .unwrap_or(NULL_KEY)
        .saturating_add(1)
}

/// The status codes, as the `&'static str` a [`Change`] keeps.
fn code(s: &str) -> &'static str {
    ["Z", "A", "B", "C", "D"]
        .into_iter()
        .find(|c| *c == s)
        .unwrap_or("")
}

pub fn doc_status(row: &Row, arena: &Arena) -> &'static str {
    code(arena.get(row.text(TextField::DocumentStatus)))
}

pub fn forbid_status(row: &Row, arena: &Arena) -> &'static str {
    code(arena.get(row.text(TextField::ForbidStatus)))
}

/// One applied change, as `/_mock/ops` answers it and the churn logs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub op: Op,
    pub material_id: i64,
    pub master_id: i64,
    /// Index into [`ORGS`].
    pub use_org: usize,
    /// FDocumentStatus and FForbidStatus after the change (a deleted row's last ones).
    pub status: &'static str,
    pub forbid: &'static str,
    /// How far the stamped dates lie before the moment the change became visible.
    pub lag_ms: i64,
    /// The dates the change set; `None` is a date it cleared.
    pub dates: Vec<(DateField, Option<i64>)>,
}

impl Change {
    fn of(op: Op, row: &Row, arena: &Arena, lag_ms: i64) -> Self {
        Self {
            op,
            material_id: row.material_id,
            master_id: row.master_id,
            use_org: row.reference(RefField::UseOrg),
            status: doc_status(row, arena),
            forbid: forbid_status(row, arena),
            lag_ms,
            dates: Vec::new(),
        }
    }

    pub fn to_json(&self) -> Value {
        let dates: Map<String, Value> = self
            .dates
            .iter()
            .map(|&(f, t)| {
                let key = match f {
                    DateField::Create => "FCreateDate",
                    DateField::Modify => "FModifyDate",
                    DateField::Approve => "FApproveDate",
                    DateField::Forbid => "FForbidDate",
                };
                (key.to_owned(), t.map(format_ms).into())
            })
            .collect();
        json!({
            "op": self.op,
            "FMaterialId": self.material_id,
            "FMasterId": self.master_id,
            "FUseOrgId.FNumber": ORGS.get(self.use_org).map_or("", |o| o.number),
            "FDocumentStatus": self.status,
            "FForbidStatus": self.forbid,
            "lag_ms": self.lag_ms,
            "dates": dates,
        })
    }
}

/// Why K3Cloud would refuse an operation: MsgCode 11 (验证失败) for a rule, 10 (未找到对应数据)
/// for a row that does not exist (or was deleted), 9 for a field that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub material_id: i64,
    pub msg_code: i64,
    pub message: String,
}

impl Refusal {
    fn rule(material_id: i64, number: &str, why: &str) -> Self {
        Self {
            material_id,
            msg_code: 11,
            message: format!("编码为“{number}”的物料{why}"),
        }
    }

    pub fn missing(material_id: i64) -> Self {
        Self {
            material_id,
            msg_code: 10,
            message: format!("内码为{material_id}的物料不存在，或者已被删除。"),
        }
    }

    /// As an entry of K3Cloud's `ResponseStatus.Errors`, plus the row's id.
    pub fn to_json(&self, index: usize) -> Value {
        json!({"FieldName": null, "Message": self.message, "DIndex": index,
            "MsgCode": self.msg_code, "FMaterialId": self.material_id})
    }
}

/// `螺丝` → `螺丝 v2` → `螺丝 v3`: how edits made by the mock show.
pub fn next_version(name: &str) -> String {
    match name
        .rsplit_once(" v")
        .map(|(base, n)| (base, n.parse::<u32>()))
    {
        Some((base, Ok(n))) => format!("{base} v{}", n + 1),
        _ => format!("{name} v2"),
    }
}

#[cfg(test)]
mod tests;
