//! `[mysql]`: the CRM's MySQL/MariaDB database, where the target tables and k3sync's own state
//! tables live. The pool is built from it in `db.rs`.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::SettingsError;
use super::validate::required;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MySqlSettings {
    /// `mysql://user:password@host:3306/database`. Required. Contains a password: set it through
    /// the environment (`K3SYNC__MYSQL__URL`).
    pub url: SecretString,
    /// Connections in each process's pool.
    pub max_connections: u32,
    /// `innodb_lock_wait_timeout` of k3sync's sessions, seconds: how long a write waits for a
    /// row lock held by someone else before the batch is retried later.
    pub lock_wait_timeout_secs: u32,
}

/// The url is empty here; `MySqlSettings::validate` reports it missing.
impl Default for MySqlSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from(String::new()),
            max_connections: 4,
            lock_wait_timeout_secs: 50,
        }
    }
}

impl MySqlSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        required("mysql.url", self.url.expose_secret())
    }
}
