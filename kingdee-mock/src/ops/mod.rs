//! Operator endpoints under `/_mock/` (plain JSON, no auth): read and change the data set,
//! run lifecycle operations and the churn, steer the faults and the behaviour settings, read
//! the stats and the request log, reset everything. A bad request answers HTTP 400 with
//! `{"error": …}`.

pub mod churn;
pub mod control;
pub mod lifecycle;
pub mod mutate;
pub mod rows;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Why an operator request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsError(pub String);

impl IntoResponse for OpsError {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, Json(json!({"error": self.0}))).into_response()
    }
}

pub fn bad(message: impl std::fmt::Display) -> OpsError {
    OpsError(message.to_string())
}

pub type OpsResult = Result<Json<Value>, OpsError>;

/// Parses an operator request body; an empty body is `{}`.
pub fn parse(body: &[u8]) -> Result<Value, OpsError> {
    crate::body::parse(body).map_err(bad)
}

/// `ids` as a list of FMaterialIds, if present.
pub fn ids_of(v: &Value) -> Result<Option<Vec<i64>>, OpsError> {
    match v.get("ids") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_i64().ok_or_else(|| bad("ids must be integers")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(bad("ids must be a list")),
    }
}
