//! `[kingdee]`: where and as whom the producer reads Kingdee K3Cloud, and how hard it may push.
//! The Kingdee client builds from these without checking them again.

use reqwest::Url;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::SettingsError;
use super::validate::{at_least_one, ensure, required};

/// How the Kingdee client authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// The signature scheme of Kingdee's current SDKs (AppID/AppSecret), on every request.
    #[default]
    Signature,
    /// Legacy `AuthService.ValidateUser` with a password, for old deployments.
    Password,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KingdeeSettings {
    /// Base URL of the K3Cloud site, e.g. `https://erp.example.com/k3cloud/`. Required.
    pub server_url: String,
    /// Account (data centre) id, 账套ID, as shown in the third-party system authorisation. Required.
    pub acct_id: String,
    /// Integration user name. Required.
    pub user_name: String,
    /// AppID of the third-party system authorisation (`<clientId>_<secret part>`). Required.
    pub app_id: String,
    /// AppSecret of the authorisation. Required; set it through `K3SYNC__KINGDEE__APP_SECRET`.
    pub app_secret: SecretString,
    /// Locale id; 2052 is simplified Chinese.
    pub lcid: u32,
    /// Organisation number sent in the signed app data (0 when unused).
    pub org_num: String,
    /// `signature` (default) or `password` (legacy ValidateUser login).
    pub auth: AuthMode,
    /// Password for `auth = "password"`. Set it through `K3SYNC__KINGDEE__PASSWORD`.
    pub password: Option<SecretString>,
    /// Timeout of one HTTP request, seconds (at least 1).
    pub request_timeout_secs: u64,
    /// Highest request rate sent to Kingdee, requests per second (0 = unlimited).
    pub requests_per_second: u32,
    /// Most requests in flight at once (at least 1).
    pub max_in_flight: usize,
    /// Attempts for one request on transient errors (MsgCode 14, HTTP 429/5xx, timeouts),
    /// counting the first (at least 1).
    pub retry_attempts: usize,
    /// First retry delay, milliseconds; doubles with jitter up to `retry_max_delay_ms`.
    pub retry_min_delay_ms: u64,
    /// Longest delay between two retries, milliseconds.
    pub retry_max_delay_ms: u64,
    /// Give up retrying one request after this many seconds in total.
    pub retry_max_elapsed_secs: u64,
    /// The offset from UTC of the K3Cloud server's clock, `+08:00` for a site in China. Kingdee's
    /// dates (`FModifyDate`) carry no zone; this says how to read them (the record-lag metric).
    pub utc_offset: String,
    /// How calls back off across passes after Kingdee refuses authentication.
    pub auth_backoff: AuthBackoffSettings,
}

/// The required keys are empty here; `KingdeeSettings::validate` reports them missing.
impl Default for KingdeeSettings {
    fn default() -> Self {
        Self {
            server_url: String::new(),
            acct_id: String::new(),
            user_name: String::new(),
            app_id: String::new(),
            app_secret: SecretString::from(String::new()),
            lcid: 2052,
            org_num: "0".into(),
            auth: AuthMode::Signature,
            password: None,
            request_timeout_secs: 120,
            requests_per_second: 20,
            max_in_flight: 4,
            retry_attempts: 6,
            retry_min_delay_ms: 200,
            retry_max_delay_ms: 10_000,
            retry_max_elapsed_secs: 300,
            utc_offset: "+08:00".into(),
            auth_backoff: AuthBackoffSettings::default(),
        }
    }
}

impl KingdeeSettings {
    /// [`KingdeeSettings::utc_offset`], checked when the settings load.
    pub fn offset(&self) -> chrono::FixedOffset {
        parse_offset(&self.utc_offset).unwrap_or_else(china)
    }

    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        required("kingdee.server_url", &self.server_url)?;
        required("kingdee.acct_id", &self.acct_id)?;
        required("kingdee.user_name", &self.user_name)?;
        required("kingdee.app_id", &self.app_id)?;
        required("kingdee.app_secret", self.app_secret.expose_secret())?;
        check_server_url(&self.server_url)?;
        // The app id travels in the `X-Kd-Appkey` and `X-Api-ClientID` headers of every request.
        ensure(
            HeaderValue::from_str(&self.app_id).is_ok(),
            "kingdee.app_id",
            "must be printable text to go in a header (no control characters)",
        )?;
        ensure(
            self.auth != AuthMode::Password || self.password.is_some(),
            "kingdee.password",
            "required when kingdee.auth = \"password\"",
        )?;
        ensure(
            parse_offset(&self.utc_offset).is_some(),
            "kingdee.utc_offset",
            "must be an offset from UTC such as +08:00 or Z",
        )?;
        at_least_one("kingdee.request_timeout_secs", self.request_timeout_secs)?;
        at_least_one("kingdee.max_in_flight", self.max_in_flight)?;
        at_least_one("kingdee.retry_attempts", self.retry_attempts)
    }
}

/// An absolute `http://` or `https://` URL (the client appends service names to it).
fn check_server_url(server_url: &str) -> Result<(), SettingsError> {
    let reason = match Url::parse(server_url.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => return Ok(()),
        Ok(_) => "must start with http:// or https://".to_owned(),
        Err(e) => format!("must be an http:// or https:// URL ({e})"),
    };
    Err(SettingsError::Invalid {
        name: "kingdee.server_url".into(),
        reason,
    })
}

fn china() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// `+08:00`, `-05:30`, `Z`.
fn parse_offset(text: &str) -> Option<chrono::FixedOffset> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("z") {
        return chrono::FixedOffset::east_opt(0);
    }
    text.parse().ok()
}

/// `[kingdee.auth_backoff]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthBackoffSettings {
    /// Pause after the first refusal, seconds; it doubles with each refusal in a row.
    pub min_pause_secs: u64,
    /// Longest pause between two refused calls, seconds.
    pub max_pause_secs: u64,
    /// Most refused calls in any hour; past it, calls wait until the oldest is an hour old.
    pub attempts_per_hour: u32,
}

impl Default for AuthBackoffSettings {
    fn default() -> Self {
        Self {
            min_pause_secs: 60,
            max_pause_secs: 3600,
            attempts_per_hour: 6,
        }
    }
}
