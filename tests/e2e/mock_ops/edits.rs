//! Edits sync tests rely on: touch, forbid, insert and update, reset.

use super::*;

#[tokio::test]
async fn touch_moves_rows_past_every_modify_date_and_an_incremental_filter_finds_exactly_them() {
    let mock = Mock::start(2_000).await;
    let before = mock.get("/_mock/rows").await;
    let newest = before
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["FModifyDate"].as_str())
        .max()
        .expect("dates")
        .to_owned();
    let answer = mock
        .ok(
            Method::POST,
            "/_mock/touch",
            json!({"count": 5, "filter": "FDocumentStatus = 'C'"}),
        )
        .await;
    let touched = ids(&answer["ids"]);
    assert_eq!(touched.len(), 5);
    let stamp = answer["modify_date"].as_str().expect("date").to_owned();
    assert!(stamp > newest, "{stamp} after {newest}");
    for row in mock.rows_by_id(&touched).await {
        assert_eq!(row["FModifyDate"], stamp.as_str());
        assert_eq!(row["FDocumentStatus"], "C");
        assert!(
            row["FName"].as_str().expect("name").ends_with(" v2"),
            "{row}"
        );
    }

    let since = page(
        &format!("FModifyDate > '{newest}'"),
        "FModifyDate ASC, FMaterialId ASC",
    );
    let rows = mock.query(since).await;
    let mut sorted = touched.clone();
    sorted.sort_unstable();
    assert_eq!(
        rows.iter()
            .map(|r| r[0].as_i64().expect("id"))
            .collect::<Vec<_>>(),
        sorted
    );
    assert!(rows.iter().all(|r| r[1] == stamp.as_str()));

    let cursor = format!(
        "FModifyDate > '{stamp}' OR (FModifyDate = '{stamp}' AND FMaterialId > {})",
        sorted[1]
    );
    let rest = mock.query(page(&cursor, "FModifyDate, FMaterialId")).await;
    let rest: Vec<i64> = rest.iter().map(|r| r[0].as_i64().expect("id")).collect();
    assert_eq!(rest, sorted[2..]);

    let again = mock
        .ok(Method::POST, "/_mock/touch", json!({"ids": [sorted[0]]}))
        .await;
    assert!(again["modify_date"].as_str().expect("date") > stamp.as_str());
    assert!(
        again["rows"][0]["FName"]
            .as_str()
            .expect("name")
            .ends_with(" v3")
    );
}

