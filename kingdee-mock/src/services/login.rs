//! The legacy logins other clients use (§2): AuthService.ValidateUser (password) and
//! AuthService.LoginByAppSecret. Success answers the login object with `KDSVCSessionId` and
//! sets the session cookies; the session then works for queries without any signature.
//! Failures: unknown data center → LoginResultType -1; wrong user, password, app id or
//! secret → LoginResultType 0, `KDSVCSessionId` null. The Account service's data-center
//! list needs no login at all.

use std::sync::Arc;

use serde_json::{Value, json};
use uuid::Uuid;

use super::Executed;
use crate::auth::NewSession;
use crate::body::{arguments, text};
use crate::data::tables::ORGS;
use crate::server::App;
use crate::stats::{Outcome, RequestRecord};

pub fn validate_user(app: &Arc<App>, body: &Value, record: &mut RequestRecord) -> Executed {
    let args = arguments(body, &["acctid", "username", "password", "lcid"]);
    let [acct, user, password] = [0, 1, 2].map(|i| text(args[i].as_ref()));
    let ok = user == app.config.user && password == app.config.password;
    login(app, &acct, ok, record)
}

pub fn by_app_secret(app: &Arc<App>, body: &Value, record: &mut RequestRecord) -> Executed {
    let args = arguments(body, &["acctid", "username", "appid", "appsecret", "lcid"]);
    let [acct, user, app_id, secret] = [0, 1, 2, 3].map(|i| text(args[i].as_ref()));
    let c = &app.config;
    let ok = user == c.user && app_id == c.app_id && secret == c.app_secret;
    login(app, &acct, ok, record)
}

fn login(app: &Arc<App>, acct: &str, credentials_ok: bool, record: &mut RequestRecord) -> Executed {
    record.auth = "login";
    let (kind, message) = if acct != app.config.acct_id {
        (-1, format!("数据中心{acct}不存在，或者已被删除。"))
    } else if !credentials_ok {
        (0, "用户名或密码错误！".to_owned())
    } else {
        let new = app.sessions.open();
        return Executed {
            body: success(app, &new).to_string().into_bytes(),
            outcome: Outcome::Ok,
            session: Some(new),
        };
    };
    let body = json!({
        "Message": message, "MessageCode": null, "LoginResultType": kind, "Context": null,
        "KDSVCSessionId": null, "FormId": null, "RedirectFormParam": null,
        "FormInputObject": null, "ErrorStackTrace": null, "Lcid": 0, "AccessToken": null,
        "CustomParam": {}, "KdAccessResult": null, "IsSuccessByAPI": false
    });
    Executed {
        body: body.to_string().into_bytes(),
        outcome: Outcome::AuthFailed,
        session: None,
    }
}

fn success(app: &App, new: &NewSession) -> Value {
    let c = &app.config;
    let zone = json!({"OffsetTicks": 288_000_000_000_i64, "StandardName": "(UTC+08:00)北京，重庆，香港特别行政区，乌鲁木齐",
        "Id": 230, "Number": "1078_SYS", "CanBeUsed": true});
    json!({
        "Message": null,
        "MessageCode": "CheckPasswordPolicy",
        "LoginResultType": 1,
        "Context": {
            "UserLocale": "zh-CN", "LogLocale": "zh-CN", "DBid": c.acct_id, "DatabaseType": 3,
            "SessionId": new.asp_id,
            "UseLanguages": [{"LocaleId": c.lcid, "LocaleName": "中文(简体)", "Alias": "CN"}],
            "UserId": 16_394, "UserName": c.user, "CustomName": "k3sync", "DisplayVersion": "9.0.553.10",
            "DataCenterName": "k3sync 演示账套", "UserToken": Uuid::new_v4().to_string(),
            "CurrentOrganizationInfo": {"ID": ORGS[1].id, "AcctOrgType": "1", "Name": ORGS[1].name,
                "FunctionIds": [101, 102, 103, 104, 107, 108, 109, 110, 111, 112, 113, 114]},
            "IsCH_ZH_AutoTrans": false, "ClientType": 32, "WeiboAuthInfo": null,
            "UTimeZone": zone, "STimeZone": zone, "GDCID": "", "Gsid": null, "TRLevel": 0,
            "ProductEdition": 0, "DataCenterNumber": "k3sync"
        },
        "KDSVCSessionId": new.sid,
        "FormId": null, "RedirectFormParam": null, "FormInputObject": null,
        "ErrorStackTrace": null, "Lcid": 0, "AccessToken": null, "CustomParam": {},
        "KdAccessResult": null, "IsSuccessByAPI": true
    })
}

/// `AccountService.GetDataCenterList`: the one data center the mock serves.
pub fn data_centers(app: &Arc<App>) -> Executed {
    let body = json!([{"Id": app.config.acct_id, "Number": "k3sync", "Name": "k3sync 演示账套",
        "DatabaseType": 3, "Lcid": app.config.lcid}]);
    Executed {
        body: body.to_string().into_bytes(),
        outcome: Outcome::Ok,
        session: None,
    }
}
