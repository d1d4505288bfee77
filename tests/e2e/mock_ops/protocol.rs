//! Protocol details a client must get right (login sessions, MsgCodes and their shapes,
//! body forms) and the stats and request log tests read.

use std::collections::BTreeSet;

use super::*;

#[tokio::test]
async fn stats_and_the_request_log_count_every_request() {
    let mock = Mock::start(300).await;
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let filter = "FDocumentStatus = 'C'";
    for start in [0, 10, 20] {
        mock.query(json!({"FormId": "BD_MATERIAL", "FieldKeys": "FNumber",
            "FilterString": filter, "OrderString": "FMaterialId", "StartRow": start, "Limit": 10}))
            .await;
    }
    let data = json!({"data": {"FormId": "BD_MATERIAL", "FieldKeys": "FNope"}});
    mock.call(EBQ, data.clone(), Auth::Nothing).await;
    mock.call(EBQ, data, Auth::Signed).await;
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;

    let stats = mock.stats().await;
    let ebq = &stats["services"]["ExecuteBillQuery"];
    assert_eq!(
        (
            ebq["ok"].as_u64(),
            ebq["auth_failed"].as_u64(),
            ebq["error"].as_u64()
        ),
        (Some(3), Some(1), Some(1)),
        "{stats}"
    );
    assert_eq!(stats["total"], 5);
    assert_eq!(stats["sessions_created"], 4);

    let log = mock.get("/_mock/requests?service=ExecuteBillQuery").await;
    let log = log.as_array().expect("log");
    assert_eq!(log.len(), 5);
    let starts: Vec<i64> = log[..3]
        .iter()
        .map(|r| r["start_row"].as_i64().expect("n"))
        .collect();
    assert_eq!(starts, [0, 10, 20]);
    for r in &log[..3] {
        assert_eq!(r["rows"], 10);
        assert_eq!(r["limit"], 10);
        assert_eq!(r["filter"], filter);
        assert_eq!(r["outcome"], "ok");
        let at = r["at_ms"].as_i64().expect("at_ms");
        assert!((before..=after).contains(&at), "{at} in {before}..{after}");
    }
    assert_eq!(log[3]["outcome"], "auth_failed");
    assert_eq!(log[4]["outcome"], "error");
    assert_eq!(
        mock.get("/_mock/requests?last=2")
            .await
            .as_array()
            .expect("log")
            .len(),
        2
    );
}

#[tokio::test]
async fn legacy_login_sessions_work_for_queries_without_signature_headers() {
    let mock = Mock::start(300).await;
    let login = json!({"acctID": "5f0c1234abcd12", "username": "webapi",
        "password": "k3sync-demo", "lcid": 2052});
    let r = mock.call(VALIDATE, login, Auth::Nothing).await;
    let cookie = session_of(&r).expect("login sets the session cookie");
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["LoginResultType"], 1);
    assert_eq!(body["IsSuccessByAPI"], true);
    assert_eq!(body["KDSVCSessionId"], cookie.as_str());
    assert_eq!(body["Context"]["UserName"], "webapi");
    let data = json!({"data": {"FormId": "BD_MATERIAL", "FieldKeys": "FNumber", "Limit": 3}});
    let rows: Value = mock
        .call(EBQ, data, Auth::Session(&cookie))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(rows.as_array().expect("rows").len(), 3);

    let wrong = json!({"parameters": ["5f0c1234abcd12", "webapi", "nope", 2052]});
    let body: Value = mock
        .call(VALIDATE, wrong, Auth::Nothing)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(body["LoginResultType"], 0);
    assert_eq!(body["KDSVCSessionId"], Value::Null);
    assert!(body["Message"].as_str().is_some_and(|m| !m.is_empty()));

    let c = MockConfig::default();
    let by_secret = json!({"parameters": [c.acct_id, c.user, c.app_id, c.app_secret, 2052]});
    let body: Value = mock
        .call(BY_SECRET, by_secret, Auth::Nothing)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(body["LoginResultType"], 1);
    assert_eq!(mock.stats().await["sessions_created"], 2);
}

