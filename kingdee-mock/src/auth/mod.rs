//! Who may call (§2, "Server-side auth model"): a request carrying a known session id (the
//! `kdservice-sessionid` header, a `SID` header, or the cookie) is accepted without looking at
//! anything else. Otherwise `X-Kd-Signature` is verified strictly against the configured app
//! secret and the `X-Kd-Appdata` identity; success opens a session and sets its cookies.
//! `X-Api-Signature` is only checked for the log, because of the SDK's short-host quirk.

pub mod sessions;
pub mod sign;

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tracing::debug;

use crate::MockConfig;
pub use sessions::{NewSession, Sessions};

/// How a request was (or was not) let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// A known session id came with the request.
    Session,
    /// The signature was good; a session was opened.
    Signed(NewSession),
    /// No session and a bad or missing signature: MsgCode 1.
    Refused(&'static str),
    /// The data center id is unknown: HTTP 500 `Fail to verify thirty passport`.
    WrongAccount,
}

/// Every session id a request offers, in the order they are tried.
pub fn offered_sessions(headers: &HeaderMap) -> Vec<String> {
    let mut ids = Vec::new();
    for name in ["kdservice-sessionid", "SID"] {
        for v in headers.get_all(name) {
            if let Ok(s) = v.to_str() {
                ids.push(s.trim().to_owned());
            }
        }
    }
    for v in headers.get_all("cookie") {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split([';', ',']) {
            match pair.split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("kdservice-sessionid") => {
                    ids.push(v.trim().to_owned())
                }
                _ => {}
            }
        }
    }
    ids.retain(|s| !s.is_empty());
    ids
}

pub fn authenticate(
    cfg: &MockConfig,
    sessions: &Sessions,
    headers: &HeaderMap,
    path: &str,
) -> AuthOutcome {
    if offered_sessions(headers)
        .iter()
        .any(|s| sessions.contains(s))
    {
        return AuthOutcome::Session;
    }
    match check_signature(cfg, headers, path) {
        Ok(()) => AuthOutcome::Signed(sessions.open()),
        Err(outcome) => outcome,
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn check_signature(cfg: &MockConfig, headers: &HeaderMap, path: &str) -> Result<(), AuthOutcome> {
    let refused = AuthOutcome::Refused;
    let encoded = header(headers, "X-Kd-Appdata").ok_or(refused("no session and no signature"))?;
    let app_data = STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(refused("X-Kd-Appdata is not base64 UTF-8"))?;
    let parts: Vec<&str> = app_data.split(',').collect();
    let (acct, user, lcid) = match parts.as_slice() {
        [acct, user, lcid] => (*acct, user.to_string(), *lcid),
        [acct, middle @ .., lcid, _org] if !middle.is_empty() => (*acct, middle.join(","), *lcid),
        _ => return Err(refused("X-Kd-Appdata is not acct,user,lcid,org")),
    };
    if acct != cfg.acct_id {
        return Err(AuthOutcome::WrongAccount);
    }
    let app_key = header(headers, "X-Kd-Appkey").unwrap_or_default();
    if app_key != cfg.app_id {
        return Err(refused("unknown app id"));
    }
    if user != cfg.user {
        return Err(refused("unknown user"));
    }
    if lcid.trim().parse::<i64>().ok() != Some(cfg.lcid) {
        return Err(refused("unsupported lcid"));
    }
    let expected = sign::kd_signature(app_key, &app_data, &cfg.app_secret);
    if header(headers, "X-Kd-Signature") != Some(expected.as_str()) {
        return Err(refused("X-Kd-Signature does not match"));
    }
    check_gateway_signature(cfg, headers, path);
    Ok(())
}

/// Logs a gateway signature that matches neither the full path nor the path the SDK signs
/// for a short host (first segment dropped); never refuses.
fn check_gateway_signature(cfg: &MockConfig, headers: &HeaderMap, path: &str) {
    let (Some(sig), Some(ts)) = (
        header(headers, "X-Api-Signature"),
        header(headers, "x-api-timestamp"),
    ) else {
        return;
    };
    let nonce = header(headers, "x-api-nonce").unwrap_or(ts);
    let short = path
        .get(1..)
        .and_then(|p| p.find('/'))
        .map_or(path, |i| &path[i + 1..]);
    let ok = [path, short]
        .iter()
        .any(|p| sign::api_signature(&cfg.app_id, p, ts, nonce) == sig);
    if !ok {
        debug!(path, "X-Api-Signature does not match; accepted anyway");
    }
}

/// The two `Set-Cookie` headers of a new session, as IIS sends them.
pub fn set_cookies(new: &NewSession) -> [HeaderValue; 2] {
    let sid = format!(
        "kdservice-sessionid={}; expires=Thu, 28-Aug-2036 08:00:00 GMT; path=/",
        new.sid
    );
    let asp = format!(
        "ASP.NET_SessionId={}; path=/; HttpOnly; SameSite=Lax",
        new.asp_id
    );
    [sid, asp].map(|v| {
        HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("x=; path=/"))
    })
}

#[cfg(test)]
mod tests;
