//! The WebAPI endpoint: `POST <any prefix>/<ServiceName>.common.kdsvc`. Names are matched
//! case-insensitively (namespace and method). Each request draws its faults, is authenticated
//! (query services) or logs in (AuthService), runs, and is counted in the stats.

mod business_info;
mod login;
mod query;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use tracing::debug;

use crate::auth::{self, AuthOutcome, NewSession};
use crate::faults::{self, FaultKind};
use crate::reply::{self, KdError};
use crate::server::App;
use crate::stats::{Outcome, Recorded, RequestRecord};

const DYNAMIC_FORM: &str = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService";
const AUTH: &str = "Kingdee.BOS.WebApi.ServicesStub.AuthService";
const ACCOUNT: &str = "Kingdee.BOS.ServiceFacade.ServicesStub.Account.AccountService";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    ExecuteBillQuery,
    BillQuery,
    QueryBusinessInfo,
    ValidateUser,
    LoginByAppSecret,
    GetDataCenterList,
}

const SERVICES: [(Service, &str, &str); 6] = [
    (Service::ExecuteBillQuery, DYNAMIC_FORM, "ExecuteBillQuery"),
    (Service::BillQuery, DYNAMIC_FORM, "BillQuery"),
    (
        Service::QueryBusinessInfo,
        DYNAMIC_FORM,
        "QueryBusinessInfo",
    ),
    (Service::ValidateUser, AUTH, "ValidateUser"),
    (Service::LoginByAppSecret, AUTH, "LoginByAppSecret"),
    (Service::GetDataCenterList, ACCOUNT, "GetDataCenterList"),
];

impl Service {
    pub fn name(self) -> &'static str {
        SERVICES
            .iter()
            .find(|(s, _, _)| *s == self)
            .map_or("", |(_, _, name)| name)
    }

    fn needs_session(self) -> bool {
        matches!(
            self,
            Service::ExecuteBillQuery | Service::BillQuery | Service::QueryBusinessInfo
        )
    }

    /// ExecuteBillQuery wraps its errors in `[[…]]`; the others answer the bare object.
    fn wraps_errors(self) -> bool {
        self == Service::ExecuteBillQuery
    }
}

/// What a `.kdsvc` path names: a served service, or the method name of one the mock lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Known(Service),
    Unknown(String),
}

/// Reads the service from a request path; `None` when it is not a `.kdsvc` path at all.
pub fn route(path: &str) -> Option<Route> {
    let last = path.rsplit('/').next()?;
    let cut = last.len().checked_sub(".common.kdsvc".len())?;
    if !last.is_char_boundary(cut) || !last[cut..].eq_ignore_ascii_case(".common.kdsvc") {
        return None;
    }
    let full = &last[..cut];
    let (namespace, method) = full.rsplit_once('.').unwrap_or(("", full));
    let known = SERVICES.iter().find(|(_, ns, name)| {
        ns.eq_ignore_ascii_case(namespace) && name.eq_ignore_ascii_case(method)
    });
    Some(match known {
        Some((s, _, _)) => Route::Known(*s),
        None => Route::Unknown(method.to_owned()),
    })
}

/// The outcome of running a service: its JSON body, and a session a login opened.
pub struct Executed {
    pub body: Vec<u8>,
    pub outcome: Outcome,
    pub session: Option<NewSession>,
}

/// The fallback handler: every path that is not an operator endpoint.
pub async fn handle(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(route) = route(uri.path()) else {
        return reply::not_found();
    };
    if method != Method::POST {
        return reply::respond(StatusCode::METHOD_NOT_ALLOWED, reply::HTML, Vec::new());
    }
    let at = crate::dates::unix_ms();
    match route {
        Route::Unknown(name) => {
            let mut record = Recorded::new(&app.stats, RequestRecord::new(at, &name));
            record.outcome = Outcome::Error;
            let err = KdError::new(
                4,
                format!("未找到服务：{name}（kingdee-mock 不提供此接口）"),
            );
            reply::json(err.body(false))
        }
        Route::Known(service) => {
            let mut record = Recorded::new(&app.stats, RequestRecord::new(at, service.name()));
            serve(&app, service, &headers, uri.path(), &body, &mut record).await
        }
    }
}

