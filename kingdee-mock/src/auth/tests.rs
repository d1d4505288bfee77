//! Auth model tests: sessions short-circuit everything, signatures are checked field by field,
//! and the account id failure is told apart from the rest.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::sign::Signer;
use super::*;

const PATH: &str =
    "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc";

fn headers(pairs: Vec<(&str, String)>) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).expect("name"),
            HeaderValue::from_str(&v).expect("value"),
        );
    }
    h
}

fn signed(edit: impl FnOnce(&mut Signer)) -> HeaderMap {
    let mut s = Signer::from_config(&MockConfig::default());
    edit(&mut s);
    headers(s.headers(PATH, 1_795_711_751))
}

#[test]
fn a_good_signature_opens_a_session_that_later_requests_use() {
    let cfg = MockConfig::default();
    let sessions = Sessions::default();
    let AuthOutcome::Signed(new) = authenticate(&cfg, &sessions, &signed(|_| {}), PATH) else {
        panic!("signature must be accepted");
    };
    let by_header = headers(vec![("kdservice-sessionid", new.sid.clone())]);
    assert_eq!(
        authenticate(&cfg, &sessions, &by_header, PATH),
        AuthOutcome::Session
    );
    let sdk_cookie = format!(
        "Theme=standard;kdservice-sessionid={}; ASP.NET_SessionId={}",
        new.sid, new.asp_id
    );
    let by_cookie = headers(vec![("Cookie", sdk_cookie)]);
    assert_eq!(
        authenticate(&cfg, &sessions, &by_cookie, PATH),
        AuthOutcome::Session
    );
    let by_sid = headers(vec![("SID", new.sid.clone())]);
    assert_eq!(
        authenticate(&cfg, &sessions, &by_sid, PATH),
        AuthOutcome::Session
    );
    assert_eq!(sessions.created(), 1);
}

#[test]
fn a_known_session_is_not_rechecked() {
    let cfg = MockConfig::default();
    let sessions = Sessions::default();
    let new = sessions.open();
    let mut h = signed(|s| s.app_secret = "wrong".into());
    h.insert(
        "kdservice-sessionid",
        HeaderValue::from_str(&new.sid).expect("value"),
    );
    assert_eq!(
        authenticate(&cfg, &sessions, &h, PATH),
        AuthOutcome::Session
    );
}

type Edit = Box<dyn Fn(&mut Signer)>;

#[test]
fn each_wrong_credential_is_refused_with_msgcode_1() {
    let cfg = MockConfig::default();
    let sessions = Sessions::default();
    let cases: Vec<Edit> = vec![
        Box::new(|s| s.app_secret = "0123456789abcdef0123456789abcdee".into()),
        Box::new(|s| s.user = "someone".into()),
        Box::new(|s| s.lcid = 9999),
        Box::new(|s| s.app_id = "654321_X1bR5mV0cT2kQ9wLz7HsN4pYe8uJa3Df".into()),
    ];
    for edit in cases {
        let outcome = authenticate(&cfg, &sessions, &signed(edit), PATH);
        assert!(matches!(outcome, AuthOutcome::Refused(_)), "{outcome:?}");
    }
    let stale = headers(vec![("kdservice-sessionid", "no-such-session".into())]);
    assert!(matches!(
        authenticate(&cfg, &sessions, &stale, PATH),
        AuthOutcome::Refused(_)
    ));
    assert_eq!(sessions.created(), 0);
}

#[test]
fn an_unknown_account_is_a_passport_failure() {
    let cfg = MockConfig::default();
    let outcome = authenticate(
        &cfg,
        &Sessions::default(),
        &signed(|s| {
            s.acct = "000000000000".into();
            s.app_secret = "also wrong".into();
        }),
        PATH,
    );
    assert_eq!(outcome, AuthOutcome::WrongAccount);
}

#[test]
fn org_and_gateway_signature_do_not_matter() {
    let cfg = MockConfig::default();
    let sessions = Sessions::default();
    let mut h = signed(|s| s.org = 100);
    h.insert("X-Api-Signature", HeaderValue::from_static("bogus"));
    assert!(matches!(
        authenticate(&cfg, &sessions, &h, PATH),
        AuthOutcome::Signed(_)
    ));
    let stale_but_signed = {
        let mut h = signed(|_| {});
        h.insert("kdservice-sessionid", HeaderValue::from_static("forgotten"));
        h
    };
    assert!(matches!(
        authenticate(&cfg, &sessions, &stale_but_signed, PATH),
        AuthOutcome::Signed(_)
    ));
}

#[test]
fn new_sessions_set_the_two_iis_cookies() {
    let new = NewSession {
        sid: "5bea7f66-423a-4c4f-a12a-9599cb454007".into(),
        asp_id: "mock0asp0net0session0id".into(),
    };
    let [a, b] = set_cookies(&new);
    assert_eq!(
        a,
        "kdservice-sessionid=5bea7f66-423a-4c4f-a12a-9599cb454007; expires=Thu, 28-Aug-2036 08:00:00 GMT; path=/"
    );
    assert_eq!(
        b,
        "ASP.NET_SessionId=mock0asp0net0session0id; path=/; HttpOnly; SameSite=Lax"
    );
}
