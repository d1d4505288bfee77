//! `/_mock/churn`: start (`POST`, a [`ChurnPlan`]), watch (`GET`), stop (`DELETE`) the churn,
//! and read what it did (`GET /_mock/churn/log`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use serde_json::Value;

use super::{OpsResult, bad, parse};
use crate::churn::{ChurnPlan, Driver};
use crate::server::App;

/// Starts a churn (stopping the one running, and clearing the log); answers the status.
pub async fn start(State(app): State<Arc<App>>, body: Bytes) -> OpsResult {
    let plan: ChurnPlan = serde_json::from_value(parse(&body)?).map_err(bad)?;
    plan.validate().map_err(bad)?;
    Driver::start(&app, plan).await;
    Ok(Json(app.churn.status()))
}

pub async fn status(State(app): State<Arc<App>>) -> Json<Value> {
    Json(app.churn.status())
}

/// Stops the churn; once this answers, the churn changes nothing more.
pub async fn stop(State(app): State<Arc<App>>) -> Json<Value> {
    Driver::stop(&app).await;
    Json(app.churn.status())
}

/// `?since=SEQ` keeps entries after that sequence number; `?last=N` the newest N.
pub async fn log(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let since = q.get("since").and_then(|v| v.parse().ok()).unwrap_or(0);
    let last = q.get("last").and_then(|v| v.parse().ok());
    Json(app.churn.log(since, last))
}
