//! Start-up of a job's worker: compile the mapping (and a converging job's `[jobs.leave]`) and
//! check it against the live table before anything is consumed ("parse, don't validate"), so a
//! bad mapping stops the worker at once with a message that names the column and the setting.

use std::sync::Arc;

use anyhow::Context;
use k3sync_common::amqp::Topology;
use k3sync_common::health::Readiness;
use k3sync_common::mapping::{CompiledMapping, MappingSpec};
use k3sync_common::settings::{AmqpSettings, JobSettings, Settings, WorkerSettings};
use k3sync_common::sink::{ConvergenceError, MySqlSink};
use sqlx::MySqlPool;

/// Everything a job's consumer needs, built once.
#[derive(Clone)]
pub struct JobContext {
    pub job: JobSettings,
    pub topology: Topology,
    pub sink: MySqlSink,
    pub pool: MySqlPool,
    pub worker: WorkerSettings,
    pub amqp: AmqpSettings,
    pub worker_id: String,
    /// The fields the mapping reads ([`CompiledMapping::source_fields`]), decoded from each
    /// message.
    pub fields: Vec<String>,
    /// How to read Kingdee's zone-less dates (`kingdee.utc_offset`), for the record-lag metric.
    pub kingdee_offset: chrono::FixedOffset,
    /// Marked up while the broker session consumes; `/readyz` reads it.
    pub readiness: Readiness,
}

impl JobContext {
    /// Shares one readiness flag between the jobs of a process.
    pub fn with_readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = readiness;
        self
    }
}

/// Compiles the job's mapping and checks every target column exists in MySQL.
pub async fn prepare(
    settings: &Settings,
    job: &str,
    pool: MySqlPool,
) -> anyhow::Result<JobContext> {
    let job = settings.job(job)?.clone();
    let at = settings
        .jobs
        .iter()
        .position(|j| j.name == job.name)
        .unwrap_or_default();
    let mapping = MappingSpec::from_target(&job.target)
        .and_then(|spec| CompiledMapping::compile(&spec))
        .with_context(|| format!("mapping of job `{}`", job.name))?;
    let columns = MySqlSink::table_columns(&pool, mapping.table())
        .await
        .context("cannot read the target table's columns from MySQL (mysql.url)")?;
    mapping
        .check_columns(&columns)
        .with_context(|| format!("mapping of job `{}`", job.name))?;
    let fields = mapping.source_fields();
    let mut sink = MySqlSink::new(pool.clone(), Arc::new(mapping));
    if let Some(leave) = &job.leave {
        sink = sink
            .converging(&job.name, leave)
            .map_err(leave_setting(at))?;
        if let Some(convergence) = sink.convergence() {
            convergence
                .check_columns(sink.mapping().table(), &columns)
                .map_err(leave_setting(at))?;
        }
    }
    k3sync_common::telemetry::series::register_worker_job(&job.name, job.converges());
    Ok(JobContext {
        fields,
        kingdee_offset: settings.kingdee.offset(),
        topology: Topology::new(&job.name, &settings.amqp),
        sink,
        readiness: Readiness::new(pool.clone()),
        pool,
        worker: settings.worker.clone(),
        amqp: settings.amqp.clone(),
        worker_id: crate::worker_id(),
        job,
    })
}

/// An error of `[jobs.leave]` under the key of its setting, e.g. `jobs[0].leave.stamp_column`.
fn leave_setting(at: usize) -> impl Fn(ConvergenceError) -> anyhow::Error {
    move |error| {
        let setting = format!("jobs[{at}].leave.{}", error.setting());
        anyhow::Error::new(error).context(setting)
    }
}
