//! Edits that drive incremental sync tests: `/_mock/touch` changes FName and moves FModifyDate
//! past every date held; `/_mock/forbid` disables materials. All rows of one call share one
//! timestamp, so a client's keyset cursor must break the tie on FMaterialId.

use std::sync::{Arc, PoisonError};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

use super::{OpsError, OpsResult, bad, ids_of, parse};
use crate::data::Store;
use crate::data::row::{RefField, TextField};
use crate::dates::format_ms;
use crate::lifecycle::next_version;
use crate::server::App;

/// The positions to change: the given `ids`, or `count` random rows matching `filter`.
fn targets(app: &App, store: &Store, v: &Value, filter: &str) -> Result<Vec<usize>, OpsError> {
    if let Some(ids) = ids_of(v)? {
        return ids
            .iter()
            .map(|&id| {
                store
                    .position(id)
                    .ok_or_else(|| bad(format!("no row has FMaterialId {id}")))
            })
            .collect();
    }
    let count = match v.get("count").map(Value::as_u64) {
        Some(Some(n)) => n as usize,
        _ => return Err(bad("give \"ids\" or \"count\"")),
    };
    let pred = crate::filter::compile(filter).map_err(bad)?;
    let mut pool: Vec<usize> = store
        .live()
        .filter(|(_, r)| pred.matches(r, store.arena()))
        .map(|(p, _)| p)
        .collect();
    let mut rng = app.ops_rng.lock().unwrap_or_else(PoisonError::into_inner);
    let take = count.min(pool.len());
    for i in 0..take {
        let j = i + rng.below((pool.len() - i) as u64) as usize;
        pool.swap(i, j);
    }
    pool.truncate(take);
    pool.sort_unstable();
    Ok(pool)
}

/// `{"count":N, "filter"?:"…"}` or `{"ids":[…]}`.
pub async fn touch(State(app): State<Arc<App>>, body: Bytes) -> OpsResult {
    let v = parse(&body)?;
    let filter = v
        .get("filter")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut store = app.write_store();
    let positions = targets(&app, &store, &v, &filter)?;
    let ts = store.fresh_timestamp();
    let mut touched = Vec::with_capacity(positions.len());
    for p in positions {
        let (id, name) = store.update(p, |row, arena| {
            let name = next_version(arena.get(row.text(TextField::Name)));
            row.set_text(TextField::Name, arena.push(&name));
            row.modify_date = Some(ts);
            (row.material_id, name)
        });
        touched.push(json!({"FMaterialId": id, "FModifyDate": format_ms(ts), "FName": name}));
    }
    let ids: Vec<&Value> = touched.iter().map(|t| &t["FMaterialId"]).collect();
    Ok(Json(
        json!({"ids": ids, "modify_date": format_ms(ts), "rows": touched}),
    ))
}

/// `{"ids":[…]}` or `{"count":N}` (random enabled rows): FForbidStatus B, FForbidDate and
/// FModifyDate now.
pub async fn forbid(State(app): State<Arc<App>>, body: Bytes) -> OpsResult {
    let v = parse(&body)?;
    let mut store = app.write_store();
    let positions = targets(&app, &store, &v, "FForbidStatus = 'A'")?;
    let ts = store.fresh_timestamp();
    let mut ids = Vec::with_capacity(positions.len());
    for p in positions {
        ids.push(store.update(p, |row, arena| {
            row.set_text(TextField::ForbidStatus, arena.push("B"));
            row.forbid_date = Some(ts);
            row.modify_date = Some(ts);
            row.set_reference(RefField::Forbidder, 1);
            row.material_id
        }));
    }
    Ok(Json(json!({"ids": ids, "modify_date": format_ms(ts)})))
}
