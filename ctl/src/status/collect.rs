//! Gathers a [`StatusReport`]: keeps one broker connection and one pool across `--watch`
//! redraws, reconnects when the broker went away, and reports what it cannot read instead of
//! failing, so status is most useful exactly when something is down.

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::Utc;
use k3sync_common::amqp::{self, Topology};
use k3sync_common::dlq::error_log;
use k3sync_common::mapping::{CompiledMapping, MappingSpec};
use k3sync_common::monitoring;
use k3sync_common::settings::{JobSettings, Settings};
use lapin::Connection;
use sqlx::MySqlPool;

use super::database;
use super::{
    JobStatus, QueueHealth, QueueStatus, RetryStatus, StatusOptions, StatusReport, TargetStatus,
};
use crate::probe::{Probe, QueueState};

/// Where a job's rows go, from its compiled mapping (whitelisted identifiers), or why not.
type Target = Result<(String, String), String>;

pub struct StatusSource<'s> {
    settings: &'s Settings,
    pool: MySqlPool,
    connection: Option<Connection>,
    targets: BTreeMap<String, Target>,
}

impl<'s> StatusSource<'s> {
    /// Compiles each job's mapping (for the target table's name); connects lazily.
    pub fn new(settings: &'s Settings) -> anyhow::Result<Self> {
        let targets = settings
            .jobs
            .iter()
            .map(|job| (job.name.clone(), target_of(job)))
            .collect();
        Ok(Self {
            settings,
            pool: settings.mysql.pool().context("mysql.url")?,
            connection: None,
            targets,
        })
    }

    /// One report. Fails only on an unknown `--job`; anything unreachable is reported inside.
    pub async fn snapshot(&mut self, options: &StatusOptions) -> anyhow::Result<StatusReport> {
        let jobs = self.settings.selected_jobs(options.job.as_deref())?;
        let mut report = StatusReport {
            schema: super::SCHEMA,
            generated_at: Utc::now(),
            broker_error: self.ensure_broker().await.err(),
            database_error: None,
            jobs: Vec::new(),
        };
        let mut probe = self.connection.as_ref().map(Probe::new);
        for job in jobs {
            let topology = Topology::new(&job.name, &self.settings.amqp);
            let errors = &mut report.broker_error;
            let work = look(&mut probe, topology.work_queue(), errors).await;
            let mut retry = Vec::new();
            for (i, delay_ms) in topology.tier_delays_ms.iter().enumerate() {
                retry.push(RetryStatus {
                    tier: i + 1,
                    delay_secs: delay_ms / 1000,
                    queue: look(&mut probe, topology.retry_queue(i + 1), errors).await,
                });
            }
            let dead = look(&mut probe, topology.dead_queue(), errors).await;
            let mut status = JobStatus {
                job: job.name.clone(),
                work,
                retry,
                dead,
                runs: Vec::new(),
                target: TargetStatus::default(),
                unresolved_dead_letters: None,
                health: None,
            };
            if report.database_error.is_none()
                && let Err(error) = self.read_database(job, options, &mut status).await
            {
                report.database_error = Some(error.to_string());
            }
            if let Some(Err(error)) = self.targets.get(&job.name) {
                status.target.error = Some(error.clone());
            }
            report.jobs.push(status);
        }
        let lost_broker = probe.is_none();
        drop(probe);
        if lost_broker {
            self.connection = None;
        }
        Ok(report)
    }

    async fn read_database(
        &self,
        job: &JobSettings,
        options: &StatusOptions,
        status: &mut JobStatus,
    ) -> Result<(), sqlx::Error> {
        status.runs = database::runs(&self.pool, &job.name, None, options.runs).await?;
        status.unresolved_dead_letters = Some(error_log::unresolved(&self.pool, &job.name).await?);
        let history = monitoring::history(&self.pool, &job.name).await?;
        let monitoring = &self.settings.monitoring;
        status.health = Some(monitoring::assess(&history, job.schedule_secs, monitoring));
        if let Some(Ok((table, version))) = self.targets.get(&job.name) {
            status.target.table = Some(table.clone());
            match database::target(&self.pool, table, version).await {
                Ok(facts) => {
                    status.target.rows = Some(facts.rows);
                    status.target.newest_version = facts.newest;
                    status.target.newest_age_secs = facts.age_secs;
                    if let Some(leave) = &job.leave {
                        status.target.left =
                            Some(database::left(&self.pool, &job.name, table, leave.mark()).await?);
                        status.target.last_reconciliation =
                            database::runs(&self.pool, &job.name, Some("reconcile"), 1)
                                .await?
                                .pop();
                    }
                }
                // The table's own problem (missing, no such column) is the job's, not MySQL's.
                Err(sqlx::Error::Database(db)) => {
                    status.target.error = Some(db.message().to_owned());
                }
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }

    /// Connects to the broker when there is no connection or it went away.
    async fn ensure_broker(&mut self) -> Result<(), String> {
        if self
            .connection
            .as_ref()
            .is_none_or(|c| !c.status().connected())
        {
            let connection = amqp::connect(&self.settings.amqp, "k3sync-ctl")
                .await
                .map_err(|e| format!("cannot connect to RabbitMQ (amqp.url): {e}"))?;
            self.connection = Some(connection);
        }
        Ok(())
    }

    /// Closes the connection and the pool.
    pub async fn close(self) {
        if let Some(connection) = self.connection {
            let _ = connection.close(200, "ctl done".into()).await;
        }
        self.pool.close().await;
    }
}

fn target_of(job: &JobSettings) -> Target {
    let mapping = MappingSpec::from_target(&job.target)
        .and_then(|spec| CompiledMapping::compile(&spec))
        .map_err(|e| format!("mapping: {e}"))?;
    let (table, version) = (mapping.table(), mapping.version_column());
    Ok((table.to_owned(), version.to_owned()))
}

/// A queue's status through the probe; after a broker error the rest are `unknown`.
async fn look(
    probe: &mut Option<Probe<'_>>,
    name: String,
    broker_error: &mut Option<String>,
) -> QueueStatus {
    let Some(p) = probe.as_mut() else {
        return unknown(name);
    };
    match p.queue(&name).await {
        Ok(QueueState::Present { ready, consumers }) => QueueStatus {
            state: QueueHealth::Ok,
            ready: Some(ready),
            consumers: Some(consumers),
            ..unknown(name)
        },
        Ok(QueueState::Missing) => QueueStatus {
            state: QueueHealth::Missing,
            ..unknown(name)
        },
        Err(error) => {
            *broker_error = Some(format!("RabbitMQ stopped answering: {error}"));
            *probe = None;
            unknown(name)
        }
    }
}

fn unknown(name: String) -> QueueStatus {
    QueueStatus {
        name,
        state: QueueHealth::Unknown,
        ready: None,
        unacked: None,
        consumers: None,
    }
}
