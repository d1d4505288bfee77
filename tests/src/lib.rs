//! Test harness for the end-to-end tests: each test gets its own MariaDB database, its own job
//! name (so its own queues) and its own in-process Kingdee mock on a random port, built from the
//! demo settings in `config/k3sync.toml` so the tests exercise the configuration users start from.

pub mod alerting;
pub mod chaos;
pub mod envelopes;
mod in_process;
pub use in_process::InProcessWorker;
pub mod metrics;
pub mod proxy;

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use k3sync_common::amqp::{self, Envelope, Topology};
use k3sync_common::settings::Settings;
use kingdee_mock::{MockConfig, MockServer};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicGetOptions, QueueDeleteOptions};
use secrecy::SecretString;
use serde_json::Value;
use sqlx::mysql::MySqlPool;

/// Server URL of the test MariaDB/MySQL, without a database: k3sync's own account, which
/// scripts/lib/services.sh creates (root gets in only over the socket on a stock Debian).
pub fn mysql_server_url() -> String {
    std::env::var("K3SYNC_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://k3sync:k3sync@127.0.0.1:3306".into())
}

/// URL of the test RabbitMQ.
pub fn amqp_url() -> String {
    std::env::var("K3SYNC_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// The workspace root (for config files and built binaries). Without `..` in it: cargo keys its
/// fingerprints on the manifest path, and `tests/../Cargo.toml` rebuilt the whole workspace.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

/// A binary of the workspace (`producer`, `worker`, `ctl`, `kingdee-mock`), next to the test
/// executable's `deps/` folder. The test runner builds only test targets, so the first call in a
/// test process runs `cargo build` for the binaries: they are never missing and never stale.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = std::process::Command::new(cargo);
        // Cargo sets CARGO_PKG_*, CARGO_MANIFEST_DIR and the like for the test process; a build
        // script that tracks one (ring's does) would see it change between this build and the
        // next `cargo test`, and rebuild the TLS stack and all above it each time.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
                "CARGO_PRIMARY_",
                "CARGO_TARGET_TMPDIR",
                "OUT_DIR",
            ]
            .iter()
            .any(|prefix| name.starts_with(prefix))
            {
                command.env_remove(name.as_ref());
            }
        }
        let status = command
            .args(["build", "--quiet", "--bins"])
            .args([
                "-p",
                "producer",
                "-p",
                "worker",
                "-p",
                "ctl",
                "-p",
                "kingdee-mock",
            ])
            .arg("--manifest-path")
            .arg(workspace_root().join("Cargo.toml"))
            .status()
            .expect("run cargo build for the binaries");
        assert!(status.success(), "cargo build of the binaries failed");
    });
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile folder");
    dir.join(name)
}

/// One test's world: database, mock, settings with a unique job.
pub struct TestEnv {
    pub id: String,
    pub database: String,
    pub pool: MySqlPool,
    pub mock: MockServer,
    pub settings: Settings,
    pub http: reqwest::Client,
}

impl TestEnv {
    /// A mock with `rows` materials and default faults; see [`TestEnv::with_mock`].
    pub async fn start(rows: usize) -> Self {
        Self::with_mock(MockConfig {
            rows,
            ..MockConfig::default()
        })
        .await
    }

