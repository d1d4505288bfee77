//! Settings: `k3sync.toml` overridden by `K3SYNC__…` environment variables, checked once at
//! start so that a bad value stops the program with a message that names it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

/// Everything k3sync reads at start. Secrets are [`SecretString`]: their `Debug` is redacted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where and as whom to read Kingdee K3Cloud.
    pub kingdee: KingdeeSettings,
    /// The RabbitMQ broker and the queue topology's knobs.
    pub amqp: AmqpSettings,
    /// The CRM's MySQL/MariaDB database (target tables and k3sync's own state tables).
    pub mysql: MySqlSettings,
    /// Producer behaviour.
    #[serde(default)]
    pub producer: ProducerSettings,
    /// Worker behaviour.
    #[serde(default)]
    pub worker: WorkerSettings,
    /// When a job counts as failing, and how often queues are sampled.
    #[serde(default)]
    pub monitoring: crate::monitoring::MonitoringSettings,
    /// The sync jobs; each has its own queue `k3sync.<name>`.
    pub jobs: Vec<JobSettings>,
    /// Folder of the settings file; relative paths in it (mapping files) are read from here.
    #[serde(skip)]
    pub config_dir: PathBuf,
}

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
#[serde(deny_unknown_fields)]
pub struct KingdeeSettings {
    /// Base URL of the K3Cloud site, e.g. `https://erp.example.com/k3cloud/`.
    pub server_url: String,
    /// Account (data centre) id, 账套ID, as shown in the third-party system authorisation.
    pub acct_id: String,
    /// Integration user name.
    pub user_name: String,
    /// AppID of the third-party system authorisation (`<clientId>_<secret part>`).
    pub app_id: String,
    /// AppSecret of the authorisation. Set it through `K3SYNC__KINGDEE__APP_SECRET`.
    pub app_secret: SecretString,
    /// Locale id; 2052 is simplified Chinese.
    #[serde(default = "default_lcid")]
    pub lcid: u32,
    /// Organisation number sent in the signed app data (0 when unused).
    #[serde(default = "default_org_num")]
    pub org_num: String,
    /// `signature` (default) or `password` (legacy ValidateUser login).
    #[serde(default)]
    pub auth: AuthMode,
    /// Password for `auth = "password"`. Set it through `K3SYNC__KINGDEE__PASSWORD`.
    #[serde(default)]
    pub password: Option<SecretString>,
    /// Timeout of one HTTP request, seconds.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// Highest request rate sent to Kingdee, requests per second (0 = unlimited).
    #[serde(default = "default_rps")]
    pub requests_per_second: u32,
    /// Most requests in flight at once.
    #[serde(default = "default_in_flight")]
    pub max_in_flight: usize,
    /// Attempts for one request on transient errors (MsgCode 14, HTTP 429/5xx, timeouts).
    #[serde(default = "default_attempts")]
    pub retry_attempts: usize,
    /// First retry delay, milliseconds; doubles with jitter up to `retry_max_delay_ms`.
    #[serde(default = "default_retry_min")]
    pub retry_min_delay_ms: u64,
    /// Longest delay between two retries, milliseconds.
    #[serde(default = "default_retry_max")]
    pub retry_max_delay_ms: u64,
    /// Give up retrying one request after this many seconds in total.
    #[serde(default = "default_retry_total")]
    pub retry_max_elapsed_secs: u64,
    /// The offset from UTC of the K3Cloud server's clock, `+08:00` for a site in China. Kingdee's
    /// dates (`FModifyDate`) carry no zone; this says how to read them (the record-lag metric).
    #[serde(default = "default_utc_offset")]
    pub utc_offset: String,
    /// How calls back off across passes after Kingdee refuses authentication.
    #[serde(default)]
    pub auth_backoff: crate::kingdee::AuthBackoffSettings,
}

