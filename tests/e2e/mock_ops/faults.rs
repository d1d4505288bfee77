//! Injected faults a client must survive: HTTP 500, MsgCode 14, hangs, latency,
//! malformed bodies, lost sessions.

use super::*;

#[tokio::test]
async fn an_http500_ratio_of_one_fails_every_affected_service_with_an_iis_page() {
    let mock = Mock::start(300).await;
    mock.ok(Method::PUT, "/_mock/faults", json!({"http500": 1.0}))
        .await;
    let data = json!({"data": {"FormId": "BD_MATERIAL", "FieldKeys": "FNumber"}});
    for service in [EBQ, BQ] {
        let r = mock.call(service, data.clone(), Auth::Signed).await;
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .expect("type")
                .starts_with("text/html")
        );
        assert!(r.text().await.expect("body").contains("500"));
    }
    let info = json!({"data": {"FormId": "BD_MATERIAL"}});
    let r = mock.call(QBI, info.clone(), Auth::Signed).await;
    assert_eq!(r.status(), StatusCode::OK, "not in apply_to");
    mock.ok(
        Method::PUT,
        "/_mock/faults",
        json!({"http500": 1.0, "apply_to": ["QueryBusinessInfo"]}),
    )
    .await;
    let r = mock.call(QBI, info, Auth::Signed).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let stats = mock.stats().await;
    assert_eq!(stats["services"]["ExecuteBillQuery"]["http500"], 1);
    assert_eq!(stats["services"]["BillQuery"]["http500"], 1);
    assert_eq!(stats["services"]["QueryBusinessInfo"]["http500"], 1);
    assert_eq!(stats["services"]["QueryBusinessInfo"]["ok"], 1);
}

#[tokio::test]
async fn a_msgcode14_ratio_answers_the_call_limit_in_each_service_shape() {
    let mock = Mock::start(300).await;
    mock.ok(Method::PUT, "/_mock/faults", json!({"msgcode14": 1.0}))
        .await;
    let data = json!({"data": {"FormId": "BD_MATERIAL", "FieldKeys": "FNumber"}});
    for (service, wrapped) in [(EBQ, true), (BQ, false)] {
        let r = mock.call(service, data.clone(), Auth::Signed).await;
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.expect("JSON");
        let status = status_of(&body, wrapped);
        assert_eq!(status["MsgCode"], 14, "{body}");
        assert_eq!(status["IsSuccess"], false);
    }
    assert_eq!(mock.stats().await["services"]["BillQuery"]["msgcode14"], 1);
}

#[tokio::test]
async fn a_hanging_query_outlasts_a_client_with_a_short_timeout() {
    let mock = Mock::start(300).await;
    mock.ok(
        Method::PUT,
        "/_mock/faults",
        json!({"hang": 1.0, "hang_ms": 1500}),
    )
    .await;
    let impatient = http_client(reqwest::Client::builder().timeout(Duration::from_millis(300)));
    let data = json!({"data": {"FormId": "BD_MATERIAL", "FieldKeys": "FNumber", "Limit": 1}});
    let started = Instant::now();
    let err = mock
        .call_with(&impatient, EBQ, &data, Auth::Signed)
        .await
        .expect_err("the client must time out");
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_millis(1400));
    eventually("the hang to be counted", async || {
        mock.stats().await["services"]["ExecuteBillQuery"]["hang"] == 1
    })
    .await;
    mock.ok(Method::PUT, "/_mock/faults", json!({})).await;
    assert_eq!(mock.query(data["data"].clone()).await.len(), 1);
}

