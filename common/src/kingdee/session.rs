//! The Kingdee session: the `kdservice-sessionid` (and any other cookie, such as a load
//! balancer's) the server hands back, sent on later requests; plus the legacy password login
//! (`AuthService.ValidateUser`) that creates one for old deployments.

use std::sync::{Mutex, MutexGuard, PoisonError};

use reqwest::header::{COOKIE, HeaderMap, HeaderName, HeaderValue, SET_COOKIE};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::error::KingdeeError;

/// Service name of the legacy password login.
pub(crate) const VALIDATE_USER: &str =
    "Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc";
const SESSION_COOKIE: &str = "kdservice-sessionid";

/// The cookies of one session, in arrival order. `Debug` never shows their values.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Session {
    cookies: Vec<(String, String)>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.cookies.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Session").field("cookies", &names).finish()
    }
}

impl Session {
    pub(crate) fn sid(&self) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(name, _)| name == SESSION_COOKIE)
            .map(|(_, v)| v.as_str())
    }

    /// `kdservice-sessionid: <sid>` and `Cookie: kdservice-sessionid=<sid>; …` once known.
    /// Values that cannot be header values are left out (the server then signs us in anew).
    pub(crate) fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut headers = Vec::with_capacity(2);
        if let Some(sid) = self.sid().and_then(|sid| HeaderValue::from_str(sid).ok()) {
            headers.push((HeaderName::from_static(SESSION_COOKIE), sid));
        }
        if self.cookies.is_empty() {
            return headers;
        }
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        if let Ok(cookie) = HeaderValue::from_str(&cookie.join("; ")) {
            headers.push((COOKIE, cookie));
        }
        headers
    }

    fn set(&mut self, name: &str, value: &str) {
        match self.cookies.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => value.clone_into(v),
            None => self.cookies.push((name.to_owned(), value.to_owned())),
        }
    }
}

/// The session shared by every request of one client.
#[derive(Default)]
pub(crate) struct SessionStore {
    current: Mutex<Session>,
}

impl SessionStore {
    /// The session; a panic elsewhere while it was held leaves it as it was, still usable.
    fn lock(&self) -> MutexGuard<'_, Session> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn snapshot(&self) -> Session {
        self.lock().clone()
    }

    /// Keeps the cookies of a successful answer. Each `Set-Cookie` header is read on its own:
    /// joined, the comma in `expires=Thu, 28-Aug-…` would split a cookie in two.
    /// Empty values (the "shell" cookie of a refused request) are ignored.
    pub(crate) fn absorb(&self, headers: &HeaderMap) {
        let cookies: Vec<(String, String)> = headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(parse_set_cookie)
            .collect();
        let mut session = self.lock();
        for (name, value) in cookies {
            session.set(&name, &value);
        }
    }

    /// Takes the session id of a password login.
    pub(crate) fn set_sid(&self, sid: &str) {
        self.lock().set(SESSION_COOKIE, sid);
    }

    /// Forgets the session a refused request used, unless another request already replaced it.
    pub(crate) fn invalidate(&self, used: &Session) {
        let mut session = self.lock();
        if session.sid() == used.sid() {
            *session = Session::default();
        }
    }
}

/// `name=value` from one `Set-Cookie` header value; attributes are ignored.
pub(crate) fn parse_set_cookie(header: &str) -> Option<(String, String)> {
    let pair = header.split(';').next()?;
    let (name, value) = pair.split_once('=')?;
    let (name, value) = (name.trim(), value.trim().trim_matches('"'));
    (!name.is_empty() && !value.is_empty()).then(|| (name.to_owned(), value.to_owned()))
}

/// The ValidateUser body. It holds the password: never log it.
pub(crate) fn login_body(
    acct_id: &str,
    user_name: &str,
    password: &SecretString,
    lcid: u32,
) -> String {
    json!({
        "acctID": acct_id,
        "username": user_name,
        "password": password.expose_secret(),
        "lcid": lcid,
    })
    .to_string()
}

