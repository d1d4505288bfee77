//! Every exchange and queue name, and the one function that declares them. Both binaries call
//! [`declare`] at start; re-declaring with the same arguments is a no-op on the broker.
//!
//! On a cluster the work queue and the retry tiers are quorum queues with `amqp.quorum_replicas`
//! replicas (a majority of them must be up for a queue to take or give messages). Classic queues
//! live on one node, and while it is down every process's declare of the job is refused, so a
//! worker that lost its own node could not consume again anywhere, and no retry could be
//! published: so the tiers are quorum too. A quorum tier keeps its TTL (per-queue message TTL
//! since RabbitMQ 3.10, the oldest k3sync supports) and dead-letters at least once back into the
//! work exchange, so a tier's expiry loses nothing either.
//!
//! The dead queue stays a classic durable queue: `ctl dlq` reads it in place with `basic.get` and
//! puts each letter back where it was, which only a classic queue does (a quorum queue serves
//! returned messages first, reordering the queue), and every dead letter is also a row in
//! `error_log`. While its node is down, [`declare`] goes on without it and dead letters wait
//! (their publish is not confirmed, so the worker gets the delivery back later). Classic mirroring
//! is deprecated and not used. Queues declared by an older k3sync (classic tiers, no replica
//! count) are taken as they are, with a warning: drain and delete them to have them replicated.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
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

    /// The work queue and the retry tiers, in that order, each with its arguments.
    fn quorum_queues(&self) -> Vec<(String, FieldTable)> {
        let mut queues = vec![(self.work_queue(), self.work_arguments())];
        for (tier, delay) in (1..).zip(&self.tier_delays_ms) {
            queues.push((self.retry_queue(tier), self.retry_arguments(*delay)));
        }
        queues
    }

    fn work_arguments(&self) -> FieldTable {
        let mut args = self.dead_lettering(DEAD_LETTER_EXCHANGE);
        // Crash-loop guard: a message that kills its consumer again and again is dead-lettered
        // by the broker instead of being redelivered forever.
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(self.delivery_limit.into()),
        );
        args
    }

    fn retry_arguments(&self, delay_ms: u64) -> FieldTable {
        // When the delay expires the broker sends the message back to the work queue.
        let mut args = self.dead_lettering(EXCHANGE);
        args.insert(
            "x-message-ttl".into(),
            AMQPValue::LongLongInt(delay_ms as i64),
        );
        args
    }

    /// Dead-lettering into `exchange` by job, at least once (it needs reject-publish overflow):
    /// a message that expires or passes the delivery limit stays until the queue it goes to has
    /// confirmed it, so none is lost while that queue's leader moves or is briefly unavailable.
    fn dead_lettering(&self, exchange: &str) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert("x-dead-letter-exchange".into(), long_string(exchange));
        args.insert("x-dead-letter-routing-key".into(), long_string(&self.job));
        args.insert("x-overflow".into(), long_string("reject-publish"));
        args.insert(
            "x-dead-letter-strategy".into(),
            long_string("at-least-once"),
        );
        args
    }
}

