//! Steering and observing the mock: fault settings and the one-shot fault queue, stats and the
//! request log, a health probe, and `/_mock/reset` (fresh data, no faults, sessions or stats).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{OpsResult, bad, parse};
use crate::config::Faults;
use crate::data::form::Form;
use crate::faults::FaultKind;
use crate::server::App;

pub async fn get_faults(State(app): State<Arc<App>>) -> Json<Faults> {
    Json(app.faults.config())
}

/// Replaces the fault settings; fields left out take their defaults.
pub async fn put_faults(State(app): State<Arc<App>>, body: Bytes) -> OpsResult {
    let faults: Faults = serde_json::from_slice(&body).map_err(bad)?;
    faults.validate().map_err(bad)?;
    app.faults.set(faults.clone());
    Ok(Json(serde_json::to_value(faults).map_err(bad)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Next {
    #[serde(default)]
    after: usize,
    kinds: Vec<FaultKind>,
}

/// `{"after":N,"kinds":[…]}`: the N+1th affected request from now gets the first kind, the
/// next one the second, and so on. Replaces any queue still pending.
pub async fn next_faults(State(app): State<Arc<App>>, body: Bytes) -> OpsResult {
    let next: Next = serde_json::from_slice(&body).map_err(bad)?;
    app.faults.schedule(next.after, &next.kinds);
    Ok(Json(json!({"pending": app.faults.pending()})))
}

pub async fn stats(State(app): State<Arc<App>>) -> Json<Value> {
    let mut s = app.stats.summary();
    s["sessions_created"] = json!(app.sessions.created());
    s["sessions_live"] = json!(app.sessions.live());
    Json(s)
}

/// `?service=ExecuteBillQuery` keeps one service; `?last=N` the newest N.
pub async fn requests(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Vec<crate::stats::RequestRecord>> {
    let last = q.get("last").and_then(|v| v.parse().ok());
    Json(
        app.stats
            .requests(q.get("service").map(String::as_str), last),
    )
}

pub async fn health(State(app): State<Arc<App>>) -> Json<Value> {
    let rows = app.read_store().len();
    let customers = app.read_form(Form::Customer).len();
    let suppliers = app.read_form(Form::Supplier).len();
    Json(
        json!({"status": "ok", "rows": rows, "customers": customers, "suppliers": suppliers,
        "sessions": app.sessions.live()}),
    )
}

/// Stops the churn, regenerates the initial data, and clears faults, behaviour settings,
/// stats, the request log, the churn log and sessions (a churn given at start is not
/// restarted).
pub async fn reset(State(app): State<Arc<App>>, body: Bytes) -> OpsResult {
    parse(&body)?;
    crate::churn::Driver::stop(&app).await;
    app.churn.clear();
    let (rows, seed) = (app.config.rows, app.config.seed);
    let fresh = crate::server::generate_all(&app.config)
        .await
        .map_err(bad)?;
    for (form, store) in Form::ALL.into_iter().zip(fresh) {
        *app.write_form(form) = store;
    }
    *app.ops_rng.lock().unwrap_or_else(PoisonError::into_inner) = crate::server::ops_rng(seed);
    app.faults.reset(app.config.faults.clone());
    app.set_living(app.config.living.clone());
    app.stats.reset();
    app.sessions.reset();
    Ok(Json(json!({"status": "reset", "rows": rows})))
}