#[tokio::test]
async fn latency_is_added_to_every_affected_request() {
    let mock = Mock::start(300).await;
    mock.ok(Method::PUT, "/_mock/faults", json!({"latency_ms": 250}))
        .await;
    let started = Instant::now();
    mock.query(json!({"FormId": "BD_MATERIAL", "FieldKeys": "FNumber", "Limit": 1}))
        .await;
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn one_shot_faults_hit_exactly_the_requests_named_in_order() {
    let mock = Mock::start(500).await;
    let queued = mock
        .ok(
            Method::POST,
            "/_mock/faults/next",
            json!({"after": 1, "kinds": ["html", "truncated", "wrong_row_length"]}),
        )
        .await;
    assert_eq!(queued["pending"], 4);
    let data = json!({"data": {"FormId": "BD_MATERIAL", "FieldKeys": "FMaterialId,FNumber,FName",
        "OrderString": "FMaterialId", "Limit": 20}});
    let mut bodies = Vec::new();
    for _ in 0..5 {
        let r = mock.call(EBQ, data.clone(), Auth::Signed).await;
        assert_eq!(r.status(), StatusCode::OK);
        let kind = r.headers()["content-type"]
            .to_str()
            .expect("type")
            .to_owned();
        bodies.push((kind, r.text().await.expect("body")));
    }
    let normal = &bodies[0].1;
    assert!(bodies[0].0.starts_with("application/json"));
    assert_eq!(&bodies[4].1, normal, "the queue is used up");
    assert!(bodies[1].0.starts_with("text/html"));
    assert!(bodies[1].1.contains("<html>"));
    let cut = &bodies[2].1;
    assert!(cut.len() < normal.len() && normal.starts_with(cut.as_str()));
    assert!(serde_json::from_str::<Value>(cut).is_err());
    let short: Value = serde_json::from_str(&bodies[3].1).expect("still JSON");
    let lens: Vec<usize> = short
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.as_array().expect("row").len())
        .collect();
    assert_eq!(lens[0], 2);
    assert!(lens[1..].iter().all(|&n| n == 3));
    let stats = mock.stats().await;
    assert_eq!(stats["services"]["ExecuteBillQuery"]["malformed"], 3);
    assert_eq!(stats["services"]["ExecuteBillQuery"]["ok"], 2);
}

#[tokio::test]
async fn dropped_sessions_are_refused_without_a_signature_and_a_signed_request_opens_a_new_one() {
    let mock = Mock::start(300).await;
    let data = json!({"data": {"FormId": "BD_MATERIAL", "FieldKeys": "FNumber", "Limit": 2}});
    let first = mock.call(EBQ, data.clone(), Auth::Signed).await;
    let sid = session_of(&first).expect("a session cookie");
    let r = mock.call(EBQ, data.clone(), Auth::Session(&sid)).await;
    assert!(
        session_of(&r).is_none(),
        "the session is reused, not replaced"
    );
    assert_eq!(
        r.json::<Value>()
            .await
            .expect("JSON")
            .as_array()
            .expect("rows")
            .len(),
        2
    );

    mock.ok(
        Method::POST,
        "/_mock/faults/next",
        json!({"kinds": ["drop_sessions"]}),
    )
    .await;
    let r = mock.call(EBQ, data.clone(), Auth::Session(&sid)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(status_of(&body, true)["MsgCode"], 1, "{body}");

    let r = mock.call(EBQ, data.clone(), Auth::Both(&sid)).await;
    let renewed = session_of(&r).expect("a new session cookie");
    assert_ne!(renewed, sid);
    let r = mock.call(EBQ, data.clone(), Auth::Session(&renewed)).await;
    assert!(!is_error(&r.json::<Value>().await.expect("JSON")));

    mock.ok(Method::PUT, "/_mock/faults", json!({"drop_sessions": 1.0}))
        .await;
    let r = mock.call(EBQ, data.clone(), Auth::Session(&renewed)).await;
    assert_eq!(
        status_of(&r.json::<Value>().await.expect("JSON"), true)["MsgCode"],
        1
    );
    let r = mock.call(EBQ, data, Auth::Both(&renewed)).await;
    assert!(session_of(&r).is_some());
    assert_eq!(mock.stats().await["sessions_created"], 3);
}