/// `args` for a quorum queue, with `replicas` its replica count at creation (capped by the broker
/// at the cluster's size).
fn quorum(mut args: FieldTable, replicas: Option<u32>) -> FieldTable {
    args.insert("x-queue-type".into(), long_string("quorum"));
    if let Some(replicas) = replicas {
        args.insert(REPLICAS_ARG.into(), AMQPValue::LongInt(replicas as i32));
    }
    args
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
pub async fn declare(connection: &Connection, topology: &Topology) -> Result<(), lapin::Error> {
    let channel = connection.create_channel().await?;
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
    for (name, args) in topology.quorum_queues() {
        declare_quorum(connection, &name, args, topology.quorum_replicas).await?;
    }
    bind(&channel, &topology.work_queue(), EXCHANGE, topology).await?;
    let _ = channel.close(200, "declared".into()).await;
    declare_dead(connection, topology).await
}

/// The dead queue: classic durable, on one node (see the file's header). While that node is down
/// the broker refuses its declare (NOT_FOUND, "home node … is down or inaccessible"): the queue
/// and its binding exist already, so that is only logged and the process goes on; dead letters
/// published meanwhile are not confirmed and come back to the worker later.
async fn declare_dead(connection: &Connection, topology: &Topology) -> Result<(), lapin::Error> {
    let channel = connection.create_channel().await?;
    let dead = topology.dead_queue();
    match channel
        .queue_declare(dead.as_str().into(), durable(), FieldTable::default())
        .await
    {
        Ok(_) => {}
        Err(error) if home_node_down(&error) => {
            tracing::warn!(queue = %dead, error = %error,
                "Dead queue's node is down; dead letters wait until it returns");
            return Ok(());
        }
        Err(error) => return Err(error),
    }
    bind(&channel, &dead, DEAD_LETTER_EXCHANGE, topology).await?;
    let _ = channel.close(200, "declared".into()).await;
    Ok(())
}

async fn bind(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    topology: &Topology,
) -> Result<(), lapin::Error> {
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            topology.routing_key().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}

/// A 404 because a durable classic queue's node is down.
fn home_node_down(error: &lapin::Error) -> bool {
    matches!(error.kind(), lapin::ErrorKind::ProtocolError(e)
        if e.get_id() == 404 && e.get_message().as_str().contains("down or inaccessible"))
}

/// Declares quorum queue `name` with `args` and its replica count.
///
/// RabbitMQ compares [`REPLICAS_ARG`] and the queue type when a queue is declared again, although
/// the count means nothing after creation. A queue created before the count was set, or with
/// another count, or as a classic queue by an older k3sync, refuses the declare
/// (PRECONDITION_FAILED naming one of them): then it is declared without the count, and if that
/// is refused for the same reasons the queue is taken as it is, with a warning (its other
/// arguments are then not compared). Any other refusal is returned.
async fn declare_quorum(
    connection: &Connection,
    name: &str,
    args: FieldTable,
    replicas: u32,
) -> Result<(), lapin::Error> {
    for replicas in [Some(replicas), None] {
        let channel = connection.create_channel().await?;
        match channel
            .queue_declare(name.into(), durable(), quorum(args.clone(), replicas))
            .await
        {
            Ok(_) => {
                let _ = channel.close(200, "declared".into()).await;
                return Ok(());
            }
            Err(error) if refused_for_kind(&error) => {}
            Err(error) => return Err(error),
        }
    }
    let channel = connection.create_channel().await?;
    // A passive declare: the queue must exist, whatever its arguments.
    queue_depth(&channel, name).await?;
    let _ = channel.close(200, "declared".into()).await;
    tracing::warn!(
        queue = name,
        "Queue exists as another type or replica count; taken as it is"
    );
    Ok(())
}

/// A 406 whose reason names the replica count or the queue type.
fn refused_for_kind(error: &lapin::Error) -> bool {
    matches!(error.kind(), lapin::ErrorKind::ProtocolError(e)
        if e.get_id() == 406
            && [REPLICAS_ARG, "x-queue-type"]
                .iter()
                .any(|arg| e.get_message().as_str().contains(arg)))
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

    #[test]
    fn the_work_queue_and_the_tiers_are_quorum_with_the_replica_count_and_dead_letter_at_least_once()
     {
        let t = Topology {
            job: "materials".into(),
            tier_delays_ms: vec![5000],
            delivery_limit: 20,
            quorum_replicas: 3,
        };
        for args in [
            quorum(t.work_arguments(), Some(3)),
            quorum(t.retry_arguments(5000), Some(3)),
        ] {
            let args = args.inner();
            assert_eq!(args.get("x-queue-type"), Some(&long_string("quorum")));
            assert_eq!(args.get(REPLICAS_ARG), Some(&AMQPValue::LongInt(3)));
            assert_eq!(
                args.get("x-dead-letter-strategy"),
                Some(&long_string("at-least-once"))
            );
        }
        // Without the count (a queue declared before it was set).
        let args = quorum(t.work_arguments(), None);
        assert!(args.inner().get(REPLICAS_ARG).is_none());
    }
}
