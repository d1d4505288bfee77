//! `GET /_mock/rows` lists rows as objects keyed by canonical field names (so tests can work
//! out expectations without the mock's own filter code); `POST /_mock/rows` inserts or edits.
//! An edit that does not set FModifyDate itself stamps a fresh one, as an edit in K3Cloud does.
//! Both take `?form=BD_Customer` (or BD_Supplier; default BD_MATERIAL); ids are then the
//! form's primary key (FCUSTID, FSupplierId).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{OpsError, OpsResult, bad, parse};
use crate::data::form::Form;
use crate::data::json::{apply_patch_of, blank_row_of};
use crate::query::{Shape, render::render};
use crate::reply;
use crate::server::App;

/// `?form=BD_Customer` picks the form (default BD_MATERIAL, case-insensitive).
fn form_of(q: &HashMap<String, String>) -> Result<Form, OpsError> {
    match q.get("form") {
        None => Ok(Form::Material),
        Some(f) => Form::parse(f).ok_or_else(|| bad(format!("unknown form {f}"))),
    }
}

/// `?ids=1,2` picks rows by primary key; `?offset=&limit=` pages through all of them. The JSON
/// is written straight from the rows (a million rows make about 1.3 GB of it: page large sets).
pub async fn list(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, OpsError> {
    let form = form_of(&q)?;
    let num = |k: &str| q.get(k).and_then(|v| v.trim().parse::<usize>().ok());
    let ids: Option<Vec<i64>> = match q.get("ids") {
        Some(s) => Some(
            s.split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| p.trim().parse())
                .collect::<Result<_, _>>()
                .map_err(|_| bad("ids must be integers separated by commas"))?,
        ),
        None => None,
    };
    let (offset, limit) = (
        num("offset").unwrap_or(0),
        num("limit").unwrap_or(usize::MAX),
    );
    let listed = tokio::task::spawn_blocking(move || {
        let store = app.read_form(form);
        let positions: Vec<usize> = match ids {
            Some(ids) => ids.iter().filter_map(|id| store.position(*id)).collect(),
            None => store
                .live()
                .skip(offset)
                .take(limit)
                .map(|(p, _)| p)
                .collect(),
        };
        let (keys, cols): (Vec<String>, Vec<_>) = form.catalogue().iter().cloned().unzip();
        render(&store, &positions, &keys, &cols, Shape::Objects)
    })
    .await
    .map_err(bad)?;
    Ok(reply::json(listed))
}

/// `[ {FMaterialId?, …fields} ]` (or one object): edits the rows that exist, inserts the rest
/// (with the given FMaterialId, or the next free one). Answers `{"ids": […]}`.
pub async fn upsert(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> OpsResult {
    let form = form_of(&q)?;
    let pk = form.pk_key();
    let patches = match parse(&body)? {
        Value::Array(a) => a,
        obj @ Value::Object(_) => vec![obj],
        _ => return Err(bad("expected a list of row objects")),
    };
    let mut store = app.write_form(form);
    let mut ids = Vec::with_capacity(patches.len());
    for patch in &patches {
        let fields = patch
            .as_object()
            .ok_or_else(|| bad("each row must be an object"))?;
        let id = match crate::body::get_ci(fields, pk).map(Value::as_i64) {
            Some(Some(id)) => id,
            Some(None) => return Err(bad(format!("{pk} must be an integer"))),
            None => store.next_id(),
        };
        let now = store.fresh_timestamp();
        let (mut row, existing) = match store.position(id) {
            Some(p) => (store.slots()[p].clone(), Some(p)),
            None => (blank_row_of(form, id, now, store.arena_mut()), None),
        };
        let modify_set = apply_patch_of(form, &mut row, store.arena_mut(), fields).map_err(bad)?;
        if existing.is_some() && !modify_set {
            row.modify_date = Some(now);
        }
        match existing {
            Some(p) => store.update(p, |r, _| *r = row),
            None => {
                store.insert(row);
            }
        }
        ids.push(id);
    }
    Ok(Json(json!({"ids": ids})))
}
