//! The queue sampler: every `monitoring.queue_sample_secs` the scheduled producer reads the
//! depth and the consumers of the job's work queue, each retry tier and the dead queue (passive
//! declares, no management plugin) into `k3sync_queue_depth` and `k3sync_queue_consumers`.
//!
//! Why the producer and not the worker: the numbers matter most when the workers are gone (a
//! work queue without consumers, a growing queue), and a process cannot report its own
//! absence. The scheduled producer runs all the time, one per job (replicas export the same
//! numbers; alerts take the max). It keeps a broker connection of its own, so sampling goes on
//! while a pass waits on Kingdee or on back-pressure.

use std::time::Duration;

use k3sync_common::amqp::topology::queue_depth;
use k3sync_common::amqp::{self, Topology};
use k3sync_common::backoff::Backoff;
use k3sync_common::settings::Settings;
use k3sync_common::telemetry::series;
use lapin::Channel;
use tokio_util::sync::CancellationToken;

/// A queue of the job and its `kind` label (`work`, `retry`, `dead`).
pub fn queues(topology: &Topology) -> Vec<(String, &'static str)> {
    let mut queues = vec![(topology.work_queue(), "work")];
    for tier in 1..=topology.tier_delays_ms.len() {
        queues.push((topology.retry_queue(tier), "retry"));
    }
    queues.push((topology.dead_queue(), "dead"));
    queues
}

/// Samples `job`'s queues until `cancel`, reconnecting with backoff when the broker goes away.
pub async fn sample_queues(settings: Settings, job: String, cancel: CancellationToken) {
    let every = Duration::from_secs(settings.monitoring.queue_sample_secs.max(1));
    let topology = Topology::new(&job, &settings.amqp);
    let mut backoff = Backoff::new(Duration::from_secs(1), every.max(Duration::from_secs(30)));
    loop {
        let result = session(&settings, &topology, &job, every, &cancel).await;
        if cancel.is_cancelled() {
            return;
        }
        metrics::counter!(series::QUEUE_SAMPLE_FAILURES, series::JOB => job.clone()).increment(1);
        let delay = backoff.next_delay();
        if let Err(error) = result {
            tracing::warn!(
                job,
                error = format!("{error:#}"),
                delay_ms = delay.as_millis() as u64,
                "Cannot sample the queues, reconnecting"
            );
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// One connection's samples; returns on a broker error (or `Ok` when cancelled).
async fn session(
    settings: &Settings,
    topology: &Topology,
    job: &str,
    every: Duration,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let connection = amqp::connect(&settings.amqp, "k3sync-producer-sampler").await?;
    let channel = amqp::open_channel(&connection, false).await?;
    // Declared (idempotently) so that a passive look never meets a missing queue.
    amqp::declare(&connection, topology).await?;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        tokio::select! {
            () = cancel.cancelled() => break Ok(()),
            _ = tick.tick() => {}
        }
        if let Err(error) = sample_once(&channel, topology, job).await {
            break Err(error);
        }
    };
    let _ = connection.close(200, "sampler done".into()).await;
    Ok(result?)
}

async fn sample_once(
    channel: &Channel,
    topology: &Topology,
    job: &str,
) -> Result<(), lapin::Error> {
    for (queue, kind) in queues(topology) {
        let (ready, consumers) = queue_depth(channel, &queue).await?;
        let labels = [
            (series::JOB, job.to_owned()),
            ("queue", queue),
            ("kind", kind.to_owned()),
        ];
        metrics::gauge!(series::QUEUE_DEPTH, &labels).set(f64::from(ready));
        metrics::gauge!(series::QUEUE_CONSUMERS, &labels).set(f64::from(consumers));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use k3sync_common::settings::AmqpSettings;

    use super::*;

    #[test]
    fn every_queue_of_the_job_is_sampled_with_its_kind() {
        let amqp = AmqpSettings {
            url: "amqp://x".into(),
            quorum_replicas: 3,
            retry_tiers_secs: vec![5, 30],
            delivery_limit: 20,
            records_per_message: 100,
            max_message_bytes: 1 << 20,
        };
        let got = queues(&Topology::new("materials", &amqp));
        let want = [
            ("k3sync.materials", "work"),
            ("k3sync.materials.retry.1", "retry"),
            ("k3sync.materials.retry.2", "retry"),
            ("k3sync.materials.dead", "dead"),
        ];
        assert_eq!(got.len(), want.len());
        for ((queue, kind), (q, k)) in got.iter().zip(want) {
            assert_eq!((queue.as_str(), *kind), (q, k));
        }
    }
}