    pub async fn with_mock(mock_config: MockConfig) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
        let database = format!("k3sync_t_{id}");
        let admin = MySqlPool::connect(&mysql_server_url())
            .await
            .expect("connect to MariaDB");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )))
        .execute(&admin)
        .await
        .expect("create test database");
        admin.close().await;

        let mock = MockServer::start(mock_config)
            .await
            .expect("start the Kingdee mock");
        let mut settings =
            Settings::load(&workspace_root().join("config/k3sync.toml")).expect("demo settings");
        settings.kingdee.server_url = mock.url();
        settings.kingdee.requests_per_second = 0;
        settings.kingdee.retry_min_delay_ms = 20;
        settings.kingdee.retry_max_delay_ms = 200;
        settings.mysql.url = SecretString::from(format!("{}/{database}", mysql_server_url()));
        settings.amqp.url = amqp_url().into();
        settings.producer.listen = String::new();
        settings.producer.lock_wait_secs = 60;
        settings.worker.listen = String::new();
        settings.jobs.truncate(1);
        settings.jobs[0].name = format!("t{id}");
        let pool = settings.mysql.pool().expect("pool");
        k3sync_common::db::migrate(&pool).await.expect("migrations");
        k3sync_common::kingdee::install_crypto_provider();
        let http = reqwest::Client::new();
        Self {
            id,
            database,
            pool,
            mock,
            settings,
            http,
        }
    }

    pub fn job(&self) -> &str {
        &self.settings.jobs[0].name
    }

    pub fn topology(&self) -> Topology {
        Topology::new(self.job(), &self.settings.amqp)
    }

    /// Writes the settings as a TOML file for the binaries (which read files, not structs).
    pub fn write_config(&self) -> PathBuf {
        self.write_config_with(&[])
    }

    /// [`TestEnv::write_config`] with each `(from, to)` text replaced in the demo file (each
    /// `from` must occur: a test must not silently run the demo's value).
    pub fn write_config_with(&self, edits: &[(&str, &str)]) -> PathBuf {
        let path = std::env::temp_dir().join(format!("k3sync-{}.toml", self.id));
        let text = std::fs::read_to_string(workspace_root().join("config/k3sync.toml"))
            .expect("demo config");
        let text = text
            .replace("http://127.0.0.1:8090/k3cloud/", &self.mock.url())
            .replace(
                "mysql://k3sync:k3sync@127.0.0.1:3306/k3sync_demo",
                &format!("{}/{}", mysql_server_url(), self.database),
            )
            .replace("amqp://guest:guest@127.0.0.1:5672/%2f", &amqp_url())
            .replace(
                "name = \"materials\"",
                &format!("name = \"{}\"", self.job()),
            )
            .replace("listen = \"127.0.0.1:9101\"", "listen = \"\"")
            .replace("listen = \"127.0.0.1:9102\"", "listen = \"\"");
        let mut text = text;
        for (from, to) in edits {
            assert!(text.contains(from), "the demo settings have no `{from}`");
            text = text.replacen(from, to, 1);
        }
        std::fs::write(&path, text).expect("write test config");
        path
    }

    /// GET `url` (a process's `/metrics`, `/healthz`, `/readyz`): its status and body, `None`
    /// while nothing answers within 5 s.
    pub async fn get(&self, url: &str) -> Option<(reqwest::StatusCode, String)> {
        let response = self
            .http
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        let status = response.status();
        Some((status, response.text().await.ok()?))
    }

    /// GET a mock operator endpoint.
    pub async fn mock_get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.mock.base());
        self.http
            .get(url)
            .send()
            .await
            .expect("mock GET")
            .json()
            .await
            .expect("mock JSON")
    }

    /// POST (or PUT) JSON to a mock operator endpoint.
    pub async fn mock_send(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.mock.base());
        let response = self
            .http
            .request(method, url)
            .json(&body)
            .send()
            .await
            .expect("mock call");
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "mock {path} answered {status}: {value}"
        );
        value
    }

    /// Every row of the mock, as objects keyed by field name (the unfiltered truth).
    pub async fn mock_rows(&self) -> Vec<Value> {
        match self.mock_get("/_mock/rows").await {
            Value::Array(rows) => rows,
            other => panic!("/_mock/rows gave {other}"),
        }
    }

    /// Takes every message off the job's work queue (acking them) until it stays empty.
    pub async fn drain_work_queue(&self) -> Vec<Envelope> {
        self.take_all(&self.topology().work_queue())
            .await
            .iter()
            .map(|d| Envelope::from_json(&d.data).expect("producer wrote an envelope"))
            .collect()
    }

    /// Takes (and acks) every message of `queue` until it stays empty.
    pub async fn take_all(&self, queue: &str) -> Vec<Delivery> {
        let connection = amqp::connect(&self.settings.amqp, "k3sync-test")
            .await
            .expect("amqp");
        let channel = amqp::open_channel(&connection, false)
            .await
            .expect("channel");
        let mut deliveries = Vec::new();
        while let Some(message) = channel
            .basic_get(queue.into(), BasicGetOptions::default())
            .await
            .expect("basic_get")
        {
            let delivery = message.delivery;
            delivery.ack(BasicAckOptions::default()).await.expect("ack");
            deliveries.push(delivery);
        }
        let _ = connection.close(200, "done".into()).await;
        deliveries
    }

    /// Removes the test's queues and database.
    pub async fn cleanup(self) {
        if let Ok(connection) = amqp::connect(&self.settings.amqp, "k3sync-test-cleanup").await {
            if let Ok(channel) = amqp::open_channel(&connection, false).await {
                for queue in self.topology().all_queues() {
                    let _ = channel
                        .queue_delete(queue.into(), QueueDeleteOptions::default())
                        .await;
                }
            }
            let _ = connection.close(200, "done".into()).await;
        }
        self.pool.close().await;
        if let Ok(admin) = MySqlPool::connect(&mysql_server_url()).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {}",
                self.database
            )))
            .execute(&admin)
            .await;
        }
        self.mock.shutdown().await;
    }
}

/// Polls `check` every 50 ms until it returns `Some`, failing the test after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    poll(what, timeout, Duration::from_millis(50), check).await
}

/// Polls `check` every `every` until it returns `Some`, failing the test after `timeout`.
/// For conditions too costly to ask every 50 ms (a full table count, a broker round trip).
pub async fn poll<T, F, Fut>(what: &str, timeout: Duration, every: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(every).await;
    }
}

/// The default job's filter evaluated here, independently of the mock's filter engine.
pub fn matches_job_filter(row: &Value) -> bool {
    row["FUseOrgId.FNumber"] == "T00"
        && row["FDocumentStatus"] == "C"
        && row["FForbidStatus"] == "A"
}

/// Runs a binary to completion with a timeout; returns (exit code, stderr).
pub async fn run_binary(
    name: &str,
    args: &[&str],
    timeout: Duration,
) -> anyhow::Result<(i32, String)> {
    let output = tokio::time::timeout(
        timeout,
        tokio::process::Command::new(binary(name))
            .args(args)
            .env("RUST_LOG", "info")
            .output(),
    )
    .await
    .with_context(|| format!("{name} did not finish within {timeout:?}"))??;
    Ok((
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}
