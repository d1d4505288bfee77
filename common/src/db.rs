//! The MySQL connection pool and the embedded migrations; every binary reaches the database
//! through here.

use std::str::FromStr;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};

use crate::settings::MySqlSettings;

/// The schema k3sync owns (state tables and the default job's target), embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

impl MySqlSettings {
    /// Connection options from the URL; the charset is forced to utf8mb4 (Chinese text is normal).
    pub fn connect_options(&self) -> Result<MySqlConnectOptions, sqlx::Error> {
        Ok(MySqlConnectOptions::from_str(self.url.expose_secret())?.charset("utf8mb4"))
    }

    /// A pool that connects lazily, so a process can start (and report not-ready) while MySQL is down.
    pub fn pool(&self) -> Result<MySqlPool, sqlx::Error> {
        let lock_wait = self.lock_wait_timeout_secs;
        Ok(MySqlPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    // autocommit explicitly: the sink relies on a lone statement committing.
                    sqlx::query("SET SESSION innodb_lock_wait_timeout = ?, autocommit = 1")
                        .bind(lock_wait)
                        .execute(conn)
                        .await
                        .map(|_| ())
                })
            })
            .connect_lazy_with(self.connect_options()?))
    }
}

/// Applies the pending migrations.
pub async fn migrate(pool: &MySqlPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
