//! What can go wrong talking to Kingdee, decided in one place: [`classify`] reads an HTTP answer
//! into a JSON value or a typed error, and [`KingdeeError::class`] says what the caller does next.

use reqwest::StatusCode;
use serde_json::Value;

use crate::telemetry::series;

/// Body text of the non-200 answer Kingdee gives for an unknown account (data centre) id.
const WRONG_ACCOUNT_MARKER: &str = "Fail to verify thirty passport";
/// Characters of a server body kept in an error message.
const SNIPPET_CHARS: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum KingdeeError {
    #[error("cannot build the Kingdee HTTP client")]
    ClientBuild(#[source] reqwest::Error),
    #[error("no answer from Kingdee to {request}")]
    Transport {
        request: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("Kingdee answered HTTP {status} to {request}: {body}")]
    Status {
        request: String,
        status: StatusCode,
        body: String,
    },
    #[error("wrong account id: Kingdee does not know kingdee.acct_id = {acct_id}")]
    WrongAccount { acct_id: String },
    #[error(
        "Kingdee rejected the credentials (MsgCode 1: {message}); check kingdee.acct_id, \
         user_name, app_id, app_secret (or password), lcid"
    )]
    Authentication { message: String },
    #[error(
        "Kingdee refused the password login (LoginResultType {result_type}: {message}); check \
         kingdee.acct_id, user_name, password, lcid"
    )]
    Login { result_type: i64, message: String },
    #[error(
        "Kingdee calls paused for {left_secs} s after {refusals} authentication refusals in a row \
         (kingdee.auth_backoff); check kingdee.acct_id, user_name, app_id, app_secret (or password)"
    )]
    AuthPaused { left_secs: u64, refusals: u32 },
    #[error("Kingdee is limiting calls (MsgCode 14: {message})")]
    Throttled { message: String },
    #[error("Kingdee refused the request on form `{form_id}` (MsgCode {msg_code}): {message}")]
    Refused {
        form_id: String,
        msg_code: i64,
        message: String,
    },
    #[error("malformed Kingdee answer to {request}: {detail}")]
    Malformed {
        request: String,
        detail: String,
        #[source]
        source: Option<serde_json::Error>,
    },
    #[error("cursor field `{field}` {problem} in the last record of the page")]
    Cursor {
        field: String,
        problem: &'static str,
    },
}

/// What the caller does with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later: throttling, overload, network. The client already retried with backoff.
    Transient,
    /// Who we are was refused (credentials, account id). Retrying cannot help.
    Authentication,
    /// What we asked is wrong (form, field, filter, URL). Retrying cannot help.
    Configuration,
    /// The answer could not be read; the page fails rather than skip rows.
    Malformed,
}

impl KingdeeError {
    /// The retry decision, kept apart from where errors are made.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Transport { source, .. } if source.is_builder() || source.is_redirect() => {
                ErrorClass::Configuration
            }
            Self::Transport { .. } | Self::Throttled { .. } => ErrorClass::Transient,
            Self::Status { status, .. }
                if status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT =>
            {
                ErrorClass::Transient
            }
            Self::ClientBuild(_) | Self::Status { .. } | Self::Refused { .. } => {
                ErrorClass::Configuration
            }
            Self::WrongAccount { .. }
            | Self::Authentication { .. }
            | Self::Login { .. }
            | Self::AuthPaused { .. } => ErrorClass::Authentication,
            Self::Malformed { .. } | Self::Cursor { .. } => ErrorClass::Malformed,
        }
    }

    /// An answer to `request` that could not be read, for want of what `detail` says.
    pub(crate) fn malformed(request: &str, detail: impl Into<String>) -> Self {
        Self::Malformed {
            request: request.to_owned(),
            detail: detail.into(),
            source: None,
        }
    }

    /// Kingdee itself refused who we are (not our own pause): what the auth gate counts.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::WrongAccount { .. } | Self::Authentication { .. } | Self::Login { .. }
        )
    }
}

impl ErrorClass {
    /// The `error_class` label of `k3sync_kingdee_requests_total` and of a failed pass.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::Authentication => "authentication",
            ErrorClass::Configuration => "configuration",
            ErrorClass::Malformed => "malformed",
        }
    }
}

/// Counts one request in `k3sync_kingdee_requests_total` by service, outcome and error class.
pub(crate) fn count_request<T>(service: &'static str, result: &Result<T, KingdeeError>) {
    let (outcome, class) = match result {
        Ok(_) => ("ok", "none"),
        Err(e) => ("error", e.class().as_str()),
    };
    metrics::counter!(series::KINGDEE_REQUESTS, "service" => service, "outcome" => outcome,
        "error_class" => class)
    .increment(1);
}

/// The request an answer belongs to, for error messages.
pub(crate) struct Exchange<'a> {
    /// Names the request: service, form, filter, order, start row, limit.
    pub request: &'a str,
    pub form_id: &'a str,
    pub acct_id: &'a str,
    /// Whether errors may quote the answer; not for the login, whose answer holds a session id.
    pub quote_body: bool,
}

