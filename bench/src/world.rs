//! One benchmark run's world: its own MariaDB database, its own job name (so its own queues), and
//! the settings file the binaries read, generated from the demo `config/k3sync.toml` with the
//! few values a benchmark changes. Cleanup drops both again.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use k3sync_common::amqp::{self, Topology};
use k3sync_common::settings::Settings;
use lapin::options::QueueDeleteOptions;
use sqlx::MySqlPool;

/// Server URL of the MariaDB/MySQL the benchmarks use, without a database: k3sync's own account
/// (scripts/lib/services.sh creates it).
pub fn mysql_server_url() -> String {
    std::env::var("K3SYNC_BENCH_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://k3sync:k3sync@127.0.0.1:3306".into())
}

/// URL of the RabbitMQ the benchmarks use.
pub fn amqp_url() -> String {
    std::env::var("K3SYNC_BENCH_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// The workspace root (for `config/k3sync.toml`, `bench/results/` and `target/`).
pub fn workspace_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

/// Which rows the job reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Rows {
    /// The demo job's filter (use org T00, audited, enabled).
    Job,
    /// No filter: every row of the mock.
    All,
}

/// How the job detects changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Detection {
    /// The demo's: three watched dates, a 300 s overlap, rows leave (`[jobs.leave]`).
    Demo,
    /// As the producer behaved before convergence: one stream on `FModifyDate`, no overlap
    /// (the cursor is strict), no leaving and so no reconciliation.
    ModifyDateOnly,
}

/// What a run changes in the demo settings.
#[derive(Debug, Clone)]
pub struct Knobs {
    pub server_url: String,
    pub rows: Rows,
    pub detection: Detection,
    pub max_queue_depth: u32,
    pub schedule_secs: u64,
    pub producer_listen: String,
}

/// A run's database, job and settings file.
pub struct World {
    pub database: String,
    pub job: String,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub settings: Settings,
    pub pool: MySqlPool,
}

impl World {
    /// Creates the database (migrated) and writes the settings file into `dir`.
    pub async fn create(dir: &Path, knobs: &Knobs) -> anyhow::Result<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
        let database = format!("k3sync_bench_{id}");
        let job = format!("bench{id}");
        let admin = MySqlPool::connect(&mysql_server_url())
            .await
            .context("cannot connect to MariaDB")?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )))
        .execute(&admin)
        .await?;
        admin.close().await;
        let config = dir.join("k3sync.toml");
        std::fs::write(&config, settings_text(knobs, &database, &job)?)?;
        let settings = Settings::load(&config).context("generated settings")?;
        let pool = settings.mysql.pool()?;
        k3sync_common::db::migrate(&pool).await?;
        k3sync_common::kingdee::install_crypto_provider();
        // Declared up front, so passive declares (queue depth) never meet a missing queue.
        let connection = amqp::connect(&settings.amqp, "k3sync-bench-setup").await?;
        amqp::declare(&connection, &Topology::new(&job, &settings.amqp)).await?;
        let _ = connection.close(200, "done".into()).await;
        Ok(Self {
            database,
            job,
            dir: dir.to_owned(),
            config,
            settings,
            pool,
        })
    }

    pub fn topology(&self) -> Topology {
        Topology::new(&self.job, &self.settings.amqp)
    }

    /// The job's work queue `k3sync.<job>`.
    pub fn work_queue(&self) -> String {
        self.topology().work_queue()
    }

    /// The target table of the job.
    pub fn table(&self) -> &str {
        &self.settings.jobs[0].target.table
    }

    /// Rows in the target table (or another table of the run's database).
    pub async fn count(&self, table: &str) -> anyhow::Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM `{table}`");
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await?)
    }

    /// Deletes the job's queues and drops the database.
    pub async fn cleanup(self) -> anyhow::Result<()> {
        let connection = amqp::connect(&self.settings.amqp, "k3sync-bench-cleanup").await?;
        let channel = amqp::open_channel(&connection, false).await?;
        for queue in self.topology().all_queues() {
            channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await?;
        }
        let _ = connection.close(200, "done".into()).await;
        self.pool.close().await;
        let admin = MySqlPool::connect(&mysql_server_url()).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {}",
            self.database
        )))
        .execute(&admin)
        .await?;
        admin.close().await;
        Ok(())
    }
}

/// The demo settings with this run's values; every replaced line must be found exactly once.
fn settings_text(knobs: &Knobs, database: &str, job: &str) -> anyhow::Result<String> {
    let path = workspace_root().join("config/k3sync.toml");
    let mut text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let (scope, filter) = match knobs.rows {
        Rows::Job => (None, None),
        Rows::All => (
            Some("scope = \"\"".to_owned()),
            Some("filter = \"\"".to_owned()),
        ),
    };
    let mut edits = vec![
        (
            "server_url = \"http://127.0.0.1:8090/k3cloud/\"",
            Some(format!("server_url = \"{}\"", knobs.server_url)),
        ),
        (
            "requests_per_second = 20",
            Some("requests_per_second = 0".to_owned()),
        ),
        (
            "url = \"amqp://guest:guest@127.0.0.1:5672/%2f\"",
            Some(format!("url = \"{}\"", amqp_url())),
        ),
        (
            "url = \"mysql://k3sync:k3sync@127.0.0.1:3306/k3sync_demo\"",
            Some(format!("url = \"{}/{database}\"", mysql_server_url())),
        ),
        (
            "max_queue_depth = 100000",
            Some(format!("max_queue_depth = {}", knobs.max_queue_depth)),
        ),
        (
            "listen = \"127.0.0.1:9101\"",
            Some(format!("listen = \"{}\"", knobs.producer_listen)),
        ),
        // Each worker gets its own address through K3SYNC__WORKER__LISTEN.
        (
            "listen = \"127.0.0.1:9102\"",
            Some("listen = \"\"".to_owned()),
        ),
        ("name = \"materials\"", Some(format!("name = \"{job}\""))),
        ("scope = \"FUseOrgId.FNumber = 'T00'\"", scope),
        (
            "filter = \"FDocumentStatus = 'C' AND FForbidStatus = 'A'\"",
            filter,
        ),
        (
            "schedule_secs = 60",
            Some(format!("schedule_secs = {}", knobs.schedule_secs)),
        ),
    ];
    if knobs.detection == Detection::ModifyDateOnly {
        edits.extend(modify_date_only());
    }
    for (from, to) in edits {
        let Some(to) = to else { continue };
        if text.matches(from).count() != 1 {
            bail!(
                "config/k3sync.toml changed: `{from}` is not there exactly once; update bench/src/world.rs"
            );
        }
        text = text.replace(from, &to);
    }
    Ok(text)
}

/// The edits of [`Detection::ModifyDateOnly`].
fn modify_date_only() -> [(&'static str, Option<String>); 4] {
    [
        (
            "watch = [\"FModifyDate\", \"FApproveDate\", \"FForbidDate\"]",
            Some("watch = [\"FModifyDate\"]".to_owned()),
        ),
        ("overlap_secs = 300", Some("overlap_secs = 0".to_owned())),
        // A reconciliation needs [jobs.leave].
        (
            "reconcile_secs = 3600",
            Some("reconcile_secs = 0".to_owned()),
        ),
        (
            "[jobs.leave]\nmode = \"mark\"\nmark_column = \"left_at\"\nstamp_column = \"sync_stamp\"\n",
            Some(String::new()),
        ),
    ]
}

/// A free TCP port on 127.0.0.1 (bound, then released for a child to take).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}
