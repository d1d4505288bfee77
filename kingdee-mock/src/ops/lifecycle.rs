//! `POST /_mock/ops`: one lifecycle operation (save, submit, audit, unaudit, forbid, enable,
//! delete, allocate, create) on the given rows, under K3Cloud's rules, answering what changed
//! and what was refused; `GET/PUT /_mock/living`: the behaviour settings (what operations
//! stamp, late commits, clamped pages).

use std::sync::{Arc, PoisonError};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{OpsResult, bad};
use crate::config::Living;
use crate::data::fields::catalogue;
use crate::data::tables::ORGS;
use crate::lifecycle::{self, Ctx, Edit, Op, Request};
use crate::query::{Shape, render::render};
use crate::server::App;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    op: Op,
    /// FMaterialIds to act on (not for `create`).
    #[serde(default)]
    ids: Vec<i64>,
    /// `save`: fields to set (as `/_mock/rows` takes them); `create`: fields of the new rows.
    fields: Option<Map<String, Value>>,
    /// `save` without `fields`: which text gets its next version, `name` (default), `spec` or
    /// `both`.
    edit: Option<String>,
    /// `allocate`: the target use-org's FNumber (default: a random org the master lacks).
    org: Option<String>,
    /// `allocate`: audit the copy at once (default true).
    audit: Option<bool>,
    /// `create`: how many materials (default 1).
    count: Option<usize>,
}

fn request(body: &Body) -> Result<Request, super::OpsError> {
    Ok(match body.op {
        Op::Save => Request::Save(match (&body.fields, body.edit.as_deref()) {
            (Some(fields), _) => Edit::Patch(fields.clone()),
            (None, None | Some("name")) => Edit::Name,
            (None, Some("spec")) => Edit::Spec,
            (None, Some("both")) => Edit::Both,
            (None, Some(other)) => return Err(bad(format!("unknown edit {other}"))),
        }),
        Op::Submit => Request::Submit,
        Op::Audit => Request::Audit,
        Op::Unaudit => Request::Unaudit,
        Op::Forbid => Request::Forbid,
        Op::Enable => Request::Enable,
        Op::Delete => Request::Delete,
        Op::Allocate => Request::Allocate {
            org: match &body.org {
                Some(number) => Some(
                    (1..ORGS.len())
                        .find(|&i| ORGS[i].number == number)
                        .ok_or_else(|| bad(format!("no use-org has FNumber {number}")))?,
                ),
                None => None,
            },
            audit: body.audit.unwrap_or(true),
        },
        Op::Create => return Err(bad("create takes no ids")),
    })
}

/// `{"op":…, "ids":[…], …}` → `{"op", "IsSuccess", "changes":[…], "rows":[…], "errors":[…]}`:
/// `rows` are the changed rows as `/_mock/rows` shows them (a deleted row as it was); `errors`
/// are K3Cloud's refusals, one per refused id. Refusals do not stop the other ids.
pub async fn operate(State(app): State<Arc<App>>, body: Bytes) -> OpsResult {
    let body: Body = serde_json::from_slice(&body).map_err(bad)?;
    let request = match body.op {
        Op::Create if !body.ids.is_empty() => return Err(bad("create takes no ids")),
        Op::Create => None,
        _ if body.ids.is_empty() => return Err(bad("give \"ids\"")),
        _ => Some(request(&body)?),
    };
    let living = app.living();
    let mut store = app.write_store();
    let mut rng = app.ops_rng.lock().unwrap_or_else(PoisonError::into_inner);
    let mut ctx = Ctx {
        living: &living,
        now: crate::dates::now_ms(),
        rng: &mut rng,
    };
    let results: Vec<_> = match &request {
        Some(request) => body
            .ids
            .iter()
            .map(|&id| lifecycle::apply(&mut store, id, request, &mut ctx))
            .collect(),
        None => (0..body.count.unwrap_or(1))
            .map(|_| lifecycle::create(&mut store, body.fields.as_ref(), &mut ctx))
            .collect(),
    };
    let (mut changes, mut errors) = (Vec::new(), Vec::new());
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(change) => changes.push(change),
            Err(refusal) => errors.push(refusal.to_json(i)),
        }
    }
    let positions: Vec<usize> = changes
        .iter()
        .filter_map(|c| store.slot_of(c.material_id))
        .collect();
    let (keys, cols): (Vec<String>, Vec<_>) = catalogue().iter().cloned().unzip();
    let rows: Value =
        serde_json::from_slice(&render(&store, &positions, &keys, &cols, Shape::Objects))
            .map_err(bad)?;
    let changes: Vec<Value> = changes.iter().map(lifecycle::Change::to_json).collect();
    Ok(Json(json!({
        "op": body.op,
        "IsSuccess": errors.is_empty(),
        "changes": changes,
        "rows": rows,
        "errors": errors,
    })))
}

pub async fn get_living(State(app): State<Arc<App>>) -> Json<Living> {
    Json(app.living())
}

/// Replaces the behaviour settings; fields left out take their defaults.
pub async fn put_living(State(app): State<Arc<App>>, body: Bytes) -> OpsResult {
    let living: Living = serde_json::from_slice(&body).map_err(bad)?;
    app.set_living(living.clone());
    Ok(Json(serde_json::to_value(living).map_err(bad)?))
}
