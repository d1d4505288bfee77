//! Tests of [`KingdeeClient`] against a scripted HTTP server on a random local port: headers and
//! session, the retry rules, the rate limit and the in-flight cap. No Kingdee needed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use secrecy::SecretString;
use tokio::task::JoinSet;

use super::{BillQuery, ErrorClass, KingdeeClient, KingdeeError};
use crate::settings::{AuthMode, KingdeeSettings};

const ROWS: &str = r#"[[100001,"1.01.0001"],[100002,"1.01.0002"]]"#;
const SID: &str = "5bea7f66-423a-4c4f-a12a-9599cb454007";

/// One request as the server saw it.
struct Seen {
    path: String,
    headers: HeaderMap,
    body: String,
}

/// Status, `(name, value)` headers, body.
type Answer = (StatusCode, Vec<(&'static str, String)>, String);
type Script = dyn Fn(usize, &Seen) -> Answer + Send + Sync;

#[derive(Clone)]
struct Server {
    script: Arc<Script>,
    seen: Arc<Mutex<Vec<Seen>>>,
    delay: Duration,
    active: Arc<AtomicUsize>,
    most_active: Arc<AtomicUsize>,
}

impl Server {
    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn header(&self, index: usize, name: &str) -> Option<String> {
        let seen = self.seen.lock().unwrap();
        seen[index]
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

async fn answer(
    State(server): State<Server>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, HeaderMap, String) {
    let now = server.active.fetch_add(1, Ordering::SeqCst) + 1;
    server.most_active.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(server.delay).await;
    server.active.fetch_sub(1, Ordering::SeqCst);
    let seen = Seen {
        path: uri.path().to_owned(),
        headers,
        body,
    };
    let (status, extra, body) = {
        let mut all = server.seen.lock().unwrap();
        let answer = (server.script)(all.len(), &seen);
        all.push(seen);
        answer
    };
    let mut headers = HeaderMap::new();
    for (name, value) in extra {
        headers.append(name, HeaderValue::from_str(&value).unwrap());
    }
    (status, headers, body)
}

/// Serves `script` (request index, request → answer) and returns the server and its base URL.
async fn serve(
    delay: Duration,
    script: impl Fn(usize, &Seen) -> Answer + Send + Sync + 'static,
) -> (Server, String) {
    let server = Server {
        script: Arc::new(script),
        seen: Arc::default(),
        delay,
        active: Arc::default(),
        most_active: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/k3cloud", listener.local_addr().unwrap());
    let app = Router::new().fallback(answer).with_state(server.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (server, url)
}

fn settings(server_url: &str) -> KingdeeSettings {
    KingdeeSettings {
        server_url: server_url.to_owned(),
        acct_id: "5f0c1234abcd12".into(),
        user_name: "webapi".into(),
        app_id: "123456_X1bR5mV0cT2kQ9wLz7HsN4pYe8uJa3Df".into(),
        app_secret: SecretString::from("0123456789abcdef0123456789abcdef"),
        lcid: 2052,
        org_num: "0".into(),
        auth: AuthMode::Signature,
        password: None,
        request_timeout_secs: 5,
        requests_per_second: 0,
        max_in_flight: 4,
        retry_attempts: 3,
        retry_min_delay_ms: 10,
        retry_max_delay_ms: 40,
        retry_max_elapsed_secs: 30,
        utc_offset: "+08:00".into(),
        auth_backoff: Default::default(),
    }
}

fn query() -> BillQuery {
    BillQuery {
        form_id: "BD_MATERIAL".into(),
        field_keys: vec!["FMaterialId".into(), "FNumber".into()],
        filter_string: "FDocumentStatus = 'C'".into(),
        order_string: "FMaterialId ASC".into(),
        start_row: 0,
        limit: 2000,
        top_row_count: 0,
    }
}

fn ok(body: &str) -> Answer {
    (StatusCode::OK, vec![], body.to_owned())
}

fn msg_code(code: i64) -> Answer {
    ok(&format!(
        r#"[[{{"Result":{{"ResponseStatus":{{"ErrorCode":500,"IsSuccess":false,"Errors":[{{"FieldName":null,"Message":"message {code}","DIndex":0}}],"SuccessEntitys":[],"SuccessMessages":[],"MsgCode":{code}}}}}}}]]"#
    ))
}

fn with_session(answer: Answer) -> Answer {
    let (status, mut headers, body) = answer;
    headers.push((
        "set-cookie",
        format!("kdservice-sessionid={SID}; expires=Thu, 28-Aug-2036 08:00:00 GMT; path=/"),
    ));
    headers.push((
        "set-cookie",
        "ASP.NET_SessionId=asp1; path=/; HttpOnly".into(),
    ));
    (status, headers, body)
}

#[tokio::test]
async fn signed_query_reaches_the_service_with_sdk_headers_and_then_sends_the_session() {
    let (server, url) = serve(Duration::ZERO, |_, _| with_session(ok(ROWS))).await;
    let client = KingdeeClient::new(&settings(&url)).unwrap();

    let records = client.execute_bill_query(&query()).await.unwrap();
    client.execute_bill_query(&query()).await.unwrap();

    assert_eq!(records.len(), 2);
    assert_eq!(
        records.value(1, "FNumber"),
        Some(&serde_json::json!("1.01.0002"))
    );
    let seen = server.seen.lock().unwrap();
    assert_eq!(
        seen[0].path,
        "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc"
    );
    assert_eq!(seen[0].body, query().body());
    assert_eq!(seen[0].headers["content-type"], "application/json");
    for name in [
        "x-api-clientid",
        "x-api-timestamp",
        "x-api-nonce",
        "x-api-signature",
        "x-kd-appkey",
        "x-kd-signature",
    ] {
        assert!(seen[0].headers.contains_key(name), "{name}");
    }
    assert_eq!(
        seen[0].headers["x-kd-appdata"],
        "NWYwYzEyMzRhYmNkMTIsd2ViYXBpLDIwNTIsMA=="
    );
    assert!(!seen[0].headers.contains_key("kdservice-sessionid"));
    assert!(!seen[0].headers.contains_key("cookie"));
    assert_eq!(seen[1].headers["kdservice-sessionid"], SID);
    assert_eq!(
        seen[1].headers["cookie"],
        format!("kdservice-sessionid={SID}; ASP.NET_SessionId=asp1").as_str()
    );
    assert!(
        seen[1].headers.contains_key("x-kd-signature"),
        "every request is signed"
    );
}

#[tokio::test]
async fn a_server_that_always_answers_msg_code_1_gets_exactly_two_requests() {
    let (server, url) = serve(Duration::ZERO, |i, _| {
        if i == 0 {
            with_session(ok(ROWS))
        } else {
            msg_code(1)
        }
    })
    .await;
    let client = KingdeeClient::new(&settings(&url)).unwrap();
    client.execute_bill_query(&query()).await.unwrap();

    let err = client.execute_bill_query(&query()).await.unwrap_err();

    assert!(
        matches!(err, KingdeeError::Authentication { .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Authentication);
    assert!(err.to_string().contains("MsgCode 1: message 1"), "{err}");
    assert_eq!(server.count(), 3);
    assert_eq!(
        server.header(1, "kdservice-sessionid").as_deref(),
        Some(SID)
    );
    assert_eq!(
        server.header(2, "kdservice-sessionid"),
        None,
        "the refused session is dropped"
    );
}

#[tokio::test]
async fn a_transient_500_is_retried_and_then_succeeds() {
    let (server, url) = serve(Duration::ZERO, |i, _| match i {
        0 | 1 => (StatusCode::INTERNAL_SERVER_ERROR, vec![], "busy".into()),
        _ => ok(ROWS),
    })
    .await;
    let client = KingdeeClient::new(&settings(&url)).unwrap();

    let records = client.execute_bill_query(&query()).await.unwrap();

    assert_eq!(records.len(), 2);
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn msg_code_14_and_429_are_retried_until_the_attempts_run_out() {
    let (server, url) = serve(Duration::ZERO, |i, _| {
        if i % 2 == 0 {
            msg_code(14)
        } else {
            (StatusCode::TOO_MANY_REQUESTS, vec![], String::new())
        }
    })
    .await;
    let client = KingdeeClient::new(&settings(&url)).unwrap();

    let err = client.execute_bill_query(&query()).await.unwrap_err();

    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(server.count(), 3, "retry_attempts = 3");
}

#[tokio::test]
async fn retries_stop_when_the_total_time_is_spent() {
    let (server, url) = serve(Duration::ZERO, |_, _| msg_code(14)).await;
    let mut settings = settings(&url);
    (
        settings.retry_attempts,
        settings.retry_min_delay_ms,
        settings.retry_max_delay_ms,
    ) = (100, 400, 400);
    settings.retry_max_elapsed_secs = 1;
    let client = KingdeeClient::new(&settings).unwrap();

    let started = Instant::now();
    client.execute_bill_query(&query()).await.unwrap_err();

    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!((2..=4).contains(&server.count()), "{}", server.count());
}

#[tokio::test]
async fn configuration_wrong_account_and_malformed_answers_are_not_retried() {
    let answers: [(Answer, ErrorClass); 5] = [
        (msg_code(4), ErrorClass::Configuration),
        (msg_code(9), ErrorClass::Configuration),
        (
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                vec![],
                "Fail to verify thirty passport".into(),
            ),
            ErrorClass::Authentication,
        ),
        (
            ok("<html><body>Runtime Error</body></html>"),
            ErrorClass::Malformed,
        ),
        (
            ok(r#"[[100001,"1.01.0001"],[100002]]"#),
            ErrorClass::Malformed,
        ),
    ];
    for (answer, class) in answers {
        let (server, url) = serve(Duration::ZERO, move |_, _| answer.clone()).await;
        let client = KingdeeClient::new(&settings(&url)).unwrap();
        let err = client.execute_bill_query(&query()).await.unwrap_err();
        assert_eq!(err.class(), class, "{err}");
        assert_eq!(server.count(), 1, "{err}");
    }
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/k3cloud/", listener.local_addr().unwrap());
    drop(listener);
    let mut settings = settings(&url);
    settings.retry_attempts = 2;
    let client = KingdeeClient::new(&settings).unwrap();

    let err = client.execute_bill_query(&query()).await.unwrap_err();

    assert!(matches!(err, KingdeeError::Transport { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Transient);
}

#[tokio::test]
async fn a_timeout_is_transient() {
    let (_server, url) = serve(Duration::from_secs(3), |_, _| ok(ROWS)).await;
    let mut settings = settings(&url);
    (settings.request_timeout_secs, settings.retry_attempts) = (1, 1);
    let client = KingdeeClient::new(&settings).unwrap();

    let err = client.execute_bill_query(&query()).await.unwrap_err();

    assert!(
        matches!(&err, KingdeeError::Transport { source, .. } if source.is_timeout()),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Transient);
}

#[tokio::test]
async fn the_rate_limit_spaces_requests_evenly() {
    let (server, url) = serve(Duration::ZERO, |_, _| ok(ROWS)).await;
    let mut settings = settings(&url);
    settings.requests_per_second = 5;
    let client = KingdeeClient::new(&settings).unwrap();

    let started = Instant::now();
    for _ in 0..11 {
        client.execute_bill_query(&query()).await.unwrap();
    }

    // Burst 1 at 5 rps: request n leaves at n × 200 ms, so the 11th at 2 s.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    assert_eq!(server.count(), 11);
}

#[tokio::test]
async fn no_more_than_max_in_flight_requests_run_at_once() {
    let (server, url) = serve(Duration::from_millis(150), |_, _| ok(ROWS)).await;
    let mut settings = settings(&url);
    settings.max_in_flight = 2;
    let client = KingdeeClient::new(&settings).unwrap();

    let mut tasks = JoinSet::new();
    for _ in 0..6 {
        let client = client.clone();
        tasks.spawn(async move { client.execute_bill_query(&query()).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }

    assert_eq!(server.count(), 6);
    assert_eq!(server.most_active.load(Ordering::SeqCst), 2);
}

fn password_settings(url: &str) -> KingdeeSettings {
    let mut settings = settings(url);
    settings.auth = AuthMode::Password;
    settings.password = Some(SecretString::from("pw"));
    settings
}

fn is_login(seen: &Seen) -> bool {
    seen.path.ends_with("AuthService.ValidateUser.common.kdsvc")
}

#[tokio::test]
async fn password_mode_logs_in_once_and_sends_only_the_session() {
    let (server, url) = serve(Duration::ZERO, |_, seen| {
        if is_login(seen) {
            ok(r#"{"LoginResultType":1,"KDSVCSessionId":"sid-1"}"#)
        } else {
            ok(ROWS)
        }
    })
    .await;
    let client = KingdeeClient::new(&password_settings(&url)).unwrap();

    client.execute_bill_query(&query()).await.unwrap();
    client.execute_bill_query(&query()).await.unwrap();

    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(is_login(&seen[0]));
    assert_eq!(
        seen[0].body,
        r#"{"acctID":"5f0c1234abcd12","username":"webapi","password":"pw","lcid":2052}"#
    );
    for query in &seen[1..] {
        assert_eq!(query.headers["kdservice-sessionid"], "sid-1");
        assert_eq!(query.headers["cookie"], "kdservice-sessionid=sid-1");
        assert!(!query.headers.contains_key("x-kd-signature"));
    }
}

#[tokio::test]
async fn password_mode_logs_in_again_once_on_msg_code_1_and_then_gives_up() {
    let (server, url) = serve(Duration::ZERO, |_, seen| {
        if is_login(seen) {
            ok(r#"{"LoginResultType":1,"KDSVCSessionId":"sid-1"}"#)
        } else {
            msg_code(1)
        }
    })
    .await;
    let client = KingdeeClient::new(&password_settings(&url)).unwrap();

    let err = client.execute_bill_query(&query()).await.unwrap_err();

    assert!(
        matches!(err, KingdeeError::Authentication { .. }),
        "{err:?}"
    );
    let seen = server.seen.lock().unwrap();
    let logins: Vec<bool> = seen.iter().map(is_login).collect();
    assert_eq!(logins, [true, false, true, false]);
}

#[tokio::test]
async fn a_refused_password_login_is_an_authentication_error() {
    let (server, url) = serve(Duration::ZERO, |_, _| {
        ok(r#"{"LoginResultType":0,"Message":"bad password"}"#)
    })
    .await;
    let client = KingdeeClient::new(&password_settings(&url)).unwrap();

    let err = client.execute_bill_query(&query()).await.unwrap_err();

    assert!(
        matches!(err, KingdeeError::Login { result_type: 0, .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Authentication);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn after_a_refused_login_no_request_goes_out_until_the_pause_is_over() {
    let (server, url) = serve(Duration::ZERO, |_, _| {
        ok(r#"{"LoginResultType":0,"Message":"bad password"}"#)
    })
    .await;
    let mut settings = password_settings(&url);
    settings.auth_backoff.min_pause_secs = 1;
    let client = KingdeeClient::new(&settings).unwrap();
    client.execute_bill_query(&query()).await.unwrap_err();

    for _ in 0..5 {
        let err = client.execute_bill_query(&query()).await.unwrap_err();
        assert!(
            matches!(
                err,
                KingdeeError::AuthPaused {
                    left_secs: 1,
                    refusals: 1
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.class(), ErrorClass::Authentication);
    }
    assert_eq!(server.count(), 1, "paused calls send nothing");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.execute_bill_query(&query()).await.unwrap_err();
    assert_eq!(server.count(), 2, "one more login once the pause is over");
    let err = client.execute_bill_query(&query()).await.unwrap_err();
    assert!(
        matches!(
            err,
            KingdeeError::AuthPaused {
                left_secs: 2,
                refusals: 2
            }
        ),
        "the pause doubled: {err:?}"
    );
}

#[test]
fn an_https_client_builds_with_the_ring_provider() {
    let client = KingdeeClient::new(&settings("https://erp.example.com/k3cloud")).unwrap();
    assert!(format!("{client:?}").contains("https://erp.example.com/k3cloud/Kingdee.BOS"));
}

#[test]
fn the_client_is_clone_send_and_sync() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<KingdeeClient>();
}
