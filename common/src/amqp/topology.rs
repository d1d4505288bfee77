//! Every exchange and queue name, and the one function that declares them. Both binaries call
//! [`declare`] at start; re-declaring with the same arguments is a no-op on the broker.
//!
//! On a cluster: the work queue is a quorum queue with `amqp.quorum_replicas` replicas (a
//! majority of them must be up for it to take or give messages). The retry tiers and the dead
//! queue stay classic durable queues, on one node each: a retry tier needs per-queue message TTL
//! that dead-letters back into the work exchange, which quorum queues only gained in 3.10 and
//! which a classic queue does with less work; they hold only messages that already failed once;
//! and a dead letter is written into `error_log` (MySQL) before it is published there, so the
//! queue is a copy, not the record. Their cost: while the node holding one is down, a retry or
//! dead letter for it cannot be published, so the worker's confirmed publish fails, the delivery
//! is not acked and comes back later (nothing is lost; the batch waits). Classic mirroring is
//! deprecated and not used.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, Connection, ExchangeKind};

use crate::settings::AmqpSettings;

/// The work exchange: routing key = job name.
pub const EXCHANGE: &str = "k3sync";
/// The dead-letter exchange: routing key = job name.
pub const DEAD_LETTER_EXCHANGE: &str = "k3sync.dlx";

/// An exchange and a routing key: where a message is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub exchange: String,
    pub routing_key: String,
}

/// The names of one job's queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub job: String,
    /// Retry tier delays in milliseconds, tier 1 first.
    pub tier_delays_ms: Vec<u64>,
    pub delivery_limit: u32,
    /// Replicas of the work queue when it is created (`x-quorum-initial-group-size`).
    pub quorum_replicas: u32,
}

/// The argument that sets a quorum queue's replica count at creation. RabbitMQ compares it too
/// when a queue is declared again, although it means nothing after creation: see [`declare`].
pub const REPLICAS_ARG: &str = "x-quorum-initial-group-size";

impl Topology {
    pub fn new(job: &str, settings: &AmqpSettings) -> Self {
        Self {
            job: job.to_owned(),
            tier_delays_ms: settings.retry_tiers_secs.iter().map(|s| s * 1000).collect(),
            delivery_limit: settings.delivery_limit,
            quorum_replicas: settings.quorum_replicas,
        }
    }

    /// Routing key of the job on both exchanges.
    pub fn routing_key(&self) -> &str {
        &self.job
    }

    /// The quorum work queue `k3sync.<job>`.
    pub fn work_queue(&self) -> String {
        format!("{EXCHANGE}.{}", self.job)
    }

    /// Retry tier `n` (1-based): `k3sync.<job>.retry.<n>`.
    pub fn retry_queue(&self, tier: usize) -> String {
        format!("{EXCHANGE}.{}.retry.{tier}", self.job)
    }

    /// The dead queue `k3sync.<job>.dead`.
    pub fn dead_queue(&self) -> String {
        format!("{EXCHANGE}.{}.dead", self.job)
    }

    /// Where a message for the work queue goes: the work exchange, by job.
    pub fn work_route(&self) -> Route {
        Route {
            exchange: EXCHANGE.to_owned(),
            routing_key: self.job.clone(),
        }
    }

    /// Where a retry for tier `tier` (1-based) goes: the default exchange routes by queue name
    /// straight into the tier, whose TTL sends it back to the work exchange.
    pub fn retry_route(&self, tier: usize) -> Route {
        Route {
            exchange: String::new(),
            routing_key: self.retry_queue(tier),
        }
    }

    /// Where a dead letter goes: the dead-letter exchange, by job.
    pub fn dead_route(&self) -> Route {
        Route {
            exchange: DEAD_LETTER_EXCHANGE.to_owned(),
            routing_key: self.job.clone(),
        }
    }

    /// Every queue of the job, work queue first, dead queue last.
    pub fn all_queues(&self) -> Vec<String> {
        let mut queues = vec![self.work_queue()];
        queues.extend((1..=self.tier_delays_ms.len()).map(|n| self.retry_queue(n)));
        queues.push(self.dead_queue());
        queues
    }

