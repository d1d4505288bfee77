//! Settings: `k3sync.toml` overridden by `K3SYNC__…` environment variables, read once at start
//! by [`Settings::load`]: defaults filled in, relative paths resolved, every rule checked, so that
//! a bad or missing value stops the program with a message that names it.
//!
//! One file per section of `k3sync.toml`; each holds the section's fields (their `///` lines are
//! the settings reference), its defaults (one `impl Default`) and its rules (one `validate`).

mod amqp;
mod broker_urls;
mod job;
mod kingdee;
mod mysql;
mod producer;
mod validate;
mod worker;

#[cfg(test)]
mod tests;

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

pub use amqp::AmqpSettings;
pub use broker_urls::{BrokerUrls, redact};
pub use job::{
    JobSettings, LeaveMode, LeaveSettings, SyncMode, TargetSettings, filter_and, known_key_field,
};
pub use kingdee::{AuthBackoffSettings, AuthMode, KingdeeSettings};
pub use mysql::MySqlSettings;
pub use producer::ProducerSettings;
pub use worker::WorkerSettings;

/// Everything k3sync reads at start. Secrets are [`secrecy::SecretString`]: their `Debug` is
/// redacted. A section left out of the file takes its defaults; its required keys are then
/// reported missing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where and as whom to read Kingdee K3Cloud.
    pub kingdee: KingdeeSettings,
    /// The RabbitMQ broker and the queue topology's knobs.
    pub amqp: AmqpSettings,
    /// The CRM's MySQL/MariaDB database (target tables and k3sync's own state tables).
    pub mysql: MySqlSettings,
    /// Producer behaviour.
    pub producer: ProducerSettings,
    /// Worker behaviour.
    pub worker: WorkerSettings,
    /// When a job counts as failing, and how often queues are sampled.
    pub monitoring: crate::monitoring::MonitoringSettings,
    /// The sync jobs; each has its own queue `k3sync.<name>`. At least one is required.
    pub jobs: Vec<JobSettings>,
}

/// A setting that stops the program at start.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The cause is the source only, not repeated in the message: `{:#}` and error chains
    /// print every source after the message, which printed figment's error twice.
    #[error("cannot read settings")]
    Load(#[from] Box<figment::Error>),
    #[error("setting `{name}` is required: set it in the settings file or the environment")]
    Missing { name: String },
    #[error("setting `{name}` is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

impl Settings {
    /// Reads `path` (TOML), applies `K3SYNC__SECTION__KEY` environment overrides, resolves
    /// relative paths against the folder of `path`, and checks the result ([`Settings::validate`]).
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let mut settings: Settings = Figment::new()
            .merge(Toml::file_exact(path))
            .merge(Env::prefixed("K3SYNC__").split("__"))
            .extract()
            .map_err(Box::new)?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for job in &mut settings.jobs {
            job.target.resolve_paths(dir);
            job.resolve_defaults();
        }
        settings.validate()?;
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

    /// The job called `name`, or every job when `name` is `None` (a `--job` left out).
    pub fn selected_jobs(&self, name: Option<&str>) -> Result<Vec<&JobSettings>, SettingsError> {
        match name {
            Some(name) => Ok(vec![self.job(name)?]),
            None => Ok(self.jobs.iter().collect()),
        }
    }

    pub fn job_names(&self) -> Vec<&str> {
        self.jobs.iter().map(|j| j.name.as_str()).collect()
    }
}