/// The session id of a ValidateUser answer. Success is `LoginResultType` 1, or -5 (an
/// administrator's "deal with form" notice) with a non-empty `KDSVCSessionId`.
pub(crate) fn login_session_id(answer: &Value, request: &str) -> Result<String, KingdeeError> {
    let Some(result_type) = answer.get("LoginResultType").and_then(Value::as_i64) else {
        return Err(KingdeeError::malformed(
            request,
            "no LoginResultType in the login answer",
        ));
    };
    let text = |key: &str| {
        answer
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let (message, sid) = (text("Message"), text("KDSVCSessionId"));
    let missing = match (result_type, sid) {
        (1 | -5, Some(sid)) => return Ok(sid.to_owned()),
        (1 | -5, None) => "the login gave no KDSVCSessionId",
        _ => "no message",
    };
    Err(KingdeeError::Login {
        result_type,
        message: message.unwrap_or(missing).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_cookies(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(SET_COOKIE, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn set_cookie_headers_are_read_one_by_one_despite_commas_in_expires() {
        let store = SessionStore::default();
        store.absorb(&set_cookies(&[
            "kdservice-sessionid=5bea7f66-423a-4c4f-a12a-9599cb454007; expires=Thu, 28-Aug-2036 08:00:00 GMT; path=/",
            "ASP.NET_SessionId=mock0asp0net0session0id; path=/; HttpOnly; SameSite=Lax",
        ]));
        let session = store.snapshot();
        assert_eq!(session.sid(), Some("5bea7f66-423a-4c4f-a12a-9599cb454007"));
        let headers = session.headers();
        assert_eq!(headers[0].0.as_str(), "kdservice-sessionid");
        assert_eq!(headers[0].1, "5bea7f66-423a-4c4f-a12a-9599cb454007");
        assert_eq!(headers[1].0, COOKIE);
        assert_eq!(
            headers[1].1,
            "kdservice-sessionid=5bea7f66-423a-4c4f-a12a-9599cb454007; ASP.NET_SessionId=mock0asp0net0session0id"
        );
    }

    #[test]
    fn empty_shell_cookies_and_junk_are_ignored() {
        assert_eq!(parse_set_cookie("kdservice-sessionid=; path=/"), None);
        assert_eq!(parse_set_cookie("no-equals-sign"), None);
        assert_eq!(
            parse_set_cookie(" a = \"b\" ;x"),
            Some(("a".into(), "b".into()))
        );
        let store = SessionStore::default();
        store.set_sid("old");
        store.absorb(&set_cookies(&["kdservice-sessionid=; path=/"]));
        assert_eq!(store.snapshot().sid(), Some("old"));
    }

    #[test]
    fn a_new_session_id_replaces_the_old_one_and_no_session_sends_nothing() {
        let store = SessionStore::default();
        assert!(store.snapshot().headers().is_empty());
        store.set_sid("one");
        store.absorb(&set_cookies(&["kdservice-sessionid=two; path=/"]));
        assert_eq!(store.snapshot().sid(), Some("two"));
    }

    #[test]
    fn invalidate_forgets_only_the_session_that_was_refused() {
        let store = SessionStore::default();
        store.set_sid("one");
        let used = store.snapshot();
        store.set_sid("two");
        store.invalidate(&used);
        assert_eq!(store.snapshot().sid(), Some("two"));
        store.invalidate(&store.snapshot());
        assert_eq!(store.snapshot(), Session::default());
    }

    #[test]
    fn debug_never_shows_the_session_id() {
        let store = SessionStore::default();
        store.set_sid("secret-sid");
        assert!(!format!("{:?}", store.snapshot()).contains("secret-sid"));
    }

    #[test]
    fn login_answers_are_read_by_result_type_and_session_id() {
        let ok = json!({"LoginResultType": 1, "KDSVCSessionId": "2c6dfa6c"});
        assert_eq!(login_session_id(&ok, "ValidateUser").unwrap(), "2c6dfa6c");
        let admin = json!({"LoginResultType": -5, "KDSVCSessionId": "x"});
        assert_eq!(login_session_id(&admin, "ValidateUser").unwrap(), "x");
        let no_sid = json!({"LoginResultType": 1, "KDSVCSessionId": null});
        assert!(matches!(
            login_session_id(&no_sid, "v"),
            Err(KingdeeError::Login { .. })
        ));
        let refused = json!({"LoginResultType": 0, "Message": "用户名或密码错误"});
        let err = login_session_id(&refused, "v").unwrap_err();
        assert!(err.to_string().contains("用户名或密码错误"), "{err}");
        assert!(matches!(
            login_session_id(&json!([]), "v"),
            Err(KingdeeError::Malformed { .. })
        ));
    }

    #[test]
    fn login_body_has_the_validate_user_keys() {
        let body = login_body("acct", "user", &SecretString::from("pw"), 2052);
        assert_eq!(
            body,
            r#"{"acctID":"acct","username":"user","password":"pw","lcid":2052}"#
        );
    }
}
