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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MockConfig;

    async fn app() -> Arc<App> {
        let config = MockConfig {
            rows: 20,
            customers: 30,
            suppliers: 10,
            ..MockConfig::default()
        };
        App::build(config).await.expect("app")
    }

    fn query(pairs: &[(&str, &str)]) -> Query<HashMap<String, String>> {
        Query(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    async fn listed(app: &Arc<App>, pairs: &[(&str, &str)]) -> Vec<Value> {
        let response = list(State(Arc::clone(app)), query(pairs))
            .await
            .expect("listed");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        serde_json::from_slice(&body).expect("JSON rows")
    }

    #[tokio::test]
    async fn rows_are_listed_per_form_keyed_by_the_forms_own_fields() {
        let app = app().await;
        assert_eq!(listed(&app, &[]).await.len(), 20);
        let customers = listed(&app, &[("form", "bd_customer")]).await;
        assert_eq!(customers.len(), 30);
        assert_eq!(customers[0]["FCUSTID"], 300_001);
        assert_eq!(customers[0]["FNumber"], "CUST0001");
        assert!(customers[0].get("FTRADINGCURRID.FNumber").is_some());
        assert!(customers[0].get("FMaterialId").is_none());
        let suppliers = listed(&app, &[("form", "BD_Supplier"), ("ids", "500002,500009")]).await;
        let ids: Vec<&Value> = suppliers.iter().map(|r| &r["FSupplierId"]).collect();
        assert_eq!(ids, [500_002, 500_009]);
        let page = listed(
            &app,
            &[("form", "BD_Supplier"), ("offset", "8"), ("limit", "5")],
        )
        .await;
        assert_eq!(page.len(), 2);
        let refused = list(State(Arc::clone(&app)), query(&[("form", "BD_Nope")])).await;
        assert!(refused.is_err());
    }

    #[tokio::test]
    async fn a_customer_is_edited_and_inserted_by_its_own_key() {
        let app = app().await;
        let body = json!([{"FCUSTID": 300_003, "FName": "改名客户"}, {"FTEL": "021-1"}]);
        let Json(answer) = upsert(
            State(Arc::clone(&app)),
            query(&[("form", "BD_Customer")]),
            Bytes::from(body.to_string()),
        )
        .await
        .expect("upserted");
        assert_eq!(answer["ids"], json!([300_003, 300_031]));
        let rows = listed(&app, &[("form", "BD_Customer"), ("ids", "300003,300031")]).await;
        assert_eq!(rows[0]["FName"], "改名客户");
        assert_eq!(rows[1]["FTEL"], "021-1");
        assert_eq!(rows[1]["FName"], "新客户300031");
        assert_eq!(listed(&app, &[]).await.len(), 20, "materials untouched");
    }
}
