//! Response shapes: the IIS headers every answer carries, K3Cloud's error object (§4.3, bare
//! or wrapped in `[[…]]` for ExecuteBillQuery), and the non-JSON pages of a failing IIS.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

/// The text of MsgCode 1.
pub const SESSION_LOST: &str = "会话信息已丢失，请重新登录";
/// The body of the HTTP 500 for an unknown data center (account) id.
pub const PASSPORT_FAILED: &str = "Fail to verify thirty passport";

/// A business error as K3Cloud reports it: HTTP 200, `IsSuccess:false`, a MsgCode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KdError {
    pub msg_code: i64,
    pub message: String,
}

impl KdError {
    pub fn new(msg_code: i64, message: impl Into<String>) -> Self {
        Self {
            msg_code,
            message: message.into(),
        }
    }

    pub fn session_lost() -> Self {
        Self::new(1, SESSION_LOST)
    }

    pub fn call_limit() -> Self {
        Self::new(14, "超出接口调用频率限制，请稍后再试")
    }

    /// `{"Result":{"ResponseStatus":{…}}}`
    pub fn to_json(&self) -> Value {
        json!({"Result": {"ResponseStatus": {
            "ErrorCode": 500,
            "IsSuccess": false,
            "Errors": [{"FieldName": null, "Message": self.message, "DIndex": 0}],
            "SuccessEntitys": [],
            "SuccessMessages": [],
            "MsgCode": self.msg_code
        }}})
    }

    /// The body bytes; `wrapped` puts the object in two arrays, as ExecuteBillQuery does.
    pub fn body(&self, wrapped: bool) -> Vec<u8> {
        let v = self.to_json();
        let v = if wrapped { json!([[v]]) } else { v };
        v.to_string().into_bytes()
    }
}

/// A response with the headers IIS 8.5 in front of K3Cloud sends.
pub fn respond(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::SERVER,
        HeaderValue::from_static("Microsoft-IIS/8.5"),
    );
    h.insert("X-Powered-By", HeaderValue::from_static("ASP.NET"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    r
}

pub const JSON: &str = "application/json; charset=utf-8";
pub const HTML: &str = "text/html; charset=utf-8";

pub fn json(body: Vec<u8>) -> Response {
    respond(StatusCode::OK, JSON, body)
}

pub fn passport_failed() -> Response {
    respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        "text/plain; charset=utf-8",
        PASSPORT_FAILED.as_bytes().to_vec(),
    )
}

/// IIS's own page for a crashed application pool.
pub fn http500() -> Response {
    respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        HTML,
        iis_page(
            "500 - 内部服务器错误。",
            "您查找的资源存在问题，因而无法显示。",
        )
        .into_bytes(),
    )
}

pub fn not_found() -> Response {
    respond(
        StatusCode::NOT_FOUND,
        HTML,
        iis_page(
            "404 - 找不到文件或目录。",
            "您要查找的资源可能已被删除，已更改名称或者暂时不可用。",
        )
        .into_bytes(),
    )
}

/// ASP.NET's "yellow screen" page, sent with HTTP 200 by the `html` fault.
pub fn aspnet_error_page() -> Vec<u8> {
    concat!(
        "<!DOCTYPE html>\r\n<html>\r\n<head>\r\n<title>运行时错误</title>\r\n",
        "<meta name=\"viewport\" content=\"width=device-width\" />\r\n</head>\r\n",
        "<body bgcolor=\"white\">\r\n<span><H1>“/k3cloud”应用程序中的服务器错误。<hr width=100% size=1 color=silver></H1>\r\n",
        "<h2> <i>运行时错误</i> </h2></span>\r\n",
        "<b> 说明: </b>服务器上出现应用程序错误。此应用程序的当前自定义错误设置禁止远程查看应用程序错误的详细信息(出于安全原因)。\r\n",
        "</body>\r\n</html>\r\n"
    )
    .as_bytes()
    .to_vec()
}

fn iis_page(title: &str, text: &str) -> String {
    format!(
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \
         \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n\
         <html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n\
         <meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"/>\r\n\
         <title>{title}</title>\r\n</head>\r\n<body>\r\n<div id=\"header\"><h1>服务器错误</h1></div>\r\n\
         <div id=\"content\">\r\n <div class=\"content-container\"><fieldset>\r\n\
         <h2>{title}</h2>\r\n<h3>{text}</h3>\r\n</fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n"
    )
}
