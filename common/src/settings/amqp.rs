//! `[amqp]`: the RabbitMQ broker and the knobs of the queue topology and of message size.

use serde::Deserialize;

use super::SettingsError;
use super::broker_urls::BrokerUrls;
use super::validate::{at_least_one, ensure};

/// Smallest `max_message_bytes` accepted: one page's records must fit in a few messages.
const MIN_MESSAGE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmqpSettings {
    /// `amqp://user:password@host:5672/vhost`, or one such address per node of a cluster: a list
    /// in the file, comma-separated in the environment. Required. A process connects to the first
    /// that answers and, when it loses that connection, tries the next one first. Contains a
    /// password: set it through the environment (`K3SYNC__AMQP__URL`).
    pub url: BrokerUrls,
    /// Replicas of the work queue and the retry tiers (quorum queues) when they are first declared;
    /// RabbitMQ caps it at the cluster's size, so 3 gives one replica on a single node and three on
    /// a 3-node cluster. Odd numbers: a quorum queue needs a majority of its replicas up. Changing
    /// it later does not change an existing queue (`rabbitmq-queues grow`/`shrink` do); `ctl check`
    /// warns when a work queue has fewer replicas than this.
    pub quorum_replicas: u32,
    /// Delays of the retry tiers in seconds, in order (tier n is `k3sync.<job>.retry.<n>`); at
    /// least one tier, each above 0.
    pub retry_tiers_secs: Vec<u64>,
    /// Crash-loop guard: a message redelivered this many times is dead-lettered by the broker.
    pub delivery_limit: u32,
    /// Records carried by one message (1 gives one message per record).
    pub records_per_message: usize,
    /// Largest message body, bytes (at least 65536). The producer cuts a page's messages to stay
    /// under it; a worker dead-letters a larger message undecoded (class `too_large`), so one
    /// message cannot take a worker's memory. Keep it well under the broker's own
    /// `max_message_size` (128 MiB on RabbitMQ 3.x, 16 MiB on 4.x).
    pub max_message_bytes: usize,
}

/// The url is empty here; `AmqpSettings::validate` reports it missing.
impl Default for AmqpSettings {
    fn default() -> Self {
        Self {
            url: BrokerUrls::default(),
            quorum_replicas: 3,
            retry_tiers_secs: vec![5, 30, 300],
            delivery_limit: 20,
            records_per_message: 100,
            max_message_bytes: 1024 * 1024,
        }
    }
}

impl AmqpSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        self.url.validate()?;
        at_least_one("amqp.quorum_replicas", self.quorum_replicas)?;
        at_least_one("amqp.records_per_message", self.records_per_message)?;
        ensure(
            self.max_message_bytes >= MIN_MESSAGE_BYTES,
            "amqp.max_message_bytes",
            "must be at least 65536",
        )?;
        ensure(
            !self.retry_tiers_secs.is_empty() && !self.retry_tiers_secs.contains(&0),
            "amqp.retry_tiers_secs",
            "needs at least one tier, each above 0 s",
        )
    }
}
