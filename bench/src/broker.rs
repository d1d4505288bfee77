//! The bench's own view of RabbitMQ: queue depth and consumers by a passive declare (no
//! management plugin), the same way `ctl status` and the producer's back-pressure read them.

use std::time::{Duration, Instant};

use anyhow::bail;
use k3sync_common::amqp::{self, topology::queue_depth};
use k3sync_common::settings::AmqpSettings;
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

    pub async fn close(self) {
        let _ = self.channel.close(200, "done".into()).await;
        let _ = self.connection.close(200, "done".into()).await;
    }
}