async fn serve(
    app: &Arc<App>,
    service: Service,
    headers: &HeaderMap,
    path: &str,
    body: &Bytes,
    record: &mut RequestRecord,
) -> Response {
    let draw = app.faults.draw(service.name());
    if draw.drop_sessions {
        app.sessions.drop_all();
    }
    if draw.latency_ms > 0 {
        app.sleep(Duration::from_millis(draw.latency_ms)).await;
    }
    let mut new_session = None;
    if service.needs_session() {
        match auth::authenticate(&app.config, &app.sessions, headers, path) {
            AuthOutcome::Session => record.auth = "session",
            AuthOutcome::Signed(new) => {
                record.auth = "signature";
                new_session = Some(new);
            }
            AuthOutcome::Refused(reason) => {
                debug!(service = service.name(), reason, "Request refused");
                record.outcome = Outcome::AuthFailed;
                return reply::json(KdError::session_lost().body(service.wraps_errors()));
            }
            AuthOutcome::WrongAccount => {
                record.outcome = Outcome::AuthFailed;
                return reply::passport_failed();
            }
        }
    }
    let mut response = match draw.fault {
        Some(FaultKind::Http500) => {
            record.outcome = Outcome::Http500;
            reply::http500()
        }
        Some(FaultKind::Msgcode14) => {
            record.outcome = Outcome::Msgcode14;
            reply::json(KdError::call_limit().body(service.wraps_errors()))
        }
        fault => {
            if fault == Some(FaultKind::Hang) {
                // Set before sleeping: a client that gives up still leaves a `hang` record.
                record.outcome = Outcome::Hang;
                app.sleep(Duration::from_millis(draw.hang_ms)).await;
            }
            let done = execute(app, service, body, record).await;
            new_session = new_session.or(done.session);
            match fault {
                Some(kind) if kind.is_malformed() => {
                    record.outcome = Outcome::Malformed;
                    let (content_type, body) = faults::corrupt(kind, done.body);
                    reply::respond(StatusCode::OK, content_type, body)
                }
                Some(FaultKind::Hang) => reply::json(done.body),
                _ => {
                    record.outcome = done.outcome;
                    reply::json(done.body)
                }
            }
        }
    };
    if let Some(new) = new_session {
        for cookie in auth::set_cookies(&new) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    response
}

async fn execute(
    app: &Arc<App>,
    service: Service,
    body: &Bytes,
    record: &mut RequestRecord,
) -> Executed {
    let parsed = match crate::body::parse(body) {
        Ok(v) => v,
        Err(e) => {
            let err = KdError::new(4, format!("请求数据包格式不正确：{e}"));
            return Executed {
                body: err.body(service.wraps_errors()),
                outcome: Outcome::Error,
                session: None,
            };
        }
    };
    match service {
        Service::ExecuteBillQuery | Service::BillQuery => {
            query::run(app, &parsed, render_shape(service), record).await
        }
        Service::QueryBusinessInfo => business_info::run(&parsed),
        Service::ValidateUser => login::validate_user(app, &parsed, record),
        Service::LoginByAppSecret => login::by_app_secret(app, &parsed, record),
        Service::GetDataCenterList => login::data_centers(app),
    }
}

fn render_shape(service: Service) -> crate::query::Shape {
    if service == Service::BillQuery {
        crate::query::Shape::Objects
    } else {
        crate::query::Shape::Arrays
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_found_case_insensitively_under_any_prefix() {
        let p = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc";
        assert_eq!(route(p), Some(Route::Known(Service::ExecuteBillQuery)));
        let p = "/kingdee.bos.webapi.servicesstub.dynamicformservice.billquery.COMMON.KDSVC";
        assert_eq!(route(p), Some(Route::Known(Service::BillQuery)));
        let p = "/a/b/Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc";
        assert_eq!(route(p), Some(Route::Known(Service::ValidateUser)));
        let p = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc";
        assert_eq!(route(p), Some(Route::Unknown("Save".into())));
        let p = "/k3cloud/Other.Namespace.ExecuteBillQuery.common.kdsvc";
        assert_eq!(route(p), Some(Route::Unknown("ExecuteBillQuery".into())));
        assert_eq!(route("/k3cloud/index.html"), None);
        assert_eq!(route("/"), None);
    }
}