/// Reads one HTTP answer: a JSON value when Kingdee says yes, otherwise the typed error.
///
/// Kingdee reports most errors with HTTP 200 and a `ResponseStatus` object, wrapped in two arrays
/// by ExecuteBillQuery (`[[{"Result":{"ResponseStatus":…}}]]`), bare elsewhere
/// (`{"Result":{"ResponseStatus":…}}`), or at the top level (`{"ResponseStatus":…}`).
pub(crate) fn classify(
    status: StatusCode,
    body: &[u8],
    exchange: &Exchange<'_>,
) -> Result<Value, KingdeeError> {
    if status != StatusCode::OK && status != StatusCode::PARTIAL_CONTENT {
        let text = String::from_utf8_lossy(body);
        if text.contains(WRONG_ACCOUNT_MARKER) {
            return Err(KingdeeError::WrongAccount {
                acct_id: exchange.acct_id.to_owned(),
            });
        }
        return Err(KingdeeError::Status {
            request: exchange.request.to_owned(),
            status,
            body: quote(exchange, &text),
        });
    }
    // .NET writers may put a UTF-8 byte order mark before the JSON; it is not part of it.
    let json = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let value: Value = serde_json::from_slice(json).map_err(|e| KingdeeError::Malformed {
        request: exchange.request.to_owned(),
        detail: format!(
            "not JSON: `{}`",
            quote(exchange, &String::from_utf8_lossy(body))
        ),
        source: Some(e),
    })?;
    let Some(response_status) = find_response_status(&value) else {
        return Ok(value);
    };
    if response_status.get("IsSuccess").and_then(Value::as_bool) == Some(true) {
        return Err(KingdeeError::malformed(
            exchange.request,
            "a ResponseStatus with IsSuccess true instead of data",
        ));
    }
    let message = server_message(response_status);
    Err(match msg_code(response_status) {
        1 => KingdeeError::Authentication { message },
        14 => KingdeeError::Throttled { message },
        msg_code => KingdeeError::Refused {
            form_id: exchange.form_id.to_owned(),
            msg_code,
            message,
        },
    })
}

/// The `ResponseStatus` object of an error answer, looking through single-element arrays.
/// Data rows hold scalars only, so `[[100001]]` is never mistaken for a status.
fn find_response_status(value: &Value) -> Option<&Value> {
    match value {
        Value::Array(items) if items.len() == 1 => find_response_status(&items[0]),
        Value::Object(map) => map
            .get("Result")
            .and_then(|result| result.get("ResponseStatus"))
            .or_else(|| map.get("ResponseStatus"))
            .filter(|status| status.is_object()),
        _ => None,
    }
}

