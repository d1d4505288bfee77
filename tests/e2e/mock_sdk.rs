//! Kingdee's official Python SDK (`kingdee-cdp-webapi-sdk` 8.2.0), unchanged, against the
//! in-process mock: if the SDK can page, authenticate, fail and keep its session the way it
//! does against K3Cloud, the mock is faithful enough for k3sync's client to be tested on it.
//! The SDK is installed once per machine into `target/sdk-venv`; a failed install fails the
//! tests, it never skips them.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use kingdee_mock::{MockConfig, MockServer};
use serde_json::{Value, json};
use tokio::process::Command;
use tokio::sync::OnceCell;

const SDK: &str = "kingdee-cdp-webapi-sdk==8.2.0";
const JOB_FILTER: &str =
    "FUseOrgId.FNumber = 'T00' AND FDocumentStatus = 'C' AND FForbidStatus = 'A'";
const FIELDS: &str = "FMaterialId,FMasterId,FNumber,FName,FSpecification,FUseOrgId.FNumber,\
    FDocumentStatus,FForbidStatus,FModifyDate,FNETWEIGHT,F_ProductLine";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The virtualenv's python, installing the SDK on first use. `flock` serialises installs of
/// parallel test processes (nextest runs each test in its own); a stamp marks a finished one.
async fn sdk_python() -> PathBuf {
    static READY: OnceCell<PathBuf> = OnceCell::const_new();
    READY
        .get_or_init(|| async {
            let venv = workspace().join("target/sdk-venv");
            std::fs::create_dir_all(workspace().join("target")).expect("target folder");
            let script = r#"set -e
if [ ! -f "$VENV/.installed-8.2.0" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --disable-pip-version-check --quiet "$SDK"
  touch "$VENV/.installed-8.2.0"
fi"#;
            let run = Command::new("flock")
                .arg(workspace().join("target/sdk-venv.lock"))
                .args(["sh", "-c", script])
                .env("VENV", &venv)
                .env("SDK", SDK)
                .output();
            let out = tokio::time::timeout(Duration::from_secs(600), run)
                .await
                .expect("installing the SDK took over 10 minutes")
                .expect("run flock/sh (util-linux and python3 are needed)");
            assert!(
                out.status.success(),
                "could not install {SDK} into {}: {}{}",
                venv.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            venv.join("bin/python")
        })
        .await
        .clone()
}

/// Runs `tests/python/sdk_probe.py` with the mock's identity plus `extra`.
async fn probe(mock: &MockServer, extra: Value) -> Value {
    let c = MockConfig::default();
    let mut req = json!({"url": mock.url(), "acct": c.acct_id, "user": c.user,
        "app_id": c.app_id, "app_secret": c.app_secret, "lcid": c.lcid});
    for (k, v) in extra.as_object().expect("object") {
        req[k] = v.clone();
    }
    let run = Command::new(sdk_python().await)
        .arg(workspace().join("tests/python/sdk_probe.py"))
        .arg(req.to_string())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the SDK probe took over 2 minutes")
        .expect("run the SDK probe");
    assert!(
        out.status.success(),
        "sdk_probe.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the probe prints JSON")
}

async fn start(rows: usize) -> MockServer {
    MockServer::start(MockConfig {
        rows,
        ..MockConfig::default()
    })
    .await
    .expect("start the mock")
}

async fn get(mock: &MockServer, path: &str) -> Value {
    crate::mock_ops::http_client(reqwest::Client::builder())
        .get(format!("{}{path}", mock.base()))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn the_python_sdk_pages_every_filtered_row_exactly_once() {
    let mock = start(5_000).await;
    let out = probe(
        &mock,
        json!({"scenario": "page", "field_keys": FIELDS, "filter": JOB_FILTER,
            "order": "FMaterialId ASC", "limit": 500}),
    )
    .await;
    let rows = out["rows"].as_array().expect("rows");
    let ids: Vec<i64> = rows.iter().map(|r| r[0].as_i64().expect("id")).collect();
    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no row twice");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "FMaterialId order");

    // The expectation, worked out here from the unfiltered rows, not by the mock's filter.
    let truth = get(&mock, "/_mock/rows").await;
    let truth = truth.as_array().expect("rows");
    assert_eq!(truth.len(), 5_000);
    let expected: Vec<&Value> = truth
        .iter()
        .filter(|r| {
            r["FUseOrgId.FNumber"] == "T00"
                && r["FDocumentStatus"] == "C"
                && r["FForbidStatus"] == "A"
        })
        .collect();
    let expected_ids: BTreeSet<i64> = expected
        .iter()
        .map(|r| r["FMaterialId"].as_i64().expect("id"))
        .collect();
    assert!(expected_ids.len() > 2_000, "the filter keeps most rows");
    assert_eq!(unique, expected_ids, "exactly the filtered rows");
    let pages: Vec<u64> = out["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .map(|p| p.as_u64().expect("count"))
        .collect();
    assert_eq!(pages.len(), expected_ids.len() / 500 + 1);
    assert!(pages[..pages.len() - 1].iter().all(|&n| n == 500));

    // Every value arrives as /_mock/rows has it: Chinese text, decimals, nulls, dates.
    let keys: Vec<&str> = FIELDS.split(',').collect();
    for (row, want) in rows.iter().zip(&expected) {
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(&row[i], &want[*key], "{key} of {}", want["FMaterialId"]);
        }
    }
}

#[tokio::test]
async fn a_wrong_app_secret_gets_the_msgcode_1_body_through_the_sdk() {
    let mock = start(200).await;
    let out = probe(
        &mock,
        json!({"scenario": "call", "service": "ExecuteBillQuery",
            "app_secret": "ffffffffffffffffffffffffffffffff",
            "data": {"FormId": "BD_MATERIAL", "FieldKeys": "FNumber", "Limit": 5}}),
    )
    .await;
    let text = out["calls"][0]["text"]
        .as_str()
        .expect("a body, no exception");
    let body: Value = serde_json::from_str(text).expect("JSON");
    let status = &body[0][0]["Result"]["ResponseStatus"];
    assert_eq!(status["MsgCode"], 1);
    assert_eq!(status["IsSuccess"], false);
    assert_eq!(status["ErrorCode"], 500);
    assert_eq!(status["Errors"][0]["Message"], "会话信息已丢失，请重新登录");
    assert_eq!(out["sid"], "", "no session handed out");
}

#[tokio::test]
async fn a_wrong_account_id_makes_the_sdk_raise_fail_to_verify_thirty_passport() {
    let mock = start(200).await;
    let out = probe(
        &mock,
        json!({"scenario": "call", "service": "ExecuteBillQuery", "acct": "000000000000",
            "data": {"FormId": "BD_MATERIAL", "FieldKeys": "FNumber"}}),
    )
    .await;
    assert_eq!(out["calls"][0]["error_type"], "RuntimeError");
    assert_eq!(out["calls"][0]["error"], "Fail to verify thirty passport");
}

#[tokio::test]
async fn bill_query_through_the_sdk_returns_objects_keyed_as_requested() {
    let mock = start(300).await;
    let out = probe(
        &mock,
        json!({"scenario": "call", "service": "BillQuery",
            "data": {"FormId": "BD_MATERIAL", "FieldKeys": "fnumber,FName,FUseOrgId.FName",
                "OrderString": "FMaterialId", "Limit": 4}}),
    )
    .await;
    let body: Value =
        serde_json::from_str(out["calls"][0]["text"].as_str().expect("body")).expect("JSON");
    let objects = body.as_array().expect("array");
    assert_eq!(objects.len(), 4);
    let truth = get(&mock, "/_mock/rows?offset=0&limit=4").await;
    for (obj, want) in objects.iter().zip(truth.as_array().expect("rows")) {
        let keys: Vec<&String> = obj.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["fnumber", "FName", "FUseOrgId.FName"]);
        assert_eq!(obj["fnumber"], want["FNumber"]);
        assert_eq!(obj["FUseOrgId.FName"], want["FUseOrgId.FName"]);
    }
}

#[tokio::test]
async fn the_sdk_keeps_one_session_cookie_for_all_its_requests() {
    let mock = start(300).await;
    let out = probe(
        &mock,
        json!({"scenario": "call", "service": "ExecuteBillQuery", "times": 8,
            "data": {"FormId": "BD_MATERIAL", "FieldKeys": "FMaterialId", "Limit": 10}}),
    )
    .await;
    let calls = out["calls"].as_array().expect("calls");
    assert!(
        calls
            .iter()
            .all(|c| c["text"].as_str().is_some_and(|t| t.starts_with("[[")))
    );
    let sid = out["sid"].as_str().expect("sid");
    assert_eq!(sid.len(), 36, "a GUID session id");
    let cookies: Vec<&str> = out["cookies"]
        .as_array()
        .expect("cookies")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        cookies.contains(&format!("kdservice-sessionid={sid}").as_str()),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with(" ASP.NET_SessionId=")),
        "{cookies:?}"
    );

    let stats = get(&mock, "/_mock/stats").await;
    assert_eq!(stats["sessions_created"], 1, "{stats}");
    assert_eq!(stats["services"]["ExecuteBillQuery"]["ok"], 8);
    let log = get(&mock, "/_mock/requests").await;
    let auth: Vec<&str> = log
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|r| r["auth"].as_str())
        .collect();
    assert_eq!(auth[0], "signature");
    assert!(auth[1..].iter().all(|a| *a == "session"), "{auth:?}");
}

