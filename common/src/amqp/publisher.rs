//! Publishing under publisher confirms: a set of messages counts as sent only when the broker
//! has acknowledged every one of them; a nack or a returned (unroutable) message fails the set.

use lapin::options::BasicPublishOptions;
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};

use super::topology::Route;

/// A message ready to publish.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub exchange: String,
    pub routing_key: String,
    pub message_id: String,
    pub headers: FieldTable,
    pub body: Vec<u8>,
}

impl Outgoing {
    pub fn new(route: Route, message_id: String, headers: FieldTable, body: Vec<u8>) -> Self {
        Self {
            exchange: route.exchange,
            routing_key: route.routing_key,
            message_id,
            headers,
            body,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("broker connection failed while publishing")]
    Broker(#[from] lapin::Error),
    #[error("broker refused message {message_id} (nack)")]
    Nacked { message_id: String },
    #[error("broker returned message {message_id} as unroutable: {reply}")]
    Returned { message_id: String, reply: String },
}

/// A channel in confirm mode.
#[derive(Clone)]
pub struct Publisher {
    channel: Channel,
}

impl Publisher {
    /// Wraps a channel that was opened with confirms (see [`super::open_channel`]).
    pub fn new(channel: Channel) -> Self {
        Self { channel }
    }

    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Publishes every message (persistent, mandatory) and waits for all their confirms.
    pub async fn publish_confirmed(&self, messages: &[Outgoing]) -> Result<(), PublishError> {
        let mut pending = Vec::with_capacity(messages.len());
        for message in messages {
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into())
                .with_message_id(message.message_id.as_str().into())
                .with_headers(message.headers.clone());
            let confirm = self
                .channel
                .basic_publish(
                    message.exchange.as_str().into(),
                    message.routing_key.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &message.body,
                    properties,
                )
                .await?;
            pending.push((confirm, &message.message_id));
        }
        for (confirm, message_id) in pending {
            let confirmation = confirm.await?;
            if confirmation.is_nack() {
                return Err(PublishError::Nacked {
                    message_id: message_id.clone(),
                });
            }
            if let Some(returned) = confirmation.take_message() {
                return Err(PublishError::Returned {
                    message_id: message_id.clone(),
                    reply: returned.reply_text.to_string(),
                });
            }
        }
        Ok(())
    }
}
