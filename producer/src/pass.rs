//! One pass of a job: take the job's lock, read the cursor, page Kingdee one page ahead,
//! publish each page under confirms and only then store the cursor after it. A crash resumes
//! from the last confirmed page: nothing is lost and at most one page is sent twice.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use k3sync_common::amqp::{self, Publisher, Topology};
use k3sync_common::dlq::{DeadLetter, error_log};
use k3sync_common::kingdee::{Keyset, KingdeeClient};
use k3sync_common::mapping::{CompiledMapping, MappingSpec};
use k3sync_common::settings::{JobSettings, Settings, SyncMode};
use k3sync_common::state::{self, JobLock, RunStatus};
use k3sync_common::telemetry::series;
use lapin::{Channel, Connection};
use sqlx::MySqlPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::backpressure::wait_for_room;
use crate::batch::{BadRecord, Batcher};
use crate::fetch::{FetchError, FetchPlan, Page, fetch_pages};
use crate::progress::Progress;

/// A connected producer: Kingdee client, database pool, broker channels.
pub struct Producer {
    settings: Arc<Settings>,
    pool: MySqlPool,
    client: KingdeeClient,
    connection: Connection,
    publisher: Publisher,
    monitor: Channel,
    field_keys: HashMap<String, Vec<String>>,
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
    pub async fn connect(settings: Settings) -> anyhow::Result<Self> {
        let mut field_keys = HashMap::new();
        for job in &settings.jobs {
            let spec = MappingSpec::from_target(&job.target, &settings.config_dir)
                .with_context(|| format!("mapping of job `{}`", job.name))?;
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
            amqp::declare(
                publisher.channel(),
                &Topology::new(&job.name, &settings.amqp),
            )
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

    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// FieldKeys the job requests: the cursor fields, then every field the mapping references.
    pub fn field_keys(&self, job: &str) -> &[String] {
        self.field_keys.get(job).map_or(&[], Vec::as_slice)
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
        let Some(lock) = JobLock::acquire(&self.pool, &job.name, wait).await? else {
            tracing::warn!(job = %job.name, wait_secs = wait, "Another producer is paging this job, skipping the pass");
            state::start_run(&self.pool, run_id, &job.name, mode).await?;
            state::update_run(&self.pool, run_id, RunStatus::Skipped, 0, 0, None).await?;
            crate::outcome::record(
                &self.pool,
                &job.name,
                mode,
                run_id,
                RunStatus::Skipped,
                None,
            )
            .await;
            return Ok(PassReport {
                run_id,
                status: RunStatus::Skipped,
                pages: 0,
                records: 0,
            });
        };
        state::start_run(&self.pool, run_id, &job.name, mode).await?;
        let mut report = PassReport {
            run_id,
            status: RunStatus::Running,
            pages: 0,
            records: 0,
        };
        let outcome = self.page_and_publish(job, mode, &mut report, cancel).await;
        let (status, error) = match &outcome {
            Ok(status) => (*status, None),
            Err(e) => (RunStatus::Failed, Some(k3sync_common::error_chain(e))),
        };
        report.status = status;
        state::update_run(
            &self.pool,
            run_id,
            status,
            report.pages,
            report.records,
            error.as_deref(),
        )
        .await?;
        lock.release().await?;
        let failure = outcome.as_ref().err();
        crate::outcome::record(&self.pool, &job.name, mode, run_id, status, failure).await;
        tracing::info!(job = %job.name, mode = mode.as_str(), %run_id, status = status.as_str(),
            pages = report.pages, records = report.records, "Pass finished");
        match outcome {
            Ok(_) => Ok(report),
            Err(e) => Err(e.into()),
        }
    }

    async fn page_and_publish(
        &self,
        job: &JobSettings,
        mode: SyncMode,
        report: &mut PassReport,
        cancel: &CancellationToken,
    ) -> Result<RunStatus, PassError> {
        let cursor = state::load_cursor(&self.pool, &job.name, mode).await?;
        tracing::info!(job = %job.name, mode = mode.as_str(), cursor = ?cursor, "Pass starting");
        let (tx, mut rx) = mpsc::channel(1);
        let plan = FetchPlan {
            form_id: job.form_id.clone(),
            field_keys: self.field_keys(&job.name).to_vec(),
            filter: job.filter.clone(),
            keyset: keyset(job, mode),
            page_size: job.page_size,
        };
        let fetcher = tokio::spawn(fetch_pages(self.client.clone(), plan, cursor, tx));
        let _abort_fetcher = AbortOnDrop(fetcher);
        let topology = Topology::new(&job.name, &self.settings.amqp);
        let batcher = Batcher {
            job: job.name.clone(),
            form_id: job.form_id.clone(),
            run_id: report.run_id,
            route: topology.work_route(),
            key_field: job.key_field.clone(),
            modified_field: job.modified_field.clone(),
            records_per_message: self.settings.amqp.records_per_message,
            max_message_bytes: self.settings.amqp.max_message_bytes,
        };
        let queue = topology.work_queue();
        let total = match mode {
            SyncMode::Full => state::last_full_pass_records(&self.pool, &job.name).await?,
            _ => None,
        };
        let progress = Progress::new(&job.name, total);
        loop {
            // Waiting for the next page can mean waiting out Kingdee retries (minutes in an
            // outage): a shutdown ends the wait, and dropping the fetcher cancels its retry sleep.
            let page = tokio::select! {
                page = rx.recv() => page,
                () = cancel.cancelled() => None,
            };
            let Some(page) = page else { break };
            let page: Page = page?;
            let max_depth = self.settings.producer.max_queue_depth;
            wait_for_room(&self.monitor, &queue, max_depth, cancel).await?;
            let count = page.records.len() as u64;
            let batch = batcher
                .messages(page.records, 0)
                .map_err(|source| PassError::BadRecord {
                    page: page.index,
                    source,
                })?;
            self.publisher
                .publish_confirmed(&batch.messages)
                .await
                .map_err(|source| PassError::Publish {
                    page: page.index,
                    source,
                })?;
            self.record_oversized(&job.name, &batch.oversized).await?;
            let open = mode == SyncMode::Full && !page.last;
            state::store_cursor(
                &self.pool,
                &job.name,
                mode,
                &page.cursor_after,
                open,
                report.run_id,
            )
            .await?;
            report.pages += 1;
            report.records += count;
            metrics::counter!(series::PAGES_FETCHED, series::JOB => job.name.clone()).increment(1);
            metrics::counter!(series::RECORDS_PUBLISHED, series::JOB => job.name.clone())
                .increment(count);
            progress.advance(count);
            state::update_run(
                &self.pool,
                report.run_id,
                RunStatus::Running,
                report.pages,
                report.records,
                None,
            )
            .await?;
            if page.last {
                progress.finish();
                return Ok(RunStatus::Succeeded);
            }
            if cancel.is_cancelled() {
                tracing::info!(job = %job.name, "Shutdown requested, stopping after a confirmed page");
                return Ok(RunStatus::Cancelled);
            }
        }
        // No last page: shutdown while waiting for a page, or the fetcher was aborted.
        tracing::info!(job = %job.name, "Shutdown requested while waiting for Kingdee, stopping");
        Ok(RunStatus::Cancelled)
    }
}

impl Producer {
    /// Records too large for any message are bad source records: the pass goes on without
    /// them, and each is logged, counted and recorded in `error_log` (class `too_large`, with its
    /// key) for `ctl status` and `ctl dlq` to show.
    async fn record_oversized(&self, job: &str, letters: &[DeadLetter]) -> Result<(), PassError> {
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
    let mut keys: Vec<String> = Vec::new();
    let wanted = [
        job.key_field.clone(),
        job.modified_field.clone(),
        job.created_field.clone(),
    ];
    for field in wanted.into_iter().chain(mapping.source_fields()) {
        if !keys.iter().any(|k| k.eq_ignore_ascii_case(&field)) {
            keys.push(field);
        }
    }
    keys
}

/// The keyset of a mode: full pages by key; incremental by (modified, key); new by (created, key).
fn keyset(job: &JobSettings, mode: SyncMode) -> Keyset {
    match mode {
        SyncMode::Full | SyncMode::Reconcile => Keyset::by_key(&job.key_field),
        SyncMode::Incremental => Keyset::by_time(&job.modified_field, &job.key_field),
        SyncMode::New => Keyset::by_time(&job.created_field, &job.key_field),
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