fn msg_code(response_status: &Value) -> i64 {
    match response_status.get("MsgCode") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

/// The server's messages (`Errors[].Message`), which name the form or field at fault.
fn server_message(response_status: &Value) -> String {
    let messages: Vec<&str> = response_status
        .get("Errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("Message").and_then(Value::as_str))
        .filter(|m| !m.trim().is_empty())
        .collect();
    if messages.is_empty() {
        "no message".to_owned()
    } else {
        messages.join("; ")
    }
}

fn quote(exchange: &Exchange<'_>, text: &str) -> String {
    if exchange.quote_body {
        snippet(text)
    } else {
        "(withheld)".to_owned()
    }
}

/// The start of a server body, on one line, for an error message.
pub(crate) fn snippet(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXCHANGE: Exchange<'static> = Exchange {
        request: "ExecuteBillQuery BD_MATERIAL",
        form_id: "BD_MATERIAL",
        acct_id: "acct1",
        quote_body: true,
    };

    fn status_body(msg_code: i64, message: &str) -> String {
        format!(
            r#"[[{{"Result":{{"ResponseStatus":{{"ErrorCode":500,"IsSuccess":false,"Errors":[{{"FieldName":null,"Message":"{message}","DIndex":0}}],"SuccessEntitys":[],"SuccessMessages":[],"MsgCode":{msg_code}}}}}}}]]"#
        )
    }

    fn classify_ok(body: &str) -> Result<Value, KingdeeError> {
        classify(StatusCode::OK, body.as_bytes(), &EXCHANGE)
    }

    #[test]
    fn msg_code_1_is_an_authentication_error_with_the_server_message() {
        let err = classify_ok(&status_body(1, "会话信息已丢失，请重新登录")).unwrap_err();
        assert!(
            matches!(&err, KingdeeError::Authentication { message } if message == "会话信息已丢失，请重新登录")
        );
        assert_eq!(err.class(), ErrorClass::Authentication);
        assert!(
            err.to_string()
                .contains("check kingdee.acct_id, user_name, app_id, app_secret")
        );
    }

    #[test]
    fn msg_codes_4_8_9_are_configuration_errors_naming_form_and_field() {
        for (code, message) in [
            (4, "标识为“NO_SUCH_FORM”的业务对象不存在，或者被删除。"),
            (8, "data数据包中的参数FieldKeys的值不能为空。"),
            (9, "元数据中标识为FNoSuchField的字段不存在"),
        ] {
            let err = classify_ok(&status_body(code, message)).unwrap_err();
            assert_eq!(err.class(), ErrorClass::Configuration, "{err}");
            let text = err.to_string();
            assert!(
                text.contains("BD_MATERIAL") && text.contains(message),
                "{text}"
            );
            assert!(text.contains(&format!("MsgCode {code}")), "{text}");
        }
    }

    #[test]
    fn msg_code_14_is_transient() {
        let err = classify_ok(&status_body(14, "调用限制")).unwrap_err();
        assert!(matches!(err, KingdeeError::Throttled { .. }));
        assert_eq!(err.class(), ErrorClass::Transient);
    }

    #[test]
    fn bare_and_top_level_response_status_are_recognised() {
        let bare = r#"{"Result":{"ResponseStatus":{"IsSuccess":false,"Errors":[{"Message":"x"}],"MsgCode":1}}}"#;
        let top = r#"{"ResponseStatus":{"IsSuccess":false,"Errors":[],"MsgCode":"9"}}"#;
        assert!(matches!(
            classify_ok(bare),
            Err(KingdeeError::Authentication { .. })
        ));
        assert!(matches!(
            classify_ok(top),
            Err(KingdeeError::Refused { msg_code: 9, .. })
        ));
    }

    #[test]
    fn rows_pass_through_untouched() {
        let value = classify_ok(r#"[[100001,"1.01.0001"],[100002,"1.01.0002"]]"#).unwrap();
        assert_eq!(value.as_array().map(Vec::len), Some(2));
        assert_eq!(
            classify_ok("[[100001]]").unwrap(),
            serde_json::json!([[100001]])
        );
        assert_eq!(classify_ok("[]").unwrap(), serde_json::json!([]));
    }

    #[test]
    fn http_500_and_429_are_transient_and_404_is_configuration() {
        for (code, class) in [
            (500, ErrorClass::Transient),
            (503, ErrorClass::Transient),
            (429, ErrorClass::Transient),
            (404, ErrorClass::Configuration),
        ] {
            let status = StatusCode::from_u16(code).unwrap();
            let err = classify(status, b"<html>busy</html>", &EXCHANGE).unwrap_err();
            assert_eq!(err.class(), class, "{code}");
            assert!(matches!(err, KingdeeError::Status { .. }));
        }
    }

    #[test]
    fn fail_to_verify_thirty_passport_is_a_wrong_account_not_retried() {
        let err = classify(
            StatusCode::INTERNAL_SERVER_ERROR,
            b"Fail to verify thirty passport",
            &EXCHANGE,
        )
        .unwrap_err();
        assert!(matches!(err, KingdeeError::WrongAccount { .. }));
        assert_eq!(err.class(), ErrorClass::Authentication);
        assert!(err.is_refusal());
        assert_eq!(err.class().as_str(), "authentication");
        assert_eq!(
            err.to_string(),
            "wrong account id: Kingdee does not know kingdee.acct_id = acct1"
        );
    }

    #[test]
    fn html_and_truncated_json_are_malformed_with_a_typed_source() {
        for body in [
            "<!DOCTYPE html><html><body>Server Error</body></html>",
            r#"[[100001,"1.01"#,
            "",
        ] {
            let err = classify_ok(body).unwrap_err();
            assert_eq!(err.class(), ErrorClass::Malformed, "{body}");
            let KingdeeError::Malformed {
                request, source, ..
            } = &err
            else {
                panic!("{err:?}")
            };
            assert_eq!(request, "ExecuteBillQuery BD_MATERIAL");
            assert!(source.is_some());
        }
    }

    #[test]
    fn a_success_status_in_place_of_rows_is_malformed() {
        let body = r#"{"Result":{"ResponseStatus":{"IsSuccess":true,"MsgCode":0}}}"#;
        assert!(matches!(
            classify_ok(body),
            Err(KingdeeError::Malformed { .. })
        ));
    }

    #[test]
    fn login_answers_are_never_quoted_in_errors() {
        let login = Exchange {
            quote_body: false,
            ..EXCHANGE
        };
        let truncated = br#"{"LoginResultType":1,"KDSVCSessionId":"sid-secret"#;
        let err = classify(StatusCode::OK, truncated, &login).unwrap_err();
        assert!(!err.to_string().contains("sid-secret"), "{err}");
        let err = classify(StatusCode::BAD_GATEWAY, b"sid-secret", &login).unwrap_err();
        assert!(!err.to_string().contains("sid-secret"), "{err}");
    }

    #[test]
    fn snippets_are_short_and_on_one_line() {
        assert_eq!(snippet("a\n  b"), "a b");
        assert_eq!(
            snippet(&"x".repeat(1000)).chars().count(),
            SNIPPET_CHARS + 1
        );
    }
}
