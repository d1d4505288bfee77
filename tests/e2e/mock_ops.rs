//! The mock's operator endpoints and injected faults, over real HTTP: every edit a sync test
//! relies on (`edits`), every fault a client must survive (`faults`), and the protocol details
//! a client must get right plus the stats tests read (`protocol`). This file is their harness:
//! a mock on a random port, a signer, and small helpers.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kingdee_mock::sign::Signer;
use kingdee_mock::{MockConfig, MockServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod edits;
mod faults;
mod lifecycle;
mod protocol;

const EBQ: &str = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery";
const BQ: &str = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BillQuery";
const QBI: &str = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.QueryBusinessInfo";
const VALIDATE: &str = "Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser";
const BY_SECRET: &str = "Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginByAppSecret";

enum Auth<'a> {
    Signed,
    Session(&'a str),
    Both(&'a str),
    Nothing,
}

/// An HTTP client. The workspace builds reqwest without a TLS crypto provider, and building
/// any client needs one installed, plain HTTP or not.
pub(crate) fn http_client(builder: reqwest::ClientBuilder) -> reqwest::Client {
    k3sync_common::kingdee::install_crypto_provider();
    builder.build().expect("HTTP client")
}

struct Mock {
    server: MockServer,
    http: reqwest::Client,
    signer: Signer,
}

impl Mock {
    async fn start(rows: usize) -> Self {
        let config = MockConfig {
            rows,
            ..MockConfig::default()
        };
        let signer = Signer::from_config(&config);
        let server = MockServer::start(config).await.expect("start the mock");
        Self {
            server,
            http: http_client(reqwest::Client::builder()),
            signer,
        }
    }

    async fn call_with(
        &self,
        client: &reqwest::Client,
        service: &str,
        body: &Value,
        auth: Auth<'_>,
    ) -> reqwest::Result<reqwest::Response> {
        let path = format!("/k3cloud/{service}.common.kdsvc");
        let mut req = client
            .post(format!("{}{path}", self.server.base()))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        if let Auth::Signed | Auth::Both(_) = auth {
            for (k, v) in self.signer.headers(&path, now) {
                req = req.header(k, v);
            }
        }
        if let Auth::Session(sid) | Auth::Both(sid) = auth {
            req = req.header("kdservice-sessionid", sid);
        }
        req.send().await
    }

    async fn call(&self, service: &str, body: Value, auth: Auth<'_>) -> reqwest::Response {
        self.call_with(&self.http, service, &body, auth)
            .await
            .expect("request")
    }

    /// A signed ExecuteBillQuery that must succeed; its rows.
    async fn query(&self, data: Value) -> Vec<Value> {
        let r = self.call(EBQ, json!({"data": data}), Auth::Signed).await;
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.expect("JSON");
        assert!(!is_error(&body), "query failed: {body}");
        body.as_array().expect("rows").clone()
    }

    async fn send(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .request(method, format!("{}{path}", self.server.base()))
            .body(body.to_string())
            .send()
            .await
            .expect("operator request");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, v) = self.send(method, path, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {v}");
        v
    }

    async fn get(&self, path: &str) -> Value {
        self.ok(Method::GET, path, Value::Null).await
    }

    /// `GET /_mock/rows?ids=…`: the rows as the mock holds them.
    async fn rows_by_id(&self, ids: &[i64]) -> Vec<Value> {
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let rows = self
            .get(&format!("/_mock/rows?ids={}", list.join(",")))
            .await;
        rows.as_array().expect("rows").clone()
    }

    async fn stats(&self) -> Value {
        self.get("/_mock/stats").await
    }
}

fn is_error(body: &Value) -> bool {
    body[0][0]["Result"]["ResponseStatus"]["IsSuccess"] == false
        || body["Result"]["ResponseStatus"]["IsSuccess"] == false
}

fn status_of(body: &Value, wrapped: bool) -> &Value {
    if wrapped {
        &body[0][0]["Result"]["ResponseStatus"]
    } else {
        &body["Result"]["ResponseStatus"]
    }
}

/// The `kdservice-sessionid` a response set, if any.
fn session_of(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("kdservice-sessionid="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("list")
        .iter()
        .map(|x| x.as_i64().expect("id"))
        .collect()
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn page(filter: &str, order: &str) -> Value {
    json!({"FormId": "BD_MATERIAL", "FieldKeys": "FMaterialId,FModifyDate,FName",
        "FilterString": filter, "OrderString": order, "Limit": 2000})
}