impl KingdeeSettings {
    /// [`KingdeeSettings::utc_offset`], checked when the settings load.
    pub fn offset(&self) -> chrono::FixedOffset {
        parse_offset(&self.utc_offset).unwrap_or_else(china)
    }
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpSettings {
    /// `amqp://user:password@host:5672/vhost`. Contains a password: set it through the environment.
    pub url: SecretString,
    /// Delays of the retry tiers in seconds, in order (tier n is `k3sync.<job>.retry.<n>`).
    #[serde(default = "default_tiers")]
    pub retry_tiers_secs: Vec<u64>,
    /// Crash-loop guard: a message redelivered this many times is dead-lettered by the broker.
    #[serde(default = "default_delivery_limit")]
    pub delivery_limit: u32,
    /// Records carried by one message (1 gives one message per record).
    #[serde(default = "default_records_per_message")]
    pub records_per_message: usize,
    /// Largest message body, bytes. The producer cuts a page's messages to stay under it; a
    /// worker dead-letters a larger message undecoded (class `too_large`), so one message cannot
    /// take a worker's memory. Keep it well under the broker's own `max_message_size`
    /// (128 MiB on RabbitMQ 3.x, 16 MiB on 4.x).
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MySqlSettings {
    /// `mysql://user:password@host:3306/database`. Contains a password: set it through the environment.
    pub url: SecretString,
    /// Connections in each process's pool.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// `innodb_lock_wait_timeout` of k3sync's sessions, seconds: how long a write waits for a
    /// row lock held by someone else before the batch is retried later.
    #[serde(default = "default_lock_wait_timeout")]
    pub lock_wait_timeout_secs: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerSettings {
    /// Pause paging while a job's work queue holds more messages than this.
    #[serde(default = "default_max_queue_depth")]
    pub max_queue_depth: u32,
    /// Address of `/metrics`, `/healthz`, `/readyz` (empty = not served).
    #[serde(default = "default_producer_listen")]
    pub listen: String,
    /// How long a producer waits for another one that is paging the same job, seconds;
    /// after that it skips the pass (logged, and recorded in `sync_runs` as `skipped`).
    #[serde(default = "default_lock_wait")]
    pub lock_wait_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Records written in one transaction.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Longest wait before a partial batch is written, milliseconds.
    #[serde(default = "default_flush_ms")]
    pub flush_interval_ms: u64,
    /// In-process attempts of a transient database failure before the retry tier takes over.
    #[serde(default = "default_worker_attempts")]
    pub retry_attempts: usize,
    /// Time allowed to write the batch in hand after SIGTERM, seconds.
    #[serde(default = "default_grace")]
    pub shutdown_grace_secs: u64,
    /// Address of `/metrics`, `/healthz`, `/readyz` (empty = not served).
    #[serde(default = "default_worker_listen")]
    pub listen: String,
}

/// Which rows a producer pass reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Rows modified after the stored (FModifyDate, FMaterialId) cursor.
    #[default]
    Incremental,
    /// Every row; for the first load or a reconciliation.
    Full,
    /// Rows created after the stored watermark (FCreateDate): the seed's "新增".
    New,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    /// Job name: lower-case letters, digits, `_` and `-`. Names the queues and the state rows.
    pub name: String,
    /// Kingdee form, e.g. `BD_MATERIAL`.
    pub form_id: String,
    /// FilterString applied on every pass (the cursor condition is added to it).
    #[serde(default)]
    pub filter: String,
    /// Primary key field of the form (the keyset cursor's tie breaker).
    #[serde(default = "default_key_field")]
    pub key_field: String,
    /// Modification-time field (the incremental cursor).
    #[serde(default = "default_modified_field")]
    pub modified_field: String,
    /// Creation-time field (the `new` mode watermark).
    #[serde(default = "default_created_field")]
    pub created_field: String,
    /// Default mode of `producer sync` for this job.
    #[serde(default)]
    pub mode: SyncMode,
    /// Rows per ExecuteBillQuery page (at most 10000; older servers cap at 2000).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Seconds between two passes when the producer runs without `--once`.
    #[serde(default = "default_schedule")]
    pub schedule_secs: u64,
    /// Where the records go.
    pub target: TargetSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSettings {
    /// Target table in the MySQL database.
    pub table: String,
    /// Primary-key column of the target table.
    pub key: String,
    /// Version column (a datetime): an older version never overwrites a newer row.
    pub version: String,
    /// Target column → template or `_function …`, e.g. `data_id = "{FMasterId}"`.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// A mapping file in the seed's JSON shape, used instead of (or on top of) `columns`.
    #[serde(default)]
    pub mapping_file: Option<PathBuf>,
}

/// A setting that stops the program at start.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("setting `{name}` is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

impl Settings {
    /// Reads `path` (TOML), applies `K3SYNC__SECTION__KEY` environment overrides, checks the result.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let mut settings: Settings = Figment::new()
            .merge(Toml::file_exact(path))
            .merge(Env::prefixed("K3SYNC__").split("__"))
            .extract()
            .map_err(Box::new)?;
        settings.config_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        settings.check()?;
        Ok(settings)
    }

    /// The job called `name`.
    pub fn job(&self, name: &str) -> Result<&JobSettings, SettingsError> {
        self.jobs
            .iter()
            .find(|j| j.name == name)
            .ok_or_else(|| SettingsError::Invalid {
                name: "jobs".into(),
                reason: format!(
                    "no job named `{name}` (known: {})",
                    self.job_names().join(", ")
                ),
            })
    }

    pub fn job_names(&self) -> Vec<&str> {
        self.jobs.iter().map(|j| j.name.as_str()).collect()
    }

    fn check(&self) -> Result<(), SettingsError> {
        let invalid = |name: &str, reason: &str| {
            Err(SettingsError::Invalid {
                name: name.into(),
                reason: reason.into(),
            })
        };
        if !self.kingdee.server_url.starts_with("http://")
            && !self.kingdee.server_url.starts_with("https://")
        {
            return invalid("kingdee.server_url", "must start with http:// or https://");
        }
        if self.kingdee.auth == AuthMode::Password && self.kingdee.password.is_none() {
            return invalid(
                "kingdee.password",
                "required when kingdee.auth = \"password\"",
            );
        }
        if parse_offset(&self.kingdee.utc_offset).is_none() {
            return invalid(
                "kingdee.utc_offset",
                "must be an offset from UTC such as +08:00 or Z",
            );
        }
        if self.kingdee.max_in_flight == 0 {
            return invalid("kingdee.max_in_flight", "must be at least 1");
        }
        if self.kingdee.retry_attempts == 0 {
            return invalid("kingdee.retry_attempts", "must be at least 1");
        }
        if self.amqp.records_per_message == 0 {
            return invalid("amqp.records_per_message", "must be at least 1");
        }
        if self.amqp.max_message_bytes < 64 * 1024 {
            return invalid("amqp.max_message_bytes", "must be at least 65536");
        }
        if self.amqp.retry_tiers_secs.is_empty() || self.amqp.retry_tiers_secs.contains(&0) {
            return invalid(
                "amqp.retry_tiers_secs",
                "needs at least one tier, each above 0 s",
            );
        }
        if self.worker.batch_size == 0 {
            return invalid("worker.batch_size", "must be at least 1");
        }
        if self.jobs.is_empty() {
            return invalid("jobs", "at least one [[jobs]] entry is needed");
        }
        for (i, job) in self.jobs.iter().enumerate() {
            let at = |field: &str| format!("jobs[{i}].{field}");
            if !is_job_name(&job.name) {
                return invalid(&at("name"), "use 1-64 of a-z, 0-9, `_`, `-`");
            }
            if self.jobs.iter().filter(|j| j.name == job.name).count() > 1 {
                return invalid(&at("name"), "job names must be unique");
            }
            if job.form_id.trim().is_empty() {
                return invalid(&at("form_id"), "must not be empty");
            }
            if job.page_size == 0 || job.page_size > 10_000 {
                return invalid(&at("page_size"), "must be between 1 and 10000");
            }
            if job.schedule_secs == 0 {
                return invalid(&at("schedule_secs"), "must be at least 1");
            }
            if job.target.columns.is_empty() && job.target.mapping_file.is_none() {
                return invalid(&at("target.columns"), "give columns or a mapping_file");
            }
        }
        Ok(())
    }
}

fn is_job_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl Default for ProducerSettings {
    fn default() -> Self {
        Self {
            max_queue_depth: default_max_queue_depth(),
            listen: default_producer_listen(),
            lock_wait_secs: default_lock_wait(),
        }
    }
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            batch_size: default_batch_size(),
            flush_interval_ms: default_flush_ms(),
            retry_attempts: default_worker_attempts(),
            shutdown_grace_secs: default_grace(),
            listen: default_worker_listen(),
        }
    }
}