#[tokio::test]
async fn forbid_disables_rows_and_stamps_forbid_and_modify_dates() {
    let mock = Mock::start(1_000).await;
    let answer = mock
        .ok(Method::POST, "/_mock/forbid", json!({"count": 3}))
        .await;
    let forbidden = ids(&answer["ids"]);
    assert_eq!(forbidden.len(), 3);
    let stamp = answer["modify_date"].as_str().expect("date");
    for row in mock.rows_by_id(&forbidden).await {
        assert_eq!(row["FForbidStatus"], "B");
        assert_eq!(row["FForbidDate"], stamp);
        assert_eq!(row["FModifyDate"], stamp);
    }
    let filter = format!("FForbidStatus = 'B' AND FModifyDate >= '{stamp}'");
    let rows = mock.query(page(&filter, "FMaterialId")).await;
    let found: Vec<i64> = rows.iter().map(|r| r[0].as_i64().expect("id")).collect();
    assert_eq!(found, forbidden);
    let one = mock
        .ok(Method::POST, "/_mock/forbid", json!({"ids": [100_001]}))
        .await;
    assert_eq!(ids(&one["ids"]), [100_001]);
    let (status, err) = mock
        .send(Method::POST, "/_mock/forbid", json!({"ids": [1]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err["error"]
            .as_str()
            .expect("error")
            .contains("FMaterialId 1")
    );
}

#[tokio::test]
async fn rows_can_be_inserted_and_updated_through_the_operator_endpoint() {
    let mock = Mock::start(500).await;
    let old = mock.rows_by_id(&[100_002]).await[0].clone();
    let answer = mock
        .ok(
            Method::POST,
            "/_mock/rows",
            json!([
                {"FNumber": "9.99.000001", "FName": "新增物料𠀀", "FUseOrgId.FNumber": "101",
                 "FSpecification": " M3*8 ", "FNETWEIGHT": 0.125, "FGROSSWEIGHT": 0.25},
                {"FMaterialId": 100_002, "FName": "改名"}
            ]),
        )
        .await;
    assert_eq!(ids(&answer["ids"]), [100_501, 100_002]);
    let rows = mock.rows_by_id(&[100_501, 100_002]).await;
    let (new, changed) = (&rows[0], &rows[1]);
    assert_eq!(new["FName"], "新增物料𠀀");
    assert_eq!(new["FUseOrgId.FNumber"], "101");
    assert_eq!(new["FUseOrgId.FName"], "华信集团深圳工厂");
    assert_eq!(new["FSpecification"], " M3*8 ");
    assert_eq!(new["FMasterId"], 100_501);
    assert_eq!(new["FDocumentStatus"], "C");
    assert_eq!(new["FNETWEIGHT"], 0.125);
    assert_eq!(changed["FName"], "改名");
    assert_eq!(changed["FNumber"], old["FNumber"]);
    assert!(changed["FModifyDate"].as_str() > old["FModifyDate"].as_str());

    let found = mock
        .query(json!({"FormId": "BD_MATERIAL",
            "FieldKeys": "FMaterialId,FUseOrgId.FNumber,FSpecification",
            "FilterString": "FNumber = '9.99.000001'"}))
        .await;
    assert_eq!(found, [json!([100_501, "101", " M3*8 "])]);
    let (status, err) = mock
        .send(Method::POST, "/_mock/rows", json!([{"FNoSuchField": 1}]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err["error"]
            .as_str()
            .expect("error")
            .contains("FNoSuchField")
    );
}

#[tokio::test]
async fn reset_restores_the_generated_rows_and_clears_faults_stats_and_sessions() {
    let mock = Mock::start(800).await;
    let pristine = mock.get("/_mock/rows").await;
    let first = mock
        .call(
            EBQ,
            json!({"data": {"FormId": "BD_MATERIAL", "FieldKeys": "FNumber"}}),
            Auth::Signed,
        )
        .await;
    let sid = session_of(&first).expect("session");
    mock.ok(Method::POST, "/_mock/touch", json!({"count": 10}))
        .await;
    mock.ok(Method::POST, "/_mock/rows", json!([{"FName": "x"}]))
        .await;
    mock.ok(
        Method::PUT,
        "/_mock/faults",
        json!({"http500": 0.5, "latency_ms": 5}),
    )
    .await;
    mock.ok(
        Method::POST,
        "/_mock/faults/next",
        json!({"after": 3, "kinds": ["hang"]}),
    )
    .await;
    assert_ne!(mock.get("/_mock/rows").await, pristine);

    mock.ok(Method::POST, "/_mock/reset", json!({})).await;
    assert_eq!(mock.get("/_mock/rows").await, pristine);
    let faults = mock.get("/_mock/faults").await;
    assert_eq!(faults["http500"], 0.0);
    assert_eq!(faults["latency_ms"], 0);
    assert_eq!(faults["apply_to"], json!(["ExecuteBillQuery", "BillQuery"]));
    let stats = mock.stats().await;
    assert_eq!(
        (stats["total"].as_u64(), stats["sessions_created"].as_u64()),
        (Some(0), Some(0))
    );
    let data = json!({"data": {"FormId": "BD_MATERIAL", "FieldKeys": "FNumber"}});
    let r = mock.call(EBQ, data, Auth::Session(&sid)).await;
    assert_eq!(
        status_of(&r.json::<Value>().await.expect("JSON"), true)["MsgCode"],
        1
    );
}
