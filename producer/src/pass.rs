//! One pass of a job: take the job's lock, record the pass in `sync_runs`, and read the
//! mode's streams one after the other ([`crate::stream`], each read by [`crate::read`]; the
//! `full` stream as key-range partitions at once, [`crate::partition`]), or reconcile
//! ([`crate::reconcile`]).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use k3sync_common::amqp::{self, Kind, Publisher, Topology};
use k3sync_common::dlq::{DeadLetter, error_log};
use k3sync_common::kingdee::KingdeeClient;
use k3sync_common::mapping::{CompiledMapping, MappingSpec};
use k3sync_common::record::distinct_fields;
use k3sync_common::settings::{JobSettings, Settings, SyncMode};
use k3sync_common::state::{self, JobLock, RunStatus};
use k3sync_common::telemetry::series;
use lapin::{Channel, Connection};
use sqlx::MySqlPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::batch::BadRecord;
use crate::fetch::FetchError;
use crate::leaving::TargetKeys;
use crate::progress::Progress;
use crate::read::Reader;
use crate::stamp::Stamps;
use crate::stream::streams;
use crate::tally::Tally;
use crate::window::Window;

/// A connected producer: Kingdee client, database pool, broker channels.
pub struct Producer {
    pub(crate) settings: Arc<Settings>,
    pub(crate) pool: MySqlPool,
    pub(crate) client: KingdeeClient,
    connection: Connection,
    pub(crate) publisher: Publisher,
    pub(crate) monitor: Channel,
    field_keys: HashMap<String, Vec<String>>,
    target_keys: HashMap<String, TargetKeys>,
    /// Each incremental stream's memory of its overlap window, by (job, stream, kind).
    pub(crate) windows: std::sync::Mutex<HashMap<(String, String, Kind), Window>>,
}

/// What a pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub run_id: Uuid,
    pub status: RunStatus,
    pub pages: u64,
    pub records: u64,
}