fn default_lcid() -> u32 {
    2052
}
fn default_org_num() -> String {
    "0".into()
}
fn default_request_timeout() -> u64 {
    120
}
fn default_rps() -> u32 {
    20
}
fn default_in_flight() -> usize {
    4
}
fn default_attempts() -> usize {
    6
}
fn default_retry_min() -> u64 {
    200
}
fn default_retry_max() -> u64 {
    10_000
}
fn default_utc_offset() -> String {
    "+08:00".into()
}
fn default_retry_total() -> u64 {
    300
}
fn default_tiers() -> Vec<u64> {
    vec![5, 30, 300]
}
fn default_delivery_limit() -> u32 {
    20
}
fn default_records_per_message() -> usize {
    100
}
fn default_max_message_bytes() -> usize {
    8 * 1024 * 1024
}
fn default_max_connections() -> u32 {
    4
}
fn default_lock_wait_timeout() -> u32 {
    50
}
fn default_max_queue_depth() -> u32 {
    100_000
}
fn default_lock_wait() -> u64 {
    600
}
fn default_producer_listen() -> String {
    "127.0.0.1:9101".into()
}
fn default_worker_listen() -> String {
    "127.0.0.1:9102".into()
}
fn default_batch_size() -> usize {
    1000
}
fn default_flush_ms() -> u64 {
    100
}
fn default_worker_attempts() -> usize {
    3
}
fn default_grace() -> u64 {
    20
}
fn default_key_field() -> String {
    "FMaterialId".into()
}
fn default_modified_field() -> String {
    "FModifyDate".into()
}
fn default_created_field() -> String {
    "FCreateDate".into()
}
fn default_page_size() -> u32 {
    2000
}
fn default_schedule() -> u64 {
    300
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo settings with `edit` applied to their text, loaded from a file of their own.
    fn load_demo(edit: impl Fn(String) -> String) -> Result<Settings, SettingsError> {
        let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/k3sync.toml");
        let text = edit(std::fs::read_to_string(demo).expect("config/k3sync.toml"));
        let path = std::env::temp_dir().join(format!(
            "k3sync-settings-{}-{}.toml",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::write(&path, text).expect("temporary settings file");
        let loaded = Settings::load(&path);
        let _ = std::fs::remove_file(&path);
        loaded
    }

    #[test]
    fn kingdee_dates_are_read_as_china_time_unless_told_otherwise() {
        let offset = |line: &str| {
            load_demo(|t| t.replace("utc_offset = \"+08:00\"", line))
                .unwrap()
                .kingdee
                .offset()
                .local_minus_utc()
        };
        assert_eq!(offset(""), 8 * 3600, "the default");
        assert_eq!(offset("utc_offset = \"Z\""), 0);
        assert_eq!(offset("utc_offset = \"-05:30\""), -(5 * 3600 + 1800));
    }

    #[test]
    fn a_bad_utc_offset_stops_the_load_and_names_the_setting() {
        let err = load_demo(|t| t.replace("utc_offset = \"+08:00\"", "utc_offset = \"Beijing\""))
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("kingdee.utc_offset"), "{text}");
        assert!(text.contains("+08:00"), "{text}");
    }
}
