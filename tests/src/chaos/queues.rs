//! The job's queues seen from outside: publish raw bodies straight to the work queue (as a
//! broken producer would), take the dead letters with their reasons, and watch the backlog
//! through a connection that comes back after the broker did.

use k3sync_common::amqp::topology::queue_depth;
use k3sync_common::amqp::{self, Envelope, Outgoing, Publisher};
use k3sync_common::dlq::names as headers;

use crate::envelopes::{EnvelopeRecord, envelope_of};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection};

use crate::TestEnv;

/// An envelope of `records` for `job`, as the producer writes it.
pub fn envelope(job: &str, records: Vec<EnvelopeRecord>) -> Vec<u8> {
    envelope_of(job, records).to_json()
}

/// Publishes each body as one message to the job's work queue, under confirms.
pub async fn publish_raw(env: &TestEnv, bodies: Vec<Vec<u8>>) {
    let connection = amqp::connect(&env.settings.amqp, "k3sync-test-raw")
        .await
        .expect("amqp");
    let publisher = Publisher::new(
        amqp::open_channel(&connection, true)
            .await
            .expect("channel"),
    );
    amqp::declare(&connection, &env.topology())
        .await
        .expect("declare");
    let messages: Vec<Outgoing> = bodies
        .into_iter()
        .map(|body| Outgoing {
            exchange: "k3sync".into(),
            routing_key: env.job().into(),
            message_id: uuid::Uuid::new_v4().to_string(),
            headers: FieldTable::default(),
            body,
        })
        .collect();
    publisher
        .publish_confirmed(&messages)
        .await
        .expect("raw bodies confirmed");
    let _ = connection.close(200, "done".into()).await;
}

/// A message of the dead queue: its reason headers and the key of its single record.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub class: String,
    pub error: String,
    pub key: Option<i64>,
    pub message_id: Option<String>,
    pub body: Vec<u8>,
}

/// Takes (and acks) every message of the job's dead queue.
pub async fn drain_dead(env: &TestEnv) -> Vec<DeadLetter> {
    let deliveries = env.take_all(&env.topology().dead_queue()).await;
    deliveries
        .into_iter()
        .map(|delivery| {
            let header = |name: &str| match delivery
                .properties
                .headers()
                .as_ref()
                .and_then(|h| h.inner().get(name).cloned())
            {
                Some(AMQPValue::LongString(s)) => s.to_string(),
                other => format!("{other:?}"),
            };
            DeadLetter {
                class: header(headers::ERROR_CLASS),
                error: header(headers::ERROR),
                key: Envelope::from_json(&delivery.data)
                    .ok()
                    .and_then(|e| e.records.first().map(|r| r.key)),
                message_id: delivery
                    .properties
                    .message_id()
                    .as_ref()
                    .map(|m| m.to_string()),
                body: delivery.data.clone(),
            }
        })
        .collect()
}

/// Ready messages and consumers of the job's queues, asked with passive declares over a connection of its
/// own that is opened again whenever the broker went away.
pub struct QueueWatch {
    settings: k3sync_common::settings::AmqpSettings,
    topology: amqp::Topology,
    open: Option<(Connection, Channel)>,
}

impl QueueWatch {
    pub fn new(env: &TestEnv) -> Self {
        Self {
            settings: env.settings.amqp.clone(),
            topology: env.topology(),
            open: None,
        }
    }

    /// Ready messages of the work queue and every retry tier; `None` while the broker is away.
    pub async fn backlog(&mut self) -> Option<u32> {
        let mut total = 0;
        for queue in self.topology.all_queues() {
            if queue != self.topology.dead_queue() {
                total += self.ready(&queue).await?;
            }
        }
        Some(total)
    }

    /// Ready messages of the dead queue.
    pub async fn dead(&mut self) -> Option<u32> {
        let queue = self.topology.dead_queue();
        self.ready(&queue).await
    }

    /// Consumers of the work queue.
    pub async fn consumers(&mut self) -> Option<u32> {
        let queue = self.topology.work_queue();
        self.depth(&queue).await.map(|(_, consumers)| consumers)
    }

    async fn ready(&mut self, queue: &str) -> Option<u32> {
        self.depth(queue).await.map(|(ready, _)| ready)
    }

    async fn depth(&mut self, queue: &str) -> Option<(u32, u32)> {
        if !self
            .open
            .as_ref()
            .is_some_and(|(c, ch)| c.status().connected() && ch.status().connected())
        {
            let connection = amqp::connect(&self.settings, "k3sync-test-watch")
                .await
                .ok()?;
            let channel = amqp::open_channel(&connection, false).await.ok()?;
            self.open = Some((connection, channel));
        }
        let (_, channel) = self.open.as_ref()?;
        match queue_depth(channel, queue).await {
            Ok(depth) => Some(depth),
            Err(_) => {
                self.open = None;
                None
            }
        }
    }

    pub async fn close(self) {
        if let Some((connection, _)) = self.open {
            let _ = connection.close(200, "done".into()).await;
        }
    }
}
