//! The bench's own view of RabbitMQ: queue depth and consumers by a passive declare (no
//! management plugin), the same way `ctl status` and the producer's back-pressure read them;
//! purging a queue between passes, and taking its messages to check what a pass sent.

use std::time::{Duration, Instant};

use anyhow::bail;
use k3sync_common::amqp::{self, Envelope, topology::queue_depth};
use k3sync_common::settings::AmqpSettings;
use lapin::options::{BasicAckOptions, BasicGetOptions, QueuePurgeOptions};
use lapin::{Channel, Connection};

pub struct Broker {
    connection: Connection,
    channel: Channel,
}

impl Broker {
    pub async fn connect(settings: &AmqpSettings) -> anyhow::Result<Self> {
        let connection = amqp::connect(settings, "k3sync-bench").await?;
        let channel = amqp::open_channel(&connection, false).await?;
        Ok(Self {
            connection,
            channel,
        })
    }

    /// (ready messages, consumers) of `queue`.
    pub async fn depth(&self, queue: &str) -> anyhow::Result<(u32, u32)> {
        Ok(queue_depth(&self.channel, queue).await?)
    }

    /// Waits until `queue` has `consumers` consumers.
    pub async fn wait_consumers(
        &self,
        queue: &str,
        consumers: u32,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            // The queue may not be declared yet while the workers start.
            if let Ok((_, n)) = self.depth(queue).await
                && n >= consumers
            {
                return Ok(());
            }
            if started.elapsed() > timeout {
                bail!("{queue} did not get {consumers} consumers within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Removes every ready message of `queue`; returns how many there were.
    pub async fn purge(&self, queue: &str) -> anyhow::Result<u32> {
        Ok(self
            .channel
            .queue_purge(queue.into(), QueuePurgeOptions::default())
            .await?)
    }

    /// Takes (and acks) every ready message of `queue`, decoded.
    pub async fn take_all(&self, queue: &str) -> anyhow::Result<Vec<Envelope>> {
        let mut envelopes = Vec::new();
        while let Some(message) = self
            .channel
            .basic_get(queue.into(), BasicGetOptions::default())
            .await?
        {
            let delivery = message.delivery;
            envelopes.push(Envelope::from_json(&delivery.data)?);
            delivery.ack(BasicAckOptions::default()).await?;
        }
        Ok(envelopes)
    }

    pub async fn close(self) {
        let _ = self.channel.close(200, "done".into()).await;
        let _ = self.connection.close(200, "done".into()).await;
    }
}