    /// With `replicas`, the count a new queue starts with.
    fn work_arguments(&self, replicas: Option<u32>) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert("x-queue-type".into(), long_string("quorum"));
        if let Some(replicas) = replicas {
            // Capped by the broker at the cluster's size.
            args.insert(REPLICAS_ARG.into(), AMQPValue::LongInt(replicas as i32));
        }
        args.insert(
            "x-dead-letter-exchange".into(),
            long_string(DEAD_LETTER_EXCHANGE),
        );
        args.insert("x-dead-letter-routing-key".into(), long_string(&self.job));
        // Crash-loop guard: a message that kills its consumer again and again is dead-lettered
        // by the broker instead of being redelivered forever.
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(self.delivery_limit.into()),
        );
        // At-least-once dead-lettering needs reject-publish overflow; keeps delivery-limit
        // dead letters from being lost if the dead queue's node is briefly unavailable.
        args.insert("x-overflow".into(), long_string("reject-publish"));
        args.insert(
            "x-dead-letter-strategy".into(),
            long_string("at-least-once"),
        );
        args
    }

    fn retry_arguments(&self, delay_ms: u64) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert(
            "x-message-ttl".into(),
            AMQPValue::LongLongInt(delay_ms as i64),
        );
        // When the delay expires the broker sends the message back to the work queue.
        args.insert("x-dead-letter-exchange".into(), long_string(EXCHANGE));
        args.insert("x-dead-letter-routing-key".into(), long_string(&self.job));
        args
    }
}

fn long_string(s: &str) -> AMQPValue {
    AMQPValue::LongString(s.into())
}

fn durable() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    }
}

/// Declares the exchanges, the job's queues and their bindings, on channels of its own (a
/// refused declare closes its channel).
///
/// The work queue is declared with its replica count first. A queue created before that setting
/// existed, or with another count, refuses that (PRECONDITION_FAILED naming [`REPLICAS_ARG`]):
/// then it is declared without the count, and if that is refused for the count too, the queue
/// is taken as it is (its other arguments are then not compared). Any other refusal is returned.
pub async fn declare(connection: &Connection, topology: &Topology) -> Result<(), lapin::Error> {
    let work: ShortString = topology.work_queue().into();
    let mut declared = false;
    for replicas in [Some(topology.quorum_replicas), None] {
        let channel = connection.create_channel().await?;
        match channel
            .queue_declare(work.clone(), durable(), topology.work_arguments(replicas))
            .await
        {
            Ok(_) => {
                let _ = channel.close(200, "declared".into()).await;
                declared = true;
                break;
            }
            Err(error) if refused_for_replicas(&error) => {}
            Err(error) => return Err(error),
        }
    }
    if !declared {
        tracing::warn!(queue = %work, "Work queue exists with another replica count; taken as it is");
    }
    let channel = connection.create_channel().await?;
    declare_rest(&channel, topology).await?;
    let _ = channel.close(200, "declared".into()).await;
    Ok(())
}

/// A 406 whose reason names the replica count.
fn refused_for_replicas(error: &lapin::Error) -> bool {
    matches!(error.kind(), lapin::ErrorKind::ProtocolError(e)
        if e.get_id() == 406 && e.get_message().as_str().contains(REPLICAS_ARG))
}

async fn declare_rest(channel: &Channel, topology: &Topology) -> Result<(), lapin::Error> {
    let exchange_options = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    for exchange in [EXCHANGE, DEAD_LETTER_EXCHANGE] {
        channel
            .exchange_declare(
                exchange.into(),
                ExchangeKind::Direct,
                exchange_options,
                FieldTable::default(),
            )
            .await?;
    }
    let work: ShortString = topology.work_queue().into();
    channel
        .queue_bind(
            work,
            EXCHANGE.into(),
            topology.routing_key().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    for (i, delay) in topology.tier_delays_ms.iter().enumerate() {
        let name = topology.retry_queue(i + 1);
        channel
            .queue_declare(name.into(), durable(), topology.retry_arguments(*delay))
            .await?;
    }
    let dead: ShortString = topology.dead_queue().into();
    channel
        .queue_declare(dead.clone(), durable(), FieldTable::default())
        .await?;
    channel
        .queue_bind(
            dead,
            DEAD_LETTER_EXCHANGE.into(),
            topology.routing_key().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// Messages ready and consumers of a queue, from a passive declare (no management plugin needed).
pub async fn queue_depth(channel: &Channel, queue: &str) -> Result<(u32, u32), lapin::Error> {
    let options = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let q = channel
        .queue_declare(queue.into(), options, FieldTable::default())
        .await?;
    Ok((q.message_count(), q.consumer_count()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_follow_the_design() {
        let t = Topology {
            job: "materials".into(),
            tier_delays_ms: vec![5000, 30000],
            delivery_limit: 20,
            quorum_replicas: 3,
        };
        assert_eq!(
            t.all_queues(),
            vec![
                "k3sync.materials",
                "k3sync.materials.retry.1",
                "k3sync.materials.retry.2",
                "k3sync.materials.dead"
            ]
        );
    }
}