#[tokio::test]
async fn business_errors_carry_the_real_msgcodes_in_each_service_shape() {
    let mock = Mock::start(300).await;
    let cases = [
        (
            json!({"FormId": "NO_SUCH_FORM", "FieldKeys": "FNumber"}),
            4,
            "标识为“NO_SUCH_FORM”的业务对象不存在，或者被删除。",
        ),
        (
            json!({"FormId": "BD_MATERIAL", "FieldKeys": ""}),
            8,
            "data数据包中的参数FieldKeys的值不能为空。",
        ),
        (
            json!({"FormId": "BD_MATERIAL", "FieldKeys": "FNumber,FNoSuchField"}),
            9,
            "元数据中标识为FNoSuchField的字段不存在",
        ),
        (
            json!({"FormId": "BD_MATERIAL", "FieldKeys": "FNumber", "Limit": 10_001}),
            4,
            "Limit不能超过10000",
        ),
    ];
    for (service, wrapped) in [(EBQ, true), (BQ, false)] {
        for (data, code, message) in &cases {
            let r = mock
                .call(service, json!({"data": data}), Auth::Signed)
                .await;
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(r.headers()["server"], "Microsoft-IIS/8.5");
            assert_eq!(
                r.headers()["content-type"],
                "application/json; charset=utf-8"
            );
            let body: Value = r.json().await.expect("JSON");
            let status = status_of(&body, wrapped);
            assert_eq!(status["MsgCode"], *code, "{body}");
            assert_eq!(status["ErrorCode"], 500);
            assert_eq!(status["Errors"][0]["Message"], *message);
            assert_eq!(status["Errors"][0]["DIndex"], 0);
        }
    }
    let bad_filter = json!({"data": {"FormId": "BD_MATERIAL", "FieldKeys": "FNumber",
        "FilterString": "FName = 'unterminated"}});
    let body: Value = mock
        .call(EBQ, bad_filter, Auth::Signed)
        .await
        .json()
        .await
        .expect("JSON");
    let message = status_of(&body, true)["Errors"][0]["Message"]
        .as_str()
        .expect("message");
    assert!(message.starts_with("GetRealExpress error"), "{message}");
}

#[tokio::test]
async fn positional_and_string_bodies_with_string_numbers_are_understood() {
    let mock = Mock::start(300).await;
    let data = json!({"FieldKeys": "FMaterialId", "OrderString": "FMaterialId",
        "TopRowCount": "0", "StartRow": "2", "Limit": "3"});
    let bodies = [
        json!({"parameters": ["BD_MATERIAL", data.to_string()]}),
        json!({"formid": "BD_MATERIAL", "data": data.to_string()}),
        json!({"format": 1, "useragent": "ApiClient", "rid": "123", "v": "1.0",
            "parameters": ["BD_MATERIAL", data.to_string()]}),
    ];
    for body in bodies {
        let rows: Value = mock
            .call(EBQ, body.clone(), Auth::Signed)
            .await
            .json()
            .await
            .expect("JSON");
        assert_eq!(rows, json!([[100_003], [100_004], [100_005]]), "{body}");
    }
    let info: Value = mock
        .call(
            QBI,
            json!({"data": {"FormId": "BD_MATERIAL"}}),
            Auth::Signed,
        )
        .await
        .json()
        .await
        .expect("JSON");
    let fields = &info["Result"]["NeedReturnData"]["Entrys"][0]["Fields"];
    let keys: BTreeSet<&str> = fields
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["Key"].as_str())
        .collect();
    for key in [
        "FMaterialId",
        "FNumber",
        "FUseOrgId",
        "FModifyDate",
        "F_ProductLine",
    ] {
        assert!(keys.contains(key), "{key} in {keys:?}");
    }
}