/// Why a pass stopped early. The cursor stays after the last page the broker confirmed.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("page {page}: cannot publish it")]
    BadRecord {
        page: u64,
        #[source]
        source: BadRecord,
    },
    #[error("page {page}: the broker did not confirm it")]
    Publish {
        page: u64,
        #[source]
        source: amqp::PublishError,
    },
    #[error("broker error")]
    Broker(#[from] lapin::Error),
    #[error("database error while recording the pass")]
    Database(#[from] sqlx::Error),
}

impl Producer {
    /// Compiles every job's mapping (to derive FieldKeys), builds the Kingdee client, connects to
    /// RabbitMQ and declares each job's topology. Bad settings or mappings fail here, before any
    /// request is sent.
    pub async fn connect(mut settings: Settings) -> anyhow::Result<Self> {
        // A running pass holds its job's lock on a connection of its own: with every job of the
        // settings running at once, the pool keeps room for the rest of the work beside them.
        let room = u32::try_from(settings.jobs.len())
            .unwrap_or(u32::MAX)
            .saturating_add(2);
        settings.mysql.max_connections = settings.mysql.max_connections.max(room);
        let mut field_keys = HashMap::new();
        let mut target_keys = HashMap::new();
        for job in &settings.jobs {
            let spec = MappingSpec::from_target(&job.target)
                .with_context(|| format!("mapping of job `{}`", job.name))?;
            target_keys.insert(job.name.clone(), TargetKeys::new(job, &spec)?);
            let mapping = CompiledMapping::compile(&spec)
                .with_context(|| format!("mapping of job `{}`", job.name))?;
            field_keys.insert(job.name.clone(), derive_field_keys(job, &mapping));
        }
        let client = KingdeeClient::new(&settings.kingdee).context("Kingdee client settings")?;
        let pool = settings.mysql.pool().context("mysql.url")?;
        let connection = amqp::connect(&settings.amqp, "k3sync-producer")
            .await
            .context("cannot connect to RabbitMQ (amqp.url)")?;
        let publisher = Publisher::new(amqp::open_channel(&connection, true).await?);
        let monitor = amqp::open_channel(&connection, false).await?;
        for job in &settings.jobs {
            amqp::declare(&connection, &Topology::new(&job.name, &settings.amqp))
                .await
                .with_context(|| format!("declaring the queues of job `{}`", job.name))?;
        }
        Ok(Self {
            settings: Arc::new(settings),
            pool,
            client,
            connection,
            publisher,
            monitor,
            field_keys,
            target_keys,
            windows: std::sync::Mutex::default(),
        })
    }

    /// Shares the scheduler's Kingdee auth gate, which outlives reconnects.
    pub fn with_auth_gate(mut self, gate: Arc<k3sync_common::kingdee::AuthGate>) -> Self {
        self.client = self.client.with_auth_gate(gate);
        self
    }

    /// False once the broker connection has dropped; a new `Producer` must be connected.
    pub fn is_connected(&self) -> bool {
        self.connection.status().connected()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// FieldKeys the job requests: the cursor fields, then every field the mapping references.
    pub fn field_keys(&self, job: &str) -> &[String] {
        self.field_keys.get(job).map_or(&[], Vec::as_slice)
    }

    /// The job's target-key column ([`Producer::connect`] made one for every job).
    pub(crate) fn target_keys(&self, job: &str) -> &TargetKeys {
        &self.target_keys[job]
    }

    /// Runs one pass of `job` in `mode`; waits for (or skips past) another producer's pass.
    pub async fn run_pass(
        &self,
        job_name: &str,
        mode: SyncMode,
        cancel: &CancellationToken,
    ) -> anyhow::Result<PassReport> {
        let job = self.settings.job(job_name)?;
        let run_id = Uuid::new_v4();
        let wait = self.settings.producer.lock_wait_secs;
        let lock = JobLock::acquire(&self.pool, &job.name, wait).await?;
        state::start_run(&self.pool, run_id, &job.name, mode).await?;
        let mut report = PassReport {
            run_id,
            status: RunStatus::Running,
            pages: 0,
            records: 0,
        };
        let Some(lock) = lock else {
            tracing::warn!(job = %job.name, wait_secs = wait, "Another producer is paging this job, skipping the pass");
            report.status = RunStatus::Skipped;
            state::update_run(&self.pool, run_id, report.status, 0, 0, None).await?;
            crate::outcome::record(&self.pool, &job.name, mode, run_id, report.status, None).await;
            return Ok(report);
        };
        let outcome = self.page_and_publish(job, mode, &mut report, cancel).await;
        let (status, error) = match &outcome {
            Ok(status) => (*status, None),
            Err(e) => (RunStatus::Failed, Some(k3sync_common::error_chain(e))),
        };
        report.status = status;
        let (pages, records) = (report.pages, report.records);
        state::update_run(&self.pool, run_id, status, pages, records, error.as_deref()).await?;
        lock.release().await?;
        let failure = outcome.as_ref().err();
        crate::outcome::record(&self.pool, &job.name, mode, run_id, status, failure).await;
        tracing::info!(job = %job.name, mode = mode.as_str(), %run_id, status = status.as_str(),
            pages = report.pages, records = report.records, "Pass finished");
        outcome?;
        Ok(report)
    }

    async fn page_and_publish(
        &self,
        job: &JobSettings,
        mode: SyncMode,
        report: &mut PassReport,
        cancel: &CancellationToken,
    ) -> Result<RunStatus, PassError> {
        tracing::info!(job = %job.name, mode = mode.as_str(), "Pass starting");
        let stamps = Arc::new(Stamps::start(&self.pool).await?);
        if mode == SyncMode::Reconcile {
            return self.reconcile(job, &stamps, report, cancel).await;
        }
        let total = match mode {
            SyncMode::Full => state::last_full_pass_records(&self.pool, &job.name).await?,
            _ => None,
        };
        let progress = Progress::new(&job.name, total);
        let tally = Tally::new(report);
        let outcome: Result<RunStatus, PassError> = async {
            for stream in streams(job, mode) {
                let reader = Reader {
                    job,
                    stream: &stream,
                    stamps: &stamps,
                    progress: &progress,
                    tally: &tally,
                    cancel,
                };
                let status = if stream.partitioned {
                    self.read_partitioned(&reader).await?
                } else {
                    self.read_stream(&reader).await?
                };
                if status != RunStatus::Succeeded {
                    return Ok(status);
                }
            }
            Ok(RunStatus::Succeeded)
        }
        .await;
        // The totals so far, also of a pass that failed, go into its `sync_runs` row.
        tally.report_into(report).await;
        if matches!(outcome, Ok(RunStatus::Succeeded)) {
            progress.finish();
        }
        outcome
    }

    /// Records too large for any message are bad source records: the pass goes on without
    /// them, and each is logged, counted and recorded in `error_log` (class `too_large`, with its
    /// key) for `ctl status` and `ctl dlq` to show.
    pub(crate) async fn record_oversized(
        &self,
        job: &str,
        letters: &[DeadLetter],
    ) -> Result<(), PassError> {
        if letters.is_empty() {
            return Ok(());
        }
        error_log::insert(&self.pool, job, "producer", letters).await?;
        for letter in letters {
            metrics::counter!(series::RECORDS_DEAD_LETTERED, series::JOB => job.to_owned(),
                "class" => letter.class.as_str())
            .increment(1);
            tracing::error!(job, key = ?letter.key, error = %letter.error,
                "Source record too large to publish, recorded in error_log");
        }
        Ok(())
    }
}

/// Cursor fields first (the envelope needs key and version), then the mapping's fields.
pub fn derive_field_keys(job: &JobSettings, mapping: &CompiledMapping) -> Vec<String> {
    let cursor = [
        job.key_field.clone(),
        job.modified_field.clone(),
        job.created_field.clone(),
    ];
    distinct_fields(cursor.into_iter().chain(mapping.source_fields()))
}