#[tokio::test]
async fn the_sdk_may_pass_query_data_as_a_json_string() {
    let mock = start(300).await;
    let out = probe(
        &mock,
        json!({"scenario": "call", "service": "ExecuteBillQuery", "as_string": true,
            "data": {"FormId": "BD_MATERIAL", "FieldKeys": "FMaterialId,FName",
                "FilterString": "FMaterialId <= 100003", "OrderString": "FMaterialId DESC"}}),
    )
    .await;
    let body: Value =
        serde_json::from_str(out["calls"][0]["text"].as_str().expect("body")).expect("JSON");
    let ids: Vec<i64> = body
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[0].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, [100_003, 100_002, 100_001]);
}

/// `tests/python/sdk_forms_check.py`: the SDK pages BD_Customer and BD_Supplier with the job
/// filter and every value equals the mock's own listing; BillQuery, QueryBusinessInfo and an
/// unknown field's MsgCode 9 work for both forms.
#[tokio::test]
async fn the_python_sdk_reads_customers_and_suppliers_like_materials() {
    let mock = MockServer::start(MockConfig {
        rows: 100,
        customers: 900,
        suppliers: 600,
        ..MockConfig::default()
    })
    .await
    .expect("start the mock");
    let run = Command::new(sdk_python().await)
        .arg(workspace().join("tests/python/sdk_forms_check.py"))
        .arg(mock.base())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the SDK forms check took over 2 minutes")
        .expect("run the SDK forms check");
    assert!(
        out.status.success(),
        "sdk_forms_check.py failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("the check prints JSON");
    for (form, of) in [("BD_Customer", 900), ("BD_Supplier", 600)] {
        assert_eq!(summary[form]["of"], of, "{summary}");
        let rows = summary[form]["rows"].as_u64().expect("rows");
        assert!(
            rows > 0 && rows < of,
            "{form}: the job filter picked {rows} of {of}"
        );
    }
    mock.shutdown().await;
}
